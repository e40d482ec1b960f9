//! The watch loop: every interval, queue one scrape per target on the worker pool, fold the
//! results into the state and the history as they arrive, re-judge trends, report.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::alert::{self, Tracker, Webhook};
use crate::clock::now_ms;
use crate::fetch::{agent, Fault, FaultKind};
use crate::pool::{Job, Pool};
use crate::scrape::{GroupInfo, ScrapeOptions};
use crate::state::{SloRule, State, TargetState};
use crate::store::{Store, StoreError};
use crate::targets::Target;
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
}

/// How a batch run ended.
pub struct Outcome {
    pub rounds: u64,
    /// Suspect groups and SLO alerts firing at the end.
    pub alerts: usize,
    /// Every scrape of every target failed.
    pub all_failed: bool,
    pub report: crate::report::WatchReport,
}

pub fn run(config: WatchConfig) -> Result<Outcome, String> {
    if config.targets.is_empty() {
        return Err("no targets to watch (after --shard)".into());
    }
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
        last_round_s: 0.0,
        rounds_overrun: 0,
        db_errors: 0,
        db_bytes: store.as_ref().map_or(0, Store::bytes),
        webhook_errors: 0,
        webhook_sent: 0,
        slo: config.slo,
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
    let mut last_send: Option<Instant> = None;
    let scrape_options = Arc::new(config.scrape.clone());
    let concurrency = config.concurrency.clamp(1, config.targets.len());
    let pool = Pool::new(
        concurrency,
        agent(config.scrape.timeout, config.targets.len()),
        Arc::clone(&scrape_options),
    );
    if pool.workers() == 0 {
        return Err("cannot start any scrape worker thread".into());
    }
    let mut tracker = Tracker::default();
    let mut heartbeat = ui::Heartbeat::new(&config.display);
    let mut any_ok = false;
    let mut in_flight = vec![false; config.targets.len()];
    let started = Instant::now();
    let mut round: u64 = 0;
    let mut last_prune = Instant::now() - Duration::from_secs(3600);
    loop {
        let round_start = Instant::now();
        let jobs: Vec<Job> = {
            let s = lock(&state);
            s.targets
                .iter()
                .enumerate()
                .filter(|(i, _)| !in_flight[*i])
                .map(|(index, t)| Job {
                    index,
                    target: Arc::clone(&t.target),
                    round,
                    full: crate::scrape::full_round(round, index, config.scrape.full_every),
                    leak_profile: t.leak_profile,
                })
                .collect()
        };
        let mut pending = 0;
        for job in jobs {
            let index = job.index;
            if pool.submit(job) {
                in_flight[index] = true;
                pending += 1;
            }
        }
        // Every scrape ends by its own timeout; the slack covers parsing a large profile.
        let deadline = Instant::now() + config.scrape.timeout + Duration::from_secs(10);
        while pending > 0 {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(done) = pool.results.recv_timeout(wait) else {
                break;
            };
            // A straggler from an earlier round is still applied, but it is not one of the
            // answers this round waits for.
            if done.round == round {
                pending -= 1;
            }
            in_flight[done.index] = false;
            any_ok |= done.result.is_ok();
            let mut s = lock(&state);
            let t = &mut s.targets[done.index];
            let ts = t.monotonic_ts(done.started_ms, interval_ms);
            t.record_result(ts, done.duration.as_secs_f64(), &done.result);
            if let Ok(scraped) = &done.result {
                let samples: Vec<_> = scraped
                    .groups
                    .iter()
                    .map(|g| {
                        let known = t.groups.contains_key(&g.info.hash);
                        let info = (!known).then(|| shared_info(&mut infos, &g.info));
                        (
                            g.info.hash,
                            u32::try_from(g.count).unwrap_or(u32::MAX),
                            g.verdict,
                            info,
                        )
                    })
                    .collect();
                let counts: rustc_hash::FxHashMap<u64, u32> =
                    samples.iter().map(|s| (s.0, s.1)).collect();
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
                            s.3 = Some(shared_info(&mut infos, &g.info));
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
        }
        // Stragglers past the deadline are reported; their worker is still bound by its
        // timeout and the target is skipped until it answers.
        {
            let mut s = lock(&state);
            for (i, busy) in in_flight.iter().enumerate() {
                if *busy {
                    let url = s.targets[i].target.url.clone();
                    s.targets[i].record_result(
                        now_ms(),
                        round_start.elapsed().as_secs_f64(),
                        &Err(Fault::new(
                            FaultKind::Timeout,
                            format!("{url}: still no answer after the round deadline"),
                        )),
                    );
                }
            }
            let now = now_ms();
            for t in s.targets.iter_mut() {
                t.evaluate(&config.trend, config.slo, now);
            }
            s.round = round + 1;
            s.last_round_s = round_start.elapsed().as_secs_f64();
            if let Some(store) = store.as_ref() {
                s.db_bytes = store.bytes();
            }
        }
        if let Some(store) = store.as_mut() {
            if last_prune.elapsed() >= Duration::from_secs(600) {
                last_prune = Instant::now();
                let cutoff =
                    now_ms() - i64::try_from(config.retention.as_millis()).unwrap_or(i64::MAX);
                if let Err(e) = store.prune(cutoff) {
                    lock(&state).db_errors += 1;
                    config.display.note(&e.0);
                }
            }
        }
        let (changes, view) = {
            let mut s = lock(&state);
            let firing = alert::firing(&s);
            let mut changes = tracker.update(firing, now_ms());
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
        if !webhooks.is_empty() {
            let mut batch = changes.firing.clone();
            batch.extend(changes.resolved.iter().cloned());
            let due = last_send.is_none_or(|t| t.elapsed() >= resend);
            if !changes.new.is_empty()
                || !changes.resolved.is_empty()
                || (due && !changes.firing.is_empty())
            {
                last_send = Some(Instant::now());
                let body = alert::alertmanager_alerts(&batch, &generator, now_ms() + hold_ms);
                for hook in &webhooks {
                    hook.send(body.clone());
                }
            }
        }
        config.display.table(&view);
        round += 1;
        if config.rounds.is_some_and(|n| round >= n) {
            break;
        }
        let elapsed = round_start.elapsed();
        if elapsed > config.interval {
            lock(&state).rounds_overrun += 1;
            config.display.note(&format!(
                "round {round} took {:.1}s, longer than --interval; raise --concurrency or --interval",
                elapsed.as_secs_f64()
            ));
        }
        let next = round_start + config.interval;
        while Instant::now() < next {
            let s = lock(&state);
            heartbeat.tick(&s, next.saturating_duration_since(Instant::now()));
            drop(s);
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            );
        }
    }
    heartbeat.finish();
    drop(pool);
    // The members of an HA pair are waited for together, not one after the other.
    let deadline = Instant::now() + Duration::from_secs(10);
    for hook in webhooks {
        hook.finish(deadline.saturating_duration_since(Instant::now()));
    }
    let s = lock(&state);
    let alerts = alert::firing(&s).len();
    let report = crate::report::WatchReport::of(&s, started.elapsed());
    Ok(Outcome {
        rounds: round,
        alerts,
        all_failed: !any_ok,
        report,
    })
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
    let now = now_ms();
    for t in targets.iter_mut() {
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
    }
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
