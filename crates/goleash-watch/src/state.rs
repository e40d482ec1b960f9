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
use crate::trend::{assess, growth_per_minute, Trend, TrendKind, TrendParams};

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
    /// The total's Theil–Sen slope over the whole window, per minute.
    pub growth_per_min: f64,
    /// The total's slope over the SLO rule's span, when the window covers it.
    pub slo_growth: Option<f64>,
    pub slo_since: Option<i64>,
    /// The latest time stored, to keep timestamps increasing across clock jumps.
    pub last_ts: i64,
    /// Notes to show once (clock jumps, a missing leak profile).
    pub notes: Vec<String>,
}

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
            growth_per_min: 0.0,
            slo_growth: None,
            slo_since: None,
            last_ts: i64::MIN,
            notes: Vec::new(),
        }
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
        self.growth_per_min = assess(&times, &totals, params).slope_per_min;
        self.slo_growth = slo.and_then(|r| growth_per_minute(&times, &totals, r.minutes));
        let firing = match (slo, self.slo_growth) {
            (Some(rule), Some(g)) => g > rule.per_minute,
            _ => false,
        };
        self.slo_since = if firing {
            self.slo_since.or(Some(now))
        } else {
            None
        };
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
pub struct State {
    pub targets: Vec<TargetState>,
    pub round: u64,
    pub started_ms: i64,
    pub interval_ms: i64,
    pub window_ms: i64,
    pub last_round_s: f64,
    pub rounds_overrun: u64,
    pub db_errors: u64,
    pub db_bytes: u64,
    pub webhook_errors: u64,
    pub webhook_sent: u64,
    pub slo: Option<SloRule>,
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
}
