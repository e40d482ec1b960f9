//! `goleash trace`: execution traces of the scenario programs (testdata/traces, made by
//! scripts/gen-traces.sh from the same programs as testdata/dumps) give the groups, blocking
//! sites, categories and verdicts of their dumps, in every report format; and a live process
//! traced over HTTP.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use support::{go_build, root, LoopbackProcess};

fn goleash() -> Command {
    Command::cargo_bin("goleash").unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = goleash().args(args).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "{args:?}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every group as (site function, site file, creator function, count, state, category,
/// verdict), leaving out the main goroutine of internal/snap, which is taking the dump in
/// one and stopping the trace in the other.
fn groups(json: &Value) -> BTreeSet<String> {
    json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            !g["site"]["function"]
                .as_str()
                .unwrap()
                .contains("scenarios/internal/snap.")
        })
        .map(|g| {
            format!(
                "{} {} created by {} ×{} [{}] {} {}",
                g["site"]["function"].as_str().unwrap(),
                g["site"]["file"].as_str().unwrap(),
                g["creator"]["function"].as_str().unwrap_or("-"),
                g["count"],
                g["state"].as_str().unwrap_or("-"),
                g["category"].as_str().unwrap(),
                g["verdict"].as_str().unwrap(),
            )
        })
        .collect()
}

fn scenarios() -> Vec<(String, String, u64)> {
    let text = std::fs::read_to_string(root().join("testdata/scenarios/MANIFEST.tsv")).unwrap();
    let rows: Vec<(String, String, u64)> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                cols[3].to_string(),
                cols[5].parse().unwrap(),
            )
        })
        .collect();
    assert!(rows.len() >= 14);
    rows
}

#[test]
fn every_scenario_trace_agrees_with_its_dump() {
    let mut failures = Vec::new();
    for (name, site, count) in scenarios() {
        let trace = root().join(format!("testdata/traces/{name}.trace"));
        let dump = root().join(format!("testdata/dumps/{name}/goroutine.debug2.txt"));
        let from_trace = json_of(&[
            "trace",
            trace.to_str().unwrap(),
            "--format",
            "json",
            "--show",
            "all",
        ]);
        let from_dump = json_of(&[
            "analyze",
            dump.to_str().unwrap(),
            "--format",
            "json",
            "--show",
            "all",
        ]);
        let (t, d) = (groups(&from_trace), groups(&from_dump));
        if t != d {
            failures.push(format!("{name}:\n  trace: {t:#?}\n  dump:  {d:#?}",));
        }
        if !t.iter().any(|g| g.starts_with(&format!("{site} "))) {
            failures.push(format!("{name}: no group at {site}"));
        }
        assert_eq!(
            from_trace["sources"][0]["format"], "execution_trace",
            "{name}"
        );
        // The scenario's goroutines were all created during the trace (by one or more `go`
        // statements) and none ended.
        let notes: Vec<&str> = from_trace["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        // The `go` statements of the site's groups, as the notes name them.
        let creators: BTreeSet<String> = from_trace["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["site"]["function"] == site.as_str())
            .map(|g| {
                let c = &g["creator"];
                format!(
                    "created during the trace at {} ({}:{}) running ",
                    c["function"].as_str().unwrap(),
                    c["file"].as_str().unwrap(),
                    c["line"]
                )
            })
            .collect();
        let (mut created, mut alive) = (0u64, 0u64);
        for note in &notes {
            if !creators.iter().any(|c| note.starts_with(c.as_str())) {
                continue;
            }
            let Some((_, counts)) = note.split_once(": ") else {
                continue;
            };
            let numbers: Vec<u64> = counts
                .split([' ', ','])
                .filter_map(|w| w.parse().ok())
                .collect();
            created += numbers[0];
            alive += numbers[2];
        }
        if (created, alive) != (count, count) {
            failures.push(format!(
                "{name}: {created} created and {alive} alive at {site}, want {count}: {notes:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_report_format_reads_a_trace() {
    let trace = root().join("testdata/traces/forgotten_sender.trace");
    let trace = trace.to_str().unwrap();
    for (format, marker) in [
        ("terminal", "main.fetchResult.func1"),
        ("markdown", "main.fetchResult.func1"),
        ("html", "<html"),
        ("json", "\"execution_trace\""),
    ] {
        let out = goleash()
            .args(["trace", trace, "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{format}: {text}");
        assert!(
            text.contains("12 created, 0 ended, 12 still alive"),
            "{format}: the created-vs-ended note"
        );
    }
    // nil channels block forever: proven, and the exit code says so.
    let nil = root().join("testdata/traces/nil_channel.trace");
    let out = goleash()
        .args(["trace", nil.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_truncated_trace_is_read_to_its_last_whole_generation_with_a_note() {
    let bytes = std::fs::read(root().join("testdata/traces/forgotten_sender.trace")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.trace");
    std::fs::write(&cut, &bytes[..bytes.len() - 1000]).unwrap();
    let json = json_of(&["trace", cut.to_str().unwrap(), "--format", "json"]);
    let notes = json["notes"].to_string();
    assert!(notes.contains("cut short"), "{notes}");
    let not_a_trace = dir.path().join("x.trace");
    std::fs::write(&not_a_trace, b"go 1.26 trace\0\0\0\x07garbage").unwrap();
    let out = goleash()
        .args(["trace", not_a_trace.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("at byte 16") && err.contains("where a batch was expected"),
        "{err}"
    );
}

#[test]
fn a_live_process_traced_over_http() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pprofserver");
    let dir = go_build("testdata/scenarios", &["./pprofserver"], &out);
    let server = LoopbackProcess::start(&dir.join("pprofserver"), &["-addr", "127.0.0.1:0"]);
    let json = json_of(&["trace", &server.base, "--seconds", "1", "--format", "json"]);
    let source = json["sources"][0]["name"].as_str().unwrap();
    assert_eq!(
        source,
        format!("{}/debug/pprof/trace?seconds=1", server.base)
    );
    // The five senders leaked at start-up, before the trace: their reason comes from their
    // stacks (the runtime's GoStatusStack events), their creator is not in the trace.
    let senders: Vec<&Value> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["site"]["function"] == "main.fetchResult.func1")
        .collect();
    let count: u64 = senders.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(count, 5, "{json:#}");
    for g in senders {
        assert_eq!(g["category"], "chan_send");
        assert_eq!(g["state"], "chan send");
    }
}

/// Every v2 format and the toolchains before 1.27 that write them: the same leaking program
/// traced by Go 1.22, 1.23, 1.24 (1.23's format), 1.25 and 1.26 (testdata/tracever, recorded by
/// scripts/gen-traces.sh).
#[test]
fn older_trace_formats_give_the_same_leak() {
    for file in [
        "go1.22.12.trace",
        "go1.23.12.trace",
        "go1.24.11.trace",
        "go1.25.5.trace",
        "go1.26.8.trace",
    ] {
        let path = root().join("testdata/traces/versions").join(file);
        let json = json_of(&["trace", path.to_str().unwrap(), "--format", "json"]);
        let groups: Vec<String> = groups(&json).into_iter().collect();
        assert!(
            groups.contains(
                &"main.fetchResult.func1 goleash.test/tracever/main.go created by main.fetchResult ×12 [chan send] chan_send possible"
                    .to_string()
            ),
            "{file}: {groups:#?}"
        );
        let notes = json["notes"].to_string();
        assert!(
            notes.contains("12 created, 0 ended, 12 still alive"),
            "{file}: {notes}"
        );
    }
}

#[test]
fn analyze_points_a_trace_to_goleash_trace() {
    let path = root().join("testdata/traces/forgotten_sender.trace");
    let out = goleash()
        .args(["analyze", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("`goleash trace` reads it"), "{err}");
}

#[test]
fn help_explains_the_flags_with_examples() {
    let out = goleash().args(["trace", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Examples:",
        "--seconds",
        "--format",
        "--fail-on",
        "--likely-after",
        "--max-bytes",
        "--timeout",
        "--color",
        "/debug/pprof/trace",
    ] {
        assert!(text.contains(needle), "trace --help mentions {needle}");
    }
}

#[test]
fn a_trace_on_stdin_reads_as_the_file_does() {
    let path = root().join("testdata/traces/waitgroup_missed_done.trace");
    let from_file = json_of(&["trace", path.to_str().unwrap(), "--format", "json"]);
    let out = goleash()
        .args(["trace", "-", "--format", "json"])
        .write_stdin(std::fs::read(&path).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(groups(&from_file), groups(&from_stdin));
    assert_eq!(from_stdin["sources"][0]["name"], "-");
}

/// `goleash diff` of two moments of testdata/tracediff (testdata/traces/diff, made by
/// scripts/gen-tracediff.sh), each recorded as a trace and as a debug=2 dump: the exit code and
/// every group as (change, site, site file, base count, current count, delta), leaving out the
/// program's main goroutine, which is writing the dump in one and stopping the trace in the
/// other.
fn diff_rows(base: &str, current: &str) -> (i32, Value, BTreeSet<String>) {
    let dir = root().join("testdata/traces/diff");
    let out = goleash()
        .arg("diff")
        .arg(dir.join(base))
        .arg(dir.join(current))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "diff {base} {current}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = diff_rows_of(&json);
    (code, json, rows)
}

fn diff_rows_of(json: &Value) -> BTreeSet<String> {
    json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            !g["group"]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["function"] == "main.main")
        })
        .map(|g| {
            format!(
                "{} {} {} {}→{} ({:+})",
                g["change"].as_str().unwrap(),
                g["group"]["site"]["function"].as_str().unwrap(),
                g["group"]["site"]["file"].as_str().unwrap(),
                g["base_count"],
                g["current_count"],
                g["delta"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn diff_reads_a_trace_on_either_side_as_the_goroutines_alive_at_its_end() {
    let (dump_code, dump_json, dumps) = diff_rows("before.txt", "after.txt");
    // The program leaks 5 feeders before the first moment and 7 more before the second; its
    // watcher stays.
    let growing = "grew main.subscribe.func1 goleash.test/tracediff/main.go 5→12 (+7)";
    assert!(dumps.contains(growing), "dump vs dump: {dumps:#?}");
    assert!(
        dumps.contains("same main.watch goleash.test/tracediff/main.go 1→1 (+0)"),
        "dump vs dump: {dumps:#?}"
    );
    assert_eq!(
        dump_json["groups"][0]["group"]["site"]["function"], "main.subscribe.func1",
        "the growing group ranks first"
    );
    for (base, current) in [
        ("before.trace", "after.trace"),
        ("before.trace", "after.txt"),
        ("before.txt", "after.trace"),
    ] {
        let (code, json, rows) = diff_rows(base, current);
        assert_eq!(rows, dumps, "{base} vs {current} against dump vs dump");
        assert_eq!(code, dump_code, "{base} vs {current}: exit code");
        assert_eq!(
            json["groups"][0]["group"]["site"]["function"], "main.subscribe.func1",
            "{base} vs {current}: the growing group ranks first"
        );
        // A trace side is the snapshot `goleash trace` judges.
        for (side, file) in [("base_total", base), ("current_total", current)] {
            if file.ends_with(".trace") {
                let path = root().join("testdata/traces/diff").join(file);
                let traced = json_of(&["trace", path.to_str().unwrap(), "--format", "json"]);
                assert_eq!(json[side], traced["total"], "{file}");
            }
        }
    }
}

#[test]
fn diff_reads_a_trace_side_from_stdin() {
    let dir = root().join("testdata/traces/diff");
    let (_, _, dumps) = diff_rows("before.txt", "after.txt");
    let out = goleash()
        .args(["diff", "-"])
        .arg(dir.join("after.txt"))
        .args(["--format", "json"])
        .write_stdin(std::fs::read(dir.join("before.trace")).unwrap())
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(diff_rows_of(&json), dumps);
}

/// A trace side says what it is in the diff's notes, and a trace cut short (here inside its
/// second generation) is read up to its last whole generation, with the cut noted.
#[test]
fn diff_carries_a_trace_sides_notes() {
    let bytes = std::fs::read(root().join("testdata/traces/forgotten_sender.trace")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.trace");
    std::fs::write(&cut, &bytes[..bytes.len() * 9 / 10]).unwrap();
    let dump = root().join("testdata/dumps/forgotten_sender/goroutine.debug2.txt");
    let json = json_of(&[
        "diff",
        dump.to_str().unwrap(),
        cut.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the current input: the trace is cut short at byte")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the current input: execution trace (`go 1.26 trace` format)")),
        "{notes:#?}"
    );
    assert!(
        !notes.iter().any(|n| n.starts_with("the base input:")),
        "the dump says nothing of itself: {notes:#?}"
    );
}

#[test]
fn diff_names_a_damaged_trace_side() {
    let dir = root().join("testdata/traces/diff");
    let bytes = std::fs::read(dir.join("after.trace")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Cut inside the first generation: no whole generation is left.
    let cut = tmp.path().join("cut.trace");
    std::fs::write(&cut, &bytes[..200]).unwrap();
    // A header and then a byte that starts no batch.
    let bad = tmp.path().join("bad.trace");
    let mut corrupt = bytes[..16].to_vec();
    corrupt.extend_from_slice(&[0x07; 64]);
    std::fs::write(&bad, &corrupt).unwrap();
    let dump = dir.join("before.txt");
    for (base, current, damaged) in [(&dump, &cut, &cut), (&bad, &dump, &bad)] {
        let out = goleash()
            .arg("diff")
            .arg(base)
            .arg(current)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", damaged.display());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(damaged.to_str().unwrap()),
            "names the file: {err}"
        );
        assert!(err.contains("byte"), "says where: {err}");
    }
}
