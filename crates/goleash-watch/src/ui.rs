//! What a person sees: a live table redrawn every round with a heartbeat line under it, or
//! one line per event when the output is not a terminal; and the JSON report of a batch run.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::alert::Alert;
use crate::clock::{hms, human, now_ms};
use crate::state::State;

/// How the watcher reports while it runs.
pub enum Display {
    /// A terminal: the table is redrawn each round, events are kept under it.
    Live { events: Mutex<VecDeque<String>> },
    /// A pipe or a log file: one line per event (new suspect, resolved, target errors).
    Log,
    /// Batch mode with a JSON report: only problems, on stderr.
    Quiet,
}

impl Display {
    pub fn live() -> Display {
        Display::Live {
            events: Mutex::new(VecDeque::new()),
        }
    }

    pub fn note(&self, text: &str) {
        let line = format!("{} {text}", hms(now_ms()));
        match self {
            Display::Live { events } => push_event(events, line),
            Display::Log | Display::Quiet => eprintln!("goleash watch: {line}"),
        }
    }

    pub fn alert(&self, alert: &Alert, resolved: bool) {
        let word = if resolved { "RESOLVED" } else { "ALERT" };
        let line = format!(
            "{} {word} {} {}: {}",
            hms(now_ms()),
            alert.name,
            alert.target,
            alert.summary
        );
        match self {
            Display::Live { events } => push_event(events, line),
            Display::Log => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Display::Quiet => {}
        }
    }

    pub fn table(&self, table: &str) {
        if let Display::Live { events } = self {
            let mut out = std::io::stdout().lock();
            // Home and clear, then the table: a redraw without a curses dependency.
            let _ = write!(out, "\x1b[H\x1b[2J{table}");
            if let Ok(ev) = events.lock() {
                if !ev.is_empty() {
                    let _ = writeln!(out, "\nrecent events:");
                    for e in ev.iter() {
                        let _ = writeln!(out, "  {e}");
                    }
                }
            }
            let _ = out.flush();
        }
    }
}

fn push_event(events: &Mutex<VecDeque<String>>, line: String) {
    if let Ok(mut ev) = events.lock() {
        ev.push_back(line);
        while ev.len() > 10 {
            ev.pop_front();
        }
    }
}

/// The line under the table that shows the watcher is alive between rounds.
pub struct Heartbeat {
    bar: Option<ProgressBar>,
}

impl Heartbeat {
    pub fn new(display: &Display) -> Heartbeat {
        let bar = matches!(display, Display::Live { .. }).then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Heartbeat { bar }
    }

    pub fn tick(&mut self, state: &State, next_in: Duration) {
        let Some(bar) = &self.bar else { return };
        let up = state.targets.iter().filter(|t| t.up()).count();
        let suspects: usize = state.targets.iter().map(|t| t.suspects().len()).sum();
        bar.set_message(format!(
            "round {} · {up}/{} targets up · {suspects} suspect(s) · last round {:.2}s · next in {:.1}s",
            state.round,
            state.targets.len(),
            state.last_round_s,
            next_in.as_secs_f64()
        ));
        bar.tick();
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The table: one line per target, then its growing groups (suspects first).
pub fn render_table(state: &State, color: bool) -> String {
    let mut out = String::new();
    let now = now_ms();
    out.push_str(&format!(
        "goleash watch · {} targets · round {} · every {} · window {}\n\n",
        state.targets.len(),
        state.round,
        human(state.interval_ms),
        human(state.window_ms)
    ));
    out.push_str(&format!(
        "{:<44} {:>4} {:>10} {:>10} {:>8}\n",
        "TARGET", "UP", "GOROUTINES", "GROWTH/MIN", "SUSPECTS"
    ));
    for t in &state.targets {
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
            .filter(|(_, g)| g.trend.kind == crate::trend::TrendKind::Growing || g.is_suspect())
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
    use crate::scrape::{Frame, GroupInfo};
    use crate::state::TargetState;
    use crate::trend::TrendParams;

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
        let mut up = TargetState::new(Arc::new(crate::targets::parse_url("127.0.0.1:1").unwrap()));
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
        let mut down =
            TargetState::new(Arc::new(crate::targets::parse_url("127.0.0.1:2").unwrap()));
        down.record_result(
            5,
            0.1,
            &Err(crate::fetch::Fault::new(
                crate::fetch::FaultKind::Down,
                "127.0.0.1:2: refused",
            )),
        );
        let state = State {
            targets: vec![up, down],
            round: 12,
            started_ms: 0,
            interval_ms: 1000,
            window_ms: 600_000,
            last_round_s: 0.0,
            rounds_overrun: 0,
            db_errors: 0,
            db_bytes: 0,
            webhook_errors: 0,
            webhook_sent: 0,
            slo: None,
        };
        let table = render_table(&state, false);
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
        let report = crate::report::WatchReport::of(&state, Duration::from_secs(1));
        assert_eq!(report.suspects, 1);
        assert!(!report.targets[1].up);
    }
}
