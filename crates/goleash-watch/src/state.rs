//! What the watcher knows about each target: the sliding window of counts per group, the
//! trend of each, and which groups are leak suspects. Shared with the HTTP server.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use goleash_analyze::Verdict;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::fetch::{Fault, FaultKind};
use crate::scrape::{GroupInfo, ScrapeFormat, Scraped};
use crate::targets::Target;
use crate::trend::{assess, growth_per_minute, recent_rate, Rate, Trend, TrendKind, TrendParams};

/// One group on one target over the window.
#[derive(Clone, Debug)]
pub struct GroupState {
    /// Shared by every target that has this stack (replicas of one service run the same
    /// code), so hundreds of targets do not hold hundreds of copies of the same frames.
    pub info: Arc<GroupInfo>,
    /// Aligned with the target's `times`.
    pub counts: VecDeque<u32>,
    /// Verdict at each scrape (0 where the group was absent), aligned likewise.
    pub verdicts: VecDeque<Verdict>,
    pub trend: Trend,
    /// The surest analyzer verdict over the window.
    pub verdict: Verdict,
    /// When this group first became a suspect (kept while it stays one).
    pub suspect_since: Option<i64>,
    /// A suspect's current rate (the recent segment, with its interval).
    pub rate: Option<Rate>,
}

impl GroupState {
    pub fn last(&self) -> u32 {
        self.counts.back().copied().unwrap_or(0)
    }

    /// goleash's verdict: the analyzer's, raised to `likely` by sustained growth; the
    /// analyzer's `proven` (the runtime's leak GC, or a wait that can never end) always wins,
    /// and a group the analyzer knows to be long-lived by design is never raised.
    pub fn watch_verdict(&self) -> Verdict {
        if self.verdict == Verdict::Proven {
            return Verdict::Proven;
        }
        if self.trend.kind == TrendKind::Growing && self.verdict > Verdict::Expected {
            return self.verdict.max(Verdict::Likely);
        }
        self.verdict
    }

    /// A leak suspect: growing and not expected, or proven.
    pub fn is_suspect(&self) -> bool {
        self.last() > 0
            && (self.verdict == Verdict::Proven
                || (self.trend.kind == TrendKind::Growing && self.verdict > Verdict::Expected))
    }
}

/// The last scrape of a target.
#[derive(Clone, Debug, Serialize)]
pub struct LastScrape {
    pub ts_ms: i64,
    pub duration_ms: u64,
    pub format: Option<ScrapeFormat>,
    pub bytes: u64,
    pub error: Option<Fault>,
}

/// A rule on a target's total: alert when it grows faster than `per_minute` over `minutes`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SloRule {
    pub per_minute: f64,
    pub minutes: f64,
}

pub struct TargetState {
    pub target: Arc<Target>,
    pub db_id: Option<i64>,
    pub times: VecDeque<i64>,
    pub totals: VecDeque<f64>,
    pub groups: FxHashMap<u64, GroupState>,
    pub last: Option<LastScrape>,
    pub scrapes: u64,
    pub errors: BTreeMap<FaultKind, u64>,
    pub duration_sum_s: f64,
    pub analyze_sum_s: f64,
    /// Still ask for the goroutineleak profile (false once the target answered 404).
    pub leak_profile: bool,
    /// The total's current rate per minute: the Theil–Sen slope over the recent segment
    /// (see [`recent_rate`]); `None` with fewer than `--min-samples` scrapes in the epoch.
    pub growth_per_min: Option<f64>,
    pub total_rate: Option<Rate>,
    /// The total's slope over the SLO rule's span, when the window covers it.
    pub slo_growth: Option<f64>,
    pub slo_since: Option<i64>,
    /// The latest time stored, to keep timestamps increasing across clock jumps.
    pub last_ts: i64,
    /// Notes to show once (clock jumps, a missing leak profile).
    pub notes: Vec<String>,
    /// The process generation the window belongs to, counted from 0: a restart of the
    /// target starts a new epoch, and windows, verdicts, "since" and alerts start over.
    pub epoch: u32,
    /// When the current epoch's first scrape was taken (`None` before any).
    pub epoch_since: Option<i64>,
    pub restarts: u64,
    /// The target refused or dropped a connection since the last success: a process that
    /// was down may be a new one. A timeout does not count: a process busy under load is
    /// the same process, and its total may well halve when the load ends.
    pub gap: bool,
    /// Stacks that grew in the current epoch so far, with their slope per minute.
    pub epoch_growth: FxHashMap<u64, f64>,
    /// Stacks that grew in earlier epochs: (epoch, slope per minute), oldest first, the
    /// last few epochs only.
    pub grew_before: FxHashMap<u64, Vec<(u32, f64)>>,
    /// Scheduled scrapes not made because the previous one (or a heavy request it left
    /// running in the target) was not done yet.
    pub missed: u64,
    /// Failed scrapes in a row: from the third, the target backs off.
    pub failures_in_row: u32,
    /// The goroutineleak request overran --timeout this many times in a row.
    pub leak_overruns: u32,
    /// No goroutineleak request before this slot (backing off after an overrun).
    pub leak_resume_slot: u64,
    /// How long this target's last scrape waited in the queue for a free worker, seconds.
    pub last_wait_s: f64,
    /// debug=2 bytes per goroutine of this target, measured on its last dump.
    pub text_bytes_per_goroutine: Option<f64>,
    /// Whether the last full round's debug=2 was skipped or fell back (noted on change only).
    pub text_unusable: bool,
    /// No longer in the target list (a reload dropped it): not scraped, reported or alerted
    /// on. Its index stays, so scrapes still running for it land somewhere harmless.
    pub retired: bool,
}

/// A stack that grew in two or more of the last epochs: a leak that a crash (an OOM kill,
/// a liveness probe) keeps resetting, which no single epoch may show for long enough.
#[derive(Clone, Debug, Serialize)]
pub struct Recurring {
    pub hash: u64,
    /// The epochs it grew in, oldest first.
    pub epochs: Vec<u32>,
    /// The median of its slopes in those epochs, per minute.
    pub per_min: f64,
}

/// How many past epochs the recurring-leak rule looks back over.
const EPOCHS_KEPT: usize = 3;

impl TargetState {
    pub fn new(target: Arc<Target>) -> TargetState {
        TargetState {
            target,
            db_id: None,
            times: VecDeque::new(),
            totals: VecDeque::new(),
            groups: FxHashMap::default(),
            last: None,
            scrapes: 0,
            errors: BTreeMap::new(),
            duration_sum_s: 0.0,
            analyze_sum_s: 0.0,
            leak_profile: true,
            growth_per_min: None,
            total_rate: None,
            slo_growth: None,
            slo_since: None,
            last_ts: i64::MIN,
            notes: Vec::new(),
            epoch: 0,
            epoch_since: None,
            restarts: 0,
            gap: false,
            epoch_growth: FxHashMap::default(),
            grew_before: FxHashMap::default(),
            missed: 0,
            failures_in_row: 0,
            leak_overruns: 0,
            leak_resume_slot: 0,
            last_wait_s: 0.0,
            text_bytes_per_goroutine: None,
            text_unusable: false,
            retired: false,
        }
    }

    /// Takes the target out of the watch. Its window is dropped: a list that churns (pods
    /// come and go) must not keep every past pod's series in memory; the history keeps them,
    /// and a target that comes back resumes from there.
    pub fn retire(&mut self) {
        let target = Arc::clone(&self.target);
        let db_id = self.db_id;
        *self = TargetState::new(target);
        self.db_id = db_id;
        self.retired = true;
    }

    /// Whether a successful scrape with `total` goroutines and these per-stack counts comes
    /// from a new process. The pprof endpoints expose no process start time (the profile's
    /// `time_nanos` is the time of the scrape), so the evidence is the counts themselves:
    /// the total falls by half or more and either the target was unreachable in between, or
    /// every stack that only ever grew this epoch (a leak never gives goroutines back) lost
    /// three quarters of them at once. A load-following group gives back all the time and is
    /// never taken as evidence.
    pub fn restarted(&self, total: u64, counts: &FxHashMap<u64, u32>) -> bool {
        let Some(previous) = self.total() else {
            return false;
        };
        let now = total as f64;
        if now * 2.0 > previous || previous - now < 8.0 {
            return false;
        }
        if self.gap {
            return true;
        }
        let mut growers = 0;
        for (hash, g) in &self.groups {
            let first = g.counts.front().copied().unwrap_or(0);
            let last = g.last();
            let never_gave_back = g
                .counts
                .iter()
                .zip(g.counts.iter().skip(1))
                .all(|(a, b)| b >= a);
            if g.counts.len() >= 3 && never_gave_back && last >= first + 4 {
                growers += 1;
                if counts.get(hash).copied().unwrap_or(0) * 4 > last {
                    return false;
                }
            }
        }
        growers > 0
    }

    /// Starts a new epoch at `ts`: what grew in the old one is kept for the recurring-leak
    /// rule, everything else about the old process is dropped.
    pub fn start_epoch(&mut self, ts: i64, total: u64) {
        let previous = self.total().unwrap_or(0.0);
        for (hash, per_min) in self.epoch_growth.drain() {
            let epochs = self.grew_before.entry(hash).or_default();
            epochs.push((self.epoch, per_min));
            if epochs.len() > EPOCHS_KEPT {
                epochs.remove(0);
            }
        }
        let oldest = self.epoch.saturating_sub(EPOCHS_KEPT as u32);
        self.grew_before
            .retain(|_, e| e.last().is_some_and(|&(epoch, _)| epoch >= oldest));
        self.notes.push(format!(
            "restarted: the goroutine total fell from {previous} to {total}{}; epoch {} starts (window, verdicts and alerts start over)",
            if self.gap { " after the target was unreachable" } else { " with every growing stack" },
            self.epoch + 1
        ));
        self.epoch += 1;
        self.restarts += 1;
        self.epoch_since = Some(ts);
        self.times.clear();
        self.totals.clear();
        self.groups.clear();
        self.growth_per_min = None;
        self.total_rate = None;
        self.slo_growth = None;
        self.slo_since = None;
    }

    /// Stacks that grew in at least two of the last epochs, the current one included.
    pub fn recurring(&self) -> Vec<Recurring> {
        let mut out = Vec::new();
        let mut hashes: Vec<u64> = self.grew_before.keys().copied().collect();
        hashes.sort_unstable();
        for hash in hashes {
            let mut epochs: Vec<(u32, f64)> = self.grew_before[&hash].clone();
            if let Some(&per_min) = self.epoch_growth.get(&hash) {
                epochs.push((self.epoch, per_min));
            }
            if epochs.len() < 2 {
                continue;
            }
            let mut slopes: Vec<f64> = epochs.iter().map(|e| e.1).collect();
            slopes.sort_by(f64::total_cmp);
            let per_min = if slopes.len() % 2 == 1 {
                slopes[slopes.len() / 2]
            } else {
                (slopes[slopes.len() / 2 - 1] + slopes[slopes.len() / 2]) / 2.0
            };
            out.push(Recurring {
                hash,
                epochs: epochs.iter().map(|e| e.0).collect(),
                per_min,
            });
        }
        out
    }

    pub fn up(&self) -> bool {
        self.last.as_ref().is_some_and(|l| l.error.is_none())
    }

    pub fn total(&self) -> Option<f64> {
        self.totals.back().copied()
    }

    /// A timestamp for a new scrape that never goes backwards: a clock stepped back would
    /// otherwise reorder the window and break the slopes. Returns the time to use.
    pub fn monotonic_ts(&mut self, wall_ms: i64, interval_ms: i64) -> i64 {
        if self.last_ts != i64::MIN && wall_ms <= self.last_ts {
            self.notes.push(format!(
                "the clock went back {} ms; keeping this target's timestamps increasing",
                self.last_ts - wall_ms
            ));
            self.last_ts += 1;
        } else {
            if self.last_ts != i64::MIN && wall_ms - self.last_ts > 20 * interval_ms.max(1000) {
                self.notes.push(format!(
                    "{} s without a scrape (the clock jumped, or the machine slept); slopes span the gap",
                    (wall_ms - self.last_ts) / 1000
                ));
            }
            self.last_ts = wall_ms;
        }
        self.last_ts
    }

    /// Adds one successful scrape's counts at time `ts`.
    pub fn push(
        &mut self,
        ts: i64,
        total: u64,
        samples: impl IntoIterator<Item = (u64, u32, Verdict, Option<Arc<GroupInfo>>)>,
    ) {
        let before = self.times.len();
        self.gap = false;
        if self.epoch_since.is_none() {
            self.epoch_since = Some(ts);
        }
        self.times.push_back(ts);
        self.totals.push_back(total as f64);
        let mut seen = rustc_hash::FxHashSet::default();
        for (hash, count, verdict, info) in samples {
            seen.insert(hash);
            let group = match self.groups.get_mut(&hash) {
                Some(g) => g,
                None => {
                    let Some(info) = info else { continue };
                    self.groups.entry(hash).or_insert_with(|| GroupState {
                        info,
                        counts: std::iter::repeat_n(0, before).collect(),
                        verdicts: std::iter::repeat_n(Verdict::Expected, before).collect(),
                        trend: assess(&[], &[], &TrendParams::default()),
                        verdict,
                        suspect_since: None,
                        rate: None,
                    })
                }
            };
            group.counts.push_back(count);
            group.verdicts.push_back(verdict);
        }
        for (hash, group) in self.groups.iter_mut() {
            if !seen.contains(hash) {
                group.counts.push_back(0);
                group.verdicts.push_back(Verdict::Expected);
            }
        }
    }

    /// Adds a scrape read back from the store (`total` is its count when it succeeded);
    /// `info` gives each group's stack as the store knows it.
    pub fn push_stored(
        &mut self,
        scrape: &crate::store::StoredScrape,
        total: u64,
        mut info: impl FnMut(u64) -> Option<Arc<GroupInfo>>,
    ) {
        self.push(
            scrape.ts_ms,
            total,
            scrape.groups.iter().map(|&(hash, count, verdict)| {
                (
                    hash,
                    u32::try_from(count).unwrap_or(u32::MAX),
                    verdict,
                    info(hash),
                )
            }),
        );
    }

    /// Drops what is older than the window and the groups left with nothing.
    pub fn trim(&mut self, window_ms: i64) {
        let Some(&last) = self.times.back() else {
            return;
        };
        let mut drop = 0;
        while drop < self.times.len() && self.times[drop] < last - window_ms {
            drop += 1;
        }
        if drop > 0 {
            self.times.drain(..drop);
            self.totals.drain(..drop);
            for g in self.groups.values_mut() {
                let d = drop.min(g.counts.len());
                g.counts.drain(..d);
                g.verdicts.drain(..d);
            }
        }
        self.groups.retain(|_, g| g.counts.iter().any(|&c| c > 0));
    }

    /// Re-judges every group's trend and the total's growth; `now` stamps new suspects.
    pub fn evaluate(&mut self, params: &TrendParams, slo: Option<SloRule>, now: i64) {
        let times: Vec<i64> = self.times.iter().copied().collect();
        let totals: Vec<f64> = self.totals.iter().copied().collect();
        self.total_rate = recent_rate(&times, &totals, params.min_samples);
        self.growth_per_min = self.total_rate.map(|r| r.per_min);
        self.slo_growth = slo.and_then(|r| growth_per_minute(&times, &totals, r.minutes));
        let mut values = Vec::with_capacity(times.len());
        for group in self.groups.values_mut() {
            values.clear();
            values.extend(group.counts.iter().map(|&c| f64::from(c)));
            group.trend = assess(&times, &values, params);
            group.verdict = group
                .counts
                .iter()
                .zip(&group.verdicts)
                .filter(|(&c, _)| c > 0)
                .map(|(_, &v)| v)
                .max()
                .unwrap_or(Verdict::Expected);
            group.suspect_since = if group.is_suspect() {
                group.suspect_since.or(group.trend.since_ms).or(Some(now))
            } else {
                None
            };
            // Only suspects: the change-point search is quadratic in the window, and only
            // alerts and reports of suspects quote a rate.
            group.rate = if group.is_suspect() {
                recent_rate(&times, &values, params.min_samples)
            } else {
                None
            };
        }
        // Steep is not enough: a load ramp raises the total as fast as a leak. The rule fires
        // when the total grows that fast and the growth is a leak: some stack of the target
        // grows and never gives back (a suspect), which a stack that follows load is not.
        let suspects = self.groups.values().any(GroupState::is_suspect);
        let firing = match (slo, self.slo_growth) {
            (Some(rule), Some(g)) => g > rule.per_minute && suspects,
            _ => false,
        };
        self.slo_since = if firing {
            self.slo_since.or(Some(now))
        } else {
            None
        };
        // Growth in this epoch for the recurring-leak rule: a crash-looping process may never
        // live long enough for the trend test, so a stack counts when it only ever grew, by
        // at least --min-rise, or when the trend test already calls it growing.
        self.epoch_growth.clear();
        for (&hash, group) in &self.groups {
            if group.verdict == Verdict::Expected {
                continue;
            }
            let first = f64::from(group.counts.front().copied().unwrap_or(0));
            let last = f64::from(group.last());
            let never_gave_back = group
                .counts
                .iter()
                .zip(group.counts.iter().skip(1))
                .all(|(a, b)| b >= a);
            let grew = group.trend.kind == TrendKind::Growing
                || (group.counts.len() >= 3
                    && never_gave_back
                    && last - first >= params.min_rise.max(1.0));
            if grew && group.trend.slope_per_min > 0.0 {
                self.epoch_growth.insert(hash, group.trend.slope_per_min);
            }
        }
    }

    pub fn record_result(&mut self, ts: i64, duration_s: f64, result: &Result<Scraped, Fault>) {
        self.scrapes += 1;
        self.duration_sum_s += duration_s;
        let (format, bytes, error) = match result {
            Ok(s) => {
                self.analyze_sum_s += s.analyze_time.as_secs_f64();
                if s.no_leak_profile && self.leak_profile {
                    self.leak_profile = false;
                    self.notes.push(
                        "no /debug/pprof/goroutineleak (Go before 1.26?); judging without the runtime's proof".into(),
                    );
                }
                (Some(s.format), s.bytes, None)
            }
            Err(f) => {
                self.gap |= f.kind == FaultKind::Down;
                *self.errors.entry(f.kind).or_default() += 1;
                (None, 0, Some(f.clone()))
            }
        };
        self.last = Some(LastScrape {
            ts_ms: ts,
            duration_ms: (duration_s * 1000.0) as u64,
            format,
            bytes,
            error,
        });
    }

    /// Suspects, most goroutines first.
    pub fn suspects(&self) -> Vec<(&u64, &GroupState)> {
        let mut s: Vec<_> = self.groups.iter().filter(|(_, g)| g.is_suspect()).collect();
        s.sort_by(|a, b| b.1.last().cmp(&a.1.last()).then(a.0.cmp(b.0)));
        s
    }

    /// The groups with the most goroutines now.
    pub fn top(&self, n: usize) -> Vec<(&u64, &GroupState)> {
        let mut s: Vec<_> = self.groups.iter().filter(|(_, g)| g.last() > 0).collect();
        s.sort_by(|a, b| b.1.last().cmp(&a.1.last()).then(a.0.cmp(b.0)));
        s.truncate(n);
        s
    }
}

/// Everything the watcher knows; the engine writes it, the HTTP server reads it.
#[derive(Default)]
pub struct State {
    pub targets: Vec<TargetState>,
    pub round: u64,
    pub started_ms: i64,
    pub interval_ms: i64,
    pub window_ms: i64,
    /// How long the last complete cycle took: from its start until every scrape scheduled in
    /// it was done (targets are staggered over the interval, so about the interval plus the
    /// last scrape's duration when all goes well).
    pub last_round_s: f64,
    /// Cycles in which some target missed its slot (its previous scrape still running).
    pub rounds_overrun: u64,

    pub db_errors: u64,
    pub db_bytes: u64,
    pub webhook_errors: u64,
    pub webhook_sent: u64,
    /// Remote write: samples accepted, dropped (queue full or refused), waiting.
    pub remote_sent: u64,
    pub remote_dropped: u64,
    pub remote_queued: u64,
    pub slo: Option<SloRule>,
}

impl State {
    /// The targets being watched (a reload retires the ones it drops).
    pub fn active(&self) -> impl Iterator<Item = &TargetState> {
        self.targets.iter().filter(|t| !t.retired)
    }

    /// An active target by its URL (the dashboard's links name targets by URL, which stays
    /// the same across reloads and watcher restarts).
    pub fn target_by_url(&self, url: &str) -> Option<&TargetState> {
        self.active().find(|t| t.target.url == url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::Frame;

    fn info(hash: u64) -> GroupInfo {
        let f = Frame {
            function: "main.f".into(),
            file: "main.go".into(),
            line: 1,
        };
        GroupInfo {
            hash,
            site: Some(f.clone()),
            category: "channel send".into(),
            state: None,
            creator: None,
            frames: vec![f],
        }
    }

    fn target() -> TargetState {
        TargetState::new(Arc::new(crate::targets::parse_url("127.0.0.1:1").unwrap()))
    }

    /// The growth rule fires on a total that grows fast because a stack leaks, never on one
    /// that grows as fast because load ramps up (its stacks rise and fall with the bursts).
    #[test]
    fn a_load_ramp_never_fires_the_growth_rule_a_leak_does() {
        let params = TrendParams {
            min_samples: 8,
            min_span_ms: 0,
            ..TrendParams::default()
        };
        let rule = SloRule {
            per_minute: 30.0,
            minutes: 1.0,
        };
        let worker = Arc::new(info(1));
        let leak = Arc::new(info(2));
        // Every 5 s for 3 minutes: the ramp's workers gain 40 for four scrapes and give back
        // 70 for two (+40 a minute, above the rule's 30, in bursts); the leak gains 10 a
        // scrape and never gives back.
        let (mut ramp, mut leaking) = (target(), target());
        let (mut w, mut l) = (100u32, 100u32);
        let mut ramp_fired = false;
        for i in 0..36u32 {
            let ts = i64::from(i) * 5_000;
            w = if i % 6 < 4 { w + 40 } else { w - 70 };
            l += 10;
            ramp.push(
                ts,
                u64::from(w),
                [(1, w, Verdict::Possible, Some(Arc::clone(&worker)))],
            );
            leaking.push(
                ts,
                u64::from(l),
                [(2, l, Verdict::Possible, Some(Arc::clone(&leak)))],
            );
            ramp.evaluate(&params, Some(rule), ts);
            leaking.evaluate(&params, Some(rule), ts);
            ramp_fired |= ramp.slo_since.is_some();
        }
        assert!(
            ramp.slo_growth.unwrap() > rule.per_minute,
            "the ramp is steep enough"
        );
        assert!(!ramp_fired, "a load ramp fired the growth rule");
        assert!(leaking.slo_since.is_some(), "the leak did not fire it");
    }

    #[test]
    fn clock_steps_back_keep_timestamps_increasing() {
        let mut t = target();
        assert_eq!(t.monotonic_ts(10_000, 1000), 10_000);
        assert_eq!(t.monotonic_ts(5_000, 1000), 10_001);
        assert!(t.notes[0].contains("clock went back"));
        assert_eq!(t.monotonic_ts(11_000, 1000), 11_000);
        assert_eq!(t.monotonic_ts(500_000, 1000), 500_000);
        assert!(t.notes[1].contains("without a scrape"));
    }

    #[test]
    fn growth_makes_a_suspect_expected_never_and_proven_always() {
        let params = TrendParams {
            min_samples: 5,
            min_span_ms: 0,
            ..TrendParams::default()
        };
        let mut t = target();
        for i in 0..12u32 {
            let ts = 1_000 * i64::from(i);
            t.push(
                ts,
                100,
                [
                    (1, 10 * i, Verdict::Possible, Some(Arc::new(info(1)))),
                    (2, 10 * i, Verdict::Expected, Some(Arc::new(info(2)))),
                    (
                        3,
                        1,
                        if i == 11 {
                            Verdict::Proven
                        } else {
                            Verdict::Possible
                        },
                        Some(Arc::new(info(3))),
                    ),
                ],
            );
        }
        t.evaluate(&params, None, 99);
        assert!(t.groups[&1].is_suspect());
        assert_eq!(t.groups[&1].watch_verdict(), Verdict::Likely);
        assert_eq!(t.groups[&1].suspect_since, Some(0));
        assert!(
            !t.groups[&2].is_suspect(),
            "expected by design, even growing"
        );
        assert!(
            t.groups[&3].is_suspect(),
            "proven by the runtime, even steady"
        );
        assert_eq!(t.suspects().len(), 2);
        // A group gone from the window is dropped.
        t.push(12_000, 0, std::iter::empty());
        t.trim(500);
        assert!(t.groups.is_empty());
        assert_eq!(t.times.len(), 1);
    }

    fn counts(pairs: &[(u64, u32)]) -> FxHashMap<u64, u32> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn a_collapse_of_every_leak_is_a_restart_a_load_swing_is_not() {
        let params = TrendParams {
            min_samples: 4,
            min_span_ms: 0,
            ..TrendParams::default()
        };
        let mut t = target();
        // A leak (only grows) and load (rises and falls) on one target.
        for i in 0..8u32 {
            let load = if i % 2 == 0 { 40 } else { 2 };
            t.push(
                1_000 * i64::from(i),
                u64::from(10 * i + load),
                [
                    (1, 10 * i, Verdict::Possible, Some(Arc::new(info(1)))),
                    (2, load, Verdict::Possible, Some(Arc::new(info(2)))),
                ],
            );
        }
        t.evaluate(&params, None, 8_000);
        assert!(t.epoch_growth.contains_key(&1), "{:?}", t.epoch_growth);
        // The load falls and the total halves, but the leak kept its goroutines.
        assert!(!t.restarted(70, &counts(&[(1, 70), (2, 0)])));
        // Every leak lost its goroutines with the total: a new process.
        assert!(t.restarted(3, &counts(&[(1, 1), (2, 2)])));
        t.start_epoch(9_000, 3);
        assert_eq!((t.epoch, t.restarts, t.times.len()), (1, 1, 0));
        assert!(t.notes.last().unwrap().contains("epoch 1 starts"));
        // The same stack grows in the new process: a recurring leak.
        for i in 0..6u32 {
            t.push(
                10_000 + 1_000 * i64::from(i),
                u64::from(10 * i),
                [(1, 10 * i, Verdict::Possible, Some(Arc::new(info(1))))],
            );
        }
        t.evaluate(&params, None, 16_000);
        let r = t.recurring();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].epochs, vec![0, 1]);
        assert!((r[0].per_min - 600.0).abs() < 1.0, "{r:?}");
        // A timeout (a busy process), then a halved total with the leak intact: the same
        // process.
        t.record_result(17_000, 0.0, &Err(Fault::new(FaultKind::Timeout, "slow")));
        assert!(!t.restarted(10, &counts(&[(1, 50)])));
        // A refused connection, then a halved total: restarted, whatever the stacks say.
        t.record_result(17_500, 0.0, &Err(Fault::new(FaultKind::Down, "refused")));
        assert!(t.restarted(10, &counts(&[(1, 50)])));
    }

    #[test]
    fn a_crash_loop_too_short_for_the_trend_test_is_a_recurring_leak() {
        // Each process lives 6 scrapes; the trend test wants 50.
        let params = TrendParams {
            min_samples: 50,
            min_span_ms: 0,
            ..TrendParams::default()
        };
        let mut t = target();
        let mut ts = 0;
        for epoch in 0..3u32 {
            if epoch > 0 {
                t.record_result(ts, 0.0, &Err(Fault::new(FaultKind::Down, "refused")));
                assert!(t.restarted(2, &counts(&[(1, 0)])));
                t.start_epoch(ts, 2);
            }
            for i in 0..6u32 {
                ts += 1_000;
                t.push(
                    ts,
                    u64::from(2 + 10 * i),
                    [(1, 10 * i, Verdict::Possible, Some(Arc::new(info(1))))],
                );
                t.evaluate(&params, None, ts);
            }
            assert_eq!(t.groups[&1].trend.kind, TrendKind::Insufficient);
            assert!(t.suspects().is_empty(), "no epoch proves anything alone");
        }
        let r = t.recurring();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].epochs, vec![0, 1, 2]);
    }
}
