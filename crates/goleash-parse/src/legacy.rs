//! `debug=1` text goroutine profiles, as runtime/pprof `printCountProfile` writes them:
//!
//! ```text
//! goroutine profile: total 19
//! 5 @ 0x47da6a 0x41512e 0x414c72 0x4e2086 0x4e2073 0x483961
//! #→0x4e2085→main.recv+0x25→→/tmp/prog/main.go:16
//! #→0x4e2072→main.worker+0x12→/tmp/prog/main.go:18
//!
//! 2 @ 0x47da6a 0x45bfb2 0x45bf89 0x47eb2e 0x4883c5 0x4e217e 0x483961
//! # labels: {"req":"abc", "tenant":"t \"1\""}
//! #→0x47eb2d→sync.runtime_SemacquireWaitGroup+0x2d→/go/src/runtime/sema.go:114
//! ```
//!
//! (`→` is a tab.)
//!
//! The output goes through a `text/tabwriter` that pads columns with tabs, so fields are
//! separated by *runs* of tabs. The `@` line lists every PC (runtime frames and
//! `runtime.goexit` included) while the `#` lines start at the first non-runtime frame and may
//! hold several frames per PC (inlining); the `#` lines are what a stack is built from.

use std::io::{BufRead, Read};

use goleash_model::{
    AncestryId, DumpFormat, Frame, FrameId, GroupKey, GroupStats, Interner, LabelsId, Missing,
    ProfileKind, RawGroup, Snapshot, SourceInfo,
};
use rustc_hash::FxHashMap;

use crate::error::excerpt;
use crate::{Limits, Location, ParseError};

/// The outermost frame of every goroutine; no text format prints it.
pub(crate) const GOEXIT: &str = "runtime.goexit";

/// Whether `debug=1` hides `function` while it is at the leaf end of a stack (runtime/pprof
/// `printStackRecord`): frames of the runtime proper, such as `runtime.gopark`.
pub(crate) fn is_hidden_runtime_frame(function: &str) -> bool {
    function.starts_with("runtime.") || function.starts_with("internal/runtime/")
}

/// A frame whose PC has no symbol: `debug=1` prints only the PC, and protobuf profiles only
/// the Location address, which is the same value.
pub(crate) fn unknown_frame(pc: u64) -> Frame {
    Frame {
        function: format!("{pc:#x}").into(),
        file: "".into(),
        line: 0,
    }
}

/// The longest line accepted. Real lines are short (a PC list of at most a few hundred
/// entries, a file path, labels); this keeps garbage without newlines from being buffered
/// whole.
const MAX_LINE: u64 = 16 << 20;

pub(crate) fn parse(
    name: &str,
    reader: impl BufRead,
    limits: Limits,
) -> Result<Snapshot, ParseError> {
    let mut lines = Lines {
        name,
        reader,
        limits,
        buf: Vec::new(),
        line: 0,
        bytes: 0,
        unterminated: false,
    };
    // Blank lines (and a byte-order mark) before the header, as a paste or an editor leaves
    // them, are not part of the profile.
    let mut header: Vec<u8> = Vec::new();
    while let Some((_, text)) = lines.next()? {
        let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        if !text.iter().all(u8::is_ascii_whitespace) {
            header = text.to_vec();
            break;
        }
    }
    let (kind, total) = parse_header(&header).map_err(|why| lines.error(why))?;
    let mut parser = Parser {
        name,
        kind,
        total,
        sum: 0,
        record: None,
        interner: Interner::default(),
        groups: Vec::new(),
        index: FxHashMap::default(),
        frame_lines: FxHashMap::default(),
    };
    while let Some((n, text)) = lines.next()? {
        parser.line(n, text)?;
    }
    let last = lines.line;
    if lines.unterminated {
        // The runtime ends every line with a newline, so a last line without one was cut off,
        // possibly in the middle of a number that still parses.
        return Err(ParseError::new(
            name,
            Location::Line(last),
            "the input ends inside this line (no newline after it); the profile looks truncated",
        ));
    }
    parser.finish_record(last, "the input ends")?;
    if parser.sum != total {
        return Err(ParseError::new(
            name,
            Location::Line(last),
            format!(
                "the input ends after records totalling {} goroutines, but the header on line 1 \
                 says total {total}; the profile looks truncated",
                parser.sum
            ),
        ));
    }
    Ok(Snapshot {
        interner: parser.interner,
        groups: parser.groups,
        sources: vec![SourceInfo {
            name: name.to_string(),
            format: DumpFormat::LegacyText,
            profile: kind,
            bytes: lines.bytes,
            dumps: 1,
            skipped: Vec::new(),
            transport: None,
        }],
        missing: Missing::of(DumpFormat::LegacyText),
        notes: Vec::new(),
        proof: None,
    })
}

/// Reads one line at a time, counting lines and bytes against the limits.
struct Lines<'a, R> {
    name: &'a str,
    reader: R,
    limits: Limits,
    buf: Vec<u8>,
    /// 1-based number of the line in `buf`.
    line: u64,
    bytes: u64,
    /// The last line read had no `\n`.
    unterminated: bool,
}

impl<R: BufRead> Lines<'_, R> {
    /// The next line's number and text without its `\n` (or `\r\n`), or `None` at the end of
    /// the input.
    fn next(&mut self) -> Result<Option<(u64, &[u8])>, ParseError> {
        self.buf.clear();
        let room = self.limits.max_bytes.saturating_sub(self.bytes);
        let cap = room.min(MAX_LINE).saturating_add(1);
        let read = self
            .reader
            .by_ref()
            .take(cap)
            .read_until(b'\n', &mut self.buf);
        let n = match read {
            Ok(n) => n as u64,
            Err(error) => {
                let mut error = ParseError::io(self.name, self.bytes, &error);
                error.location = Location::Line(self.line + 1);
                return Err(error);
            }
        };
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        self.bytes += n;
        if self.bytes > self.limits.max_bytes {
            return Err(self.error(format!(
                "the input is larger than the limit of {} bytes; expected a goroutine profile \
                 within the limit",
                self.limits.max_bytes
            )));
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else if n == cap {
            return Err(self.error(format!(
                "the line is longer than {MAX_LINE} bytes; expected a debug=1 profile line"
            )));
        } else {
            self.unterminated = true;
        }
        Ok(Some((self.line, &self.buf)))
    }

    fn error(&self, message: String) -> ParseError {
        ParseError::new(self.name, Location::Line(self.line.max(1)), message)
    }
}

/// `goroutine profile: total N` or `goroutineleak profile: total N`.
fn parse_header(line: &[u8]) -> Result<(ProfileKind, u64), String> {
    let expected = "expected `goroutine profile: total N` or `goroutineleak profile: total N`";
    let Some((profile, total)) = split_once(line, b" profile: total ") else {
        return Err(format!("{expected}, found {}", excerpt(line)));
    };
    let kind = match profile {
        b"goroutine" => ProfileKind::Goroutine,
        b"goroutineleak" => ProfileKind::GoroutineLeak,
        other => {
            return Err(format!(
                "this is a {} profile, expected a goroutine or goroutineleak profile",
                String::from_utf8_lossy(other)
            ))
        }
    };
    let total = parse_decimal(total)
        .ok_or_else(|| format!("{expected}, found total {}", excerpt(total)))?;
    Ok((kind, total))
}

/// The record being read: its `N @ …` line has been seen, its frames are accumulating.
struct Record {
    line: u64,
    count: u64,
    labels: Option<LabelsId>,
    frames: Vec<FrameId>,
    /// Some `#` frame line was read (all of them may have been `runtime.goexit`).
    saw_frame_line: bool,
}

struct Parser<'a> {
    name: &'a str,
    kind: ProfileKind,
    total: u64,
    sum: u64,
    record: Option<Record>,
    interner: Interner,
    groups: Vec<RawGroup>,
    index: FxHashMap<GroupKey, usize>,
    /// Frame lines seen so far; `None` for `runtime.goexit`, which is dropped.
    frame_lines: FxHashMap<Box<[u8]>, Option<FrameId>>,
}

impl Parser<'_> {
    fn error(&self, line: u64, message: String) -> ParseError {
        ParseError::new(self.name, Location::Line(line), message)
    }

    fn line(&mut self, n: u64, text: &[u8]) -> Result<(), ParseError> {
        match text.first() {
            None => self.finish_record(n, "a blank line"),
            Some(b'#') if text.starts_with(b"# labels: ") => self.labels_line(n, text),
            Some(b'#') => self.frame_line(n, text),
            Some(b'0'..=b'9') => {
                // A new record ends the previous one even without the blank line the runtime
                // always writes in between.
                self.finish_record(n, "a new record")?;
                self.record_header(n, text)
            }
            Some(_) => Err(self.error(
                n,
                format!(
                    "expected `N @ 0x…` record header or `#` frame line, found {}",
                    excerpt(text)
                ),
            )),
        }
    }

    /// `N @ 0xPC 0xPC …`
    fn record_header(&mut self, n: u64, text: &[u8]) -> Result<(), ParseError> {
        let bad = |what: &str| {
            self.error(
                n,
                format!(
                    "expected `N @ 0x…` record header, found {} ({what})",
                    excerpt(text)
                ),
            )
        };
        let (count, pcs) = split_once(text, b" @").ok_or_else(|| bad("no ` @`"))?;
        let count = parse_decimal(count).ok_or_else(|| bad("the count is not a number"))?;
        if count == 0 {
            return Err(bad("a record counts at least one goroutine"));
        }
        if !pcs.is_empty() {
            let pcs = pcs
                .strip_prefix(b" ")
                .ok_or_else(|| bad("no space after `@`"))?;
            if pcs.split(|&b| b == b' ').any(|pc| parse_hex(pc).is_none()) {
                return Err(bad("the PCs are not all `0x…` hex numbers"));
            }
        }
        match self.sum.checked_add(count) {
            Some(sum) if sum <= self.total => self.sum = sum,
            _ => {
                return Err(self.error(
                    n,
                    format!(
                        "the records up to this one count more than the header's total {} on \
                         line 1",
                        self.total
                    ),
                ))
            }
        }
        self.record = Some(Record {
            line: n,
            count,
            labels: None,
            frames: Vec::new(),
            saw_frame_line: false,
        });
        Ok(())
    }

    /// `# labels: {"k":"v", …}`, right after the record header.
    fn labels_line(&mut self, n: u64, text: &[u8]) -> Result<(), ParseError> {
        let pairs = match parse_labels(&text[b"# labels: ".len()..]) {
            Ok(pairs) => pairs,
            Err(why) => {
                return Err(self.error(
                    n,
                    format!(
                        "expected `# labels: {{\"key\":\"value\", …}}`, found {} ({why})",
                        excerpt(text)
                    ),
                ))
            }
        };
        match &mut self.record {
            Some(record) if record.labels.is_none() && record.frames.is_empty() => {
                record.labels = Some(self.interner.intern_labels(pairs));
                Ok(())
            }
            _ => Err(self.error(
                n,
                "expected a `# labels:` line only right after a `N @ 0x…` record header".into(),
            )),
        }
    }

    /// `#\t0xPC\tfunc+0xOFF\tfile:line`, or `#\t0xPC` when the PC has no symbol.
    fn frame_line(&mut self, n: u64, text: &[u8]) -> Result<(), ParseError> {
        if self.record.is_none() {
            return Err(self.error(
                n,
                "expected a `N @ 0x…` record header before the first frame line".into(),
            ));
        }
        // The same frame line recurs in many records (shared callers); looking the raw line up
        // skips re-parsing it and building its strings.
        let id = match self.frame_lines.get(text) {
            Some(&id) => id,
            None => {
                let frame = parse_frame(text).map_err(|why| {
                    self.error(
                        n,
                        format!(
                            "expected a `#\\t0xPC\\tfunction+0xOFF\\tfile:line` frame line, \
                             found {} ({why})",
                            excerpt(text)
                        ),
                    )
                })?;
                let id = if &*frame.function == GOEXIT {
                    None
                } else {
                    Some(self.interner.intern_frame(frame))
                };
                self.frame_lines.insert(text.into(), id);
                id
            }
        };
        if let Some(record) = &mut self.record {
            record.saw_frame_line = true;
            if let Some(id) = id {
                record.frames.push(id);
            }
        }
        Ok(())
    }

    /// Ends the current record, if any, at line `n`; `by` says what ended it.
    fn finish_record(&mut self, n: u64, by: &str) -> Result<(), ParseError> {
        let Some(record) = self.record.take() else {
            return Ok(());
        };
        // A goroutine starting or exiting has no frames but `runtime.goexit` (or none at all):
        // a busy service's profile nearly always holds one. Only a record cut off by the end
        // of the input without any frame line is a damaged profile.
        if record.frames.is_empty() && !record.saw_frame_line && by == "the input ends" {
            return Err(self.error(
                n,
                format!(
                    "the record on line {} has no frame lines before {by}; expected \
                     `#\\t0xPC\\tfunction+0xOFF\\tfile:line` lines after a record header",
                    record.line
                ),
            ));
        }
        let key = GroupKey {
            stack: self.interner.intern_stack(&record.frames),
            state: None,
            creator: None,
            labels: record.labels.unwrap_or(LabelsId(0)),
            ancestry: AncestryId(0),
            leaked: self.kind == ProfileKind::GoroutineLeak,
            locked_to_thread: false,
        };
        // Different PCs can symbolize to the same frames (two calls on one line), so two
        // records may be one group.
        match self.index.get(&key) {
            Some(&i) => self.groups[i].stats.count += record.count,
            None => {
                self.index.insert(key, self.groups.len());
                self.groups.push(RawGroup {
                    key,
                    stats: GroupStats {
                        count: record.count,
                        ..GroupStats::default()
                    },
                });
            }
        }
        Ok(())
    }
}

fn parse_frame(text: &[u8]) -> Result<Frame, &'static str> {
    let rest = text.strip_prefix(b"#\t").ok_or("no tab after `#`")?;
    let (pc, rest) = next_field(rest);
    let pc = parse_hex(pc).ok_or("the PC is not a `0x…` hex number")?;
    if rest.is_empty() {
        return Ok(unknown_frame(pc));
    }
    let (function, place) = next_field(rest);
    let (function, offset) = rsplit_once(function, b"+0x").ok_or("no `+0x…` after the function")?;
    if function.is_empty() || offset.is_empty() || !offset.iter().all(u8::is_ascii_hexdigit) {
        return Err("expected `function+0xOFFSET`");
    }
    let (file, line) = rsplit_once(place, b":").ok_or("no `file:line` after the function")?;
    let line = parse_decimal(line)
        .and_then(|line| u32::try_from(line).ok())
        .ok_or("the line number is not a number")?;
    Ok(Frame {
        function: String::from_utf8_lossy(function).into(),
        file: String::from_utf8_lossy(file).into(),
        line,
    })
}

/// Splits off one tab-separated field and skips the run of padding tabs after it.
fn next_field(text: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b'\t', text).unwrap_or(text.len());
    let (field, rest) = text.split_at(end);
    let skip = rest.iter().take_while(|&&b| b == b'\t').count();
    (field, &rest[skip..])
}

/// A label set as the interner takes it.
type Labels = Vec<(Box<str>, Box<str>)>;

/// `{"k":"v", "k2":"v2"}`: keys and values are Go `%q` strings, sorted, joined by `, `.
fn parse_labels(text: &[u8]) -> Result<Labels, &'static str> {
    let mut pos = 0;
    expect(text, &mut pos, b'{')?;
    let mut pairs = Vec::new();
    if text.get(pos) == Some(&b'}') {
        pos += 1;
    } else {
        loop {
            let key = go_unquote(text, &mut pos)?;
            expect(text, &mut pos, b':')?;
            let value = go_unquote(text, &mut pos)?;
            pairs.push((lossy(key), lossy(value)));
            match text.get(pos) {
                Some(b',') => {
                    pos += 1;
                    while text.get(pos) == Some(&b' ') {
                        pos += 1;
                    }
                }
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                _ => return Err("expected `,` or `}` after a label"),
            }
        }
    }
    if pos != text.len() {
        return Err("unexpected text after `}`");
    }
    Ok(pairs)
}

fn lossy(bytes: Vec<u8>) -> Box<str> {
    match String::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into(),
    }
}

fn expect(text: &[u8], pos: &mut usize, byte: u8) -> Result<(), &'static str> {
    if text.get(*pos) == Some(&byte) {
        *pos += 1;
        Ok(())
    } else {
        Err(match byte {
            b'{' => "expected `{`",
            b':' => "expected `:` between key and value",
            _ => "unexpected character",
        })
    }
}

/// Decodes a Go double-quoted string literal (what `%q` / strconv.Quote writes) at `*pos`.
/// Returns bytes: `\xNN` may stand for a byte that is not valid UTF-8 on its own.
fn go_unquote(text: &[u8], pos: &mut usize) -> Result<Vec<u8>, &'static str> {
    if text.get(*pos) != Some(&b'"') {
        return Err("expected a `\"`-quoted string");
    }
    *pos += 1;
    let mut out = Vec::new();
    loop {
        let &c = text.get(*pos).ok_or("unterminated string")?;
        *pos += 1;
        match c {
            b'"' => return Ok(out),
            b'\\' => {
                let &e = text.get(*pos).ok_or("unterminated escape")?;
                *pos += 1;
                match e {
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    b'\\' | b'"' | b'\'' => out.push(e),
                    b'x' => out.push(escape_digits(text, pos, 2, 16)? as u8),
                    b'0'..=b'7' => {
                        *pos -= 1;
                        let value = escape_digits(text, pos, 3, 8)?;
                        out.push(u8::try_from(value).map_err(|_| "octal escape above \\377")?);
                    }
                    b'u' | b'U' => {
                        let width = if e == b'u' { 4 } else { 8 };
                        let value = escape_digits(text, pos, width, 16)?;
                        let c = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => return Err("unknown escape sequence"),
                }
            }
            _ => out.push(c),
        }
    }
}

fn escape_digits(
    text: &[u8],
    pos: &mut usize,
    width: usize,
    radix: u32,
) -> Result<u32, &'static str> {
    let digits = text
        .get(*pos..*pos + width)
        .ok_or("escape sequence cut short")?;
    if !digits.iter().all(|&d| char::from(d).is_digit(radix)) {
        return Err("bad escape sequence");
    }
    let digits = std::str::from_utf8(digits).map_err(|_| "bad escape sequence")?;
    let value = u32::from_str_radix(digits, radix).map_err(|_| "bad escape sequence")?;
    *pos += width;
    Ok(value)
}

fn split_once<'a>(text: &'a [u8], needle: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = memchr::memmem::find(text, needle)?;
    Some((&text[..at], &text[at + needle.len()..]))
}

fn rsplit_once<'a>(text: &'a [u8], needle: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = memchr::memmem::rfind(text, needle)?;
    Some((&text[..at], &text[at + needle.len()..]))
}

fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn parse_hex(text: &[u8]) -> Option<u64> {
    let digits = text.strip_prefix(b"0x")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_and_a_bom_before_the_header_are_skipped() {
        let text = "\u{feff}\n\n  \ngoroutine profile: total 2\n2 @ 0x43e1ae 0x4711c1\n#\t0x43e1ad\tmain.worker+0x2d\t/app/main.go:20\n\n";
        let snapshot = crate::parse("pasted.txt", text.as_bytes(), crate::Limits::default())
            .expect("a pasted profile is read");
        assert_eq!(snapshot.total(), 2);
        assert_eq!(
            crate::detect_format(text.as_bytes()),
            Some(goleash_model::DumpFormat::LegacyText)
        );
    }

    #[test]
    fn goroutines_starting_or_exiting_are_a_group_without_frames() {
        // A busy service's profile: one goroutine caught with only runtime.goexit (Go prints
        // its frame line; the stack has nothing else), and the rest of the profile.
        let text = "goroutine profile: total 3\n1 @ 0x4711c1\n#\t0x4711c0\truntime.goexit+0x0\t/usr/local/go/src/runtime/asm_amd64.s:1700\n\n2 @ 0x43e1ae 0x4711c1\n#\t0x43e1ad\tmain.worker+0x2d\t/app/main.go:20\n\n";
        let snapshot = crate::parse("busy.txt", text.as_bytes(), crate::Limits::default())
            .expect("a goexit-only record is read");
        assert_eq!(snapshot.total(), 3);
        assert_eq!(snapshot.groups.len(), 2);
        // A record cut off by the end of the input before any frame line is still damage.
        let cut = "goroutine profile: total 1\n1 @ 0x4711c1\n";
        let err = crate::parse("cut.txt", cut.as_bytes(), crate::Limits::default())
            .expect_err("a record with no frame line at the end of the input");
        assert!(err.to_string().contains("no frame lines"), "{err}");
    }

    #[test]
    fn labels_decode_go_quoting() {
        let pairs =
            parse_labels(br#"{"req":"abc", "tenant":"t \"1\"\n,x", "u":"\u00e9\xff"}"#).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("req".into(), "abc".into()),
                ("tenant".into(), "t \"1\"\n,x".into()),
                ("u".into(), "é\u{fffd}".into()),
            ]
        );
        assert_eq!(parse_labels(b"{}").unwrap(), vec![]);
        assert!(parse_labels(br#"{"a":"b""#).is_err());
        assert!(parse_labels(br#"{"a":"b"} x"#).is_err());
        assert!(parse_labels(br#"{"a":"\x4"}"#).is_err());
    }

    #[test]
    fn frames_split_on_tab_runs() {
        let frame = parse_frame(b"#\t0x4e2085\tmain.recv+0x25\t\t/tmp/main.go:16").unwrap();
        assert_eq!(
            frame,
            Frame {
                function: "main.recv".into(),
                file: "/tmp/main.go".into(),
                line: 16
            }
        );
        assert_eq!(
            parse_frame(b"#\t0x4e2085").unwrap(),
            unknown_frame(0x4e2085)
        );
        assert!(parse_frame(b"#\t0x4e2085\tmain.recv\t/tmp/main.go:16").is_err());
        assert!(parse_frame(b"#\t0x4e2085\tmain.recv+0x25\t/tmp/main.go").is_err());
    }
}
