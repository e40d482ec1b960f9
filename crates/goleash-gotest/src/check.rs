//! Turns what one package left behind (the check's dump and leak profile, or the panic of a
//! `-timeout`) into its report.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use goleash_analyze::{merge_snapshots, Config, Verdict};
use goleash_model::{GroupKey, Snapshot};
use goleash_parse::Limits;

use crate::attribute::{Attributor, TestName};
use crate::golist::ListedPackage;
use crate::ignore::Ignore;
use crate::output::{Outcome, PackageOutput};
use crate::overlay::{Hook, Prepared};
use crate::{CheckTimes, Deadlock, PackageReport, Status, TestLeaks};

pub(crate) struct Context<'a> {
    pub out_dir: &'a Path,
    pub config: &'a Config,
    pub ignores: &'a [Ignore],
    pub fail_on: Verdict,
    pub no_run: Option<&'static str>,
    /// go test was given .go files rather than packages.
    pub file_args: bool,
    /// The check kept an execution trace (`<key>.trace`).
    pub trace: bool,
}

pub(crate) fn package(
    cx: &Context,
    listed: &ListedPackage,
    prepared: Option<&Prepared>,
    output: Option<&PackageOutput>,
    attributor: &mut Attributor,
) -> PackageReport {
    let outcome = output.and_then(|o| o.outcome);
    let mut report = PackageReport {
        import_path: listed.import_path.clone(),
        dir: listed.dir.clone(),
        status: Status::NotRun,
        hook: prepared.map(|p| p.hook.clone()),
        check: None,
        tests: Vec::new(),
        deadlock: None,
        ignored: 0,
        expected: 0,
        build_errors: None,
        notes: Vec::new(),
        rerun: None,
        churn: None,
    };
    if outcome == Some(Outcome::BuildFailed)
        || (listed.error.is_some() && outcome != Some(Outcome::Passed))
    {
        report.status = Status::BuildFailed;
        let mut errors = output
            .map(|o| o.build_errors.trim().to_string())
            .unwrap_or_default();
        if errors.is_empty() {
            errors = listed
                .error
                .as_ref()
                .map(|e| e.err.clone())
                .unwrap_or_default();
        }
        report.build_errors = Some(errors);
        return report;
    }
    if !listed.has_tests() || outcome == Some(Outcome::NoTestFiles) {
        report.status = Status::NoTestFiles;
        return report;
    }
    let Some(prepared) = prepared else {
        report.status = Status::NotChecked;
        return report;
    };
    if let Hook::Skipped { reason } = &prepared.hook {
        report.status = Status::NotChecked;
        report.notes.push(format!("not checked: {reason}"));
        return report;
    }
    // `-list`, `-c`, `-n`: no test ran, so whatever the hook saw is not a test run's picture.
    if let Some(why) = cx.no_run {
        report.status = Status::NotRun;
        report.notes.push(format!("not checked: {why}"));
        return report;
    }
    let base = cx.out_dir.join(&prepared.key);
    let meta = std::fs::read_to_string(base.with_extension("meta"));
    let failed = outcome == Some(Outcome::Failed);
    match meta {
        Ok(meta) => {
            report.status = if failed {
                Status::Failed
            } else {
                Status::Passed
            };
            let times = parse_meta(&meta);
            let elided = times.elided_kinds.clone();
            report.check = Some(times);
            let tags = if cx.trace {
                read_tags(&base, &prepared.import_path, &mut report)
            } else {
                None
            };
            match read_check(&base, &prepared.import_path, &elided) {
                Ok(snapshot) => leaks(cx, &mut report, snapshot, attributor, tags.as_ref()),
                Err(e) => report
                    .notes
                    .push(format!("cannot read the check's dump: {e}")),
            }
        }
        Err(_) => {
            let text = output.map_or("", |o| o.text.as_str());
            if let Some(deadlock) = deadlock(cx, text, &prepared.import_path, attributor) {
                report.status = Status::Deadlocked;
                report.deadlock = Some(deadlock);
            } else if outcome == Some(Outcome::Passed) {
                report.status = Status::NotChecked;
                report.notes.push(if cx.file_args {
                    "the tests ran but goleash's check did not: with .go files on the command line, go test compiles only those files; name the package (`./dir`) instead".into()
                } else {
                    "the tests ran but goleash's check wrote nothing (did the TestMain end the process another way, such as log.Fatal or os.Exit from another file?)".into()
                });
            } else if failed {
                report.status = Status::Crashed;
                report.notes.push(
                    "the test binary ended before goleash's check could run (os.Exit or a panic in a test); see go test's output".into(),
                );
            } else {
                report.status = Status::NotRun;
            }
        }
    }
    report
}

fn parse_meta(text: &str) -> CheckTimes {
    let mut times = CheckTimes::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        if key == "elided" {
            let parsed = value
                .split_once(' ')
                .and_then(|(id, n)| Some((id.parse().ok()?, n.trim().parse().ok()?)));
            if let Some((id, n)) = parsed {
                times.elided_kinds.push((id, n));
                times.elided += n;
            }
            continue;
        }
        let number: f64 = value.trim().parse().unwrap_or(0.0);
        match key {
            "ended_unix_ns" => times.ended_unix_ns = value.trim().parse().unwrap_or(0),
            "teardown_ns" => times.teardown_ms = number / 1e6,
            "waited_ns" => times.waited_ms = number / 1e6,
            "written_ns" => times.written_ms = number / 1e6,
            "rounds" => times.rounds = number as u32,
            "pending" => times.stragglers = number as u32,
            _ => {}
        }
    }
    times
}

/// The package's execution trace (`--trace`): which test started each goroutine, and each
/// test's churn into `report.churn`. A trace that is missing or cannot be read is a note.
fn read_tags(
    base: &Path,
    import_path: &str,
    report: &mut PackageReport,
) -> Option<goleash_parse::trace::Tags> {
    let path = base.with_extension("trace");
    let Ok(file) = std::fs::File::open(&path) else {
        report.notes.push(
            "--trace: the tests wrote no execution trace (go test -trace takes the runtime's only trace, or the test names could not be hooked)".into(),
        );
        return None;
    };
    let name = format!("{import_path} (execution trace)");
    let limits = Limits {
        max_bytes: u64::MAX,
    };
    let read = goleash_parse::trace::read_trace_tagged(&name, file, limits, NAME_KEY);
    match read {
        Ok(lifecycles) => {
            let tags = lifecycles.tags?;
            report.churn = Some(
                tags.churn
                    .iter()
                    .map(|c| crate::TestChurn {
                        test: c.tag.clone(),
                        created: c.created,
                        ended: c.ended,
                        alive: c.alive,
                    })
                    .collect(),
            );
            Some(tags)
        }
        Err(e) => {
            report.notes.push(format!("--trace: {e}"));
            None
        }
    }
}

/// The key of the harness's `trace.Log` naming the test about to start.
const NAME_KEY: &str = "goleash.test";

/// The dump (debug=2, taken right after a leak-detecting GC, so proven leaks read `(leaked)`)
/// merged with the goroutineleak profile.
/// `elided`: goroutines the check counted but did not write, by the lowest id written of
/// their kind; they join that goroutine's group before the profile is merged in.
fn read_check(base: &Path, import_path: &str, elided: &[(u64, u64)]) -> Result<Snapshot, String> {
    let dump_path = base.with_extension("dump.txt");
    let bytes = std::fs::read(&dump_path).map_err(|e| format!("{}: {e}", dump_path.display()))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Snapshot::default());
    }
    let name = format!("{import_path} (goroutines after the tests)");
    let mut dump =
        goleash_parse::parse_bytes(&name, &bytes, Limits::default()).map_err(|e| e.to_string())?;
    let mut unmatched = 0;
    for &(id, count) in elided {
        match dump.groups.iter_mut().find(|g| g.stats.ids.contains(&id)) {
            Some(group) => group.stats.count += count,
            None => unmatched += count,
        }
    }
    if unmatched > 0 {
        dump.notes.push(format!(
            "{unmatched} goroutines the check counted but did not write match no group of the dump: they are left out"
        ));
    }
    let mut snapshots = vec![dump];
    let profile_path = base.with_extension("leak.pb.gz");
    if let Ok(file) = std::fs::File::open(&profile_path) {
        let name = format!("{import_path} (goroutineleak profile)");
        if let Ok(profile) = goleash_parse::parse(&name, file, Limits::default()) {
            snapshots.push(profile);
        }
    }
    let mut merged = merge_snapshots(snapshots);
    // A profile record that matches no goroutine of the dump belongs to one alive before the
    // first test (the dump leaves those out) or to one that changed in between: not the tests'.
    merged.groups.retain(|g| !g.stats.ids.is_empty());
    merged.notes.retain(|n| {
        !n.contains("match no stack of the dump") && !n.contains("different goroutine count")
    });
    Ok(merged)
}

/// Splits a snapshot's goroutines by the test that started them, judges each part, and
/// returns them with the number of ignored goroutines.
fn per_test(
    cx: &Context,
    snapshot: &Snapshot,
    attributor: &mut Attributor,
    tags: Option<&goleash_parse::trace::Tags>,
) -> (Vec<(Option<TestName>, goleash_analyze::Analysis)>, u64) {
    let mut ignored = 0;
    // By name: the same test is found through different frames (`via`) by different groups.
    type Bucket = (Option<TestName>, HashSet<GroupKey>);
    let mut buckets: BTreeMap<Option<String>, Bucket> = BTreeMap::new();
    for raw in &snapshot.groups {
        if cx.ignores.iter().any(|i| i.drops(snapshot, raw)) {
            ignored += raw.stats.count;
            continue;
        }
        let mut test = attributor.attribute(snapshot, raw);
        // The trace knows which test started every goroutine; only the ancestors' chain,
        // read from the goroutine's own dump, is as exact.
        if test.as_ref().is_none_or(|t| t.via != "ancestors") {
            let traced = tags.and_then(|tags| raw.stats.ids.iter().find_map(|id| tags.of.get(id)));
            if let Some(name) = traced {
                test = Some(TestName::traced(name));
            }
        }
        let name = test.as_ref().map(|t| t.name.clone());
        let bucket = buckets
            .entry(name)
            .or_insert_with(|| (test, HashSet::new()));
        bucket.1.insert(raw.key);
    }
    let analyses = buckets
        .into_values()
        .map(|(test, keys)| {
            let mut part = Snapshot {
                missing: snapshot.missing,
                ..Snapshot::default()
            };
            part.absorb_where(snapshot, |g| keys.contains(&g.key));
            part.notes.clear();
            (test, goleash_analyze::analyze(&part, cx.config))
        })
        .collect();
    (analyses, ignored)
}

fn leaks(
    cx: &Context,
    report: &mut PackageReport,
    snapshot: Snapshot,
    attributor: &mut Attributor,
    tags: Option<&goleash_parse::trace::Tags>,
) {
    report.notes.extend(snapshot.notes.iter().cloned());
    let window = report.check.as_ref().map_or(0.0, |c| c.waited_ms);
    let (analyses, ignored) = per_test(cx, &snapshot, attributor, tags);
    report.ignored = ignored;
    for (test, analysis) in analyses {
        // After the tests and the retry window, a goroutine the runtime could not prove
        // leaked has still outlived the test that started it: that is what goleak fails on.
        let groups = outlived(
            analysis.groups,
            &format!("still alive {window:.0} ms after the tests ended"),
        );
        let (expected, leaks) = split_expected(test, groups, cx.fail_on);
        report.expected += expected;
        report.tests.extend(leaks);
    }
    order_tests(&mut report.tests);
}

/// A test's groups without the expected ones: how many goroutines those were, and the
/// test's leaks when any group is left.
fn split_expected(
    test: Option<TestName>,
    mut groups: Vec<goleash_analyze::Group>,
    fail_on: Verdict,
) -> (u64, Option<TestLeaks>) {
    let expected = groups
        .iter()
        .filter(|g| g.verdict == Verdict::Expected)
        .map(|g| g.count)
        .sum::<u64>();
    groups.retain(|g| g.verdict > Verdict::Expected);
    if groups.is_empty() {
        return (expected, None);
    }
    // The check's test-name label is said by `test`; the user's own labels stay.
    for group in &mut groups {
        for set in &mut group.labels {
            set.remove(crate::attribute::NAME_LABEL);
        }
        group.labels.retain(|set| !set.is_empty());
    }
    sort_groups(&mut groups);
    let leaked = count_at_least(&groups, fail_on);
    let leaks = TestLeaks {
        test,
        leaked,
        groups: groups.into_iter().map(crate::LeakGroup::new).collect(),
    };
    (expected, Some(leaks))
}

fn count_at_least(groups: &[goleash_analyze::Group], verdict: Verdict) -> u64 {
    groups
        .iter()
        .filter(|g| g.verdict >= verdict)
        .map(|g| g.count)
        .sum()
}

fn sort_groups(groups: &mut [goleash_analyze::Group]) {
    groups.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.goroutine_ids.cmp(&b.goroutine_ids))
    });
}

/// Tests by name; goroutines outside any test last.
pub(crate) fn order_tests(tests: &mut [TestLeaks]) {
    tests.sort_by(|a, b| match (&a.test, &b.test) {
        (Some(x), Some(y)) => x.name.cmp(&y.name),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

const TIMEOUT_PANIC: &str = "panic: test timed out after ";
const ALL_ASLEEP: &str = "fatal error: all goroutines are asleep - deadlock!";

/// The deadlock report of a test binary that `-timeout` (or the runtime) ended, from the
/// goroutine dump printed with the panic.
fn deadlock(
    cx: &Context,
    text: &str,
    import_path: &str,
    attributor: &mut Attributor,
) -> Option<Deadlock> {
    let start = text.find(TIMEOUT_PANIC).or_else(|| text.find(ALL_ASLEEP))?;
    let tail = &text[start..];
    let message = tail.lines().next().unwrap_or_default().to_string();
    let mut running = Vec::new();
    let mut lines = tail.lines().skip(1);
    if lines.next().is_some_and(|l| l.trim() == "running tests:") {
        for line in lines {
            match line.strip_prefix("\t\t") {
                Some(test) => running.push(test.trim().to_string()),
                None => break,
            }
        }
    }
    let name = format!("{import_path} (go test output)");
    let snapshot = match goleash_parse::parse_bytes(&name, tail.as_bytes(), Limits::default()) {
        Ok(s) => s,
        Err(_) => {
            return Some(Deadlock {
                message,
                running,
                tests: Vec::new(),
                other_goroutines: 0,
            })
        }
    };
    let (analyses, _) = per_test(cx, &snapshot, attributor, None);
    let mut tests = Vec::new();
    let mut other = 0;
    for (test, analysis) in analyses {
        if test.is_none() {
            other += analysis.total;
            continue;
        }
        let groups = outlived(
            analysis.groups,
            "still blocked when the test binary was stopped",
        );
        let (expected, leaks) = split_expected(test, groups, cx.fail_on);
        other += expected;
        tests.extend(leaks);
    }
    order_tests(&mut tests);
    Some(Deadlock {
        message,
        running,
        tests,
        other_goroutines: other,
    })
}

/// Raises the groups the runtime could not prove leaked to `likely`: they outlived their test,
/// which is `why`.
fn outlived(mut groups: Vec<goleash_analyze::Group>, why: &str) -> Vec<goleash_analyze::Group> {
    for group in &mut groups {
        if group.verdict == Verdict::Possible {
            group.verdict = Verdict::Likely;
            group.reason = format!("{why}; {}", group.reason);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture is go test's real output for a lock-order deadlock ended by `-timeout 3s`
    /// (built with -trimpath, without tracebackancestors: the creator frames name the test).
    #[test]
    fn deadlock_report_from_a_real_timeout_panic() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/dumps/formats/test_timeout.txt"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let config = Config::default();
        let ignores = Ignore::defaults();
        let cx = Context {
            out_dir: Path::new("/nonexistent"),
            config: &config,
            ignores: &ignores,
            fail_on: Verdict::Likely,
            no_run: None,
            file_args: false,
            trace: false,
        };
        let mut attributor = Attributor::default();
        let report = deadlock(&cx, &text, "goleash.test/gotesttimeout", &mut attributor).unwrap();
        assert_eq!(report.message, "panic: test timed out after 3s");
        assert_eq!(report.running, ["TestTransferConcurrent (3s)"]);
        assert_eq!(report.tests.len(), 1);
        let test = &report.tests[0];
        assert_eq!(test.display_name(), "TestTransferConcurrent");
        assert_eq!(test.leaked, 3);
        let sites: Vec<&str> = test
            .groups
            .iter()
            .filter_map(|g| g.site.as_ref().map(|s| &*s.function))
            .collect();
        assert_eq!(
            sites.iter().filter(|s| s.ends_with(".Transfer")).count(),
            2,
            "{sites:?}"
        );
        // The harness (goroutine 1 in T.Run, the alarm) is not the test's.
        assert!(report.other_goroutines >= 1);
    }

    #[test]
    fn no_panic_no_deadlock_report() {
        let config = Config::default();
        let cx = Context {
            out_dir: Path::new("/nonexistent"),
            config: &config,
            ignores: &[],
            fail_on: Verdict::Likely,
            no_run: None,
            file_args: false,
            trace: false,
        };
        let mut attributor = Attributor::default();
        assert!(deadlock(&cx, "ok  \tm/a\t0.1s\n", "m/a", &mut attributor).is_none());
    }
}
