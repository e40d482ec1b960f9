//! Exit codes every subcommand shares, so CI can tell findings from failures.

use std::process::ExitCode;

/// Nothing at or above the failure threshold.
pub const CLEAN: u8 = 0;
/// Findings at or above the failure threshold.
pub const FINDINGS: u8 = 1;
/// Bad input, bad usage, or goleash itself failed.
pub const ERROR: u8 = 2;
/// `watch --once/--rounds`: no finding, but some targets were down at the end, so the run
/// could not look at them (a CI smoke check must not pass on a dead service).
pub const TARGETS_DOWN: u8 = 3;

pub fn code(value: u8) -> ExitCode {
    ExitCode::from(value)
}
