//! Splits what `go test` printed into each package's share and reads each package's outcome,
//! from the plain text format (`ok  \tpkg\t0.1s`, `FAIL\tpkg [build failed]`, …) or from the
//! test2json events of `go test -json`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How `go test` says a package ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed,
    BuildFailed,
    NoTestFiles,
}

/// One package's share of the output.
#[derive(Clone, Debug, Default)]
pub(crate) struct PackageOutput {
    pub text: String,
    pub outcome: Option<Outcome>,
    /// Compiler messages for a package that did not build.
    pub build_errors: String,
}

/// Per import path.
pub(crate) type Outputs = BTreeMap<String, PackageOutput>;

/// Reads the captured stdout (and stderr, where the compiler's messages go) of a `go test` run.
pub(crate) fn split(stdout: &[u8], stderr: &[u8], json: bool) -> Outputs {
    let mut outputs = if json {
        split_json(stdout)
    } else {
        split_text(stdout)
    };
    add_build_errors(&mut outputs, &String::from_utf8_lossy(stderr));
    outputs
}

/// Without -json, go test prints a package's output in one piece ending with its summary line
/// (packages run in parallel are buffered), so everything since the previous summary is the
/// package's.
fn split_text(stdout: &[u8]) -> Outputs {
    let text = String::from_utf8_lossy(stdout);
    let mut outputs = Outputs::new();
    let mut pending = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if let Some((pkg, outcome)) = summary_line(trimmed) {
            let entry = outputs.entry(pkg.to_string()).or_default();
            entry.text.push_str(&std::mem::take(&mut pending));
            entry.text.push_str(line);
            entry.outcome = Some(outcome);
        } else {
            pending.push_str(line);
        }
    }
    outputs
}

fn summary_line(line: &str) -> Option<(&str, Outcome)> {
    let (rest, outcome) = if let Some(rest) = line.strip_prefix("ok  \t") {
        (rest, Outcome::Passed)
    } else if let Some(rest) = line.strip_prefix("FAIL\t") {
        (rest, Outcome::Failed)
    } else if let Some(rest) = line.strip_prefix("?   \t") {
        (rest, Outcome::NoTestFiles)
    } else {
        return None;
    };
    let end = rest.find(['\t', ' ']).unwrap_or(rest.len());
    let pkg = &rest[..end];
    if pkg.is_empty() {
        return None;
    }
    let outcome =
        if rest[end..].contains("[build failed]") || rest[end..].contains("[setup failed]") {
            Outcome::BuildFailed
        } else {
            outcome
        };
    Some((pkg, outcome))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    #[serde(default)]
    action: String,
    package: Option<String>,
    import_path: Option<String>,
    test: Option<String>,
    output: Option<String>,
    failed_build: Option<String>,
}

fn split_json(stdout: &[u8]) -> Outputs {
    let mut outputs = Outputs::new();
    for line in stdout.split(|&b| b == b'\n') {
        let Ok(event) = serde_json::from_slice::<Event>(line) else {
            continue;
        };
        if event.action == "build-output" {
            // ImportPath reads `pkg [pkg.test]` for a test build.
            if let (Some(path), Some(out)) = (&event.import_path, &event.output) {
                let pkg = path.split(' ').next().unwrap_or(path);
                outputs
                    .entry(pkg.to_string())
                    .or_default()
                    .build_errors
                    .push_str(out);
            }
            continue;
        }
        let Some(pkg) = event.package else { continue };
        let entry = outputs.entry(pkg).or_default();
        if let Some(out) = &event.output {
            entry.text.push_str(out);
        }
        if event.test.is_none() {
            let outcome = match event.action.as_str() {
                "pass" => Some(Outcome::Passed),
                "fail" if event.failed_build.is_some() => Some(Outcome::BuildFailed),
                "fail" => Some(Outcome::Failed),
                "skip" => Some(Outcome::NoTestFiles),
                _ => None,
            };
            if outcome.is_some() {
                entry.outcome = outcome;
            }
        }
    }
    outputs
}

/// `# pkg` or `# pkg [pkg.test]` heads the compiler's messages for a package on stderr;
/// `# [pkg]` (or `# [pkg_test]`) heads go vet's, which go test runs first.
fn add_build_errors(outputs: &mut Outputs, stderr: &str) {
    let mut current: Option<String> = None;
    for line in stderr.lines() {
        if let Some(head) = line.strip_prefix("# ") {
            let first = head.split(' ').next().unwrap_or(head);
            let pkg = first.trim_start_matches('[').trim_end_matches(']');
            let pkg = pkg
                .strip_suffix(".test")
                .or_else(|| pkg.strip_suffix("_test"))
                .unwrap_or(pkg);
            current = Some(pkg.to_string());
            continue;
        }
        if let Some(pkg) = &current {
            let entry = outputs.entry(pkg.clone()).or_default();
            entry.build_errors.push_str(line);
            entry.build_errors.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vet_failures_before_the_tests_are_kept_with_their_package() {
        // What go test 1.27 printed for a package whose test file fails vet's printf check.
        let stderr = "# example.com/vetfail\n# [example.com/vetfail]\n./v_test.go:9:14: fmt.Printf format %d has arg \"not a number\" of wrong type string\n";
        let stdout = b"FAIL\texample.com/vetfail [build failed]\nFAIL\n";
        let outputs = split(stdout, stderr.as_bytes(), false);
        let vet = &outputs["example.com/vetfail"];
        assert_eq!(vet.outcome, Some(Outcome::BuildFailed));
        assert!(
            vet.build_errors
                .contains("v_test.go:9:14: fmt.Printf format %d"),
            "{:?}",
            vet.build_errors
        );
    }

    #[test]
    fn text_output_is_split_at_summary_lines() {
        let out = b"=== RUN   TestA\n--- PASS: TestA\nok  \tm/a\t0.01s\npanic: test timed out after 3s\ngoroutine 1 [running]:\nFAIL\tm/b\t3.0s\nFAIL\tm/c [build failed]\n?   \tm/d\t[no test files]\nFAIL\n";
        let err = b"# m/c [m/c.test]\nc/c_test.go:3:2: undefined: x\n";
        let o = split(out, err, false);
        assert_eq!(o["m/a"].outcome, Some(Outcome::Passed));
        assert!(o["m/a"].text.starts_with("=== RUN"));
        assert_eq!(o["m/b"].outcome, Some(Outcome::Failed));
        assert!(o["m/b"].text.contains("timed out"));
        assert_eq!(o["m/c"].outcome, Some(Outcome::BuildFailed));
        assert!(o["m/c"].build_errors.contains("undefined: x"));
        assert_eq!(o["m/d"].outcome, Some(Outcome::NoTestFiles));
    }

    #[test]
    fn json_events_are_grouped_by_package() {
        let out = br#"{"Action":"build-output","ImportPath":"m/c [m/c.test]","Output":"c_test.go:3: undefined\n"}
{"Action":"start","Package":"m/a"}
{"Action":"output","Package":"m/a","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"m/a","Elapsed":0.1}
{"Action":"fail","Package":"m/c","FailedBuild":"m/c [m/c.test]"}
not json
"#;
        let o = split(out, b"", true);
        assert_eq!(o["m/a"].outcome, Some(Outcome::Passed));
        assert!(o["m/a"].text.contains("RUN"));
        assert_eq!(o["m/c"].outcome, Some(Outcome::BuildFailed));
        assert!(o["m/c"].build_errors.contains("undefined"));
    }
}
