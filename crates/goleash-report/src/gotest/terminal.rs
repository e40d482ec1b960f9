//! The report for people: per package, per test, the leaked groups with count, blocking site,
//! creator, verdict and what to fix.

use std::fmt::Write;
use std::path::Path;

use goleash_analyze::{FrameView, Verdict};

use goleash_gotest::{PackageReport, Status, TestLeaks, TestRun};

/// How the terminal report looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub color: bool,
    /// Also list packages without findings.
    pub verbose: bool,
    /// Every frame instead of the user's frames.
    pub full: bool,
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
    fn red(&self, t: &str) -> String {
        self.wrap("1;31", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn verdict(&self, v: Verdict) -> String {
        let code = match v {
            Verdict::Proven => "1;31",
            Verdict::Likely => "1;33",
            Verdict::Possible => "36",
            Verdict::Expected => "2",
        };
        self.wrap(code, &v.name().to_uppercase())
    }
}

/// Paths under the working directory are shown relative to it.
pub(crate) fn short_path(file: &str) -> String {
    let path = Path::new(file);
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.to_string_lossy().into_owned();
        }
    }
    file.to_string()
}

/// `pkg.Func` without the import path's directories.
pub(crate) fn short_function(function: &str) -> &str {
    let after_slash = function.rfind('/').map_or(0, |i| i + 1);
    &function[after_slash..]
}

fn frame(view: &FrameView) -> String {
    format!(
        "{}  {}:{}",
        short_function(&view.function),
        short_path(&view.file),
        view.line
    )
}

pub fn render(run: &TestRun, options: Options) -> String {
    let p = Paint(options.color);
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", p.bold("goleash test"));
    for pkg in &run.packages {
        package(&mut out, pkg, run, options, &p);
    }
    summary(&mut out, run, &p);
    out
}

fn package(out: &mut String, pkg: &PackageReport, run: &TestRun, options: Options, p: &Paint) {
    let findings = !pkg.tests.is_empty() || pkg.deadlock.is_some();
    let noteworthy = findings
        || matches!(
            pkg.status,
            Status::BuildFailed | Status::Crashed | Status::NotChecked
        );
    if !noteworthy && !options.verbose {
        return;
    }
    let status = match pkg.status {
        Status::BuildFailed | Status::Deadlocked | Status::Crashed => p.red(pkg.status.name()),
        Status::Passed if !findings => p.green("no leaks"),
        Status::Passed => "tests passed".to_string(),
        other => other.name().to_string(),
    };
    let mut head = format!("{}  {status}", p.bold(&pkg.import_path));
    if let Some(check) = &pkg.check {
        let _ = write!(
            head,
            "{}",
            p.dim(&format!(
                ", checked {:.0} ms after the tests",
                check.written_ms
            ))
        );
        if check.stragglers > 0 {
            let _ = write!(
                head,
                "{}",
                p.dim(&format!(
                    " ({} still running at the end of the {} ms window)",
                    check.stragglers, run.retry_ms
                ))
            );
        }
    }
    if pkg.ignored > 0 {
        let _ = write!(head, "{}", p.dim(&format!(", {} ignored", pkg.ignored)));
    }
    let _ = writeln!(out, "\n{head}");
    if let Some(errors) = &pkg.build_errors {
        for line in errors.lines().take(20) {
            let _ = writeln!(out, "    {line}");
        }
    }
    for note in &pkg.notes {
        let _ = writeln!(out, "  {}", p.dim(&format!("note: {note}")));
    }
    if let Some(churn) = &pkg.churn {
        let _ = writeln!(out, "  {}", p.dim(&churn_line(churn)));
    }
    if let Some(deadlock) = &pkg.deadlock {
        let _ = writeln!(out, "  {}", p.red(&deadlock.message));
        for test in &deadlock.running {
            let _ = writeln!(out, "  running: {test}");
        }
        if deadlock.tests.is_empty() {
            let _ = writeln!(
                out,
                "  {}",
                p.dim("no goroutine of a test found in the dump")
            );
        }
        for test in &deadlock.tests {
            test_block(out, test, "stuck", options, p);
        }
        if deadlock.other_goroutines > 0 {
            let _ = writeln!(
                out,
                "  {}",
                p.dim(&format!(
                    "{} other goroutine{} (test harness, or started outside any test)",
                    deadlock.other_goroutines,
                    if deadlock.other_goroutines == 1 {
                        ""
                    } else {
                        "s"
                    }
                ))
            );
        }
    }
    for test in &pkg.tests {
        test_block(out, test, "leaked", options, p);
    }
}

/// `--trace`: one line for the package's goroutine churn, naming the tests that left
/// goroutines alive.
fn churn_line(churn: &[goleash_gotest::TestChurn]) -> String {
    let created: u64 = churn.iter().map(|c| c.created).sum();
    let ended: u64 = churn.iter().map(|c| c.ended).sum();
    let alive: u64 = churn.iter().map(|c| c.alive).sum();
    let mut line = format!(
        "trace: {} test{} started {created} goroutine{}, {ended} ended, {alive} still alive",
        churn.len(),
        if churn.len() == 1 { "" } else { "s" },
        if created == 1 { "" } else { "s" },
    );
    let mut alive_by: Vec<&goleash_gotest::TestChurn> =
        churn.iter().filter(|c| c.alive > 0).collect();
    alive_by.sort_by(|a, b| b.alive.cmp(&a.alive).then(a.test.cmp(&b.test)));
    if !alive_by.is_empty() {
        let named: Vec<String> = alive_by
            .iter()
            .take(3)
            .map(|c| format!("{} {}/{}", c.test, c.alive, c.created))
            .collect();
        let more = alive_by.len().saturating_sub(3);
        let _ = write!(
            line,
            " ({}{})",
            named.join(", "),
            if more > 0 {
                format!(", {more} more")
            } else {
                String::new()
            }
        );
    }
    line
}

fn test_block(out: &mut String, test: &TestLeaks, word: &str, options: Options, p: &Paint) {
    let total: u64 = test.groups.iter().map(|g| g.count).sum();
    let _ = writeln!(
        out,
        "  {}  {total} goroutine{} {word}{}",
        p.bold(test.display_name()),
        if total == 1 { "" } else { "s" },
        if test.leaked < total {
            format!(" ({} at or above --fail-on)", test.leaked)
        } else {
            String::new()
        }
    );
    for group in &test.groups {
        group_block(out, group, options, p);
    }
}

fn group_block(out: &mut String, group: &goleash_gotest::LeakGroup, options: Options, p: &Paint) {
    let mut title = format!(
        "    {} ×{}  {}",
        p.verdict(group.verdict),
        group.count,
        group.category.name()
    );
    if let Some(state) = &group.state {
        let _ = write!(title, " [{state}]");
    }
    let _ = writeln!(out, "{title}");
    if let Some(site) = &group.site {
        let _ = writeln!(out, "      site     {}", frame(site));
    }
    if let Some(creator) = &group.creator {
        let _ = writeln!(out, "      created  {}", frame(creator));
    }
    if let Some(test) = &group.in_test {
        let _ = writeln!(out, "      in test  {}", frame(test));
    }
    let _ = writeln!(out, "      why      {}", group.reason);
    let _ = writeln!(out, "      fix      {}", group.hint);
    if options.full {
        let _ = writeln!(out, "      stack");
        for f in &group.frames {
            let _ = writeln!(out, "        {}", frame(f));
        }
        for (depth, ancestor) in group.ancestors.iter().enumerate() {
            let _ = writeln!(out, "      ancestor {}", depth + 1);
            for f in ancestor {
                let _ = writeln!(out, "        {}", frame(f));
            }
        }
    }
}

fn summary(out: &mut String, run: &TestRun, p: &Paint) {
    let checked = run
        .packages
        .iter()
        .filter(|pkg| pkg.check.is_some())
        .count();
    // Examples are not tests (go test counts neither them nor benchmarks as tests either).
    let leaking = |example: bool| -> usize {
        run.packages
            .iter()
            .map(|pkg| {
                pkg.tests
                    .iter()
                    .filter(|t| t.leaked > 0)
                    .filter(|t| t.test.as_ref().is_some_and(|n| n.kind == "example") == example)
                    .count()
            })
            .sum()
    };
    let (leaking_tests, leaking_examples) = (leaking(false), leaking(true));
    let deadlocked = run
        .packages
        .iter()
        .filter(|pkg| pkg.status == Status::Deadlocked)
        .count();
    let unchecked = run
        .packages
        .iter()
        .filter(|pkg| matches!(pkg.status, Status::NotChecked | Status::Crashed))
        .count();
    let build_failed = run
        .packages
        .iter()
        .filter(|pkg| pkg.status == Status::BuildFailed)
        .count();
    let not_run = run
        .packages
        .iter()
        .filter(|pkg| pkg.status == Status::NotRun)
        .count();
    let mut line = format!(
        "{checked} package{} checked: ",
        if checked == 1 { "" } else { "s" }
    );
    if run.leaked == 0 {
        line.push_str(&p.green("no leaks"));
    } else {
        let mut by = Vec::new();
        if leaking_tests > 0 || leaking_examples == 0 {
            by.push(format!(
                "{leaking_tests} test{}",
                if leaking_tests == 1 { "" } else { "s" }
            ));
        }
        if leaking_examples > 0 {
            by.push(format!(
                "{leaking_examples} example{}",
                if leaking_examples == 1 { "" } else { "s" }
            ));
        }
        line.push_str(&p.red(&format!(
            "{} goroutine{} leaked by {}",
            run.leaked,
            if run.leaked == 1 { "" } else { "s" },
            by.join(" and ")
        )));
    }
    let _ = write!(line, " (at or above {})", run.fail_on.name());
    if deadlocked > 0 {
        let _ = write!(line, ", {}", p.red(&format!("{deadlocked} deadlocked")));
    }
    if unchecked > 0 {
        let _ = write!(line, ", {}", p.red(&format!("{unchecked} not checked")));
    }
    if build_failed > 0 {
        let _ = write!(
            line,
            ", {}",
            p.red(&format!("{build_failed} failed to build"))
        );
    }
    if not_run > 0 {
        // -list, -c, -n: said plainly, so "no leaks" is not read as a passed check.
        let _ = write!(line, ", {not_run} not run (the tests did not run)");
    }
    let _ = writeln!(out, "\n{line}");
}
