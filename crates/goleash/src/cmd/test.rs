//! `goleash test`: `go test` that fails on leaked goroutines and names the test that leaked
//! them, with no change to the code under test.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use goleash_gotest::{Ignore, IgnoreKind, Live, Options};

use super::config::GoleashToml;
use super::exit;
use super::flags::{parse_duration, ColorFlag};
use super::input::{self, CodeArgs};

/// Run `go test` and report goroutines each test leaked, by test name.
///
/// goleash runs `go test` with an -overlay (in a temporary directory; your tree is never
/// written) that gives each package under test a TestMain: after the tests it waits for
/// stragglers (with backoff, up to --retry), runs the runtime's leak-detecting GC, and writes
/// the goroutine dump and goroutineleak profile. GODEBUG=tracebackancestors lets goleash name
/// the test (and subtest) that started each leftover goroutine. A package's own TestMain is
/// kept: in a copy of it, m.Run() notes the goroutines alive before the tests (they are not
/// reported) and the check runs after its teardown. A test that hangs until -timeout gets a
/// deadlock report instead. go test runs with -count=1 unless you give -count: a cached
/// result runs no check.
///
/// goleash's flags come first; everything from the first other argument on goes to
/// `go test` unchanged (use `--` to make the split explicit). go test's output streams as
/// usual, to stderr when the report itself goes to stdout in a machine format. With
/// `go test -json`, the terminal report goes to stderr so stdout stays test2json's stream.
///
/// Examples:
///   goleash test ./...
///   goleash test -run TestServer -race -v ./internal/...
///   goleash test --retry 3s --ignore-top 'go.opencensus.io/stats/view.(*worker).start' ./...
///   goleash test --format junit --output leaks.xml -- -json ./... > test-events.json
///   goleash test --junit-file leaks.xml --sarif-file leaks.sarif ./...
///   goleash test --trace --ancestors 0 ./...
///
/// goleash.toml, table [test] (flags add to it or win):
///   ignore-top = ["..."]   ignore-any = ["..."]   ignore-created-by = ["..."]
///   retry = "2s"   ancestors = "auto"   fail-on = "proven"   no-default-ignores = false
///   trace = true
///
/// Exit codes: go test's own code when it failed (failed tests, build errors, timeouts);
/// otherwise 1 when goroutines at or above --fail-on leaked, else 0; 2 when goleash itself
/// failed.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TestArgs {
    /// Report format on stdout: `terminal`, `json` (schema goleash.test/v1), `junit` (XML,
    /// one failed test case per leaking test), `sarif` (2.1.0, one result per leaked group).
    /// Example: `--format junit`.
    #[arg(long, value_enum, default_value_t = TestFormat::Terminal)]
    pub format: TestFormat,

    /// Write the report to FILE instead of stdout. Example: `--output leaks.json`.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the JSON report to FILE. Example: `--json-file leaks.json`.
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<PathBuf>,

    /// Also write the JUnit XML report to FILE. Example: `--junit-file leaks.xml`.
    #[arg(long, value_name = "FILE")]
    pub junit_file: Option<PathBuf>,

    /// Also write the SARIF report to FILE. Example: `--sarif-file leaks.sarif`.
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<PathBuf>,

    /// Exit 1 when goroutines at least this sure leaked: `proven` (the runtime's leak GC
    /// proved them unreachable), `likely` (also: still alive after the retry window), or
    /// `possible`. Default: likely, or fail-on in goleash.toml. Example: `--fail-on proven`.
    #[arg(long, value_parser = parse_leak_verdict, value_name = "VERDICT")]
    pub fail_on: Option<goleash_analyze::Verdict>,

    /// How long the check waits, with backoff, for goroutines to end after the tests (proven
    /// leaks are not waited for). Default 1s. Example: `--retry 250ms`, `--retry 3s`.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub retry: Option<Duration>,

    /// How many creator goroutines each goroutine remembers (GODEBUG=tracebackancestors=N),
    /// so a leak started by a helper goroutine is traced to its subtest and to the line in the
    /// test that started it. `auto` (the default): the suite runs without (it costs at every
    /// `go` statement), and only the tests that leaked run again with 8, when the test-name
    /// label and `created by` frames do not already place their leaks. A number: every run
    /// with that many; 0 never. Example: `--ancestors 16`, `--ancestors 0`.
    #[arg(long, value_name = "auto|N", value_parser = goleash_gotest::Ancestry::parse)]
    pub ancestors: Option<goleash_gotest::Ancestry>,

    /// Ignore goroutines whose top function (first frame outside package runtime) is FUNC; a
    /// trailing `*` matches a prefix (repeatable). Example:
    /// `--ignore-top 'internal/poll.runtime_pollWait'`.
    #[arg(long, value_name = "FUNC")]
    pub ignore_top: Vec<String>,

    /// Ignore goroutines with FUNC anywhere in their stack (repeatable). Example:
    /// `--ignore-any 'github.com/acme/metrics.(*Pusher).loop'`.
    #[arg(long, value_name = "FUNC")]
    pub ignore_any: Vec<String>,

    /// Ignore goroutines started by a `go` statement in FUNC (repeatable). Example:
    /// `--ignore-created-by 'go.opencensus.io/*'`.
    #[arg(long, value_name = "FUNC")]
    pub ignore_created_by: Vec<String>,

    /// Do not apply the built-in ignores (testing harness, os/signal, runtime/trace,
    /// pprof's profile writer). Example: `--no-default-ignores`.
    #[arg(long)]
    pub no_default_ignores: bool,

    /// Keep an execution trace of each package's tests (runtime/trace, started by goleash's
    /// TestMain, which logs each test's name as it starts): it names the test that started
    /// each leaked goroutine even without ancestors (`via: "trace"`), and counts per test the
    /// goroutines it started, ended and left alive. Not with `go test -trace`, which takes
    /// the runtime's only trace. Example: `goleash test --trace --ancestors 0 ./...`.
    #[arg(long)]
    pub trace: bool,

    /// Keep the check's dumps (NAME.dump.txt, NAME.leak.pb.gz per package; NAME.trace with
    /// --trace) in DIR, for
    /// `goleash analyze` or a bug report. Example: `--keep-dumps /tmp/dumps`.
    #[arg(long, value_name = "DIR")]
    pub keep_dumps: Option<PathBuf>,

    /// List every package in the terminal report, also those without findings. Example:
    /// `goleash test --all-packages ./...`.
    #[arg(long)]
    pub all_packages: bool,

    /// Show every frame and every ancestor stack in the terminal report. Example:
    /// `goleash test --full -- -run TestServer ./api`.
    #[arg(long)]
    pub full: bool,

    #[command(flatten)]
    pub color: ColorFlag,

    /// The go command to run. Example: `--go /usr/local/go/bin/go`.
    #[arg(long, default_value = "go", value_name = "PATH")]
    pub go: PathBuf,

    #[command(flatten)]
    pub code: CodeArgs,

    /// `go test` flags and packages, passed through unchanged, e.g. `-run TestX -v ./...`.
    #[arg(
        value_name = "GO_TEST_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub go_args: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Terminal,
    Json,
    Junit,
    Sarif,
    /// One self-contained page: flame graph, the leaking tests' groups, source listings.
    Html,
}

/// `proven`, `likely` or `possible`: `expected` goroutines are never reported by a test run,
/// so failing on them would mean nothing.
fn parse_leak_verdict(text: &str) -> Result<goleash_analyze::Verdict, String> {
    match goleash_analyze::Verdict::parse(text) {
        Some(v) if v > goleash_analyze::Verdict::Expected => Ok(v),
        _ => Err(format!("`{text}`: expected proven, likely or possible")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("goleash: {message}");
    exit::code(exit::ERROR)
}

fn write_file(path: &PathBuf, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn run(args: TestArgs) -> ExitCode {
    // goleash.toml is read once: its [analyze] table for judging, its [test] table here.
    let file = match GoleashToml::for_cwd(args.code.config.as_deref()) {
        Ok(file) => file,
        Err(e) => return fail(e),
    };
    let (mut config, analyze_fail_on) =
        input::resolve_parts(&args.code, &file.analyze, None, None, None);
    // Servers, listeners and pools a test leaves open are its leaks (goleak's rule).
    config.policy = goleash_analyze::Policy::Test;
    let settings = file.test;
    if settings.fail_on == Some(goleash_analyze::Verdict::Expected) {
        return fail(
            "goleash.toml: [test] fail-on = \"expected\": expected proven, likely or possible",
        );
    }
    let fail_on = args.fail_on.or(settings.fail_on).unwrap_or(analyze_fail_on);
    let retry = args
        .retry
        .or(settings.retry)
        .unwrap_or(Duration::from_secs(1));

    let mut ignores = if args.no_default_ignores || settings.no_default_ignores {
        Vec::new()
    } else {
        Ignore::defaults()
    };
    ignores.extend(settings.ignores());
    for (kind, functions) in [
        (IgnoreKind::Top, &args.ignore_top),
        (IgnoreKind::Any, &args.ignore_any),
        (IgnoreKind::CreatedBy, &args.ignore_created_by),
    ] {
        ignores.extend(functions.iter().map(|f| Ignore::new(kind, f.clone())));
    }
    let mut go_args = args.go_args;
    if go_args.first().is_some_and(|a| a == "--") {
        go_args.remove(0);
    }
    let live = if args.format != TestFormat::Terminal && args.output.is_none() {
        Live::Stderr
    } else {
        Live::Stdout
    };
    // With `go test -json`, stdout is test2json's event stream: a terminal report appended
    // to it would break the stream's consumers, so it goes to stderr.
    let json_stream = goleash_gotest::GoTestArgs::parse(&go_args).json;
    let report_to_stderr =
        args.format == TestFormat::Terminal && args.output.is_none() && json_stream;
    let options =
        Options {
            go: args.go,
            args: go_args,
            retry,
            ancestors: args.ancestors.or(settings.ancestors).unwrap_or(
                goleash_gotest::Ancestry::Auto(goleash_gotest::AUTO_ANCESTORS),
            ),
            ignores,
            config,
            live,
            keep: args.keep_dumps,
            trace: args.trace || settings.trace,
        };
    let report = match goleash_gotest::run(&options, fail_on) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("goleash: {e}");
            // As a shell reports a command a signal ended: 130 for SIGINT, 143 for SIGTERM.
            let code = e.signal().map_or(exit::ERROR, |s| {
                u8::try_from(128 + s).unwrap_or(exit::ERROR)
            });
            return exit::code(code);
        }
    };

    let color = args.color.enabled(
        args.output.is_none()
            && if report_to_stderr {
                std::io::IsTerminal::is_terminal(&std::io::stderr())
            } else {
                std::io::IsTerminal::is_terminal(&std::io::stdout())
            },
    );
    let text = match args.format {
        TestFormat::Terminal => goleash_report::gotest::terminal::render(
            &report,
            goleash_report::gotest::terminal::Options {
                color,
                verbose: args.all_packages,
                full: args.full,
            },
        ),
        TestFormat::Json => goleash_report::gotest::json(&report),
        TestFormat::Junit => goleash_report::gotest::junit::render(&report),
        TestFormat::Sarif => goleash_report::gotest::sarif::render(&report),
        TestFormat::Html => {
            // Test files are on disk in the module under test: frames resolve from here.
            let tree = goleash_source::gosrc::SourceTree::open(std::path::Path::new("."));
            let listings = super::input::OutputArgs::listing_of(&tree);
            goleash_report::test_html(&report, &listings)
        }
    };
    // The leaks as failures in go test's own -json stream, where it was copied.
    if json_stream {
        let events = goleash_report::gotest::test2json::fail_events(&report);
        match live {
            Live::Stdout => {
                super::print(&events);
            }
            Live::Stderr => eprint!("{events}"),
            // Never chosen for the suite's run: its stream is always copied somewhere.
            Live::Quiet => {}
        }
    }
    let mut written = match &args.output {
        Some(path) => write_file(path, &text),
        None if report_to_stderr => {
            eprint!("{text}");
            Ok(())
        }
        None => {
            if super::print(&text) {
                Ok(())
            } else {
                Err("cannot write the report".to_string())
            }
        }
    };
    for (path, render) in [
        (
            &args.json_file,
            goleash_report::gotest::json as fn(&goleash_gotest::TestRun) -> String,
        ),
        (&args.junit_file, goleash_report::gotest::junit::render),
        (&args.sarif_file, goleash_report::gotest::sarif::render),
    ] {
        if let Some(path) = path {
            if let Err(e) = write_file(path, &render(&report)) {
                written = Err(e);
            }
        }
    }
    if let Err(e) = written {
        return fail(e);
    }
    let code = report.exit_code();
    exit::code(u8::try_from(code).unwrap_or(exit::ERROR))
}
