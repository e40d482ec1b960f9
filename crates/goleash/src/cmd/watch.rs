//! `goleash watch`: the command-line face of the goleash-watch crate.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use goleash_analyze::{Config, ExpectedPattern, GroupBy};
use goleash_watch::engine::{self, WatchConfig};
use goleash_watch::scrape::ScrapeOptions;
use goleash_watch::targets::{self, Shard, Target};
use goleash_watch::ui::Display;

use super::config::GoleashToml;
use super::exit;
use super::flags::parse_size;
use super::flags::{parse_duration, parse_positive_duration, AccessFlags, ColorFlag, TrendFlags};

/// Watch running services for goroutine leaks: which stack grows, how fast, since when.
///
/// Scrapes each target's /debug/pprof/goroutine every --interval, each target on its own
/// staggered schedule (the cheap protobuf; also the debug=2 text every --full-every rounds
/// for wait times and creators, when it fits under the size cap), keeps the counts per
/// stack in a SQLite history, and judges each stack's trend over a sliding --window: a
/// Theil–Sen slope and a Mann–Kendall test tell a group that grows and never gives back (a
/// leak) from one that rises and falls with load. Growth makes a group `likely`; the
/// analyzer's `proven` wins; groups known to live long by design are never flagged.
///
/// Examples:
///   goleash watch http://127.0.0.1:6060 http://127.0.0.1:6061
///   goleash watch --targets file_sd.yml --shard 2/3 --listen 127.0.0.1:9102
///   goleash watch --targets file_sd.json --alert-growth 50 --alert-for 10 --webhook http://127.0.0.1:9093/api/v2/alerts
///   goleash watch --once --db /var/lib/goleash/watch.db http://127.0.0.1:6060   # from cron
///   goleash watch --rounds 30 --interval 2s --window 1m --min-span 30s --format json URL   # CI
///
/// Exit codes (with --once/--rounds): 0 no leak and every target up at the end, 1 leak
/// suspects or growth alerts at the end, 2 bad usage, history DB error, or no scrape succeeded
/// at all, 3 no leak but some targets down at the end.
#[derive(Args, Clone, Debug)]
#[command(verbatim_doc_comment)]
pub struct WatchArgs {
    /// Services to watch: `http://host:port` (net/http/pprof at /debug/pprof) or the pprof
    /// root when mounted elsewhere, e.g. `http://127.0.0.1:8080/admin/pprof`.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// A Prometheus file_sd target file (JSON or YAML), e.g. `--targets targets.yml`. Labels
    /// are kept; `__scheme__` and `__pprof_path__` say where the profiles are. Read again when
    /// it changes and on SIGHUP: targets it drops stop being watched, new ones start.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,

    /// A Prometheus HTTP service-discovery endpoint (the JSON list of `{targets, labels}`
    /// Prometheus's http_sd_configs read), read at start and every --refresh, e.g.
    /// `--targets-url http://127.0.0.1:8000/sd.json`.
    #[arg(long, value_name = "URL")]
    pub targets_url: Option<String>,

    /// How often a continuous watcher reads --targets-url and --prometheus again, e.g.
    /// `--refresh 30s`; 0 only on SIGHUP. A --targets file is read again as soon as it changes.
    #[arg(long, default_value = "1m", value_parser = parse_duration, value_name = "DURATION")]
    pub refresh: Duration,

    /// Let Prometheus say which instances grow: their goroutine counts (`--match`) are read
    /// from its HTTP API over --window and judged by the trend test; only the growing ones
    /// are scraped for stacks, e.g. `--prometheus http://127.0.0.1:9090`. A continuous
    /// watcher asks again every --refresh (while none grows, every --interval, at least 10 s).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,

    /// The series of goroutine counts to read from --prometheus, e.g.
    /// `--match 'go_goroutines{job="api"}'`.
    #[arg(
        long = "match",
        default_value = "go_goroutines",
        value_name = "SELECTOR",
        requires = "prometheus"
    )]
    pub match_selector: String,

    /// Where a growing instance's pprof is, from its labels, e.g.
    /// `--pprof-url 'http://{{instance}}/debug/pprof'` or `'http://{{pod_ip}}:6060/debug/pprof'`.
    #[arg(
        long,
        default_value = "http://{{instance}}/debug/pprof",
        value_name = "TEMPLATE",
        requires = "prometheus"
    )]
    pub pprof_url: String,

    /// Watch only this watcher's share of the targets, e.g. `--shard 2/3` with two other
    /// watchers given 1/3 and 3/3 and the same list. The split is by a hash of the URL.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,

    /// Time between two scrapes of a target, e.g. `--interval 10s`, `500ms`, `1m`. Each target
    /// has its own schedule, staggered over the interval: a slow target delays no other.
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub interval: Duration,

    /// Give up on a target that has not answered completely within this, e.g. `--timeout 5s`.
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Refuse profile bodies larger than this, e.g. `--max-bytes 64M` (`--max-body` is an old
    /// spelling, kept for one release).
    #[arg(
        long,
        alias = "max-body",
        default_value = "64M",
        value_parser = parse_size,
        value_name = "SIZE"
    )]
    pub max_bytes: u64,

    /// Scrape at most this many targets at once (worker threads), e.g. `--concurrency 32`.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,

    /// Every this many rounds also take the debug=2 text (wait times, creators) after the
    /// protobuf, e.g. `--full-every 10`; 0 never. The first round always takes it, unless the
    /// protobuf predicts a dump over --max-bytes or Go's 64 MiB cap.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub full_every: u64,

    /// Also fetch /debug/pprof/goroutineleak (Go ≥ 1.26) every round, so the runtime proves
    /// leaks. Each request FORCES A FULL GC IN THE TARGET: mind the CPU of large heaps.
    #[arg(long)]
    pub leak_profile: bool,

    #[command(flatten)]
    pub trend: TrendFlags,

    #[command(flatten)]
    pub access: AccessFlags,

    /// The SQLite history file (WAL mode; created if missing), e.g. `--db watch.db`.
    #[arg(long, default_value = "goleash-watch.db", value_name = "FILE")]
    pub db: PathBuf,

    /// Keep no history (nothing survives a restart).
    #[arg(long, conflicts_with = "db")]
    pub no_db: bool,

    /// Delete history older than this, e.g. `--retention 7d`.
    #[arg(long, default_value = "7d", value_parser = parse_duration, value_name = "DURATION")]
    pub retention: Duration,

    /// POST alerts (new, resolved, and every --webhook-resend while firing) in Alertmanager's
    /// JSON shape; repeatable, each URL gets every alert (an Alertmanager HA pair), e.g.
    /// `--webhook http://am-1:9093/api/v2/alerts --webhook http://am-2:9093/api/v2/alerts`.
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,

    /// Re-send firing alerts this often; each holds (`endsAt`) for 4 times as long, e.g.
    /// `--webhook-resend 1m` (with --once from cron: the cron period).
    #[arg(long, default_value = "1m", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub webhook_resend: Duration,

    /// Send the watcher's series (the families of /metrics: per target, per group, the
    /// decisions) to a Prometheus remote-write receiver after every cycle, e.g.
    /// `--remote-write http://127.0.0.1:9090/api/v1/write` (Prometheus with
    /// --web.enable-remote-write-receiver, Mimir, Thanos Receive, VictoriaMetrics). Samples
    /// wait in a bounded queue while the receiver is away and are sent in order when it is back.
    #[arg(long, value_name = "URL")]
    pub remote_write: Option<String>,

    /// Serve Prometheus /metrics and the dashboard, e.g. `--listen 127.0.0.1:9102`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// One round, judged with the history in --db, then exit (for cron).
    #[arg(long, conflicts_with = "rounds")]
    pub once: bool,

    /// Stop after N rounds (N scrapes of each target, N intervals) and exit 1 on leaks (for
    /// CI), e.g. `--rounds 30`.
    #[arg(long, value_name = "N")]
    pub rounds: Option<u64>,

    /// The report at the end of --once/--rounds: `terminal` or `json`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Terminal)]
    pub format: ReportFormat,

    /// Package path prefix of your own code (repeatable), e.g. `--module github.com/acme/api`:
    /// the blocking site shown is the first frame under it.
    #[arg(long = "module", value_name = "PREFIX")]
    pub modules: Vec<String>,

    /// A function of goroutines meant to live long (repeatable), e.g.
    /// `--expect 'github.com/acme/api/cache.(*Cache).janitor'`; never flagged.
    #[arg(long = "expect", value_name = "FUNCTION")]
    pub expect: Vec<String>,

    /// goleash.toml to read instead of the nearest one at or above the current directory, e.g.
    /// `--config ci/goleash.toml`. Its `[watch]` table sets any flag above by the same name
    /// (a flag given here wins); its `[analyze]` table's modules and expect apply too.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub color: ColorFlag,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportFormat {
    Terminal,
    Json,
}

/// Why there is nothing to watch yet.
enum NoTargets {
    /// Bad usage or an unreadable source: stop.
    Error(String),
    /// A source behind a URL did not answer (yet): a continuous watcher waits for it.
    Unreachable(String),
    /// The sources were read but hold nothing for this watcher (an empty SD answer, a shard
    /// that owns none): a continuous watcher waits for targets instead of exiting into a
    /// supervisor's restart loop.
    Empty(String),
    /// Prometheus shows no instance growing: for a batch run, a clean result.
    NothingGrows,
}

/// The targets, waiting while the sources hold none for this watcher (continuous mode), or
/// why there are none (batch mode).
fn targets_waiting(args: &WatchArgs, batch: bool) -> Result<Vec<Target>, NoTargets> {
    let mut told = false;
    let mut last_unreachable: Option<String> = None;
    loop {
        match targets_of(args) {
            Ok(list) => return Ok(list),
            Err(e @ NoTargets::Error(_)) => return Err(e),
            Err(e) if batch => return Err(e),
            Err(NoTargets::Unreachable(e)) => {
                // Each new reason once: Prometheus restarting says "down", then "503".
                if last_unreachable.as_deref() != Some(e.as_str()) {
                    eprintln!(
                        "goleash watch: {e}; trying again every {:?}",
                        args.interval.max(Duration::from_secs(10))
                    );
                    last_unreachable = Some(e);
                }
                std::thread::sleep(args.interval.max(Duration::from_secs(10)));
            }
            Err(NoTargets::NothingGrows) => {
                std::thread::sleep(args.interval.max(Duration::from_secs(10)));
            }
            Err(NoTargets::Empty(e)) => {
                if !told {
                    eprintln!(
                        "goleash watch: {e}; waiting for targets (the sources are read again every {:?})",
                        args.interval.max(Duration::from_secs(10))
                    );
                    told = true;
                }
                std::thread::sleep(args.interval.max(Duration::from_secs(10)));
            }
        }
    }
}

fn targets_of(args: &WatchArgs) -> Result<Vec<Target>, NoTargets> {
    let sourced = args.targets.is_some() || args.targets_url.is_some() || args.prometheus.is_some();
    let list = read_targets(args).map_err(|e| match e.transient {
        true => NoTargets::Unreachable(e.message),
        false => NoTargets::Error(e.message),
    })?;
    if list.is_empty() && args.prometheus.is_some() && args.urls.is_empty() {
        return Err(NoTargets::NothingGrows);
    }
    if list.is_empty() {
        let e = "no targets: give URLs, --targets FILE or --targets-url URL (see --help)".into();
        return Err(if sourced {
            NoTargets::Empty(e)
        } else {
            NoTargets::Error(e)
        });
    }
    let list = targets::dedup(list);
    let total = list.len();
    let list: Vec<Target> = match args.shard {
        Some(shard) => list.into_iter().filter(|t| shard.owns(t)).collect(),
        None => list,
    };
    if list.is_empty() {
        return Err(NoTargets::Empty(format!(
            "shard {} owns none of the {total} targets",
            args.shard.map_or_else(String::new, |s| s.to_string())
        )));
    }
    Ok(list)
}

fn read_targets(args: &WatchArgs) -> Result<Vec<Target>, targets::SourceFault> {
    let mut list = Vec::new();
    for url in &args.urls {
        list.push(targets::parse_url(url)?);
    }
    if let Some(path) = &args.targets {
        list.extend(targets::load_file(path)?);
    }
    if let Some(url) = &args.targets_url {
        list.extend(targets::load_url(url, args.timeout)?);
    }
    if let Some(base) = &args.prometheus {
        list.extend(growing_instances(args, base)?);
    }
    Ok(list)
}

/// Reading the same sources again while watching: the file on change and SIGHUP, the URLs
/// every --refresh too. Nothing found is an empty list (the watcher keeps running, waiting
/// for targets), a source that cannot be read an error (the current list stays).
fn reload_of(args: &WatchArgs) -> goleash_watch::reload::Reload {
    let sources = args.clone();
    let by_url = args.targets_url.is_some() || args.prometheus.is_some();
    goleash_watch::reload::Reload {
        read: Box::new(move || match targets_of(&sources) {
            Ok(list) => Ok(list),
            Err(NoTargets::Empty(_) | NoTargets::NothingGrows) => Ok(Vec::new()),
            Err(NoTargets::Error(e) | NoTargets::Unreachable(e)) => Err(e),
        }),
        files: args.targets.iter().cloned().collect(),
        every: by_url.then_some(args.refresh),
    }
}

/// The instances Prometheus shows growing, as targets; the others are counted.
fn growing_instances(args: &WatchArgs, base: &str) -> Result<Vec<Target>, targets::SourceFault> {
    use goleash_watch::prometheus;
    // At most about 200 points per series: the trend test needs no more, and the query's
    // cost stays flat however fine Prometheus scrapes.
    let step = (args.trend.window / 200).max(Duration::from_secs(1));
    let instances = prometheus::query_range(
        base,
        &args.match_selector,
        args.trend.window,
        step,
        args.timeout,
    )?;
    let total = instances.len();
    let judged = prometheus::judge(instances, &args.trend.params(), &args.pprof_url);
    let mut out = Vec::new();
    let mut skipped = 0;
    for j in prometheus::growing(&judged) {
        match &j.target {
            Ok(target) => {
                eprintln!(
                    "goleash watch: prometheus: {} grows {:+.1}/min; watching its stacks",
                    target.url, j.trend.slope_per_min
                );
                out.push(target.clone());
            }
            Err(e) => {
                skipped += 1;
                eprintln!("goleash watch: prometheus: a growing series is skipped: {e}");
            }
        }
    }
    if total == 0 {
        eprintln!(
            "goleash watch: prometheus: `{}` matched no series at {base}",
            args.match_selector
        );
    } else if out.is_empty() && skipped > 0 {
        eprintln!(
            "goleash watch: prometheus: {skipped} of {total} instance(s) grow, but --pprof-url maps none of them to a pprof URL"
        );
    } else if out.is_empty() {
        eprintln!("goleash watch: prometheus: none of {total} instance(s) grows");
    }
    Ok(out)
}

/// Fills every setting not given on the command line from `goleash.toml`'s `[watch]` table.
fn apply_file(args: &mut WatchArgs, file: &GoleashToml, given: &ArgMatches) {
    let on_command_line =
        |id: &str| matches!(given.value_source(id), Some(ValueSource::CommandLine));
    let table = &file.watch;
    macro_rules! fill {
        ($($place:ident).+ <- $key:ident) => {
            if let Some(value) = table.$key.clone() {
                if !on_command_line(stringify!($key)) {
                    args.$($place).+ = value;
                }
            }
        };
    }
    fill!(interval <- interval);
    fill!(timeout <- timeout);
    fill!(max_bytes <- max_bytes);
    fill!(concurrency <- concurrency);
    fill!(full_every <- full_every);
    fill!(leak_profile <- leak_profile);
    fill!(retention <- retention);
    fill!(webhook_resend <- webhook_resend);
    fill!(refresh <- refresh);
    fill!(trend.window <- window);
    fill!(trend.min_samples <- min_samples);
    fill!(trend.min_span <- min_span);
    fill!(trend.min_rise <- min_rise);
    fill!(trend.alpha <- alpha);
    fill!(trend.max_giveback <- max_giveback);
    fill!(trend.alert_for <- alert_for);
    if args.trend.alert_growth.is_none() {
        args.trend.alert_growth = table.alert_growth;
    }
    if args.listen.is_none() {
        args.listen = table.listen;
    }
    if args.webhooks.is_empty() {
        args.webhooks = table.webhooks.clone();
    }
    if args.targets.is_none() {
        args.targets = table.targets.as_deref().map(|p| file.resolve(p));
    }
    if let Some(db) = &table.db {
        if !on_command_line("db") {
            args.db = file.resolve(db);
        }
    }
}

pub fn run(mut args: WatchArgs, given: &ArgMatches) -> ExitCode {
    let file = match GoleashToml::for_cwd(args.config.as_deref()) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("goleash watch: {e}");
            return exit::code(exit::ERROR);
        }
    };
    apply_file(&mut args, &file, given);
    let targets = match targets_waiting(&args, args.once || args.rounds.is_some()) {
        Ok(t) => t,
        // Said on stderr already: no instance grows, so there is no stack to look at.
        Err(NoTargets::NothingGrows) => return exit::code(exit::CLEAN),
        Err(NoTargets::Error(e) | NoTargets::Empty(e) | NoTargets::Unreachable(e)) => {
            eprintln!("goleash watch: {e}");
            return exit::code(exit::ERROR);
        }
    };
    if let Err(e) = args.trend.check() {
        eprintln!("goleash watch: {e}");
        return exit::code(exit::ERROR);
    }
    let rounds = if args.once { Some(1) } else { args.rounds };
    let stdout_tty = std::io::stdout().is_terminal();
    let display = match (rounds, args.format) {
        (Some(_), ReportFormat::Json) => Display::Quiet,
        (None, _) if stdout_tty => Display::live(),
        _ => Display::Log,
    };
    let color = args.color.enabled(stdout_tty);
    let mut analysis = Config {
        user_prefixes: args.modules.clone(),
        expected: args.expect.iter().map(ExpectedPattern::new).collect(),
        // Series are kept per stack: the grouping is not a choice here.
        group_by: GroupBy::Stack,
        ..Config::default()
    };
    file.analyze.apply(&mut analysis);
    let analysis_for_pages = analysis.clone();
    let access = match args.access.options().load() {
        Ok(access) => access,
        Err(e) => {
            eprintln!("goleash watch: {e}");
            return exit::code(exit::ERROR);
        }
    };
    let config = WatchConfig {
        targets,
        interval: args.interval,
        rounds,
        concurrency: args.concurrency,
        scrape: ScrapeOptions {
            timeout: args.timeout,
            max_bytes: args.max_bytes,
            full_every: args.full_every,
            leak_profile: args.leak_profile,
            config: analysis,
            access,
        },
        trend: args.trend.params(),
        window: args.trend.window,
        db: (!args.no_db).then(|| args.db.clone()),
        retention: args.retention,
        slo: args.trend.slo(),
        webhooks: args.webhooks.clone(),
        remote_write: args.remote_write.clone(),
        webhook_resend: args.webhook_resend,
        listen: args.listen,
        display,
        color,
        render: std::sync::Arc::new(goleash_report::watch::WatchRenderer),
        target_page: Some(target_page(analysis_for_pages, args.timeout)),
        reload: Some(reload_of(&args)),
    };
    let outcome = match engine::run(config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("goleash watch: {e}");
            return exit::code(exit::ERROR);
        }
    };
    // How the schedule held up: cycle durations, missed slots, waits for a worker.
    eprintln!("goleash watch: {}", outcome.schedule.summary(args.interval));
    let text = match args.format {
        ReportFormat::Json => goleash_report::watch::json(&outcome.report),
        ReportFormat::Terminal => goleash_report::watch::summary(&outcome.report),
    };
    if !super::print(&text) {
        return exit::code(exit::ERROR);
    }
    if outcome.all_failed {
        eprintln!(
            "goleash watch: no scrape succeeded in {} round(s)",
            outcome.rounds
        );
        return exit::code(exit::ERROR);
    }
    let down: Vec<&str> = outcome
        .report
        .targets
        .iter()
        .filter(|t| !t.up)
        .map(|t| t.url.as_str())
        .collect();
    if outcome.alerts > 0 {
        exit::code(exit::FINDINGS)
    } else if !down.is_empty() {
        eprintln!(
            "goleash watch: {} of {} target(s) down at the end: {}",
            down.len(),
            outcome.report.targets.len(),
            down.join(", ")
        );
        exit::code(exit::TARGETS_DOWN)
    } else {
        exit::code(exit::CLEAN)
    }
}

/// The dashboard's per-target page: the target's profiles fetched now (without the
/// goroutineleak profile, whose full GC the watcher's own schedule decides on) and rendered
/// as `analyze --format html` renders them, with listings from the working directory.
fn target_page(config: Config, timeout: Duration) -> goleash_watch::render::TargetPage {
    std::sync::Arc::new(move |url: &str| {
        let read = super::input::ReadArgs {
            timeout,
            no_leak_profile: true,
            ..super::input::ReadArgs::defaults()
        };
        let snapshot = super::input::read_moment(&[url.to_string()], &read).map_err(|e| e.0)?;
        let config = Config {
            group_by: GroupBy::Stack,
            ..config.clone()
        };
        let analysis = goleash_analyze::analyze(&snapshot, &config);
        let tree = goleash_source::gosrc::SourceTree::open(std::path::Path::new("."));
        let listings = super::input::OutputArgs::listing_of(&tree);
        Ok(goleash_report::analysis_html(&analysis, &listings))
    })
}
