//! `go vet -vettool=<goleash>` end to end: the real go command drives the goleash binary cargo
//! built over the module in testdata/vettool (leaky: one GL001; clean: nothing, imports leaky;
//! withtest: clean, but its _test.go file has a GL001).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const GOLEASH: &str = env!("CARGO_BIN_EXE_goleash");

fn module() -> PathBuf {
    support::root().join("testdata/vettool")
}

/// `go vet -vettool=<goleash> ARGS` in the test module. Results may come from the go build
/// cache: it is keyed by `goleash -V=full`, which changes with every build of goleash.
fn go_vet(args: &[&str]) -> Output {
    Command::new("go")
        .arg("vet")
        .arg(format!("-vettool={GOLEASH}"))
        .args(args)
        .current_dir(module())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .output()
        .expect("`go` on PATH (scripts/test.sh installs Go 1.27.3)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn finding_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(": [GL")).collect()
}

#[test]
fn go_vet_reports_each_leak_once_and_fails() {
    let out = go_vet(&["./..."]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let findings = finding_lines(&stderr);
    // The package and its test variant are separate runs, but go vet only reports the test
    // variant (which holds every file), so nothing may appear twice.
    assert_eq!(
        findings,
        [
            "leaky/leaky.go:15:3: [GL001] goroutine may block forever sending on unbuffered `ch`",
            "withtest/withtest_test.go:12:3: [GL001] goroutine may block forever sending on \
             unbuffered `results`",
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("leaky/leaky.go:13:2: \tunbuffered channel made here"),
        "related locations as indented lines: {stderr}"
    );
    assert!(!stderr.contains("clean/"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn go_vet_json_parses_and_holds_the_finding() {
    let out = go_vet(&["-json", "./..."]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // One JSON object per vetted package, one after the other; clean ones are `{}`.
    let objects: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("JSON stream: {e}\n{stdout}"));
    let mut packages = serde_json::Map::new();
    for object in objects {
        let Value::Object(map) = object else {
            panic!("not an object: {stdout}");
        };
        packages.extend(map);
    }
    let mut ids: Vec<&str> = packages.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "goleash.test/vettool/leaky",
            "goleash.test/vettool/withtest"
        ]
    );

    let leaky = &packages["goleash.test/vettool/leaky"];
    let rules: Vec<&String> = leaky.as_object().expect("analyzer map").keys().collect();
    assert_eq!(rules, ["GL001"], "{leaky}");
    let diags = leaky["GL001"].as_array().expect("diagnostics");
    assert_eq!(diags.len(), 1, "{leaky}");
    let diag = &diags[0];
    let posn = diag["posn"].as_str().expect("posn");
    let file = module().join("leaky/leaky.go");
    let file = file.canonicalize().unwrap_or(file);
    assert_eq!(
        Path::new(posn.trim_end_matches(":15:3")),
        file,
        "absolute file:line:col: {posn}"
    );
    assert!(diag["end"].as_str().is_some_and(|e| e.ends_with(":15:15")));
    assert_eq!(diag["category"], "forgotten-sender");
    assert!(diag["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("[GL001] goroutine may block forever")));
    assert_eq!(diag["related"].as_array().map(Vec::len), Some(3), "{diag}");
}

#[test]
fn go_vet_on_the_clean_package_alone_passes() {
    // clean imports leaky, so goleash also runs on leaky here, as a dependency that must stay
    // silent.
    let out = go_vet(&["./clean"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(finding_lines(&stderr).is_empty(), "{stderr}");
}

#[test]
fn go_vet_forwards_goleash_flags() {
    let out = go_vet(&["-ignore", "GL001", "./..."]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(finding_lines(&stderr).is_empty(), "{stderr}");

    let out = go_vet(&["-select=GL013,GL024", "./..."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A bad rule is a tool failure: go vet shows goleash's error under the package header.
    let out = go_vet(&["-select=GL999", "./leaky"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("goleash: unknown rule `GL999`"), "{stderr}");
}

#[test]
fn go_vet_fix_has_nothing_to_apply() {
    let before = std::fs::read(module().join("leaky/leaky.go")).expect("read");
    let out = go_vet(&["-fix", "./leaky"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = std::fs::read(module().join("leaky/leaky.go")).expect("read");
    assert_eq!(before, after);
}

#[test]
fn handshake_answers_version_and_flags() {
    let out = Command::new(GOLEASH).arg("-V=full").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let line = text(&out.stdout);
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields[..3],
        ["goleash", "version", env!("CARGO_PKG_VERSION")],
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");

    let out = Command::new(GOLEASH).arg("-flags").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let flags: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = flags
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["Name"].as_str())
        .collect();
    for name in ["json", "c", "select", "extend-select", "ignore", "fail-on"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }

    // `-V` alone is still goleash's own version flag.
    let out = Command::new(GOLEASH).arg("-V").output().expect("run");
    assert_eq!(
        text(&out.stdout).trim(),
        format!("goleash {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_vet_cfg_is_one_error_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let malformed = dir.path().join("malformed.cfg");
    std::fs::write(&malformed, "{\"GoFiles\": ").expect("write");
    let no_files = dir.path().join("nofiles.cfg");
    std::fs::write(&no_files, "{\"ID\": \"p\", \"GoFiles\": null}").expect("write");
    let missing = dir.path().join("missing.cfg");
    let cases = [
        (&malformed, "not a go vet config"),
        (&no_files, "package p has no Go files"),
        (&missing, "cannot read go vet config"),
    ];
    for (cfg, expected) in cases {
        let out = Command::new(GOLEASH)
            .args(["-json"])
            .arg(cfg)
            .output()
            .expect("run");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&*cfg.to_string_lossy()) && stderr.contains(expected),
            "{stderr}"
        );
    }

    let out = Command::new(GOLEASH)
        .args(["-bogus", "x.cfg"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("flag provided but not defined: -bogus"));
}
