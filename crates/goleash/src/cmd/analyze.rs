use std::process::ExitCode;

use clap::Args;

use super::input::{self, InputError, JudgeArgs, OutputArgs, ReadArgs};

/// Group, classify and judge the goroutines of a dump or profile.
///
/// Reads goroutine traceback text (debug=2, panics, SIGQUIT, `go test -timeout`, even inside
/// logs), debug=1 text and pprof protobuf (debug=0, gzipped or not) of the goroutine and
/// goroutineleak profiles; the format is detected. Whatever carried the dump is detected and
/// undone too: gzip, zstd, xz, bzip2, UTF-16; CRI, Docker json-file, kubectl, compose,
/// journald/syslog, CI and `go test -json` logs (one source per pod or service); ANSI colour;
/// Markdown quotes and fences, indentation, tabs turned to spaces (docs/formats.md). Several
/// inputs of one moment (a dump and the goroutineleak profile taken right after it) are
/// merged so GC-proven leaks are marked.
///
/// Examples:
///   goleash analyze dump.txt
///   kubectl logs --prefix --timestamps -l app=api | goleash analyze -
///   curl -s localhost:6060/debug/pprof/goroutine?debug=2 | goleash analyze -
///   goleash analyze http://127.0.0.1:6060
///   goleash analyze dump.txt goroutineleak.pb.gz --format json
///
/// Exit codes: 0 nothing at or above --fail-on, 1 leaks found, 2 bad input or usage.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct AnalyzeArgs {
    /// Dump or profile files, `-` for stdin, or the URL of a process serving net/http/pprof
    /// (http://127.0.0.1:6060 fetches the goroutineleak profile, the goroutine profile as
    /// protobuf, then the debug=2 dump; a dump cut at Go's 64 MiB cap gets the profile's
    /// counts, and a leak profile or dump that times out is left out with a note).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub judge: JudgeArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: AnalyzeArgs) -> ExitCode {
    input::finish(report(&args))
}

/// The report's text and whether anything reached `--fail-on`.
fn report(args: &AnalyzeArgs) -> Result<(String, bool), InputError> {
    let (config, fail_on) = input::resolve(&args.judge, args.output.fail_on)?;
    let snapshot = input::read_moment(&args.inputs, &args.read)?;
    Ok(input::judge_and_render(
        &snapshot,
        &config,
        &args.output,
        fail_on,
    ))
}
