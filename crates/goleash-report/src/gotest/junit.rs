//! JUnit XML, so CI shows each leaking test as a failed test case: one `<testsuite>` per
//! package, a `<testcase>` per test that leaked (or hung), a passing `goroutine leak check`
//! case for a clean package, an error case for a package that did not build or crashed.

use std::fmt::Write;

use super::terminal::{short_function, short_path};
use goleash_gotest::{PackageReport, Status, TestLeaks, TestRun};

/// The test case name of a package's check when nothing leaked.
pub const CHECK_CASE: &str = "goroutine leak check";

pub fn render(run: &TestRun) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for pkg in &run.packages {
        if matches!(pkg.status, Status::NoTestFiles) {
            continue;
        }
        let (t, f, e, text) = suite(pkg);
        tests += t;
        failures += f;
        errors += e;
        suites.push_str(&text);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"goleash test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

fn suite(pkg: &PackageReport) -> (usize, usize, usize, String) {
    let class = escape(&pkg.import_path);
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    let nothing = pkg.deadlock.is_none()
        && pkg.tests.iter().all(|t| t.leaked == 0)
        && !matches!(
            pkg.status,
            Status::BuildFailed | Status::Crashed | Status::NotChecked
        );
    let mut case = |name: &str, body: Option<(&str, String, String)>| {
        tests += 1;
        let _ = write!(
            cases,
            "    <testcase classname=\"{class}\" name=\"{}\"",
            escape(name)
        );
        match body {
            None => cases.push_str("/>\n"),
            Some((kind, message, text)) => {
                if kind == "failure" {
                    failures += 1;
                } else {
                    errors += 1;
                }
                let _ =
                    write!(
                    cases,
                    ">\n      <{kind} type=\"{}\" message=\"{}\">{}</{kind}>\n    </testcase>\n",
                    if kind == "failure" { "goroutine-leak" } else { "goleash" },
                    escape(&message),
                    escape(&text)
                );
            }
        }
    };
    match pkg.status {
        Status::BuildFailed => case(
            "build",
            Some((
                "error",
                "the package or its tests failed to build".into(),
                pkg.build_errors.clone().unwrap_or_default(),
            )),
        ),
        Status::Crashed | Status::NotChecked => case(
            CHECK_CASE,
            Some(("error", pkg.status.name().into(), pkg.notes.join("\n"))),
        ),
        _ => {}
    }
    if let Some(deadlock) = &pkg.deadlock {
        for test in &deadlock.tests {
            case(
                test.display_name(),
                Some((
                    "error",
                    format!("{}: {} goroutines stuck", deadlock.message, count(test)),
                    details(test),
                )),
            );
        }
        if deadlock.tests.is_empty() {
            case(
                CHECK_CASE,
                Some((
                    "error",
                    deadlock.message.clone(),
                    deadlock.running.join("\n"),
                )),
            );
        }
    }
    for test in &pkg.tests {
        if test.leaked == 0 {
            continue;
        }
        let verdict = test.groups.first().map_or("", |g| g.verdict.name());
        case(
            test.display_name(),
            Some((
                "failure",
                format!(
                    "{} goroutine{} leaked ({verdict})",
                    test.leaked,
                    if test.leaked == 1 { "" } else { "s" }
                ),
                details(test),
            )),
        );
    }
    if nothing && pkg.check.is_some() {
        case(CHECK_CASE, None);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{class}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    out.push_str(&cases);
    out.push_str("  </testsuite>\n");
    (tests, failures, errors, out)
}

fn count(test: &TestLeaks) -> u64 {
    test.groups.iter().map(|g| g.count).sum()
}

fn details(test: &TestLeaks) -> String {
    let mut out = String::new();
    for group in &test.groups {
        group_text(&mut out, group);
    }
    out
}

pub(crate) fn group_text(out: &mut String, group: &goleash_gotest::LeakGroup) {
    let _ = writeln!(
        out,
        "{} ×{} {}{}",
        group.verdict.name(),
        group.count,
        group.category.name(),
        group
            .state
            .as_ref()
            .map_or(String::new(), |s| format!(" [{s}]"))
    );
    if let Some(site) = &group.site {
        let _ = writeln!(
            out,
            "  site    {} {}:{}",
            short_function(&site.function),
            short_path(&site.file),
            site.line
        );
    }
    if let Some(creator) = &group.creator {
        let _ = writeln!(
            out,
            "  created {} {}:{}",
            short_function(&creator.function),
            short_path(&creator.file),
            creator.line
        );
    }
    if let Some(test) = &group.in_test {
        let _ = writeln!(
            out,
            "  in test {} {}:{}",
            short_function(&test.function),
            short_path(&test.file),
            test.line
        );
    }
    let _ = writeln!(out, "  why     {}", group.reason);
    let _ = writeln!(out, "  fix     {}", group.hint);
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters (ANSI colour codes in test output).
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\"\x1b[1m"),
            "a&lt;b &amp; &quot;c&quot;[1m"
        );
    }
}
