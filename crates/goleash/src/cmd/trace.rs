use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use goleash_parse::Limits;
use goleash_source::FetchOptions;

use super::input::{self, InputError, JudgeArgs, OutputArgs};

/// Find leaks in a Go execution trace: the goroutines alive at its end, judged like a dump.
///
/// Reads an execution trace (the v2 format of Go 1.22 and later: `runtime/trace`,
/// `go test -trace`, a flight-recorder snapshot, `/debug/pprof/trace`), replays every
/// goroutine's life (created, blocked with a reason and stack, unblocked, ended), and reports
/// the goroutines alive at its end with the groups, verdicts and formats of `analyze`, plus
/// notes per creation site: how many goroutines it created during the trace and how many of
/// those ended. A trace cut short (a killed process, a partial download) is read up to its
/// last whole generation, with a note.
///
/// Examples:
///   goleash trace trace.out
///   goleash trace http://127.0.0.1:6060 --seconds 10
///   goleash trace http://127.0.0.1:6060/debug/pprof/trace?seconds=5 --format json
///
/// Exit codes: 0 nothing at or above --fail-on, 1 leaks found, 2 bad input or usage.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TraceArgs {
    /// A trace file (gzip, zstd, xz or bzip2 compressed or not), `-` for stdin, or the URL
    /// of a process serving net/http/pprof: a bare `http://host:port` (or `…/debug/pprof/`)
    /// requests `/debug/pprof/trace?seconds=N`; any other URL is used as given.
    #[arg(value_name = "INPUT")]
    pub input: String,

    /// How long a live process is traced, in seconds.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub seconds: u64,

    /// Refuse traces larger than this many bytes (after decompression), e.g. `--max-bytes 8G`.
    #[arg(long, default_value = "16G", value_parser = super::flags::parse_size, value_name = "SIZE")]
    pub max_bytes: u64,

    /// Give up on a live endpoint that has not answered completely within this much time
    /// beyond --seconds, e.g. `--timeout 30s`.
    #[arg(long, default_value = "30s", value_parser = super::flags::parse_positive_duration, value_name = "DURATION")]
    pub timeout: Duration,

    #[command(flatten)]
    pub judge: JudgeArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: TraceArgs) -> ExitCode {
    input::finish(report(&args))
}

/// The URL to request for a live target: a pprof root gets `/trace?seconds=N`.
fn trace_url(spec: &str, seconds: u64) -> String {
    match goleash_source::pprof_root(spec) {
        Some(root) => format!("{root}/trace?seconds={seconds}"),
        None => spec.to_string(),
    }
}

fn report(args: &TraceArgs) -> Result<(String, bool), InputError> {
    let (config, fail_on) = input::resolve(&args.judge, args.output.fail_on)?;
    let limits = Limits {
        max_bytes: args.max_bytes,
    };
    let opened = if args.input.starts_with("http://") || args.input.starts_with("https://") {
        let url = trace_url(&args.input, args.seconds);
        let fetch = FetchOptions {
            timeout: args.timeout + Duration::from_secs(args.seconds),
            leak_profile: false,
        };
        goleash_source::fetch_url(&url, &fetch)
            .map_err(|e| InputError(e.to_string()))?
            .ok_or_else(|| {
                InputError(format!(
                    "{url}: HTTP status 404; expected 200 with an execution trace (is net/http/pprof registered?)"
                ))
            })?
    } else {
        let fetch = FetchOptions::default();
        let mut opened =
            goleash_source::open(&args.input, &fetch).map_err(|e| InputError(e.to_string()))?;
        opened.remove(0)
    };
    let name = opened.name.clone();
    let (reader, _) = goleash_source::decode::decompress(opened.reader)
        .map_err(|e| InputError(format!("{name}: {e}")))?;
    let lifecycles = goleash_parse::trace::read_trace(&name, reader, limits)
        .map_err(|e| InputError(e.to_string()))?;
    let snapshot = lifecycles.into_snapshot(&name);
    Ok(input::judge_and_render(
        &snapshot,
        &config,
        &args.output,
        fail_on,
    ))
}

#[cfg(test)]
mod tests {
    use super::trace_url;

    #[test]
    fn live_urls() {
        assert_eq!(
            trace_url("http://127.0.0.1:6060", 5),
            "http://127.0.0.1:6060/debug/pprof/trace?seconds=5"
        );
        assert_eq!(
            trace_url("http://h:1/debug/pprof/", 2),
            "http://h:1/debug/pprof/trace?seconds=2"
        );
        assert_eq!(
            trace_url("http://h:1/debug/pprof/trace?seconds=9", 2),
            "http://h:1/debug/pprof/trace?seconds=9"
        );
    }
}
