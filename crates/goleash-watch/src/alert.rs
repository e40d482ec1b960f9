//! Alerts: a leak suspect on a target, or a target whose total grows faster than the SLO
//! rule allows. Printed, and POSTed to a webhook in Alertmanager's JSON shape (the body of
//! `POST /api/v2/alerts`), so an Alertmanager or anything that speaks its format can route
//! them.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::clock::rfc3339;
use crate::state::State;

/// One firing (or just resolved) alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// `GoroutineLeak` or `GoroutineGrowth`.
    pub name: &'static str,
    pub target: String,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub description: String,
    pub starts_ms: i64,
    /// Set when the alert resolved.
    pub ends_ms: Option<i64>,
    /// The target's epoch (process generation) the alert was judged in.
    pub epoch: u32,
    /// Annotations beside summary, description and epoch. State goes here, never into the
    /// labels: Alertmanager identifies an alert by its labels, so a label that changes (a
    /// verdict going from likely to proven, a note on a resolution) would leave the old
    /// alert firing and start a new one.
    pub notes: BTreeMap<String, String>,
}

/// Rewrites a resolved alert whose target restarted: the old process is gone, and its
/// numbers say nothing about whether the leak is fixed.
pub(crate) fn resolved_by_restart(a: &mut Alert, epoch: u32) {
    let before = std::mem::take(&mut a.summary);
    a.notes.insert("resolved_by".into(), "restart".into());
    a.summary = format!(
        "resolved because the target restarted (epoch {} -> {epoch}); the leak is not known to be fixed",
        a.epoch
    );
    a.description = format!(
        "{}: the process this alert was about is gone (a restart, or a crash); the new one is watched from scratch and alerts again if it leaks. Before the restart: {}",
        a.target, before
    );
}

impl Alert {
    /// The identity Alertmanager deduplicates on.
    pub fn key(&self) -> String {
        let mut k = format!("{}|{}", self.name, self.target);
        if let Some(g) = self.labels.get("group") {
            k.push('|');
            k.push_str(g);
        }
        k
    }
}

/// The alerts firing now, from the state after a round.
pub(crate) fn firing(state: &State) -> Vec<Alert> {
    let mut out = Vec::new();
    for t in state.active() {
        let mut base = t.target.labels.clone();
        base.insert("target".into(), t.target.url.clone());
        for (hash, g) in t.suspects() {
            let mut labels = base.clone();
            labels.insert("alertname".into(), "GoroutineLeak".into());
            labels.insert("group".into(), format!("{hash:016x}"));
            labels.insert("severity".into(), "warning".into());
            let site = g
                .info
                .site
                .as_ref()
                .map_or_else(|| "?".into(), |s| s.short());
            let stack: Vec<String> = g.info.frames.iter().take(12).map(|f| f.short()).collect();
            out.push(Alert {
                name: "GoroutineLeak",
                target: t.target.url.clone(),
                labels,
                // The current rate, from the segment where the growth started: the window's
                // slope would average in a flat start and understate a leak that just began.
                summary: match g.rate {
                    Some(r) => format!(
                        "{} goroutines at {site}, {:+.1}/min (95% {:.1} to {:.1}, last {} scrapes) ({})",
                        g.last(),
                        r.per_min,
                        r.low_per_min,
                        r.high_per_min,
                        r.samples,
                        g.watch_verdict().name()
                    ),
                    None => format!(
                        "{} goroutines at {site} ({})",
                        g.last(),
                        g.watch_verdict().name()
                    ),
                },
                description: format!(
                    "{} on {}: {} blocked goroutines ({}), trend {} with p={:.2e}.\nstack:\n  {}",
                    site,
                    t.target.url,
                    g.last(),
                    g.info.state.as_deref().unwrap_or(&g.info.category),
                    g.trend.kind.name(),
                    g.trend.p_increasing,
                    stack.join("\n  ")
                ),
                starts_ms: g.suspect_since.unwrap_or(0),
                ends_ms: None,
                epoch: t.epoch,
                notes: BTreeMap::from([("verdict".to_string(), g.watch_verdict().name().to_string())]),
            });
        }
        if let (Some(rule), Some(growth), Some(since)) = (state.slo, t.slo_growth, t.slo_since) {
            let mut labels = base.clone();
            labels.insert("alertname".into(), "GoroutineGrowth".into());
            labels.insert("severity".into(), "warning".into());
            out.push(Alert {
                name: "GoroutineGrowth",
                target: t.target.url.clone(),
                labels,
                summary: format!(
                    "goroutines grow {growth:+.1}/min over {} min (rule: > {}/min)",
                    rule.minutes, rule.per_minute
                ),
                description: format!(
                    "{}: {} goroutines, growing {growth:.1} per minute over the last {} minutes",
                    t.target.url,
                    t.total().unwrap_or(0.0),
                    rule.minutes
                ),
                starts_ms: since,
                ends_ms: None,
                epoch: t.epoch,
                notes: BTreeMap::new(),
            });
        }
        for r in t.recurring() {
            let mut labels = base.clone();
            labels.insert("alertname".into(), "GoroutineLeakRecurring".into());
            labels.insert("group".into(), format!("{:016x}", r.hash));
            labels.insert("severity".into(), "warning".into());
            let info = t.groups.get(&r.hash).map(|g| &g.info);
            let site = info
                .and_then(|i| i.site.as_ref())
                .map_or_else(|| format!("stack {:016x}", r.hash), |s| s.short());
            out.push(Alert {
                name: "GoroutineLeakRecurring",
                target: t.target.url.clone(),
                labels,
                summary: format!(
                    "{site} grew in {} process lifetimes (epochs {}), {:+.1}/min (median)",
                    r.epochs.len(),
                    r.epochs
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.per_min
                ),
                description: format!(
                    "{}: the same stack grows after every restart ({} restarts seen): a leak that a crash or an OOM kill keeps resetting.",
                    t.target.url, t.restarts
                ),
                starts_ms: t.epoch_since.unwrap_or(0),
                ends_ms: None,
                epoch: t.epoch,
                notes: BTreeMap::new(),
            });
        }
    }
    out
}

/// One alert as Alertmanager's `POST /api/v2/alerts` takes it (its `postableAlert`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "String::is_empty")]
    pub generator_url: String,
}

/// Alertmanager's alert objects. A firing alert gets `endsAt = firing_until_ms`: Alertmanager
/// then keeps it active until that time even if the watcher dies, and resolves it on its own
/// after, instead of falling back to its `resolve_timeout` (5 minutes by default), which a
/// resend cadence near 5 minutes would make flap.
pub(crate) fn alertmanager_alerts(
    alerts: &[Alert],
    generator_url: &str,
    firing_until_ms: i64,
) -> Vec<PostableAlert> {
    alerts
        .iter()
        .map(|a| {
            let mut annotations = BTreeMap::from([
                ("summary".to_string(), a.summary.clone()),
                ("description".to_string(), a.description.clone()),
                ("epoch".to_string(), a.epoch.to_string()),
            ]);
            annotations.extend(a.notes.iter().map(|(k, v)| (k.clone(), v.clone())));
            PostableAlert {
                labels: a.labels.clone(),
                annotations,
                starts_at: rfc3339(a.starts_ms),
                ends_at: rfc3339(a.ends_ms.unwrap_or(firing_until_ms)),
                generator_url: generator_url.to_string(),
            }
        })
        .collect()
}

/// Tracks which alerts are new, still firing or resolved between rounds.
#[derive(Default)]
pub(crate) struct Tracker {
    active: BTreeMap<String, Alert>,
}

/// What changed in one round.
pub(crate) struct Changes {
    pub new: Vec<Alert>,
    pub resolved: Vec<Alert>,
    /// Every alert firing now (Alertmanager wants them re-sent while they fire).
    pub firing: Vec<Alert>,
}

impl Tracker {
    pub(crate) fn update(&mut self, now_firing: Vec<Alert>, now_ms: i64) -> Changes {
        let mut next = BTreeMap::new();
        let mut new = Vec::new();
        for a in now_firing {
            let k = a.key();
            if !self.active.contains_key(&k) {
                new.push(a.clone());
            }
            next.insert(k, a);
        }
        let resolved = std::mem::take(&mut self.active)
            .into_iter()
            .filter(|(k, _)| !next.contains_key(k))
            .map(|(_, mut a)| {
                a.ends_ms = Some(now_ms);
                a
            })
            .collect();
        self.active = next;
        Changes {
            new,
            resolved,
            firing: self.active.values().cloned().collect(),
        }
    }
}

/// POSTs alerts to one URL on a thread of its own so a slow webhook never delays a scrape
/// (nor another webhook: each of an Alertmanager HA pair gets its own). A failed POST is
/// retried with exponential backoff; a batch that arrives meanwhile is merged into the one
/// being retried (alert by alert, newest first), so neither a resolution nor a new alert is
/// lost while Alertmanager is down, and the queue never grows.
pub(crate) struct Webhook {
    tx: SyncSender<Vec<PostableAlert>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The first retry's delay; each next one doubles, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(8);

/// Merges two batches by alert identity (its labels); `newer` wins.
fn merge(older: Vec<PostableAlert>, mut newer: Vec<PostableAlert>) -> Vec<PostableAlert> {
    let seen: std::collections::HashSet<BTreeMap<String, String>> =
        newer.iter().map(|a| a.labels.clone()).collect();
    newer.extend(older.into_iter().filter(|a| !seen.contains(&a.labels)));
    newer
}

impl Webhook {
    pub(crate) fn start(url: String, timeout: Duration, state: Arc<Mutex<State>>) -> Webhook {
        let (tx, rx) = mpsc::sync_channel::<Vec<PostableAlert>>(4);
        let agent = goleash_source::http::agent(timeout, 1);
        let spawned = std::thread::Builder::new()
            .name("webhook".into())
            .spawn(move || {
                let count = |ok: bool| {
                    if let Ok(mut s) = state.lock() {
                        if ok {
                            s.webhook_sent += 1;
                        } else {
                            s.webhook_errors += 1;
                        }
                    }
                };
                let mut open = true;
                while let Some(mut batch) = if open { rx.recv().ok() } else { None } {
                    let mut delay = RETRY_FIRST;
                    loop {
                        let body = serde_json::to_vec(&batch).unwrap_or_default();
                        let (ok, retry) =
                            match goleash_source::http::post_json(&agent, &url, timeout, &body) {
                                Ok(()) => (true, false),
                                Err(refused) => {
                                    eprintln!("goleash watch: webhook {}", refused.fault);
                                    (false, refused.retry)
                                }
                            };
                        count(ok);
                        if ok || !retry {
                            break;
                        }
                        // Wait for the backoff, taking in newer batches meanwhile; a batch run
                        // that is exiting (the channel closed) gets its retries all the same,
                        // bounded by `finish`'s patience.
                        let until = std::time::Instant::now() + delay;
                        loop {
                            let left = until.saturating_duration_since(std::time::Instant::now());
                            if left.is_zero() {
                                break;
                            }
                            if !open {
                                std::thread::sleep(left);
                                break;
                            }
                            match rx.recv_timeout(left) {
                                Ok(newer) => batch = merge(batch, newer),
                                Err(RecvTimeoutError::Timeout) => break,
                                Err(RecvTimeoutError::Disconnected) => open = false,
                            }
                        }
                        delay = (delay * 2).min(RETRY_MAX);
                    }
                    if !open {
                        break;
                    }
                }
            });
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                eprintln!("goleash watch: cannot start the webhook sender: {e}");
                None
            }
        };
        Webhook { tx, thread }
    }
    /// Lets the alerts already queued go out before a batch run exits, waiting at most
    /// `patience`.
    pub(crate) fn finish(self, patience: Duration) {
        let Webhook { tx, thread } = self;
        drop(tx);
        let Some(thread) = thread else { return };
        let deadline = std::time::Instant::now() + patience;
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if thread.is_finished() {
            let _ = thread.join();
        } else {
            eprintln!("goleash watch: the webhook did not take the last alerts in time");
        }
    }

    pub(crate) fn send(&self, body: Vec<PostableAlert>) {
        match self.tx.try_send(body) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                eprintln!("goleash watch: the webhook is behind; skipping one batch of alerts")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(target: &str, group: &str) -> Alert {
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), "GoroutineLeak".to_string());
        labels.insert("group".to_string(), group.to_string());
        Alert {
            name: "GoroutineLeak",
            target: target.into(),
            labels,
            summary: "s".into(),
            description: "d".into(),
            starts_ms: 1_000,
            ends_ms: None,
            epoch: 0,
            notes: BTreeMap::new(),
        }
    }

    #[test]
    fn new_still_firing_and_resolved() {
        let mut tracker = Tracker::default();
        let c = tracker.update(vec![alert("a", "1"), alert("a", "2")], 5_000);
        assert_eq!((c.new.len(), c.resolved.len(), c.firing.len()), (2, 0, 2));
        let c = tracker.update(vec![alert("a", "2")], 6_000);
        assert_eq!((c.new.len(), c.resolved.len(), c.firing.len()), (0, 1, 1));
        assert_eq!(c.resolved[0].ends_ms, Some(6_000));
        let body = serde_json::to_value(alertmanager_alerts(
            &c.resolved,
            "http://127.0.0.1:9102/",
            99_000,
        ))
        .unwrap();
        assert_eq!(body[0]["endsAt"], "1970-01-01T00:00:06.000Z");
        assert_eq!(body[0]["startsAt"], "1970-01-01T00:00:01.000Z");
        assert_eq!(body[0]["labels"]["group"], "1");
        assert_eq!(body[0]["generatorURL"], "http://127.0.0.1:9102/");
        assert!(body[0]["annotations"]["summary"].is_string());
        // A firing alert says until when it holds without a resend.
        let body = serde_json::to_value(alertmanager_alerts(
            &c.firing,
            "http://127.0.0.1:9102/",
            99_000,
        ))
        .unwrap();
        assert_eq!(body[0]["endsAt"], "1970-01-01T00:01:39.000Z");
    }

    #[test]
    fn batches_merge_by_alert_newest_first() {
        let a = |g: &str, ends: &str| PostableAlert {
            labels: BTreeMap::from([
                ("alertname".to_string(), "GoroutineLeak".to_string()),
                ("group".to_string(), g.to_string()),
            ]),
            annotations: BTreeMap::new(),
            starts_at: String::new(),
            ends_at: ends.into(),
            generator_url: String::new(),
        };
        let merged = merge(vec![a("1", "old"), a("2", "resolved")], vec![a("1", "new")]);
        assert_eq!(merged.len(), 2, "{merged:?}");
        assert_eq!(merged[0].ends_at, "new");
        assert_eq!(merged[1].labels["group"], "2", "the resolution is not lost");
    }

    #[test]
    fn the_payload_is_alertmanagers_postable_alert() {
        let mut firing = alert("127.0.0.1:1", "00000000000000aa");
        firing.notes.insert("verdict".into(), "likely".into());
        let json = serde_json::to_value(alertmanager_alerts(&[firing], "", 60_000)).unwrap();
        let one = &json[0];
        assert_eq!(one["annotations"]["verdict"], "likely");
        assert_eq!(one["endsAt"], "1970-01-01T00:01:00.000Z");
        assert!(one.get("generatorURL").is_none(), "{one}");
        assert!(one["startsAt"].is_string() && one["labels"].is_object());
    }
}
