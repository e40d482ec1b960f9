//! The wire format of Go execution traces v2 (Go 1.22 onward): the header, batches, LEB128
//! varints and the event table (type byte → number of arguments), per trace version.

/// `go 1.N trace\0\0\0`: 16 bytes.
pub(crate) const HEADER_LEN: usize = 16;

/// The largest batch the runtime writes (`MaxBatchSize`).
pub(crate) const MAX_BATCH: u64 = 64 << 10;
/// The most frames in one stack table entry (`MaxFramesPerStack`).
pub(crate) const MAX_FRAMES: u64 = 128;
/// The longest string table entry (`MaxEventTrailerDataSize`).
pub(crate) const MAX_STRING: u64 = 1 << 10;

/// Event types, as numbered on the wire.
pub(crate) mod ev {
    pub(crate) const EVENT_BATCH: u8 = 1;
    pub(crate) const STACKS: u8 = 2;
    pub(crate) const STACK: u8 = 3;
    pub(crate) const STRINGS: u8 = 4;
    pub(crate) const STRING: u8 = 5;
    pub(crate) const CPU_SAMPLES: u8 = 6;
    pub(crate) const FREQUENCY: u8 = 8;
    pub(crate) const GO_CREATE: u8 = 14;
    pub(crate) const GO_CREATE_SYSCALL: u8 = 15;
    pub(crate) const GO_START: u8 = 16;
    pub(crate) const GO_DESTROY: u8 = 17;
    pub(crate) const GO_DESTROY_SYSCALL: u8 = 18;
    pub(crate) const GO_STOP: u8 = 19;
    pub(crate) const GO_BLOCK: u8 = 20;
    pub(crate) const GO_UNBLOCK: u8 = 21;
    pub(crate) const GO_SYSCALL_BEGIN: u8 = 22;
    pub(crate) const GO_SYSCALL_END: u8 = 23;
    pub(crate) const GO_SYSCALL_END_BLOCKED: u8 = 24;
    pub(crate) const GO_STATUS: u8 = 25;
    pub(crate) const USER_LOG: u8 = 44;
    pub(crate) const GO_SWITCH: u8 = 45;
    pub(crate) const GO_SWITCH_DESTROY: u8 = 46;
    pub(crate) const GO_CREATE_BLOCKED: u8 = 47;
    pub(crate) const GO_STATUS_STACK: u8 = 48;
    pub(crate) const EXPERIMENTAL_BATCH: u8 = 49;
    pub(crate) const SYNC: u8 = 50;
    pub(crate) const CLOCK_SNAPSHOT: u8 = 51;
    pub(crate) const END_OF_GENERATION: u8 = 52;
}

/// Goroutine statuses of `GoStatus` events.
pub(crate) mod gstatus {
    pub(crate) const RUNNABLE: u64 = 1;
    pub(crate) const RUNNING: u64 = 2;
    pub(crate) const SYSCALL: u64 = 3;
    pub(crate) const WAITING: u64 = 4;
}

/// The trace format versions of the v2 format: the `N` of `go 1.N trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub(crate) u32);

impl Version {
    pub(crate) fn supported(self) -> bool {
        matches!(self.0, 22 | 23 | 25 | 26)
    }

    /// The highest ordinary event type of this version.
    fn max_event(self) -> u8 {
        match self.0 {
            22 => 44, // UserLog
            23 => ev::EXPERIMENTAL_BATCH,
            25 => ev::CLOCK_SNAPSHOT,
            _ => ev::END_OF_GENERATION,
        }
    }

    /// Whether generations end with an in-band EndOfGeneration (Go 1.26 format).
    pub(crate) fn has_end_of_generation(self) -> bool {
        self.0 >= 26
    }

    /// Whether the sync batch starts with EvSync (Go 1.25 format) rather than being a lone
    /// EvFrequency.
    pub(crate) fn has_sync_batch(self) -> bool {
        self.0 >= 25
    }

    /// How many varint arguments (the timestamp delta first) event `typ` has in an event
    /// batch of this version, or `None` if it is not an event such a batch can hold.
    pub(crate) fn timed_args(self, typ: u8) -> Option<usize> {
        if (128..=136).contains(&typ) && self.0 >= 23 {
            // The AllocFree experiment's events: Span, SpanAlloc, SpanFree, HeapObject,
            // HeapObjectAlloc, HeapObjectFree, GoroutineStack, GoroutineStackAlloc,
            // GoroutineStackFree.
            return Some([4, 4, 2, 3, 3, 2, 3, 3, 2][(typ - 128) as usize]);
        }
        if typ > self.max_event() {
            return None;
        }
        let n = match typ {
            9 => 3,  // ProcsChange [dt, procs, stack]
            10 => 3, // ProcStart [dt, p, p_seq]
            11 => 1, // ProcStop
            12 => 4, // ProcSteal [dt, p, p_seq, m]
            13 => 3, // ProcStatus [dt, p, status]
            ev::GO_CREATE => 4,
            ev::GO_CREATE_SYSCALL => 2,
            ev::GO_START => 3,
            ev::GO_DESTROY | ev::GO_DESTROY_SYSCALL => 1,
            ev::GO_STOP | ev::GO_BLOCK => 3,
            ev::GO_UNBLOCK => 4,
            ev::GO_SYSCALL_BEGIN => 3,
            ev::GO_SYSCALL_END | ev::GO_SYSCALL_END_BLOCKED => 1,
            ev::GO_STATUS => 4,
            26 => 3,      // STWBegin [dt, kind, stack]
            27 => 1,      // STWEnd
            28 => 2,      // GCActive [dt, seq]
            29 => 3,      // GCBegin [dt, seq, stack]
            30 => 2,      // GCEnd [dt, seq]
            31 => 2,      // GCSweepActive [dt, p]
            32 => 2,      // GCSweepBegin [dt, stack]
            33 => 3,      // GCSweepEnd [dt, swept, reclaimed]
            34 => 2,      // GCMarkAssistActive [dt, g]
            35 => 2,      // GCMarkAssistBegin [dt, stack]
            36 => 1,      // GCMarkAssistEnd
            37 | 38 => 2, // HeapAlloc, HeapGoal [dt, value]
            39 => 2,      // GoLabel [dt, label]
            40 => 5,      // UserTaskBegin [dt, task, parent, name, stack]
            41 => 3,      // UserTaskEnd [dt, task, stack]
            42 | 43 => 4, // UserRegionBegin/End [dt, task, name, stack]
            44 => 5,      // UserLog [dt, task, key, value, stack]
            ev::GO_SWITCH | ev::GO_SWITCH_DESTROY => 3,
            ev::GO_CREATE_BLOCKED => 4,
            ev::GO_STATUS_STACK => 5,
            ev::CLOCK_SNAPSHOT => 4,
            _ => return None,
        };
        Some(n)
    }
}

/// Reads the version from a trace header, or says why it is not one.
pub(crate) fn parse_header(head: &[u8]) -> Result<Version, String> {
    const PREFIX: &[u8] = b"go 1.";
    const SUFFIX: &[u8] = b" trace\0\0\0";
    if head.len() < HEADER_LEN || !head.starts_with(PREFIX) {
        return Err("not a Go execution trace: expected the header `go 1.N trace`".to_string());
    }
    let digits = &head[PREFIX.len()..];
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 || !digits[n..].starts_with(SUFFIX) {
        return Err("not a Go execution trace: expected the header `go 1.N trace`".to_string());
    }
    let minor: u32 = std::str::from_utf8(&digits[..n])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let version = Version(minor);
    if minor < 22 {
        return Err(format!(
            "a Go 1.{minor} execution trace: only the format Go 1.22 and later write (v2) is read"
        ));
    }
    if !version.supported() {
        return Err(format!(
            "execution trace format `go 1.{minor} trace` is not known to this goleash (it reads 1.22, 1.23, 1.25 and 1.26)"
        ));
    }
    Ok(version)
}

/// A cursor over bytes that sit at `base` in the input, for errors with absolute offsets.
pub(crate) struct Cursor<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) base: u64,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { data, pos: 0, base }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn byte(&mut self, what: &str) -> Result<u8, (u64, String)> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err((
                self.offset(),
                format!("the batch ends early; expected {what}"),
            )),
        }
    }

    pub(crate) fn uvarint(&mut self, what: &str) -> Result<u64, (u64, String)> {
        let start = self.offset();
        match uvarint(&self.data[self.pos.min(self.data.len())..]) {
            Varint::Value(v, n) => {
                self.pos += n;
                Ok(v)
            }
            Varint::Short => Err((start, format!("the batch ends early; expected {what}"))),
            Varint::Overflow => Err((
                start,
                format!("a varint longer than 64 bits where {what} was expected"),
            )),
        }
    }

    pub(crate) fn bytes(&mut self, len: u64, what: &str) -> Result<&'a [u8], (u64, String)> {
        let left = (self.data.len() - self.pos.min(self.data.len())) as u64;
        if len > left {
            return Err((
                self.offset(),
                format!("{what} of {len} bytes, but the batch has {left} left"),
            ));
        }
        let s = &self.data[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(s)
    }
}

/// The result of decoding one unsigned LEB128 varint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Varint {
    /// The value and how many bytes it took.
    Value(u64, usize),
    /// The input ends inside the varint.
    Short,
    /// More than 64 bits (or more than 10 bytes).
    Overflow,
}

/// Decodes an unsigned LEB128 varint, as Go's `binary.Uvarint`.
pub(crate) fn uvarint(buf: &[u8]) -> Varint {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 {
            return Varint::Overflow;
        }
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Varint::Overflow;
            }
            return Varint::Value(x | (u64::from(b) << shift), i + 1);
        }
        x |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    Varint::Short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_like_go() {
        assert_eq!(uvarint(&[0x00]), Varint::Value(0, 1));
        assert_eq!(uvarint(&[0x7f]), Varint::Value(127, 1));
        assert_eq!(uvarint(&[0x80, 0x01]), Varint::Value(128, 2));
        assert_eq!(uvarint(&[0xac, 0x02, 0xff]), Varint::Value(300, 2));
        assert_eq!(uvarint(&[0x80]), Varint::Short);
        assert_eq!(uvarint(&[]), Varint::Short);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uvarint(&max), Varint::Value(u64::MAX, 10));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(uvarint(&over), Varint::Overflow);
        assert_eq!(uvarint(&[0x80; 11]), Varint::Overflow);
    }

    #[test]
    fn headers() {
        assert_eq!(parse_header(b"go 1.26 trace\0\0\0"), Ok(Version(26)));
        assert_eq!(parse_header(b"go 1.22 trace\0\0\0"), Ok(Version(22)));
        assert!(parse_header(b"go 1.21 trace\0\0\0")
            .unwrap_err()
            .contains("1.21"));
        assert!(parse_header(b"go 1.99 trace\0\0\0")
            .unwrap_err()
            .contains("not known"));
        assert!(parse_header(b"goroutine 1 [running]:\n").is_err());
        assert!(parse_header(b"go 1.2").is_err());
    }
}
