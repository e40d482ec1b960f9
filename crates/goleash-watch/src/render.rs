//! What the watcher shows while it runs (the live table, `/metrics`, the dashboard and its
//! JSON) is written by goleash-report, which depends on this crate; the binary hands the
//! writer in through this trait, so the one-way flow holds.

use crate::report::{SeriesReport, WatchReport};
use crate::state::State;

pub trait Render: Send + Sync {
    /// The live table, redrawn each round on a terminal.
    fn table(&self, state: &State, color: bool) -> String;
    /// The Prometheus text exposition.
    fn metrics(&self, state: &State) -> String;
    /// The dashboard page (it draws from the two JSON documents below).
    fn dashboard(&self) -> &'static str;
    /// `/api/state`.
    fn state_json(&self, report: &WatchReport) -> String;
    /// `/api/series?target=N`.
    fn series_json(&self, series: &SeriesReport) -> String;
    /// The `/metrics` samples as remote-write points at `ts_ms`.
    fn points(&self, state: &State, ts_ms: i64) -> Vec<crate::remote_write::Point>;
}

/// The full goleash report page of one target, made on demand (`/report?target=N`): the
/// binary fetches the target's profiles and renders them as `analyze --format html` would.
pub type TargetPage = std::sync::Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;
