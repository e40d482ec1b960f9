//! Runtime fidelity on real captures: the programs of testdata/fidelity make the Go runtime
//! print each shape (SIGQUIT at every GOTRACEBACK level, crash dumps, deadlocks, synctest
//! bubbles, panics, cgo, labels, cut dumps), and goleash must count, place and judge them as
//! the runtime meant. Expected sites come from `// SITE: name` markers in the programs.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::{go_build, root};

const MODULE: &str = "testdata/fidelity";

fn build(packages: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = go_build(MODULE, packages, out.path());
    (out, dir)
}

/// `file:line` of the `// SITE: name` marker in a program of testdata/fidelity, as -trimpath
/// tracebacks name it.
fn site(package: &str, file: &str, name: &str) -> (String, u64) {
    let path = root().join(MODULE).join(package).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("// SITE: {name}");
    let line = text
        .lines()
        .position(|l| l.trim_end().ends_with(&marker))
        .unwrap_or_else(|| panic!("no {marker} in {}", path.display()));
    (
        format!("goleash.test/fidelity/{package}/{file}"),
        line as u64 + 1,
    )
}

/// `goleash ARGS --format json`: the exit code and the report.
fn goleash_json(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "goleash {args:?}: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn notes(report: &Value) -> Vec<String> {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn groups(report: &Value) -> &Vec<Value> {
    report["groups"].as_array().unwrap()
}

fn site_of(group: &Value) -> (String, u64) {
    (
        group["site"]["file"].as_str().unwrap_or("").to_string(),
        group["site"]["line"].as_u64().unwrap_or(0),
    )
}

/// Runs `probe -mode sigquit` at a GOTRACEBACK level, waits until its goroutines are parked,
/// sends SIGQUIT, and returns the goroutine count it printed and what the runtime wrote.
fn sigquit(probe: &Path, traceback: &str, extra: &[&str]) -> (u64, Vec<u8>) {
    let mut child = Command::new(probe)
        .args(["-mode", "sigquit"])
        .args(extra)
        .env("GOTRACEBACK", traceback)
        // Spinning goroutines stay running on their threads (a loop without calls cannot be
        // preempted then), so a crash dump finds them there even on a loaded machine.
        .env("GODEBUG", "asyncpreemptoff=1")
        .env("GOMAXPROCS", "4")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let count = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let status = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let _ = child.wait();
    (count, stderr)
}

#[test]
fn sigquit_counts_goroutines_as_the_runtime_does_at_every_traceback_level() {
    let (_keep, dir) = build(&["./probe"]);
    let probe = dir.join("probe");
    let work = tempfile::tempdir().unwrap();
    let mut duplicates_seen = false;
    for (traceback, extra) in [
        ("all", &[][..]),
        ("system", &[][..]),
        ("crash", &[][..]),
        // Goroutines spinning on other threads: crash prints each of them twice. Three on
        // four Ps leave one for main.
        ("crash", &["-spin", "3"][..]),
    ] {
        let (count, text) = sigquit(&probe, traceback, extra);
        let shown = String::from_utf8_lossy(&text);
        let threads = shown.contains("\ngoroutine 0 gp=");
        let file = write(work.path(), &format!("sigquit-{traceback}.txt"), &text);
        let (_, report) = goleash_json(&["analyze", &file]);
        assert_eq!(
            report["total"].as_u64(),
            Some(count),
            "GOTRACEBACK={traceback} {extra:?}: runtime.NumGoroutine said {count}; {:?}",
            notes(&report)
        );
        let notes = notes(&report);
        assert_eq!(
            notes.iter().any(|n| n.contains("`goroutine 0`")),
            threads,
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("system goroutine")),
            "{notes:?}"
        );
        duplicates_seen |= notes.iter().any(|n| n.contains("printed twice"));
        // Wrappers gone: the method value's goroutines sit at run's line, like in debug=2.
        let method = site("probe", "main.go", "method");
        let at_method: u64 = groups(&report)
            .iter()
            .filter(|g| site_of(g) == method)
            .map(|g| g["count"].as_u64().unwrap())
            .sum();
        assert_eq!(at_method, 6, "GOTRACEBACK={traceback}");
        assert!(groups(&report)
            .iter()
            .all(|g| g["frames"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f["function"].as_str().unwrap().contains("gowrap"))));
    }
    assert!(duplicates_seen, "no crash dump printed a goroutine twice");
}

/// A SIGQUIT of a `-race` build: the race runtime adds its own threads and frames; the count
/// is still runtime.NumGoroutine's and the sites are the same as without it.
#[test]
fn sigquit_of_a_race_build_counts_like_the_runtime() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("go")
        .args(["build", "-race", "-trimpath", "-o"])
        .arg(out.path())
        .arg("./probe")
        .current_dir(root().join(MODULE))
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "1")
        .status()
        .expect("`go` on PATH");
    assert!(status.success(), "go build -race (needs gcc)");
    let probe = out.path().join("probe");
    let (count, text) = sigquit(&probe, "all", &[]);
    let file = write(out.path(), "sigquit-race.txt", &text);
    let (_, report) = goleash_json(&["analyze", &file]);
    assert_eq!(
        report["total"].as_u64(),
        Some(count),
        "runtime.NumGoroutine said {count}; {:?}",
        notes(&report)
    );
    let method = site("probe", "main.go", "method");
    let at_method: u64 = groups(&report)
        .iter()
        .filter(|g| site_of(g) == method)
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(at_method, 6);
}

#[test]
fn sigquit_debug2_and_proto_of_one_moment_group_alike() {
    let (_keep, dir) = build(&["./probe"]);
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(dir.join("probe"))
        .args(["-mode", "moment", "-out"])
        .arg(work.path())
        .env("GOTRACEBACK", "system")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    let count: u64 = printed
        .trim()
        .strip_prefix("goroutines ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{printed:?}"));
    let sigquit = write(work.path(), "sigquit.txt", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains(".gowrap"));
    let path = |name: &str| work.path().join(name).to_string_lossy().into_owned();
    let (dump, proto, leak) = (
        path("dump.txt"),
        path("goroutine.pb.gz"),
        path("leak.pb.gz"),
    );

    for (base, current) in [(&sigquit, &proto), (&dump, &sigquit), (&proto, &dump)] {
        let (_, diff) = goleash_json(&["diff", base, current]);
        assert_eq!(diff["delta"].as_i64(), Some(0), "{base} → {current}");
        for group in diff["groups"].as_array().unwrap() {
            // The goroutine taking the captures stands at a different line in each.
            let capturer = group["group"]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["function"] == "main.moment");
            if !capturer {
                assert_eq!(
                    group["change"], "same",
                    "{base} → {current}: {}",
                    group["group"]
                );
            }
        }
    }

    // The leak profile marks the dump's groups; nothing is added a second time.
    let (code, merged) = goleash_json(&["analyze", &sigquit, &leak]);
    assert_eq!(code, 1);
    assert_eq!(
        merged["total"].as_u64(),
        Some(count),
        "{:?}",
        notes(&merged)
    );
    let proven: u64 = groups(&merged)
        .iter()
        .filter(|g| g["verdict"] == "proven")
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    let (_, alone) = goleash_json(&["analyze", &leak]);
    let leaked = alone["total"].as_u64().unwrap();
    assert!(leaked >= 9, "leak(3) leaks nine receivers: {alone}");
    assert_eq!(proven, leaked, "{:?}", notes(&merged));
    assert!(
        notes(&merged).iter().all(|n| !n.contains("match no stack")),
        "{:?}",
        notes(&merged)
    );
}

#[test]
fn the_runtimes_deadlock_message_proves_the_goroutines() {
    let (_keep, dir) = build(&["./deadlock"]);
    let out = Command::new(dir.join("deadlock")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("all goroutines are asleep"));
    let work = tempfile::tempdir().unwrap();
    let file = write(work.path(), "deadlock.txt", &out.stderr);
    let (code, report) = goleash_json(&["analyze", &file]);
    assert_eq!(code, 1, "the runtime's own proof fails the check");
    // main and the two senders nobody received from.
    assert_eq!(report["total"].as_u64(), Some(3));
    for group in groups(&report) {
        assert_eq!(group["verdict"], "proven", "{group}");
    }
    let send = site("deadlock", "main.go", "deadlock-send");
    let main = site("deadlock", "main.go", "deadlock-main");
    let sites: Vec<(String, u64)> = groups(&report).iter().map(site_of).collect();
    assert!(sites.contains(&send) && sites.contains(&main), "{sites:?}");
}

/// `go test -c` of the bubble package, run with `-test.run NAME`: its output.
fn failing_test(name: &str) -> Vec<u8> {
    let work = tempfile::tempdir().unwrap();
    let binary = work.path().join("bubble.test");
    let status = Command::new("go")
        .args(["test", "-c", "-trimpath", "-o"])
        .arg(&binary)
        .arg("./bubble")
        .current_dir(root().join(MODULE))
        .env("GOTOOLCHAIN", "local")
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new(&binary)
        .args(["-test.run", &format!("^{name}$")])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{name} must fail");
    [out.stdout, out.stderr].concat()
}

#[test]
fn a_synctest_bubble_that_ends_with_blocked_goroutines_leaks_them() {
    let text = failing_test("TestBubbleLeak");
    assert!(String::from_utf8_lossy(&text).contains("blocked goroutines remain"));
    let work = tempfile::tempdir().unwrap();
    let file = write(work.path(), "bubble.txt", &text);
    let (code, report) = goleash_json(&["analyze", &file]);
    assert_eq!(code, 1);
    let wait = site("bubble", "bubble_test.go", "bubble");
    let proven: u64 = groups(&report)
        .iter()
        .filter(|g| g["verdict"] == "proven" && site_of(g) == wait)
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(proven, 2, "{report}");
}

#[test]
fn a_panic_is_placed_at_the_users_line_not_the_runtimes_panic() {
    let work = tempfile::tempdir().unwrap();
    let text = failing_test("TestPanic");
    let file = write(work.path(), "test-panic.txt", &text);
    let (_, report) = goleash_json(&["analyze", &file]);
    assert_eq!(
        site_of(&groups(&report)[0]),
        site("bubble", "bubble_test.go", "test-panic")
    );

    let (_keep, dir) = build(&["./probe"]);
    let out = Command::new(dir.join("probe"))
        .args(["-mode", "panic-serving"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("http: panic serving"));
    let file = write(work.path(), "panic-serving.txt", &out.stderr);
    let (_, report) = goleash_json(&["analyze", &file]);
    let serving = site("probe", "main.go", "panic-serving");
    assert!(
        groups(&report).iter().any(|g| site_of(g) == serving),
        "{report}"
    );
}

#[test]
fn an_empty_label_key_is_read() {
    let (_keep, dir) = build(&["./probe"]);
    let out = Command::new(dir.join("probe"))
        .args(["-mode", "empty-label"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("{: anonymous"));
    let work = tempfile::tempdir().unwrap();
    let file = write(work.path(), "labels.txt", &out.stdout);
    let (_, report) = goleash_json(&["analyze", &file]);
    let at = site("probe", "main.go", "empty-label");
    let group = groups(&report)
        .iter()
        .find(|g| site_of(g) == at)
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(group["labels"][0][""], "anonymous");
}

#[test]
fn a_blocked_cgo_call_is_placed_at_the_calling_go_line() {
    let (_keep, dir) = build(&["./cgoblock"]);
    let out = Command::new(dir.join("cgoblock")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("_cgo_gotypes.go"));
    let work = tempfile::tempdir().unwrap();
    let file = write(work.path(), "cgo.txt", &out.stdout);
    let (_, report) = goleash_json(&["analyze", &file]);
    let call = site("cgoblock", "main.go", "cgo");
    let at_call: u64 = groups(&report)
        .iter()
        .filter(|g| site_of(g) == call)
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(at_call, 3, "{report}");
}

#[test]
fn truncation_notes_say_what_cut_the_dump() {
    let (_keep, dir) = build(&["./probe"]);
    let work = tempfile::tempdir().unwrap();

    let out = Command::new(dir.join("probe"))
        .args(["-mode", "small-buffer"])
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 4096, "runtime.Stack filled its buffer");
    let file = write(work.path(), "small.txt", &out.stdout);
    let (_, report) = goleash_json(&["analyze", &file]);
    let note = notes(&report)
        .into_iter()
        .find(|n| n.contains("looks truncated"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(note.contains("runtime.Stack"), "{note}");
    assert!(!note.contains("64 MiB"), "{note}");

    let out = Command::new(dir.join("probe"))
        .args(["-mode", "garbage-tail"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let headers = text
        .lines()
        .filter(|l| l.starts_with("goroutine ") && l.ends_with("]:"))
        .count() as u64;
    let file = write(work.path(), "garbage.txt", &out.stdout);
    let (_, report) = goleash_json(&["analyze", &file]);
    assert_eq!(report["total"].as_u64(), Some(headers), "the dump is whole");
    let notes = notes(&report);
    assert!(notes.iter().all(|n| !n.contains("truncated")), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not a cut") || n.contains("dump before it is complete")),
        "{notes:?}"
    );
}

/// `goleash analyze URL ARGS --format json` against a live target.
fn analyze_live(url: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["analyze", url];
    all.extend_from_slice(args);
    goleash_json(&all)
}

#[test]
fn a_live_target_too_big_for_debug2_is_counted_by_the_proto() {
    let (_keep, dir) = build(&["./probe"]);
    // 30,000 goroutines 40 frames deep print about 100 MiB of debug=2 text: Go stops at 64.
    let service = support::LoopbackProcess::start(
        &dir.join("probe"),
        &["-mode", "serve", "-many", "30000", "-depth", "40"],
    );
    let (_, dump_alone) = analyze_live(
        &format!("{}/debug/pprof/goroutine?debug=2", service.base),
        &[],
    );
    let (_, proto_alone) = analyze_live(
        &format!("{}/debug/pprof/goroutine?debug=0", service.base),
        &[],
    );
    let proto_total = proto_alone["total"].as_u64().unwrap();
    let dump_total = dump_alone["total"].as_u64().unwrap();
    assert!(proto_total > 30_000, "{proto_total}");
    assert_eq!(dump_alone["sources"][0]["bytes"].as_u64(), Some(64 << 20));
    assert!(dump_total < proto_total, "{dump_total} of {proto_total}");

    let (code, report) = analyze_live(&service.base, &["--no-leak-profile", "--timeout", "60"]);
    assert_ne!(code, 2, "{report}");
    assert_eq!(
        report["total"].as_u64(),
        Some(proto_total),
        "{:?}",
        notes(&report)
    );
    let notes = notes(&report);
    assert!(
        notes.iter().any(|n| n.contains("64 MiB cap holding")),
        "{notes:?}"
    );
    assert!(
        notes.iter().all(|n| !n.contains("looks truncated")),
        "{notes:?}"
    );
    assert!(
        notes.iter().all(|n| !n.contains("different moments")),
        "{notes:?}"
    );
    // The dump's details survive for the goroutines it held: wait reasons and ids.
    let deep = site("probe", "main.go", "deep");
    let group = groups(&report)
        .iter()
        .find(|g| site_of(g) == deep)
        .unwrap_or_else(|| panic!("no group at {deep:?}"));
    assert_eq!(group["count"].as_u64(), Some(30_000));
    assert_eq!(group["state"], "chan receive");
    assert!(!group["goroutine_ids"].as_array().unwrap().is_empty());
}

#[test]
fn a_leak_profile_that_does_not_answer_in_time_is_left_out_and_said_so() {
    let (_keep, dir) = build(&["./probe"]);
    let service = support::LoopbackProcess::start(
        &dir.join("probe"),
        &["-mode", "serve", "-hang-leak", "10m"],
    );
    let (code, report) = analyze_live(&service.base, &["--timeout", "3"]);
    assert_ne!(code, 2, "{report}");
    let notes = notes(&report);
    assert!(
        notes.iter().any(|n| n.contains("no goroutineleak profile")
            && n.contains("no complete answer within 3s")),
        "{notes:?}"
    );
    // The dump is still read: the leaks are there, judged without the runtime's proof.
    let receive = site("probe", "main.go", "receive");
    let group = groups(&report)
        .iter()
        .find(|g| site_of(g) == receive)
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(group["count"].as_u64(), Some(3));
    assert_ne!(group["verdict"], "proven");
}
