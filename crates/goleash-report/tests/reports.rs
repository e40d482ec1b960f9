//! Snapshots of every report format on real fixtures, so a change in what users read is a
//! reviewed change (`cargo insta review`).

use std::path::Path;

use goleash_analyze::{analyze, diff, merge_snapshots, Analysis, Config};
use goleash_parse::{parse, Limits};
use goleash_report::{Style, TerminalOptions};

fn load(paths: &[&str]) -> Analysis {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dumps");
    let snapshots = paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(root.join(p)).unwrap();
            // Names without the machine's directory keep the snapshots portable.
            parse(p, &bytes[..], Limits::default()).unwrap()
        })
        .collect();
    analyze(&merge_snapshots(snapshots), &Config::default())
}

fn terminal(analysis: &Analysis, full: bool) -> String {
    goleash_report::analysis_terminal(
        analysis,
        TerminalOptions {
            style: Style { color: false },
            full,
            min_verdict: None,
            listings: None,
        },
    )
}

#[test]
fn terminal_ws_pump_with_leak_profile() {
    let analysis = load(&[
        "ws_pump/goroutine.debug2.txt",
        "ws_pump/goroutineleak.pb.gz",
    ]);
    insta::assert_snapshot!(terminal(&analysis, false));
}

#[test]
fn terminal_full_stacks_of_a_protobuf_profile() {
    let analysis = load(&["http_no_timeout/goroutine.pb.gz"]);
    insta::assert_snapshot!(terminal(&analysis, true));
}

#[test]
fn terminal_ancestors_and_skipped_text() {
    insta::assert_snapshot!(terminal(&load(&["formats/ancestors.txt"]), false));
    insta::assert_snapshot!(terminal(&load(&["formats/test_timeout.txt"]), false));
}

#[test]
fn markdown_lock_order_deadlock() {
    let analysis = load(&[
        "lock_order_deadlock/goroutine.debug2.txt",
        "lock_order_deadlock/goroutineleak.debug1.txt",
    ]);
    insta::assert_snapshot!(goleash_report::analysis_markdown(&analysis));
}

#[test]
fn json_forgotten_sender() {
    let analysis = load(&[
        "forgotten_sender/goroutine.debug2.txt",
        "forgotten_sender/goroutineleak.pb.gz",
    ]);
    insta::assert_snapshot!(goleash_report::analysis_json(&analysis));
}

#[test]
fn diff_between_two_scenarios() {
    let base = load(&["worker_pool_ctx/goroutine.debug2.txt"]);
    let current = load(&["ws_pump/goroutine-after-leakgc.debug2.txt"]);
    let d = diff(&base, &current);
    insta::assert_snapshot!(goleash_report::diff_terminal(
        &d,
        TerminalOptions::default()
    ));
    insta::assert_snapshot!(goleash_report::diff_markdown(&d));
}
