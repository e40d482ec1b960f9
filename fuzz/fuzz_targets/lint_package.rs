//! Any text as a Go package of two files (split at the first NUL, or one file), every rule on:
//! the per-file rules and the package model with its lock walk must never panic.
#![no_main]

use goleash_lint::engine::{lint_units, SourceUnit};
use goleash_lint::RuleSelection;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\0').unwrap_or((&text, ""));
    let unit = |name: &str, src: &str, report: bool| SourceUnit {
        display: name.to_string(),
        src: src.to_string(),
        is_test: name.ends_with("_test.go"),
        go_version: None,
        report,
    };
    let units = [unit("a.go", a, true), unit("b_test.go", b, false)];
    let selection = RuleSelection {
        select: Some(vec!["ALL".to_string()]),
        ..RuleSelection::default()
    };
    for d in lint_units(&units, &selection) {
        assert!(d.span.start <= d.span.end);
    }
});
