//! The watch loop: every interval, queue one scrape per target on the worker pool, fold the
//! results into the state and the history as they arrive, re-judge trends, report.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alert::{self, Tracker, Webhook};
use crate::clock::now_ms;
use crate::pool::{Done, Event, Job, Pool};
use crate::scrape::{GroupInfo, Plan, ScrapeOptions, Text};
use crate::state::{SloRule, State, TargetState};
use crate::store::{Store, StoreError};
use crate::targets::{stable_hash, Target};
use crate::trend::TrendParams;
use crate::ui::{self, Display};

/// Everything `goleash watch` was asked to do.
pub struct WatchConfig {
    pub targets: Vec<Target>,
    pub interval: Duration,
    /// Stop after this many rounds (batch mode); `None` runs until killed.
    pub rounds: Option<u64>,
    pub concurrency: usize,
    pub scrape: ScrapeOptions,
    pub trend: TrendParams,
    pub window: Duration,
    pub db: Option<PathBuf>,
    pub retention: Duration,
    pub slo: Option<SloRule>,
    /// Every URL gets every alert (an Alertmanager HA pair takes both of its members).
    pub webhooks: Vec<String>,
    /// Prometheus remote-write receiver for the watcher's series (`--remote-write`).
    pub remote_write: Option<String>,
    /// Firing alerts are POSTed again this often (Alertmanager wants them re-sent while
    /// they fire), and each says it holds for four times as long (`endsAt`).
    pub webhook_resend: Duration,
    pub listen: Option<SocketAddr>,
    pub display: Display,
    pub color: bool,
    /// Writes the table, /metrics and the dashboard (goleash-report's writer).
    pub render: Arc<dyn crate::render::Render>,
    /// The per-target report page the dashboard links to, when the binary offers one.
    pub target_page: Option<crate::render::TargetPage>,
    /// How to read the target list again while watching (continuous runs only).
    pub reload: Option<crate::reload::Reload>,
}

/// How a batch run ended.
pub struct Outcome {
    pub rounds: u64,
    /// Suspect groups and SLO alerts firing at the end.
    pub alerts: usize,
    /// Every scrape of every target failed.
    pub all_failed: bool,
    pub report: crate::report::WatchReport,
    pub schedule: ScheduleStats,
}

/// How the schedule held up over a run.
#[derive(Clone, Debug, Default)]
pub struct ScheduleStats {
    /// Complete cycles (one --interval: every target's slot k).
    pub cycles: u64,
    /// Scrapes made.
    pub scrapes: u64,
    /// Slots missed because the target's previous scrape was still running.
    pub missed: u64,
    /// Cycles with a missed slot.
    pub overrun_cycles: u64,
    /// From a cycle's start until its last scrape was done: the longest and the sum, over
    /// the cycles in which some scrape was made.
    pub cycle_max_s: f64,
    pub cycle_sum_s: f64,
    pub timed_cycles: u64,
    /// Missed slots in the last overrun cycle (a note is printed when it changes).
    last_missed: usize,
    /// The longest from a slot's due time to its scrape's start (a late dispatch, or no free
    /// worker).
    pub wait_max_s: f64,
}

impl ScheduleStats {
    /// The same figures for the JSON report.
    pub fn report(&self, interval: Duration) -> crate::report::ScheduleReport {
        let timed = (self.timed_cycles > 0).then_some(self.timed_cycles as f64);
        let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
        crate::report::ScheduleReport {
            interval_s: interval.as_secs_f64(),
            cycles: self.cycles,
            scrapes: self.scrapes,
            missed_slots: self.missed,
            overrun_cycles: self.overrun_cycles,
            cycle_seconds_mean: timed.map(|n| round3(self.cycle_sum_s / n)),
            cycle_seconds_max: timed.map(|_| round3(self.cycle_max_s)),
            wait_seconds_max: round3(self.wait_max_s),
        }
    }

    /// One line for the end of a batch run.
    pub fn summary(&self, interval: Duration) -> String {
        let mean = if self.timed_cycles > 0 {
            self.cycle_sum_s / self.timed_cycles as f64
        } else {
            0.0
        };
        format!(
            "{} cycle(s) of {:?}: {} scrape(s), {} missed slot(s), {} cycle(s) overrun; cycle duration mean {:.2}s, max {:.2}s; longest delay from a slot's due time to its scrape's start {:.3}s",
            self.cycles,
            interval,
            self.scrapes,
            self.missed,
            self.overrun_cycles,
            mean,
            self.cycle_max_s,
            self.wait_max_s
        )
    }
}

pub fn run(mut config: WatchConfig) -> Result<Outcome, String> {
    if config.targets.is_empty() {
        return Err("no targets to watch (after --shard)".into());
    }
    // A batch run is one fixed list: its rounds count slots of the targets it started with.
    let mut reload = match config.rounds {
        None => config.reload.take().map(crate::reload::Watcher::new),
        Some(_) => None,
    };
    let window_ms = i64::try_from(config.window.as_millis()).unwrap_or(i64::MAX);
    let interval_ms = i64::try_from(config.interval.as_millis()).unwrap_or(i64::MAX);
    let mut store = match &config.db {
        Some(path) => Some(Store::open(path).map_err(|e| e.0)?),
        None => None,
    };
    let mut targets: Vec<TargetState> = config
        .targets
        .iter()
        .map(|t| TargetState::new(Arc::new(t.clone())))
        .collect();
    // Every stack ever seen, described once. Bounded by the code of the watched services,
    // not by time or load: a stack is a place in the code.
    let mut infos: rustc_hash::FxHashMap<u64, Arc<GroupInfo>> = rustc_hash::FxHashMap::default();
    if let Some(store) = store.as_mut() {
        resume(store, &mut targets, window_ms, &config, &mut infos).map_err(|e| e.0)?;
    }
    let state = Arc::new(Mutex::new(State {
        targets,
        round: 0,
        started_ms: now_ms(),
        interval_ms,
        window_ms,
        db_bytes: store.as_ref().map_or(0, Store::bytes),
        slo: config.slo,
        ..State::default()
    }));
    let generator = match config.listen {
        Some(addr) => {
            let bound = crate::serve::start(
                addr,
                Arc::clone(&state),
                Arc::clone(&config.render),
                config.target_page.clone(),
            )?;
            config.display.note(&format!(
                "serving /metrics and the dashboard on http://{bound}/"
            ));
            format!("http://{bound}/")
        }
        // Alertmanager validates generatorURL as a URI and refuses the whole batch (HTTP
        // 422) for a bare name: without a dashboard to link to, there is none.
        None => String::new(),
    };
    let webhooks: Vec<Webhook> = config
        .webhooks
        .iter()
        .map(|url| Webhook::start(url.clone(), Duration::from_secs(10), Arc::clone(&state)))
        .collect();
    // A firing alert holds for four resends (or four rounds, when rounds are further apart),
    // as Prometheus does: a lost POST or two do not resolve it, a dead watcher's alerts do
    // resolve, and Alertmanager's resolve_timeout never decides.
    let resend = config.webhook_resend.max(config.interval);
    let hold_ms = i64::try_from(resend.as_millis() * 4).unwrap_or(i64::MAX);
    let scrape_options = Arc::new(config.scrape.clone());
    // A list that can grow gets every worker asked for; a fixed one no more than it has
    // targets.
    let concurrency = match reload {
        Some(_) => config.concurrency.max(1),
        None => config.concurrency.clamp(1, config.targets.len()),
    };
    let pool = Pool::new(concurrency, Arc::clone(&scrape_options));
    if pool.workers() == 0 {
        return Err("cannot start any scrape worker thread".into());
    }
    let remote = config.remote_write.as_ref().map(|url| {
        crate::remote_write::RemoteWrite::start(url.clone(), Duration::from_secs(10), REMOTE_QUEUE)
    });
    let mut house = Housekeeping {
        tracker: Tracker::default(),
        webhooks,
        remote,
        last_send: None,
        resend,
        hold_ms,
        generator,
        last_prune: Instant::now() - Duration::from_secs(3600),
    };
    let mut heartbeat = ui::Heartbeat::new(&config.display);
    let mut any_ok = false;
    let started = Instant::now();
    let n = config.targets.len();
    let t0 = Instant::now();
    let interval = config.interval;
    // Each target on its own schedule: slot k of target i is due at t0 + offset(i) + k ·
    // interval. The offsets stagger the targets over the interval (target i in the i-th
    // n-th of it, jittered within that share by a hash of its URL, so it is stable across
    // restarts and shards); a one-shot run scrapes everything at once.
    let mut sched: Vec<Sched> = config
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let offset = if config.rounds == Some(1) {
                Duration::ZERO
            } else {
                interval.mul_f64((i as f64 + jitter(t)) / n as f64)
            };
            Sched::new(offset, agent_for(&config))
        })
        .collect();
    let mut by_url: rustc_hash::FxHashMap<String, usize> = config
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.url.clone(), i))
        .collect();
    let due_of = |sc: &Sched, slot: u64| {
        t0 + sc.offset + interval.saturating_mul(u32::try_from(slot).unwrap_or(u32::MAX))
    };
    let last_slot = config.rounds;
    let mut queue: Queue = sched
        .iter()
        .enumerate()
        .map(|(i, sc)| Reverse((due_of(sc, 0), i, sc.generation)))
        .collect();
    // Every cycle before this one is accounted for: a target added later starts after it.
    let mut closed: u64 = 0;
    let mut cycles: BTreeMap<u64, Cycle> = BTreeMap::new();
    let mut next_tick = t0 + interval;
    let mut last_beat = Instant::now() - Duration::from_secs(1);
    let mut stats = ScheduleStats::default();
    // Scrapes queued or running.
    let mut in_flight: usize = 0;
    loop {
        let now = Instant::now();
        // Dispatch every scrape that is due; a target still busy misses its slot.
        while let Some(&Reverse((due, i, generation))) = queue.peek() {
            if due > now {
                break;
            }
            queue.pop();
            let sc = &mut sched[i];
            let slot = sc.next_slot;
            // An entry from before the target was dropped (and maybe added back) is stale.
            if sc.retired
                || sc.generation != generation
                || last_slot.is_some_and(|last| slot >= last)
            {
                continue;
            }
            let want = due_of(sc, slot);
            if want > due {
                // Backing off: moved later since it was queued.
                queue.push(Reverse((want, i, generation)));
                continue;
            }
            sc.next_slot = slot + 1;
            let cycle = cycles.entry(slot).or_default();
            if sc.in_flight || sc.draining > 0 {
                cycle.missed += 1;
                stats.missed += 1;
                lock(&state).targets[i].missed += 1;
            } else {
                let job = {
                    let s = lock(&state);
                    let t = &s.targets[i];
                    Job {
                        index: i,
                        target: Arc::clone(&t.target),
                        agent: sc.agent.clone(),
                        slot,
                        plan: Plan {
                            full: crate::scrape::full_round(slot, i, config.scrape.full_every),
                            leak_profile: t.leak_profile && slot >= t.leak_resume_slot,
                            text_bytes_per_goroutine: t.text_bytes_per_goroutine,
                        },
                        // From its due time: the wait counts a late dispatch too.
                        queued: want,
                    }
                };
                if !pool.submit(job) {
                    return Err("the scrape workers stopped".into());
                }
                sc.in_flight = true;
                in_flight += 1;
                cycle.pending += 1;
            }
            if last_slot.is_none_or(|last| sc.next_slot < last) {
                queue.push(Reverse((due_of(sc, sc.next_slot), i, generation)));
            }
        }
        if last_slot.is_some() && queue.is_empty() && in_flight == 0 {
            break;
        }
        // Wait for results until the next due scrape or the next cycle's end.
        let mut wake = next_tick;
        if let Some(&Reverse((due, _, _))) = queue.peek() {
            wake = wake.min(due);
        }
        if heartbeat_live(&config.display) {
            wake = wake.min(Instant::now() + Duration::from_millis(100));
        }
        if let Some(r) = &reload {
            wake = wake.min(Instant::now() + r.poll_interval());
        }
        let until_wake = wake.saturating_duration_since(Instant::now());
        let mut event = if in_flight > 0 && until_wake <= COALESCE {
            // Busy: a scrape is due within milliseconds anyway. Sleeping until then and taking
            // every result that came in meanwhile wakes this thread once instead of once per
            // result (a context switch each, a tenth of the engine's CPU at 100 scrapes/s).
            std::thread::sleep(until_wake);
            pool.events.try_recv().ok()
        } else {
            pool.events.recv_timeout(until_wake).ok()
        };
        while let Some(ev) = event {
            match ev {
                Event::Released(i, answered) => {
                    // May come before the scrape's own result (the answer arrived right after
                    // the worker stopped waiting): then the count goes to -1 and back to 0.
                    sched[i].draining -= 1;
                    let mut s = lock(&state);
                    let t = &mut s.targets[i];
                    if t.leak_resume_slot == u64::MAX {
                        t.leak_resume_slot = sched[i].next_slot + leak_skip(t.leak_overruns);
                        if !answered {
                            // Still not done after minutes (a leak GC over 5·10⁵ goroutines
                            // took longer than 13): asking again would only queue another.
                            t.leak_profile = false;
                            t.notes.push(format!(
                                "/debug/pprof/goroutineleak did not finish within {:?}; not requested from this target again (restart the watcher to retry)",
                                crate::scrape::heavy_limit(config.scrape.timeout)
                            ));
                        }
                    }
                }
                Event::Done(done) => {
                    let sc = &mut sched[done.index];
                    sc.in_flight = false;
                    in_flight -= 1;
                    sc.draining += i32::from(done.still_running);
                    if let Some(c) = cycles.get_mut(&done.slot) {
                        c.pending = c.pending.saturating_sub(1);
                        c.last_end = c.last_end.max(Some(Instant::now()));
                    }
                    any_ok |= done.result.is_ok();
                    stats.scrapes += 1;
                    stats.wait_max_s = stats.wait_max_s.max(done.waited.as_secs_f64());
                    // Dropped by a reload while it ran: nothing to fold it into.
                    let backoff = (!sc.retired)
                        .then(|| {
                            apply(
                                &done,
                                &state,
                                &mut store,
                                &mut infos,
                                &config,
                                interval_ms,
                                window_ms,
                            )
                        })
                        .flatten();
                    if let Some(slot) = backoff {
                        sc.next_slot = sc.next_slot.max(slot);
                    }
                    if done.leak_overrun && sc.draining <= 0 && !sc.retired {
                        // Already released before this result came in.
                        let mut s = lock(&state);
                        let t = &mut s.targets[done.index];
                        if t.leak_resume_slot == u64::MAX {
                            t.leak_resume_slot = sc.next_slot + leak_skip(t.leak_overruns);
                        }
                    }
                }
            }
            event = pool.events.try_recv().ok();
        }
        let now = Instant::now();
        if now >= next_tick {
            while next_tick <= now {
                next_tick += interval;
            }
            // A cycle is complete once every target is past its slot in it (a slot due
            // just before the tick may not be dispatched yet when the tick is handled);
            // with no target left, once its time is over.
            let now_slot =
                (now.saturating_duration_since(t0).as_nanos() / interval.as_nanos().max(1)) as u64;
            closed = closed.max(
                sched
                    .iter()
                    .filter(|sc| !sc.retired)
                    .map(|sc| sc.next_slot)
                    .min()
                    .unwrap_or(now_slot),
            );
            finish_cycles(
                &mut cycles,
                closed,
                t0,
                interval,
                &state,
                &config.display,
                &mut stats,
            );
            house.round(&state, &mut store, &config);
        }
        if let Some(cause) = reload.as_mut().and_then(crate::reload::Watcher::due) {
            let read = reload.as_mut().map(crate::reload::Watcher::read);
            match read {
                Some(Ok(list)) => {
                    let change = {
                        let mut roster = Roster {
                            sched: &mut sched,
                            by_url: &mut by_url,
                            queue: &mut queue,
                            state: &state,
                            store: &mut store,
                            infos: &mut infos,
                            config: &config,
                        };
                        roster.replace(
                            list,
                            |sc| {
                                // The first slot still ahead, and not in a cycle already closed.
                                let ahead =
                                    Instant::now().saturating_duration_since(t0 + sc.offset);
                                let k = ahead.as_nanos().div_ceil(interval.as_nanos().max(1));
                                (k as u64).max(closed)
                            },
                            |sc, slot| due_of(sc, slot),
                            window_ms,
                            interval,
                        )
                    };
                    if !change.is_empty() {
                        config.display.note(&format!(
                            "targets reloaded ({}): {}",
                            cause.describe(),
                            change.describe()
                        ));
                    }
                }
                Some(Err(e)) => {
                    let kept = lock(&state).active().count();
                    config.display.note(&format!(
                        "targets not reloaded ({}): {e}; still watching the {kept} target(s) of before",
                        cause.describe()
                    ));
                }
                None => {}
            }
        }
        if heartbeat_live(&config.display) && last_beat.elapsed() >= Duration::from_millis(100) {
            last_beat = Instant::now();
            let s = lock(&state);
            heartbeat.tick(&s, next_tick.saturating_duration_since(Instant::now()));
        }
    }
    // A batch run: every slot is done; close its cycles and judge once more.
    finish_cycles(
        &mut cycles,
        u64::MAX,
        t0,
        interval,
        &state,
        &config.display,
        &mut stats,
    );
    if let Some(last) = last_slot {
        lock(&state).round = last;
    }
    house.round(&state, &mut store, &config);
    heartbeat.finish();
    drop(pool);
    // The members of an HA pair are waited for together, not one after the other.
    let deadline = Instant::now() + Duration::from_secs(10);
    for hook in house.webhooks {
        hook.finish(deadline.saturating_duration_since(Instant::now()));
    }
    if let Some(remote) = house.remote {
        let stats = remote.finish(deadline.saturating_duration_since(Instant::now()));
        if stats.queued > 0 {
            config.display.note(&format!(
                "remote write: {} samples not delivered at exit",
                stats.queued
            ));
        }
    }
    let s = lock(&state);
    let alerts = alert::firing(&s).len();
    let mut report = crate::report::WatchReport::of(&s, started.elapsed());
    report.schedule = Some(stats.report(interval));
    Ok(Outcome {
        rounds: s.round,
        alerts,
        all_failed: !any_ok,
        report,
        schedule: stats,
    })
}

/// Scrapes without the leak profile after its `overruns`-th overrun in a row: 4, 8, 16, …
/// at most 1024.
fn leak_skip(overruns: u32) -> u64 {
    (4u64 << overruns.saturating_sub(1).min(8)).min(1024)
}

fn heartbeat_live(display: &Display) -> bool {
    matches!(display, Display::Live { .. })
}

/// Scrapes due, soonest first: (due time, target index, the target's generation).
type Queue = BinaryHeap<Reverse<(Instant, usize, u32)>>;

/// The scheduler's view of one target.
struct Sched {
    /// Where in the interval its slots fall.
    offset: Duration,
    /// The target's own client: ureq scans an agent's whole idle list on every request, so
    /// one agent shared by n targets cost O(n) per scrape.
    agent: ureq::Agent,
    /// The next slot to dispatch.
    next_slot: u64,
    /// A scrape is queued or running.
    in_flight: bool,
    /// Heavy requests of earlier scrapes still running in the target (busy while > 0).
    draining: i32,
    /// Dropped by a reload.
    retired: bool,
    /// Counts the times the target was added back, so queue entries from before are stale.
    generation: u32,
}

impl Sched {
    fn new(offset: Duration, agent: ureq::Agent) -> Sched {
        Sched {
            offset,
            agent,
            next_slot: 0,
            in_flight: false,
            draining: 0,
            retired: false,
            generation: 0,
        }
    }
}

/// Where in its share of the interval a target's slots fall: a hash of its URL, so it is
/// the same across restarts and shards.
fn jitter(target: &Target) -> f64 {
    (stable_hash(target.url.as_bytes()) % 1000) as f64 / 1000.0
}

fn agent_for(config: &WatchConfig) -> ureq::Agent {
    goleash_source::http::agent_with(config.scrape.timeout, 1, &config.scrape.access)
}

/// What a reload changed.
#[derive(Default)]
struct Change {
    added: Vec<String>,
    removed: Vec<String>,
    relabeled: usize,
    total: usize,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.relabeled == 0
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        // A few URLs are worth naming; a fleet's worth is not.
        let list = |urls: &[String]| -> String {
            let shown: Vec<&str> = urls.iter().take(5).map(String::as_str).collect();
            let more = urls.len().saturating_sub(shown.len());
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        };
        if !self.added.is_empty() {
            parts.push(format!("+{} ({})", self.added.len(), list(&self.added)));
        }
        if !self.removed.is_empty() {
            parts.push(format!("-{} ({})", self.removed.len(), list(&self.removed)));
        }
        if self.relabeled > 0 {
            parts.push(format!("{} with new labels", self.relabeled));
        }
        format!("{}; now {} target(s)", parts.join(", "), self.total)
    }
}

/// The watcher's targets as the scheduler and the state both hold them, changed together.
struct Roster<'a> {
    sched: &'a mut Vec<Sched>,
    by_url: &'a mut rustc_hash::FxHashMap<String, usize>,
    queue: &'a mut Queue,
    state: &'a Mutex<State>,
    store: &'a mut Option<Store>,
    infos: &'a mut rustc_hash::FxHashMap<u64, Arc<GroupInfo>>,
    config: &'a WatchConfig,
}

impl Roster<'_> {
    /// Makes `list` the targets: the ones it drops are retired (their index stays, their
    /// window goes), new ones get the next index and a slot in the interval, and one that
    /// comes back resumes from its history. Targets kept keep their windows and schedule.
    fn replace(
        &mut self,
        list: Vec<Target>,
        first_slot: impl Fn(&Sched) -> u64,
        due: impl Fn(&Sched, u64) -> Instant,
        window_ms: i64,
        interval: Duration,
    ) -> Change {
        let mut change = Change::default();
        let wanted: rustc_hash::FxHashSet<&str> = list.iter().map(|t| t.url.as_str()).collect();
        let mut dropped: Vec<(&String, usize)> = self
            .by_url
            .iter()
            .filter(|(url, &i)| !self.sched[i].retired && !wanted.contains(url.as_str()))
            .map(|(url, &i)| (url, i))
            .collect();
        dropped.sort_unstable_by_key(|d| d.1);
        for (url, i) in dropped {
            self.sched[i].retired = true;
            lock(self.state).targets[i].retire();
            change.removed.push(url.clone());
        }
        for target in list {
            if let Some(&i) = self.by_url.get(&target.url) {
                let sc = &mut self.sched[i];
                let mut s = lock(self.state);
                let t = &mut s.targets[i];
                if t.target.labels != target.labels {
                    t.target = Arc::new(target.clone());
                    if !sc.retired {
                        change.relabeled += 1;
                    }
                }
                if sc.retired {
                    sc.retired = false;
                    sc.generation = sc.generation.wrapping_add(1);
                    sc.next_slot = first_slot(sc).max(sc.next_slot);
                    self.queue
                        .push(Reverse((due(sc, sc.next_slot), i, sc.generation)));
                    t.retired = false;
                    if let Some(store) = self.store.as_mut() {
                        if let Err(e) = resume_one(store, t, window_ms, self.config, self.infos) {
                            t.notes.push(format!("its history is not resumed: {}", e.0));
                        }
                    }
                    change.added.push(target.url.clone());
                }
                continue;
            }
            let i = self.sched.len();
            let mut sc = Sched::new(interval.mul_f64(jitter(&target)), agent_for(self.config));
            sc.next_slot = first_slot(&sc);
            self.queue
                .push(Reverse((due(&sc, sc.next_slot), i, sc.generation)));
            self.sched.push(sc);
            self.by_url.insert(target.url.clone(), i);
            change.added.push(target.url.clone());
            let mut t = TargetState::new(Arc::new(target));
            if let Some(store) = self.store.as_mut() {
                if let Err(e) = resume_one(store, &mut t, window_ms, self.config, self.infos) {
                    t.notes.push(format!("not stored: {}", e.0));
                }
            }
            lock(self.state).targets.push(t);
        }
        change.total = lock(self.state).active().count();
        change
    }
}

/// The scrapes of one cycle (slot k of every target).
#[derive(Default)]
struct Cycle {
    pending: usize,
    missed: usize,
    last_end: Option<Instant>,
}

/// Accounts for the cycles before `closed` whose scrapes are all done: the last one's
/// duration, and an overrun when a target missed its slot in it.
fn finish_cycles(
    cycles: &mut BTreeMap<u64, Cycle>,
    closed: u64,
    t0: Instant,
    interval: Duration,
    state: &Mutex<State>,
    display: &Display,
    stats: &mut ScheduleStats,
) {
    while let Some(entry) = cycles.first_entry() {
        let k = *entry.key();
        if k >= closed || entry.get().pending > 0 {
            break;
        }
        let cycle = entry.remove();
        let mut s = lock(state);
        s.round = s.round.max(k + 1);
        stats.cycles += 1;
        if let Some(end) = cycle.last_end {
            let start = t0 + interval.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
            s.last_round_s = end.saturating_duration_since(start).as_secs_f64();
            stats.cycle_max_s = stats.cycle_max_s.max(s.last_round_s);
            stats.cycle_sum_s += s.last_round_s;
            stats.timed_cycles += 1;
        }
        if cycle.missed > 0 {
            s.rounds_overrun += 1;
            stats.overrun_cycles += 1;
            drop(s);
            // Once, and again when the number changes: a target stuck for minutes does not
            // print a line every cycle.
            if cycle.missed == stats.last_missed {
                continue;
            }
            stats.last_missed = cycle.missed;
            display.note(&format!(
                "cycle {}: {} target(s) missed their slot, their previous scrape (or a heavy request it left running in the target) not done yet; the others went on. Raise --interval or --timeout for slow targets, --concurrency when scrapes wait for workers",
                k + 1,
                cycle.missed
            ));
        } else {
            stats.last_missed = 0;
        }
    }
}

/// Folds one finished scrape into the state and the history, and re-judges its target.
/// Returns the slot before which the target is not scraped again when it backs off.
fn apply(
    done: &Done,
    state: &Mutex<State>,
    store: &mut Option<Store>,
    infos: &mut rustc_hash::FxHashMap<u64, Arc<GroupInfo>>,
    config: &WatchConfig,
    interval_ms: i64,
    window_ms: i64,
) -> Option<u64> {
    let mut s = lock(state);
    let t = &mut s.targets[done.index];
    let ts = t.monotonic_ts(done.started_ms, interval_ms);
    t.last_wait_s = done.waited.as_secs_f64();
    t.record_result(ts, done.duration.as_secs_f64(), &done.result);
    let mut backoff = None;
    if done.leak_overrun {
        t.leak_overruns += 1;
        // Counted from when the target is done with it (see `Event::Released`).
        t.leak_resume_slot = u64::MAX;
        t.notes.push(format!(
            "/debug/pprof/goroutineleak did not answer within --timeout (its full GC overran it); no request to the target until it is done, then none for the leak profile in {} scrapes",
            leak_skip(t.leak_overruns)
        ));
    }
    match &done.result {
        Ok(scraped) => {
            t.failures_in_row = 0;
            if done.slot >= t.leak_resume_slot {
                t.leak_overruns = 0;
            }
            if let Some(per) = scraped.text_bytes_per_goroutine {
                t.text_bytes_per_goroutine = Some(per);
            }
            match &scraped.text {
                Text::Taken => t.text_unusable = false,
                Text::NotAsked => {}
                Text::Skipped { predicted, cap } => {
                    if !t.text_unusable {
                        t.notes.push(format!(
                            "{} goroutines: the debug=2 dump would be about {:.1} MiB, over the {:.1} MiB cap (Go cuts it at 64 MiB; --max-bytes); counting the protobuf instead, without wait times and creators",
                            scraped.total,
                            *predicted as f64 / 1048576.0,
                            *cap as f64 / 1048576.0
                        ));
                    }
                    t.text_unusable = true;
                }
                Text::FellBack(why) => {
                    if !t.text_unusable {
                        t.notes.push(format!(
                            "the debug=2 dump was unusable ({why}); this round counts the protobuf taken just before"
                        ));
                    }
                    t.text_unusable = true;
                }
            }
        }
        Err(_) => {
            t.failures_in_row += 1;
            // From the third failure in a row: 2, 4, 8 slots apart, at most a minute (and at
            // least the next slot).
            if t.failures_in_row >= 3 {
                let cap = (60_000 / interval_ms.max(1)).clamp(1, 8) as u64;
                let skip = (1u64 << (t.failures_in_row - 2).min(6)).min(cap);
                backoff = Some(done.slot + skip);
            }
        }
    }
    if let Ok(scraped) = &done.result {
        let samples: Vec<_> = scraped
            .groups
            .iter()
            .map(|g| {
                let known = t.groups.contains_key(&g.info.hash);
                let info = (!known).then(|| shared_info(infos, &g.info));
                (
                    g.info.hash,
                    u32::try_from(g.count).unwrap_or(u32::MAX),
                    g.verdict,
                    info,
                )
            })
            .collect();
        let counts: rustc_hash::FxHashMap<u64, u32> = samples.iter().map(|s| (s.0, s.1)).collect();
        if t.restarted(scraped.total, &counts) {
            t.start_epoch(ts, scraped.total);
        }
        // A group first seen before the restart has no description in this
        // epoch's map any more: describe every group of the new epoch's first scrape.
        let samples: Vec<_> = samples
            .into_iter()
            .zip(&scraped.groups)
            .map(|(mut s, g)| {
                if s.3.is_none() && !t.groups.contains_key(&s.0) {
                    s.3 = Some(shared_info(infos, &g.info));
                }
                s
            })
            .collect();
        t.push(ts, scraped.total, samples);
        // A debug=2 round describes a stack better (wait reason, creator).
        for g in &scraped.groups {
            if g.info.creator.is_some() {
                if let Some(state) = t.groups.get_mut(&g.info.hash) {
                    if state.info.creator.is_none() {
                        let richer = Arc::new(g.info.clone());
                        infos.insert(g.info.hash, Arc::clone(&richer));
                        state.info = richer;
                    }
                }
            }
        }
        t.trim(window_ms);
    }
    t.evaluate(&config.trend, config.slo, now_ms());
    let db_id = t.db_id;
    let epoch = t.epoch;
    let url = t.target.url.clone();
    if let (Some(store), Some(id)) = (store.as_mut(), db_id) {
        if let Err(e) = store.record(id, ts, epoch, done.duration, &done.result) {
            s.db_errors += 1;
            drop(s);
            config.display.note(&format!("{url}: not stored: {e}"));
        }
    }
    backoff
}

/// Samples the remote-write queue holds at most: about ten minutes of a hundred targets'
/// series while the receiver is away.
const REMOTE_QUEUE: usize = 500_000;

/// The longest a finished scrape's result waits for the engine when the next scrape is due
/// sooner than this: results are applied in batches at the due times instead of one wake
/// each. Its timestamps are the scrape's own, so only the bookkeeping is that much later.
const COALESCE: Duration = Duration::from_millis(20);

/// What the watcher does once per cycle: retention, alerts, notes, the table, webhooks,
/// remote write.
struct Housekeeping {
    tracker: Tracker,
    webhooks: Vec<Webhook>,
    remote: Option<crate::remote_write::RemoteWrite>,
    last_send: Option<Instant>,
    resend: Duration,
    hold_ms: i64,
    generator: String,
    last_prune: Instant,
}

impl Housekeeping {
    fn round(&mut self, state: &Mutex<State>, store: &mut Option<Store>, config: &WatchConfig) {
        if let Some(store) = store.as_mut() {
            // The scrapes of this cycle's last second reach the file now, not with the next.
            if let Err(e) = store.flush() {
                lock(state).db_errors += 1;
                config.display.note(&format!("not stored: {}", e.0));
            }
            lock(state).db_bytes = store.bytes();
            if self.last_prune.elapsed() >= Duration::from_secs(600) {
                self.last_prune = Instant::now();
                let cutoff =
                    now_ms() - i64::try_from(config.retention.as_millis()).unwrap_or(i64::MAX);
                if let Err(e) = store.prune(cutoff) {
                    lock(state).db_errors += 1;
                    config.display.note(&e.0);
                }
            }
        }
        if let Some(remote) = &self.remote {
            let points = config.render.points(&lock(state), now_ms());
            remote.push(points);
            let stats = remote.stats();
            let mut s = lock(state);
            s.remote_sent = stats.sent;
            s.remote_dropped = stats.dropped_full + stats.dropped_refused;
            s.remote_queued = stats.queued;
        }
        let (changes, view) = {
            let mut s = lock(state);
            let firing = alert::firing(&s);
            let mut changes = self.tracker.update(firing, now_ms());
            for a in changes.resolved.iter_mut() {
                if let Some(t) = s.targets.iter().find(|t| t.target.url == a.target) {
                    if t.epoch > a.epoch && a.name != "GoroutineLeakRecurring" {
                        alert::resolved_by_restart(a, t.epoch);
                    }
                }
            }
            let notes: Vec<(String, Vec<String>)> = s
                .targets
                .iter_mut()
                .filter(|t| !t.notes.is_empty())
                .map(|t| (t.target.url.clone(), std::mem::take(&mut t.notes)))
                .collect();
            for (url, notes) in notes {
                for n in notes {
                    config.display.note(&format!("{url}: {n}"));
                }
            }
            (changes, config.render.table(&s, config.color))
        };
        for a in &changes.new {
            config.display.alert(a, false);
        }
        for a in &changes.resolved {
            config.display.alert(a, true);
        }
        if !self.webhooks.is_empty() {
            let mut batch = changes.firing.clone();
            batch.extend(changes.resolved.iter().cloned());
            let due = self.last_send.is_none_or(|t| t.elapsed() >= self.resend);
            if !changes.new.is_empty()
                || !changes.resolved.is_empty()
                || (due && !changes.firing.is_empty())
            {
                self.last_send = Some(Instant::now());
                let body =
                    alert::alertmanager_alerts(&batch, &self.generator, now_ms() + self.hold_ms);
                for hook in &self.webhooks {
                    hook.send(body.clone());
                }
            }
        }
        config.display.table(&view);
    }
}

/// Reloads each target's window from the history, so a restarted watcher judges trends
/// as if it had never stopped.
fn resume(
    store: &mut Store,
    targets: &mut [TargetState],
    window_ms: i64,
    config: &WatchConfig,
    shared: &mut rustc_hash::FxHashMap<u64, Arc<GroupInfo>>,
) -> Result<(), StoreError> {
    for t in targets.iter_mut() {
        resume_one(store, t, window_ms, config, shared)?;
    }
    Ok(())
}

/// One target's window from the history (a target added by a reload may have been watched
/// before).
fn resume_one(
    store: &mut Store,
    t: &mut TargetState,
    window_ms: i64,
    config: &WatchConfig,
    shared: &mut rustc_hash::FxHashMap<u64, Arc<GroupInfo>>,
) -> Result<(), StoreError> {
    let now = now_ms();
    let id = store.target_id(&t.target)?;
    t.db_id = Some(id);
    let mut scrapes = store.load_window(id, now - window_ms, i64::MAX)?;
    // Only the process that was running when the watcher stopped: an older epoch's
    // counts belong to a process that is gone.
    if let Some(last) = scrapes.last().map(|s| s.epoch) {
        scrapes.retain(|s| s.epoch == last);
        t.epoch = last;
    }
    let infos = store.group_infos_of(&scrapes)?;
    for s in scrapes {
        let Some(total) = s.total else { continue };
        t.last_ts = t.last_ts.max(s.ts_ms);
        t.push_stored(&s, total, |hash| {
            infos.get(&hash).map(|i| shared_info(shared, i))
        });
    }
    t.trim(window_ms);
    t.evaluate(&config.trend, config.slo, now);
    Ok(())
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave the counts half-written in a way that
    // matters more than stopping the watcher would.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The one shared copy of a stack's description.
fn shared_info(
    infos: &mut rustc_hash::FxHashMap<u64, Arc<GroupInfo>>,
    info: &GroupInfo,
) -> Arc<GroupInfo> {
    Arc::clone(
        infos
            .entry(info.hash)
            .or_insert_with(|| Arc::new(info.clone())),
    )
}
