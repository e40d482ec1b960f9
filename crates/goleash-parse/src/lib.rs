//! Parses every goroutine dump and profile format Go emits into one [`Snapshot`].
//!
//! Input is sniffed, not named: compression is undone transparently (by
//! `goleash_source::decode`, the one place that knows the codecs), then the first bytes tell a
//! protobuf profile from `debug=1` text from traceback text.

#![warn(unreachable_pub)]

mod error;
mod legacy;
mod proto;
pub mod trace;
mod traceback;

use std::io::{BufRead, BufReader, Read};

pub use error::{Location, ParseError};
use goleash_model::Snapshot;

/// Limits that keep a hostile or mistaken input from exhausting memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most bytes read from one source (after decompression).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 4 << 30 }
    }
}

/// Reads one source to the end and parses it, whatever its format. A text source may hold
/// several dumps (a log with two SIGQUIT dumps): this returns the last, noting the others; see
/// [`parse_dumps`] for all of them.
pub fn parse(name: &str, reader: impl Read, limits: Limits) -> Result<Snapshot, ParseError> {
    let mut dumps = parse_dumps(name, reader, limits)?;
    // parse_dumps never returns an empty list: no dump at all is an error.
    Ok(dumps.pop().unwrap_or_default())
}

/// Reads one source to the end and returns every dump it holds, in input order.
pub fn parse_dumps(
    name: &str,
    reader: impl Read,
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    let (decoded, _) =
        goleash_source::decode::decompress(reader).map_err(|e| ParseError::io(name, 0, &e))?;
    parse_plain(name, BufReader::with_capacity(1 << 16, decoded), limits)
}

/// Parses a source already in memory (a fetched profile), whatever its format: as [`parse`],
/// without the streaming path's buffers and copies.
pub fn parse_bytes(name: &str, bytes: &[u8], limits: Limits) -> Result<Snapshot, ParseError> {
    let mut dumps = parse_dumps_bytes(name, bytes, limits)?;
    Ok(dumps.pop().unwrap_or_default())
}

/// Every dump of a source already in memory, in input order: as [`parse_dumps`].
pub fn parse_dumps_bytes(
    name: &str,
    bytes: &[u8],
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    let data = goleash_source::decode::decompress_bytes(bytes, limits.max_bytes)
        .map_err(|(e, at)| ParseError::io(name, at, &e))?;
    if data.len() as u64 > limits.max_bytes {
        // Refused either way; the streaming reader names the format it refuses.
        return parse_dumps(name, bytes, limits);
    }
    if let Sniffed::Text = sniff(&data) {
        return traceback::parse_dumps_slice(name, &data, limits);
    }
    parse_plain(name, &data[..], limits)
}

fn parse_plain(
    name: &str,
    mut reader: impl BufRead,
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    let head = reader.fill_buf().map_err(|e| ParseError::io(name, 0, &e))?;
    match sniff(head) {
        Sniffed::Empty => Err(ParseError::new(
            name,
            Location::Offset(0),
            "the input is empty; expected a goroutine dump or profile",
        )),
        Sniffed::Trace => Err(ParseError::new(
            name,
            Location::Offset(0),
            "a Go execution trace, not a goroutine dump or profile: `goleash trace` reads it",
        )),
        Sniffed::Proto => proto::parse(name, reader, limits).map(|s| vec![s]),
        Sniffed::Legacy => legacy::parse(name, reader, limits).map(|s| vec![s]),
        Sniffed::Text => traceback::parse_dumps(name, reader, limits),
    }
}

enum Sniffed {
    Empty,
    Trace,
    Proto,
    Legacy,
    Text,
}

fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Empty;
    }
    if trace::is_trace(head) {
        return Sniffed::Trace;
    }
    // A profile.proto message starts with a length-delimited ValueType whose first field is
    // tag 0x08: runtime/pprof writes period_type (field 11, key 0x5a) first, pprof's own
    // encoder sample_type (field 1, key 0x0a). No text dump starts with either byte followed
    // by a small length and a backspace.
    if (head[0] == 0x0a || head[0] == 0x5a) && head.len() > 2 && head[2] == 0x08 {
        return Sniffed::Proto;
    }
    // A saved or pasted profile may start with a byte-order mark or blank lines.
    let first_line = head
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(head)
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(head);
    if first_line.starts_with(b"goroutine profile: total ")
        || first_line.starts_with(b"goroutineleak profile: total ")
    {
        return Sniffed::Legacy;
    }
    Sniffed::Text
}

/// `--dump`: which of several dumps in one source to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpChoice {
    Last,
    First,
    All,
    /// 1-based.
    Number(usize),
}

impl DumpChoice {
    /// Checked when the arguments are read, before any input is.
    pub fn parse(text: &str) -> Result<DumpChoice, String> {
        match text {
            "last" => Ok(DumpChoice::Last),
            "first" => Ok(DumpChoice::First),
            "all" => Ok(DumpChoice::All),
            number => match number.parse::<usize>() {
                Ok(n) if n > 0 => Ok(DumpChoice::Number(n)),
                _ => Err(format!(
                    "`{text}`: expected last, first, all or a dump number from 1"
                )),
            },
        }
    }
}

/// The dump `which` picks among the dumps of one source (in input order, never empty).
pub fn select_dump(
    name: &str,
    mut dumps: Vec<Snapshot>,
    which: DumpChoice,
) -> Result<Snapshot, String> {
    let count = dumps.len();
    match which {
        DumpChoice::Last => Ok(dumps.pop().unwrap_or_default()),
        DumpChoice::First => Ok(dumps.swap_remove(0)),
        DumpChoice::All => {
            // Each dump's notes stay, once each, except the one placing it among the others.
            let mut notes: Vec<String> = Vec::new();
            for (i, dump) in dumps.iter_mut().enumerate() {
                let position = position_note_prefix(name, i, count);
                for note in std::mem::take(&mut dump.notes) {
                    if !note.starts_with(&position) && !notes.contains(&note) {
                        notes.push(note);
                    }
                }
            }
            let mut all = dumps.swap_remove(0);
            for dump in &dumps {
                all.absorb(dump);
            }
            all.sources.truncate(1);
            all.notes = notes;
            if count > 1 {
                all.notes.push(format!(
                    "{count} dumps in {name} counted together (--dump all)"
                ));
            }
            Ok(all)
        }
        DumpChoice::Number(n) => {
            if n > count {
                return Err(format!(
                    "{name}: --dump {n}, but it holds {}",
                    if count == 1 {
                        "1 dump".to_string()
                    } else {
                        format!("{count} dumps")
                    }
                ));
            }
            Ok(dumps.swap_remove(n - 1))
        }
    }
}

/// How the note that places dump `index` (0-based) of `count` in a source begins: one
/// definition for the parser that writes it and for `--dump all`, which replaces it.
pub fn position_note_prefix(name: &str, index: usize, count: usize) -> String {
    format!("dump {} of {count} in {name}, lines ", index + 1)
}

/// The format a source would be parsed as.
#[cfg(test)]
fn detect_format(head: &[u8]) -> Option<goleash_model::DumpFormat> {
    use goleash_model::DumpFormat;
    match sniff(head) {
        Sniffed::Empty | Sniffed::Trace => None,
        Sniffed::Proto => Some(DumpFormat::Proto),
        Sniffed::Legacy => Some(DumpFormat::LegacyText),
        Sniffed::Text => Some(DumpFormat::Traceback),
    }
}
