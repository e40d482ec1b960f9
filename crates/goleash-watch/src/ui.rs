//! What a person sees: a live table redrawn every round with a heartbeat line under it, or
//! one line per event when the output is not a terminal. What the table says is written by
//! goleash-report ([`crate::render::Render`]).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::alert::Alert;
use crate::clock::{hms, now_ms};
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
        let up = state.active().filter(|t| t.up()).count();
        let suspects: usize = state.active().map(|t| t.suspects().len()).sum();
        bar.set_message(format!(
            "round {} · {up}/{} targets up · {suspects} suspect(s) · last round {:.2}s · next in {:.1}s",
            state.round,
            state.active().count(),
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
