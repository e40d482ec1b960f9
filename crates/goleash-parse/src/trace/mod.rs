//! Go execution traces (format v2, written by Go 1.22 onward) read into goroutine lifecycles.
//!
//! The trace is read generation by generation: a generation's event batches are kept until
//! its string and stack tables (written at its end) have arrived, then its events are
//! replayed per M to move each goroutine through its states. What survives a generation is
//! only the live goroutines (their state, blocking reason and stack, creation site), the
//! per-site creation counts and the interned frames and stacks, so memory is bounded by live
//! goroutines and distinct stacks, plus one generation's bytes.
//!
//! The format is Go's `internal/trace/tracev2` (event table) and `internal/trace` (batches,
//! generations, tables); see `docs/trace.md`.

mod lifecycle;
mod snapshot;
mod wire;

use std::io::{self, BufReader, Read};

use rustc_hash::FxHashMap;

pub use lifecycle::{Creation, GoState, Goroutine, Lifecycles, SiteCount, TagChurn, Tags};

use crate::{Limits, Location, ParseError};
use wire::{ev, Cursor, Version};

/// Whether `head` (the first bytes of an input) starts like an execution trace.
pub fn is_trace(head: &[u8]) -> bool {
    head.starts_with(b"go 1.")
        && head.len() >= wire::HEADER_LEN
        && head[..wire::HEADER_LEN].windows(6).any(|w| w == b" trace")
}

/// Reads a whole execution trace and returns the lifecycles of its goroutines.
pub fn read_trace(name: &str, reader: impl Read, limits: Limits) -> Result<Lifecycles, ParseError> {
    read(name, reader, limits, None)
}

/// [`read_trace`], and the goroutines created during the trace tagged by the values logged
/// (`runtime/trace.Log`) under `key` ([`Lifecycles::tags`]; see [`Tags`]).
pub fn read_trace_tagged(
    name: &str,
    reader: impl Read,
    limits: Limits,
    key: &str,
) -> Result<Lifecycles, ParseError> {
    read(name, reader, limits, Some(key))
}

fn read(
    name: &str,
    reader: impl Read,
    limits: Limits,
    tag_key: Option<&str>,
) -> Result<Lifecycles, ParseError> {
    let mut input = Input {
        inner: BufReader::with_capacity(1 << 16, reader),
        offset: 0,
        max: limits.max_bytes,
    };
    let mut head = [0u8; wire::HEADER_LEN];
    let got = input.fill(&mut head).map_err(|e| e.into_error(name))?;
    let version = wire::parse_header(&head[..got])
        .map_err(|msg| ParseError::new(name, Location::Offset(0), msg))?;
    let mut state = lifecycle::State::new(version.0);
    if let Some(key) = tag_key {
        state.track_tags(key);
    }
    let mut pending: Option<Generation> = None;
    loop {
        let batch_at = input.offset;
        let batch = match read_batch(&mut input) {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                // A clean end, between batches.
                if let Some(gen) = pending.take() {
                    if version.has_end_of_generation() {
                        state.note(format!(
                            "the trace ends before generation {} is complete (no end-of-generation \
                             marker after byte {}): it was cut short (a killed process, a \
                             flight-recorder snapshot or a partial download); that generation's \
                             events are left out",
                            gen.number, batch_at
                        ));
                        state.truncated = true;
                    } else {
                        process(name, &mut state, version, gen)?;
                    }
                }
                break;
            }
            Err(Stop::Truncated(at, what)) => {
                let number = pending.as_ref().map_or(0, |g| g.number);
                state.note(format!(
                    "the trace is cut short at byte {at} (expected {what}){}: a killed \
                     process, a flight-recorder snapshot or a partial download; the \
                     incomplete generation's events are left out",
                    if number > 0 {
                        format!(" inside generation {number}")
                    } else {
                        String::new()
                    }
                ));
                state.truncated = true;
                break;
            }
            Err(e) => return Err(e.into_error(name)),
        };
        match batch {
            RawBatch::EndOfGeneration => match pending.take() {
                Some(gen) => process(name, &mut state, version, gen)?,
                None => return Err(ParseError::new(
                    name,
                    Location::Offset(batch_at),
                    "an end-of-generation marker with no generation before it; expected a batch",
                )),
            },
            RawBatch::Experimental => {
                state.skipped_experimental += 1;
            }
            RawBatch::Events(b) => {
                if b.gen == 0 {
                    return Err(ParseError::new(
                        name,
                        Location::Offset(batch_at),
                        "a batch of generation 0; expected a generation number from 1",
                    ));
                }
                let starts_new = pending.as_ref().is_some_and(|g| g.number != b.gen);
                if starts_new {
                    let gen = pending.take().unwrap_or_default();
                    if version.has_end_of_generation() {
                        return Err(ParseError::new(
                            name,
                            Location::Offset(batch_at),
                            format!(
                                "a batch of generation {} inside generation {}; expected its \
                                 end-of-generation marker first",
                                b.gen, gen.number
                            ),
                        ));
                    }
                    if b.gen != gen.number + 1 {
                        return Err(ParseError::new(
                            name,
                            Location::Offset(batch_at),
                            format!(
                                "a batch of generation {} after generation {}; expected \
                                 generation {}",
                                b.gen,
                                gen.number,
                                gen.number + 1
                            ),
                        ));
                    }
                    process(name, &mut state, version, gen)?;
                }
                let gen = pending.get_or_insert_with(|| Generation {
                    number: b.gen,
                    ..Generation::default()
                });
                gen.add(name, version, b)?;
            }
        }
    }
    if state.generations == 0 {
        return Err(ParseError::new(
            name,
            Location::Offset(input.offset),
            format!(
                "the trace ends at byte {} before its first generation is complete; expected \
                 at least one whole generation",
                input.offset
            ),
        ));
    }
    Ok(state.finish(input.offset))
}

/// One batch as read from the input.
enum RawBatch {
    EndOfGeneration,
    Experimental,
    Events(Batch),
}

struct Batch {
    gen: u64,
    m: u64,
    time: u64,
    data: Vec<u8>,
    /// Where `data` starts in the input.
    offset: u64,
}

/// Why reading stopped.
enum Stop {
    /// The input ends in the middle of something.
    Truncated(u64, String),
    Bad(u64, String),
    Io(u64, io::Error),
}

impl Stop {
    fn into_error(self, name: &str) -> ParseError {
        match self {
            Stop::Truncated(at, what) => ParseError::new(
                name,
                Location::Offset(at),
                format!("the input ends early; expected {what}"),
            ),
            Stop::Bad(at, msg) => ParseError::new(name, Location::Offset(at), msg),
            Stop::Io(at, e) => ParseError::io(name, at, &e),
        }
    }
}

struct Input<R> {
    inner: BufReader<R>,
    offset: u64,
    max: u64,
}

impl<R: Read> Input<R> {
    /// Fills as much of `buf` as the input has; returns how much.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Stop> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Stop::Io(self.offset + got as u64, e)),
            }
        }
        self.offset += got as u64;
        if self.offset > self.max {
            return Err(Stop::Bad(
                self.offset,
                format!("the trace is larger than the limit of {} bytes", self.max),
            ));
        }
        Ok(got)
    }

    /// The next byte, or `None` at the end of the input.
    fn byte(&mut self) -> Result<Option<u8>, Stop> {
        let mut b = [0u8];
        Ok((self.fill(&mut b)? == 1).then_some(b[0]))
    }

    fn need_byte(&mut self, what: &str) -> Result<u8, Stop> {
        let at = self.offset;
        self.byte()?
            .ok_or_else(|| Stop::Truncated(at, what.to_string()))
    }

    fn uvarint(&mut self, what: &str) -> Result<u64, Stop> {
        let start = self.offset;
        let mut x: u64 = 0;
        let mut shift = 0u32;
        for i in 0..10 {
            let b = self.need_byte(what)?;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    break;
                }
                return Ok(x | (u64::from(b) << shift));
            }
            x |= u64::from(b & 0x7f) << shift;
            shift += 7;
        }
        Err(Stop::Bad(
            start,
            format!("a varint longer than 64 bits where {what} was expected"),
        ))
    }
}

fn read_batch<R: Read>(input: &mut Input<R>) -> Result<Option<RawBatch>, Stop> {
    let at = input.offset;
    let Some(typ) = input.byte()? else {
        return Ok(None);
    };
    match typ {
        ev::END_OF_GENERATION => return Ok(Some(RawBatch::EndOfGeneration)),
        ev::EVENT_BATCH | ev::EXPERIMENTAL_BATCH => {}
        other => {
            return Err(Stop::Bad(
                at,
                format!(
                    "byte 0x{other:02x} where a batch was expected (0x01 event batch, 0x31 \
                     experimental batch or 0x34 end of generation)"
                ),
            ))
        }
    }
    if typ == ev::EXPERIMENTAL_BATCH {
        input.need_byte("the experiment id of an experimental batch")?;
    }
    let gen = input.uvarint("the batch's generation")?;
    let m = input.uvarint("the batch's M id")?;
    let time = input.uvarint("the batch's timestamp")?;
    let size_at = input.offset;
    let size = input.uvarint("the batch's size")?;
    if size > wire::MAX_BATCH {
        return Err(Stop::Bad(
            size_at,
            format!(
                "a batch of {size} bytes; expected at most {} (the runtime's batch size)",
                wire::MAX_BATCH
            ),
        ));
    }
    let offset = input.offset;
    let mut data = vec![0u8; size as usize];
    let got = input.fill(&mut data)?;
    if got < data.len() {
        return Err(Stop::Truncated(
            input.offset,
            format!("the {size} bytes of the batch that starts at byte {at}"),
        ));
    }
    if typ == ev::EXPERIMENTAL_BATCH {
        return Ok(Some(RawBatch::Experimental));
    }
    Ok(Some(RawBatch::Events(Batch {
        gen,
        m,
        time,
        data,
        offset,
    })))
}

/// A stack table entry: (func string id, file string id, line) per frame, innermost first.
type RawStack = Box<[(u64, u64, u64)]>;

/// One generation's batches and tables, gathered until it is complete.
#[derive(Default)]
struct Generation {
    number: u64,
    events: Vec<Batch>,
    strings: FxHashMap<u64, Box<str>>,
    stacks: FxHashMap<u64, RawStack>,
    /// Ticks per second.
    freq: u64,
    min_time: u64,
}

impl Generation {
    fn add(&mut self, name: &str, version: Version, b: Batch) -> Result<(), ParseError> {
        let err = |(at, msg): (u64, String)| ParseError::new(name, Location::Offset(at), msg);
        if self.min_time == 0 || b.time < self.min_time {
            self.min_time = b.time;
        }
        match b.data.first().copied() {
            Some(ev::STRINGS) => self.add_strings(&b).map_err(err),
            Some(ev::STACKS) => self.add_stacks(&b).map_err(err),
            Some(ev::CPU_SAMPLES) => Ok(()),
            Some(ev::SYNC) if version.has_sync_batch() => self.add_sync(&b, version).map_err(err),
            Some(ev::FREQUENCY) if !version.has_sync_batch() => {
                self.add_sync(&b, version).map_err(err)
            }
            _ => {
                self.events.push(b);
                Ok(())
            }
        }
    }

    fn add_strings(&mut self, b: &Batch) -> Result<(), (u64, String)> {
        let mut c = Cursor::new(&b.data, b.offset);
        c.byte("the strings header")?;
        while !c.done() {
            let at = c.offset();
            let typ = c.byte("a string entry")?;
            if typ != ev::STRING {
                return Err((
                    at,
                    format!("event type {typ} in a strings batch; expected a string entry (5)"),
                ));
            }
            let id = c.uvarint("a string id")?;
            let len_at = c.offset();
            let len = c.uvarint("a string length")?;
            if len > wire::MAX_STRING {
                return Err((
                    len_at,
                    format!(
                        "a string of {len} bytes; expected at most {}",
                        wire::MAX_STRING
                    ),
                ));
            }
            let bytes = c.bytes(len, "a string")?;
            let s = String::from_utf8_lossy(bytes).into_owned().into_boxed_str();
            if self.strings.insert(id, s).is_some() {
                return Err((
                    at,
                    format!("string id {id} defined twice in one generation"),
                ));
            }
        }
        Ok(())
    }

    fn add_stacks(&mut self, b: &Batch) -> Result<(), (u64, String)> {
        let mut c = Cursor::new(&b.data, b.offset);
        c.byte("the stacks header")?;
        while !c.done() {
            let at = c.offset();
            let typ = c.byte("a stack entry")?;
            if typ != ev::STACK {
                return Err((
                    at,
                    format!("event type {typ} in a stacks batch; expected a stack entry (3)"),
                ));
            }
            let id = c.uvarint("a stack id")?;
            let n_at = c.offset();
            let n = c.uvarint("a frame count")?;
            if n > wire::MAX_FRAMES {
                return Err((
                    n_at,
                    format!(
                        "a stack of {n} frames; expected at most {}",
                        wire::MAX_FRAMES
                    ),
                ));
            }
            let mut frames = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let _pc = c.uvarint("a frame's PC")?;
                let func = c.uvarint("a frame's function string id")?;
                let file = c.uvarint("a frame's file string id")?;
                let line = c.uvarint("a frame's line")?;
                frames.push((func, file, line));
            }
            if self.stacks.insert(id, frames.into()).is_some() {
                return Err((at, format!("stack id {id} defined twice in one generation")));
            }
        }
        Ok(())
    }

    fn add_sync(&mut self, b: &Batch, version: Version) -> Result<(), (u64, String)> {
        let mut c = Cursor::new(&b.data, b.offset);
        if version.has_sync_batch() {
            c.byte("the sync header")?;
        }
        while !c.done() {
            let at = c.offset();
            match c.byte("a sync event")? {
                ev::FREQUENCY => {
                    let freq = c.uvarint("the frequency")?;
                    if self.freq != 0 {
                        return Err((at, "a second frequency event in one generation".into()));
                    }
                    if freq == 0 {
                        return Err((at, "a frequency of 0 ticks per second".into()));
                    }
                    self.freq = freq;
                }
                ev::CLOCK_SNAPSHOT if version.has_sync_batch() => {
                    for what in ["the snapshot's time", "mono", "sec", "nsec"] {
                        c.uvarint(what)?;
                    }
                }
                other => {
                    return Err((
                        at,
                        format!(
                            "event type {other} in a sync batch; expected frequency (8) or \
                             clock snapshot (51)"
                        ),
                    ))
                }
            }
        }
        Ok(())
    }
}

fn process(
    name: &str,
    state: &mut lifecycle::State,
    version: Version,
    gen: Generation,
) -> Result<(), ParseError> {
    if gen.freq == 0 {
        let at = gen.events.first().map_or(0, |b| b.offset);
        return Err(ParseError::new(
            name,
            Location::Offset(at),
            format!(
                "generation {} has no frequency event; expected one in its sync batch",
                gen.number
            ),
        ));
    }
    state
        .replay(version, gen)
        .map_err(|(at, msg)| ParseError::new(name, Location::Offset(at), msg))
}

#[cfg(test)]
mod tests;
