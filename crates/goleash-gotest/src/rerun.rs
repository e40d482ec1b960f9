//! `--ancestors auto`: the suite runs without `GODEBUG=tracebackancestors`, whose cost is paid
//! at every `go` statement of every test (about 4× on a test that starts 200,000 goroutines
//! from a deep stack), and only the tests that leaked run again with it, when the check's
//! test-name label and the `created by` frames leave a leak's subtest or its line in the test
//! unknown. A clean suite pays nothing; a leaking test pays one more run of itself.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::args::GoTestArgs;
use crate::attribute::Attributor;
use crate::check::{self, Context};
use crate::golist::ListedPackage;
use crate::overlay::Prepared;
use crate::{output, run_go_test, Error, Live, Options, PackageReport, Status, TestLeaks};

/// How goroutines' creators are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ancestry {
    /// Off for the suite; the leaking tests whose leaks it cannot place run again with N.
    Auto(u32),
    /// `GODEBUG=tracebackancestors=N` for the whole suite (0: never).
    Fixed(u32),
}

/// Ancestors kept when `auto` runs a test again: enough for helpers of helpers.
pub const AUTO_ANCESTORS: u32 = 8;

/// Past this many leaked goroutines a package's tests are not run again: the traceback with
/// ancestors of 10⁵ goroutines takes seconds and hundreds of MB (see docs/test.md), and the
/// label already names their top-level test.
pub(crate) const RERUN_MAX_GOROUTINES: u64 = 10_000;

impl Ancestry {
    /// `auto` or a number; `0` turns ancestry off.
    pub fn parse(text: &str) -> Result<Ancestry, String> {
        match text.trim() {
            "auto" => Ok(Ancestry::Auto(AUTO_ANCESTORS)),
            n => n.parse::<u32>().map(Ancestry::Fixed).map_err(|_| {
                format!("`{text}`: expected `auto` or a number of ancestors (0 turns them off)")
            }),
        }
    }

    /// What the suite's own run gets.
    pub fn for_suite(self) -> u32 {
        match self {
            Ancestry::Auto(_) => 0,
            Ancestry::Fixed(n) => n,
        }
    }

    pub fn name(self) -> String {
        match self {
            Ancestry::Auto(_) => "auto".into(),
            Ancestry::Fixed(n) => n.to_string(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Ancestry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ancestry, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Ancestry::Fixed(n)),
            Raw::Text(t) => Ancestry::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// The second run of a package's leaking tests.
#[derive(Clone, Debug, Serialize)]
pub struct Rerun {
    /// The top-level tests run again.
    pub tests: Vec<String>,
    pub ancestors: u32,
    /// Wall time of that `go test`.
    pub ms: f64,
    /// Tests whose leak did not show again (their first run's report is kept).
    pub not_reproduced: Vec<String>,
}

/// A test whose leak is not placed on a line of the test: the label named the top-level test
/// only, or the goroutine came from a helper.
fn unplaced(t: &TestLeaks) -> Option<&str> {
    let name = t.test.as_ref()?;
    // Benchmarks are selected by -bench, not -run, and run for seconds: not worth it.
    if name.kind == "benchmark" || t.leaked == 0 {
        return None;
    }
    t.groups
        .iter()
        .any(|g| g.in_test.is_none())
        .then_some(name.test.as_str())
}

/// Everything the first run set up, reused by the second.
pub(crate) struct Setup<'a> {
    pub options: &'a Options,
    pub args: &'a GoTestArgs,
    pub overlay: &'a Path,
    /// The first run's environment (GOLEASH_TEST_DIR and GODEBUG are replaced).
    pub env: &'a [(String, String)],
    pub out_root: &'a Path,
    pub cx: &'a Context<'a>,
}

/// Runs each package's unplaced leaking tests again with ancestors and takes their report.
pub(crate) fn refine(
    setup: &Setup,
    listed: &[ListedPackage],
    prepared: &[Prepared],
    attributor: &mut Attributor,
    packages: &mut [PackageReport],
    ancestors: u32,
) -> Result<(), Error> {
    for (index, (pkg, report)) in listed.iter().zip(packages.iter_mut()).enumerate() {
        if !matches!(report.status, Status::Passed | Status::Failed) {
            continue;
        }
        let tests: BTreeSet<String> = report
            .tests
            .iter()
            .filter_map(unplaced)
            .map(str::to_string)
            .collect();
        if tests.is_empty() {
            continue;
        }
        let goroutines: u64 = report
            .tests
            .iter()
            .filter(|t| t.test.as_ref().is_some_and(|n| tests.contains(&n.test)))
            .flat_map(|t| &t.groups)
            .map(|g| g.count)
            .sum();
        if goroutines > RERUN_MAX_GOROUTINES {
            report.notes.push(format!(
                "{goroutines} leaked goroutines: not run again with ancestors (their traceback would take seconds); the test-name label names the top-level tests. --ancestors {ancestors} names their subtests and lines"
            ));
            continue;
        }
        if let Some(signal) = crate::interrupt::received() {
            return Err(Error::interrupted(signal));
        }
        let tests: Vec<String> = tests.into_iter().collect();
        let out_dir = setup.out_root.join(format!("rerun-{index}"));
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| Error::new(format!("cannot create {}: {e}", out_dir.display())))?;
        let env = with_ancestors(setup.env, &out_dir, ancestors);
        let again = setup.args.rerun(&pkg.import_path, &tests);
        let started = Instant::now();
        let (_, stdout, stderr) = run_go_test(
            &setup.options.go,
            &again.with_overlay(&setup.overlay.to_string_lossy()),
            &env,
            Live::Quiet,
        )?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let outputs = output::split(&stdout, &stderr, false);
        let cx = Context {
            out_dir: &out_dir,
            ..*setup.cx
        };
        let prepared = prepared.iter().find(|p| p.import_path == pkg.import_path);
        let second = check::package(
            &cx,
            pkg,
            prepared,
            outputs.get(&pkg.import_path),
            attributor,
        );
        merge(report, second, tests, ancestors, ms);
    }
    Ok(())
}

/// The first run's environment with the second run's output directory and ancestors on.
fn with_ancestors(env: &[(String, String)], out_dir: &Path, n: u32) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| match k.as_str() {
            "GOLEASH_TEST_DIR" => (k.clone(), out_dir.to_string_lossy().into_owned()),
            // Appended: later settings win over the user's.
            "GODEBUG" => (k.clone(), format!("{v},tracebackancestors={n}")),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

/// The second run's tests replace the first's where their leak showed again.
fn merge(
    report: &mut PackageReport,
    second: PackageReport,
    tests: Vec<String>,
    ancestors: u32,
    ms: f64,
) {
    let rerun: BTreeSet<&str> = tests.iter().map(String::as_str).collect();
    let again: Vec<TestLeaks> = second
        .tests
        .into_iter()
        .filter(|t| {
            t.leaked > 0
                && t.test
                    .as_ref()
                    .is_some_and(|n| rerun.contains(n.test.as_str()))
        })
        .collect();
    let reproduced: BTreeSet<String> = again
        .iter()
        .filter_map(|t| t.test.as_ref().map(|n| n.test.clone()))
        .collect();
    report.tests.retain(|t| {
        t.test
            .as_ref()
            .is_none_or(|n| !reproduced.contains(&n.test))
    });
    report.tests.extend(again);
    check::order_tests(&mut report.tests);
    let not_reproduced: Vec<String> = tests
        .iter()
        .filter(|t| !reproduced.contains(*t))
        .cloned()
        .collect();
    report.notes.push(format!(
        "{} run again with GODEBUG=tracebackancestors={ancestors} ({:.1} s) to name the subtests and the lines that started the leaked goroutines (--ancestors auto)",
        tests.join(", "),
        ms / 1000.0
    ));
    if !not_reproduced.is_empty() {
        report.notes.push(format!(
            "{}: the leak did not show again in that run (timing-dependent?); the first run's report is kept, without the line in the test",
            not_reproduced.join(", ")
        ));
    }
    report.rerun = Some(Rerun {
        tests,
        ancestors,
        ms,
        not_reproduced,
    });
}
