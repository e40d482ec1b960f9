//! Reports: a terminal view for people, stable JSON for machines, Markdown for tickets.

#![warn(unreachable_pub)]

pub mod gotest;
mod html;
mod json;
pub mod lint;
mod markdown;
pub mod sarif;
mod style;
mod terminal;
pub mod watch;

pub use html::{analysis_html, diff_html, test_html, Listings};
pub use json::{analysis_json, diff_json, SCHEMA_ANALYSIS, SCHEMA_DIFF};
pub use markdown::{analysis_markdown, diff_markdown};
pub use style::Style;
pub use terminal::{analysis_terminal, diff_terminal, TerminalOptions};

use goleash_analyze::{FrameView, Group};

/// Frames worth showing when the stack is folded: every user frame, plus the one
/// standard-library frame just leafward of the first user frame (the call that blocks).
pub(crate) fn folded_frames(group: &Group) -> Vec<(usize, &FrameView)> {
    let first_user = group.frames.iter().position(|f| f.user);
    group
        .frames
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            f.user || first_user.is_some_and(|u| *i + 1 == u) || first_user.is_none() && *i < 3
        })
        .collect()
}

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

pub(crate) fn wait_text(group: &Group) -> Option<String> {
    group.wait_minutes.map(|w| {
        if w.min == w.max {
            format!("{} min", w.max)
        } else {
            format!("{}–{} min", w.min, w.max)
        }
    })
}

pub(crate) fn labels_text(labels: &goleash_analyze::LabelSet) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", inner.join(", "))
}
