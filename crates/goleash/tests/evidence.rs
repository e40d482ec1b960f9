//! Static findings meet runtime stacks, both ways, on a real leaking program
//! (testdata/scenarios/forgotten_sender, whose dumps in testdata/dumps were captured from it):
//! `analyze --source` gives the leaking group the lint finding at its line, and
//! `lint --evidence` marks that finding confirmed (text, JSON, SARIF) and can gate on it.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::root;

fn goleash() -> Command {
    let mut cmd = Command::cargo_bin("goleash").unwrap();
    cmd.current_dir(root());
    cmd
}

const PROGRAM: &str = "testdata/scenarios/forgotten_sender/main.go";
const ITS_DUMP: &str = "testdata/dumps/forgotten_sender/goroutine.debug2.txt";
const OTHER_DUMP: &str = "testdata/dumps/nil_channel/goroutine.debug2.txt";

#[test]
fn analyze_with_source_gives_the_leaking_group_its_lint_finding() {
    let out = goleash()
        .args([
            "analyze",
            ITS_DUMP,
            "--source",
            "testdata/scenarios",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = json["groups"].as_array().unwrap();
    let leak = groups.iter().find(|g| g["count"] == 12).unwrap();
    let findings = leak["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{leak:#}"));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["code"], "GL001");
    assert_eq!(findings[0]["line"], 27);
    assert_eq!(findings[0]["file"], PROGRAM);
    // The other group (the program's own long-lived goroutine) has none: no field at all.
    assert!(groups
        .iter()
        .filter(|g| g["count"] != 12)
        .all(|g| g.get("findings").is_none()));

    // Without --source nothing is linted, and the JSON is as before.
    let out = goleash()
        .args(["analyze", ITS_DUMP, "--format", "json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"findings\""));

    // The terminal and the page say it too.
    let text = goleash()
        .args([
            "analyze",
            ITS_DUMP,
            "--source",
            "testdata/scenarios",
            "--color",
            "never",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "lint     GL001 forgotten-sender at testdata/scenarios/forgotten_sender/main.go:27"
        ),
        "{text}"
    );
    let html = goleash()
        .args([
            "analyze",
            ITS_DUMP,
            "--source",
            "testdata/scenarios",
            "--format",
            "html",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&html.stdout).contains("\"findings\":[{\"code\":\"GL001\""));
}

#[test]
fn lint_with_evidence_confirms_the_finding_and_gates_on_it() {
    let out = goleash()
        .args(["lint", PROGRAM, "--format", "json", "--evidence", ITS_DUMP])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    let first = &diagnostics[0];
    assert_eq!(
        first["code"], "GL001",
        "confirmed findings come first: {diagnostics:#?}"
    );
    assert_eq!(first["evidence"]["goroutines"], 12);
    assert_eq!(first["evidence"]["source"], ITS_DUMP);
    assert!(first["evidence"]["site"]
        .as_str()
        .unwrap()
        .starts_with("main.fetchResult.func1"));

    let sarif = goleash()
        .args(["lint", PROGRAM, "--format", "sarif", "--evidence", ITS_DUMP])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["rank"], 100.0);
    assert_eq!(result["properties"]["confirmed"], true);

    // The gate: only confirmed findings, exit 1 on them ...
    let gate = goleash()
        .args([
            "lint",
            PROGRAM,
            "--format",
            "json",
            "--confirmed-only",
            "--evidence",
            ITS_DUMP,
        ])
        .output()
        .unwrap();
    assert_eq!(gate.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&gate.stdout).unwrap();
    assert!(json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d.get("evidence").is_some()));
    // ... and another program's goroutines confirm nothing here.
    let other = goleash()
        .args([
            "lint",
            PROGRAM,
            "--format",
            "json",
            "--confirmed-only",
            "--evidence",
            OTHER_DUMP,
        ])
        .output()
        .unwrap();
    assert_eq!(
        other.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let json: Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(json["diagnostics"].as_array().unwrap().len(), 0);

    // Evidence that cannot be read is an error naming it, not a silent "nothing confirmed".
    let missing = goleash()
        .args([
            "lint",
            PROGRAM,
            "--evidence",
            "testdata/dumps/no-such-dump.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-dump.txt"));
}
