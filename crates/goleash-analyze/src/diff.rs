//! Growth between two snapshots, per group, like `go tool pprof -base` but on judged groups.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::group::{Analysis, Group};
use crate::verdict::Verdict;

/// How a group changed between the base and the current snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Grew,
    Same,
    Shrank,
    Vanished,
}

/// One group's counts in both snapshots.
#[derive(Clone, Debug, Serialize)]
pub struct DiffGroup {
    pub change: Change,
    pub base_count: u64,
    pub current_count: u64,
    pub delta: i64,
    /// The group as judged in the current snapshot (the base's when it vanished).
    pub group: Group,
}

#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub base_total: u64,
    pub current_total: u64,
    pub delta: i64,
    pub groups: Vec<DiffGroup>,
    pub notes: Vec<String>,
}

impl Diff {
    /// Goroutines added by groups at or above `verdict` that grew or are new.
    pub fn growth_at_least(&self, verdict: Verdict) -> u64 {
        self.groups
            .iter()
            .filter(|g| g.delta > 0 && g.group.verdict >= verdict)
            .map(|g| g.delta as u64)
            .sum()
    }
}

/// Stacks are matched by their frames only (runtime frames are already left out of
/// `Group::frames`), so a debug=2 dump diffs against a protobuf profile.
type StackKey<'a> = Vec<(&'a str, &'a str, u32)>;
type Counts<'a> = FxHashMap<StackKey<'a>, (u64, &'a Group)>;

fn key(group: &Group) -> StackKey<'_> {
    group
        .frames
        .iter()
        .map(|f| (&*f.function, &*f.file, f.line))
        .collect()
}

pub fn diff(base: &Analysis, current: &Analysis) -> Diff {
    let mut base_counts: Counts<'_> = FxHashMap::default();
    for group in &base.groups {
        let entry = base_counts.entry(key(group)).or_insert((0, group));
        entry.0 += group.count;
    }
    let mut current_counts: Counts<'_> = FxHashMap::default();
    let mut order = Vec::new();
    for group in &current.groups {
        let k = key(group);
        let entry = current_counts.entry(k.clone()).or_insert_with(|| {
            order.push(k);
            (0, group)
        });
        entry.0 += group.count;
    }
    let mut groups = Vec::new();
    for k in &order {
        let (current_count, group) = current_counts[k];
        let base_count = base_counts.get(k).map_or(0, |(c, _)| *c);
        let delta = current_count as i64 - base_count as i64;
        let change = if base_count == 0 {
            Change::New
        } else if delta > 0 {
            Change::Grew
        } else if delta < 0 {
            Change::Shrank
        } else {
            Change::Same
        };
        groups.push(DiffGroup {
            change,
            base_count,
            current_count,
            delta,
            group: group.clone(),
        });
    }
    for group in &base.groups {
        let k = key(group);
        if current_counts.contains_key(&k) {
            continue;
        }
        if let Some((count, _)) = base_counts.remove(&k) {
            groups.push(DiffGroup {
                change: Change::Vanished,
                base_count: count,
                current_count: 0,
                delta: -(count as i64),
                group: group.clone(),
            });
        }
    }
    groups.sort_by(|a, b| {
        b.delta
            .cmp(&a.delta)
            .then(b.group.verdict.cmp(&a.group.verdict))
            .then(b.current_count.cmp(&a.current_count))
    });
    let mut notes = Vec::new();
    for (side, analysis) in [("base", base), ("current", current)] {
        if !analysis.missing.is_empty() {
            notes.push(format!(
                "the {side} input has no {}",
                analysis.missing.join(", ")
            ));
        }
    }
    // What each input said about itself (a trace's generations and creation sites, a trace
    // cut short, which of several dumps was used), after what the two lack.
    for (side, analysis) in [("base", base), ("current", current)] {
        for note in &analysis.notes {
            notes.push(format!("the {side} input: {note}"));
        }
    }
    Diff {
        base_total: base.total,
        current_total: current.total,
        delta: current.total as i64 - base.total as i64,
        groups,
        notes,
    }
}
