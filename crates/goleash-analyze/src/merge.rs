//! Merges snapshots of one moment: a debug=2 dump and the goroutineleak profile taken with
//! it, so that the dump's rich groups carry the runtime's proof of leaking.

use goleash_model::{DumpFormat, ProfileKind, Snapshot};
use rustc_hash::FxHashMap;

use crate::code::is_runtime_frame;

/// Merges snapshots of one program at one moment. The richest goroutine snapshot (traceback
/// text before profiles) is the base; goroutineleak profiles mark its matching groups leaked;
/// further goroutine snapshots of the same moment add nothing and are noted.
pub fn merge_snapshots(mut snapshots: Vec<Snapshot>) -> Snapshot {
    if snapshots.len() <= 1 {
        return snapshots.pop().unwrap_or_default();
    }
    let is_leak = |s: &Snapshot| {
        s.sources
            .iter()
            .all(|src| src.profile == ProfileKind::GoroutineLeak)
            && !s.sources.is_empty()
    };
    let rank = |s: &Snapshot| match s.sources.first().map(|src| src.format) {
        Some(DumpFormat::Traceback) => 0,
        Some(DumpFormat::Proto) => 1,
        Some(DumpFormat::LegacyText) => 2,
        Some(DumpFormat::ExecutionTrace) => 3,
        None => 4,
    };
    let (mut leak, mut full): (Vec<Snapshot>, Vec<Snapshot>) =
        snapshots.into_iter().partition(|s| is_leak(s));
    full.sort_by_key(|s| rank(s));
    let mut base = if full.is_empty() {
        leak.remove(0)
    } else {
        full.remove(0)
    };
    for other in full {
        let names: Vec<&str> = other.sources.iter().map(|s| s.name.as_str()).collect();
        base.notes.push(format!(
            "{} is another goroutine snapshot; its groups were not added (the richer input {} was used)",
            names.join(", "),
            base.sources.first().map_or("", |s| s.name.as_str())
        ));
        base.sources.extend(other.sources);
    }
    for profile in leak {
        mark_leaked(&mut base, &profile);
    }
    base
}

/// A stack as function/file/line triples without runtime frames, comparable across formats.
fn comparable(snapshot: &Snapshot, stack: goleash_model::StackId) -> Vec<(&str, &str, u32)> {
    snapshot
        .frames(stack)
        .filter(|f| !is_runtime_frame(&f.function))
        .map(|f| (&*f.function, &*f.file, f.line))
        .collect()
}

/// Gives a dump that holds only part of the goroutines (Go's debug=2 stops at 64 MiB) the
/// counts of a goroutine profile of the same moment, so that totals are the profile's: each
/// stack gets the profile's count, the goroutines the dump lacks joining the largest dump group
/// of that stack (the dump's details stand for them); stacks the dump never reached are added
/// from the profile, and dump stacks the profile lacks (the goroutine writing the dump, one
/// that came or went between the two requests) are dropped. Returns the dump's and the
/// profile's totals.
pub fn fill_counts_from_profile(base: &mut Snapshot, profile: &Snapshot) -> (u64, u64) {
    let dumped = base.total();
    let mut by_stack: FxHashMap<Vec<(String, String, u32)>, Vec<usize>> = FxHashMap::default();
    for (i, group) in base.groups.iter().enumerate() {
        by_stack
            .entry(owned(comparable(base, group.key.stack)))
            .or_default()
            .push(i);
    }
    // The profile splits one stack by labels; the dump's groups are matched to its sum.
    let mut wanted: FxHashMap<Vec<(String, String, u32)>, u64> = FxHashMap::default();
    for group in &profile.groups {
        *wanted
            .entry(owned(comparable(profile, group.key.stack)))
            .or_default() += group.stats.count;
    }
    let mut counted = vec![false; base.groups.len()];
    let mut unmatched = rustc_hash::FxHashSet::default();
    for group in &profile.groups {
        if !by_stack.contains_key(&owned(comparable(profile, group.key.stack))) {
            unmatched.insert(group.key.stack);
        }
    }
    for (key, want) in wanted {
        let Some(indexes) = by_stack.get(&key) else {
            continue;
        };
        let mut indexes = indexes.clone();
        // Largest first: it takes the goroutines the dump lacks, or gives up the surplus.
        indexes.sort_by_key(|&i| std::cmp::Reverse(base.groups[i].stats.count));
        let have: u64 = indexes.iter().map(|&i| base.groups[i].stats.count).sum();
        if have < want {
            base.groups[indexes[0]].stats.count += want - have;
        } else {
            let mut surplus = have - want;
            for &i in indexes.iter().rev() {
                let take = surplus.min(base.groups[i].stats.count);
                base.groups[i].stats.count -= take;
                surplus -= take;
            }
        }
        for &i in &indexes {
            counted[i] = true;
        }
    }
    let mut keep = counted.into_iter();
    base.groups
        .retain(|g| keep.next().unwrap_or(false) && g.stats.count > 0);
    let notes = base.notes.clone();
    base.absorb_where(profile, |g| unmatched.contains(&g.key.stack));
    // The profile's counts are used, not its notes ("has no wait times": the dump has them).
    base.notes = notes;
    (dumped, profile.total())
}

fn owned(stack: Vec<(&str, &str, u32)>) -> Vec<(String, String, u32)> {
    stack
        .into_iter()
        .map(|(f, file, l)| (f.to_string(), file.to_string(), l))
        .collect()
}

fn mark_leaked(base: &mut Snapshot, profile: &Snapshot) {
    let mut by_stack: FxHashMap<Vec<(String, String, u32)>, Vec<usize>> = FxHashMap::default();
    for (i, group) in base.groups.iter().enumerate() {
        let key = comparable(base, group.key.stack)
            .into_iter()
            .map(|(f, file, l)| (f.to_string(), file.to_string(), l))
            .collect();
        by_stack.entry(key).or_default().push(i);
    }
    let mut unmatched = 0u64;
    // Stacks the dump holds fewer goroutines of than the leak profile (taken at different
    // moments), and more of (some goroutines of the stack are still reachable, not leaked).
    let (mut fewer, mut more) = (0u64, 0u64);
    let mut unmatched_stacks = rustc_hash::FxHashSet::default();
    // The profile splits one stack by labels (goleash test labels each test's goroutines):
    // the dump's goroutines of a stack are compared with the profile's sum for it.
    let mut proven: FxHashMap<Vec<(String, String, u32)>, u64> = FxHashMap::default();
    for group in &profile.groups {
        let key: Vec<(String, String, u32)> = comparable(profile, group.key.stack)
            .into_iter()
            .map(|(f, file, l)| (f.to_string(), file.to_string(), l))
            .collect();
        match by_stack.get(&key) {
            Some(indexes) => {
                for &i in indexes {
                    base.groups[i].key.leaked = true;
                }
                *proven.entry(key).or_default() += group.stats.count;
            }
            None => {
                unmatched += group.stats.count;
                unmatched_stacks.insert(group.key.stack);
            }
        }
    }
    for (key, count) in proven {
        let dumped: u64 = by_stack[&key]
            .iter()
            .map(|&i| base.groups[i].stats.count)
            .sum();
        fewer += u64::from(dumped < count);
        more += u64::from(dumped > count);
    }
    if fewer > 0 {
        base.notes.push(format!(
            "{fewer} leaked stack(s) have fewer goroutines in the dump than in the leak profile: they were taken at different moments"
        ));
    }
    if more > 0 {
        base.notes.push(format!(
            "{more} leaked stack(s) have more goroutines in the dump than the leak profile proved leaked: the others of that stack are still reachable (the group is marked leaked as a whole)"
        ));
    }
    if unmatched > 0 {
        base.notes.push(format!(
            "{unmatched} leaked goroutine(s) in the leak profile match no stack of the dump; they are shown from the profile alone"
        ));
    }
    base.absorb_where(profile, |g| unmatched_stacks.contains(&g.key.stack));
}
