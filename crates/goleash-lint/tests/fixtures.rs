//! Every rule's fixture: the `// want GL0xx` lines are exactly the lines reported, and the
//! rendered diagnostics are snapshot-tested.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use goleash_lint::rules::{PACKAGE_RULES, RULES};
use goleash_lint::{lint_paths, Diagnostic, GoVersion, LintOptions, RuleSelection};

fn fixture_dir(code: &str, name: &str) -> PathBuf {
    Path::new("fixtures").join(format!("{code}_{}", name.replace('-', "_")))
}

fn lint_rule(dir: &Path, code: &str, go_version: Option<GoVersion>) -> Vec<Diagnostic> {
    let options = LintOptions {
        selection: RuleSelection {
            select: Some(vec![code.to_string()]),
            ..RuleSelection::default()
        },
        go_version,
        threads: 1,
        ..LintOptions::default()
    };
    let run = lint_paths(&[dir.to_path_buf()], &options);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    run.diagnostics
}

/// `(path, line)` of every `// want CODE` comment under `dir`.
fn wanted(dir: &Path, code: &str) -> BTreeSet<(String, usize)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("fixture dir readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "go") {
                let text = std::fs::read_to_string(&path).expect("fixture readable");
                for (i, line) in text.lines().enumerate() {
                    if line.contains(&format!("// want {code}")) {
                        out.insert((path.to_string_lossy().replace('\\', "/"), i + 1));
                    }
                }
            }
        }
    }
    out
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let _ = writeln!(
            out,
            "{}:{}:{} {} {} ({}) {}",
            d.path, d.span.line, d.span.column, d.code, d.severity, d.confidence, d.message
        );
        for label in &d.labels {
            let _ = writeln!(
                out,
                "    {}:{} {}",
                label.span.line, label.span.column, label.message
            );
        }
    }
    out
}

#[test]
fn every_rule_has_a_fixture_whose_wants_match() {
    let mut failures = Vec::new();
    let metas = RULES
        .iter()
        .map(|r| r.meta)
        .chain(PACKAGE_RULES.iter().map(|r| r.meta));
    for meta in metas {
        let dir = fixture_dir(meta.code, meta.name);
        assert!(dir.is_dir(), "missing fixture {}", dir.display());
        let diagnostics = lint_rule(&dir, meta.code, None);
        let got: BTreeSet<(String, usize)> = diagnostics
            .iter()
            .map(|d| (d.path.clone(), d.span.line))
            .collect();
        let want = wanted(&dir, meta.code);
        assert!(
            !want.is_empty(),
            "{} fixture has no positive case",
            meta.code
        );
        if got != want {
            failures.push(format!(
                "{}: missing {:?}, unexpected {:?}",
                meta.code,
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
        insta::assert_snapshot!(meta.code, render(&diagnostics));
        if meta.version_gated {
            let modern = lint_rule(&dir, meta.code, GoVersion::parse("1.23"));
            insta::assert_snapshot!(format!("{}_go1.23", meta.code), render(&modern));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_rules_are_quiet_on_negative_cases() {
    // With every default rule on, only lines marked `want` (for some rule) may be reported,
    // so rules do not trip over each other's correct idioms.
    let options = LintOptions {
        threads: 1,
        ..LintOptions::default()
    };
    let run = lint_paths(&[PathBuf::from("fixtures")], &options);
    let mut wanted_lines = BTreeSet::new();
    let metas: Vec<_> = RULES
        .iter()
        .map(|r| r.meta)
        .chain(PACKAGE_RULES.iter().map(|r| r.meta))
        .collect();
    for meta in &metas {
        let dir = fixture_dir(meta.code, meta.name);
        for code in metas.iter().map(|m| m.code) {
            wanted_lines.extend(wanted(&dir, code));
        }
    }
    let stray: Vec<String> = run
        .diagnostics
        .iter()
        .filter(|d| !wanted_lines.contains(&(d.path.clone(), d.span.line)))
        .map(|d| format!("{}:{} {} {}", d.path, d.span.line, d.code, d.message))
        .collect();
    assert!(
        stray.is_empty(),
        "default rules fire on negative cases:\n{}",
        stray.join("\n")
    );
}

#[test]
fn rule_metadata_is_complete() {
    let mut codes = BTreeSet::new();
    for meta in goleash_lint::all_meta() {
        assert!(codes.insert(meta.code), "duplicate code {}", meta.code);
        assert!(meta.code.starts_with("GL") && meta.code.len() == 5);
        assert!(!meta.why.is_empty() && !meta.fix.is_empty() && !meta.summary.is_empty());
        assert!(meta
            .docs
            .starts_with(&format!("# {} {}", meta.code, meta.name)));
    }
    for meta in RULES
        .iter()
        .map(|r| r.meta)
        .chain(PACKAGE_RULES.iter().map(|r| r.meta))
    {
        for section in [
            "## What it finds",
            "## Example",
            "## Fix",
            "## When it is wrong",
        ] {
            assert!(
                meta.docs.contains(section),
                "{} docs lack {section}",
                meta.code
            );
        }
        assert!(
            meta.docs.contains("## Why it leaks") || meta.docs.contains("## Why it matters"),
            "{} docs lack a why section",
            meta.code
        );
    }
    assert!(RULES.len() >= 16);
}
