//! The `goleash` binary from the outside: exit codes, formats, bad input, diff, and a live
//! net/http/pprof endpoint served by a real Go process on 127.0.0.1.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use support::{go_build, root, LoopbackProcess};

fn dump(path: &str) -> PathBuf {
    root().join("testdata/dumps").join(path)
}

fn goleash() -> Command {
    Command::cargo_bin("goleash").unwrap()
}

fn stderr_of(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_follow_fail_on() {
    let leak = [
        dump("ws_pump/goroutine.debug2.txt"),
        dump("ws_pump/goroutineleak.pb.gz"),
    ];
    goleash().arg("analyze").args(&leak).assert().code(1);
    goleash()
        .arg("analyze")
        .args(&leak)
        .args(["--fail-on", "proven"])
        .assert()
        .code(1);
    // Nothing in this dump alone is more than possible: clean at the default threshold.
    goleash()
        .args(["analyze"])
        .arg(dump("worker_pool_ctx/goroutine.debug2.txt"))
        .assert()
        .code(0);
    goleash()
        .args(["analyze"])
        .arg(dump("worker_pool_ctx/goroutine.debug2.txt"))
        .args(["--fail-on", "possible"])
        .assert()
        .code(1);
}

#[test]
fn terminal_report_names_site_creator_verdict_and_fix() {
    let out = goleash()
        .arg("analyze")
        .arg(dump("forgotten_sender/goroutine.debug2.txt"))
        .arg(dump("forgotten_sender/goroutineleak.pb.gz"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    let first = text.split("\n\n").nth(1).unwrap();
    assert!(first.contains("PROVEN ×12  channel send"), "{first}");
    assert!(first.contains("site     main.fetchResult.func1"), "{first}");
    assert!(first.contains("created  main.fetchResult"), "{first}");
    assert!(first.contains("fix      the receiver is gone"), "{first}");
    assert!(first.contains("labels   {req: 7, tenant: acme}"), "{first}");
    let coloured = goleash()
        .arg("analyze")
        .arg(dump("forgotten_sender/goroutine.debug2.txt"))
        .args(["--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8(coloured.stdout).unwrap().contains('\x1b'));
}

#[test]
fn markdown_report_has_a_table_and_details() {
    let out = goleash()
        .arg("analyze")
        .arg(dump("cond_no_signal/goroutine-after-leakgc.debug2.txt"))
        .args(["--format", "markdown"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("| # | verdict | count |"), "{text}");
    assert!(text.contains("**proven** | 4 |"), "{text}");
    assert!(
        text.contains("- **Fix:** nobody calls Signal/Broadcast"),
        "{text}"
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let bytes = std::fs::read(dump("nil_channel/goroutine.debug2.txt")).unwrap();
    let out = goleash()
        .args(["analyze", "-", "--format", "json"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["sources"][0]["name"], "-");
    assert_eq!(json["groups"][0]["category"], "nil_chan");
}

#[test]
fn bad_input_gets_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // A frame's file:line line missing in the middle of a dump is corruption, not a cut.
    let text = std::fs::read_to_string(dump("range_unclosed/goroutine.debug2.txt")).unwrap();
    let function = text.find("main.worker(").unwrap();
    let file_line = function + text[function..].find('\n').unwrap() + 1;
    let next = file_line + text[file_line..].find('\n').unwrap() + 1;
    let corrupt = format!("{}{}", &text[..file_line], &text[next..]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "corrupt.txt",
            corrupt.into_bytes(),
            "tab-indented `file.go:LINE`",
        ),
        ("empty.txt", Vec::new(), "empty"),
        (
            "log.txt",
            b"no dump here\n".to_vec(),
            "no goroutine dump found",
        ),
        (
            "bad.gz",
            vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7],
            "gzip",
        ),
        (
            "garbage.pb",
            [0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0xff, 0xff, 0xff].to_vec(),
            "protobuf",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code, stderr) = stderr_of(goleash().arg("analyze").arg(&path));
        assert_eq!(code, 2, "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        assert!(stderr.contains(name), "{name}: names the source: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let (code, stderr) = stderr_of(goleash().args(["analyze", "/nonexistent/x.txt"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/nonexistent/x.txt: cannot open"),
        "{stderr}"
    );
    let (code, stderr) = stderr_of(goleash().arg("analyze").arg(dir.path()));
    assert_eq!(code, 2);
    assert!(stderr.contains("is a directory"), "{stderr}");
    let (code, _) = stderr_of(goleash().args(["analyze", "--fail-on", "sometimes", "x"]));
    assert_eq!(code, 2, "usage errors exit 2");
}

#[test]
fn diff_of_one_moment_in_two_formats_shows_no_growth() {
    let out = goleash()
        .arg("diff")
        .arg(dump("forgotten_sender/goroutine.pb.gz"))
        .arg(dump("forgotten_sender/goroutine.debug2.txt"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], "goleash.diff/v1");
    assert_eq!(json["delta"], 0);
    for group in json["groups"].as_array().unwrap() {
        // The goroutine writing each snapshot differs between the two writers; nothing else.
        if group["group"]["verdict"] == "expected" {
            continue;
        }
        assert_eq!(group["change"], "same", "{group}");
    }
    assert!(json["notes"][0]
        .as_str()
        .unwrap()
        .contains("base input has no"));
}

#[test]
fn diff_finds_new_and_vanished_groups() {
    let out = goleash()
        .arg("diff")
        .arg(dump("worker_pool_ctx/goroutine.debug2.txt"))
        .arg(dump("ws_pump/goroutine-after-leakgc.debug2.txt"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a proven group appeared");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups[0]["change"], "new");
    assert_eq!(groups[0]["delta"], 14);
    assert_eq!(
        groups[0]["group"]["site"]["function"],
        "main.(*client).writePump"
    );
    assert!(groups
        .iter()
        .any(|g| g["change"] == "vanished"
            && g["group"]["site"]["function"] == "main.(*pool).worker"));
}

#[test]
fn help_explains_every_flag_with_an_example() {
    for sub in ["analyze", "diff"] {
        let out = goleash().args([sub, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Examples:"), "{sub}");
        for flag in [
            "--format",
            "--fail-on",
            "--likely-after",
            "--module",
            "--expect",
            "--max-bytes",
            "--timeout",
            "--dump",
            "--group-by",
            "--color",
        ] {
            assert!(text.contains(flag), "{sub} --help mentions {flag}");
        }
    }
}

#[test]
fn dump_choice_and_timeout_are_checked_before_any_input_is_read() {
    // `--dump foo` is refused while the arguments are read: the missing file is never opened.
    let out = goleash()
        .args(["analyze", "no-such-file.txt", "--dump", "foo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--dump") && err.contains("expected last, first, all"),
        "{err}"
    );
    assert!(!err.contains("cannot open"), "{err}");
    // Durations read like everywhere else.
    let log = "../../testdata/dumps/formats/embedded_log.txt";
    let out = goleash()
        .args(["analyze", log, "--timeout", "5s", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dump_all_counts_together_without_each_dumps_position_note() {
    let log = "../../testdata/dumps/formats/embedded_log.txt";
    let out = goleash()
        .args(["analyze", log, "--dump", "all", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("dumps in") && n.contains("counted together")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains(" of 2 in ")), "{notes:?}");
    let mut unique = notes.clone();
    unique.dedup();
    assert_eq!(unique.len(), notes.len(), "{notes:?}");
}

/// The flags several commands share are one definition: the same help line and the same
/// refusal everywhere.
#[test]
fn shared_flags_are_the_same_in_every_command() {
    let commands: &[&[&str]] = &[
        &["analyze"],
        &["diff"],
        &["lint"],
        &["test"],
        &["watch"],
        &["trace"],
    ];
    let mut refusals = Vec::new();
    for command in commands {
        let help = goleash().args(*command).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("--color <WHEN>"), "{command:?}: {text}");
        let out = goleash()
            .args(*command)
            .args(["--color", "sometimes"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        refusals.push(err.lines().next().unwrap_or_default().to_string());
    }
    refusals.dedup();
    assert_eq!(refusals.len(), 1, "{refusals:#?}");
    // `terminal` names the human format wherever there is one.
    for command in [
        &["analyze"][..],
        &["lint"],
        &["test"],
        &["history", "trend"],
    ] {
        let help = goleash().args(command).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("terminal"), "{command:?}");
    }
}

/// The pprofserver of testdata/scenarios: net/http/pprof on 127.0.0.1 with five forgotten
/// senders leaked at start-up.
fn start_pprof_server() -> LoopbackProcess {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pprofserver");
    let dir = go_build("testdata/scenarios", &["./pprofserver"], &out);
    LoopbackProcess::start(&dir.join("pprofserver"), &["-addr", "127.0.0.1:0"])
}

#[test]
fn live_endpoint_merges_the_leak_profile_and_fails_clearly_on_bad_answers() {
    let server = start_pprof_server();
    let out = goleash()
        .args(["analyze", &server.base, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("/debug/pprof/goroutine?debug=2")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("/debug/pprof/goroutineleak")),
        "{names:?}"
    );
    let proven: u64 = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["verdict"] == "proven")
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        proven, 5,
        "the server leaks five forgotten senders at start-up"
    );
    assert!(json["missing"].as_array().unwrap().is_empty());

    let (code, stderr) = stderr_of(goleash().args([
        "analyze",
        &format!("{}/hang", server.base),
        "--timeout",
        "2",
    ]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/hang") && stderr.contains("--timeout"),
        "{stderr}"
    );

    let (code, stderr) = stderr_of(goleash().args(["analyze", &format!("{}/html", server.base)]));
    assert_eq!(code, 2);
    assert!(stderr.contains("HTML"), "{stderr}");

    let (code, stderr) = stderr_of(goleash().args([
        "analyze",
        &format!("{}/debug/pprof/nosuchprofile", server.base),
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("HTTP status 404"), "{stderr}");
}

#[test]
fn goleash_toml_analyze_table_is_read_upward_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("goleash.toml"),
        "[analyze]\nlikely-after = 1\nexpect = [{ function = \"main.(*pool).worker\", reason = \"the pool lives as long as the service\" }]\n",
    )
    .unwrap();
    let nested = dir.path().join("ops/dumps");
    std::fs::create_dir_all(&nested).unwrap();
    let verdicts = |extra: &[&str]| -> Vec<(String, String)> {
        let out = goleash()
            .current_dir(&nested)
            .arg("analyze")
            .arg(dump("worker_pool_ctx/goroutine.debug2.txt"))
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["site"]["function"] == "main.(*pool).worker")
            .map(|g| {
                (
                    g["verdict"].as_str().unwrap().to_string(),
                    g["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let from_file = verdicts(&[]);
    assert_eq!(from_file[0].0, "expected");
    assert_eq!(from_file[0].1, "the pool lives as long as the service");

    // Without the expect entry the file's 1-minute threshold makes the idle pool likely;
    // --likely-after on the command line wins over the file.
    std::fs::write(
        dir.path().join("goleash.toml"),
        "[analyze]\nlikely-after = 1\n",
    )
    .unwrap();
    assert_eq!(verdicts(&[])[0].0, "likely");
    assert_eq!(verdicts(&["--likely-after", "10"])[0].0, "possible");

    std::fs::write(
        dir.path().join("goleash.toml"),
        "[analyze]\nlikely-afte = 1\n",
    )
    .unwrap();
    let (code, stderr) = stderr_of(
        goleash()
            .current_dir(&nested)
            .arg("analyze")
            .arg(dump("worker_pool_ctx/goroutine.debug2.txt")),
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("goleash.toml") && stderr.contains("likely-afte"),
        "{stderr}"
    );
}

#[test]
fn goleash_toml_watch_table_sets_watch_flags_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("ops");
    std::fs::create_dir_all(&nested).unwrap();
    // Port 1 refuses at once: a run that found the table's target ends with "no scrape
    // succeeded" (exit 2), where one without targets says "no targets".
    std::fs::write(
        dir.path().join("targets.yml"),
        "- targets: [\"127.0.0.1:1\"]\n  labels: {job: refused}\n",
    )
    .unwrap();
    let watch = |toml: &str, extra: &[&str]| {
        std::fs::write(dir.path().join("goleash.toml"), toml).unwrap();
        stderr_of(
            goleash()
                .current_dir(&nested)
                .args(["watch", "--once", "--no-db", "--timeout", "2s"])
                .args(extra),
        )
    };
    // The table's targets file is found relative to goleash.toml, not to the working
    // directory.
    let (code, stderr) = watch("[watch]\ntargets = \"targets.yml\"\n", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no scrape succeeded"), "{stderr}");
    let (_, stderr) = watch("[watch]\n", &[]);
    assert!(stderr.contains("no targets"), "{stderr}");
    // A value from the table is checked like the flag ...
    let (code, stderr) = watch("[watch]\ntargets = \"targets.yml\"\nalpha = 2.0\n", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--alpha 2"), "{stderr}");
    // ... and the command line wins over it.
    let (code, stderr) = watch(
        "[watch]\ntargets = \"targets.yml\"\nalpha = 2.0\n",
        &["--alpha", "0.05"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no scrape succeeded"), "{stderr}");
    // Units are the flags' units; a bad one names the file and its line.
    let (code, stderr) = watch("[watch]\n\ninterval = \"10 seconds\"\n", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("goleash.toml") && stderr.contains("line 3"),
        "{stderr}"
    );
}

#[test]
fn a_dump_cut_at_64_mib_style_is_analyzed_up_to_the_cut_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dump("forgotten_sender/goroutine.debug2.txt")).unwrap();
    let path = dir.path().join("cut.txt");
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let out = goleash().arg("analyze").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "the rest is judged as usual");
    let text = String::from_utf8(out.stdout).unwrap();
    // Cut at no buffer's size and not at 64 MiB: the note does not blame Go's debug=2 cap.
    assert!(
        text.contains("looks truncated") && text.contains("cut while being written or copied"),
        "{text}"
    );
}

/// Every flag that takes a value says what to give it, with an example.
#[test]
fn analyze_and_diff_help_give_every_flag_an_example() {
    for command in ["analyze", "diff"] {
        let out = goleash().args([command, "--help"]).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for block in text.split("\n      --").skip(1) {
            let name = block.split_whitespace().next().unwrap_or("");
            let is_switch = !block.lines().next().unwrap_or("").contains('<');
            if is_switch || name == "help" {
                continue;
            }
            assert!(
                block.contains("e.g.") || block.contains("possible values"),
                "{command} --{name} has no example:\n{block}"
            );
        }
    }
}
