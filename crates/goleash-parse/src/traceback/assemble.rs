//! Putting the blocks' results back together in input order: dumps, truncation, notes.

use super::*;

/// What one block held: its runs of goroutines (a run ends at non-dump text) and its lines.
pub(super) struct BlockResult {
    pub(super) lines: u64,
    pub(super) runs: Vec<Run>,
    /// Line ranges (block-relative, 1-based) of text that is not part of a dump.
    pub(super) skipped: Vec<(u64, u64)>,
    /// The block's first non-blank line is a goroutine header.
    pub(super) starts_with_goroutine: bool,
    /// No non-dump text follows the block's last goroutine.
    pub(super) ends_in_dump: bool,
    /// The block holds a non-blank line.
    pub(super) has_content: bool,
    /// After the block's last goroutine came a `-----` line: GOTRACEBACK=crash prints it
    /// before the stacks of the crash's other threads, which belong to the same dump.
    pub(super) trailing_separator: bool,
    /// The input ends inside a goroutine or mid-line.
    pub(super) truncated: Option<Truncation>,
    pub(super) error: Option<(u64, String)>,
}

/// Where the input was cut: the line (block-relative until assembled) and the goroutine left
/// out, if the cut fell inside one.
#[derive(Clone, Copy)]
pub(super) struct Truncation {
    pub(super) line: u64,
    pub(super) goroutine: Option<u64>,
}

impl Truncation {
    pub(super) fn describe(self) -> String {
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
pub(super) struct Run {
    /// Text with a `-----` separator came before it: another thread of the same crash.
    pub(super) continues: bool,
    /// The runtime's message just before the run proved its goroutines blocked for good.
    pub(super) proof: Option<RuntimeProof>,
    pub(super) first_line: u64,
    pub(super) last_line: u64,
    pub(super) groups: Aggregator,
}

/// Joins block results, in input order, into dumps. Results may be offered out of order;
/// each is folded in as soon as all earlier blocks have been.
pub(super) struct Assembler<'n> {
    pub(super) name: &'n str,
    pub(super) base_line: u64,
    pub(super) dumps: Vec<Dump>,
    pub(super) skipped: Vec<(u64, u64)>,
    pub(super) previous_ends_in_dump: bool,
    pub(super) previous_separator: bool,
    /// The first error in input order; later blocks are ignored.
    pub(super) error: Option<ParseError>,
    pub(super) truncated: Option<Truncation>,
    /// Results that arrived before those of earlier blocks.
    pub(super) waiting: BTreeMap<usize, BlockResult>,
    pub(super) next_index: usize,
}

impl<'n> Assembler<'n> {
    pub(super) fn new(name: &'n str) -> Self {
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

    pub(super) fn offer(&mut self, index: usize, result: BlockResult) {
        self.waiting.insert(index, result);
        while let Some(result) = self.waiting.remove(&self.next_index) {
            self.next_index += 1;
            if self.error.is_none() {
                self.push(result);
            }
        }
    }

    pub(super) fn push(&mut self, result: BlockResult) {
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

    pub(super) fn finish(self, total_bytes: u64) -> Result<Vec<Snapshot>, ParseError> {
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
pub(super) struct Dump {
    pub(super) snapshot: Snapshot,
    pub(super) first: u64,
    pub(super) last: u64,
    pub(super) uncounted: Uncounted,
}

/// Stacks a SIGQUIT or crash traceback prints that are not goroutines of the program, or
/// print one a second time: counting them would disagree with runtime.NumGoroutine and with
/// the goroutine profile of the same moment.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Uncounted {
    /// `goroutine 0`: a thread's system stack (g0, gsignal), one per thread in crash dumps.
    pub(super) threads: u64,
    /// Goroutines the runtime runs for itself (GC workers, sweeper, scavenger, finalizer
    /// waiting), printed only at GOTRACEBACK=system or crash.
    pub(super) system: u64,
    /// GOTRACEBACK=crash prints a running goroutine once as `stack unavailable` and again
    /// under its thread.
    pub(super) duplicates: u64,
    /// The text after the last goroutine is not dump text and has no newline: a log line or
    /// garbage, not a cut dump.
    pub(super) garbage_tail: Option<u64>,
}

impl Uncounted {
    pub(super) fn add(&mut self, other: Uncounted) {
        self.threads += other.threads;
        self.system += other.system;
        self.duplicates += other.duplicates;
        self.garbage_tail = self.garbage_tail.or(other.garbage_tail);
    }

    pub(super) fn notes(&self, name: &str) -> Vec<String> {
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

pub(super) fn assemble(
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
pub(super) fn why_cut(total_bytes: u64) -> String {
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
pub(super) fn sort_groups(snapshot: &mut Snapshot) {
    snapshot
        .groups
        .sort_by_key(|g| g.stats.ids.first().copied().unwrap_or(u64::MAX));
}
