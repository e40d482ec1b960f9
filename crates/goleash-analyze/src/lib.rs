//! Turns a [`Snapshot`](goleash_model::Snapshot) into judged groups: where each group is
//! blocked, who started it, what kind of wait it is, whether it is a leak, and what to fix.

#![warn(unreachable_pub)]

mod classify;
mod code;
mod diff;
mod evidence;
mod expected;
mod group;
mod merge;
mod settings;
mod verdict;

pub use classify::{classify, Category};
pub use code::{is_runtime_frame, is_stdlib_function, package_of};
pub use diff::{diff, Change, Diff, DiffGroup};
pub use evidence::{attach, confirm, Confirmation, EvidenceGroup, StaticFinding};
pub use expected::{ExpectedPattern, Policy};
pub use group::{analyze, Analysis, FrameView, Group, GroupBy, LabelSet};
pub use merge::{fill_counts_from_profile, merge_snapshots};
pub use settings::{Expect, Settings};
pub use verdict::Verdict;

/// What the analysis needs to know beyond the snapshot itself.
#[derive(Clone, Debug)]
pub struct Config {
    /// Blocked at least this many minutes on a primitive that can leak makes a group `likely`.
    pub likely_after_minutes: u32,
    /// Without wait times, this many goroutines blocked at one channel site make it `likely`.
    pub crowd_threshold: u64,
    /// Module or package prefixes of the user's own code; empty: everything not in the
    /// standard library.
    pub user_prefixes: Vec<String>,
    /// Goroutines the user knows to be long-lived.
    pub expected: Vec<ExpectedPattern>,
    pub group_by: GroupBy,
    /// Whose goroutines these are: a running program's, or what a test left behind.
    pub policy: Policy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            likely_after_minutes: 10,
            crowd_threshold: 1000,
            user_prefixes: Vec::new(),
            expected: Vec::new(),
            group_by: GroupBy::Stack,
            policy: Policy::Production,
        }
    }
}
