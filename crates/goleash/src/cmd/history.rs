//! `goleash history`: query the SQLite history that `goleash watch` keeps.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use goleash_report::watch::{self as render, ExportWriter, Table};
use goleash_watch::clock::now_ms;
use goleash_watch::history::{rerun, resolve_target, series_points, ExportRow};
use goleash_watch::store::{Store, StoreError};

use super::exit;
use super::flags::{parse_duration, TrendFlags};

/// Query the history `goleash watch` keeps: targets, groups, series, exports, and the trend
/// analysis re-run offline.
///
/// Examples:
///   goleash history --db watch.db targets
///   goleash history --db watch.db groups http://127.0.0.1:6060 --since 1h
///   goleash history --db watch.db series 1 --group 0fda6206dc9f6a45 --format csv
///   goleash history --db watch.db export --since 1d --format csv > counts.csv
///   goleash history --db watch.db trend --window 2h --min-span 30m --format json
///
/// Exit codes: 0 fine, 1 (trend only) leak suspects found, 2 bad usage or unreadable DB.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct HistoryArgs {
    /// The history file `goleash watch --db` wrote, e.g. `--db watch.db`.
    #[arg(
        long,
        default_value = "goleash-watch.db",
        value_name = "FILE",
        global = true
    )]
    pub db: PathBuf,

    /// `terminal` for people, `json` or `csv` for tools, e.g. `--format csv`.
    #[arg(long, value_enum, default_value_t = Format::Terminal, global = true)]
    pub format: Format,

    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    #[value(alias = "text")]
    Terminal,
    Json,
    Csv,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// The targets in the history with their scrape and error counts.
    Targets,
    /// The groups (stacks) seen on a target, largest first.
    Groups {
        /// Target id (from `targets`) or URL, e.g. `1` or `http://127.0.0.1:6060`.
        target: String,
        /// Only the last DURATION, e.g. `--since 1h`.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: Option<Duration>,
    },
    /// The counts of one group (`--group HASH`) or the target's total over time.
    Series {
        /// Target id or URL, e.g. `1`.
        target: String,
        /// The group's hash as `groups` prints it, e.g. `--group 0fda6206dc9f6a45`.
        #[arg(long, value_name = "HASH")]
        group: Option<String>,
        /// Only the last DURATION, e.g. `--since 30m`.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: Option<Duration>,
    },
    /// Every count of every group (one row per group per scrape), e.g. `--format csv`.
    Export {
        /// Only this target (id or URL), e.g. `--target 1`.
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
        /// Only the last DURATION, e.g. `--since 1d`.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        since: Option<Duration>,
    },
    /// Re-run the trend analysis on the stored counts, with the watcher's parameters or others.
    Trend(TrendArgs),
}

#[derive(Args, Debug)]
pub struct TrendArgs {
    /// Only this target (id or URL), e.g. `1`; default every target.
    pub target: Option<String>,
    /// End the window this long before now instead of at the last scrape, e.g. `--ago 2h`.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub ago: Option<Duration>,
    #[command(flatten)]
    pub trend: TrendFlags,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn since_ms(since: Option<Duration>) -> i64 {
    since.map_or(i64::MIN, |d| now_ms() - ms(d))
}

pub fn run(args: HistoryArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(code) => exit::code(code),
        Err(e) => {
            eprintln!("goleash history: {e}");
            exit::code(exit::ERROR)
        }
    }
}

fn run_inner(args: &HistoryArgs) -> Result<u8, StoreError> {
    // The watcher's own checks, before the DB is opened: the same flags mean the same here.
    if let HistoryCommand::Trend(t) = &args.command {
        t.trend.check().map_err(StoreError)?;
    }
    let store = Store::open_read_only(&args.db)?;
    let out: String;
    let mut code = exit::CLEAN;
    let table = match args.format {
        Format::Terminal => Table::Terminal,
        Format::Json => Table::Json,
        Format::Csv => Table::Csv,
    };
    match &args.command {
        HistoryCommand::Targets => {
            out = render::targets(&store.targets()?, table);
        }
        HistoryCommand::Groups { target, since } => {
            let t = resolve_target(&store, target)?;
            let rows = store.groups(t.id, since_ms(*since), i64::MAX)?;
            out = render::groups(&t.url, &rows, table);
        }
        HistoryCommand::Series {
            target,
            group,
            since,
        } => {
            let t = resolve_target(&store, target)?;
            let hash = match group {
                Some(g) => Some(u64::from_str_radix(g.trim(), 16).map_err(|_| {
                    StoreError(format!(
                        "--group {g}: expected the 16-hex-digit hash `goleash history groups` prints"
                    ))
                })?),
                None => None,
            };
            let points = series_points(&store, t.id, hash, since_ms(*since))?;
            out = render::series(&points, table);
        }
        HistoryCommand::Export { target, since } => {
            let id = match target {
                Some(t) => Some(resolve_target(&store, t)?.id),
                None => None,
            };
            let stdout = std::io::stdout();
            let out = std::io::BufWriter::new(stdout.lock());
            // `| head` closes the pipe: stop quietly. The store reports a failed row write as
            // its own error, so the kind is remembered here where the write happens.
            let pipe_closed = std::cell::Cell::new(false);
            let closed = |e: std::io::Error| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    pipe_closed.set(true);
                }
                e
            };
            let result = (|| {
                let mut writer = ExportWriter::start(out, table)
                    .map_err(|e| StoreError(closed(e).to_string()))?;
                store.export(
                    id,
                    since_ms(*since),
                    i64::MAX,
                    |ts_ms, target, hash, site, count, verdict| {
                        writer
                            .row(&ExportRow {
                                ts_ms,
                                target,
                                group: format!("{hash:016x}"),
                                site,
                                count,
                                verdict,
                            })
                            .map_err(closed)
                    },
                )?;
                writer
                    .finish()
                    .map_err(|e| StoreError(closed(e).to_string()))
            })();
            match result {
                Ok(()) => {}
                Err(_) if pipe_closed.get() => {}
                Err(e) => return Err(e),
            }
            return Ok(exit::CLEAN);
        }
        HistoryCommand::Trend(t) => {
            let rows = match &t.target {
                Some(spec) => vec![resolve_target(&store, spec)?],
                None => store.targets()?,
            };
            let params = t.trend.params();
            let until = t.ago.map(|a| now_ms() - ms(a));
            let state = rerun(
                &store,
                &rows,
                ms(t.trend.window),
                until,
                &params,
                t.trend.slo(),
            )?;
            let report = goleash_watch::report::WatchReport::of(&state, Duration::ZERO);
            if report.suspects > 0 {
                code = exit::FINDINGS;
            }
            out = render::trend(&report, &state, table);
        }
    }
    if !super::print(&out) {
        return Ok(exit::ERROR);
    }
    Ok(code)
}
