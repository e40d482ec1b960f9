//! `goleash lint`, `goleash rules`, `goleash rule` end to end: exit codes, formats,
//! suppressions, config, baselines, broken files.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const LOST_CANCEL: &str = "package p

import \"context\"

func f(parent context.Context) context.Context {
\tctx, _ := context.WithCancel(parent)
\treturn ctx
}
";

const CLEAN: &str = "package p

import \"context\"

func f(parent context.Context) error {
\tctx, cancel := context.WithCancel(parent)
\tdefer cancel()
\treturn ctx.Err()
}
";

fn goleash() -> Command {
    let mut cmd = Command::cargo_bin("goleash").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn lint_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let output = goleash()
        .current_dir(dir)
        .args(["lint", ".", "--format", "json"])
        .args(extra)
        .output()
        .expect("run");
    let json: Value = serde_json::from_slice(&output.stdout).expect("json output");
    (output.status.code().unwrap_or(-1), json)
}

fn codes(json: &Value) -> Vec<String> {
    json["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn exit_codes_clean_findings_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "clean/a.go", CLEAN);
    write(dir.path(), "leaky/a.go", LOST_CANCEL);
    goleash()
        .current_dir(dir.path())
        .args(["lint", "clean"])
        .assert()
        .code(0);
    goleash()
        .current_dir(dir.path())
        .args(["lint", "leaky"])
        .assert()
        .code(1);
    goleash()
        .current_dir(dir.path())
        .args(["lint", "./..."])
        .assert()
        .code(1);
    goleash()
        .current_dir(dir.path())
        .args(["lint", "does-not-exist"])
        .assert()
        .code(2);
    goleash()
        .current_dir(dir.path())
        .args(["lint", "leaky", "--select", "GL999"])
        .assert()
        .code(2);
    // --fail-on error: GL013 is an error, so still 1; --fail-on never: 0.
    goleash()
        .current_dir(dir.path())
        .args(["lint", "leaky", "--fail-on", "never"])
        .assert()
        .code(0);
}

#[test]
fn text_output_has_code_frame_why_fix_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.go", LOST_CANCEL);
    let output = goleash()
        .current_dir(dir.path())
        .args(["lint", "."])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("error[GL013]"), "{text}");
    assert!(text.contains("--> a.go:6:"), "{text}");
    assert!(
        text.contains("ctx, _ := context.WithCancel(parent)"),
        "{text}"
    );
    assert!(text.contains("why: "), "{text}");
    assert!(text.contains("fix: "), "{text}");
    assert!(text.contains("goleash lint: 1 file"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when not a terminal: {text}"
    );
}

#[test]
fn json_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.go", LOST_CANCEL);
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(codes(&json), ["GL013"]);
    let d = &json["diagnostics"][0];
    assert_eq!(d["path"], "a.go");
    assert_eq!(d["span"]["line"], 6);
    assert_eq!(d["severity"], "error");
    assert_eq!(json["summary"]["files"], 1);
    assert_eq!(json["summary"]["errors"], 1);
}

#[test]
fn sarif_output_has_the_shape_github_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.go", LOST_CANCEL);
    let output = goleash()
        .current_dir(dir.path())
        .args(["lint", ".", "--format", "sarif"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&output.stdout).expect("sarif is json");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"]
        .as_str()
        .unwrap_or("")
        .contains("sarif-2.1.0"));
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "goleash");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.len() >= 16);
    for rule in rules {
        assert!(rule["id"].is_string() && rule["shortDescription"]["text"].is_string());
    }
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "GL013");
    let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[index]["id"], "GL013");
    assert_eq!(result["level"], "error");
    assert!(result["message"]["text"].is_string());
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "a.go");
    assert_eq!(location["region"]["startLine"], 6);
    assert!(location["region"]["startColumn"].as_u64().unwrap_or(0) >= 1);
    assert!(result["partialFingerprints"].is_object());
}

#[test]
fn github_annotations() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.go", LOST_CANCEL);
    let output = goleash()
        .current_dir(dir.path())
        .args(["lint", ".", "--format", "github"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or("");
    assert!(first.starts_with("::error file=a.go,line=6,col="), "{text}");
    assert!(first.contains("title=GL013 lost-cancel::"), "{text}");
}

#[test]
fn suppressions_used_unused_and_without_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suppressed = LOST_CANCEL.replace(
        "\tctx, _ := context.WithCancel(parent)\n",
        "\t//goleash:ignore GL013 the caller's context is always short-lived\n\tctx, _ := context.WithCancel(parent)\n",
    );
    write(dir.path(), "a.go", &suppressed);
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(code, 0, "{json}");
    assert!(codes(&json).is_empty(), "{json}");

    let nolint = LOST_CANCEL.replace(
        "\tctx, _ := context.WithCancel(parent)\n",
        "\tctx, _ := context.WithCancel(parent) //nolint:goleash\n",
    );
    write(dir.path(), "a.go", &nolint);
    let (_, json) = lint_json(dir.path(), &[]);
    assert_eq!(codes(&json), ["GL902"], "{json}");

    let unused = CLEAN.replace(
        "\tdefer cancel()\n",
        "\tdefer cancel() //goleash:ignore GL001 nothing here\n",
    );
    write(dir.path(), "a.go", &unused);
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(codes(&json), ["GL901"], "{json}");
    assert_eq!(code, 1);
}

#[test]
fn parse_error_is_reported_and_the_rest_still_linted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = format!("{LOST_CANCEL}\nfunc g() {{\n\tx := := 1\n}}\n");
    write(dir.path(), "a.go", &broken);
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let found = codes(&json);
    assert!(found.contains(&"GL900".to_string()), "{json}");
    assert!(found.contains(&"GL013".to_string()), "{json}");
}

#[test]
fn config_found_upward_selects_and_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "pkg/inner/a.go", LOST_CANCEL);
    write(
        dir.path(),
        "goleash.toml",
        "[lint]\nseverity = { GL013 = \"info\" }\n",
    );
    let output = goleash()
        .current_dir(dir.path())
        .args(["lint", "pkg/inner", "--format", "json"])
        .output()
        .expect("run");
    let json: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["diagnostics"][0]["severity"], "info");
    assert_eq!(
        output.status.code(),
        Some(0),
        "info is below the default fail-on"
    );

    write(dir.path(), "goleash.toml", "[lint]\nignore = [\"GL013\"]\n");
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(codes(&json).is_empty());

    write(dir.path(), "goleash.toml", "[lint]\nbogus = true\n");
    goleash()
        .current_dir(dir.path())
        .args(["lint", "."])
        .assert()
        .code(2);
}

#[test]
fn baseline_hides_known_findings_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.go", LOST_CANCEL);
    goleash()
        .current_dir(dir.path())
        .args(["lint", ".", "--write-baseline", "baseline.json"])
        .assert()
        .code(0);
    let (code, json) = lint_json(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["baselined"], 1);

    // A new finding in another file still fails; the known one stays hidden even after
    // the file shifts down by a few lines.
    write(dir.path(), "a.go", &format!("// shifted\n\n{LOST_CANCEL}"));
    write(
        dir.path(),
        "b.go",
        &LOST_CANCEL.replace("func f(", "func h("),
    );
    let (code, json) = lint_json(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = json["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(paths, ["b.go"], "{json}");

    write(dir.path(), "bad.json", "{ not json");
    goleash()
        .current_dir(dir.path())
        .args(["lint", ".", "--baseline", "bad.json"])
        .assert()
        .code(2);
}

#[test]
fn tests_vendor_and_testdata_skipped_by_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a_test.go", LOST_CANCEL);
    write(dir.path(), "vendor/x/a.go", LOST_CANCEL);
    write(dir.path(), "testdata/a.go", LOST_CANCEL);
    let (code, json) = lint_json(dir.path(), &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files"], 0);
    let (_, json) = lint_json(dir.path(), &["--include-tests"]);
    assert_eq!(json["summary"]["files"], 1);
    let (_, json) = lint_json(dir.path(), &["--include-tests", "--include-vendor"]);
    assert_eq!(json["summary"]["files"], 3);
}

#[test]
fn rules_and_rule_docs() {
    let output = goleash().args(["rules"]).output().expect("run");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for code in ["GL001", "GL013", "GL018", "GL024", "GL900"] {
        assert!(text.contains(code), "{text}");
    }
    let output = goleash()
        .args(["rules", "--format", "json"])
        .output()
        .expect("run");
    let rules: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(rules.as_array().map(|a| a.len()).unwrap_or(0) >= 16);

    let output = goleash().args(["rule", "GL001"]).output().expect("run");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("# GL001 forgotten-sender"), "{text}");
    assert!(text.contains("## Fix"), "{text}");
    goleash().args(["rule", "lost-cancel"]).assert().code(0);
    goleash().args(["rule", "GL999"]).assert().code(2);
}

#[test]
fn help_explains_flags_with_examples() {
    let output = goleash().args(["lint", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--format",
        "--fail-on",
        "--select",
        "--extend-select",
        "--ignore",
        "--include-tests",
        "--include-vendor",
        "--exclude",
        "--config",
        "--baseline",
        "--write-baseline",
        "--go-version",
        "--color",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
    assert!(text.contains("Example"), "{text}");
}
