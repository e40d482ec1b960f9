//! `goleash test` on testdata/gotest with the real Go 1.27.3 toolchain. One `go test ./...`
//! run (JSON, JUnit and SARIF written at once) serves most assertions; a few small runs check
//! exit codes, ignores, the retry window and build failures.

use std::collections::BTreeSet;
mod support;

use std::path::{Path, PathBuf};

use std::process::Command;
use std::sync::OnceLock;
use support::root;

use serde_json::Value;

fn module() -> PathBuf {
    root().join("testdata/gotest")
}

/// The go command: the one on PATH when it is go1.27.3, else the one scripts/ensure-go.sh
/// installs.
fn go() -> &'static Path {
    static GO: OnceLock<PathBuf> = OnceLock::new();
    GO.get_or_init(|| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(". scripts/ensure-go.sh >&2 && command -v go")
            .current_dir(root())
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "Go 1.27.3 is needed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn goleash_test(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .arg("test")
        .arg("--color=never")
        .arg("--go")
        .arg(go())
        .args(args)
        .current_dir(module())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("run goleash");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

struct Shared {
    run: Run,
    json: Value,
    junit: String,
    sarif: Value,
}

/// The whole module once: `goleash test -- -timeout 6s ./...`.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let junit = dir.path().join("report.xml");
        let sarif = dir.path().join("report.sarif");
        let run = goleash_test(&[
            "--json-file",
            json.to_str().unwrap(),
            "--junit-file",
            junit.to_str().unwrap(),
            "--sarif-file",
            sarif.to_str().unwrap(),
            "--",
            "-timeout",
            "6s",
            "./...",
        ]);
        let read = |p: &Path| {
            std::fs::read_to_string(p).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}\nstdout:\n{}\nstderr:\n{}",
                    p.display(),
                    run.stdout,
                    run.stderr
                )
            })
        };
        let json = serde_json::from_str(&read(&json)).unwrap();
        let junit = read(&junit);
        let sarif = serde_json::from_str(&read(&sarif)).unwrap();
        Shared {
            run,
            json,
            junit,
            sarif,
        }
    })
}

fn package<'a>(report: &'a Value, name: &str) -> &'a Value {
    let path = format!("goleash.test/gotest/{name}");
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["import_path"] == path.as_str())
        .unwrap_or_else(|| panic!("no package {path} in the report"))
}

fn test<'a>(pkg: &'a Value, name: &str) -> &'a Value {
    pkg["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["test"]["name"] == name)
        .unwrap_or_else(|| panic!("no test {name} in {}", pkg["import_path"]))
}

/// (package, test) of every test with leaks at or above --fail-on.
fn leaking_tests(report: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for pkg in report["packages"].as_array().unwrap() {
        let name = pkg["import_path"]
            .as_str()
            .unwrap()
            .trim_start_matches("goleash.test/gotest/")
            .to_string();
        for t in pkg["tests"].as_array().unwrap() {
            if t["leaked"].as_u64().unwrap() > 0 {
                let test = t["test"]["name"].as_str().unwrap_or("(none)").to_string();
                out.insert((name.clone(), test));
            }
        }
    }
    out
}

#[test]
fn names_exactly_the_tests_that_leak() {
    let report = &shared().json;
    let mut found = leaking_tests(report);
    // Which of the two parallel tests starts the shared load depends on scheduling.
    let parallel: Vec<_> = found
        .iter()
        .filter(|(p, _)| p == "parallel")
        .cloned()
        .collect();
    assert_eq!(parallel.len(), 1, "{parallel:?}");
    assert!(parallel[0].1.starts_with("TestParallel"));
    found.remove(&parallel[0]);
    let expected: BTreeSet<(String, String)> = [
        ("external", "TestForgottenDone"),
        ("leaky", "TestBlockedRead"),
        ("leaky", "TestForgottenSender"),
        ("leaky", "TestMutexHeldForever"),
        ("leaky", "TestNested"),
        ("leaky", "TestRangeWithoutClose"),
        ("leaky", "TestSubtests/leaks"),
        ("leaky", "TestTickerWithoutCtx"),
        ("helpermain", "TestNotify"),
        ("many", "TestLeakThousand"),
        ("names", "ExampleForget"),
        ("names", "FuzzParse"),
        ("names", "TestInlinedConstructor"),
        ("names", "TestStartsItDirectly"),
        ("names", "TestTable/leaks_here"),
        ("ownmain", "TestRace"),
        ("servers", "TestLeavesListenerOpen"),
        ("servers", "TestLeavesServerOpen"),
        ("xmain", "TestFanout"),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn counts_verdicts_and_sites() {
    let report = &shared().json;
    let leaky = package(report, "leaky");
    let sender = test(leaky, "TestForgottenSender");
    assert_eq!(sender["leaked"], 2);
    let group = &sender["groups"][0];
    assert_eq!(group["verdict"], "proven");
    assert_eq!(group["category"], "chan_send");
    assert_eq!(
        group["site"]["function"],
        "goleash.test/gotest/leaky.FirstResult.func1"
    );
    assert_eq!(
        group["creator"]["function"],
        "goleash.test/gotest/leaky.FirstResult"
    );
    for (name, verdict, category) in [
        ("TestRangeWithoutClose", "proven", "chan_receive"),
        ("TestMutexHeldForever", "proven", "mutex"),
        ("TestTickerWithoutCtx", "likely", "chan_receive"),
        ("TestBlockedRead", "likely", "io_wait"),
    ] {
        let g = &test(leaky, name)["groups"][0];
        assert_eq!(
            (g["verdict"].as_str(), g["category"].as_str()),
            (Some(verdict), Some(category)),
            "{name}"
        );
    }
    // The JUnit and terminal texts point at the test's own line that led to the leak (the
    // ancestors' return addresses are moved back to the call).
    assert!(shared()
        .junit
        .contains("in test leaky.TestForgottenSender leaky/leaky_test.go:11"));
    assert!(shared()
        .junit
        .contains("in test leaky.TestNested leaky/leaky_test.go:76"));
    let nested = &test(leaky, "TestNested")["groups"][0]["in_test"];
    assert_eq!(nested["function"], "goleash.test/gotest/leaky.TestNested");
    assert_eq!(nested["line"], 76);
    // The leak two goroutines away from its test is traced through the ancestors.
    assert_eq!(test(leaky, "TestNested")["test"]["via"], "ancestors");
    assert_eq!(
        test(report_pkg(report, "external"), "TestForgottenDone")["leaked"],
        1
    );
    assert_eq!(test(report_pkg(report, "xmain"), "TestFanout")["leaked"], 4);
    assert_eq!(test(report_pkg(report, "ownmain"), "TestRace")["leaked"], 1);
}

fn report_pkg<'a>(report: &'a Value, name: &str) -> &'a Value {
    package(report, name)
}

/// goleak's rule: a server, listener or pool a test leaves open is that test's leak, though
/// `goleash analyze` expects the same goroutines in a running program.
#[test]
fn servers_and_listeners_left_open_by_a_test_are_its_leaks() {
    let pkg = package(&shared().json, "servers");
    let server = test(pkg, "TestLeavesServerOpen");
    assert!(server["leaked"].as_u64().unwrap() >= 1, "{server:#}");
    let reasons: Vec<&str> = server["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("left open by the test")),
        "{reasons:?}"
    );
    assert!(
        test(pkg, "TestLeavesListenerOpen")["leaked"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let closed = pkg["tests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["test"]["name"] == "TestClosesServer");
    assert!(!closed, "{pkg:#}");
}

/// With `go test -json`, the leaking tests and their package end in a `fail` event of
/// test2json's format, so gotestsum and IDEs show them failed; the stream stays one JSON
/// object per line.
#[test]
fn the_json_stream_marks_leaking_tests_failed() {
    let run = goleash_test(&["--", "-json", "./servers", "./clean"]);
    let mut last: std::collections::BTreeMap<(String, String), String> = Default::default();
    for line in run.stdout.lines() {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a test2json line ({e}): {line:?}"));
        let package = event["Package"].as_str().unwrap_or_default().to_string();
        let test = event["Test"].as_str().unwrap_or_default().to_string();
        let action = event["Action"].as_str().unwrap().to_string();
        if matches!(action.as_str(), "pass" | "fail" | "skip") {
            last.insert((package, test), action);
        }
    }
    let outcome = |pkg: &str, test: &str| {
        last.get(&(format!("goleash.test/gotest/{pkg}"), test.to_string()))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        outcome("servers", "TestLeavesServerOpen"),
        "fail",
        "{last:#?}"
    );
    assert_eq!(outcome("servers", "TestLeavesListenerOpen"), "fail");
    assert_eq!(outcome("servers", "TestClosesServer"), "pass");
    assert_eq!(outcome("servers", ""), "fail");
    assert_eq!(outcome("clean", ""), "pass");
    assert_eq!(run.code, 1, "{}", run.stderr);

    // gotestsum (from the Go module proxy) reads the stream and shows the leaks as failures.
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.json");
    std::fs::write(&events, &run.stdout).unwrap();
    let shown = std::process::Command::new("go")
        .args(["run", "gotest.tools/gotestsum@v1.13.0", "--raw-command"])
        .args(["--format", "testname", "--", "cat"])
        .arg(&events)
        .current_dir(dir.path())
        .env("GOFLAGS", "-mod=mod")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    // (gotestsum's exit code is `cat`'s here; its summary is what a CI log shows.)
    let failed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("=== FAIL: "))
        .collect();
    for leak in ["TestLeavesServerOpen", "TestLeavesListenerOpen"] {
        assert!(
            failed
                .iter()
                .any(|f| f.contains(&format!("servers {leak} "))),
            "{text}\n{}",
            String::from_utf8_lossy(&shown.stderr)
        );
    }
    assert!(
        !failed.iter().any(|f| f.contains("TestClosesServer")),
        "{text}"
    );
    assert!(text.contains(", 2 failures"), "{text}");
}

/// `-list` runs no test: the package is `not_run`, not a passed check.
#[test]
fn a_list_run_is_not_a_checked_run() {
    let run = goleash_test(&["--format", "json", "--", "-list", ".", "./clean"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let pkg = package(&report, "clean");
    assert_eq!(pkg["status"], "not_run", "{pkg:#}");
    assert!(
        pkg["notes"][0].as_str().unwrap().contains("-list"),
        "{pkg:#}"
    );
    let run = goleash_test(&["--", "-list", ".", "./clean"]);
    assert!(run.stdout.contains("1 not run"), "{}", run.stdout);
}

#[test]
fn fail_on_takes_only_the_verdicts_it_documents() {
    let run = goleash_test(&["--fail-on", "expected", "--", "./clean"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("proven, likely or possible"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_thousand_leaked_goroutines_are_one_group() {
    let many = package(&shared().json, "many");
    let t = test(many, "TestLeakThousand");
    assert_eq!(t["leaked"], 1000);
    let groups = t["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["count"], 1000);
    assert!(groups[0]["goroutine_ids"].as_array().unwrap().len() <= 8);
    // The check writes 64 of the thousand identical goroutines and counts the rest.
    assert_eq!(many["check"]["elided"], 936, "{:#}", many["check"]);
}

/// `--ancestors auto` (the default): the suite runs without ancestors, and only the tests
/// whose leaks the label and `created by` frames cannot place run again with them; a clean
/// package is not run again, and the report is the one ancestors give (subtests, lines).
#[test]
fn auto_ancestry_runs_only_the_leaking_tests_again() {
    let report = &shared().json;
    assert_eq!(report["ancestry"], "auto");
    assert_eq!(report["ancestors"], 0);
    assert!(package(report, "clean")["rerun"].is_null());
    let leaky = package(report, "leaky");
    let rerun = &leaky["rerun"];
    assert_eq!(rerun["ancestors"], 8, "{leaky:#}");
    let tests: Vec<&str> = rerun["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    // Helpers started these leaks: only ancestors place them on a line of the test.
    for name in ["TestForgottenSender", "TestNested", "TestSubtests"] {
        assert!(tests.contains(&name), "{name} not run again: {tests:?}");
    }
    // ... and they do: the subtest's own name and the test's line.
    let sub = test(leaky, "TestSubtests/leaks");
    assert_eq!(sub["test"]["via"], "ancestors", "{sub:#}");
    assert!(!sub["groups"][0]["in_test"].is_null(), "{sub:#}");
    let nested = test(leaky, "TestNested");
    assert!(!nested["groups"][0]["in_test"].is_null(), "{nested:#}");
}

/// Past 10,000 leaked goroutines the tests are not run again (a traceback with ancestors of
/// that many takes seconds): the label names the test, and a note says how to get more.
#[test]
fn auto_ancestry_does_not_run_a_huge_leak_again() {
    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(["test", "--color=never", "--format", "json", "--go"])
        .arg(go())
        .args(["-run", "TestLeakHundredThousand", "./many"])
        .current_dir(module())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOLEASH_SCALE_TEST", "1")
        .output()
        .expect("run goleash");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let many = package(&report, "many");
    assert!(many["rerun"].is_null(), "{many:#}");
    let t = test(many, "TestLeakHundredThousand");
    assert_eq!(t["test"]["via"], "label", "{t:#}");
    assert_eq!(t["leaked"], 100_000);
    let notes = many["notes"].to_string();
    assert!(notes.contains("not run again with ancestors"), "{notes}");
}

/// Without ancestors, a goroutine a helper started shows no test frame; the check's
/// test-name label still names the test.
#[test]
fn without_ancestors_the_label_names_the_test() {
    let run = goleash_test(&["--ancestors", "0", "--format", "json", "./many"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let t = test(package(&report, "many"), "TestLeakThousand");
    assert_eq!(t["test"]["via"], "label", "{t:#}");
    assert_eq!(t["leaked"], 1000);
}

#[test]
fn clean_late_and_pre_existing_goroutines_are_not_reported() {
    let report = &shared().json;
    for name in ["clean", "late"] {
        let pkg = package(report, name);
        assert_eq!(pkg["status"], "passed", "{name}");
        assert_eq!(pkg["tests"].as_array().unwrap().len(), 0, "{name}: {pkg}");
    }
    // The late goroutine ends ~300 ms after its test: the check waited for it.
    let waited = package(report, "late")["check"]["waited_ms"]
        .as_f64()
        .unwrap();
    assert!((250.0..1000.0).contains(&waited), "waited {waited} ms");
    // ownmain's TestMain starts an event loop before m.Run (alive before the first test) and
    // stops a janitor a test started after m.Run (the check runs after the teardown).
    let ownmain = package(report, "ownmain");
    assert_eq!(ownmain["tests"].as_array().unwrap().len(), 1, "{ownmain}");
}

#[test]
fn test_mains_are_wrapped_and_generated() {
    let report = &shared().json;
    assert_eq!(package(report, "clean")["hook"]["kind"], "generated");
    assert_eq!(package(report, "clean")["hook"]["external"], false);
    assert_eq!(package(report, "external")["hook"]["external"], true);
    let own = &package(report, "ownmain")["hook"];
    assert_eq!(own["kind"], "wrapped");
    assert!(own["file"]
        .as_str()
        .unwrap()
        .ends_with("ownmain/main_test.go"));
    let x = &package(report, "xmain")["hook"];
    assert_eq!(x["kind"], "wrapped");
    assert!(x["file"].as_str().unwrap().ends_with("xmain/xmain_test.go"));
    // TestMain runs the tests in a helper (`os.Exit(runMain(m))`, as crypto/tls does).
    let helper = package(report, "helpermain");
    assert_eq!(helper["hook"]["kind"], "wrapped", "{helper:#}");
    assert_eq!(helper["hook"]["calls"], 1);
    assert_eq!(helper["status"], "passed");
    assert_eq!(package(report, "broken")["status"], "no_test_files");
}

#[test]
fn deadlock_until_timeout_is_reported_with_the_stuck_goroutines() {
    let shared = shared();
    // go test failed (the timeout): its exit code wins.
    assert_eq!(shared.run.code, 1, "{}", shared.run.stderr);
    assert_eq!(shared.json["go_exit_code"], 1);
    let pkg = package(&shared.json, "deadlock");
    assert_eq!(pkg["status"], "deadlocked");
    let deadlock = &pkg["deadlock"];
    assert_eq!(deadlock["message"], "panic: test timed out after 6s");
    assert!(deadlock["running"][0]
        .as_str()
        .unwrap()
        .starts_with("TestTransferBothWays"));
    let tests = deadlock["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["test"]["name"], "TestTransferBothWays");
    let groups = tests[0]["groups"].as_array().unwrap();
    let mutex: Vec<&Value> = groups.iter().filter(|g| g["category"] == "mutex").collect();
    assert_eq!(mutex.len(), 2);
    for g in mutex {
        assert_eq!(
            g["site"]["function"],
            "goleash.test/gotest/deadlock.Transfer"
        );
    }
    assert!(groups.iter().any(|g| g["category"] == "wait_group"
        && g["site"]["function"] == "goleash.test/gotest/deadlock.TestTransferBothWays"));
    // go test's own output still streamed.
    assert!(shared
        .run
        .stdout
        .contains("FAIL\tgoleash.test/gotest/deadlock"));
    assert!(shared.run.stdout.contains("deadlocked"));
}

#[test]
fn junit_has_a_failed_case_per_leaking_test() {
    let junit = &shared().junit;
    assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert!(junit.contains(
        "<testsuite name=\"goleash.test/gotest/leaky\" tests=\"7\" failures=\"7\" errors=\"0\">"
    ));
    assert!(junit.contains(
        "<testcase classname=\"goleash.test/gotest/leaky\" name=\"TestSubtests/leaks\">\n      <failure type=\"goroutine-leak\" message=\"1 goroutine leaked (proven)\">"
    ));
    assert!(junit.contains(
        "<testcase classname=\"goleash.test/gotest/clean\" name=\"goroutine leak check\"/>"
    ));
    assert!(junit.contains(
        "<testcase classname=\"goleash.test/gotest/deadlock\" name=\"TestTransferBothWays\">\n      <error type=\"goleash\" message=\"panic: test timed out after 6s: 3 goroutines stuck\">"
    ));
    assert_eq!(
        junit.matches("<testsuite ").count(),
        junit.matches("</testsuite>").count()
    );
    // One per leaking test (those of names_exactly_the_tests_that_leak).
    assert_eq!(
        junit.matches("<failure ").count(),
        leaking_tests(&shared().json).len()
    );
}

#[test]
fn sarif_locates_each_leaked_group() {
    let sarif = &shared().sarif;
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let sender = results
        .iter()
        .find(|r| r["properties"]["test"] == "TestForgottenSender")
        .unwrap();
    assert_eq!(sender["ruleId"], "goroutine-leak");
    assert_eq!(sender["level"], "error");
    let location = &sender["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "leaky/leaky.go");
    assert_eq!(location["region"]["startLine"], 17);
    assert!(results.iter().any(|r| r["ruleId"] == "test-deadlock"));
    // A site in the standard library (httptest's accept loop) is related, not primary: the
    // test's own line leads, inside the repository.
    let server = results
        .iter()
        .find(|r| r["properties"]["test"] == "TestLeavesServerOpen")
        .unwrap();
    let primary = &server["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(primary["uri"], "servers/servers_test.go", "{server:#}");
    assert_eq!(primary["uriBaseId"], "%SRCROOT%");
    assert!(server["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["message"]["text"] == "where it is blocked"));
}

#[test]
fn the_users_tree_is_not_written() {
    let _ = shared();
    let out = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
            ".",
        ])
        .current_dir(module())
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(!status.contains("goleash_harness"), "{status}");
    for entry in walk(&module()) {
        assert!(
            !entry.to_string_lossy().contains("goleash_harness"),
            "{}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn exit_codes_follow_go_test_then_leaks() {
    let clean = goleash_test(&["./clean", "./late"]);
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("no leaks"));

    let leaks = goleash_test(&["--", "-run", "TestForgottenSender", "./leaky"]);
    assert_eq!(leaks.code, 1, "{}{}", leaks.stdout, leaks.stderr);
    assert!(leaks
        .stdout
        .contains("TestForgottenSender  2 goroutines leaked"));

    // With go test -json, stdout stays test2json's stream and the report goes to stderr.
    let json = goleash_test(&["--", "-json", "-run", "TestForgottenSender", "./leaky"]);
    assert_eq!(json.code, 1, "{}{}", json.stdout, json.stderr);
    for line in json.stdout.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(json
        .stderr
        .contains("TestForgottenSender  2 goroutines leaked"));

    let ignored = goleash_test(&[
        "--ignore-top",
        "goleash.test/gotest/leaky.FirstResult.*",
        "--",
        "-run",
        "TestForgottenSender",
        "./leaky",
    ]);
    assert_eq!(ignored.code, 0, "{}{}", ignored.stdout, ignored.stderr);
    assert!(ignored.stdout.contains("2 ignored") || ignored.stdout.contains("no leaks"));

    // The same through goleash.toml's [test] table.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("goleash.toml");
    std::fs::write(
        &config,
        "[test]\nignore-created-by = [\"goleash.test/gotest/leaky.FirstResult\"]\nretry = \"200ms\"\n",
    )
    .unwrap();
    let configured = goleash_test(&[
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--",
        "-run",
        "TestForgottenSender",
        "./leaky",
    ]);
    assert_eq!(
        configured.code, 0,
        "{}{}",
        configured.stdout, configured.stderr
    );
    let report: Value = serde_json::from_str(&configured.stdout).unwrap();
    assert_eq!(report["retry_ms"], 200);
    assert_eq!(package(&report, "leaky")["ignored"], 2);

    // A leak only under t.Parallel: one test at a time, nothing leaks.
    let serial = goleash_test(&["--", "-parallel", "1", "./parallel"]);
    assert_eq!(serial.code, 0, "{}{}", serial.stdout, serial.stderr);
}

#[test]
fn the_retry_window_decides_what_is_late_and_what_leaked() {
    let short = goleash_test(&["--retry", "50ms", "--format", "json", "./late"]);
    assert_eq!(short.code, 1, "{}", short.stderr);
    let report: Value = serde_json::from_str(&short.stdout).unwrap();
    let t = test(package(&report, "late"), "TestFlushSoon");
    assert_eq!(t["groups"][0]["category"], "sleep");
    assert_eq!(t["groups"][0]["verdict"], "likely");
    // go test's output went to stderr, so stdout is only the report.
    assert!(short.stderr.contains("ok  \tgoleash.test/gotest/late"));
}

#[test]
fn a_package_that_does_not_build_is_reported_as_such() {
    let run = goleash_test(&[
        "--format",
        "json",
        "--",
        "-tags",
        "goleash_broken",
        "./broken",
    ]);
    assert_ne!(run.code, 0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let pkg = package(&report, "broken");
    assert_eq!(pkg["status"], "build_failed");
    assert!(pkg["build_errors"]
        .as_str()
        .unwrap()
        .contains("cannot use Answer()"));
}

#[test]
fn help_explains_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(["test", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--format",
        "--output",
        "--junit-file",
        "--sarif-file",
        "--json-file",
        "--fail-on",
        "--retry",
        "--ancestors",
        "--ignore-top",
        "--ignore-any",
        "--ignore-created-by",
        "--no-default-ignores",
        "--keep-dumps",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(help.contains("goleash test ./..."));
}

/// The generated check compiles at the user's go.mod language version (here 1.18: no min/max
/// builtins), and a TestMain with an aliased `os` import is wrapped.
#[test]
fn old_language_version_and_aliased_os_in_test_main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("p")).unwrap();
    std::fs::write(root.join("go.mod"), "module oldmod\n\ngo 1.18\n").unwrap();
    std::fs::write(
        root.join("p/p.go"),
        "package p\n\nfunc Leak() {\n\tch := make(chan int)\n\tgo func() { ch <- 1 }()\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("p/p_test.go"),
        "package p\n\nimport (\n\tstdos \"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) { stdos.Exit(m.Run()) }\n\nfunc TestLeak(t *testing.T) { Leak() }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(["test", "--format", "json", "--go"])
        .arg(go())
        .arg("./...")
        .current_dir(root)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pkg = &report["packages"][0];
    assert_eq!(pkg["hook"]["kind"], "wrapped", "{stderr}");
    assert_eq!(pkg["tests"][0]["test"]["name"], "TestLeak");
    assert_eq!(pkg["tests"][0]["groups"][0]["verdict"], "proven");
}

/// SIGTERM to goleash stops go test and the test binary it started (they are one process
/// group, which goleash signals), removes goleash's temporary directory and exits 143.
#[test]
fn sigterm_stops_go_test_and_its_test_binary() {
    signal_stops_go_test_and_its_test_binary("TERM", 143);
}

/// SIGINT (Ctrl-C reaches goleash alone: go test is not in the terminal's foreground group)
/// is forwarded the same way; exit 130.
#[test]
fn sigint_stops_go_test_and_its_test_binary() {
    signal_stops_go_test_and_its_test_binary("INT", 130);
}

fn signal_stops_go_test_and_its_test_binary(signal: &str, code: i32) {
    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("pids");
    let tmp = scratch.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut goleash = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(["test", "--color=never", "--go"])
        .arg(go())
        .args(["--", "-run", "TestSleepsUntilStopped", "./sleepy"])
        .current_dir(module())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOLEASH_SLEEPY_PID_FILE", &pid_file)
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The build may take a while on a loaded machine; the bound only keeps a broken run from
    // hanging the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let pids = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            break text;
        }
        if let Some(status) = goleash.try_wait().unwrap() {
            let out = goleash.wait_with_output().unwrap();
            panic!(
                "goleash ended ({status}) before the test wrote its pid:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the test never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let pids: Vec<u32> = pids
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (test_binary, go_command) = (pids[0], pids[1]);
    assert!(running(test_binary) && running(go_command));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &goleash.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = goleash.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted by SIG{signal}")),
        "{stderr}"
    );
    // goleash returns only once the group is gone.
    assert!(
        !running(test_binary),
        "the test binary {test_binary} still runs"
    );
    assert!(!running(go_command), "go test {go_command} still runs");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("goleash-test-"))
        .collect();
    assert!(
        left.is_empty(),
        "goleash's temporary directory is left: {left:?}"
    );
}

/// Whether process `pid` exists and is not a zombie (a container's init may never reap one).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Table subtests get the name go test gave them (not `TestTable/{tc.name}`), and the `in
/// test` line is the test's own line: the `go` statement of a test that starts the goroutine
/// itself, the call of a constructor inlined into the test, the call in a fuzz target's
/// function; an example is named as an example and not counted as a test.
#[test]
fn subtests_fuzz_targets_and_examples_are_named_at_their_lines() {
    let pkg = package(&shared().json, "names");
    let in_test = |name: &str| {
        let t = test(pkg, name);
        let frame = &t["groups"][0]["in_test"];
        (
            frame["function"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("goleash.test/gotest/names.")
                .to_string(),
            frame["line"].as_u64().unwrap_or(0),
        )
    };
    assert_eq!(
        in_test("TestTable/leaks_here"),
        ("TestTable.func1".into(), 18)
    );
    assert_eq!(
        in_test("TestStartsItDirectly"),
        ("TestStartsItDirectly".into(), 26)
    );
    assert_eq!(
        in_test("TestInlinedConstructor"),
        ("TestInlinedConstructor".into(), 31)
    );
    assert_eq!(in_test("FuzzParse"), ("FuzzParse.func1".into(), 39));
    assert_eq!(in_test("ExampleForget"), ("ExampleForget".into(), 45));
    assert_eq!(test(pkg, "ExampleForget")["test"]["kind"], "example");
    assert_eq!(test(pkg, "FuzzParse")["test"]["kind"], "fuzz");
    assert_eq!(test(pkg, "TestTable/leaks_here")["test"]["kind"], "test");
    // The leak profile splits a stack by the test-name label; summed per stack, it matches
    // the dump (no "more goroutines in the dump than the leak profile proved" note).
    let notes = pkg["notes"].to_string();
    assert!(
        !notes.contains("more goroutines in the dump than the leak profile proved"),
        "{pkg:#}"
    );
    // The check's label is in `test`, not repeated as a label of the group.
    assert_eq!(
        test(pkg, "TestTable/leaks_here")["groups"][0]["labels"],
        serde_json::json!([])
    );

    let run = goleash_test(&["./names"]);
    assert!(
        run.stdout
            .contains("5 goroutines leaked by 4 tests and 1 example"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("(outside any test)"), "{}", run.stdout);
    // A -run pattern of the user's still selects, and the names still come out.
    let run = goleash_test(&[
        "--format",
        "json",
        "--",
        "-run",
        "TestTable/leaks",
        "./names",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = package(&report, "names")["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["test"]["name"].as_str().unwrap())
        .collect();
    // Examples match -run too: ExampleForget does not, so only the subtest is left.
    assert_eq!(names, ["TestTable/leaks_here"], "{}", run.stderr);
    // Alternatives and groups are split as the testing package splits them.
    let run = goleash_test(&[
        "--format",
        "json",
        "--",
        "-run",
        "TestTable/(leaks|quiet)_[a-z]+|ExampleForget",
        "./names",
    ]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = package(&report, "names")["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["test"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ExampleForget", "TestTable/leaks_here"],
        "{}",
        run.stderr
    );
}

/// A standard-library package whose TestMain is in its internal test package (like net and
/// crypto/tls; here net/http/cgi, whose tests are quick) is checked: the check is only kept
/// out of packages it imports itself.
#[test]
fn a_standard_package_with_an_internal_test_main_is_checked() {
    let run = goleash_test(&[
        "--format",
        "json",
        "--",
        "-run",
        "^TestRequest$",
        "net/http/cgi",
    ]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    let pkg = &report["packages"][0];
    assert_eq!(pkg["import_path"], "net/http/cgi");
    assert_eq!(pkg["status"], "passed", "{pkg:#}\n{}", run.stderr);
    assert_eq!(pkg["hook"]["kind"], "wrapped", "{pkg:#}");
    assert!(pkg["hook"]["file"]
        .as_str()
        .unwrap()
        .ends_with("net/http/cgi/host_test.go"));
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Goroutines `--expect` marks long-lived are counted, not reported, so the check does not
/// wait for them: its first look finds nothing to wait for (one round), where it used to
/// look again until the late goroutine ended.
#[test]
fn expected_goroutines_do_not_hold_the_retry_window() {
    let run = goleash_test(&[
        "--expect",
        "goleash.test/gotest/late.FlushSoon*",
        "--retry",
        "5s",
        "--format",
        "json",
        "./late",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let pkg = package(&report, "late");
    assert_eq!(pkg["expected"], 1, "{pkg:#}");
    assert_eq!(pkg["tests"].as_array().unwrap().len(), 0, "{pkg:#}");
    assert_eq!(pkg["check"]["rounds"], 1, "{pkg:#}");
    assert_eq!(pkg["check"]["stragglers"], 0, "{pkg:#}");
}

/// The `leashtest` Go package's own tests (go/leashtest), with goleash on PATH (its report is
/// goleash analyze's) and without (the built-in grouped report).
#[test]
fn leashtest_reports_with_and_without_goleash_on_path() {
    let go_dir = go().parent().unwrap().to_path_buf();
    let goleash_dir = Path::new(env!("CARGO_BIN_EXE_goleash"))
        .parent()
        .unwrap()
        .to_path_buf();
    let system: Vec<PathBuf> = std::env::split_paths("/usr/local/bin:/usr/bin:/bin").collect();
    for (with_goleash, reporter) in [(true, "goleash"), (false, "built-in")] {
        let mut dirs = vec![go_dir.clone()];
        if with_goleash {
            dirs.insert(0, goleash_dir.clone());
        }
        dirs.extend(system.clone());
        let path = std::env::join_paths(dirs).unwrap();
        let out = Command::new(go())
            .args(["test", "-count=1", "-v", "./..."])
            .current_dir(root().join("go/leashtest"))
            .env("PATH", &path)
            .env("GOTOOLCHAIN", "local")
            .env_remove("LEASHTEST_GOLEASH")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("report by {reporter}:")),
            "{reporter}: {stdout}"
        );
    }
}

/// On a module whose tests use goleak (testdata/goleak-compare, goleak v1.3.0 from the Go
/// module proxy), goleash test names every test goleak fails, with no change to the tests.
#[test]
fn goleash_finds_every_leak_goleak_finds() {
    let dir = root().join("testdata/goleak-compare");
    // goleak per test, each test checking only what it started (IgnoreCurrent at its start).
    let out = Command::new(go())
        .args([
            "test",
            "-count=1",
            "-json",
            "-tags",
            "goleak_current",
            "./...",
        ])
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let mut goleak = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["Action"] == "fail" {
            if let Some(test) = event["Test"].as_str() {
                goleak.insert(test.to_string());
            }
        }
    }
    // A parent fails with its failing subtest; goleash names the subtest.
    let failed = goleak.clone();
    goleak.retain(|t| !failed.iter().any(|sub| sub.starts_with(&format!("{t}/"))));
    assert!(
        goleak.contains("TestFetchFirst"),
        "goleak's run: {goleak:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_goleash"))
        .args(["test", "--format", "json", "--go"])
        .arg(go())
        .arg("./...")
        .current_dir(&dir)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let goleash: BTreeSet<String> = report["packages"][0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["leaked"].as_u64().unwrap_or(0) > 0)
        .map(|t| t["test"]["name"].as_str().unwrap_or("(none)").to_string())
        .collect();
    let expected: BTreeSet<String> = [
        "TestCacheNotClosed",
        "TestFetchFirst",
        "TestPollerForgotten",
        "TestServerLeftOpen",
        "TestSources/two_sources",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(goleash, expected);
    assert!(
        goleak.is_subset(&goleash),
        "goleak {goleak:?}, goleash {goleash:?}"
    );
}

/// `--format html`: the page lists each leaking test's groups with the test's name, and the
/// test's own line comes with its source listing.
#[test]
fn the_html_page_names_the_leaking_tests_and_shows_their_lines() {
    let run = goleash_test(&["--format", "html", "./servers"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let open = "<script id=\"data\" type=\"application/json\">";
    let start = run.stdout.find(open).expect("embedded data") + open.len();
    let end = start + run.stdout[start..].find("</script>").unwrap();
    let page: Value = serde_json::from_str(&run.stdout[start..end].replace("<\\/", "</")).unwrap();
    assert_eq!(page["kind"], "test");
    let groups = page["groups"].as_array().unwrap();
    let tests: Vec<&str> = groups.iter().map(|g| g["test"].as_str().unwrap()).collect();
    assert!(
        tests.contains(&"goleash.test/gotest/servers TestLeavesServerOpen"),
        "{tests:?}"
    );
    assert!(
        !tests.iter().any(|t| t.ends_with("TestClosesServer")),
        "{tests:?}"
    );
    let server = groups
        .iter()
        .find(|g| {
            g["test"]
                .as_str()
                .unwrap()
                .ends_with("TestLeavesServerOpen")
        })
        .unwrap();
    let line = server["in_test"].as_u64().expect("the test's line");
    let listing = &page["listings"][line.to_string()];
    assert!(
        listing["path"]
            .as_str()
            .unwrap()
            .ends_with("servers_test.go"),
        "{listing:#}"
    );
}

/// The churn of test `name` in a `--trace` report: (created, ended, alive).
fn churn_of(pkg: &Value, name: &str) -> (u64, u64, u64) {
    let c = pkg["churn"]
        .as_array()
        .unwrap_or_else(|| panic!("no churn in {pkg:#}"))
        .iter()
        .find(|c| c["test"] == name)
        .unwrap_or_else(|| panic!("no churn of {name} in {:#}", pkg["churn"]));
    let n = |key: &str| c[key].as_u64().unwrap();
    (n("created"), n("ended"), n("alive"))
}

/// `--trace` with ancestry off: testdata/gotest/traced leaks from a helper goroutine inside
/// one subtest of a table, so no frame of the leaked goroutines names a test and the check's
/// label names only the top-level test; the package's execution trace names the subtest and
/// counts each test's goroutines.
#[test]
fn trace_names_the_subtest_a_helper_leaked_from_without_ancestors() {
    let package_args = ["--", "-tags", "goleash_trace", "./traced"];
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["--ancestors", "0"];
        v.extend_from_slice(extra);
        v.extend_from_slice(&package_args);
        v
    };

    let without = goleash_test(&args(&["--format", "json"]));
    assert_eq!(without.code, 1, "{}{}", without.stdout, without.stderr);
    let report: Value = serde_json::from_str(&without.stdout).unwrap();
    let pkg = package(&report, "traced");
    let tests = pkg["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1, "{pkg:#}");
    assert_eq!(tests[0]["test"]["name"], "TestTable", "{pkg:#}");
    assert_eq!(tests[0]["test"]["via"], "label", "{pkg:#}");
    assert!(pkg.get("churn").is_none(), "no churn without a trace");
    // No frame of the leaked goroutines names a test: only the trace can place them.
    let group = &tests[0]["groups"][0];
    assert!(!group.to_string().contains("traced.TestTable"), "{group:#}");

    let with = goleash_test(&args(&["--trace", "--format", "json"]));
    assert_eq!(with.code, 1, "{}{}", with.stdout, with.stderr);
    let report: Value = serde_json::from_str(&with.stdout).unwrap();
    let pkg = package(&report, "traced");
    let tests = pkg["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1, "{pkg:#}");
    let leak = test(pkg, "TestTable/forgets");
    assert_eq!(leak["test"]["via"], "trace", "{leak:#}");
    assert_eq!(leak["test"]["test"], "TestTable", "{leak:#}");
    assert_eq!(leak["leaked"], 3, "the pool's 3 workers: {leak:#}");
    assert_eq!(
        leak["groups"][0]["site"]["function"],
        "goleash.test/gotest/traced.(*Pool).worker"
    );

    // Each subtest starts the spawner, 3 workers and 5 short goroutines; only the subtest
    // that forgets Stop leaves its workers alive.
    let (created, ended, alive) = churn_of(pkg, "TestTable/forgets");
    assert_eq!(alive, 3);
    assert_eq!(created, ended + alive);
    assert!(
        ended >= 6,
        "the spawner and the 5 short ones ended: {ended}"
    );
    for name in ["TestTable/stops", "TestTable/stops_again"] {
        let (created, ended, alive) = churn_of(pkg, name);
        assert_eq!((ended, alive), (created, 0), "{name}");
        assert!(created >= 9, "{name}: {created}");
    }
    let (created, ended, alive) = churn_of(pkg, "TestOnlyChurns");
    assert_eq!((created, ended, alive), (4, 4, 0));
    // Every test, in the order they ran (TestTable's own goroutine only started subtests).
    let order: Vec<&str> = pkg["churn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["test"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "TestTable",
            "TestTable/stops",
            "TestTable/forgets",
            "TestTable/stops_again",
            "TestOnlyChurns"
        ]
    );
    assert_eq!(churn_of(pkg, "TestTable"), (0, 0, 0));

    // The terminal report says it in one line.
    let terminal = goleash_test(&args(&["--trace"]));
    assert_eq!(terminal.code, 1, "{}{}", terminal.stdout, terminal.stderr);
    let line = terminal
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("trace: "))
        .unwrap_or_else(|| panic!("no trace line: {}", terminal.stdout));
    assert!(line.contains("3 still alive"), "{line}");
    assert!(line.contains("TestTable/forgets 3/"), "{line}");
    assert!(terminal
        .stdout
        .contains("TestTable/forgets  3 goroutines leaked"));
}

/// `[test] trace = true` in goleash.toml does what `--trace` does.
#[test]
fn trace_from_goleash_toml() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("goleash.toml");
    std::fs::write(&config, "[test]\ntrace = true\nancestors = 0\n").unwrap();
    let run = goleash_test(&[
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
        "--",
        "-tags",
        "goleash_trace",
        "./traced",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let pkg = package(&report, "traced");
    assert_eq!(test(pkg, "TestTable/forgets")["test"]["via"], "trace");
    assert_eq!(churn_of(pkg, "TestTable/forgets").2, 3);

    std::fs::write(&config, "[test]\ntrace = \"yes\"\n").unwrap();
    let bad = goleash_test(&["--config", config.to_str().unwrap(), "./traced"]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("trace"), "{}", bad.stderr);
}
