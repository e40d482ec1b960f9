//! Goroutine traceback text: `?debug=2`, `runtime.Stack(buf, true)`, panics, SIGQUIT and
//! `go test -timeout` output, possibly embedded in log text.
//!
//! The input is cut into blocks at goroutine headers and the blocks are parsed on all cores.
//! A goroutine is first reduced to a byte signature of everything that decides its group
//! (state, labels, frames, creator, ancestry) in a reused buffer; only a signature never seen
//! before allocates and interns. Memory therefore grows with distinct stacks, not goroutines.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{mpsc, Mutex};

use goleash_model::{
    AncestryId, DumpFormat, Frame, FrameId, GroupKey, GroupStats, Interner, Label, LabelsId,
    Missing, ProfileKind, RawGroup, RuntimeProof, Snapshot, SourceInfo, StackId,
};
use memchr::{memchr, memmem};
use rustc_hash::FxHashMap;

use crate::error::excerpt;
use crate::{Limits, Location, ParseError};

/// Blocks are cut at about this size; a goroutine never spans two blocks. Fuzzing builds
/// (`cargo fuzz` sets `--cfg fuzzing`) use tiny blocks so that small inputs exercise block
/// cutting, the parallel workers and reassembly.
#[allow(unexpected_cfgs)]
const BLOCK: usize = if cfg!(fuzzing) { 64 } else { 4 << 20 };
/// A block with no header to cut at grows to this size before it is cut at a blank line.
#[allow(unexpected_cfgs)]
const MAX_BLOCK: usize = if cfg!(fuzzing) { 512 } else { 64 << 20 };

/// Parses every dump in the input and returns one snapshot per dump, in input order.
pub(crate) fn parse_dumps(
    name: &str,
    mut reader: impl BufRead,
    limits: Limits,
) -> Result<Vec<Snapshot>, ParseError> {
    let mut blocks = BlockReader::new(name, limits);
    let first = blocks.next_block(&mut reader)?;
    let Some(first) = first else {
        return Err(ParseError::new(
            name,
            Location::Offset(0),
            "the input is empty; expected a goroutine dump",
        ));
    };
    // Asked only for inputs of more than one block: on Linux it reads cgroup files, which
    // costs more than parsing a small dump.
    let workers = if first.last {
        1
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
    };
    let mut assembler = Assembler::new(name);
    if first.last || workers == 1 {
        assembler.offer(first.index, parse_block(first.bytes(), first.last));
        let mut last = first.last;
        blocks.recycle(first.data);
        while !last {
            let Some(block) = blocks.next_block(&mut reader)? else {
                break;
            };
            assembler.offer(block.index, parse_block(block.bytes(), block.last));
            last = block.last;
            blocks.recycle(block.data);
        }
    } else {
        parse_parallel(first, &mut blocks, &mut reader, workers, &mut assembler)?;
    }
    assembler.finish(blocks.total)
}

struct Block {
    index: usize,
    /// The block's bytes are `data[..len]`; the rest is left over from an earlier block
    /// (buffers are reused so that their pages are not faulted in and zeroed again).
    data: Vec<u8>,
    len: usize,
    last: bool,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

struct BlockReader<'n> {
    name: &'n str,
    limits: Limits,
    /// The block being filled: `current[..filled]` is read input.
    current: Vec<u8>,
    filled: usize,
    /// Buffers of parsed blocks, to be filled again.
    spare: Vec<Vec<u8>>,
    returned: Option<mpsc::Receiver<Vec<u8>>>,
    total: u64,
    index: usize,
    done: bool,
}

impl<'n> BlockReader<'n> {
    fn new(name: &'n str, limits: Limits) -> Self {
        BlockReader {
            name,
            limits,
            current: Vec::new(),
            filled: 0,
            spare: Vec::new(),
            returned: None,
            total: 0,
            index: 0,
            done: false,
        }
    }

    /// Takes back the buffer of a parsed block.
    fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare.push(buffer);
    }

    fn fresh_buffer(&mut self) -> Vec<u8> {
        if let Some(returned) = &self.returned {
            self.spare.extend(returned.try_iter());
        }
        self.spare.pop().unwrap_or_default()
    }

    /// Reads into `current` until `filled` reaches `target` or the input ends; true at the end.
    fn fill_to(&mut self, reader: &mut impl BufRead, target: usize) -> Result<bool, ParseError> {
        while self.filled < target {
            if self.filled == self.current.len() {
                // Grows (and zeroes) only what this buffer never held, so reused buffers cost
                // nothing; a new one doubles from 64 KiB so a small input zeroes little.
                let grown = (self.filled * 2).max(64 << 10).min(target);
                self.current.resize(grown, 0);
            }
            let end = self.current.len().min(target);
            let n = match reader.read(&mut self.current[self.filled..end]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ParseError::io(self.name, self.total, &e)),
            };
            if n == 0 {
                return Ok(true);
            }
            self.filled += n;
            self.total += n as u64;
            if self.total > self.limits.max_bytes {
                return Err(ParseError::new(
                    self.name,
                    Location::Offset(self.limits.max_bytes),
                    format!(
                        "the input is larger than the {}-byte limit; raise --max-bytes to read it",
                        self.limits.max_bytes
                    ),
                ));
            }
        }
        Ok(false)
    }

    /// Reads the next block, cut just before a goroutine header so that no goroutine is split.
    fn next_block(&mut self, reader: &mut impl BufRead) -> Result<Option<Block>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let mut eof = self.filled < BLOCK && self.fill_to(reader, BLOCK)?;
        let mut cut = self.filled;
        while !eof {
            let data = &self.current[..self.filled];
            if let Some(at) = last_header_start(data) {
                cut = at;
                break;
            }
            if data.len() >= MAX_BLOCK {
                // No header in 64 MiB: either one enormous goroutine or text that is not a dump.
                // Cutting at a blank line keeps goroutine records (which end with one) whole.
                cut = memmem::rfind(data, b"\n\n")
                    .map(|i| i + 2)
                    .or_else(|| memchr::memrchr(b'\n', data).map(|i| i + 1))
                    .unwrap_or(data.len());
                break;
            }
            // Grow the block: read another BLOCK bytes before looking for a cut again.
            eof = self.fill_to(reader, self.filled + BLOCK)?;
            cut = self.filled;
        }
        if eof {
            self.done = true;
        }
        if cut == 0 && eof && self.index > 0 {
            return Ok(None);
        }
        // What follows the cut starts the next block.
        let mut next = self.fresh_buffer();
        let carry = self.filled - cut;
        if next.len() < carry {
            next.resize(carry, 0);
        }
        next[..carry].copy_from_slice(&self.current[cut..self.filled]);
        let data = std::mem::replace(&mut self.current, next);
        self.filled = carry;
        let block = Block {
            index: self.index,
            data,
            len: cut,
            last: eof,
        };
        self.index += 1;
        Ok(Some(block))
    }
}

/// The offset of the last line that starts with `goroutine ` (not counting offset 0).
fn last_header_start(data: &[u8]) -> Option<usize> {
    memmem::rfind(data, b"\ngoroutine ").map(|i| i + 1)
}

/// Parses blocks on `workers` threads while this one reads, and hands each result to the
/// assembler as soon as it arrives: only the blocks in flight and the dumps assembled so far
/// are in memory, however long the input.
fn parse_parallel(
    first: Block,
    blocks: &mut BlockReader<'_>,
    reader: &mut impl BufRead,
    workers: usize,
    assembler: &mut Assembler<'_>,
) -> Result<(), ParseError> {
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(workers);
    let block_rx = Mutex::new(block_rx);
    let (result_tx, result_rx) = mpsc::channel::<(usize, BlockResult)>();
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    blocks.returned = Some(spare_rx);
    let read_result = std::thread::scope(|scope| {
        for _ in 0..workers {
            let result_tx = result_tx.clone();
            let spare_tx = spare_tx.clone();
            let block_rx = &block_rx;
            scope.spawn(move || loop {
                let next = match block_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(block) = next else { return };
                let result = parse_block(block.bytes(), block.last);
                // The reader may be done already; then the buffer is simply dropped.
                let _ = spare_tx.send(block.data);
                if result_tx.send((block.index, result)).is_err() {
                    return;
                }
            });
        }
        drop(result_tx);
        drop(spare_tx);
        let mut read_result = Ok(());
        let mut next = Some(first);
        while let Some(block) = next.take() {
            let last = block.last;
            if block_tx.send(block).is_err() {
                break;
            }
            if last {
                break;
            }
            match blocks.next_block(reader) {
                Ok(block) => next = block,
                Err(e) => {
                    read_result = Err(e);
                    break;
                }
            }
            for (index, result) in result_rx.try_iter() {
                assembler.offer(index, result);
            }
        }
        drop(block_tx);
        read_result
    });
    blocks.returned = None;
    read_result?;
    for (index, result) in result_rx {
        assembler.offer(index, result);
    }
    Ok(())
}

/// What one block held: its runs of goroutines (a run ends at non-dump text) and its lines.
struct BlockResult {
    lines: u64,
    runs: Vec<Run>,
    /// Line ranges (block-relative, 1-based) of text that is not part of a dump.
    skipped: Vec<(u64, u64)>,
    /// The block's first non-blank line is a goroutine header.
    starts_with_goroutine: bool,
    /// No non-dump text follows the block's last goroutine.
    ends_in_dump: bool,
    /// The block holds a non-blank line.
    has_content: bool,
    /// After the block's last goroutine came a `-----` line: GOTRACEBACK=crash prints it
    /// before the stacks of the crash's other threads, which belong to the same dump.
    trailing_separator: bool,
    /// The input ends inside a goroutine or mid-line.
    truncated: Option<Truncation>,
    error: Option<(u64, String)>,
}

/// Where the input was cut: the line (block-relative until assembled) and the goroutine left
/// out, if the cut fell inside one.
#[derive(Clone, Copy)]
struct Truncation {
    line: u64,
    goroutine: Option<u64>,
}

impl Truncation {
    fn describe(self) -> String {
        match self.goroutine {
            Some(id) => format!(
                "goroutine {id} (line {}) is cut off at the end of the input and was left out",
                self.line
            ),
            None => format!("line {} is cut off mid-line", self.line),
        }
    }
}

/// Goroutines of one uninterrupted stretch of dump inside one block.
struct Run {
    /// Text with a `-----` separator came before it: another thread of the same crash.
    continues: bool,
    /// The runtime's message just before the run proved its goroutines blocked for good.
    proof: Option<RuntimeProof>,
    first_line: u64,
    last_line: u64,
    groups: Aggregator,
}

/// Joins block results, in input order, into dumps. Results may be offered out of order;
/// each is folded in as soon as all earlier blocks have been.
struct Assembler<'n> {
    name: &'n str,
    base_line: u64,
    dumps: Vec<Dump>,
    skipped: Vec<(u64, u64)>,
    previous_ends_in_dump: bool,
    previous_separator: bool,
    /// The first error in input order; later blocks are ignored.
    error: Option<ParseError>,
    truncated: Option<Truncation>,
    /// Results that arrived before those of earlier blocks.
    waiting: BTreeMap<usize, BlockResult>,
    next_index: usize,
}

impl<'n> Assembler<'n> {
    fn new(name: &'n str) -> Self {
        Assembler {
            name,
            base_line: 0,
            dumps: Vec::new(),
            skipped: Vec::new(),
            previous_ends_in_dump: false,
            previous_separator: false,
            error: None,
            truncated: None,
            waiting: BTreeMap::new(),
            next_index: 0,
        }
    }

    fn offer(&mut self, index: usize, result: BlockResult) {
        self.waiting.insert(index, result);
        while let Some(result) = self.waiting.remove(&self.next_index) {
            self.next_index += 1;
            if self.error.is_none() {
                self.push(result);
            }
        }
    }

    fn push(&mut self, result: BlockResult) {
        let base_line = self.base_line;
        if let Some((line, message)) = result.error {
            self.error = Some(ParseError::new(
                self.name,
                Location::Line(base_line + line),
                message,
            ));
            return;
        }
        for &(start, end) in &result.skipped {
            let (start, end) = (base_line + start, base_line + end);
            match self.skipped.last_mut() {
                Some(last) if last.1 + 1 >= start => last.1 = end,
                _ => self.skipped.push((start, end)),
            }
        }
        for (i, run) in result.runs.into_iter().enumerate() {
            let continues = !self.dumps.is_empty()
                && (run.continues
                    || (i == 0
                        && result.starts_with_goroutine
                        && (self.previous_ends_in_dump || self.previous_separator)));
            let mut uncounted = run.groups.uncounted;
            uncounted.garbage_tail = uncounted.garbage_tail.map(|line| base_line + line);
            if run.groups.groups.is_empty() && !continues {
                continue;
            }
            let mut snapshot = run.groups.into_snapshot();
            snapshot.proof = run.proof;
            let (first, last) = (base_line + run.first_line, base_line + run.last_line);
            match self.dumps.last_mut() {
                Some(current) if continues => {
                    current.snapshot.absorb(&snapshot);
                    current.last = last;
                    current.uncounted.add(uncounted);
                }
                _ => self.dumps.push(Dump {
                    snapshot,
                    first,
                    last,
                    uncounted,
                }),
            }
        }
        if let Some(cut) = result.truncated {
            self.truncated = Some(Truncation {
                line: base_line + cut.line,
                ..cut
            });
        }
        if result.has_content {
            self.previous_ends_in_dump = result.ends_in_dump;
            self.previous_separator = result.trailing_separator;
        }
        self.base_line += result.lines;
    }

    fn finish(self, total_bytes: u64) -> Result<Vec<Snapshot>, ParseError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        assemble(
            self.name,
            total_bytes,
            self.dumps,
            self.skipped,
            self.truncated,
        )
    }
}

/// One dump being assembled from runs: its goroutines, its lines, and what was left uncounted.
struct Dump {
    snapshot: Snapshot,
    first: u64,
    last: u64,
    uncounted: Uncounted,
}

/// Stacks a SIGQUIT or crash traceback prints that are not goroutines of the program, or
/// print one a second time: counting them would disagree with runtime.NumGoroutine and with
/// the goroutine profile of the same moment.
#[derive(Clone, Copy, Debug, Default)]
struct Uncounted {
    /// `goroutine 0`: a thread's system stack (g0, gsignal), one per thread in crash dumps.
    threads: u64,
    /// Goroutines the runtime runs for itself (GC workers, sweeper, scavenger, finalizer
    /// waiting), printed only at GOTRACEBACK=system or crash.
    system: u64,
    /// GOTRACEBACK=crash prints a running goroutine once as `stack unavailable` and again
    /// under its thread.
    duplicates: u64,
    /// The text after the last goroutine is not dump text and has no newline: a log line or
    /// garbage, not a cut dump.
    garbage_tail: Option<u64>,
}

impl Uncounted {
    fn add(&mut self, other: Uncounted) {
        self.threads += other.threads;
        self.system += other.system;
        self.duplicates += other.duplicates;
        self.garbage_tail = self.garbage_tail.or(other.garbage_tail);
    }

    fn notes(&self, name: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if self.threads > 0 {
            notes.push(format!(
                "{} thread stack(s) (`goroutine 0`, a thread's system stack) in {name} are not goroutines and were not counted",
                self.threads
            ));
        }
        if self.system > 0 {
            notes.push(format!(
                "{} runtime system goroutine(s) (GC, sweeper, finalizers; printed only at GOTRACEBACK=system or crash) were not counted, as runtime.NumGoroutine and the goroutine profile leave them out",
                self.system
            ));
        }
        if self.duplicates > 0 {
            notes.push(format!(
                "{} goroutine(s) printed twice by GOTRACEBACK=crash (once as `stack unavailable`, again under its thread) were counted once, with the stack from its thread",
                self.duplicates
            ));
        }
        if let Some(line) = self.garbage_tail {
            notes.push(format!(
                "line {line} of {name}, after the last goroutine, is other text cut without a newline (a log line or garbage); the dump before it is complete"
            ));
        }
        notes
    }
}

fn assemble(
    name: &str,
    total_bytes: u64,
    dumps: Vec<Dump>,
    skipped: Vec<(u64, u64)>,
    truncated: Option<Truncation>,
) -> Result<Vec<Snapshot>, ParseError> {
    if let (true, Some(cut)) = (dumps.is_empty(), truncated) {
        return Err(ParseError::new(
            name,
            Location::Line(cut.line),
            format!(
                "no complete goroutine: {} (truncated dump?)",
                cut.describe()
            ),
        ));
    }
    if dumps.is_empty() {
        return Err(ParseError::new(
            name,
            Location::Line(1),
            "no goroutine dump found; expected a header line like `goroutine 1 [running]:`",
        ));
    }
    let count = dumps.len() as u32;
    let spans: Vec<(u64, u64)> = dumps.iter().map(|d| (d.first, d.last)).collect();
    Ok(dumps
        .into_iter()
        .enumerate()
        .map(|(i, dump)| {
            let Dump {
                mut snapshot,
                first,
                last,
                uncounted,
            } = dump;
            sort_groups(&mut snapshot);
            snapshot.missing = Missing::of(DumpFormat::Traceback);
            snapshot.sources.clear();
            snapshot.sources.push(SourceInfo {
                name: name.to_string(),
                format: DumpFormat::Traceback,
                profile: ProfileKind::Goroutine,
                bytes: total_bytes,
                dumps: count,
                skipped: skipped.clone(),
                transport: None,
            });
            if let (true, Some(cut)) = (i + 1 == count as usize, truncated) {
                snapshot.notes.push(format!(
                    "{name} looks truncated: {}; everything before it was read ({})",
                    cut.describe(),
                    why_cut(total_bytes)
                ));
            }
            if count > 1 {
                snapshot.notes.push(format!(
                    "{}{first}-{last} (other dumps at lines {})",
                    crate::position_note_prefix(name, i, count as usize),
                    spans
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, (a, b))| format!("{a}-{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            snapshot.notes.extend(uncounted.notes(name));
            snapshot
        })
        .collect())
}

/// Go's net/http/pprof handler writes at most this much of a debug=2 dump, then stops
/// mid-goroutine (runtime/pprof writeGoroutineStacks).
pub(crate) const PPROF_DEBUG2_CAP: u64 = 64 << 20;

/// What most likely cut a dump of this size, and what to do about it.
fn why_cut(total_bytes: u64) -> String {
    if total_bytes == PPROF_DEBUG2_CAP {
        "exactly 64 MiB: Go's /debug/pprof/goroutine?debug=2 stops writing there; the protobuf profile (debug=0) counts every goroutine, and `goleash analyze http://host:port` takes it first".to_string()
    } else if total_bytes.is_power_of_two() || total_bytes.is_multiple_of(1024) {
        format!(
            "exactly {total_bytes} bytes, a buffer's size: runtime.Stack(buf, true) stops when buf is full; call it with a larger buffer (grow it while the returned length equals len(buf))"
        )
    } else {
        format!(
            "{total_bytes} bytes, not a buffer's size: the file was cut while being written or copied (a killed process, a full disk, a log size limit)"
        )
    }
}

/// Orders groups by their lowest goroutine id so output does not depend on thread timing.
fn sort_groups(snapshot: &mut Snapshot) {
    snapshot
        .groups
        .sort_by_key(|g| g.stats.ids.first().copied().unwrap_or(u64::MAX));
}

/// Aggregates goroutines into groups keyed by their byte signature.
#[derive(Default)]
struct Aggregator {
    interner: Interner,
    groups: Vec<RawGroup>,
    by_signature: FxHashMap<Box<[u8]>, usize>,
    by_key: FxHashMap<GroupKey, usize>,
    uncounted: Uncounted,
}

impl Aggregator {
    fn into_snapshot(self) -> Snapshot {
        Snapshot {
            interner: self.interner,
            // A group emptied by removing a crash duplicate is no group.
            groups: self
                .groups
                .into_iter()
                .filter(|g| g.stats.count > 0)
                .collect(),
            ..Snapshot::default()
        }
    }

    /// Takes one goroutine back out of a group: a crash dump printed it again, with a stack.
    fn remove_one(&mut self, index: usize, id: u64) {
        if let Some(group) = self.groups.get_mut(index) {
            let stats = &mut group.stats;
            stats.count = stats.count.saturating_sub(1);
            stats.ids.retain(|&i| i != id);
        }
    }

    fn add(&mut self, record: &Record<'_>, signature: &[u8]) -> Result<usize, String> {
        let index = match self.by_signature.get(signature) {
            Some(&index) => index,
            None => {
                let key = self.intern_key(record)?;
                let index = match self.by_key.get(&key) {
                    Some(&index) => index,
                    None => {
                        self.groups.push(RawGroup {
                            key,
                            stats: GroupStats::default(),
                        });
                        self.by_key.insert(key, self.groups.len() - 1);
                        self.groups.len() - 1
                    }
                };
                self.by_signature.insert(signature.into(), index);
                index
            }
        };
        let stats = &mut self.groups[index].stats;
        stats.add_goroutine(Some(record.id), record.wait_minutes, record.creator_id);
        stats.elided |= record.elided;
        Ok(index)
    }

    fn intern_key(&mut self, record: &Record<'_>) -> Result<GroupKey, String> {
        let stack = self.intern_frames(&record.frames);
        let creator = record.creator.map(|f| self.intern_frame(&f));
        let labels = match record.labels {
            Some(raw) => {
                let pairs = parse_labels(raw)?;
                self.interner.intern_labels(pairs)
            }
            None => LabelsId(0),
        };
        let ancestry = if record.ancestor_ends.is_empty() {
            AncestryId(0)
        } else {
            let mut stacks = Vec::with_capacity(record.ancestor_ends.len());
            let mut start = 0;
            for &end in &record.ancestor_ends {
                stacks.push(self.intern_frames(&record.ancestor_frames[start..end]));
                start = end;
            }
            self.interner.intern_ancestry(&stacks)
        };
        let state = self
            .interner
            .intern_state(&String::from_utf8_lossy(record.state));
        Ok(GroupKey {
            stack,
            state: Some(state),
            creator,
            labels,
            ancestry,
            leaked: record.leaked,
            locked_to_thread: record.locked,
        })
    }

    fn intern_frames(&mut self, frames: &[RawFrame<'_>]) -> StackId {
        let ids: Vec<FrameId> = frames.iter().map(|f| self.intern_frame(f)).collect();
        self.interner.intern_stack(&ids)
    }

    fn intern_frame(&mut self, frame: &RawFrame<'_>) -> FrameId {
        self.interner.intern_frame(Frame {
            function: String::from_utf8_lossy(frame.function).into(),
            file: String::from_utf8_lossy(frame.file).into(),
            line: frame.line,
        })
    }
}

#[derive(Clone, Copy)]
struct RawFrame<'a> {
    function: &'a [u8],
    file: &'a [u8],
    line: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Stack,
    Creator,
    Ancestor,
    /// The `created by` line inside an ancestor block: the next ancestor already says it.
    AncestorCreator,
}

/// One goroutine being read; slices borrow from the block.
struct Record<'a> {
    header_line: u64,
    id: u64,
    /// `gp=… m=…` on the header: a SIGQUIT or crash traceback.
    thread_words: bool,
    /// A compiler wrapper of user code was dropped from the stack.
    user_wrapper: bool,
    state: &'a [u8],
    leaked: bool,
    locked: bool,
    wait_minutes: Option<u32>,
    labels: Option<&'a [u8]>,
    frames: Vec<RawFrame<'a>>,
    creator: Option<RawFrame<'a>>,
    creator_id: Option<u64>,
    ancestor_frames: Vec<RawFrame<'a>>,
    ancestor_ends: Vec<usize>,
    elided: bool,
    stack_unavailable: bool,
    section: Section,
    /// A function line whose `file:line` line has not been read yet.
    pending: Option<(&'a [u8], u64)>,
}

impl<'a> Record<'a> {
    /// A goroutine running on another thread (`stack unavailable`), or a thread's system
    /// goroutine (`goroutine 0`, printed by SIGQUIT and crash dumps, often with no frames).
    fn may_lack_frames(&self) -> bool {
        self.stack_unavailable || self.id == 0
    }

    /// `frames` is an empty vector to reuse, so that a goroutine does not allocate.
    fn new(header: Header<'a>, line: u64, frames: Vec<RawFrame<'a>>) -> Self {
        debug_assert!(frames.is_empty());
        Record {
            header_line: line,
            id: header.id,
            thread_words: header.thread_words,
            user_wrapper: false,
            state: header.state,
            leaked: header.leaked,
            locked: header.locked,
            wait_minutes: header.wait_minutes,
            labels: header.labels,
            frames,
            creator: None,
            creator_id: None,
            ancestor_frames: Vec::new(),
            ancestor_ends: Vec::new(),
            elided: false,
            stack_unavailable: false,
            section: Section::Stack,
            pending: None,
        }
    }

    fn push_frame(&mut self, frame: RawFrame<'a>) {
        // debug=2 and the profiles hide the compiler's wrappers; SIGQUIT and crash tracebacks
        // print every frame. Dropping them lets one stack group alike in every format.
        if is_wrapper(frame.function, frame.file) {
            // `main.main.gowrap1` is the start function of a user goroutine that has not run
            // yet: with the wrapper gone only runtime frames remain, yet it is no system one.
            self.user_wrapper |= !frame.function.starts_with(b"runtime.");
            return;
        }
        match self.section {
            Section::Stack => self.frames.push(frame),
            Section::Creator => self.creator = Some(frame),
            Section::Ancestor => self.ancestor_frames.push(frame),
            Section::AncestorCreator => {}
        }
    }

    /// A goroutine the runtime runs for itself: every frame is the runtime's (`runtime.main`
    /// aside, which becomes the main goroutine). Only SIGQUIT and crash tracebacks print them.
    fn is_system(&self) -> bool {
        self.thread_words
            && !self.user_wrapper
            && !self.frames.is_empty()
            && self
                .frames
                .iter()
                .all(|f| f.function.starts_with(b"runtime.") && f.function != b"runtime.main")
    }

    fn start_ancestor(&mut self) {
        self.close_ancestor();
        self.section = Section::Ancestor;
    }

    fn close_ancestor(&mut self) {
        if matches!(self.section, Section::Ancestor | Section::AncestorCreator) {
            self.ancestor_ends.push(self.ancestor_frames.len());
        }
    }

    /// Writes everything that decides the goroutine's group into `out`.
    fn signature(&self, out: &mut Vec<u8>) {
        fn frame(out: &mut Vec<u8>, f: &RawFrame<'_>) {
            out.extend_from_slice(f.function);
            out.push(0);
            out.extend_from_slice(f.file);
            out.push(0);
            out.extend_from_slice(&f.line.to_le_bytes());
        }
        out.clear();
        out.extend_from_slice(self.state);
        out.push(0xff);
        out.push(u8::from(self.leaked) | (u8::from(self.locked) << 1));
        if let Some(labels) = self.labels {
            out.extend_from_slice(labels);
        }
        out.push(0xff);
        for f in &self.frames {
            frame(out, f);
        }
        out.push(0xfe);
        if let Some(c) = &self.creator {
            frame(out, c);
        }
        out.push(0xfe);
        let mut start = 0;
        for &end in &self.ancestor_ends {
            for f in &self.ancestor_frames[start..end] {
                frame(out, f);
            }
            out.push(0xfd);
            start = end;
        }
    }
}

/// Parses one block. Errors stop the block and carry a block-relative line number.
fn parse_block(data: &[u8], is_last: bool) -> BlockResult {
    let mut result = BlockResult {
        lines: 0,
        runs: Vec::new(),
        skipped: Vec::new(),
        starts_with_goroutine: false,
        ends_in_dump: false,
        has_content: false,
        trailing_separator: false,
        truncated: None,
        error: None,
    };
    let mut separator_seen = false;
    let mut signature = Vec::with_capacity(1024);
    let mut record: Option<Record<'_>> = None;
    let mut spare_frames: Vec<RawFrame<'_>> = Vec::new();
    let mut run: Option<Run> = None;
    let mut seen_content = false;
    let mut pos = 0;
    let mut line_no = 0u64;
    // The runtime's deadlock message, waiting for the dump it introduces.
    let mut pending_proof: Option<RuntimeProof> = None;
    // Goroutines of the current crash dump (`gp=… m=…` headers) by id: where each was counted
    // and whether without frames, so that a second printing replaces a `stack unavailable`
    // one. A crash dump split across blocks (over 4 MiB) may still count a goroutine twice.
    let mut crash_ids: CrashIds = FxHashMap::default();
    let mut garbage_tail: Option<u64> = None;

    macro_rules! fail {
        ($line:expr, $msg:expr) => {{
            result.error = Some(($line, $msg));
            result.lines = line_no;
            return result;
        }};
    }
    macro_rules! finish {
        () => {
            if let Some(mut done) = record.take() {
                let header_line = done.header_line;
                let finished = finish_record(
                    &mut done,
                    &mut signature,
                    &mut run,
                    &mut result.runs,
                    &mut crash_ids,
                );
                spare_frames = std::mem::take(&mut done.frames);
                spare_frames.clear();
                if let Err(message) = finished {
                    fail!(header_line, message);
                }
            }
        };
    }

    // Goroutine ids of the current run: one seen again starts a new dump (`curl … >> g.txt`
    // appends a whole second dump right after the first). `goroutine 0` is every thread's
    // system goroutine and repeats within one dump.
    let mut run_ids: rustc_hash::FxHashSet<u64> = rustc_hash::FxHashSet::default();
    macro_rules! repeats {
        ($header:expr) => {{
            if run.is_none() {
                run_ids.clear();
            }
            let id = $header.id;
            // Crash and SIGQUIT tracebacks (`gp=… m=…` headers) may print a goroutine twice
            // within one dump; only the plain format of `?debug=2` and runtime.Stack repeats
            // an id because a second dump was appended.
            if id != 0 && !$header.thread_words && !run_ids.insert(id) {
                run_ids.clear();
                run_ids.insert(id);
                true
            } else {
                false
            }
        }};
    }

    while pos < data.len() {
        let end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let mut line = &data[pos..end];
        pos = end + 1;
        line_no += 1;
        if end == data.len() && is_last && !data.ends_with(b"\n") && !is_complete_file_line(line) {
            if !could_be_cut_dump_line(line) && record.as_ref().is_none_or(|r| r.pending.is_none())
            {
                // Other text after the dump (a log line cut short), not a cut goroutine.
                finish!();
                garbage_tail = Some(line_no);
                push_skipped(&mut result.skipped, line_no);
                seen_content = true;
                result.ends_in_dump = false;
                close_run(&mut run, &mut result);
                break;
            }
            // A final line without its newline was cut: judged below, never interpreted.
            break;
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }

        if let Some(current) = record.as_mut() {
            if let Some((function, function_line)) = current.pending {
                let Some(location) = line.strip_prefix(b"\t") else {
                    fail!(
                        line_no,
                        format!(
                            "expected the tab-indented `file.go:LINE` line of `{}` (line {}), found {}",
                            String::from_utf8_lossy(function),
                            function_line,
                            excerpt(line)
                        )
                    );
                };
                let Some((file, file_line)) = parse_location(location) else {
                    fail!(
                        line_no,
                        format!(
                            "expected `file.go:LINE` after `{}`, found {}",
                            String::from_utf8_lossy(function),
                            excerpt(line)
                        )
                    );
                };
                current.pending = None;
                current.push_frame(RawFrame {
                    function,
                    file,
                    line: file_line,
                });
                continue;
            }
            if line.is_empty() {
                finish!();
                continue;
            }
            if let Some(function) = line.strip_prefix(b"created by ") {
                let (function, creator_id) = split_creator(function);
                match current.section {
                    Section::Stack => {
                        current.section = Section::Creator;
                        current.creator_id = creator_id;
                    }
                    Section::Ancestor => current.section = Section::AncestorCreator,
                    Section::Creator | Section::AncestorCreator => fail!(
                        line_no,
                        format!(
                            "a second `created by` line in goroutine {}; expected a blank line or `[originating from goroutine N]:`",
                            current.id
                        )
                    ),
                }
                current.pending = Some((function, line_no));
                continue;
            }
            if line.starts_with(b"[originating from goroutine ") && line.ends_with(b"]:") {
                current.start_ancestor();
                continue;
            }
            if line.starts_with(b"...") && line.ends_with(b"...") {
                // `...N frames elided...` or `...additional frames elided...`
                if current.section == Section::Stack {
                    current.elided = true;
                }
                continue;
            }
            // The runtime prints it indented (`\tgoroutine running on other thread; …`).
            if line.strip_prefix(b"\t").unwrap_or(line)
                == b"goroutine running on other thread; stack unavailable"
            {
                current.stack_unavailable = true;
                continue;
            }
            if let Some(function) = function_of_call(line) {
                if matches!(current.section, Section::Creator | Section::AncestorCreator) {
                    fail!(
                        line_no,
                        format!(
                            "expected a blank line after the `created by` lines of goroutine {}, found {}",
                            current.id,
                            excerpt(line)
                        )
                    );
                }
                current.pending = Some((function, line_no));
                continue;
            }
            if let Some(header) = parse_header(line) {
                finish!();
                if repeats!(header) {
                    close_run(&mut run, &mut result);
                    crash_ids.clear();
                    run = Some(Run {
                        continues: false,
                        proof: pending_proof.take(),
                        first_line: line_no,
                        last_line: line_no,
                        groups: Aggregator::default(),
                    });
                }
                record = Some(Record::new(
                    header,
                    line_no,
                    std::mem::take(&mut spare_frames),
                ));
                continue;
            }
            // A line that is not part of a goroutine ends the dump it follows.
            finish!();
            result.ends_in_dump = false;
            close_run(&mut run, &mut result);
            push_skipped(&mut result.skipped, line_no);
            pending_proof = runtime_proof(line).or(pending_proof);
            separator_seen |= line == b"-----";
            seen_content = true;
            continue;
        }

        if line.is_empty() {
            continue;
        }
        if let Some(header) = parse_header(line) {
            if !seen_content {
                result.starts_with_goroutine = true;
            }
            seen_content = true;
            if repeats!(header) {
                close_run(&mut run, &mut result);
            }
            if run.is_none() {
                let continues = std::mem::take(&mut separator_seen);
                if !continues {
                    crash_ids.clear();
                }
                run = Some(Run {
                    continues,
                    proof: pending_proof.take(),
                    first_line: line_no,
                    last_line: line_no,
                    groups: Aggregator::default(),
                });
            }
            result.ends_in_dump = true;
            record = Some(Record::new(
                header,
                line_no,
                std::mem::take(&mut spare_frames),
            ));
            continue;
        }
        seen_content = true;
        if result.ends_in_dump {
            result.ends_in_dump = false;
            close_run(&mut run, &mut result);
        }
        push_skipped(&mut result.skipped, line_no);
        separator_seen |= line == b"-----";
        pending_proof = runtime_proof(line).or(pending_proof);
    }

    // Go's own /debug/pprof/goroutine?debug=2 stops writing at 64 MiB, mid-goroutine: a cut
    // at the very end is reported and the cut goroutine left out, so the rest is still read.
    // A dump saved or pasted without its final newline ends in a complete `\tfile.go:LINE
    // +0xOFF` line: that is not a cut.
    let partial_last_line = garbage_tail.is_none()
        && is_last
        && !data.ends_with(b"\n")
        && !data.is_empty()
        && !is_complete_file_line(data.rsplit(|b| *b == b'\n').next().unwrap_or(b""));
    if let Some(current) = record.take() {
        let cut = current.pending.is_some()
            || partial_last_line
            || (current.frames.is_empty() && !current.may_lack_frames());
        if cut && is_last {
            result.truncated = Some(Truncation {
                line: current.header_line,
                goroutine: Some(current.id),
            });
        } else if let Some((function, function_line)) = current.pending {
            fail!(
                function_line,
                format!(
                    "the input ends after `{}`; expected its tab-indented `file.go:LINE` line (truncated dump?)",
                    String::from_utf8_lossy(function)
                )
            );
        } else {
            record = Some(current);
        }
    } else if partial_last_line {
        result.truncated = Some(Truncation {
            line: line_no,
            goroutine: None,
        });
    }
    finish!();
    close_run(&mut run, &mut result);
    if let (Some(line), Some(last)) = (garbage_tail, result.runs.last_mut()) {
        last.groups.uncounted.garbage_tail = Some(line);
    }
    result.lines = line_no;
    result.has_content = seen_content;
    result.trailing_separator = separator_seen;
    result
}

/// A function the compiler generated around another: `go f(x)` and `defer f(x)` wrappers
/// (`main.main.gowrap1`, `….deferwrap2`), method values (`(*T).run-fm`), and promoted or
/// interface-method wrappers (file `<autogenerated>`).
fn is_wrapper(function: &[u8], file: &[u8]) -> bool {
    if function.ends_with(b"-fm") || file == b"<autogenerated>" {
        return true;
    }
    let last = match memchr::memrchr(b'.', function) {
        Some(dot) => &function[dot + 1..],
        None => return false,
    };
    [&b"gowrap"[..], &b"deferwrap"[..]].iter().any(|prefix| {
        last.strip_prefix(*prefix)
            .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
    })
}

/// The runtime's messages that prove every goroutine of the dump that follows is blocked for
/// good (proc.go checkdead, synctest.go).
fn runtime_proof(line: &[u8]) -> Option<RuntimeProof> {
    if line.starts_with(b"fatal error: all goroutines are asleep - deadlock!") {
        return Some(RuntimeProof::AllAsleep);
    }
    let bubble = [
        &b"deadlock: main bubble goroutine has exited but blocked goroutines remain"[..],
        &b"deadlock: all goroutines in bubble are blocked"[..],
    ];
    bubble
        .iter()
        .any(|message| memmem::find(line, message).is_some())
        .then_some(RuntimeProof::BubbleBlocked)
}

/// Whether a last line cut without its newline can be the start of a dump line (a header, a
/// frame, its location, `created by`, an elision or ancestry marker). Anything else is other
/// text after the dump, not a cut goroutine.
fn could_be_cut_dump_line(line: &[u8]) -> bool {
    if line.starts_with(b"\t") || line.starts_with(b"...") || line.starts_with(b"[") {
        return true;
    }
    for word in [&b"goroutine "[..], &b"created by "[..]] {
        let n = line.len().min(word.len());
        if line[..n] == word[..n] {
            return true;
        }
    }
    // A frame's function: no space before its argument list.
    let name_end = memchr(b'(', line).unwrap_or(line.len());
    !line.is_empty() && memchr(b' ', &line[..name_end]).is_none()
}

/// `\t/path/file.go:123 +0x1d`, whole.
fn is_complete_file_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(rest) = line.strip_prefix(b"\t") else {
        return false;
    };
    let (place, offset) = match rest.iter().rposition(|b| *b == b' ') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    // Go prints ` +0xOFF` after every frame's place: without it the line may be cut short.
    let offset_ok = offset.is_some_and(|o| {
        o.strip_prefix(b"+0x")
            .is_some_and(|hex| !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit))
    });
    let Some(colon) = place.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (file, number) = (&place[..colon], &place[colon + 1..]);
    offset_ok
        && (file.ends_with(b".go") || file.ends_with(b".s"))
        && !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
}

fn close_run(run: &mut Option<Run>, result: &mut BlockResult) {
    if let Some(done) = run.take() {
        // A crash dump's thread section may hold only uncounted stacks (`goroutine 0`); it
        // still belongs to the dump for its notes.
        let uncounted = done.groups.uncounted;
        let noted = uncounted.threads + uncounted.system + uncounted.duplicates > 0;
        if !done.groups.groups.is_empty() || (done.continues && noted) {
            result.runs.push(done);
        }
    }
}

fn push_skipped(skipped: &mut Vec<(u64, u64)>, line: u64) {
    match skipped.last_mut() {
        Some(last) if last.1 + 1 == line => last.1 = line,
        _ => skipped.push((line, line)),
    }
}

/// Where a crash dump's goroutine was counted: the run (its index in the block's runs once
/// closed), its group, and whether it had no frames.
type CrashIds = FxHashMap<u64, (usize, usize, bool)>;

fn finish_record(
    record: &mut Record<'_>,
    signature: &mut Vec<u8>,
    run: &mut Option<Run>,
    closed: &mut [Run],
    crash_ids: &mut CrashIds,
) -> Result<(), String> {
    if record.frames.is_empty() && !record.may_lack_frames() {
        return Err(format!(
            "goroutine {} has no stack frames; expected `function(args)` and `\tfile.go:LINE` lines after its header (truncated dump?)",
            record.id
        ));
    }
    let Some(current) = run.as_mut() else {
        return Err("internal: goroutine outside a dump run".to_string());
    };
    current.last_line = record.header_line;
    if record.id == 0 {
        current.groups.uncounted.threads += 1;
        return Ok(());
    }
    if record.is_system() {
        current.groups.uncounted.system += 1;
        return Ok(());
    }
    let frameless = record.frames.is_empty();
    let here = closed.len();
    if record.thread_words {
        if let Some(&(at, group, was_frameless)) = crash_ids.get(&record.id) {
            current.groups.uncounted.duplicates += 1;
            // Only a stack where the first printing had none is worth the swap.
            if !was_frameless || frameless {
                return Ok(());
            }
            // The second printing has the stack the first could not show: count that one.
            match closed.get_mut(at) {
                Some(earlier) => earlier.groups.remove_one(group, record.id),
                None => current.groups.remove_one(group, record.id),
            }
        }
    }
    // The last ancestor block has no following marker to close it.
    record.close_ancestor();
    record.signature(signature);
    let group = current.groups.add(record, signature)?;
    if record.thread_words {
        crash_ids.insert(record.id, (here, group, frameless));
    }
    Ok(())
}

/// A parsed goroutine header line.
#[derive(Debug, PartialEq, Eq)]
struct Header<'a> {
    id: u64,
    /// `gp=… m=…` words: a SIGQUIT or crash traceback, which may print a goroutine twice.
    thread_words: bool,
    state: &'a [u8],
    leaked: bool,
    locked: bool,
    wait_minutes: Option<u32>,
    labels: Option<&'a [u8]>,
}

/// Parses `goroutine 7 [chan send, 3 minutes]:`, with the optional `gp=… m=…` words of
/// GOTRACEBACK=system|crash, `(leaked)`, `locked to thread` and a `{k: v}` label set.
fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let rest = line.strip_prefix(b"goroutine ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let id = parse_u64(&rest[..digits])?;
    let rest = &rest[digits..];
    let open = memchr(b'[', rest)?;
    // Between the id and `[` only the `gp=0x… m=… mp=0x…` words may stand.
    if !rest[..open]
        .split(|&b| b == b' ')
        .all(|word| word.is_empty() || memchr(b'=', word).is_some())
    {
        return None;
    }
    let thread_words = memchr(b'=', &rest[..open]).is_some();
    let inside_and_after = &rest[open + 1..];
    let close = memchr(b']', inside_and_after)?;
    let status = &inside_and_after[..close];
    let after = &inside_and_after[close + 1..];
    let labels = if after == b":" {
        None
    } else {
        let labels = after.strip_prefix(b" {")?.strip_suffix(b"}:")?;
        Some(labels)
    };

    let mut parts = status.split_str(b", ");
    let mut state = parts.next()?;
    let mut leaked = false;
    loop {
        if let Some(s) = state.strip_suffix(b" (leaked)") {
            leaked = true;
            state = s;
        } else if let Some(s) = state.strip_suffix(b" (scan)") {
            state = s;
        } else {
            break;
        }
    }
    if state.is_empty() {
        return None;
    }
    let mut locked = false;
    let mut wait_minutes = None;
    for part in parts {
        if part == b"locked to thread" {
            locked = true;
        } else if let Some(n) = part.strip_suffix(b" minutes") {
            wait_minutes = Some(u32::try_from(parse_u64(n)?).unwrap_or(u32::MAX));
        }
        // Other parts (`synctest bubble N`, future additions) do not change grouping.
    }
    Some(Header {
        thread_words,
        id,
        state,
        leaked,
        locked,
        wait_minutes,
        labels,
    })
}

trait SplitStr {
    fn split_str<'a>(&'a self, sep: &'a [u8]) -> SplitStrIter<'a>;
}

impl SplitStr for [u8] {
    fn split_str<'a>(&'a self, sep: &'a [u8]) -> SplitStrIter<'a> {
        SplitStrIter {
            rest: Some(self),
            sep,
        }
    }
}

struct SplitStrIter<'a> {
    rest: Option<&'a [u8]>,
    sep: &'a [u8],
}

impl<'a> Iterator for SplitStrIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_short(rest, self.sep) {
            Some(i) => {
                self.rest = Some(&rest[i + self.sep.len()..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The first occurrence of `needle` in a short haystack such as one line. `memmem::find`
/// builds a searcher on every call, which costs more than the search itself on a line; this
/// jumps between occurrences of the needle's first byte instead.
fn find_short(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    memchr::memchr_iter(first, haystack).find(|&i| haystack[i + 1..].starts_with(rest))
}

/// The last occurrence of `needle` in a short haystack; see [`find_short`].
fn rfind_short(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(haystack.len());
    };
    memchr::memrchr_iter(first, haystack).find(|&i| haystack[i + 1..].starts_with(rest))
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// The function of a frame line `pkg.Func(args)`: the text before the argument list.
/// Function names hold no spaces, which tells frames from log lines that end in `)`.
fn function_of_call(line: &[u8]) -> Option<&[u8]> {
    if !line.ends_with(b")") {
        return None;
    }
    let open = memchr::memrchr(b'(', line)?;
    let function = &line[..open];
    if function.is_empty() || memchr(b' ', function).is_some() || function.starts_with(b"\t") {
        return None;
    }
    Some(function)
}

/// Splits `main.f in goroutine 7` into the function and the creator's id.
fn split_creator(text: &[u8]) -> (&[u8], Option<u64>) {
    match rfind_short(text, b" in goroutine ") {
        Some(i) => (&text[..i], parse_u64(&text[i + b" in goroutine ".len()..])),
        None => (text, None),
    }
}

/// Parses `path/file.go:123 +0x1d` (the `+0x…` part and any ` fp=… sp=… pc=…` are optional).
fn parse_location(text: &[u8]) -> Option<(&[u8], u32)> {
    let end = find_short(text, b" +0x")
        .or_else(|| find_short(text, b" fp="))
        .unwrap_or(text.len());
    let text = &text[..end];
    let colon = memchr::memrchr(b':', text)?;
    let line = parse_u64(&text[colon + 1..])?;
    let file = &text[..colon];
    if file.is_empty() {
        return None;
    }
    Some((file, u32::try_from(line).ok()?))
}

/// Parses the inside of `{tenant: a, req: "x y"}`: values are Go-quoted only when needed.
fn parse_labels(raw: &[u8]) -> Result<Vec<Label>, String> {
    let text = String::from_utf8_lossy(raw);
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    let bad = || {
        format!(
            "malformed pprof labels {}; expected `{{key: value, …}}`",
            excerpt(raw)
        )
    };
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key = read_label_token(&mut chars, ':').ok_or_else(bad)?;
        if chars.next() != Some(':') {
            return Err(bad());
        }
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let value = read_label_token(&mut chars, ',').ok_or_else(bad)?;
        pairs.push((key.into_boxed_str(), value.into_boxed_str()));
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(bad()),
        }
    }
    Ok(pairs)
}

fn read_label_token(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    stop: char,
) -> Option<String> {
    let mut out = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        loop {
            match chars.next()? {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'x' => {
                        let hex: String = [chars.next()?, chars.next()?].iter().collect();
                        out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                    }
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    'U' => {
                        let hex: String = (0..8).filter_map(|_| chars.next()).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }
    while let Some(&c) = chars.peek() {
        if c == stop {
            break;
        }
        out.push(c);
        chars.next();
    }
    // An empty key is legal: pprof.Labels("", "v") prints `{: v}`.
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_without_its_final_newline_is_complete() {
        // Saved by an editor or a paste that dropped the last newline: nothing is cut.
        let text = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d";
        let snapshot =
            crate::parse("nonl.txt", text.as_bytes(), crate::Limits::default()).expect("reads");
        assert_eq!(snapshot.total(), 2);
        assert!(
            snapshot.notes.iter().all(|n| !n.contains("truncated")),
            "{:?}",
            snapshot.notes
        );
        // Cut inside the last line: still a cut, the cut goroutine left out and noted.
        let cut = &text[..text.len() - 6];
        let snapshot = crate::parse("cut.txt", cut.as_bytes(), crate::Limits::default())
            .expect("reads up to the cut");
        assert_eq!(snapshot.total(), 1);
        assert!(
            snapshot.notes.iter().any(|n| n.contains("truncated")),
            "{:?}",
            snapshot.notes
        );
    }

    #[test]
    fn a_system_goroutine_without_frames_is_read() {
        // SIGQUIT under load prints a thread's `goroutine 0` with nothing under its header.
        let text = "goroutine 0 gp=0x5a2b00 m=0 mp=0x5a3ce0 [idle]:\n\ngoroutine 1 gp=0xc000002380 m=nil [chan receive]:\nmain.main()\n\t/app/main.go:10 +0x1d\n";
        let snapshot = crate::parse("sigquit.txt", text.as_bytes(), crate::Limits::default())
            .expect("a frameless goroutine 0 is read");
        // A thread's stack, not a goroutine: read, noted, not counted.
        assert_eq!(snapshot.total(), 1);
        assert!(snapshot.notes.iter().any(|n| n.contains("goroutine 0")));
    }

    #[test]
    fn appended_dumps_are_separate_dumps() {
        // `curl …?debug=2 >> g.txt` twice: the second dump starts right after the first.
        let one = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n\n";
        let two = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n\ngoroutine 9 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2d\n";
        let text = format!("{one}{two}");
        let dumps = crate::parse_dumps("appended.txt", text.as_bytes(), crate::Limits::default())
            .expect("reads");
        let totals: Vec<u64> = dumps.iter().map(|d| d.total()).collect();
        assert_eq!(totals, vec![2, 3]);
    }

    #[test]
    fn a_crash_dump_printing_a_goroutine_twice_stays_one_dump() {
        // SIGQUIT/crash tracebacks (`gp=… m=…` headers) can print the running goroutine again
        // in the list of all goroutines: that is one dump, not an appended second one.
        let text = "goroutine 5 gp=0xc000007c00 m=3 mp=0xc000100008 [running]:\nmain.spin()\n\t/app/main.go:30 +0x11\n\ngoroutine 1 gp=0xc000002380 m=nil [chan receive]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 5 gp=0xc000007c00 m=3 mp=0xc000100008 [running]:\nmain.spin()\n\t/app/main.go:30 +0x11\n";
        let dumps = crate::parse_dumps("crash.txt", text.as_bytes(), crate::Limits::default())
            .expect("reads");
        assert_eq!(dumps.len(), 1);
        // Goroutine 5 printed twice is one goroutine.
        assert_eq!(dumps[0].total(), 2);
    }

    #[test]
    fn a_goroutine_running_on_another_thread_has_no_stack() {
        // As runtime/traceback.go prints it: indented with a tab, then the creator.
        let text = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\ngoroutine 7 [running]:\n\tgoroutine running on other thread; stack unavailable\ncreated by main.main in goroutine 1\n\t/app/main.go:8 +0x25\n";
        let snapshot = crate::parse("crash.txt", text.as_bytes(), crate::Limits::default())
            .expect("a stack-unavailable goroutine is read");
        assert_eq!(snapshot.total(), 2);
    }

    /// A dump of `n` goroutines over a few stacks, larger than one block for large `n`.
    fn synthetic_dump(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for id in 1..=n {
            out.extend_from_slice(
                format!(
                    "goroutine {id} [chan receive, {} minutes]:\nmain.worker{}(0xc000{id:x})\n\t/src/app/main.go:{} +0x1d\nmain.run()\n\t/src/app/main.go:9 +0x2a\ncreated by main.start in goroutine 1\n\t/src/app/main.go:4 +0x3b\n\n",
                    id % 7,
                    id % 3,
                    10 + id % 5
                )
                .as_bytes(),
            );
        }
        out
    }

    /// A reader that hands out at most `chunk` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.chunk).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_and_many_blocks_give_the_same_dumps() {
        let dump = synthetic_dump(60_000);
        assert!(dump.len() > 2 * BLOCK);
        let whole = crate::parse_dumps("d", &dump[..], Limits::default()).unwrap();
        let trickled = crate::parse_dumps(
            "d",
            Trickle {
                data: &dump,
                chunk: 4093,
            },
            Limits::default(),
        )
        .unwrap();
        assert_eq!(format!("{whole:?}"), format!("{trickled:?}"));
        assert_eq!(whole[0].total(), 60_000);
        // worker0..2 × lines 10..14: every combination occurs.
        assert_eq!(whole[0].groups.len(), 3 * 5);
    }

    #[test]
    fn size_limit_holds_while_a_block_grows_past_the_block_size() {
        // One goroutine, then more than a block of text with no header to cut at: the block
        // grows, and the limit must still stop it.
        let mut input = synthetic_dump(1);
        while input.len() < 3 * BLOCK {
            input.extend_from_slice(b"2026/11/23 12:00:00 a log line that is not part of a dump\n");
        }
        let limits = Limits {
            max_bytes: (BLOCK + BLOCK / 2) as u64,
        };
        let err = crate::parse_dumps("log", &input[..], limits).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
    }

    #[test]
    fn header_variants() {
        let h = parse_header(b"goroutine 7 [chan send]:").unwrap();
        assert_eq!((h.id, h.state, h.leaked), (7, &b"chan send"[..], false));

        let h = parse_header(b"goroutine 12 gp=0xc000102380 m=nil [chan receive, 15 minutes]:")
            .unwrap();
        assert_eq!(
            (h.id, h.state, h.wait_minutes),
            (12, &b"chan receive"[..], Some(15))
        );

        let h =
            parse_header(b"goroutine 10 [select (no cases) (leaked)] {req: 7, tenant: \"a b\"}:")
                .unwrap();
        assert_eq!(h.state, b"select (no cases)");
        assert!(h.leaked);
        assert_eq!(h.labels, Some(&b"req: 7, tenant: \"a b\""[..]));

        let h = parse_header(b"goroutine 5 [syscall, 3 minutes, locked to thread]:").unwrap();
        assert_eq!(
            (h.state, h.wait_minutes, h.locked),
            (&b"syscall"[..], Some(3), true)
        );

        let h = parse_header(b"goroutine 9 [chan receive (durable), synctest bubble 1]:").unwrap();
        assert_eq!(h.state, b"chan receive (durable)");

        assert!(parse_header(b"goroutine 5 was started by the scheduler [x]:").is_none());
        assert!(parse_header(b"goroutine profile: total 5").is_none());
        assert!(parse_header(b"goroutine 5 [chan send]").is_none());
    }

    #[test]
    fn labels_are_unquoted() {
        let pairs = parse_labels(b"req: 7, tenant: \"a b\", q: \"x\\\"y\"").unwrap();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(pairs, vec![("req", "7"), ("tenant", "a b"), ("q", "x\"y")]);
        assert!(parse_labels(b"novalue").is_err());
    }

    #[test]
    fn frame_lines() {
        assert_eq!(
            function_of_call(b"main.(*T).Wait(...)"),
            Some(&b"main.(*T).Wait"[..])
        );
        assert_eq!(
            function_of_call(b"main.Map[...](0xc0000, 0x1?)"),
            Some(&b"main.Map[...]"[..])
        );
        assert_eq!(function_of_call(b"2026/11/23 server started (pid 4)"), None);
        assert_eq!(
            parse_location(b"probe/main.go:12 +0x1d"),
            Some((&b"probe/main.go"[..], 12))
        );
        assert_eq!(
            parse_location(b"/usr/local/go/src/runtime/proc.go:435 +0xce fp=0xc sp=0xc pc=0x4"),
            Some((&b"/usr/local/go/src/runtime/proc.go"[..], 435))
        );
        assert_eq!(
            parse_location(b"C:/Program Files/app/main.go:9"),
            Some((&b"C:/Program Files/app/main.go"[..], 9))
        );
        assert_eq!(parse_location(b"main.go"), None);
    }
}
