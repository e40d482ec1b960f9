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

    fn points(&self, state: &State, ts_ms: i64) -> Vec<goleash_watch::remote_write::Point> {
        metrics::points(state, ts_ms)
    }
}

#[cfg(test)]
mod tests {
    /// The dashboard's pure functions, run under node: legends that tell two stacks at one
    /// line apart, a group without frames named as such, lines broken at gaps, round ticks.
    #[test]
    fn dashboard_labels_gaps_and_ticks() {
        let page = super::DASHBOARD;
        let begin = page.find("// pure: begin").expect("pure block");
        let end = page.find("// pure: end").expect("pure block end");
        let script = format!(
            "{}\n{}",
            &page[begin..end],
            r#"
const assert = require("assert");
const names = labels([
  { hash: "aaaaaaaa00000001", site: "main.f (a.go:3)" },
  { hash: "bbbbbbbb00000002", site: "main.f (a.go:3)" },
  { hash: "cccccccc00000003", site: "main.g (a.go:9)" },
  { hash: "dddddddd00000004", site: null },
]);
assert.notStrictEqual(names["aaaaaaaa00000001"], names["bbbbbbbb00000002"]);
assert.strictEqual(names["cccccccc00000003"], "main.g (a.go:9)");
assert.strictEqual(names["dddddddd00000004"], "(no frames) dddddddd00000004");
// Every 10 s, then 2 minutes without a scrape, then every 10 s again.
assert.deepStrictEqual(segments([0, 10e3, 20e3, 30e3, 150e3, 160e3, 170e3]), [[0, 4], [4, 7]]);
assert.deepStrictEqual(segments([0, 10e3, 21e3, 30e3]), [[0, 4]]);
assert.deepStrictEqual(segments([5]), [[0, 1]]);
assert.deepStrictEqual(segments([]), []);
assert.strictEqual(niceStep(87, 5), 20);
assert.strictEqual(niceStep(1000, 5), 200);
assert.strictEqual(niceStep(3, 5), 1);
"#
        );
        use std::io::Write;
        let mut node = std::process::Command::new("node")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("node runs the dashboard's script tests (the machine's Node.js)");
        node.stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = node.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
