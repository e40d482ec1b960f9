//! Lifecycles as a [`Snapshot`]: the goroutines alive at the end of the trace, grouped as a
//! debug=2 dump of that moment would group them, so `analyze`'s pipeline judges them.

use goleash_model::{
    DumpFormat, Frame, GroupKey, GroupStats, Missing, ProfileKind, RawGroup, Snapshot, SourceInfo,
    StackId,
};
use rustc_hash::FxHashMap;

use super::{GoState, Goroutine, Lifecycles, SiteCount};

/// How many creation sites the notes list.
const SITE_NOTES: usize = 12;

impl Lifecycles {
    /// The goroutines alive at the end of the trace as one snapshot (runtime-internal ones
    /// left out, as Go's dumps leave them out), with notes on creation sites: how many
    /// goroutines each created during the trace and how many of those ended.
    pub fn into_snapshot(self, name: &str) -> Snapshot {
        let Lifecycles {
            version,
            generations,
            bytes,
            mut interner,
            goroutines,
            sites,
            events,
            duration_ns,
            truncated: _,
            notes: reader_notes,
            tags: _,
        } = self;
        let labels = interner.intern_labels(Vec::new());
        let ancestry = interner.intern_ancestry(&[]);
        let mut groups: FxHashMap<GroupKey, GroupStats> = FxHashMap::default();
        let mut order: Vec<GroupKey> = Vec::new();
        let mut system = 0u64;
        let mut unseen = 0u64;
        for g in &goroutines {
            if g.stack.is_none() && g.created.is_none() {
                // Blocked since before the trace and never run in it, in a format whose
                // status events carry no stack (go 1.22): nothing to group it by.
                unseen += 1;
                continue;
            }
            let frames: Vec<&Frame> = g
                .stack
                .map(|s| {
                    interner
                        .stack(s)
                        .iter()
                        .map(|&f| interner.frame(f))
                        .collect()
                })
                .unwrap_or_default();
            let start = g.created.and_then(|c| c.start).map(|f| interner.frame(f));
            let outermost = frames.last().copied().or(start);
            if outermost.is_some_and(|f| is_system(&f.function)) {
                system += 1;
                continue;
            }
            let reason = g.reason.map(|r| interner.state(r).to_string());
            let state = dump_state(g.state, reason.as_deref(), &frames);
            let stack = match g.stack {
                Some(s) => s,
                None => fallback_stack(&mut interner, g),
            };
            let key = GroupKey {
                stack,
                state: Some(interner.intern_state(&state)),
                creator: g.created.and_then(|c| c.site),
                labels,
                ancestry,
                leaked: false,
                locked_to_thread: false,
            };
            let stats = groups.entry(key).or_insert_with(|| {
                order.push(key);
                GroupStats::default()
            });
            let minutes = g
                .blocked_ns
                .map(|ns| u32::try_from(ns / 60_000_000_000).unwrap_or(u32::MAX));
            stats.add_goroutine(Some(g.id), minutes, g.created.map(|c| c.parent));
        }
        let mut notes = reader_notes;
        notes.push(format!(
            "execution trace (`go 1.{version} trace` format): {generations} generation{}, \
             {events} events over {:.1}s; the goroutines alive at its end, as a dump of that \
             moment would show them{}",
            if generations == 1 { "" } else { "s" },
            duration_ns as f64 / 1e9,
            if system > 0 {
                format!(" ({system} runtime goroutines left out, as dumps leave them out)")
            } else {
                String::new()
            }
        ));
        if unseen > 0 {
            notes.push(format!(
                "{unseen} goroutines existed before the trace and never ran in it; this trace \
                 format (before go 1.23) records no stack for them, so they are not reported"
            ));
        }
        notes.extend(site_notes(&interner, &sites));
        Snapshot {
            groups: order
                .into_iter()
                .map(|key| RawGroup {
                    stats: groups.remove(&key).unwrap_or_default(),
                    key,
                })
                .collect(),
            interner,
            sources: vec![SourceInfo {
                name: name.to_string(),
                format: DumpFormat::ExecutionTrace,
                profile: ProfileKind::Goroutine,
                bytes,
                dumps: 1,
                skipped: Vec::new(),
                transport: None,
            }],
            missing: Missing::of(DumpFormat::ExecutionTrace),
            notes,
            proof: None,
        }
    }
}

/// The notes on creation sites: each user site that created goroutines during the trace,
/// with how many ended, most still alive first.
fn site_notes(interner: &goleash_model::Interner, sites: &[SiteCount]) -> Vec<String> {
    let user: Vec<&SiteCount> = sites
        .iter()
        .filter(|s| {
            let start = s.start.map(|f| interner.frame(f).function.as_ref());
            !start.is_some_and(is_system)
        })
        .collect();
    let mut notes: Vec<String> = user
        .iter()
        .take(SITE_NOTES)
        .map(|s| {
            let site = s.site.map_or("an unknown site".to_string(), |f| {
                let f = interner.frame(f);
                format!("{} ({}:{})", f.function, f.file, f.line)
            });
            let start = s.start.map_or(String::new(), |f| {
                format!(" running {}", interner.frame(f).function)
            });
            let alive = s.created - s.ended;
            let share = if s.created > 0 {
                alive as f64 * 100.0 / s.created as f64
            } else {
                0.0
            };
            format!(
                "created during the trace at {site}{start}: {} created, {} ended, {alive} still \
                 alive ({share:.1}%){}",
                s.created,
                s.ended,
                if alive == 0 && s.ended > 1 {
                    "; churn, not a leak"
                } else {
                    ""
                }
            )
        })
        .collect();
    if user.len() > SITE_NOTES {
        notes.push(format!(
            "{} more creation sites, each with fewer goroutines alive",
            user.len() - SITE_NOTES
        ));
    }
    notes
}

/// A goroutine the runtime itself runs (GC workers, the sweeper, the scavenger, the trace
/// reader): not in Go's dumps, not the program's.
fn is_system(function: &str) -> bool {
    (function.starts_with("runtime.") && function != "runtime.main")
        || function.starts_with("runtime/trace.")
}

/// For a goroutine the trace never saw stopped: the function it starts in.
fn fallback_stack(interner: &mut goleash_model::Interner, g: &Goroutine) -> StackId {
    let frame = match g.created.and_then(|c| c.start) {
        Some(f) => f,
        None => interner.intern_frame(Frame {
            function: "unknown".into(),
            file: "?".into(),
            line: 0,
        }),
    };
    interner.intern_stack(&[frame])
}

/// The wait reason a debug=2 dump would print for this goroutine: the runtime's trace
/// reasons are coarser (`sync` for every semaphore, `forever` for nil channels), so the
/// stack tells them apart as the dump's reason does.
pub(crate) fn dump_state(state: GoState, reason: Option<&str>, frames: &[&Frame]) -> String {
    match state {
        GoState::Runnable => return "runnable".into(),
        GoState::Running => return "running".into(),
        GoState::Syscall => return "syscall".into(),
        GoState::Waiting => {}
    }
    let forever = reason == Some("forever");
    for f in frames {
        let name = f.function.as_ref();
        let found = match name {
            "runtime.chansend1" | "runtime.chansend" | "runtime.selectnbsend" => Some(if forever {
                "chan send (nil chan)"
            } else {
                "chan send"
            }),
            "runtime.chanrecv1" | "runtime.chanrecv2" | "runtime.chanrecv" => Some(if forever {
                "chan receive (nil chan)"
            } else {
                "chan receive"
            }),
            "runtime.selectgo" => Some("select"),
            "runtime.block" => Some("select (no cases)"),
            "sync.(*WaitGroup).Wait" => Some("sync.WaitGroup.Wait"),
            "sync.(*Mutex).Lock" | "internal/sync.(*Mutex).Lock" => Some("sync.Mutex.Lock"),
            "sync.(*RWMutex).Lock" => Some("sync.RWMutex.Lock"),
            "sync.(*RWMutex).RLock" => Some("sync.RWMutex.RLock"),
            "sync.(*Cond).Wait" => Some("sync.Cond.Wait"),
            "internal/poll.runtime_pollWait" => Some("IO wait"),
            "time.Sleep" => Some("sleep"),
            _ => None,
        };
        if let Some(found) = found {
            return found.into();
        }
    }
    match reason {
        Some("network") => "IO wait".into(),
        Some("sync.(*Cond).Wait") => "sync.Cond.Wait".into(),
        Some("sync") => "semacquire".into(),
        Some("forever") => "select (no cases)".into(),
        Some(other) => other.into(),
        None => "waiting".into(),
    }
}
