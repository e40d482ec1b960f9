//! `goleash test`: runs `go test` with an `-overlay` that gives every package under test a
//! `TestMain` which, after the tests, waits briefly for stragglers, runs the runtime's
//! leak-detecting GC and writes the goroutine dump and the goroutineleak profile. goleash reads
//! them with the same parser and analyzer as `goleash analyze` and names, through
//! `GODEBUG=tracebackancestors`, the test that started each leaked goroutine. A test that hangs
//! until `-timeout` gets a deadlock report from the panic's goroutine dump.
//!
//! The user's tree is never written: the overlay lives in a temporary directory that is
//! removed when the run ends.

#![warn(unreachable_pub)]

mod args;
mod attribute;
mod check;
mod golist;
mod ignore;
mod interrupt;
mod output;
mod overlay;
mod rerun;
mod settings;
mod syntax;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use goleash_analyze::{Config, Group, Verdict};
use serde::Serialize;

pub use args::GoTestArgs;
pub use attribute::TestName;
pub use ignore::{Ignore, IgnoreKind, DEFAULT_IGNORES};
pub use overlay::Hook;
pub use rerun::{Ancestry, Rerun, AUTO_ANCESTORS};
pub use settings::TestSettings;

/// Version of the JSON report's shape.
pub const SCHEMA: &str = "goleash.test/v1";

/// The line in the test that led to a group: in the nearest stack (the group's own, then its
/// ancestors') that runs under `testing.tRunner`, the frame above tRunner. `None` when it is
/// the group's own blocking site (a stuck test goroutine) or no such stack is known.
pub fn test_frame(group: &Group) -> Option<goleash_analyze::FrameView> {
    // (the body's index, the index of the call the body made): a call inlined into the body
    // is printed between the body and the runner, else the callee is the frame above.
    let body = |stack: &[goleash_analyze::FrameView]| -> Option<(usize, Option<usize>)> {
        let visible: Vec<usize> = (0..stack.len())
            .filter(|&i| !goleash_analyze::is_runtime_frame(&stack[i].function))
            .collect();
        let functions: Vec<&str> = visible.iter().map(|&i| &*stack[i].function).collect();
        let at = attribute::body_index(&functions)?;
        let runner = functions
            .iter()
            .position(|f| attribute::is_runner(f))
            .unwrap_or(functions.len());
        let inlined = (at + 1..runner).find(|&i| {
            !functions[i].starts_with("testing.") && !functions[i].starts_with("reflect.")
        });
        let callee = inlined.or_else(|| at.checked_sub(1));
        Some((visible[at], callee.map(|c| visible[c])))
    };
    if let Some((i, _)) = body(&group.frames) {
        let frame = &group.frames[i];
        return (group.site.as_ref() != Some(frame)).then(|| frame.clone());
    }
    let found = group
        .ancestors
        .iter()
        .enumerate()
        .find_map(|(nearest, stack)| {
            let (i, callee) = body(stack)?;
            let mut frame = stack[i].clone();
            let first_visible = stack
                .iter()
                .position(|f| !goleash_analyze::is_runtime_frame(&f.function));
            match (&group.creator, callee) {
                // The test ran the `go` statement itself: the creator's line is the statement's
                // (the runtime backs it up to the call), the ancestor's the return address.
                (Some(creator), _)
                    if nearest == 0
                        && first_visible == Some(i)
                        && creator.function == frame.function
                        && creator.file == frame.file =>
                {
                    frame.line = creator.line;
                }
                (_, Some(callee)) => {
                    frame.line = call_line(&frame.file, frame.line, &stack[callee].function);
                }
                _ => {}
            }
            Some(frame)
        });
    // An example runs on the main goroutine; without ancestors, a test or an example that
    // ran the `go` statement itself is the creator.
    found.or_else(|| {
        group
            .creator
            .as_ref()
            .filter(|c| attribute::top_level_test(&c.function).is_some())
            .cloned()
    })
}

/// The runtime prints an ancestor's frames at their return addresses, which often belong to
/// the line after the call; the call is the nearest line at or above that names the callee.
fn call_line(file: &str, line: u32, callee: &str) -> u32 {
    let name = callee.rsplit(['.', '/']).next().unwrap_or(callee);
    if name.starts_with("func") || name.is_empty() {
        return line;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return line;
    };
    let lines: Vec<&str> = text.lines().collect();
    let call = format!("{name}(");
    (line.saturating_sub(3)..=line)
        .rev()
        .find(|&l| l >= 1 && lines.get(l as usize - 1).is_some_and(|t| t.contains(&call)))
        .unwrap_or(line)
}

/// A failure of goleash itself, phrased for the user, or the signal that stopped the run.
#[derive(Debug)]
pub struct Error {
    message: String,
    signal: Option<i32>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            signal: None,
        }
    }

    fn interrupted(signal: i32) -> Error {
        Error {
            message: format!(
                "interrupted by {}: go test and its test binaries were stopped",
                interrupt::name(signal)
            ),
            signal: Some(signal),
        }
    }

    /// The signal (SIGINT, SIGTERM, SIGHUP) that stopped the run; a shell reports such an
    /// end as 128 + the signal's number.
    pub fn signal(&self) -> Option<i32> {
        self.signal
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Where `go test`'s own output is copied while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live {
    Stdout,
    Stderr,
    /// Not copied (the second run of `--ancestors auto`: its output was seen once already).
    Quiet,
}

/// How to run and judge.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `go` command.
    pub go: PathBuf,
    /// `go test`'s arguments: flags and packages, exactly as the user gave them.
    pub args: Vec<String>,
    /// How long the check waits for goroutines to end after the tests.
    pub retry: Duration,
    /// `GODEBUG=tracebackancestors`: for the whole suite, or (`auto`) only for a second run
    /// of the tests that leaked.
    pub ancestors: Ancestry,
    pub ignores: Vec<Ignore>,
    pub config: Config,
    pub live: Live,
    /// Keep the dumps in this directory instead of a temporary one.
    pub keep: Option<PathBuf>,
    /// Keep an execution trace per package and name from it the test that started each
    /// leaked goroutine (`via: "trace"`) and each test's goroutine churn.
    pub trace: bool,
}

/// How a package fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Tests passed and the check ran.
    Passed,
    /// Tests failed, and the check ran after them.
    Failed,
    /// The package or its tests did not compile.
    BuildFailed,
    /// A test hung until `-timeout` (or every goroutine blocked): see `deadlock`.
    Deadlocked,
    /// The test binary ended before the check (os.Exit or a panic in a test).
    Crashed,
    /// goleash could not hook into the package (see `note`).
    NotChecked,
    /// The tests did not run (-c, -n, -list, or go test stopped first).
    NotRun,
    NoTestFiles,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Passed => "ok",
            Status::Failed => "tests failed",
            Status::BuildFailed => "build failed",
            Status::Deadlocked => "deadlocked",
            Status::Crashed => "crashed before the check",
            Status::NotChecked => "not checked",
            Status::NotRun => "not run",
            Status::NoTestFiles => "no test files",
        }
    }
}

/// The goroutines one test left behind (or, in a deadlock report, had stuck).
#[derive(Clone, Debug, Serialize)]
pub struct TestLeaks {
    /// `TestX` or `TestX/sub`; `None`: started outside any test (or not traceable to one).
    pub test: Option<TestName>,
    /// Groups at or above the report's `fail_on` verdict count as leaks.
    pub leaked: u64,
    pub groups: Vec<LeakGroup>,
}

/// A judged group with the line of the test that led to it.
#[derive(Clone, Debug, Serialize)]
pub struct LeakGroup {
    #[serde(flatten)]
    pub group: Group,
    /// The test's own line that (transitively) started the group; see [`test_frame`].
    pub in_test: Option<goleash_analyze::FrameView>,
}

impl LeakGroup {
    pub fn new(group: Group) -> LeakGroup {
        let in_test = test_frame(&group);
        LeakGroup { group, in_test }
    }
}

impl std::ops::Deref for LeakGroup {
    type Target = Group;

    fn deref(&self) -> &Group {
        &self.group
    }
}

impl TestLeaks {
    pub fn display_name(&self) -> &str {
        self.test.as_ref().map_or("(outside any test)", |t| &t.name)
    }
}

/// What the check measured inside the test binary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckTimes {
    /// From the end of the tests (m.Run) to the start of the check: the TestMain's teardown.
    pub teardown_ms: f64,
    /// From the start of the check until no goroutine was left to wait for (or the window
    /// ended).
    pub waited_ms: f64,
    /// From the end of the tests (m.Run) until the dump was written.
    pub written_ms: f64,
    /// Looks at the goroutines (each after a leak-detecting GC).
    pub rounds: u32,
    /// Goroutines still running (not proven leaked, not ignored) when the window ended.
    pub stragglers: u32,
    /// From the end of the tests to goleash's finished report, by the wall clock.
    pub to_report_ms: f64,
    /// Goroutines counted but not written to the dump: identical to one written (beyond 64
    /// of a kind), they add to its group's count.
    pub elided: u64,
    /// (lowest written goroutine id of the kind, goroutines elided)
    #[serde(skip)]
    pub elided_kinds: Vec<(u64, u64)>,
    #[serde(skip)]
    pub ended_unix_ns: i128,
}

/// A test that hung until go test's `-timeout` (or a runtime deadlock).
#[derive(Clone, Debug, Serialize)]
pub struct Deadlock {
    /// `panic: test timed out after 3s`, or the runtime's fatal error.
    pub message: String,
    /// The tests go test said were running, as it prints them (`TestX (3s)`).
    pub running: Vec<String>,
    /// Stuck goroutines per test.
    pub tests: Vec<TestLeaks>,
    /// Goroutines of the harness or outside any test.
    pub other_goroutines: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PackageReport {
    pub import_path: String,
    pub dir: PathBuf,
    pub status: Status,
    pub hook: Option<Hook>,
    pub check: Option<CheckTimes>,
    /// Tests with leftover goroutines (only those at or above `Possible`).
    pub tests: Vec<TestLeaks>,
    pub deadlock: Option<Deadlock>,
    /// Goroutines dropped by ignore rules.
    pub ignored: u64,
    /// Goroutines judged `expected` (long-lived by design), not listed.
    pub expected: u64,
    /// Compiler messages, for a build failure.
    pub build_errors: Option<String>,
    pub notes: Vec<String>,
    /// `--ancestors auto` ran the package's leaking tests again with ancestors.
    pub rerun: Option<Rerun>,
    /// With `--trace`: per test, the goroutines it started during the run (its own goroutine
    /// and its subtests' not counted), how many of them ended and how many were still alive
    /// when the check stopped waiting. `None` without a trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<Vec<TestChurn>>,
}

/// One test's goroutines, from the package's execution trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestChurn {
    /// `TestX` or `TestX/sub`, as `go test -run` spells it.
    pub test: String,
    pub created: u64,
    pub ended: u64,
    pub alive: u64,
}

impl PackageReport {
    pub fn leaked(&self) -> u64 {
        self.tests.iter().map(|t| t.leaked).sum::<u64>()
            + self
                .deadlock
                .as_ref()
                .map_or(0, |d| d.tests.iter().map(|t| t.leaked).sum())
    }
}

/// Everything one `goleash test` run found.
#[derive(Clone, Debug, Serialize)]
pub struct TestRun {
    pub schema: &'static str,
    /// `go test`'s exit code.
    pub go_exit_code: i32,
    pub fail_on: Verdict,
    pub retry_ms: u64,
    /// `GODEBUG=tracebackancestors` of the suite's run (0 with `auto`).
    pub ancestors: u32,
    /// `auto` (ancestors only in a second run of leaking tests) or the number for every run.
    pub ancestry: String,
    pub packages: Vec<PackageReport>,
    /// Goroutines in groups at or above `fail_on`, over all packages.
    pub leaked: u64,
    /// Wall time of `go list` and writing the overlay.
    pub prepare_ms: f64,
    /// Wall time of `go test`.
    pub go_test_ms: f64,
    /// From `go test`'s exit to the finished report (reading dumps, analysis).
    pub analysis_ms: f64,
}

impl TestRun {
    /// go test's failure first; then 1 for leaks at or above `fail_on`; else 0.
    pub fn exit_code(&self) -> i32 {
        if self.go_exit_code != 0 {
            self.go_exit_code
        } else if self.leaked > 0 {
            1
        } else {
            0
        }
    }
}

/// Runs `go test` with the check and reads what it left behind.
pub fn run(options: &Options, fail_on: Verdict) -> Result<TestRun, Error> {
    interrupt::install();
    let args = GoTestArgs::parse(&options.args);
    let temp = tempfile::Builder::new()
        .prefix("goleash-test-")
        .tempdir()
        .map_err(|e| Error::new(format!("cannot create a temporary directory: {e}")))?;
    let out_dir = match &options.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
            std::path::absolute(dir)
                .map_err(|e| Error::new(format!("cannot resolve {}: {e}", dir.display())))?
        }
        None => {
            let dir = temp.path().join("out");
            std::fs::create_dir(&dir)
                .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
            dir
        }
    };

    let prepared_at = Instant::now();
    let base_env: Vec<(String, String)> = Vec::new();
    let listed = golist::list(&options.go, &args, &base_env)?;
    let user_overlay = args.overlay.as_ref().map(|o| match &args.chdir {
        Some(dir) => Path::new(dir).join(o),
        None => PathBuf::from(o),
    });
    let check_deps = if listed.iter().any(|p| p.standard) {
        golist::check_dependencies(&options.go, &args, &base_env)?
    } else {
        Default::default()
    };
    let (overlay_path, prepared) =
        overlay::prepare(&listed, temp.path(), user_overlay.as_deref(), &check_deps)?;

    let mut env = vec![
        (
            "GOLEASH_TEST_DIR".to_string(),
            out_dir.to_string_lossy().into_owned(),
        ),
        (
            "GOLEASH_TEST_RETRY".to_string(),
            format!("{}ms", options.retry.as_millis()),
        ),
        (
            "GOLEASH_TEST_IGNORE".to_string(),
            ignore::encode(&not_waited_for(options)),
        ),
    ];
    if options.trace {
        env.push(("GOLEASH_TEST_TRACE".to_string(), "1".to_string()));
    }
    // tracebacklabels shows the check's test-name label in the dump (the default only from
    // go.mod's go 1.27 on).
    let mut godebug = vec!["tracebacklabels=1".to_string()];
    if options.ancestors.for_suite() > 0 {
        godebug.push(format!(
            "tracebackancestors={}",
            options.ancestors.for_suite()
        ));
    }
    if let Ok(existing) = std::env::var("GODEBUG") {
        if !existing.is_empty() {
            // The user's settings first: later ones win, and goleash's are needed.
            godebug.insert(0, existing);
        }
    }
    env.push(("GODEBUG".to_string(), godebug.join(",")));

    let prepare_ms = prepared_at.elapsed().as_secs_f64() * 1000.0;
    if let Some(signal) = interrupt::received() {
        return Err(Error::interrupted(signal));
    }
    let started = Instant::now();
    let (code, stdout, stderr) = run_go_test(
        &options.go,
        &args.with_overlay(&overlay_path.to_string_lossy()),
        &env,
        options.live,
    )?;
    let go_test_ms = started.elapsed().as_secs_f64() * 1000.0;
    // `temp` is dropped on the way out, which removes the overlay and the dumps.
    if let Some(signal) = interrupt::received() {
        return Err(Error::interrupted(signal));
    }
    let analysed = Instant::now();

    let outputs = output::split(&stdout, &stderr, args.json);
    let dirs = listed
        .iter()
        .map(|p| (p.import_path.clone(), p.dir.clone()))
        .collect();
    let mut attributor = attribute::Attributor::new(dirs);
    let context = check::Context {
        out_dir: &out_dir,
        config: &options.config,
        ignores: &options.ignores,
        fail_on,
        no_run: args.no_run,
        file_args: args.packages.iter().any(|p| p.ends_with(".go")),
        trace: options.trace,
    };
    let mut packages = Vec::new();
    for pkg in &listed {
        let prepared = prepared.iter().find(|p| p.import_path == pkg.import_path);
        let output = outputs.get(&pkg.import_path);
        packages.push(check::package(
            &context,
            pkg,
            prepared,
            output,
            &mut attributor,
        ));
    }
    if let Ancestry::Auto(n) = options.ancestors {
        let setup = rerun::Setup {
            options,
            args: &args,
            overlay: &overlay_path,
            env: &env,
            out_root: &out_dir,
            cx: &context,
        };
        rerun::refine(
            &setup,
            &listed,
            &prepared,
            &mut attributor,
            &mut packages,
            n,
        )?;
    }
    let leaked = packages.iter().map(PackageReport::leaked).sum();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    for check in packages.iter_mut().filter_map(|p| p.check.as_mut()) {
        if check.ended_unix_ns > 0 {
            check.to_report_ms = (now - check.ended_unix_ns) as f64 / 1e6;
        }
    }
    drop(temp);
    // A signal during the analysis is honoured too, rather than swallowed by the handler.
    if let Some(signal) = interrupt::received() {
        return Err(Error::interrupted(signal));
    }
    Ok(TestRun {
        schema: SCHEMA,
        go_exit_code: code,
        fail_on,
        retry_ms: options.retry.as_millis() as u64,
        ancestors: options.ancestors.for_suite(),
        ancestry: options.ancestors.name(),
        packages,
        leaked,
        prepare_ms,
        go_test_ms,
        analysis_ms: analysed.elapsed().as_secs_f64() * 1000.0,
    })
}

/// What the check does not wait for: the ignored goroutines, and those `--expect` (or
/// goleash.toml's expected) marks long-lived: they are counted, not reported, so waiting out
/// the retry window for them would only cost time. They stay in the dump.
fn not_waited_for(options: &Options) -> Vec<Ignore> {
    let mut rules = options.ignores.clone();
    for pattern in &options.config.expected {
        rules.push(Ignore::new(IgnoreKind::Any, pattern.function.clone()));
        rules.push(Ignore::new(IgnoreKind::CreatedBy, pattern.function.clone()));
    }
    rules
}

/// Runs go test, copying its output to the terminal as it comes and keeping a copy.
fn run_go_test(
    go: &Path,
    args: &[String],
    env: &[(String, String)],
    live: Live,
) -> Result<(i32, Vec<u8>, Vec<u8>), Error> {
    let mut command = Command::new(go);
    command
        .arg("test")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // go test runs in its own process group so that a signal reaches its test binaries too.
    // A background group that reads the terminal would be stopped (SIGTTIN): a test then
    // reads nothing rather than hanging the run.
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        command.stdin(Stdio::null());
    } else {
        command.stdin(Stdio::inherit());
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Error::new(format!("cannot run `{} test`: {e}", go.display())))?;
    let group = interrupt::Group::enter(child.id());
    let out = child.stdout.take();
    let err = child.stderr.take();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (stdout, stderr) = std::thread::scope(|scope| {
        let watchdog = scope.spawn(|| group.watchdog(&done));
        let out = scope.spawn(move || tee(out, live));
        let err = scope.spawn(move || tee(err, Live::Stderr));
        let kept = (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        );
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = watchdog.join();
        kept
    });
    let status = child
        .wait()
        .map_err(|e| Error::new(format!("cannot wait for `go test`: {e}")))?;
    group.reap();
    // Killed by a signal: report it as a failure the way a shell would.
    let code = status.code().unwrap_or(1);
    Ok((code, stdout, stderr))
}

fn tee(source: Option<impl Read>, live: Live) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut source) = source else {
        return kept;
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut live_ok = true;
    loop {
        match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if live_ok {
                    // A closed terminal must not stop the run: keep reading, stop copying.
                    live_ok = match live {
                        Live::Stdout => {
                            let mut o = std::io::stdout().lock();
                            o.write_all(&buf[..n]).and_then(|_| o.flush()).is_ok()
                        }
                        Live::Stderr => {
                            let mut o = std::io::stderr().lock();
                            o.write_all(&buf[..n]).and_then(|_| o.flush()).is_ok()
                        }
                        Live::Quiet => false,
                    };
                }
                kept.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    kept
}
