//! The watcher's report, typed: the end-of-run JSON of batch mode, `/api/state` for the
//! dashboard, and `history trend`'s JSON and CSV all serialize or read these structs.

use std::collections::BTreeMap;
use std::time::Duration;

use goleash_analyze::Verdict;
use serde::Serialize;

use crate::scrape::Frame;
use crate::state::{GroupState, LastScrape, State, TargetState};
use crate::trend::TrendKind;

/// Groups per target listed besides the suspects.
const TOP_GROUPS: usize = 10;

#[derive(Debug, Serialize)]
pub struct WatchReport {
    pub rounds: u64,
    pub alerts: Vec<AlertReport>,
    pub elapsed_s: f64,
    pub suspects: usize,
    pub targets: Vec<TargetReport>,
    /// How the schedule held up over a batch run (`--once`, `--rounds`); absent from
    /// `/api/state` and `history trend`, which have no run of their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleReport>,
}

/// The schedule of a batch run, as its last stderr line says it: the cycles, the slots
/// missed because a target's previous scrape was still running, and the cycles with such a
/// miss.
#[derive(Debug, Serialize)]
pub struct ScheduleReport {
    pub interval_s: f64,
    pub cycles: u64,
    pub scrapes: u64,
    pub missed_slots: u64,
    pub overrun_cycles: u64,
    /// From a cycle's start until its last scrape was done.
    pub cycle_seconds_mean: Option<f64>,
    pub cycle_seconds_max: Option<f64>,
    /// The longest from a slot's due time until its scrape started.
    pub wait_seconds_max: f64,
}

#[derive(Debug, Serialize)]
pub struct AlertReport {
    pub name: &'static str,
    pub target: String,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub starts_at: String,
}

#[derive(Debug, Serialize)]
pub struct TargetReport {
    pub url: String,
    pub labels: BTreeMap<String, String>,
    pub up: bool,
    pub scrapes: u64,
    /// Slots the target missed: its previous scrape (or a heavy request it left running in
    /// the target) was not done when the next one was due.
    pub missed: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub last: Option<LastScrape>,
    pub total: Option<f64>,
    pub growth_per_min: Option<f64>,
    pub growth_interval_per_min: Option<[f64; 2]>,
    pub growth_since_ms: Option<i64>,
    pub growth_samples: Option<usize>,
    pub slo_growth_per_min: Option<f64>,
    pub samples_in_window: usize,
    pub scrape_seconds_avg: Option<f64>,
    pub analyze_seconds_avg: Option<f64>,
    pub suspects: usize,
    pub epoch: u32,
    pub epoch_since_ms: Option<i64>,
    pub restarts: u64,
    pub recurring: Vec<RecurringReport>,
    pub groups: Vec<GroupReport>,
}

#[derive(Debug, Serialize)]
pub struct RecurringReport {
    pub hash: String,
    pub epochs: Vec<u32>,
    pub per_min: f64,
}

#[derive(Debug, Serialize)]
pub struct GroupReport {
    pub hash: String,
    pub site: Option<Frame>,
    pub category: String,
    pub state: Option<String>,
    pub creator: Option<Frame>,
    /// Only for suspects: the report of hundreds of targets would otherwise be mostly frames
    /// of healthy groups.
    pub frames: Option<Vec<Frame>>,
    pub count: u32,
    pub trend: TrendKind,
    pub slope_per_min: f64,
    pub rate_per_min: Option<f64>,
    pub rate_interval_per_min: Option<[f64; 2]>,
    pub rate_since_ms: Option<i64>,
    pub rate_samples: Option<usize>,
    pub p_increasing: f64,
    pub since_ms: Option<i64>,
    pub verdict: Verdict,
    pub analyzer_verdict: Verdict,
    pub suspect: bool,
}

impl WatchReport {
    pub fn of(state: &State, elapsed: Duration) -> WatchReport {
        WatchReport {
            rounds: state.round,
            alerts: crate::alert::firing(state)
                .into_iter()
                .map(|a| AlertReport {
                    name: a.name,
                    target: a.target,
                    labels: a.labels,
                    summary: a.summary,
                    starts_at: crate::clock::rfc3339(a.starts_ms),
                })
                .collect(),
            elapsed_s: round2(elapsed.as_secs_f64()),
            suspects: state.active().map(|t| t.suspects().len()).sum(),
            targets: state.active().map(TargetReport::of).collect(),
            schedule: None,
        }
    }
}

/// One target's window for the dashboard's chart: the total and the top groups (suspects
/// always), each with its counts over the window.
#[derive(Debug, Serialize)]
pub struct SeriesReport {
    pub url: String,
    pub times: Vec<i64>,
    pub totals: Vec<f64>,
    pub groups: Vec<SeriesGroup>,
}

#[derive(Debug, Serialize)]
pub struct SeriesGroup {
    pub hash: String,
    pub site: Option<String>,
    pub state: String,
    pub creator: Option<String>,
    pub frames: Vec<String>,
    pub counts: Vec<u32>,
    pub count: u32,
    pub trend: TrendKind,
    pub slope_per_min: f64,
    pub since_ms: Option<i64>,
    pub verdict: Verdict,
    pub suspect: bool,
}

/// Groups drawn per target: the suspects, then the largest by peak up to this many.
const CHART_GROUPS: usize = 8;

impl SeriesReport {
    pub fn of(state: &State, url: &str) -> Option<SeriesReport> {
        let t = state.target_by_url(url)?;
        let mut chosen = t.suspects();
        let mut by_peak: Vec<_> = t.groups.iter().collect();
        let peak = |g: &GroupState| g.counts.iter().copied().max().unwrap_or(0);
        by_peak.sort_by(|a, b| peak(b.1).cmp(&peak(a.1)).then(a.0.cmp(b.0)));
        for g in by_peak {
            if chosen.len() >= CHART_GROUPS {
                break;
            }
            if !chosen.iter().any(|c| c.0 == g.0) {
                chosen.push(g);
            }
        }
        Some(SeriesReport {
            url: t.target.url.clone(),
            times: t.times.iter().copied().collect(),
            totals: t.totals.iter().copied().collect(),
            groups: chosen
                .into_iter()
                .map(|(hash, g)| SeriesGroup {
                    hash: format!("{hash:016x}"),
                    site: g.info.site.as_ref().map(Frame::short),
                    state: g
                        .info
                        .state
                        .clone()
                        .unwrap_or_else(|| g.info.category.clone()),
                    creator: g.info.creator.as_ref().map(Frame::short),
                    frames: g.info.frames.iter().map(Frame::short).collect(),
                    counts: g.counts.iter().copied().collect(),
                    count: g.last(),
                    trend: g.trend.kind,
                    slope_per_min: round2(g.trend.slope_per_min),
                    since_ms: g.suspect_since.or(g.trend.since_ms),
                    verdict: g.watch_verdict(),
                    suspect: g.is_suspect(),
                })
                .collect(),
        })
    }
}

impl TargetReport {
    fn of(t: &TargetState) -> TargetReport {
        let mut shown = t.suspects();
        for g in t.top(TOP_GROUPS) {
            if !shown.iter().any(|s| s.0 == g.0) {
                shown.push(g);
            }
        }
        let average = |sum: f64| (t.scrapes > 0).then(|| sum / t.scrapes as f64);
        TargetReport {
            url: t.target.url.clone(),
            labels: t.target.labels.clone(),
            up: t.up(),
            scrapes: t.scrapes,
            missed: t.missed,
            errors: t.errors.iter().map(|(k, v)| (k.name(), *v)).collect(),
            last: t.last.clone(),
            total: t.total(),
            growth_per_min: t.growth_per_min.map(round2),
            growth_interval_per_min: t
                .total_rate
                .map(|r| [round2(r.low_per_min), round2(r.high_per_min)]),
            growth_since_ms: t.total_rate.map(|r| r.since_ms),
            growth_samples: t.total_rate.map(|r| r.samples),
            slo_growth_per_min: t.slo_growth.map(round2),
            samples_in_window: t.times.len(),
            scrape_seconds_avg: average(t.duration_sum_s),
            analyze_seconds_avg: average(t.analyze_sum_s),
            suspects: t.suspects().len(),
            epoch: t.epoch,
            epoch_since_ms: t.epoch_since,
            restarts: t.restarts,
            recurring: t
                .recurring()
                .iter()
                .map(|r| RecurringReport {
                    hash: format!("{:016x}", r.hash),
                    epochs: r.epochs.clone(),
                    per_min: round2(r.per_min),
                })
                .collect(),
            groups: shown
                .into_iter()
                .map(|(hash, g)| GroupReport::of(*hash, g))
                .collect(),
        }
    }
}

impl GroupReport {
    fn of(hash: u64, g: &GroupState) -> GroupReport {
        GroupReport {
            hash: format!("{hash:016x}"),
            site: g.info.site.clone(),
            category: g.info.category.clone(),
            state: g.info.state.clone(),
            creator: g.info.creator.clone(),
            frames: g.is_suspect().then(|| g.info.frames.clone()),
            count: g.last(),
            trend: g.trend.kind,
            slope_per_min: round2(g.trend.slope_per_min),
            rate_per_min: g.rate.map(|r| round2(r.per_min)),
            rate_interval_per_min: g
                .rate
                .map(|r| [round2(r.low_per_min), round2(r.high_per_min)]),
            rate_since_ms: g.rate.map(|r| r.since_ms),
            rate_samples: g.rate.map(|r| r.samples),
            p_increasing: g.trend.p_increasing,
            since_ms: g.suspect_since.or(g.trend.since_ms),
            verdict: g.watch_verdict(),
            analyzer_verdict: g.verdict,
            suspect: g.is_suspect(),
        }
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
