//! Groups raw groups at the level the user asked for and judges each group.

use std::collections::BTreeMap;
use std::sync::Arc;

use goleash_model::{Frame, FrameId, ProfileKind, RawGroup, Snapshot, SourceInfo, SAMPLE_IDS};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::classify::{classify, Category};
use crate::code::{is_cgo_stub, is_panic_frame, is_runtime_frame, is_user_function};
use crate::verdict::{judge, Facts, Verdict};
use crate::Config;

/// How coarsely goroutines are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Identical in everything: stack, state, creator, labels, ancestry.
    Exact,
    /// Same stack (runtime frames aside), wait kind, creator and leak mark; labels merged.
    #[default]
    Stack,
    /// Same blocking site, wait kind and creator function: stacks that differ only in how
    /// they reached the site merge.
    Site,
}

/// A frame as reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FrameView {
    /// Shared with the snapshot's interned frame: a view costs no copy of the text.
    pub function: Arc<str>,
    pub file: Arc<str>,
    pub line: u32,
    /// The user's code rather than the runtime's or the standard library's.
    pub user: bool,
}

/// One set of pprof labels.
pub type LabelSet = BTreeMap<String, String>;

/// The minutes range a group has been blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WaitRange {
    pub min: u32,
    pub max: u32,
}

/// A judged group of goroutines.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub count: u64,
    /// The wait reason as the dump printed it; `None` where the format has none.
    pub state: Option<String>,
    pub category: Category,
    /// The category was inferred from frames, the format having no wait reason.
    pub category_inferred: bool,
    pub verdict: Verdict,
    pub reason: String,
    pub hint: String,
    /// The first frame in the user's code: where the fix most likely goes.
    pub site: Option<FrameView>,
    /// The `go` statement that started the goroutines.
    pub creator: Option<FrameView>,
    pub wait_minutes: Option<WaitRange>,
    /// Goroutines of the group whose header had a wait time.
    pub with_wait: u64,
    pub labels: Vec<LabelSet>,
    /// The lowest goroutine ids of the group.
    pub goroutine_ids: Vec<u64>,
    /// Ids of goroutines that started members of the group.
    pub creator_ids: Vec<u64>,
    /// Leaf first, runtime frames left out.
    pub frames: Vec<FrameView>,
    /// Stacks of the goroutines that created the creator, nearest first
    /// (GODEBUG=tracebackancestors).
    pub ancestors: Vec<Vec<FrameView>>,
    pub leaked: bool,
    pub locked_to_thread: bool,
    pub elided: bool,
    /// `goleash lint` findings whose lines hold a frame of the group (`--source`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::evidence::StaticFinding>,
}

/// A whole snapshot, judged.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    pub total: u64,
    pub groups: Vec<Group>,
    pub sources: Vec<SourceInfo>,
    /// What the input formats could not say.
    pub missing: Vec<&'static str>,
    pub notes: Vec<String>,
    pub likely_after_minutes: u32,
    pub group_by: GroupBy,
}

impl Analysis {
    pub fn count_at_least(&self, verdict: Verdict) -> u64 {
        self.groups
            .iter()
            .filter(|g| g.verdict >= verdict)
            .map(|g| g.count)
            .sum()
    }

    pub fn groups_at_least(&self, verdict: Verdict) -> usize {
        self.groups.iter().filter(|g| g.verdict >= verdict).count()
    }
}

/// What decides whether two raw groups fall in one group at the chosen level.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Exact(usize),
    Stack {
        frames: Box<[FrameId]>,
        category: Category,
        creator: Option<FrameId>,
        leaked: bool,
    },
    Site {
        site: Option<FrameId>,
        category: Category,
        creator_function: Option<Arc<str>>,
        leaked: bool,
    },
}

struct Pending {
    raws: Vec<usize>,
    visible: Vec<FrameId>,
    /// How many visible frames precede the outermost panic: deferred code the panic ran.
    above_panic: usize,
    category: Category,
    inferred: bool,
}

/// Groups and judges every goroutine of a snapshot.
pub fn analyze(snapshot: &Snapshot, config: &Config) -> Analysis {
    let interner = &snapshot.interner;
    let user = |function: &str| is_user_function(function, &config.user_prefixes);
    // Asked once per distinct frame: groups share frames, and every group asks of each of
    // its frames for the view, the site and the verdict.
    let user_frames: Vec<bool> = interner.frames().map(|(_, f)| user(&f.function)).collect();
    let user_frame = |id: FrameId| user_frames[id.index()];
    let mut index: FxHashMap<Key, usize> = FxHashMap::default();
    let mut pending: Vec<Pending> = Vec::new();

    for (raw_index, raw) in snapshot.groups.iter().enumerate() {
        let stack = interner.stack(raw.key.stack);
        let visible = visible_frames(stack, |id| &interner.frame(id).function);
        let above_panic = frames_above_panic(stack, &visible, |id| &interner.frame(id).function);
        let state = raw.key.state.map(|s| interner.state(s));
        let (category, inferred) = classify(state, stack.iter().map(|&f| interner.frame(f)));
        let key = match config.group_by {
            GroupBy::Exact => Key::Exact(raw_index),
            GroupBy::Stack => Key::Stack {
                frames: visible.clone().into(),
                category,
                creator: raw.key.creator,
                leaked: raw.key.leaked,
            },
            GroupBy::Site => Key::Site {
                site: site_of(&visible, above_panic, |id| interner.frame(id), &user_frame),
                category,
                creator_function: raw
                    .key
                    .creator
                    .map(|c| Arc::clone(&interner.frame(c).function)),
                leaked: raw.key.leaked,
            },
        };
        match index.get(&key) {
            Some(&i) => pending[i].raws.push(raw_index),
            None => {
                index.insert(key, pending.len());
                pending.push(Pending {
                    raws: vec![raw_index],
                    visible,
                    above_panic,
                    category,
                    inferred,
                });
            }
        }
    }

    // A goroutineleak profile was merged, or the dump was taken after a leak GC.
    let leak_checked = snapshot
        .sources
        .iter()
        .any(|s| s.profile == ProfileKind::GoroutineLeak)
        || snapshot.groups.iter().any(|g| g.key.leaked);
    let mut groups: Vec<Group> = pending
        .into_iter()
        .map(|p| build_group(snapshot, config, &user, &user_frame, leak_checked, p))
        .collect();
    groups.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.count.cmp(&a.count))
            .then_with(|| site_sort_key(a).cmp(&site_sort_key(b)))
            .then_with(|| a.goroutine_ids.cmp(&b.goroutine_ids))
    });

    Analysis {
        total: snapshot.total(),
        groups,
        sources: snapshot.sources.clone(),
        missing: snapshot.missing.names(),
        notes: snapshot.notes.clone(),
        likely_after_minutes: config.likely_after_minutes,
        group_by: config.group_by,
    }
}

fn site_sort_key(g: &Group) -> (&str, &str, u32) {
    g.site
        .as_ref()
        .map_or(("", "", 0), |s| (&s.function, &s.file, s.line))
}

/// Leaves out frames of package runtime, which tracebacks hide and profiles keep, unless
/// nothing else is left.
fn visible_frames<'a>(stack: &[FrameId], function: impl Fn(FrameId) -> &'a str) -> Vec<FrameId> {
    let visible: Vec<FrameId> = stack
        .iter()
        .copied()
        .filter(|&f| !is_runtime_frame(function(f)))
        .collect();
    if visible.is_empty() {
        stack.to_vec()
    } else {
        visible
    }
}

/// The number of visible frames that come before the outermost panic frame of `stack`
/// (deferred functions and the code they call), or 0 without a panic.
fn frames_above_panic<'a>(
    stack: &[FrameId],
    visible: &[FrameId],
    function: impl Fn(FrameId) -> &'a str,
) -> usize {
    let Some(panic_at) = stack.iter().rposition(|&f| is_panic_frame(function(f))) else {
        return 0;
    };
    // Visible frames are the stack's non-runtime frames, in order.
    let count = stack[..panic_at]
        .iter()
        .filter(|&&f| !is_runtime_frame(function(f)))
        .count();
    // Everything visible is above the panic (a stack cut after it): keep the whole stack.
    if count >= visible.len() {
        0
    } else {
        count
    }
}

/// Where the fix most likely goes: the first user frame below any panic that is not a cgo
/// stub; without one, the goroutine's own function (the outermost frame).
fn site_of<'a>(
    visible: &[FrameId],
    above_panic: usize,
    frame: impl Fn(FrameId) -> &'a Frame,
    user_frame: &impl Fn(FrameId) -> bool,
) -> Option<FrameId> {
    let candidate = |f: &FrameId| {
        let frame = frame(*f);
        user_frame(*f) && !is_cgo_stub(&frame.function, &frame.file)
    };
    visible[above_panic.min(visible.len())..]
        .iter()
        .find(|f| candidate(f))
        .or_else(|| visible.iter().find(|f| candidate(f)))
        .or_else(|| visible.last())
        .copied()
}

fn view(frame: &Frame, user: bool) -> FrameView {
    FrameView {
        function: Arc::clone(&frame.function),
        file: Arc::clone(&frame.file),
        line: frame.line,
        user,
    }
}

fn build_group(
    snapshot: &Snapshot,
    config: &Config,
    user: &impl Fn(&str) -> bool,
    user_frame: &impl Fn(FrameId) -> bool,
    leak_checked: bool,
    pending: Pending,
) -> Group {
    let view_of = |id: FrameId| view(snapshot.interner.frame(id), user_frame(id));
    let interner = &snapshot.interner;
    let raws: Vec<&RawGroup> = pending.raws.iter().map(|&i| &snapshot.groups[i]).collect();
    let first = raws[0];

    let mut stats = first.stats.clone();
    for raw in &raws[1..] {
        stats.merge(&raw.stats);
    }
    let mut labels: Vec<LabelSet> = Vec::new();
    for raw in &raws {
        let set: LabelSet = interner
            .labels(raw.key.labels)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !set.is_empty() && !labels.contains(&set) && labels.len() < SAMPLE_IDS {
            labels.push(set);
        }
    }
    labels.sort();

    let frames: Vec<&Frame> = pending.visible.iter().map(|&f| interner.frame(f)).collect();
    let site = site_of(
        &pending.visible,
        pending.above_panic,
        |id| interner.frame(id),
        user_frame,
    );
    // Creators differ within a site-level group only by line; show the first.
    let creator_id = first.key.creator;
    let creator = creator_id.map(|c| interner.frame(c));
    let state = first.key.state.map(|s| interner.state(s).to_string());
    let leaked = raws.iter().any(|r| r.key.leaked);
    let ancestors: Vec<Vec<FrameView>> = interner
        .ancestry(first.key.ancestry)
        .map(|stack| interner.stack(stack).iter().map(|&f| view_of(f)).collect())
        .collect();
    let wait_minutes = match (stats.wait_min, stats.wait_max) {
        (Some(min), Some(max)) => Some(WaitRange { min, max }),
        _ => None,
    };

    let (verdict, reason) = judge(&Facts {
        category: pending.category,
        leaked,
        count: stats.count,
        wait_max: stats.wait_max,
        wait_times_missing: snapshot.missing.wait_times,
        leak_checked,
        proof: snapshot.proof,
        frames: &frames,
        creator,
        user,
        config,
    });

    Group {
        count: stats.count,
        state,
        category: pending.category,
        category_inferred: pending.inferred,
        verdict,
        reason,
        hint: pending.category.hint().to_string(),
        site: site.map(view_of),
        creator: creator_id.map(view_of),
        wait_minutes,
        with_wait: stats.with_wait,
        labels,
        goroutine_ids: stats.ids.clone(),
        creator_ids: stats.creator_ids.clone(),
        frames: pending.visible.iter().map(|&f| view_of(f)).collect(),
        ancestors,
        leaked,
        locked_to_thread: raws.iter().any(|r| r.key.locked_to_thread),
        elided: stats.elided,
        findings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use goleash_model::{AncestryId, GroupKey, GroupStats, LabelsId, RuntimeProof};

    use super::*;

    /// One goroutine of `state` blocked in `frames` (leaf first), created by `creator`.
    fn snapshot(
        state: &str,
        frames: &[(&str, &str)],
        creator: Option<&str>,
        proof: Option<RuntimeProof>,
    ) -> Snapshot {
        let mut snap = Snapshot::default();
        let frame = |snap: &mut Snapshot, function: &str, file: &str| {
            snap.interner.intern_frame(Frame {
                function: function.into(),
                file: file.into(),
                line: 7,
            })
        };
        let ids: Vec<FrameId> = frames
            .iter()
            .map(|(function, file)| frame(&mut snap, function, file))
            .collect();
        let creator = creator.map(|c| frame(&mut snap, c, "main.go"));
        let stack = snap.interner.intern_stack(&ids);
        let state = snap.interner.intern_state(state);
        let mut stats = GroupStats::default();
        stats.add_goroutine(Some(5), None, Some(1));
        snap.groups.push(RawGroup {
            key: GroupKey {
                stack,
                state: Some(state),
                creator,
                labels: LabelsId(0),
                ancestry: AncestryId(0),
                leaked: false,
                locked_to_thread: false,
            },
            stats,
        });
        snap.proof = proof;
        snap
    }

    fn only_group(snap: &Snapshot) -> Group {
        let analysis = analyze(snap, &Config::default());
        assert_eq!(analysis.groups.len(), 1);
        analysis.groups.into_iter().next().unwrap()
    }

    #[test]
    fn the_runtimes_deadlock_message_proves_every_blocked_goroutine() {
        let main_wait = [
            ("sync.(*WaitGroup).Wait", "sync/waitgroup.go"),
            ("main.main", "main.go"),
        ];
        // Without the message the main goroutine is a daemon by design.
        let plain = only_group(&snapshot("sync.WaitGroup.Wait", &main_wait, None, None));
        assert_eq!(plain.verdict, Verdict::Expected, "{}", plain.reason);
        let proven = only_group(&snapshot(
            "sync.WaitGroup.Wait",
            &main_wait,
            None,
            Some(RuntimeProof::AllAsleep),
        ));
        assert_eq!(proven.verdict, Verdict::Proven, "{}", proven.reason);
        assert!(proven.reason.contains("all goroutines are asleep"));
        // A running goroutine is not part of anybody's deadlock.
        let running = only_group(&snapshot(
            "running",
            &[("main.spin", "main.go")],
            Some("main.main"),
            Some(RuntimeProof::AllAsleep),
        ));
        assert_ne!(running.verdict, Verdict::Proven);
    }

    #[test]
    fn a_bubble_that_ended_with_goroutines_blocked_proves_them() {
        let bubbled = [("example.com/x.wait", "x_test.go")];
        let durable = "chan receive (durable)";
        let plain = only_group(&snapshot(durable, &bubbled, Some("example.com/x.T"), None));
        assert_eq!(plain.verdict, Verdict::Expected, "{}", plain.reason);
        let proven = only_group(&snapshot(
            durable,
            &bubbled,
            Some("example.com/x.T"),
            Some(RuntimeProof::BubbleBlocked),
        ));
        assert_eq!(proven.verdict, Verdict::Proven, "{}", proven.reason);
        // The bubble's message proves nothing about goroutines outside it.
        let outside = only_group(&snapshot(
            "chan receive",
            &bubbled,
            Some("example.com/x.T"),
            Some(RuntimeProof::BubbleBlocked),
        ));
        assert_ne!(outside.verdict, Verdict::Proven, "{}", outside.reason);
    }

    #[test]
    fn the_site_skips_deferred_code_above_a_panic_and_cgo_stubs() {
        let panicked = only_group(&snapshot(
            "running",
            &[
                ("example.com/x.recoverer", "x.go"),
                ("panic", "runtime/panic.go"),
                ("example.com/x.handler", "x.go"),
            ],
            None,
            None,
        ));
        assert_eq!(&*panicked.site.unwrap().function, "example.com/x.handler");
        let cgo = only_group(&snapshot(
            "syscall",
            &[
                ("main._Cfunc_read", "_cgo_gotypes.go"),
                ("main.reader", "main.go"),
            ],
            Some("main.main"),
            None,
        ));
        assert_eq!(&*cgo.site.unwrap().function, "main.reader");
    }
}
