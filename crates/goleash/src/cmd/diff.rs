use std::process::ExitCode;

use clap::Args;
use goleash_report::{Style, TerminalOptions};

use super::exit;
use super::input::{self, Format, JudgeArgs, OutputArgs, ReadArgs};

/// Show which goroutine groups grew between two snapshots.
///
/// Like `go tool pprof -base`, but on judged groups: per group the change in count, new and
/// vanished groups, ranked by growth. The two inputs may be of different formats (a debug=2
/// dump against a protobuf profile): stacks are matched by their frames.
///
/// Examples:
///   goleash diff before.txt after.txt
///   goleash diff before.pb.gz http://127.0.0.1:6060 --format json
///
/// Exit codes: 0 no group at or above --fail-on grew, 1 one did, 2 bad input or usage.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// The earlier snapshot: a file, `-` for stdin, or a URL.
    #[arg(value_name = "BASE")]
    pub base: String,

    /// The later snapshot: a file, `-` for stdin, or a URL.
    #[arg(value_name = "CURRENT")]
    pub current: String,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub judge: JudgeArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: DiffArgs) -> ExitCode {
    if args.base == "-" && args.current == "-" {
        eprintln!("goleash: only one of BASE and CURRENT can be `-` (stdin)");
        return exit::code(exit::ERROR);
    }
    let (config, fail_on) = match input::resolve(&args.judge, args.output.fail_on) {
        Ok(resolved) => resolved,
        Err(e) => {
            eprintln!("goleash: {}", e.0);
            return exit::code(exit::ERROR);
        }
    };
    let mut analyses = Vec::new();
    for spec in [&args.base, &args.current] {
        match input::read_moment(std::slice::from_ref(spec), &args.read) {
            Ok(snapshot) => analyses.push(goleash_analyze::analyze(&snapshot, &config)),
            Err(e) => {
                eprintln!("goleash: {}", e.0);
                return exit::code(exit::ERROR);
            }
        }
    }
    let diff = goleash_analyze::diff(&analyses[0], &analyses[1]);
    let text = match args.output.format {
        Format::Json => goleash_report::diff_json(&diff),
        Format::Markdown => goleash_report::diff_markdown(&diff),
        Format::Terminal => goleash_report::diff_terminal(
            &diff,
            TerminalOptions {
                style: Style {
                    color: args.output.color(),
                },
                full: args.output.full,
                min_verdict: args.output.show.min_verdict(),
            },
        ),
    };
    if !super::print(&text) {
        return exit::code(exit::ERROR);
    }
    if diff.growth_at_least(fail_on) > 0 {
        exit::code(exit::FINDINGS)
    } else {
        exit::code(exit::CLEAN)
    }
}
