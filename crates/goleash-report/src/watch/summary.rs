//! The terminal report at the end of `goleash watch --once`/`--rounds`.

use goleash_watch::report::WatchReport;

/// The terminal report at the end of a batch run.
pub fn summary(report: &WatchReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "goleash watch: {} round(s), {} target(s), {} leak suspect(s)\n",
        report.rounds,
        report.targets.len(),
        report.suspects
    ));
    for t in &report.targets {
        let state = if t.up { "up" } else { "DOWN" };
        // The total is a count (a float only because rates are): never "5.0 goroutines".
        let total = t.total.map_or_else(
            || "no successful scrape".to_string(),
            |n| format!("{n:.0} goroutines"),
        );
        out.push_str(&format!(
            "\n{} [{state}] {total}, {}\n",
            t.url,
            rate_text(t.growth_per_min, t.growth_interval_per_min)
        ));
        if let Some(err) = t.last.as_ref().and_then(|l| l.error.as_ref()) {
            out.push_str(&format!("  last error: {}\n", err.message));
        }
        for g in t.groups.iter().filter(|g| g.suspect) {
            let (function, file, line) = g
                .site
                .as_ref()
                .map_or(("?", "?", 0), |s| (&*s.function, &*s.file, s.line));
            out.push_str(&format!(
                "  LEAK {} {function} ({file}:{line}) {} goroutines, {}, trend {}, {}\n",
                g.verdict.name(),
                g.count,
                rate_text(g.rate_per_min, g.rate_interval_per_min),
                g.trend.name(),
                g.state.as_deref().unwrap_or(&g.category)
            ));
        }
    }
    out
}

/// `+12.3/min (95% 10.1 to 14.2)`, or a dash when there were too few scrapes for a rate.
fn rate_text(rate: Option<f64>, interval: Option<[f64; 2]>) -> String {
    match (rate, interval) {
        (Some(r), Some([lo, hi])) => format!("{r:+}/min (95% {lo} to {hi})"),
        (Some(r), None) => format!("{r:+}/min"),
        _ => "-/min (too few scrapes for a rate)".into(),
    }
}
