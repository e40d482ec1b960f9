//! The `goleash` command: wires sources, parsers, analyses and reports together.

mod cmd;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Find goroutine leaks in Go programs.
///
/// goleash reads goroutine dumps and profiles (files, stdin or a live /debug/pprof/ endpoint),
/// groups the goroutines, tells which ones should have ended, where they are stuck, who
/// started them, and which lifecycle edge to fix.
#[derive(Parser)]
#[command(name = "goleash", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Analyze(cmd::analyze::AnalyzeArgs),
    Diff(cmd::diff::DiffArgs),
    /// Find goroutine-leak patterns in Go source, statically (no build needed).
    Lint(cmd::lint::LintArgs),
    /// List the lint rules.
    Rules(cmd::lint::RulesArgs),
    /// Show one lint rule's documentation.
    Rule(cmd::lint::RuleArgs),
    Test(cmd::test::TestArgs),
    Trace(cmd::trace::TraceArgs),
    Watch(Box<cmd::watch::WatchArgs>),
    History(cmd::history::HistoryArgs),
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if cmd::vettool::is_invocation(&args) {
        return cmd::vettool::run(&args);
    }
    // The matches are kept beside the typed arguments: `watch` asks them which flags were
    // given on the command line, so that `goleash.toml` fills only the others.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // Usage errors exit 2 like bad input; --help and --version exit 0.
            let _ = e.print();
            return if e.use_stderr() {
                cmd::exit::code(cmd::exit::ERROR)
            } else {
                cmd::exit::code(cmd::exit::CLEAN)
            };
        }
    };
    match cli.command {
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Trace(args) => cmd::trace::run(args),
        Command::Lint(args) => cmd::lint::run_lint(args),
        Command::Rules(args) => cmd::lint::run_rules(args),
        Command::Rule(args) => cmd::lint::run_rule(args),
        Command::Test(args) => cmd::test::run(args),
        Command::Watch(args) => {
            let given = matches
                .subcommand_matches("watch")
                .cloned()
                .unwrap_or_default();
            cmd::watch::run(*args, &given)
        }
        Command::History(args) => cmd::history::run(args),
    }
}
