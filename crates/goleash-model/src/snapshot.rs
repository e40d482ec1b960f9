use serde::Serialize;

use crate::{AncestryId, FrameId, Interner, LabelsId, StackId, StateId};

/// How many goroutine ids a group keeps as a sample.
pub const SAMPLE_IDS: usize = 8;

/// A function at a file and line, as a traceback or a profile names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Frame {
    pub function: std::sync::Arc<str>,
    pub file: std::sync::Arc<str>,
    pub line: u32,
}

/// Which of the formats Go emits a snapshot was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// Panic / SIGQUIT / `runtime.Stack(all)` / `?debug=2` traceback text.
    Traceback,
    /// `?debug=1` legacy text profile (`N @ 0x…` records).
    LegacyText,
    /// `?debug=0` pprof protobuf, gzipped or not.
    Proto,
    /// A Go execution trace (`runtime/trace`, `go test -trace`, `/debug/pprof/trace`): the
    /// goroutines alive at its end, rebuilt from their lifecycle events.
    ExecutionTrace,
}

impl DumpFormat {
    pub fn describe(self) -> &'static str {
        match self {
            DumpFormat::Traceback => "goroutine traceback text (debug=2)",
            DumpFormat::LegacyText => "legacy text profile (debug=1)",
            DumpFormat::Proto => "pprof protobuf profile (debug=0)",
            DumpFormat::ExecutionTrace => "Go execution trace (runtime/trace)",
        }
    }
}

/// Which profile a record came from: the goroutine profile lists every goroutine, the
/// goroutineleak profile only those the runtime's leak-detecting GC proved unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    Goroutine,
    GoroutineLeak,
}

/// What a format cannot say, so that reports can name the gap instead of guessing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub goroutine_ids: bool,
    pub states: bool,
    pub wait_times: bool,
    pub creators: bool,
}

impl Missing {
    pub fn of(format: DumpFormat) -> Missing {
        match format {
            DumpFormat::Traceback | DumpFormat::ExecutionTrace => Missing::default(),
            DumpFormat::LegacyText | DumpFormat::Proto => Missing {
                goroutine_ids: true,
                states: true,
                wait_times: true,
                creators: true,
            },
        }
    }

    /// What is missing from the merge of two inputs: only what neither has.
    pub fn both(self, other: Missing) -> Missing {
        Missing {
            goroutine_ids: self.goroutine_ids && other.goroutine_ids,
            states: self.states && other.states,
            wait_times: self.wait_times && other.wait_times,
            creators: self.creators && other.creators,
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.goroutine_ids {
            names.push("goroutine ids");
        }
        if self.states {
            names.push("wait reasons");
        }
        if self.wait_times {
            names.push("wait times");
        }
        if self.creators {
            names.push("creators");
        }
        names
    }
}

/// Everything that makes two goroutines land in the same group at the finest level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub stack: StackId,
    /// `None` when the format has no state (protobuf, debug=1).
    pub state: Option<StateId>,
    /// The `created by` frame; `None` for the main goroutine or when the format lacks it.
    pub creator: Option<FrameId>,
    pub labels: LabelsId,
    pub ancestry: AncestryId,
    /// `(leaked)` on the header, or a record of the goroutineleak profile.
    pub leaked: bool,
    pub locked_to_thread: bool,
}

/// Counts and ranges gathered over the goroutines of one group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub count: u64,
    /// Goroutines whose header carried `, N minutes`.
    pub with_wait: u64,
    pub wait_min: Option<u32>,
    pub wait_max: Option<u32>,
    /// The lowest goroutine ids seen, ascending, at most [`SAMPLE_IDS`].
    pub ids: Vec<u64>,
    /// The ids of the goroutines that created members (`created by … in goroutine N`).
    pub creator_ids: Vec<u64>,
    /// Some member's stack was cut by the runtime (`...N frames elided...`).
    pub elided: bool,
}

impl GroupStats {
    pub fn add_goroutine(
        &mut self,
        id: Option<u64>,
        wait_minutes: Option<u32>,
        creator_id: Option<u64>,
    ) {
        self.count += 1;
        if let Some(minutes) = wait_minutes {
            self.add_wait(minutes);
        }
        if let Some(id) = id {
            insert_sample(&mut self.ids, id);
        }
        if let Some(id) = creator_id {
            insert_sample(&mut self.creator_ids, id);
        }
    }

    fn add_wait(&mut self, minutes: u32) {
        self.with_wait += 1;
        self.wait_min = Some(self.wait_min.map_or(minutes, |m| m.min(minutes)));
        self.wait_max = Some(self.wait_max.map_or(minutes, |m| m.max(minutes)));
    }

    pub fn merge(&mut self, other: &GroupStats) {
        self.count += other.count;
        self.with_wait += other.with_wait;
        self.wait_min = min_opt(self.wait_min, other.wait_min);
        self.wait_max = max_opt(self.wait_max, other.wait_max);
        for &id in &other.ids {
            insert_sample(&mut self.ids, id);
        }
        for &id in &other.creator_ids {
            insert_sample(&mut self.creator_ids, id);
        }
        self.elided |= other.elided;
    }
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Keeps the smallest ids, sorted, without duplicates.
fn insert_sample(sample: &mut Vec<u64>, id: u64) {
    match sample.binary_search(&id) {
        Ok(_) => {}
        Err(pos) if pos < SAMPLE_IDS => {
            sample.insert(pos, id);
            sample.truncate(SAMPLE_IDS);
        }
        Err(_) => {}
    }
}

/// One finest-level group: goroutines identical in every [`GroupKey`] field.
#[derive(Clone, Debug)]
pub struct RawGroup {
    pub key: GroupKey,
    pub stats: GroupStats,
}

/// Where a snapshot's data came from.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    /// A path, `-` for stdin, or a URL.
    pub name: String,
    pub format: DumpFormat,
    pub profile: ProfileKind,
    pub bytes: u64,
    /// How many separate dumps the source held (a log with two SIGQUIT dumps has 2).
    pub dumps: u32,
    /// Line ranges (1-based, inclusive) of text that was not part of any dump.
    pub skipped: Vec<(u64, u64)>,
    /// What carried the dump and was undone before parsing, outermost first, e.g.
    /// `zstd, CRI log`; `None` when the dump was read as it is.
    pub transport: Option<String>,
}

/// What the runtime itself printed about a dump's goroutines: its own proof that they can
/// never run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeProof {
    /// `fatal error: all goroutines are asleep - deadlock!`: no goroutine can wake another.
    AllAsleep,
    /// A testing/synctest bubble ended (`… blocked goroutines remain`) or deadlocked with its
    /// goroutines durably blocked: nothing outside the bubble may wake them.
    BubbleBlocked,
}

impl RuntimeProof {
    /// The runtime's message, as reports quote it.
    pub fn message(self) -> &'static str {
        match self {
            RuntimeProof::AllAsleep => "fatal error: all goroutines are asleep - deadlock!",
            RuntimeProof::BubbleBlocked => {
                "deadlock: main bubble goroutine has exited but blocked goroutines remain"
            }
        }
    }
}

/// The goroutines of one program at one moment, grouped at the finest level.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub interner: Interner,
    pub groups: Vec<RawGroup>,
    pub sources: Vec<SourceInfo>,
    pub missing: Missing,
    /// Goroutines the leak profile proved leaked but no dump group matched.
    pub notes: Vec<String>,
    /// The runtime's own verdict printed with the dump, if any.
    pub proof: Option<RuntimeProof>,
}

impl Snapshot {
    pub fn total(&self) -> u64 {
        self.groups.iter().map(|g| g.stats.count).sum()
    }

    pub fn frames(&self, stack: StackId) -> impl Iterator<Item = &Frame> + '_ {
        self.interner
            .stack(stack)
            .iter()
            .map(|&f| self.interner.frame(f))
    }

    /// Adds every group of `other` (from its own interner) to this snapshot.
    pub fn absorb(&mut self, other: &Snapshot) {
        self.absorb_where(other, |_| true);
    }

    /// Adds the groups of `other` that `keep` accepts, and all of its sources and notes.
    pub fn absorb_where(&mut self, other: &Snapshot, keep: impl Fn(&RawGroup) -> bool) {
        let mut index: rustc_hash::FxHashMap<GroupKey, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.key, i))
            .collect();
        for group in other.groups.iter().filter(|g| keep(g)) {
            let key = self.import_key(&other.interner, &group.key);
            match index.get(&key) {
                Some(&i) => self.groups[i].stats.merge(&group.stats),
                None => {
                    index.insert(key, self.groups.len());
                    self.groups.push(RawGroup {
                        key,
                        stats: group.stats.clone(),
                    });
                }
            }
        }
        self.sources.extend(other.sources.iter().cloned());
        self.notes.extend(other.notes.iter().cloned());
        self.proof = self.proof.or(other.proof);
    }

    fn import_key(&mut self, other: &Interner, key: &GroupKey) -> GroupKey {
        let i = &mut self.interner;
        GroupKey {
            stack: i.import_stack(other, key.stack),
            state: key.state.map(|s| i.import_state(other, s)),
            creator: key.creator.map(|f| i.import_frame(other, f)),
            labels: i.import_labels(other, key.labels),
            ancestry: i.import_ancestry(other, key.ancestry),
            leaked: key.leaked,
            locked_to_thread: key.locked_to_thread,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sample_keeps_smallest_sorted_unique() {
        let mut stats = GroupStats::default();
        for id in [50, 3, 9, 3, 70, 1, 2, 8, 100, 4, 5] {
            stats.add_goroutine(Some(id), None, None);
        }
        assert_eq!(stats.ids, vec![1, 2, 3, 4, 5, 8, 9, 50]);
        assert_eq!(stats.count, 11);
    }

    #[test]
    fn wait_range_merges() {
        let mut a = GroupStats::default();
        a.add_goroutine(None, Some(5), None);
        let mut b = GroupStats::default();
        b.add_goroutine(None, Some(2), None);
        b.add_goroutine(None, Some(30), None);
        b.add_goroutine(None, None, None);
        a.merge(&b);
        assert_eq!(
            (a.wait_min, a.wait_max, a.with_wait, a.count),
            (Some(2), Some(30), 3, 4)
        );
    }

    #[test]
    fn absorb_reinterns_and_merges_equal_keys() {
        let mut one = Snapshot::default();
        let mut two = Snapshot::default();
        for snap in [&mut one, &mut two] {
            // Intern an unrelated frame first in one of them so ids differ between interners.
            let f = snap.interner.intern_frame(Frame {
                function: "main.worker".into(),
                file: "main.go".into(),
                line: 10,
            });
            let stack = snap.interner.intern_stack(&[f]);
            let state = snap.interner.intern_state("chan receive");
            let mut stats = GroupStats::default();
            stats.add_goroutine(Some(7), Some(3), Some(1));
            snap.groups.push(RawGroup {
                key: GroupKey {
                    stack,
                    state: Some(state),
                    creator: None,
                    labels: LabelsId(0),
                    ancestry: AncestryId(0),
                    leaked: false,
                    locked_to_thread: false,
                },
                stats,
            });
        }
        two.interner.intern_frame(Frame {
            function: "x".into(),
            file: "y".into(),
            line: 1,
        });
        one.absorb(&two);
        assert_eq!(one.groups.len(), 1);
        assert_eq!(one.total(), 2);
    }
}
