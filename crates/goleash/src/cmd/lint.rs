//! `goleash lint`, `goleash rules`, `goleash rule`: wiring for the static linter.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::flags::ColorFlag;
use clap::{Args, ValueEnum};
use goleash_lint::config::{self, FailOn, RuleSelection};
use goleash_lint::{Baseline, GoVersion, LintOptions};
use goleash_report::lint::{self as render, Summary};

use super::config::GoleashToml;
use super::exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// rustc-style diagnostics with a code frame, the why and the fix (`text` is an old
    /// spelling, kept for one release).
    #[value(alias = "text")]
    Terminal,
    /// One JSON document: diagnostics and a summary.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (`github/codeql-action/upload-sarif`).
    Sarif,
    /// GitHub Actions workflow annotations (`::warning file=…`).
    Github,
}

/// Find goroutine-leak patterns in Go source: forgotten senders, loops that never exit,
/// lost cancels, unclosed bodies, locks held on a return path, and more (`goleash rules`).
///
/// Parses Go with tree-sitter (no build, no type checker), so it is fast enough for every
/// save and every push. Vendor/ and testdata/ directories, `_test.go` files and generated
/// files are skipped by default; .gitignore is honoured.
///
/// Configuration: the nearest goleash.toml at or above the first path, table [lint]:
///   select = ["ALL"]            extend-select = ["GL021"]     ignore = ["GL014"]
///   exclude = ["gen/**"]        include-tests = true          fail-on = "error"
///   go-version = "1.22"         [lint.severity] GL007 = "error"
///
/// Suppress a finding on its line or the line above with a reason:
///   //goleash:ignore GL007 started once per process
///   //nolint:goleash // reason
///
/// Examples:
///   goleash lint ./...
///   goleash lint ./... --format sarif > goleash.sarif
///   goleash lint ./... --format github            (in a GitHub Actions step)
///   goleash lint ./... --write-baseline .goleash-baseline.json
///   goleash lint ./... --baseline .goleash-baseline.json --fail-on error
///   goleash lint --select GL001,GL002 --include-tests pkg/worker
///
/// Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 error
/// (unreadable path, bad config, bad baseline).
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LintArgs {
    /// Files or directories to lint; `./...` and `dir/...` are accepted. Directories are
    /// walked recursively. Example: `goleash lint ./cmd/... internal/server`.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Output format. Example: `--format sarif > goleash.sarif`.
    #[arg(long, value_enum, default_value_t = LintFormat::Terminal)]
    pub format: LintFormat,

    /// Exit 1 when a finding has at least this severity: error, warning, info, or never
    /// [default: warning, or the config's fail-on]. Example: `--fail-on error` to gate only on
    /// errors.
    #[arg(long, value_parser = parse_fail_on, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Run only these rules (codes, code prefixes, names, or ALL), replacing the default
    /// set. Example: `--select GL001,GL013` or `--select ALL`.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,

    /// Add rules to the set, typically default-off ones. Example: `--extend-select GL021,GL022`.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub extend_select: Vec<String>,

    /// Do not run these rules. Example: `--ignore GL014`.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,

    /// Also report findings in `_test.go` files found in directories. Without it, test files are
    /// still read by the package rules (GL030–GL038) when a package's own code gives package
    /// findings, because partners often live in tests. Example: `--include-tests`.
    #[arg(long)]
    pub include_tests: bool,

    /// Also walk vendor/ and testdata/ directories. Example: `--include-vendor`.
    #[arg(long)]
    pub include_vendor: bool,

    /// Do not honour .gitignore/.ignore files. Example: `--no-ignore-files`.
    #[arg(long)]
    pub no_ignore_files: bool,

    /// Skip paths matching this gitignore-style glob (repeatable). Example: `--exclude 'gen/**'`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Use this config file instead of searching for goleash.toml. Example: `--config ci/goleash.toml`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any goleash.toml. Example: `--no-config`.
    #[arg(long)]
    pub no_config: bool,

    /// Hide findings recorded in this baseline file; only new findings count.
    /// Example: `--baseline .goleash-baseline.json`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record every current finding into this baseline file and exit 0.
    /// Example: `--write-baseline .goleash-baseline.json`.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Treat every module as using this Go version (timer rules depend on it: Go 1.23
    /// changed timer semantics) instead of reading go.mod. Example: `--go-version 1.22`.
    #[arg(long, value_name = "VERSION")]
    pub go_version: Option<String>,

    #[command(flatten)]
    pub color: ColorFlag,

    /// Worker threads (0 = one per core). Example: `-j 1` for a reproducible timing baseline.
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,

    /// Runtime evidence (repeatable): a goroutine dump or profile, a live URL, or a
    /// `goleash watch` history DB. Findings whose lines hold running goroutines (leak
    /// suspects, not expected ones) are marked confirmed and listed first, e.g.
    /// `--evidence staging.dump.txt --evidence http://127.0.0.1:6060`.
    #[arg(long, value_name = "FILE|URL")]
    pub evidence: Vec<String>,

    /// With --evidence: report only the findings the evidence confirmed (and exit 1 on
    /// them), to gate CI on "seen leaking in staging".
    #[arg(long, requires = "evidence")]
    pub confirmed_only: bool,
}

/// Marks the findings that running goroutines confirm, confirmed first.
fn apply_evidence(
    diagnostics: &mut [goleash_lint::Diagnostic],
    specs: &[String],
    root: &Path,
) -> Result<(), String> {
    let tree = goleash_source::gosrc::SourceTree::open(root);
    let resolve = |file: &str| tree.resolve(file).and_then(|p| p.canonicalize().ok());
    let findings: Vec<goleash_analyze::StaticFinding> = diagnostics
        .iter()
        .map(|d| goleash_analyze::StaticFinding {
            code: d.code.to_string(),
            name: d.name.to_string(),
            message: d.message.clone(),
            fix: d.fix.clone(),
            file: d.path.clone(),
            line: d.span.line as u32,
            end_line: d.span.end_line as u32,
            disk: Path::new(&d.path).canonicalize().unwrap_or_default(),
        })
        .collect();
    for spec in specs {
        let groups = evidence_groups(spec)?;
        let confirmed = goleash_analyze::confirm(&findings, &groups, spec, &resolve);
        for (d, c) in diagnostics.iter_mut().zip(confirmed) {
            let Some(c) = c else { continue };
            let stronger = d
                .evidence
                .as_ref()
                .is_none_or(|e| e.goroutines < c.goroutines);
            if stronger {
                d.evidence = Some(goleash_lint::Evidence {
                    goroutines: c.goroutines,
                    verdict: c.verdict.name().to_string(),
                    site: c.site,
                    source: c.source,
                });
            }
        }
    }
    // Stable: within each half the linter's order (file, line) stays.
    diagnostics.sort_by_key(|d| d.evidence.is_none());
    Ok(())
}

/// The groups of one piece of evidence: a history DB, or anything `analyze` reads.
fn evidence_groups(spec: &str) -> Result<Vec<goleash_analyze::EvidenceGroup>, String> {
    let path = Path::new(spec);
    let is_sqlite = std::fs::File::open(path).ok().is_some_and(|mut f| {
        let mut head = [0u8; 16];
        std::io::Read::read_exact(&mut f, &mut head).is_ok() && &head == b"SQLite format 3\0"
    });
    if is_sqlite {
        let store = goleash_watch::store::Store::open_read_only(path).map_err(|e| e.0)?;
        return goleash_watch::history::evidence(&store).map_err(|e| e.0);
    }
    let read = super::input::ReadArgs::defaults();
    let snapshot = super::input::read_moment(&[spec.to_string()], &read).map_err(|e| e.0)?;
    let analysis = goleash_analyze::analyze(&snapshot, &goleash_analyze::Config::default());
    Ok(analysis
        .groups
        .iter()
        .map(goleash_analyze::EvidenceGroup::of)
        .collect())
}

/// List the lint rules with code, default state, severity and confidence.
///
/// Examples:
///   goleash rules
///   goleash rules --format json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RulesArgs {
    /// `text` (a table) or `json`. Example: `--format json`.
    #[arg(long, value_enum, default_value_t = RulesFormat::Terminal)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    #[value(alias = "text")]
    Terminal,
    Json,
}

/// Print a rule's documentation: what it finds, why it leaks, an example, the fix, and when
/// it is wrong.
///
/// Examples:
///   goleash rule GL001
///   goleash rule forgotten-sender
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RuleArgs {
    /// Rule code or name. Example: `GL013` or `lost-cancel`.
    #[arg(value_name = "RULE")]
    pub rule: String,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("goleash: {message}");
    exit::code(exit::ERROR)
}

fn parse_fail_on(text: &str) -> Result<FailOn, String> {
    FailOn::parse(text).ok_or_else(|| format!("`{text}`: expected error, warning, info or never"))
}

fn load_config(args: &LintArgs) -> Result<config::LintConfig, String> {
    if args.no_config {
        return Ok(config::LintConfig::default());
    }
    let start = args
        .paths
        .first()
        .map(|p| strip_go_pattern(p))
        .unwrap_or_else(|| PathBuf::from("."));
    GoleashToml::find_and_load(args.config.as_deref(), &start).map(|file| file.lint)
}

fn strip_go_pattern(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    match text.strip_suffix("...") {
        Some(rest) => {
            let rest = rest.trim_end_matches('/');
            PathBuf::from(if rest.is_empty() { "." } else { rest })
        }
        None => path.to_path_buf(),
    }
}

fn validate_selectors(list: &[String]) -> Result<(), String> {
    for selector in list {
        if !goleash_lint::all_meta().any(|m| config::selector_matches(selector, m)) {
            return Err(format!("unknown rule `{selector}` (see `goleash rules`)"));
        }
    }
    Ok(())
}

pub fn run_lint(args: LintArgs) -> ExitCode {
    let config = match load_config(&args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    for list in [&args.select, &args.extend_select, &args.ignore] {
        if let Err(e) = validate_selectors(list) {
            return fail(e);
        }
    }
    let selection = RuleSelection::from_config_and_flags(
        &config,
        &args.select,
        &args.extend_select,
        &args.ignore,
    );

    let go_version = match args.go_version.as_ref().or(config.go_version.as_ref()) {
        Some(v) => match GoVersion::parse(v) {
            Some(v) => Some(v),
            None => return fail(format!("bad Go version `{v}`: expected e.g. 1.22")),
        },
        None => None,
    };
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(FailOn::Warning);
    let baseline = match &args.baseline {
        Some(path) => match Baseline::load(path) {
            Ok(b) => Some(b),
            Err(e) => return fail(e),
        },
        None => None,
    };

    let mut exclude = config.exclude.clone();
    exclude.extend(args.exclude.iter().cloned());
    let options = LintOptions {
        include_tests: args.include_tests || config.include_tests.unwrap_or(false),
        include_vendor_and_testdata: args.include_vendor,
        no_ignore_files: args.no_ignore_files,
        exclude,
        selection,
        go_version,
        threads: args.threads,
    };
    let mut run = goleash_lint::lint_paths(&args.paths, &options);

    if let Some(path) = &args.write_baseline {
        let written = Baseline::from_diagnostics(&run.diagnostics);
        if let Err(e) = written.write(path) {
            return fail(e);
        }
        eprintln!(
            "goleash: wrote {} finding(s) to baseline {}",
            written.findings.len(),
            path.display()
        );
        for error in &run.errors {
            eprintln!("goleash: {error}");
        }
        return exit::code(if run.errors.is_empty() {
            exit::CLEAN
        } else {
            exit::ERROR
        });
    }

    let baselined = baseline
        .as_ref()
        .map(|b| b.filter(&mut run.diagnostics))
        .unwrap_or(0);
    if !args.evidence.is_empty() {
        let root = args
            .paths
            .first()
            .map(|p| strip_go_pattern(p))
            .unwrap_or_else(|| PathBuf::from("."));
        if let Err(e) = apply_evidence(&mut run.diagnostics, &args.evidence, &root) {
            return fail(format!("--evidence: {e}"));
        }
        if args.confirmed_only {
            run.diagnostics.retain(|d| d.evidence.is_some());
        }
    }
    let summary = Summary {
        run: &run,
        baselined,
    };
    let color = args.color.enabled(std::io::stdout().is_terminal());
    let text = match args.format {
        LintFormat::Terminal => {
            render::human(&summary, color, &|path| std::fs::read_to_string(path).ok())
        }
        LintFormat::Json => render::json(&summary) + "\n",
        LintFormat::Sarif => render::sarif(&summary, env!("CARGO_PKG_VERSION")) + "\n",
        LintFormat::Github => render::github(&summary),
    };
    if !super::print(&text) {
        return exit::code(exit::ERROR);
    }
    for error in &run.errors {
        eprintln!("goleash: {error}");
    }
    if !run.errors.is_empty() {
        return exit::code(exit::ERROR);
    }
    let failing = fail_on
        .threshold()
        .map(|threshold| run.diagnostics.iter().any(|d| d.severity >= threshold))
        .unwrap_or(false);
    exit::code(if failing { exit::FINDINGS } else { exit::CLEAN })
}

pub fn run_rules(args: RulesArgs) -> ExitCode {
    let text = goleash_report::lint::rules_list(matches!(args.format, RulesFormat::Json));
    if super::print(&text) {
        exit::code(exit::CLEAN)
    } else {
        exit::code(exit::ERROR)
    }
}

pub fn run_rule(args: RuleArgs) -> ExitCode {
    let Some(meta) = goleash_lint::find_meta(&args.rule) else {
        return fail(format!("no rule `{}` (see `goleash rules`)", args.rule));
    };
    let text = goleash_report::lint::rule_doc(meta);
    if super::print(&text) {
        exit::code(exit::CLEAN)
    } else {
        exit::code(exit::ERROR)
    }
}
