//! The watcher's state as Prometheus series: one table of metric families, each with its help
//! text and how its samples are read from the state. The same samples are written as the text
//! exposition (`/metrics`) and as remote-write points (`--remote-write`).

use std::fmt::Write as _;

use goleash_watch::state::{GroupState, State, TargetState};
use goleash_watch::usage::process_usage;

/// How many groups per target get their own metric series, besides the suspects: enough to
/// see what dominates, bounded so cardinality does not follow the number of stacks.
const TOP_GROUPS: usize = 10;

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

type Labels = Vec<(String, String)>;

/// One sample: a suffix of the family's name (`_sum`), its labels and the value.
type Sample = (&'static str, Labels, f64);

enum Source {
    /// Samples per target; the target's labels come first.
    Target(fn(&TargetState) -> Vec<Sample>),
    /// Samples per shown group (suspects and the top groups of each target).
    Group(fn(&GroupState) -> f64),
    /// A state set per shown group: one series per possible state, labelled with the
    /// family's state label, 1 for the state the group is in and 0 for the others. State
    /// never goes into the labels of a value, so a group is one series whatever its verdict.
    GroupState(
        &'static str,
        &'static [&'static str],
        fn(&GroupState) -> &'static str,
    ),
    /// One value for the whole watcher; `None` leaves the family out.
    Process(fn(&State) -> Option<f64>),
}

const TREND_NAMES: &[&str] = &[
    "insufficient",
    "steady",
    "growing",
    "follows_load",
    "shrinking",
];

const fn family(name: &'static str, kind: &'static str, help: &'static str) -> Family {
    Family { name, kind, help }
}

fn one(value: f64) -> Vec<Sample> {
    vec![("", Vec::new(), value)]
}

static FAMILIES: &[(Family, Source)] = &[
    (
        family("goleash_watch_target_up", "gauge", "1 when the last scrape of the target succeeded."),
        Source::Target(|t| one(f64::from(u8::from(t.up())))),
    ),
    (
        family("goleash_watch_target_goroutines", "gauge", "Goroutines in the target at the last successful scrape."),
        Source::Target(|t| t.total().map(one).unwrap_or_default()),
    ),
    (
        family("goleash_watch_target_growth_per_minute", "gauge", "Current growth of the target's goroutine total, per minute: Theil-Sen slope over the recent segment where the change started; absent with fewer than --min-samples scrapes in the epoch."),
        Source::Target(|t| t.growth_per_min.map(one).unwrap_or_default()),
    ),
    (
        family("goleash_watch_target_suspects", "gauge", "Leak suspect groups in the target."),
        Source::Target(|t| one(t.suspects().len() as f64)),
    ),
    (
        family("goleash_watch_target_span_growth_per_minute", "gauge", "Theil-Sen slope of the target's goroutine total over the growth rule's span (--alert-for), per minute; absent until the epoch covers the span."),
        Source::Target(|t| t.slo_growth.map(one).unwrap_or_default()),
    ),
    (
        family("goleash_watch_target_growth_alert", "gauge", "1 when the watcher's growth rule fires for the target (span growth above --alert-growth): its GoroutineGrowth decision."),
        Source::Target(|t| one(f64::from(u8::from(t.slo_since.is_some())))),
    ),
    (
        family("goleash_watch_target_epoch", "gauge", "The target's process generation, counted from 0; it goes up when the target restarts."),
        Source::Target(|t| one(f64::from(t.epoch))),
    ),
    (
        family("goleash_watch_target_restarts_total", "counter", "Restarts of the target the watcher detected."),
        Source::Target(|t| one(t.restarts as f64)),
    ),
    (
        family("goleash_watch_target_recurring_leaks", "gauge", "Stacks that grew in two or more of the target's last epochs (a leak reset by crashes): the watcher's GoroutineLeakRecurring decision."),
        Source::Target(|t| one(t.recurring().len() as f64)),
    ),
    (
        family("goleash_watch_scrapes_total", "counter", "Scrapes attempted."),
        Source::Target(|t| one(t.scrapes as f64)),
    ),
    (
        family("goleash_watch_scrape_errors_total", "counter", "Failed scrapes by kind (down, timeout, status, html, too_large, garbage)."),
        Source::Target(|t| {
            t.errors
                .iter()
                .map(|(kind, n)| ("", vec![("kind".into(), kind.name().into())], *n as f64))
                .collect()
        }),
    ),
    (
        family("goleash_watch_scrape_duration_seconds", "summary", "Time per scrape: fetch, parse and analyze."),
        Source::Target(|t| {
            vec![
                ("_sum", Vec::new(), t.duration_sum_s),
                ("_count", Vec::new(), t.scrapes as f64),
            ]
        }),
    ),
    (
        family("goleash_watch_scrapes_missed_total", "counter", "Scheduled scrapes not made because the target's previous scrape, or a heavy request it left running in the target, was not done."),
        Source::Target(|t| one(t.missed as f64)),
    ),
    (
        family("goleash_watch_scrape_queue_wait_seconds", "gauge", "How long the target's last scrape waited for a free worker after it was due."),
        Source::Target(|t| one(t.last_wait_s)),
    ),
    (
        family("goleash_watch_analyze_seconds_total", "counter", "Time spent parsing and judging the target's profiles."),
        Source::Target(|t| one(t.analyze_sum_s)),
    ),
    (
        family("goleash_watch_group_goroutines", "gauge", "Goroutines in a group (stack) at the last scrape; suspects and the top groups per target."),
        Source::Group(|g| g.last() as f64),
    ),
    (
        family("goleash_watch_group_slope_per_minute", "gauge", "Theil-Sen slope of the group's count over the window, per minute."),
        Source::Group(|g| g.trend.slope_per_min),
    ),
    (
        family("goleash_watch_group_suspect", "gauge", "1 when the group is a leak suspect (growing and not expected, or proven): the watcher's GoroutineLeak decision."),
        Source::Group(|g| f64::from(u8::from(g.is_suspect()))),
    ),
    (
        family("goleash_watch_group_verdict", "gauge", "The group's verdict as a state set: 1 for the verdict it has, 0 for the others."),
        Source::GroupState("verdict", &["expected", "possible", "likely", "proven"], |g| g.watch_verdict().name()),
    ),
    (
        family("goleash_watch_group_trend", "gauge", "The group's trend over the window as a state set: 1 for the trend it has, 0 for the others."),
        Source::GroupState("trend", TREND_NAMES, |g| g.trend.kind.name()),
    ),
    (
        family("goleash_watch_growth_alert_threshold_per_minute", "gauge", "The growth rule's threshold (--alert-growth), goroutines per minute; absent without the rule."),
        Source::Process(|s| s.slo.map(|r| r.per_minute)),
    ),
    (
        family("goleash_watch_growth_alert_span_seconds", "gauge", "The span the growth rule measures the slope over (--alert-for), seconds; absent without the rule."),
        Source::Process(|s| s.slo.map(|r| r.minutes * 60.0)),
    ),
    (
        family("goleash_watch_rounds_total", "counter", "Cycles (one --interval each; every target scraped once per cycle, on its own staggered schedule) done."),
        Source::Process(|s| Some(s.round as f64)),
    ),
    (
        family("goleash_watch_round_duration_seconds", "gauge", "Duration of the last complete cycle: from its start until every scrape due in it was done."),
        Source::Process(|s| Some(s.last_round_s)),
    ),
    (
        family("goleash_watch_rounds_overrun_total", "counter", "Cycles in which some target missed its slot because its previous scrape was still running."),
        Source::Process(|s| Some(s.rounds_overrun as f64)),
    ),
    (
        family("goleash_watch_db_bytes", "gauge", "Size of the history DB and its WAL."),
        Source::Process(|s| Some(s.db_bytes as f64)),
    ),
    (
        family("goleash_watch_db_errors_total", "counter", "Failed writes to the history DB."),
        Source::Process(|s| Some(s.db_errors as f64)),
    ),
    (
        family("goleash_watch_webhook_sent_total", "counter", "Alert batches the webhook accepted."),
        Source::Process(|s| Some(s.webhook_sent as f64)),
    ),
    (
        family("goleash_watch_webhook_errors_total", "counter", "Alert batches the webhook refused or never got."),
        Source::Process(|s| Some(s.webhook_errors as f64)),
    ),
    (
        family("goleash_watch_remote_write_samples_total", "counter", "Samples the remote-write receiver accepted."),
        Source::Process(|s| Some(s.remote_sent as f64)),
    ),
    (
        family("goleash_watch_remote_write_dropped_total", "counter", "Samples dropped: the queue was full while the receiver was away, or the receiver refused them."),
        Source::Process(|s| Some(s.remote_dropped as f64)),
    ),
    (
        family("goleash_watch_remote_write_queued", "gauge", "Samples waiting for the remote-write receiver."),
        Source::Process(|s| Some(s.remote_queued as f64)),
    ),
    (
        family("process_cpu_seconds_total", "counter", "User and system CPU time of goleash watch."),
        Source::Process(|_| process_usage().map(|u| u.cpu_seconds)),
    ),
    (
        family("process_resident_memory_bytes", "gauge", "Resident memory of goleash watch."),
        Source::Process(|_| process_usage().map(|u| u.resident_bytes as f64)),
    ),
    (
        family("process_start_time_seconds", "gauge", "Start time of goleash watch, seconds since the epoch."),
        Source::Process(|s| Some(s.started_ms as f64 / 1000.0)),
    ),
];

/// Every family with its samples, read from the state once.
fn families(state: &State) -> Vec<(&'static Family, Vec<Sample>)> {
    // Labels per target and the groups shown per target, computed once for every family.
    let targets: Vec<(Labels, Vec<(Labels, &GroupState)>)> = state
        .active()
        .map(|t| {
            let labels = target_labels(t);
            let groups = shown_groups(t)
                .into_iter()
                .map(|(hash, g)| (group_labels(&labels, hash, g), g))
                .collect();
            (labels, groups)
        })
        .collect();
    let with = |base: &Labels, extra: Labels| -> Labels {
        let mut all = base.clone();
        all.extend(extra);
        all
    };
    let mut out = Vec::with_capacity(FAMILIES.len());
    for (family, source) in FAMILIES {
        let samples: Vec<Sample> = match source {
            Source::Target(read) => state
                .active()
                .zip(&targets)
                .flat_map(|(t, (labels, _))| {
                    read(t)
                        .into_iter()
                        .map(move |(suffix, extra, v)| (suffix, with(labels, extra), v))
                })
                .collect(),
            // Per group, as a value or as a state set: the same walk over the shown groups,
            // with the state set adding its one label.
            Source::Group(read) => targets
                .iter()
                .flat_map(|(_, groups)| {
                    groups
                        .iter()
                        .map(|(labels, g)| ("", labels.clone(), read(g)))
                })
                .collect(),
            Source::GroupState(label, states, read) => targets
                .iter()
                .flat_map(|(_, groups)| groups.iter())
                .flat_map(|(labels, g)| {
                    let now = read(g);
                    states.iter().map(move |s| {
                        (
                            "",
                            with(labels, vec![((*label).to_string(), (*s).to_string())]),
                            f64::from(u8::from(*s == now)),
                        )
                    })
                })
                .collect(),
            Source::Process(read) => match read(state) {
                Some(v) => vec![("", Vec::new(), v)],
                None => continue,
            },
        };
        out.push((family, samples));
    }
    out
}

/// The Prometheus text exposition of the state.
pub fn metrics(state: &State) -> String {
    let mut out = String::with_capacity(4096 + state.targets.len() * 2048);
    for (family, samples) in families(state) {
        let _ = writeln!(
            out,
            "# HELP {0} {1}\n# TYPE {0} {2}",
            family.name, family.help, family.kind
        );
        for (suffix, labels, value) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{}{suffix} {value}", family.name);
            } else {
                let text: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                let _ = writeln!(out, "{}{suffix}{{{}}} {value}", family.name, text.join(","));
            }
        }
    }
    out
}

/// The same samples as remote-write points at `ts_ms`; the watcher's own process families
/// (CPU, memory, start time) are left to the watcher's own scrape.
pub(super) fn points(state: &State, ts_ms: i64) -> Vec<goleash_watch::remote_write::Point> {
    families(state)
        .into_iter()
        .filter(|(family, _)| !family.name.starts_with("process_"))
        .flat_map(|(family, samples)| {
            samples.into_iter().map(move |(suffix, labels, value)| {
                goleash_watch::remote_write::Point {
                    name: format!("{}{suffix}", family.name),
                    labels,
                    value,
                    ts_ms,
                }
            })
        })
        .collect()
}

fn shown_groups(t: &TargetState) -> Vec<(&u64, &GroupState)> {
    let mut shown = t.suspects();
    for g in t.top(TOP_GROUPS) {
        if !shown.iter().any(|s| s.0 == g.0) {
            shown.push(g);
        }
    }
    shown
}

/// A group's identity only: its stack hash and where it blocks, which never change. Verdict
/// and trend are state, exported as their own state-set families.
fn group_labels(target: &Labels, hash: &u64, g: &GroupState) -> Labels {
    let site = g.info.site.as_ref().map_or_else(String::new, |s| s.short());
    let mut labels = target.clone();
    labels.push(("group".into(), format!("{hash:016x}")));
    labels.push(("site".into(), site));
    labels
}

fn target_labels(t: &TargetState) -> Labels {
    let mut out = vec![("target".to_string(), t.target.url.clone())];
    for (k, v) in &t.target.labels {
        let valid = !k.is_empty()
            && k != "target"
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn metrics_carry_file_sd_labels_and_are_well_formed() {
        let mut target = goleash_watch::targets::parse_url("127.0.0.1:1").unwrap();
        target.labels.insert("job".into(), "api \"v2\"".into());
        target.labels.insert("bad-name".into(), "x".into());
        let mut t = TargetState::new(Arc::new(target));
        t.push(1_000, 7, std::iter::empty());
        let state = State {
            targets: vec![t],
            round: 3,
            interval_ms: 1000,
            window_ms: 60_000,
            last_round_s: 0.1,
            ..State::default()
        };
        let text = metrics(&state);
        assert!(text.contains(
            "goleash_watch_target_goroutines{target=\"http://127.0.0.1:1/debug/pprof\",job=\"api \\\"v2\\\"\"} 7"
        ), "{text}");
        assert!(!text.contains("bad-name"));
        assert!(text.contains("goleash_watch_rounds_total 3"));
        assert!(text.contains("goleash_watch_scrape_duration_seconds_count{target="));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
        }
        // Every family is announced once, before its samples.
        let announced: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut unique = announced.clone();
        unique.dedup();
        assert_eq!(announced, unique);
    }
}
