//! `goleash history`: reads the store a watcher wrote, and re-runs the trend analysis on it
//! offline (with other parameters, or at an earlier moment).

use std::sync::Arc;

use crate::fetch::{Fault, FaultKind};
use crate::state::{SloRule, State, TargetState};
use crate::store::{Store, StoreError, TargetRow};
use crate::targets::parse_url;
use crate::trend::TrendParams;

/// Finds a target by its id, its URL as stored, or a URL that normalises to it.
pub fn resolve_target(store: &Store, spec: &str) -> Result<TargetRow, StoreError> {
    let rows = store.targets()?;
    if let Ok(id) = spec.parse::<i64>() {
        if let Some(row) = rows.iter().find(|r| r.id == id) {
            return Ok(row.clone());
        }
    }
    let url = parse_url(spec)
        .map(|t| t.url)
        .unwrap_or_else(|_| spec.to_string());
    rows.into_iter()
        .find(|r| r.url == spec || r.url == url)
        .ok_or_else(|| {
            StoreError(format!(
                "no target `{spec}` in the history; `goleash history targets` lists them"
            ))
        })
}

/// Rebuilds each target's window ending at `until_ms` (default: its last scrape) and judges
/// it as the watcher would have.
pub fn rerun(
    store: &Store,
    targets: &[TargetRow],
    window_ms: i64,
    until_ms: Option<i64>,
    params: &TrendParams,
    slo: Option<SloRule>,
) -> Result<State, StoreError> {
    let mut states = Vec::new();
    for row in targets {
        let end = until_ms.or(row.last_ms).unwrap_or(0);
        let scrapes = store.load_window(row.id, end - window_ms, end)?;
        let infos = store.group_infos_of(&scrapes)?;
        let target = crate::targets::Target {
            url: row.url.clone(),
            labels: row.labels.clone(),
        };
        let mut t = TargetState::new(Arc::new(target));
        t.db_id = Some(row.id);
        for s in &scrapes {
            t.scrapes += 1;
            let Some(total) = s.total else {
                *t.errors
                    .entry(kind_of(s.error_kind.as_deref()))
                    .or_default() += 1;
                continue;
            };
            // The watcher stored the epoch it judged each scrape in: replay its restarts so
            // the rerun's windows, verdicts and recurring leaks are per epoch like its own.
            if s.epoch != t.epoch && t.total().is_some() {
                // Judge the epoch that ends, so its growth counts for the recurring rule.
                t.trim(window_ms);
                t.evaluate(params, slo, t.times.back().copied().unwrap_or(s.ts_ms));
                t.start_epoch(s.ts_ms, total);
                t.epoch = s.epoch;
            } else {
                t.epoch = s.epoch;
            }
            t.push_stored(s, total, |hash| {
                infos.get(&hash).map(|i| Arc::new(i.clone()))
            });
        }
        t.trim(window_ms);
        // The stamp of new suspects is the window's end, not the wall clock of the rerun.
        t.evaluate(params, slo, end);
        t.last = scrapes.last().map(|s| crate::state::LastScrape {
            ts_ms: s.ts_ms,
            duration_ms: 0,
            format: None,
            bytes: 0,
            error: s
                .error
                .clone()
                .map(|m| Fault::new(kind_of(s.error_kind.as_deref()), m)),
        });
        states.push(t);
    }
    Ok(State {
        targets: states,
        round: 0,
        started_ms: 0,
        interval_ms: 0,
        window_ms,
        db_bytes: store.bytes(),
        slo,
        ..State::default()
    })
}

/// Pretty JSON of anything the store returns, newline-terminated.
/// One point of a series: a scrape's count of the group (or the total), or why it failed.
#[derive(Debug, serde::Serialize)]
pub struct SeriesPoint {
    pub ts_ms: i64,
    pub time: String,
    pub epoch: u32,
    pub count: Option<u64>,
    pub error: Option<String>,
}

/// The series of one group (`hash`) or of the total (`None`) since `since_ms`.
pub fn series_points(
    store: &Store,
    target_id: i64,
    hash: Option<u64>,
    since_ms: i64,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let scrapes = store.load_window(target_id, since_ms, i64::MAX)?;
    Ok(scrapes
        .iter()
        .map(|s| SeriesPoint {
            ts_ms: s.ts_ms,
            time: crate::clock::rfc3339(s.ts_ms),
            epoch: s.epoch,
            count: match (hash, s.total) {
                (_, None) => None,
                (None, Some(total)) => Some(total),
                // A group absent from a scrape that succeeded had no goroutines then.
                (Some(h), Some(_)) => Some(s.groups.iter().find(|g| g.0 == h).map_or(0, |g| g.1)),
            },
            error: s.error.clone(),
        })
        .collect())
}

/// One row of `history export`: a group's count at one scrape.
#[derive(Debug, serde::Serialize)]
pub struct ExportRow<'a> {
    pub ts_ms: i64,
    pub target: &'a str,
    pub group: String,
    pub site: &'a str,
    pub count: u64,
    pub verdict: goleash_analyze::Verdict,
}

/// The fault kind a stored scrape names (`down` for rows that name none).
fn kind_of(name: Option<&str>) -> FaultKind {
    FaultKind::ALL
        .into_iter()
        .find(|k| Some(k.name()) == name)
        .unwrap_or(FaultKind::Down)
}

/// Every group a history holds, as evidence for `goleash lint --evidence`: its largest count
/// and most serious verdict over the whole history, on any target.
pub fn evidence(store: &Store) -> Result<Vec<goleash_analyze::EvidenceGroup>, StoreError> {
    let mut out = Vec::new();
    for target in store.targets()? {
        for row in store.groups(target.id, 0, i64::MAX)? {
            let Some(info) = row.info else { continue };
            out.push(goleash_analyze::EvidenceGroup {
                frames: info
                    .frames
                    .iter()
                    .chain(info.creator.iter())
                    .map(|f| (f.file.to_string(), f.line))
                    .collect(),
                count: row.max_count,
                verdict: row.max_verdict,
                site: row.site,
            });
        }
    }
    Ok(out)
}
