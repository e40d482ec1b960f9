//! Every format `goleash watch` and `goleash history` write: the live table, the batch
//! summary and JSON, Prometheus `/metrics`, the dashboard page and its JSON, and the history
//! listings. The watcher calls them through [`WatchRenderer`].

mod history;
mod live;
mod metrics;
mod summary;

pub use history::{groups, series, targets, trend, ExportWriter, Table};
pub use live::table;
pub use metrics::metrics;
pub use summary::summary;

use goleash_watch::report::{SeriesReport, WatchReport};
use goleash_watch::state::State;

/// The dashboard: one self-contained page that polls `/api/state` and `/api/series`.
const DASHBOARD: &str = include_str!("dashboard.html");

/// The batch report for machines (`--format json`), as documented in docs/watch.md.
pub fn json(report: &WatchReport) -> String {
    pretty(report)
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}

/// goleash-report's writer for what the watcher shows while it runs.
pub struct WatchRenderer;

impl goleash_watch::render::Render for WatchRenderer {
    fn table(&self, state: &State, color: bool) -> String {
        live::table(state, color)
    }

    fn metrics(&self, state: &State) -> String {
        metrics::metrics(state)
    }

    fn dashboard(&self) -> &'static str {
        DASHBOARD
    }

    fn state_json(&self, report: &WatchReport) -> String {
        serde_json::to_string(report).unwrap_or_default()
    }

    fn series_json(&self, series: &SeriesReport) -> String {
        serde_json::to_string(series).unwrap_or_default()
    }
}
