use std::process::ExitCode;

use clap::Args;

use goleash_model::Snapshot;

use super::input::{self, Format, InputError, JudgeArgs, OutputArgs, ReadArgs, Traces};

/// Show which goroutine groups grew between two snapshots.
///
/// Like `go tool pprof -base`, but on judged groups: per group the change in count, new and
/// vanished groups, ranked by growth. The two inputs may be of different formats (a debug=2
/// dump against a protobuf profile): stacks are matched by their frames. Either side may be a
/// Go execution trace (`runtime/trace`, `go test -trace`, recognised by its header): it counts
/// the goroutines alive at the end of the trace, as `goleash trace` reports them.
///
/// Examples:
///   goleash diff before.txt after.txt
///   goleash diff before.pb.gz http://127.0.0.1:6060 --format json
///   goleash diff before.trace after.trace
///   goleash diff before.trace after.txt
///
/// Exit codes: 0 no group at or above --fail-on grew, 1 one did, 2 bad input or usage.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// The earlier snapshot: a file (a dump, a profile or an execution trace), `-` for stdin,
    /// or a URL.
    #[arg(value_name = "BASE")]
    pub base: String,

    /// The later snapshot: a file (a dump, a profile or an execution trace), `-` for stdin,
    /// or a URL.
    #[arg(value_name = "CURRENT")]
    pub current: String,

    // The same shared groups as `analyze` (cmd/input.rs): one definition, flattened in both.
    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub judge: JudgeArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: DiffArgs) -> ExitCode {
    input::finish(report(&args))
}

/// One side: a dump or profile (file, stdin or URL), or an execution trace file, which counts
/// the goroutines alive at its end.
fn read_side(spec: &str, read: &ReadArgs) -> Result<Snapshot, InputError> {
    input::read_moment_with(
        std::slice::from_ref(&spec.to_string()),
        read,
        Traces::AliveAtEnd,
    )
}

/// The report's text and whether a group at or above `--fail-on` grew.
fn report(args: &DiffArgs) -> Result<(String, bool), InputError> {
    if args.base == "-" && args.current == "-" {
        return Err(InputError(
            "only one of BASE and CURRENT can be `-` (stdin)".to_string(),
        ));
    }
    let (config, fail_on) = input::resolve(&args.judge, args.output.fail_on)?;
    let base = read_side(&args.base, &args.read)?;
    let current = read_side(&args.current, &args.read)?;
    let diff = goleash_analyze::diff(
        &goleash_analyze::analyze(&base, &config),
        &goleash_analyze::analyze(&current, &config),
    );
    let tree = args.output.source_tree();
    let listings = OutputArgs::listing_of(&tree);
    let text = match args.output.format {
        Format::Json => goleash_report::diff_json(&diff),
        Format::Markdown => goleash_report::diff_markdown(&diff),
        Format::Html => goleash_report::diff_html(&diff, &listings),
        Format::Terminal => {
            goleash_report::diff_terminal(&diff, args.output.terminal_options(&listings))
        }
    };
    Ok((text, diff.growth_at_least(fail_on) > 0))
}
