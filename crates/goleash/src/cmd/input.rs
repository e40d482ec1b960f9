//! Options and steps that `analyze` and `diff` share: reading inputs into snapshots and
//! judging them.

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, ValueEnum};
use goleash_analyze::{
    fill_counts_from_profile, merge_snapshots, Config, ExpectedPattern, GroupBy, Settings, Verdict,
};
use goleash_model::Snapshot;
use goleash_parse::{DumpChoice, Limits};
use goleash_source::{FetchOptions, LiveRole};
use indicatif::{ProgressBar, ProgressStyle};

use super::config::GoleashToml;
use super::flags::{parse_positive_duration, parse_size, ColorFlag};

/// How inputs are read.
#[derive(Args, Clone, Debug)]
pub struct ReadArgs {
    /// Which dump to use when a file holds several (a log with two SIGQUIT dumps):
    /// `last`, `first`, `all` (counted together) or a 1-based number, e.g. `--dump 2`.
    #[arg(long, default_value = "last", value_parser = DumpChoice::parse, value_name = "WHICH")]
    pub dump: DumpChoice,

    /// Refuse inputs larger than this many bytes (after decompression), e.g. `--max-bytes 1G`.
    #[arg(long, default_value = "4G", value_parser = parse_size, value_name = "SIZE")]
    pub max_bytes: u64,

    /// Give up on a live endpoint that has not answered completely within this, e.g.
    /// `--timeout 5s` (a bare number is seconds).
    #[arg(long, default_value = "30s", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// With a URL, do not request /debug/pprof/goroutineleak (which runs a full GC in the
    /// target; Go ≥ 1.26). Without it, nothing is `proven` by the runtime.
    #[arg(long)]
    pub no_leak_profile: bool,
}

impl ReadArgs {
    /// The flags' defaults, for commands that read evidence without these flags.
    pub fn defaults() -> ReadArgs {
        ReadArgs {
            dump: DumpChoice::Last,
            max_bytes: 4 << 30,
            timeout: Duration::from_secs(30),
            no_leak_profile: false,
        }
    }
}

/// How goroutines are grouped and judged.
#[derive(Args, Clone, Debug)]
pub struct JudgeArgs {
    /// Blocked at least this many minutes on a channel, lock, select or WaitGroup makes a
    /// group `likely` a leak, e.g. `--likely-after 30` [default: 10].
    #[arg(long, value_name = "MINUTES")]
    pub likely_after: Option<u32>,

    /// Without wait times (protobuf, debug=1), this many goroutines blocked at one channel
    /// site make the group `likely`, e.g. `--crowd 500` [default: 1000].
    #[arg(long, value_name = "COUNT")]
    pub crowd: Option<u64>,

    #[command(flatten)]
    pub code: CodeArgs,
}

/// Whose code is whose, what lives long by design, how to group: shared by every command
/// that judges goroutines.
#[derive(Args, Clone, Debug)]
pub struct CodeArgs {
    /// Package path prefix of your own code, e.g. `--module github.com/acme/api`
    /// (repeatable). The blocking site is the first frame under one of them. Default: any
    /// package outside the standard library.
    #[arg(long = "module", value_name = "PREFIX")]
    pub modules: Vec<String>,

    /// A function of a goroutine that is meant to live long, e.g.
    /// `--expect 'github.com/acme/api/cache.(*Cache).janitor'` or a prefix ending in `*`
    /// (repeatable). Matches any frame or the creator.
    #[arg(long = "expect", value_name = "FUNCTION")]
    pub expect: Vec<String>,

    /// How coarsely to group: `exact` (also labels and ancestry), `stack` (same frames,
    /// wait kind and creator), `site` (same blocking site and creator function).
    #[arg(long, value_enum, default_value_t = GroupByArg::Stack)]
    pub group_by: GroupByArg,

    /// Settings file with an `[analyze]` table (modules, expect, likely-after, crowd,
    /// fail-on), e.g. `--config ci/goleash.toml`. Default: the nearest goleash.toml at or
    /// above the current directory. Flags win over the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GroupByArg {
    Exact,
    Stack,
    Site,
}

/// How results are shown and when the exit code says "leaks found".
#[derive(Args, Clone, Debug)]
pub struct OutputArgs {
    /// `terminal` for people, `json` for machines (schema in docs/json-schema.md),
    /// `markdown` for tickets, `html` for one self-contained page (flame graph, group table,
    /// source listings) to open in a browser or attach to an incident, e.g.
    /// `--format html > goroutines.html`.
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,

    /// Exit 1 when a group is judged at least this sure: proven, likely, possible, expected,
    /// e.g. `--fail-on proven` in CI [default: likely].
    #[arg(long, value_parser = parse_verdict, value_name = "VERDICT")]
    pub fail_on: Option<Verdict>,

    /// Show groups down to this verdict (terminal only); the rest are counted. `all` shows
    /// everything.
    #[arg(long, value_enum, default_value_t = ShowArg::Possible, value_name = "VERDICT")]
    pub show: ShowArg,

    /// Show every frame of every stack instead of the user frames and the blocking call.
    #[arg(long)]
    pub full: bool,

    /// The Go source the dump's program was built from, for source listings: a module
    /// directory (frames of -trimpath builds resolve through its go.mod) or any tree (build
    /// paths resolve by their longest common suffix); the standard library and dependencies
    /// through `go env` when go is on PATH. Default: the current directory, e.g.
    /// `--source ~/src/api`.
    #[arg(long, value_name = "DIR")]
    pub source: Option<std::path::PathBuf>,

    /// Print the source lines around each shown group's blocking site and creator, like
    /// `pprof list` (terminal format; `html` always has them when the source is found).
    #[arg(long)]
    pub list: bool,

    #[command(flatten)]
    pub color: ColorFlag,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ShowArg {
    All,
    Expected,
    Possible,
    Likely,
    Proven,
}

impl ShowArg {
    pub fn min_verdict(self) -> Option<Verdict> {
        match self {
            ShowArg::All => None,
            ShowArg::Expected => Some(Verdict::Expected),
            ShowArg::Possible => Some(Verdict::Possible),
            ShowArg::Likely => Some(Verdict::Likely),
            ShowArg::Proven => Some(Verdict::Proven),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Terminal,
    Json,
    Markdown,
    Html,
}

impl OutputArgs {
    /// `listings` is used only with `--list`.
    pub fn terminal_options<'a>(
        &self,
        listings: goleash_report::Listings<'a>,
    ) -> goleash_report::TerminalOptions<'a> {
        goleash_report::TerminalOptions {
            listings: self.list.then_some(listings),
            style: goleash_report::Style {
                color: self.color(),
            },
            full: self.full,
            min_verdict: self.show.min_verdict(),
        }
    }

    /// Where frames' source files are looked up (`--source`, else the current directory).
    pub fn source_tree(&self) -> goleash_source::gosrc::SourceTree {
        let dir = self
            .source
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("."));
        goleash_source::gosrc::SourceTree::open(&dir)
    }

    /// With `--source`: runs the lint rules on the packages of the user's frames (those only,
    /// so it stays fast) and gives each group the findings its stack runs through.
    pub fn attach_findings(
        &self,
        analysis: &mut goleash_analyze::Analysis,
        tree: &goleash_source::gosrc::SourceTree,
    ) {
        if self.source.is_none() {
            return;
        }
        let resolve = |file: &str| tree.resolve(file).and_then(|p| p.canonicalize().ok());
        let mut dirs = std::collections::BTreeSet::new();
        for group in &analysis.groups {
            for frame in group.frames.iter().chain(group.creator.iter()) {
                if frame.user {
                    if let Some(dir) =
                        resolve(&frame.file).and_then(|p| p.parent().map(|d| d.to_path_buf()))
                    {
                        dirs.insert(dir);
                    }
                }
            }
        }
        // The package's own files, named one by one: testdata and vendor trees are linted too
        // when the program's code lives there.
        let files: Vec<std::path::PathBuf> = dirs
            .iter()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flat_map(|entries| entries.flatten().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "go")
                    && !p.to_string_lossy().ends_with("_test.go")
            })
            .collect();
        if files.is_empty() {
            return;
        }
        let run = goleash_lint::lint_paths(&files, &goleash_lint::LintOptions::default());
        let findings: Vec<goleash_analyze::StaticFinding> = run
            .diagnostics
            .iter()
            .filter_map(|d| {
                Some(goleash_analyze::StaticFinding {
                    code: d.code.to_string(),
                    name: d.name.to_string(),
                    message: d.message.clone(),
                    fix: d.fix.clone(),
                    file: display_path(std::path::Path::new(&d.path)),
                    line: d.span.line as u32,
                    end_line: d.span.end_line as u32,
                    disk: std::path::Path::new(&d.path).canonicalize().ok()?,
                })
            })
            .collect();
        goleash_analyze::attach(analysis, &findings, &resolve);
    }

    /// The source listing of a frame, from `tree`.
    pub fn listing_of(
        tree: &goleash_source::gosrc::SourceTree,
    ) -> impl Fn(&goleash_analyze::FrameView) -> Option<goleash_source::gosrc::Listing> + '_ {
        move |f| tree.listing(&f.file, f.line, goleash_source::gosrc::LISTING_CONTEXT)
    }

    pub fn color(&self) -> bool {
        self.color.enabled(std::io::stdout().is_terminal())
    }
}

pub fn parse_verdict(text: &str) -> Result<Verdict, String> {
    Verdict::parse(text).ok_or_else(|| {
        format!("`{text}` is not a verdict; expected proven, likely, possible or expected")
    })
}

/// Judges one moment and writes its report in the chosen format (what `analyze` and `trace`
/// print), and whether a group reached `fail_on`.
pub fn judge_and_render(
    snapshot: &Snapshot,
    config: &Config,
    output: &OutputArgs,
    fail_on: Verdict,
) -> (String, bool) {
    let mut analysis = goleash_analyze::analyze(snapshot, config);
    let tree = output.source_tree();
    output.attach_findings(&mut analysis, &tree);
    let listings = OutputArgs::listing_of(&tree);
    let text = match output.format {
        Format::Json => goleash_report::analysis_json(&analysis),
        Format::Markdown => goleash_report::analysis_markdown(&analysis),
        Format::Html => goleash_report::analysis_html(&analysis, &listings),
        Format::Terminal => {
            goleash_report::analysis_terminal(&analysis, output.terminal_options(&listings))
        }
    };
    (text, analysis.groups_at_least(fail_on) > 0)
}

/// A failure to read an input: already phrased for the user.
pub struct InputError(pub String);

/// Prints the report and turns the outcome into the exit code CI reads.
pub fn finish(outcome: Result<(String, bool), InputError>) -> std::process::ExitCode {
    use super::exit;
    match outcome {
        Err(e) => {
            eprintln!("goleash: {}", e.0);
            exit::code(exit::ERROR)
        }
        Ok((text, _)) if !super::print(&text) => exit::code(exit::ERROR),
        Ok((_, true)) => exit::code(exit::FINDINGS),
        Ok((_, false)) => exit::code(exit::CLEAN),
    }
}

/// Reads one or more inputs of one moment and merges them into one snapshot.
pub fn read_moment(specs: &[String], read: &ReadArgs) -> Result<Snapshot, InputError> {
    read_moment_with(specs, read, Traces::Refuse)
}

/// Whether an execution trace is accepted where a dump is expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traces {
    /// Refused with an error pointing at `goleash trace` (`analyze`: one trace is a report of
    /// its own, with per-site notes).
    Refuse,
    /// Read as the goroutines alive at its end, the snapshot `goleash trace` judges (`diff`).
    AliveAtEnd,
}

/// [`read_moment`], with execution traces read as the goroutines alive at their end when
/// `traces` allows it (recognised by their `go 1.N trace` header, after decompression).
pub fn read_moment_with(
    specs: &[String],
    read: &ReadArgs,
    traces: Traces,
) -> Result<Snapshot, InputError> {
    let fetch = FetchOptions {
        timeout: read.timeout,
        leak_profile: !read.no_leak_profile,
    };
    let limits = Limits {
        max_bytes: read.max_bytes,
    };
    let mut snapshots = Vec::new();
    for spec in specs {
        if let Some(requests) = goleash_source::live_requests(spec, fetch.leak_profile) {
            snapshots.extend(read_live(requests, &fetch, limits)?);
            continue;
        }
        let opened = goleash_source::open(spec, &fetch).map_err(|e| InputError(e.to_string()))?;
        for input in opened {
            let progress = progress_bar(&input.name);
            let input_name = input.name.clone();
            let mut per_source = Vec::new();
            let counted = goleash_source::Opened {
                reader: Box::new(ProgressReader {
                    inner: input.reader,
                    bar: progress.clone(),
                }),
                ..input
            };
            // Several pods or services in one log give one input each, each with its dumps.
            let parts = goleash_source::unwrap(counted, limits.max_bytes)
                .map_err(|e| InputError(e.to_string()));
            let parts = match parts {
                Ok(parts) => parts,
                Err(e) => {
                    progress.finish_and_clear();
                    return Err(e);
                }
            };
            for part in parts {
                let goleash_source::Opened {
                    name,
                    reader,
                    transport,
                } = part;
                let (head, reader) = goleash_source::decode::peek(reader, 16).map_err(|e| {
                    progress.finish_and_clear();
                    InputError(format!("{name}: {e}"))
                })?;
                if traces == Traces::AliveAtEnd && goleash_parse::trace::is_trace(&head) {
                    // A trace side of `diff`: the goroutines alive at its end, as `trace` sees them.
                    let lifecycles = goleash_parse::trace::read_trace(&name, reader, limits)
                        .map_err(|e| {
                            progress.finish_and_clear();
                            InputError(e.to_string())
                        })?;
                    per_source.push(lifecycles.into_snapshot(&name));
                    continue;
                }
                let parsed = goleash_parse::parse_dumps(&name, reader, limits);
                let dumps = parsed.map_err(|e| {
                    progress.finish_and_clear();
                    InputError(match &transport {
                        Some(t) if matches!(e.location, goleash_parse::Location::Line(_)) => {
                            format!("{e} (counting lines after undoing the {t})")
                        }
                        _ => e.to_string(),
                    })
                })?;
                let mut snapshot =
                    goleash_parse::select_dump(&name, dumps, read.dump).map_err(InputError)?;
                for source in &mut snapshot.sources {
                    source.transport.clone_from(&transport);
                }
                per_source.push(snapshot);
            }
            progress.finish_and_clear();
            snapshots.push(count_sources_together(&input_name, per_source));
        }
    }
    Ok(merge_snapshots(snapshots))
}

/// The pods, services or processes of one log are different programs, not views of one
/// moment of one program: their goroutines are added up, each source listed with its dump.
fn count_sources_together(name: &str, mut per_source: Vec<Snapshot>) -> Snapshot {
    if per_source.len() < 2 {
        return per_source.pop().unwrap_or_default();
    }
    let counts: Vec<String> = per_source
        .iter()
        .map(|s| {
            let source = s.sources.first().map_or("", |s| s.name.as_str());
            let key = source.strip_prefix(name).unwrap_or(source).trim();
            format!("{key} {}", s.total())
        })
        .collect();
    let mut all = Snapshot::default();
    for snapshot in &per_source {
        all.absorb(snapshot);
    }
    all.missing = per_source
        .iter()
        .map(|s| s.missing)
        .reduce(|a, b| goleash_model::Missing {
            goroutine_ids: a.goroutine_ids || b.goroutine_ids,
            states: a.states || b.states,
            wait_times: a.wait_times || b.wait_times,
            creators: a.creators || b.creators,
        })
        .unwrap_or_default();
    all.notes.push(format!(
        "{} sources in {name}, each with its own dump, counted together: {}",
        per_source.len(),
        counts.join(", ")
    ));
    all
}

/// Fetches and parses one request of a live target.
fn fetch_one(
    url: &str,
    fetch: &FetchOptions,
    limits: Limits,
) -> Result<Option<Snapshot>, InputError> {
    let Some(input) =
        goleash_source::fetch_url(url, fetch).map_err(|e| InputError(e.to_string()))?
    else {
        return Ok(None);
    };
    let progress = progress_bar(&input.name);
    let reader = ProgressReader {
        inner: input.reader,
        bar: progress.clone(),
    };
    let parsed = goleash_parse::parse(&input.name, reader, limits);
    progress.finish_and_clear();
    parsed.map(Some).map_err(|e| InputError(e.to_string()))
}

/// Go's net/http/pprof writes at most this much of a debug=2 dump.
const DEBUG2_CAP: u64 = 64 << 20;

/// Reads a live target: the protobuf goroutine profile counts every goroutine at any size; the
/// debug=2 dump adds states, wait times and ids when it fits Go's 64 MiB cap, and otherwise
/// lends its details to the goroutines it holds; the leak profile adds the runtime's proof.
/// The leak profile and the dump are optional: on a timeout or an error the rest is used, and
/// a note says what is missing.
fn read_live(
    requests: Vec<goleash_source::LiveRequest>,
    fetch: &FetchOptions,
    limits: Limits,
) -> Result<Vec<Snapshot>, InputError> {
    let (mut leak, mut profile, mut dump) = (None, None, None);
    let mut failed: Vec<(LiveRole, String)> = Vec::new();
    for request in &requests {
        match fetch_one(&request.url, fetch, limits) {
            Ok(Some(snapshot)) => match request.role {
                LiveRole::LeakProfile => leak = Some(snapshot),
                LiveRole::Profile => profile = Some(snapshot),
                LiveRole::Dump => dump = Some(snapshot),
            },
            // Go before 1.26 has no goroutineleak profile: nothing to say.
            Ok(None) if request.role == LiveRole::LeakProfile => {}
            Ok(None) => failed.push((
                request.role,
                format!(
                    "{}: HTTP status 404 (is net/http/pprof registered?)",
                    request.url
                ),
            )),
            Err(e) => failed.push((request.role, e.0)),
        }
    }
    let why = |role: LiveRole| {
        failed
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, message)| message.clone())
    };
    let mut base = match (dump, profile) {
        (Some(mut dump), Some(profile)) => {
            let capped = dump.sources.first().is_some_and(|s| s.bytes >= DEBUG2_CAP);
            if capped {
                dump.notes.retain(|n| !n.contains("looks truncated"));
                let (dumped, counted) = fill_counts_from_profile(&mut dump, &profile);
                dump.notes.push(format!(
                    "the debug=2 dump stopped at Go's 64 MiB cap holding {dumped} of the {counted} goroutines the protobuf profile counts: counts are the profile's; wait reasons, wait times and ids come from the {dumped} the dump holds"
                ));
            }
            dump
        }
        (None, Some(mut profile)) => {
            if let Some(message) = why(LiveRole::Dump) {
                profile.notes.push(format!(
                    "no debug=2 dump ({message}): counts and stacks are the protobuf profile's alone, without wait reasons, wait times or ids"
                ));
            }
            profile
        }
        (Some(dump), None) => dump,
        (None, None) => {
            let message = why(LiveRole::Profile)
                .or_else(|| why(LiveRole::Dump))
                .unwrap_or_else(|| "no goroutine profile or dump".to_string());
            return Err(InputError(message));
        }
    };
    if let Some(message) = why(LiveRole::LeakProfile) {
        base.notes.push(format!(
            "no goroutineleak profile ({message}): nothing is proven by the runtime's leak-detecting GC; raise --timeout, or pass --no-leak-profile"
        ));
    }
    Ok(std::iter::once(base).chain(leak).collect())
}

/// Only large inputs get a bar, and only on a terminal: a 500 MB dump takes a second.
const PROGRESS_FROM_BYTES: u64 = 64 << 20;

fn progress_bar(name: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let size = std::fs::metadata(name).map(|m| m.len()).ok();
    let bar = match size {
        Some(size) if size >= PROGRESS_FROM_BYTES => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{spinner} reading {msg} {bytes}/{total_bytes} {bar:30} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        Some(_) => return ProgressBar::hidden(),
        // stdin and URLs: size unknown, show bytes read so far.
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} reading {msg} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(name.to_string());
    bar
}

/// Counts bytes into the progress bar as the parser pulls them.
struct ProgressReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: std::io::Read> std::io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// The analysis settings and failure threshold: flags, then goleash.toml, then defaults.
pub fn resolve(
    judge: &JudgeArgs,
    fail_on: Option<Verdict>,
) -> Result<(Config, Verdict), InputError> {
    let file = GoleashToml::for_cwd(judge.code.config.as_deref()).map_err(InputError)?;
    Ok(resolve_parts(
        &judge.code,
        &file.analyze,
        judge.likely_after,
        judge.crowd,
        fail_on,
    ))
}

/// [`resolve`] with `goleash.toml`'s `[analyze]` table already read (`goleash test` reads the
/// file once for its own table too).
pub fn resolve_parts(
    code: &CodeArgs,
    settings: &Settings,
    likely_after: Option<u32>,
    crowd: Option<u64>,
    fail_on: Option<Verdict>,
) -> (Config, Verdict) {
    let defaults = Config::default();
    let mut config = Config {
        likely_after_minutes: likely_after
            .or(settings.likely_after)
            .unwrap_or(defaults.likely_after_minutes),
        crowd_threshold: crowd.or(settings.crowd).unwrap_or(defaults.crowd_threshold),
        user_prefixes: code.modules.clone(),
        expected: code.expect.iter().map(ExpectedPattern::new).collect(),
        group_by: match code.group_by {
            GroupByArg::Exact => GroupBy::Exact,
            GroupByArg::Stack => GroupBy::Stack,
            GroupByArg::Site => GroupBy::Site,
        },
        ..defaults
    };
    settings.apply(&mut config);
    let fail_on = fail_on.or(settings.fail_on()).unwrap_or(Verdict::Likely);
    (config, fail_on)
}

/// `path` relative to the working directory when under it.
fn display_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| {
            path.canonicalize()
                .ok()?
                .strip_prefix(cwd)
                .ok()
                .map(|p| p.to_path_buf())
        })
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
