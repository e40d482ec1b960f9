//! The live table of `goleash watch` (redrawn each round on a terminal) and the terminal view
//! of `history trend`: one line per target, then its growing groups, suspects first.

use goleash_watch::clock::{hms, human, now_ms};
use goleash_watch::state::State;
use goleash_watch::trend::TrendKind;

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The table: one line per target, then its growing groups (suspects first).
pub fn table(state: &State, color: bool) -> String {
    let mut out = String::new();
    let now = now_ms();
    if state.round == 0 && state.interval_ms == 0 {
        // `history trend`: a re-run of stored scrapes has no rounds and no interval.
        out.push_str(&format!(
            "goleash history trend · {} targets · window {}\n\n",
            state.active().count(),
            human(state.window_ms)
        ));
    } else {
        out.push_str(&format!(
            "goleash watch · {} targets · round {} · every {} · window {}\n\n",
            state.active().count(),
            state.round,
            human(state.interval_ms),
            human(state.window_ms)
        ));
    }
    out.push_str(&format!(
        "{:<44} {:>4} {:>10} {:>10} {:>8}\n",
        "TARGET", "UP", "GOROUTINES", "GROWTH/MIN", "SUSPECTS"
    ));
    for t in state.active() {
        let up = if t.up() {
            paint(color, "32", "yes")
        } else {
            paint(color, "31", "no")
        };
        let suspects = t.suspects();
        out.push_str(&format!(
            "{:<44} {:>4} {:>10} {:>10} {:>8}\n",
            t.target.url,
            up,
            t.total().map_or("-".into(), |v| format!("{v:.0}")),
            t.growth_per_min.map_or("-".into(), |g| format!("{g:+.1}")),
            suspects.len()
        ));
        if let Some(err) = t.last.as_ref().and_then(|l| l.error.as_ref()) {
            out.push_str(&format!("    {}\n", paint(color, "31", &err.message)));
        }
        let mut growing: Vec<_> = t
            .groups
            .iter()
            .filter(|(_, g)| g.trend.kind == TrendKind::Growing || g.is_suspect())
            .collect();
        growing.sort_by(|a, b| {
            b.1.is_suspect()
                .cmp(&a.1.is_suspect())
                .then(b.1.last().cmp(&a.1.last()))
        });
        for (_, g) in growing.iter().take(8) {
            let site = g.info.site.as_ref().map_or("?".into(), |s| s.short());
            let since = g
                .suspect_since
                .or(g.trend.since_ms)
                .map_or("-".into(), |s| {
                    format!("{} ({} ago)", hms(s), human(now - s))
                });
            let verdict = g.watch_verdict().name();
            let verdict = if g.is_suspect() {
                paint(color, "1;31", verdict)
            } else {
                verdict.to_string()
            };
            out.push_str(&format!(
                "    {:<60} {:>6} {:>+9.1}/min  {:<8} since {}\n",
                truncate(&site, 60),
                g.last(),
                g.trend.slope_per_min,
                verdict,
                since
            ));
        }
        if let (Some(rule), Some(g)) = (state.slo, t.slo_growth) {
            if t.slo_since.is_some() {
                out.push_str(&format!(
                    "    {}\n",
                    paint(
                        color,
                        "1;31",
                        &format!(
                            "total grows {g:+.1}/min over {} min (> {}/min)",
                            rule.minutes, rule.per_minute
                        )
                    )
                ));
            }
        }
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let tail: String = text
        .chars()
        .rev()
        .take(width - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use goleash_analyze::Verdict;

    use super::*;
    use goleash_watch::scrape::{Frame, GroupInfo};
    use goleash_watch::state::TargetState;
    use goleash_watch::trend::TrendParams;

    #[test]
    fn the_table_shows_targets_growing_groups_slope_and_since() {
        let site = Frame {
            function: "main.lookupBackend.func1".into(),
            file: "goleash.test/watch/leaky/main.go".into(),
            line: 22,
        };
        let info = Arc::new(GroupInfo {
            hash: 9,
            site: Some(site.clone()),
            category: "channel send".into(),
            state: Some("chan send".into()),
            creator: None,
            frames: vec![site],
        });
        let mut up = TargetState::new(Arc::new(
            goleash_watch::targets::parse_url("127.0.0.1:1").unwrap(),
        ));
        for i in 0..12u32 {
            up.push(
                1_000 * i64::from(i),
                100,
                [(9, 5 * i, Verdict::Possible, Some(Arc::clone(&info)))],
            );
        }
        let params = TrendParams {
            min_samples: 5,
            min_span_ms: 0,
            ..TrendParams::default()
        };
        up.evaluate(&params, None, 0);
        let mut down = TargetState::new(Arc::new(
            goleash_watch::targets::parse_url("127.0.0.1:2").unwrap(),
        ));
        down.record_result(
            5,
            0.1,
            &Err(goleash_source::http::Fault::new(
                goleash_source::http::FaultKind::Down,
                "127.0.0.1:2: refused",
            )),
        );
        let state = State {
            targets: vec![up, down],
            round: 12,
            interval_ms: 1000,
            window_ms: 600_000,
            ..State::default()
        };
        let table = table(&state, false);
        assert!(
            table.contains("round 12 · every 1s · window 10m"),
            "{table}"
        );
        let leak = table
            .lines()
            .find(|l| l.contains("main.lookupBackend.func1 (leaky/main.go:22)"))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(leak.contains(" 55 "), "{leak}");
        assert!(leak.contains("+300.0/min"), "{leak}");
        assert!(leak.contains("likely"), "{leak}");
        assert!(leak.contains("since 00:00:00"), "{leak}");
        assert!(table.contains("127.0.0.1:2: refused"), "{table}");
        let report =
            goleash_watch::report::WatchReport::of(&state, std::time::Duration::from_secs(1));
        assert_eq!(report.suspects, 1);
        assert!(!report.targets[1].up);
        // The batch summary: counts as counts, and a target never reached says so.
        let summary = crate::watch::summary(&report);
        assert!(
            summary.contains("/debug/pprof [DOWN] 100 goroutines,"),
            "{summary}"
        );
        assert!(
            summary.contains("127.0.0.1:2/debug/pprof [DOWN] no successful scrape,"),
            "{summary}"
        );
        // `history trend` re-runs stored scrapes: no round count, no interval to show.
        let rerun = State {
            round: 0,
            interval_ms: 0,
            ..state
        };
        let header = super::table(&rerun, false);
        assert!(
            header.starts_with("goleash history trend · 2 targets · window 10m"),
            "{header}"
        );
    }
}
