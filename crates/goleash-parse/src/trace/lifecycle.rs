//! Goroutine lifecycles: each generation's events replayed per M into goroutine states.

use goleash_model::{Frame, FrameId, Interner, StackId, StateId};
use rustc_hash::{FxHashMap, FxHashSet};

use super::wire::{ev, gstatus, Cursor, Version};
use super::Generation;

/// What a goroutine was doing at the end of the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoState {
    Runnable,
    Running,
    Syscall,
    Waiting,
}

/// Where and by whom a goroutine was created (seen only for goroutines created during the
/// trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creation {
    /// The creating goroutine's id (0 when the runtime created it outside any goroutine).
    pub parent: u64,
    /// The `go` statement: the top frame of the creator's stack.
    pub site: Option<FrameId>,
    /// The function the new goroutine starts in.
    pub start: Option<FrameId>,
    /// Ticks since the start of the trace.
    pub at: u64,
}

/// One goroutine alive at the end of the trace.
#[derive(Clone, Debug)]
pub struct Goroutine {
    pub id: u64,
    pub state: GoState,
    /// The runtime's blocking reason (`chan send`, `select`, `sync`, …) of its last block,
    /// when the trace saw it block.
    pub reason: Option<StateId>,
    /// Its stack at its last block, stop or status event.
    pub stack: Option<StackId>,
    pub created: Option<Creation>,
    /// For a waiting goroutine: how long it had been blocked at the end of the trace.
    pub blocked_ns: Option<u64>,
    /// It was waiting when the trace started (or when it was first seen), so `blocked_ns` is
    /// a lower bound.
    pub blocked_since_start: bool,
}

/// How many goroutines one creation site (the `go` statement and the function started)
/// created and how many of those ended during the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteCount {
    pub site: Option<FrameId>,
    pub start: Option<FrameId>,
    pub created: u64,
    pub ended: u64,
}

/// Everything read from one trace.
#[derive(Debug)]
pub struct Lifecycles {
    /// The `N` of `go 1.N trace`.
    pub version: u32,
    pub generations: u64,
    pub bytes: u64,
    /// Frames, stacks and blocking reasons.
    pub interner: Interner,
    /// Alive at the end, by id.
    pub goroutines: Vec<Goroutine>,
    /// Per creation site, most still alive first.
    pub sites: Vec<SiteCount>,
    /// Events seen, in all.
    pub events: u64,
    /// From the first to the last timestamp, in nanoseconds.
    pub duration_ns: u64,
    pub truncated: bool,
    pub notes: Vec<String>,
    /// With [`super::read_trace_tagged`]: the goroutines created during the trace, by tag.
    pub tags: Option<Tags>,
}

/// Goroutines named by what their creators logged (`runtime/trace.Log`) under one key: a
/// goroutine created by a goroutine whose last log under the key (since its previous `go`
/// statement) has value V is tagged V and is V's root; any other goroutine created during the
/// trace takes its creator's tag. `goleash test --trace` logs each test's name on the
/// goroutine that is about to start it, so every goroutine is tagged with the test that
/// (transitively) created it.
#[derive(Clone, Debug, Default)]
pub struct Tags {
    /// The tag of every tagged goroutine created during the trace, ended ones included.
    pub of: FxHashMap<u64, String>,
    /// Per tag, in the order its first goroutine was created (the order the tests started in).
    pub churn: Vec<TagChurn>,
}

/// How many goroutines the goroutines of one tag created during the trace (its roots, the
/// goroutines the logs named, not counted), how many of those ended and how many were alive
/// at its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagChurn {
    pub tag: String,
    pub created: u64,
    pub ended: u64,
    pub alive: u64,
}

/// What tagging needs, collected during the replay and resolved at the end (events of
/// different Ms are replayed one M at a time, so only timestamps order them).
struct TagTrack {
    key: Box<str>,
    /// (goroutine, timestamp, value); an empty value cancels the one before.
    logs: Vec<(u64, u64, Box<str>)>,
    /// (goroutine, creator, timestamp).
    creations: Vec<(u64, u64, u64)>,
    ended: FxHashSet<u64>,
}

impl TagTrack {
    fn resolve(mut self, alive: &FxHashMap<u64, G>) -> Tags {
        self.logs.sort_by_key(|l| l.1);
        self.creations.sort_by_key(|c| c.2);
        let mut pending: FxHashMap<u64, Box<str>> = FxHashMap::default();
        let mut of: FxHashMap<u64, String> = FxHashMap::default();
        let mut index: FxHashMap<String, usize> = FxHashMap::default();
        let mut churn: Vec<TagChurn> = Vec::new();
        let mut logs = self.logs.into_iter().peekable();
        for (child, parent, ts) in self.creations {
            // Logs up to this creation, a log and a creation at one tick in that order.
            while let Some((g, _, value)) = logs.next_if(|l| l.1 <= ts) {
                if value.is_empty() {
                    pending.remove(&g);
                } else {
                    pending.insert(g, value);
                }
            }
            let (tag, root) = match pending.remove(&parent) {
                Some(tag) => (String::from(tag), true),
                None => match of.get(&parent) {
                    Some(tag) => (tag.clone(), false),
                    None => continue,
                },
            };
            let i = *index.entry(tag.clone()).or_insert_with(|| {
                churn.push(TagChurn {
                    tag: tag.clone(),
                    created: 0,
                    ended: 0,
                    alive: 0,
                });
                churn.len() - 1
            });
            // A root is its tag's own goroutine (the test's), not one it started.
            if !root {
                churn[i].created += 1;
                if self.ended.contains(&child) {
                    churn[i].ended += 1;
                } else if alive.contains_key(&child) {
                    churn[i].alive += 1;
                }
            }
            of.insert(child, tag);
        }
        Tags { of, churn }
    }
}

#[derive(Clone, Debug)]
struct G {
    status: GoState,
    /// The timestamp of the last event that set `status`.
    last: u64,
    /// When it entered its current status.
    since: u64,
    since_start: bool,
    reason: Option<StateId>,
    stack: Option<StackId>,
    created: Option<Creation>,
    /// Index into `State::sites`, for a goroutine whose creation was seen.
    site: Option<usize>,
}

pub(crate) struct State {
    version: u32,
    pub(crate) generations: u64,
    pub(crate) truncated: bool,
    pub(crate) skipped_experimental: u64,
    notes: Vec<String>,
    interner: Interner,
    goroutines: FxHashMap<u64, G>,
    /// The goroutine each M was running at the end of the last generation.
    m_cur: FxHashMap<u64, u64>,
    sites: Vec<SiteCount>,
    site_index: FxHashMap<(Option<FrameId>, Option<FrameId>), usize>,
    first_ts: u64,
    last_ts: u64,
    /// Ticks per second, of the last generation.
    freq: u64,
    events: u64,
    tags: Option<TagTrack>,
}

/// The per-generation context of a replay: the tables to resolve ids against.
struct Tables<'a> {
    gen: &'a Generation,
    stack_cache: FxHashMap<u64, Option<StackId>>,
    frame_cache: FxHashMap<(u64, u64, u64), FrameId>,
    reason_cache: FxHashMap<u64, StateId>,
    /// Goroutines that ended in this generation, with when: events of other Ms replayed
    /// later must not bring them back.
    ended: FxHashMap<u64, u64>,
    /// Where the event being replayed starts, for errors.
    at: u64,
}

impl State {
    pub(crate) fn new(version: u32) -> State {
        State {
            version,
            generations: 0,
            truncated: false,
            skipped_experimental: 0,
            notes: Vec::new(),
            interner: Interner::default(),
            goroutines: FxHashMap::default(),
            m_cur: FxHashMap::default(),
            sites: Vec::new(),
            site_index: FxHashMap::default(),
            first_ts: 0,
            last_ts: 0,
            freq: 0,
            events: 0,
            tags: None,
        }
    }

    /// Tag goroutines by the values their creators log under `key` (see [`Tags`]).
    pub(crate) fn track_tags(&mut self, key: &str) {
        self.tags = Some(TagTrack {
            key: key.into(),
            logs: Vec::new(),
            creations: Vec::new(),
            ended: FxHashSet::default(),
        });
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Replays one complete generation.
    pub(crate) fn replay(
        &mut self,
        version: Version,
        mut gen: Generation,
    ) -> Result<(), (u64, String)> {
        self.generations += 1;
        self.freq = gen.freq;
        if self.first_ts == 0 || gen.min_time < self.first_ts {
            self.first_ts = gen.min_time;
        }
        let events = std::mem::take(&mut gen.events);
        let mut tables = Tables {
            gen: &gen,
            stack_cache: FxHashMap::default(),
            frame_cache: FxHashMap::default(),
            reason_cache: FxHashMap::default(),
            ended: FxHashMap::default(),
            at: 0,
        };
        // Batches per M, in time order (stable: the order written breaks ties).
        let mut order: Vec<u64> = Vec::new();
        let mut by_m: FxHashMap<u64, Vec<&super::Batch>> = FxHashMap::default();
        for b in &events {
            by_m.entry(b.m)
                .or_insert_with(|| {
                    order.push(b.m);
                    Vec::new()
                })
                .push(b);
        }
        // First pass: which goroutine each M runs at the start of the generation, from the
        // status events of running and syscall goroutines.
        let mut start_cur: FxHashMap<u64, (u64, u64)> = FxHashMap::default();
        for b in &events {
            let mut ts = b.time;
            walk(version, b, |typ, args, at| {
                ts = ts.wrapping_add(args[0]);
                if matches!(typ, ev::GO_STATUS | ev::GO_STATUS_STACK)
                    && matches!(args[3], gstatus::RUNNING | gstatus::SYSCALL)
                {
                    let e = start_cur.entry(args[2]).or_insert((ts, args[1]));
                    if ts < e.0 {
                        *e = (ts, args[1]);
                    }
                }
                let _ = at;
                Ok(())
            })?;
        }
        for (m, (_, g)) in start_cur {
            self.m_cur.insert(m, g);
        }
        for m in order {
            let mut batches = by_m.remove(&m).unwrap_or_default();
            batches.sort_by_key(|b| b.time);
            let mut cur = self.m_cur.get(&m).copied();
            for b in batches {
                let mut ts = b.time;
                walk(version, b, |typ, args, at| {
                    ts = ts.wrapping_add(args[0]);
                    tables.at = at;
                    self.events += 1;
                    self.last_ts = self.last_ts.max(ts);
                    self.event(&mut tables, &mut cur, typ, args, ts)
                })?;
            }
            match cur {
                Some(g) => self.m_cur.insert(m, g),
                None => self.m_cur.remove(&m),
            };
        }
        Ok(())
    }

    fn event(
        &mut self,
        t: &mut Tables<'_>,
        cur: &mut Option<u64>,
        typ: u8,
        a: &[u64],
        ts: u64,
    ) -> Result<(), (u64, String)> {
        match typ {
            ev::GO_CREATE | ev::GO_CREATE_BLOCKED => {
                let site_stack = self.stack(t, a[3])?;
                let start_stack = self.stack(t, a[2])?;
                let site = site_stack.and_then(|s| self.interner.stack(s).first().copied());
                let start = start_stack.and_then(|s| self.interner.stack(s).first().copied());
                let idx = *self.site_index.entry((site, start)).or_insert_with(|| {
                    self.sites.push(SiteCount {
                        site,
                        start,
                        created: 0,
                        ended: 0,
                    });
                    self.sites.len() - 1
                });
                self.sites[idx].created += 1;
                let status = if typ == ev::GO_CREATE {
                    GoState::Runnable
                } else {
                    GoState::Waiting
                };
                let creation = Creation {
                    parent: cur.unwrap_or(0),
                    site,
                    start,
                    at: ts.saturating_sub(self.first_ts),
                };
                let g = self.goroutines.entry(a[1]).or_insert(G {
                    status,
                    last: ts,
                    since: ts,
                    since_start: false,
                    reason: None,
                    stack: start_stack,
                    created: None,
                    site: None,
                });
                g.created = Some(creation);
                g.site = Some(idx);
                g.since_start = false;
                if g.last <= ts {
                    g.status = status;
                    g.last = ts;
                    g.since = ts;
                }
                if let Some(track) = &mut self.tags {
                    track.creations.push((a[1], cur.unwrap_or(0), ts));
                }
                if t.ended.contains_key(&a[1]) {
                    // Its end was replayed first (another M's batches).
                    self.end(a[1]);
                }
            }
            ev::GO_CREATE_SYSCALL => {
                self.set(t, a[1], ts, GoState::Syscall, None, None);
                *cur = Some(a[1]);
            }
            ev::GO_START => {
                self.set(t, a[1], ts, GoState::Running, None, None);
                *cur = Some(a[1]);
            }
            ev::GO_DESTROY | ev::GO_DESTROY_SYSCALL => {
                if let Some(g) = cur.take() {
                    t.ended.insert(g, ts);
                    self.end(g);
                }
            }
            ev::GO_STOP => {
                if let Some(g) = cur.take() {
                    let stack = self.stack(t, a[2])?;
                    self.set(t, g, ts, GoState::Runnable, None, stack);
                }
            }
            ev::GO_BLOCK => {
                if let Some(g) = cur.take() {
                    let stack = self.stack(t, a[2])?;
                    let reason = self.reason(t, a[1])?;
                    self.set(t, g, ts, GoState::Waiting, reason, stack);
                }
            }
            ev::GO_UNBLOCK => {
                self.set(t, a[1], ts, GoState::Runnable, None, None);
            }
            ev::GO_SYSCALL_BEGIN => {
                if let Some(g) = *cur {
                    let stack = self.stack(t, a[2])?;
                    self.set(t, g, ts, GoState::Syscall, None, stack);
                }
            }
            ev::GO_SYSCALL_END => {
                if let Some(g) = *cur {
                    self.set(t, g, ts, GoState::Running, None, None);
                }
            }
            ev::GO_SYSCALL_END_BLOCKED => {
                if let Some(g) = cur.take() {
                    self.set(t, g, ts, GoState::Runnable, None, None);
                }
            }
            ev::GO_STATUS | ev::GO_STATUS_STACK => {
                let status = match a[3] {
                    gstatus::RUNNABLE => GoState::Runnable,
                    gstatus::RUNNING => GoState::Running,
                    gstatus::SYSCALL => GoState::Syscall,
                    gstatus::WAITING => GoState::Waiting,
                    other => {
                        return Err((
                            t.at,
                            format!(
                                "goroutine status {other} for goroutine {}; expected 1 to 4",
                                a[1]
                            ),
                        ))
                    }
                };
                let stack = if typ == ev::GO_STATUS_STACK {
                    self.stack(t, a[4])?
                } else {
                    None
                };
                if t.ended.contains_key(&a[1]) {
                    return Ok(());
                }
                match self.goroutines.get_mut(&a[1]) {
                    Some(g) => {
                        // Known: a status only confirms it, except where the replay of
                        // another M's events missed a change.
                        if g.last <= ts && g.status != status {
                            g.status = status;
                            g.since = ts;
                            g.last = ts;
                            if status != GoState::Waiting {
                                g.reason = None;
                            }
                        }
                        if stack.is_some() && g.status == status {
                            g.stack = stack;
                        }
                    }
                    None => {
                        self.goroutines.insert(
                            a[1],
                            G {
                                status,
                                last: ts,
                                since: ts,
                                since_start: true,
                                reason: None,
                                stack,
                                created: None,
                                site: None,
                            },
                        );
                    }
                }
            }
            ev::GO_SWITCH | ev::GO_SWITCH_DESTROY => {
                if let Some(g) = cur.take() {
                    if typ == ev::GO_SWITCH {
                        let reason = Some(self.interner.intern_state("coroutine"));
                        self.set(t, g, ts, GoState::Waiting, reason, None);
                    } else {
                        t.ended.insert(g, ts);
                        self.end(g);
                    }
                }
                self.set(t, a[1], ts, GoState::Running, None, None);
                *cur = Some(a[1]);
            }
            ev::USER_LOG => {
                if let (Some(track), Some(g)) = (&mut self.tags, *cur) {
                    let key = t.gen.strings.get(&a[2]);
                    if key.is_some_and(|k| **k == *track.key) {
                        let value = t.gen.strings.get(&a[3]).cloned().unwrap_or_default();
                        track.logs.push((g, ts, value));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Moves goroutine `id` to `status` at `ts`, unless a later event already moved it.
    fn set(
        &mut self,
        t: &Tables<'_>,
        id: u64,
        ts: u64,
        status: GoState,
        reason: Option<StateId>,
        stack: Option<StackId>,
    ) {
        if t.ended.get(&id).is_some_and(|&end| ts <= end) {
            return;
        }
        let g = self.goroutines.entry(id).or_insert(G {
            status,
            last: ts,
            since: ts,
            since_start: false,
            reason: None,
            stack: None,
            created: None,
            site: None,
        });
        if g.last > ts {
            return;
        }
        if g.status != status || status == GoState::Waiting {
            g.since = ts;
        }
        g.status = status;
        g.last = ts;
        g.since_start = false;
        g.reason = reason;
        if stack.is_some() {
            g.stack = stack;
        }
    }

    fn end(&mut self, id: u64) {
        if let Some(track) = &mut self.tags {
            track.ended.insert(id);
        }
        if let Some(g) = self.goroutines.remove(&id) {
            if let Some(i) = g.site {
                self.sites[i].ended += 1;
            }
        }
    }

    /// The interned stack of stack id `id` of this generation; `None` for id 0.
    fn stack(&mut self, t: &mut Tables<'_>, id: u64) -> Result<Option<StackId>, (u64, String)> {
        if id == 0 {
            return Ok(None);
        }
        if let Some(&s) = t.stack_cache.get(&id) {
            return Ok(s);
        }
        let Some(raw) = t.gen.stacks.get(&id) else {
            return Err((
                t.at,
                format!(
                    "stack id {id}, which generation {}'s stack table lacks; expected a stack \
                     of the table",
                    t.gen.number
                ),
            ));
        };
        let mut frames = Vec::with_capacity(raw.len());
        for &(func, file, line) in raw.iter() {
            let key = (func, file, line);
            let frame = match t.frame_cache.get(&key) {
                Some(&f) => f,
                None => {
                    let name = |sid: u64| -> Result<Box<str>, (u64, String)> {
                        t.gen.strings.get(&sid).cloned().ok_or_else(|| {
                            (
                                t.at,
                                format!(
                                    "stack {id} names string {sid}, which generation {}'s string \
                                     table lacks",
                                    t.gen.number
                                ),
                            )
                        })
                    };
                    let f = self.interner.intern_frame(Frame {
                        function: name(func)?.into(),
                        file: name(file)?.into(),
                        line: u32::try_from(line).unwrap_or(u32::MAX),
                    });
                    t.frame_cache.insert(key, f);
                    f
                }
            };
            frames.push(frame);
        }
        let s = (!frames.is_empty()).then(|| self.interner.intern_stack(&frames));
        t.stack_cache.insert(id, s);
        Ok(s)
    }

    fn reason(&mut self, t: &mut Tables<'_>, id: u64) -> Result<Option<StateId>, (u64, String)> {
        if id == 0 {
            return Ok(None);
        }
        if let Some(&r) = t.reason_cache.get(&id) {
            return Ok(Some(r));
        }
        let Some(s) = t.gen.strings.get(&id) else {
            return Err((
                t.at,
                format!(
                    "reason string {id}, which generation {}'s string table lacks",
                    t.gen.number
                ),
            ));
        };
        let r = self.interner.intern_state(s);
        t.reason_cache.insert(id, r);
        Ok(Some(r))
    }

    pub(crate) fn finish(mut self, bytes: u64) -> Lifecycles {
        let tags = self
            .tags
            .take()
            .map(|track| track.resolve(&self.goroutines));
        let end = self.last_ts;
        let freq = self.freq.max(1);
        let ns = |ticks: u64| (u128::from(ticks) * 1_000_000_000 / u128::from(freq)) as u64;
        let mut goroutines: Vec<Goroutine> = self
            .goroutines
            .into_iter()
            .map(|(id, g)| Goroutine {
                id,
                state: g.status,
                reason: g.reason,
                stack: g.stack,
                created: g.created,
                blocked_ns: (g.status == GoState::Waiting).then(|| ns(end.saturating_sub(g.since))),
                blocked_since_start: g.status == GoState::Waiting && g.since_start,
            })
            .collect();
        goroutines.sort_by_key(|g| g.id);
        let mut sites = self.sites;
        sites.sort_by(|a, b| {
            (b.created - b.ended)
                .cmp(&(a.created - a.ended))
                .then(b.created.cmp(&a.created))
        });
        if self.skipped_experimental > 0 {
            self.notes.push(format!(
                "{} experimental batches skipped (runtime experiments goleash does not read)",
                self.skipped_experimental
            ));
        }
        Lifecycles {
            version: self.version,
            generations: self.generations,
            bytes,
            interner: self.interner,
            goroutines,
            sites,
            events: self.events,
            duration_ns: ns(end.saturating_sub(self.first_ts)),
            truncated: self.truncated,
            notes: self.notes,
            tags,
        }
    }
}

/// Calls `f(type, args, offset)` for every event of an event batch. `args[0]` is the
/// timestamp delta.
fn walk(
    version: Version,
    b: &super::Batch,
    mut f: impl FnMut(u8, &[u64], u64) -> Result<(), (u64, String)>,
) -> Result<(), (u64, String)> {
    let mut c = Cursor::new(&b.data, b.offset);
    let mut args = [0u64; 5];
    while !c.done() {
        let at = c.offset();
        let typ = c.byte("an event")?;
        let Some(n) = version.timed_args(typ) else {
            return Err((
                at,
                format!(
                    "event type {typ}, which the `go 1.{} trace` format has not; expected an \
                     event of an M's batch",
                    version.0
                ),
            ));
        };
        for arg in args.iter_mut().take(n) {
            *arg = c.uvarint("an event argument")?;
        }
        f(typ, &args[..n], at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tag_tests {
    use super::*;

    fn alive(ids: &[u64]) -> FxHashMap<u64, G> {
        ids.iter()
            .map(|&id| {
                let g = G {
                    status: GoState::Waiting,
                    last: 0,
                    since: 0,
                    since_start: false,
                    reason: None,
                    stack: None,
                    created: None,
                    site: None,
                };
                (id, g)
            })
            .collect()
    }

    /// Goroutine 1 runs the tests: it logs a name, then starts that test (2), which starts a
    /// helper (3) that starts a worker (4); it logs a name `-run` does not select (empty value
    /// after it) and starts an untagged goroutine (5); test 2 goes on after its own subtest (6)
    /// and starts 7, which is test 2's, not the subtest's.
    #[test]
    fn tags_follow_the_line_of_creators_from_the_logged_goroutine() {
        let track = TagTrack {
            key: "k".into(),
            logs: vec![
                (1, 10, "TestA".into()),
                (1, 30, "TestB".into()),
                (1, 31, "".into()),
                (2, 40, "TestA/sub".into()),
            ],
            // Out of order, as another M's batches replay them.
            creations: vec![
                (7, 2, 50),
                (2, 1, 11),
                (4, 3, 13),
                (3, 2, 12),
                (5, 1, 32),
                (6, 2, 41),
            ],
            ended: [3, 6].into_iter().collect(),
        };
        let tags = track.resolve(&alive(&[1, 2, 4, 5, 7]));
        let of = |id: u64| tags.of.get(&id).map(String::as_str);
        assert_eq!(of(2), Some("TestA"));
        assert_eq!(of(3), Some("TestA"));
        assert_eq!(of(4), Some("TestA"));
        assert_eq!(of(5), None, "an emptied log tags nothing");
        assert_eq!(of(6), Some("TestA/sub"));
        assert_eq!(of(7), Some("TestA"), "not the subtest's");
        let churn: Vec<(&str, u64, u64, u64)> = tags
            .churn
            .iter()
            .map(|c| (c.tag.as_str(), c.created, c.ended, c.alive))
            .collect();
        // The roots (2 and 6) are not counted as their own tests' goroutines.
        assert_eq!(churn, [("TestA", 3, 1, 2), ("TestA/sub", 0, 0, 0)]);
    }
}
