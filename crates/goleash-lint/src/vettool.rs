//! `go vet -vettool=$(command -v goleash)`: the tool side of the go command's vet protocol.
//!
//! The go command talks to a vet tool in three ways (`cmd/go/internal/vet/vetflag.go`,
//! `cmd/go/internal/work/buildid.go`, `cmd/go/internal/work/exec.go`; the reference tool is
//! `golang.org/x/tools/go/analysis/unitchecker`):
//!
//! - `goleash -V=full` prints one line that the go command uses as the cache key for results;
//! - `goleash -flags` prints the flags the tool accepts as JSON, so `go vet` can pass them on;
//! - `goleash [flags] $WORK/bNNN/vet.cfg` lints one package, run in the package's directory.
//!
//! `go vet` (without `-fix`) always adds `-json` and turns the JSON written to the config's
//! `Stdout` file into `file:line:col: message` lines itself, failing when there is any; `go vet
//! -json` passes that JSON through. Plain text on stderr with exit 1 only happens when the tool is
//! run by hand. A non-zero exit is a tool failure: `go vet` prints the tool's stderr under a
//! `# importpath` header and exits 1.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ignore::overrides::{Override, OverrideBuilder};
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::{self, LintConfig, RuleSelection};
use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::{lint_paths, LintOptions};
use crate::gomod::{GoModCache, GoVersion};
use crate::rules;

/// Nothing reported (or JSON mode, where the go command decides from the JSON).
pub const EXIT_CLEAN: u8 = 0;
/// Text mode reported findings; unitchecker uses 1 too.
pub const EXIT_FINDINGS: u8 = 1;
/// Bad config, unreadable file, bad flag: the same code `goleash lint` uses for bad input.
pub const EXIT_ERROR: u8 = 2;

/// Whether `args` (without the program name) are the go command talking to a vet tool rather
/// than a person running a subcommand. Checked before the subcommand parser, which would
/// reject Go-style single-dash long flags.
pub fn is_invocation(args: &[OsString]) -> bool {
    let Some(first) = args.first().and_then(|a| a.to_str()) else {
        return false;
    };
    if is_version_flag(first) || is_flags_flag(first) {
        return true;
    }
    let last_is_cfg = args
        .last()
        .and_then(|a| a.to_str())
        .is_some_and(|a| a.ends_with(".cfg"));
    // Subcommands never start with `-`, so `goleash lint x.cfg` stays a lint run.
    last_is_cfg && (args.len() == 1 || first.starts_with('-'))
}

fn flag_name(arg: &str) -> Option<&str> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    Some(body.split('=').next().unwrap_or(body))
}

/// `-V=full`; a bare `-V` is goleash's own `--version`.
fn is_version_flag(arg: &str) -> bool {
    flag_name(arg) == Some("V") && arg.contains('=')
}

fn is_flags_flag(arg: &str) -> bool {
    flag_name(arg) == Some("flags") && !arg.contains('=')
}

/// What the go command asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `-V=full`.
    Version,
    /// `-flags`.
    Flags,
    /// `[flags] vet.cfg`.
    Run(RunArgs),
}

/// Flags of a per-package run. `go vet` forwards the ones `-flags` lists, as the user wrote
/// them (`-select GL001` or `-select=GL001`), and appends `-json`, or `-fix [-diff]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunArgs {
    pub json: bool,
    /// `-c=N`: N lines of context around each finding in text mode (the go command handles
    /// `-c` itself and does not forward it).
    pub context: Option<usize>,
    /// `go vet -fix` / `go fix -fixtool`: goleash has no automatic fixes, so nothing to do.
    pub fix: bool,
    pub diff: bool,
    pub select: Vec<String>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub fail_on: Option<String>,
    pub config: PathBuf,
}

struct FlagSpec {
    name: &'static str,
    boolean: bool,
    usage: &'static str,
    /// Listed by `-flags`. `fix` and `diff` are not: the go command owns them and appends them
    /// itself in fix mode (unitchecker leaves `fix` out for the same reason).
    listed: bool,
}

const FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "c",
        boolean: false,
        usage: "display offending line with this many lines of context",
        listed: true,
    },
    FlagSpec {
        name: "extend-select",
        boolean: false,
        usage: "goleash rules to add to the selection, comma-separated (e.g. GL021,GL022)",
        listed: true,
    },
    FlagSpec {
        name: "fail-on",
        boolean: false,
        usage: "lowest severity reported: error, warning (default), info or never",
        listed: true,
    },
    FlagSpec {
        name: "ignore",
        boolean: false,
        usage: "goleash rules not to run, comma-separated (e.g. GL014)",
        listed: true,
    },
    FlagSpec {
        name: "json",
        boolean: true,
        usage: "emit JSON output",
        listed: true,
    },
    FlagSpec {
        name: "select",
        boolean: false,
        usage: "run only these goleash rules (codes, prefixes, names or ALL), comma-separated",
        listed: true,
    },
    FlagSpec {
        name: "fix",
        boolean: true,
        usage: "apply suggested fixes (goleash has none)",
        listed: false,
    },
    FlagSpec {
        name: "diff",
        boolean: true,
        usage: "with -fix, print the diff (goleash has no fixes)",
        listed: false,
    },
];

/// The `-flags` answer: `[{"Name","Bool","Usage"}]` as `cmd/go/internal/vet/vetflag.go`
/// unmarshals it.
pub fn flags_json() -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct JsonFlag {
        name: &'static str,
        bool: bool,
        usage: &'static str,
    }
    let flags: Vec<JsonFlag> = FLAGS
        .iter()
        .filter(|f| f.listed)
        .map(|f| JsonFlag {
            name: f.name,
            bool: f.boolean,
            usage: f.usage,
        })
        .collect();
    to_go_json(&flags)
}

/// Go's `json.MarshalIndent(v, "", "\t")` layout, so the output reads like unitchecker's.
fn to_go_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    match value.serialize(&mut serializer) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => "null".to_string(),
    }
}

/// Parses the arguments (without the program name) the way Go's `flag` package would:
/// `-name`, `--name`, `-name=value`, `-name value` for non-boolean flags; flags stop at the
/// first non-flag or `--`. Exactly one `.cfg` file must follow.
pub fn parse_args(args: &[OsString]) -> Result<Request, String> {
    let mut strings = Vec::with_capacity(args.len());
    for arg in args {
        match arg.to_str() {
            Some(s) => strings.push(s),
            None => return Err(format!("argument {arg:?} is not valid UTF-8")),
        }
    }
    let mut run = RunArgs::default();
    let mut i = 0;
    while i < strings.len() {
        let arg = strings[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if arg == "-" || !arg.starts_with('-') {
            break;
        }
        i += 1;
        let body = arg.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if name == "V" {
            return match inline {
                Some("full") => Ok(Request::Version),
                _ => Err(format!("unsupported flag {arg} (use -V=full)")),
            };
        }
        if name == "flags" {
            return Ok(Request::Flags);
        }
        let Some(spec) = FLAGS.iter().find(|f| f.name == name) else {
            return Err(format!(
                "flag provided but not defined: -{name} (`goleash -flags` lists the flags)"
            ));
        };
        let value = if spec.boolean {
            match inline {
                None => "true",
                Some(v) => v,
            }
        } else {
            match inline {
                Some(v) => v,
                None => {
                    let Some(next) = strings.get(i) else {
                        return Err(format!("flag needs an argument: -{name}"));
                    };
                    i += 1;
                    next
                }
            }
        };
        apply_flag(&mut run, name, value)?;
    }
    let rest = &strings[i.min(strings.len())..];
    match rest {
        [cfg] if cfg.ends_with(".cfg") => {
            run.config = PathBuf::from(cfg);
            Ok(Request::Run(run))
        }
        [] => Err(
            "no vet.cfg given: goleash runs this way only under `go vet -vettool=$(command -v goleash)`"
                .to_string(),
        ),
        _ => Err(format!(
            "expected exactly one vet.cfg file after the flags, got {}: invoking goleash this \
             way is for `go vet -vettool`; use `goleash lint` directly",
            rest.join(" ")
        )),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    // strconv.ParseBool's spellings.
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "invalid boolean value {value:?} for -{name}: expected true or false"
        )),
    }
}

fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn apply_flag(run: &mut RunArgs, name: &str, value: &str) -> Result<(), String> {
    match name {
        "json" => run.json = parse_bool(name, value)?,
        "fix" => run.fix = parse_bool(name, value)?,
        "diff" => run.diff = parse_bool(name, value)?,
        "c" => {
            let n: i64 = value
                .parse()
                .map_err(|_| format!("invalid value {value:?} for -c: expected a number"))?;
            run.context = usize::try_from(n).ok();
        }
        "select" => run.select.extend(split_list(value)),
        "extend-select" => run.extend_select.extend(split_list(value)),
        "ignore" => run.ignore.extend(split_list(value)),
        "fail-on" => run.fail_on = Some(value.to_string()),
        _ => return Err(format!("flag provided but not defined: -{name}")),
    }
    Ok(())
}

/// Identifies the rule set: codes, names and defaults. Part of the `-V=full` line so that a
/// reader of `go vet -x` output can tell rule sets apart; the executable hash below is what
/// actually guarantees that any change of behaviour changes the line.
pub fn rules_identity() -> u64 {
    let mut hash = Fnv::default();
    for meta in rules::all_meta() {
        hash.write(meta.code.as_bytes());
        hash.write(meta.name.as_bytes());
        hash.write(&[
            u8::from(meta.default_enabled),
            meta.severity as u8,
            meta.confidence as u8,
            u8::from(meta.version_gated),
        ]);
    }
    hash.finish()
}

/// The `-V=full` answer. The go command keys cached vet results by this whole line (it is not
/// a `devel` version, so `cmd/go/internal/work/buildid.go` uses the line itself), so it holds
/// everything that changes results without changing the package's files:
/// - `build=`: a hash of the goleash executable, so a rebuilt or upgraded binary never serves
///   results cached by another one;
/// - `config=`: a hash of the goleash.toml at or above `cwd` (the directory `go vet` runs in),
///   so editing the config is seen on the next `go vet` instead of replaying cached findings.
pub fn version_line(tool_version: &str, exe: Option<&Path>, cwd: &Path) -> String {
    let build = exe
        .and_then(|p| hash_file(p).ok())
        .map(|h| format!("{h:016x}"))
        // Unique per call: without a trustworthy key, never let the go command reuse results.
        .unwrap_or_else(|| format!("unknown-{}", unique_token()));
    let config = config::find_upward(cwd)
        .and_then(|p| hash_file(&p).ok())
        .map(|h| format!("{h:016x}"))
        .unwrap_or_else(|| "none".to_string());
    format!(
        "goleash version {tool_version} rules={:016x} build={build} config={config}",
        rules_identity()
    )
}

fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{:x}", std::process::id())
}

/// std's SipHash over the bytes: the standard library is always built optimised, so hashing a
/// 100 MB debug binary stays well under a second even in a debug build of goleash.
fn hash_file(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    // DefaultHasher::new() has fixed keys: the same bytes give the same hash in every run.
    let mut hasher = std::hash::DefaultHasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.write(&buffer[..n]);
    }
    Ok(hasher.finish())
}

/// FNV-1a, for the small rule-set identity (stable across Rust releases, unlike SipHash keys).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The part of `vet.cfg` goleash uses. The go command writes more (ImportMap, PackageFile,
/// PackageVetx, Module, ...: type information goleash does not need); unknown fields are
/// ignored so that newer go commands keep working.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct VetConfig {
    /// The package ID, the top-level key of the JSON output; the import path for the package
    /// and its in-package test variant alike, `path_test` for the external test package.
    #[serde(rename = "ID", default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub dir: String,
    #[serde(default, deserialize_with = "null_default")]
    pub import_path: String,
    /// Absolute paths; for the test variant they include the package's `_test.go` files.
    #[serde(default, deserialize_with = "null_default")]
    pub go_files: Vec<PathBuf>,
    /// The package is only a dependency of what is being vetted: facts only, no diagnostics.
    #[serde(default, deserialize_with = "null_default")]
    pub vetx_only: bool,
    /// Where the facts go. The go command caches results only when this file exists.
    #[serde(default, deserialize_with = "null_default")]
    pub vetx_output: String,
    /// Where stdout output (the `-json` report) goes.
    #[serde(default, deserialize_with = "null_default")]
    pub stdout: String,
    /// The package's language version, `go1.22`.
    #[serde(default, deserialize_with = "null_default")]
    pub go_version: String,
}

/// Go marshals nil slices and empty pointers as `null`.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl VetConfig {
    pub fn load(path: &Path) -> Result<VetConfig, String> {
        let text = std::fs::read(path)
            .map_err(|e| format!("cannot read go vet config {}: {e}", path.display()))?;
        VetConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &[u8]) -> Result<VetConfig, String> {
        let cfg: VetConfig = serde_json::from_slice(text).map_err(|e| {
            format!(
                "not a go vet config (expected the JSON object `go vet -vettool` writes, with \
                 ID, Dir and GoFiles): {e}"
            )
        })?;
        if cfg.go_files.is_empty() {
            return Err(format!(
                "package {} has no Go files (GoFiles is empty)",
                cfg.display_id()
            ));
        }
        Ok(cfg)
    }

    fn display_id(&self) -> &str {
        if !self.id.is_empty() {
            &self.id
        } else if !self.import_path.is_empty() {
            &self.import_path
        } else {
            "(unnamed)"
        }
    }

    /// The directory goleash.toml is searched from.
    fn package_dir(&self) -> PathBuf {
        if !self.dir.is_empty() {
            return PathBuf::from(&self.dir);
        }
        self.go_files
            .first()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Finds and reads goleash.toml for a package directory: its `[lint]` table and the directory
/// the file is in (exclude globs are relative to it). The binary passes its one loader, so the
/// vet tool reads the file exactly as `goleash lint` does.
pub type ConfigLoader<'a> = &'a dyn Fn(&Path) -> Result<Option<(LintConfig, PathBuf)>, String>;

/// Runs one `vet.cfg`. `stdout` receives the JSON when the config names no `Stdout` file,
/// `stderr` the text report and errors. Returns the exit code.
pub fn run(
    args: &RunArgs,
    load_config: ConfigLoader<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    match run_inner(args, load_config, stdout, stderr) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(stderr, "goleash: {message}");
            EXIT_ERROR
        }
    }
}

fn run_inner(
    args: &RunArgs,
    load_config: ConfigLoader<'_>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, String> {
    let cfg = VetConfig::load(&args.config)?;
    // goleash keeps no facts across packages; the empty file still has to exist, or the go
    // command caches nothing for this package.
    if !cfg.vetx_output.is_empty() {
        std::fs::write(&cfg.vetx_output, b"")
            .map_err(|e| format!("cannot write {}: {e}", cfg.vetx_output))?;
    }
    // Dependencies are vetted for their facts only (every standard-library package a module
    // imports comes through here), and goleash has none: done.
    if cfg.vetx_only {
        return Ok(EXIT_CLEAN);
    }
    // goleash suggests no edits, so `go vet -fix` and `go fix` have nothing to apply or diff;
    // unitchecker prints nothing in fix mode either.
    if args.fix {
        return Ok(EXIT_CLEAN);
    }

    let settings = Settings::resolve(args, &cfg, load_config)?;
    let files = settings.files(&cfg);
    let options = LintOptions {
        include_tests: true,
        selection: settings.selection.clone(),
        go_version: settings.go_version,
        // The go command runs one tool process per package, in parallel already.
        threads: 1,
        ..LintOptions::default()
    };
    let run = lint_paths(&files, &options);
    if let Some(first) = run.errors.first() {
        let mut message = first.clone();
        if run.errors.len() > 1 {
            let _ = write!(message, " (and {} more errors)", run.errors.len() - 1);
        }
        return Err(message);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let reported: Vec<&Diagnostic> = run
        .diagnostics
        .iter()
        .filter(|d| settings.threshold.is_some_and(|t| d.severity >= t))
        .collect();
    let mut sources = Sources::default();
    let findings: Vec<VetDiagnostic> = reported
        .iter()
        .map(|d| VetDiagnostic::new(d, &cwd, &mut sources))
        .collect();

    if args.json {
        let text = json_report(cfg.display_id(), &findings);
        if cfg.stdout.is_empty() {
            write_all(stdout, &text)?;
        } else {
            std::fs::write(&cfg.stdout, text)
                .map_err(|e| format!("cannot write {}: {e}", cfg.stdout))?;
        }
        return Ok(EXIT_CLEAN);
    }
    let text = text_report(&findings, args.context, &mut sources);
    write_all(stderr, &text)?;
    Ok(if findings.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn write_all(out: &mut dyn Write, text: &str) -> Result<(), String> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write the report: {e}")),
    }
}

/// goleash.toml's `[lint]` table merged with the flags `go vet` forwarded.
struct Settings {
    selection: RuleSelection,
    /// `None`: `fail-on = "never"`, nothing is reported.
    threshold: Option<Severity>,
    go_version: Option<GoVersion>,
    drop_tests: bool,
    exclude: Option<Override>,
}

impl Settings {
    fn resolve(
        args: &RunArgs,
        cfg: &VetConfig,
        load_config: ConfigLoader<'_>,
    ) -> Result<Settings, String> {
        let (config, config_dir) = match load_config(&cfg.package_dir())? {
            Some((config, dir)) => (config, Some(dir)),
            None => (LintConfig::default(), None),
        };
        for selector in args
            .select
            .iter()
            .chain(&args.extend_select)
            .chain(&args.ignore)
        {
            if !rules::all_meta().any(|m| config::selector_matches(selector, m)) {
                return Err(format!("unknown rule `{selector}` (see `goleash rules`)"));
            }
        }
        let selection = RuleSelection::from_config_and_flags(
            &config,
            &args.select,
            &args.extend_select,
            &args.ignore,
        );

        // go vet fails on every diagnostic it is handed, so fail-on decides what is reported:
        // below it, a finding would fail the build just like one above it.
        let fail_on = match args.fail_on.as_deref() {
            Some(text) => config::FailOn::parse(text).ok_or_else(|| {
                format!("bad fail-on `{text}`: expected error, warning, info or never")
            })?,
            None => config.fail_on.unwrap_or(config::FailOn::Warning),
        };
        let threshold = fail_on.threshold();

        let go_version = match &config.go_version {
            Some(v) => Some(
                GoVersion::parse(v)
                    .ok_or_else(|| format!("bad go-version `{v}` in goleash.toml"))?,
            ),
            None => {
                // vet.cfg carries the go directive only; go.mod's toolchain line can raise the
                // effective version (see gomod::parse_go_mod), so take the later of the two.
                let from_cfg = GoVersion::parse(&cfg.go_version);
                let from_mod = cfg
                    .go_files
                    .first()
                    .and_then(|f| GoModCache::default().version_for(f));
                from_cfg.max(from_mod)
            }
        };

        let exclude = match (&config_dir, config.exclude.is_empty()) {
            (Some(root), false) => {
                let mut builder = OverrideBuilder::new(root);
                for glob in &config.exclude {
                    builder
                        .add(&format!("!{glob}"))
                        .map_err(|e| format!("bad exclude glob `{glob}` in goleash.toml: {e}"))?;
                }
                Some(
                    builder
                        .build()
                        .map_err(|e| format!("bad exclude globs in goleash.toml: {e}"))?,
                )
            }
            _ => None,
        };

        Ok(Settings {
            selection,
            threshold,
            go_version,
            // go vet lints test files as part of the package; an explicit `include-tests =
            // false` is the one way to say they should not be.
            drop_tests: config.include_tests == Some(false),
            exclude,
        })
    }

    fn files(&self, cfg: &VetConfig) -> Vec<PathBuf> {
        cfg.go_files
            .iter()
            .filter(|f| {
                let dropped_test = self.drop_tests && f.to_string_lossy().ends_with("_test.go");
                let excluded = self.exclude.as_ref().is_some_and(|o| excluded(o, f));
                !dropped_test && !excluded
            })
            .cloned()
            .collect()
    }
}

/// A file is excluded when it, or a directory between the config's directory and it, matches
/// an exclude glob (`gen/` matches directories only).
fn excluded(overrides: &Override, file: &Path) -> bool {
    let root = overrides.path();
    let Ok(relative) = file.strip_prefix(root) else {
        return false;
    };
    if overrides.matched(relative, false).is_ignore() {
        return true;
    }
    relative
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .any(|dir| overrides.matched(dir, true).is_ignore())
}

/// File contents, read once per file: columns are counted in bytes like go/token, and `-c`
/// prints lines.
#[derive(Default)]
struct Sources {
    files: BTreeMap<String, Option<String>>,
}

impl Sources {
    fn get(&mut self, path: &str) -> Option<&str> {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| std::fs::read_to_string(path).ok())
            .as_deref()
    }
}

/// A position as go/token prints it: `file:line:column`, the column in bytes, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Posn {
    file: String,
    line: usize,
    column: usize,
}

impl std::fmt::Display for Posn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

fn posn(file: &str, src: Option<&str>, offset: usize, line: usize, char_column: usize) -> Posn {
    // Bytes, not str slicing: the file is read a second time and may have changed since it was
    // linted, so `offset` need not fall on a character boundary any more.
    let column = src
        .and_then(|s| s.as_bytes().get(..offset))
        .map(|before| {
            offset
                - before
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1
        })
        .unwrap_or(char_column);
    Posn {
        file: file.to_string(),
        line,
        column,
    }
}

#[derive(Debug, Clone)]
struct VetRelated {
    posn: Posn,
    end: Posn,
    message: String,
}

#[derive(Debug, Clone)]
struct VetDiagnostic {
    code: &'static str,
    name: &'static str,
    posn: Posn,
    end: Posn,
    message: String,
    related: Vec<VetRelated>,
}

impl VetDiagnostic {
    fn new(d: &Diagnostic, cwd: &Path, sources: &mut Sources) -> VetDiagnostic {
        // The go command shortens absolute paths relative to where it runs; a path relative
        // to the package directory would come out wrong, so make it absolute again.
        let file = {
            let path = Path::new(&d.path);
            if path.is_absolute() {
                d.path.clone()
            } else {
                cwd.join(path).to_string_lossy().into_owned()
            }
        };
        let src = sources.get(&file);
        let at = |offset, line, column| posn(&file, src, offset, line, column);
        VetDiagnostic {
            code: d.code,
            name: d.name,
            posn: at(d.span.start, d.span.line, d.span.column),
            end: at(d.span.end, d.span.end_line, d.span.end_column),
            // go vet prints neither the analyzer nor a severity, so the code travels in the
            // message: it is what `goleash rule` and `//goleash:ignore` take.
            message: format!("[{}] {}", d.code, d.message),
            related: d
                .labels
                .iter()
                .map(|l| VetRelated {
                    posn: at(l.span.start, l.span.line, l.span.column),
                    end: at(l.span.end, l.span.end_line, l.span.end_column),
                    message: l.message.clone(),
                })
                .collect(),
        }
    }
}

/// unitchecker's JSON (`driverutil.JSONTree`): package ID → analyzer → diagnostics, where each
/// goleash rule is an analyzer named by its code, so `jq '.[].GL001'` picks one rule. A clean
/// package prints `{}` like unitchecker does.
fn json_report(id: &str, findings: &[VetDiagnostic]) -> String {
    #[derive(Serialize)]
    struct JsonRelated<'a> {
        posn: String,
        end: String,
        message: &'a str,
    }
    #[derive(Serialize)]
    struct JsonDiagnostic<'a> {
        category: &'a str,
        posn: String,
        end: String,
        message: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        related: Vec<JsonRelated<'a>>,
    }
    let mut by_rule: BTreeMap<&str, Vec<JsonDiagnostic<'_>>> = BTreeMap::new();
    for f in findings {
        by_rule.entry(f.code).or_default().push(JsonDiagnostic {
            category: f.name,
            posn: f.posn.to_string(),
            end: f.end.to_string(),
            message: &f.message,
            related: f
                .related
                .iter()
                .map(|r| JsonRelated {
                    posn: r.posn.to_string(),
                    end: r.end.to_string(),
                    message: &r.message,
                })
                .collect(),
        });
    }
    let mut tree: BTreeMap<&str, BTreeMap<&str, Vec<JsonDiagnostic<'_>>>> = BTreeMap::new();
    if !by_rule.is_empty() {
        tree.insert(id, by_rule);
    }
    to_go_json(&tree) + "\n"
}

/// unitchecker's plain form (`driverutil.PrintPlain`): `posn: message`, related locations as
/// `posn: \tmessage`, and with `-c=N` the lines around each.
fn text_report(
    findings: &[VetDiagnostic],
    context: Option<usize>,
    sources: &mut Sources,
) -> String {
    let mut out = String::new();
    let mut print = |start: &Posn, end: &Posn, message: &str| {
        let _ = writeln!(out, "{start}: {message}");
        if let Some(n) = context {
            if let Some(src) = sources.get(&start.file) {
                let lines: Vec<&str> = src.split('\n').collect();
                let first = start.line.saturating_sub(n).max(1);
                let last = (end.line.max(start.line) + n).min(lines.len());
                for (i, line) in lines.iter().enumerate().take(last).skip(first - 1) {
                    let _ = writeln!(out, "{}\t{line}", i + 1);
                }
            }
        }
    };
    for f in findings {
        print(&f.posn, &f.end, &f.message);
        for r in &f.related {
            print(&r.posn, &r.end, &format!("\t{}", r.message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[lint]` table of the nearest goleash.toml (the binary's loader reads every table).
    fn lint_table(dir: &Path) -> Result<Option<(LintConfig, PathBuf)>, String> {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            lint: LintConfig,
        }
        let Some(path) = config::find_upward(dir) else {
            return Ok(None);
        };
        let named = |e: String| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(&path).map_err(|e| named(e.to_string()))?;
        let file: File = toml::from_str(&text).map_err(|e| named(e.to_string()))?;
        file.lint.validate().map_err(named)?;
        Ok(Some((file.lint, path.parent().unwrap().to_path_buf())))
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    /// A vet.cfg as go1.27.3 writes it for a package's test variant (paths shortened).
    const REAL_CFG: &str = r#"{
	"ID": "example.com/vettool/withtest",
	"Compiler": "gc",
	"Dir": "/src/vettool/withtest",
	"ImportPath": "example.com/vettool/withtest",
	"GoFiles": [
		"/src/vettool/withtest/w.go",
		"/src/vettool/withtest/w_test.go"
	],
	"NonGoFiles": [],
	"IgnoredFiles": null,
	"Module": {
		"Path": "example.com/vettool",
		"Version": "",
		"Replace": null,
		"Time": null,
		"Main": true,
		"Indirect": false,
		"Dir": "/src/vettool",
		"GoMod": "/src/vettool/go.mod",
		"GoVersion": "1.27",
		"Error": null
	},
	"ImportMap": {"testing": "testing"},
	"PackageFile": {"testing": "/cache/25/2556-d"},
	"Standard": {"testing": true},
	"PackageVetx": {"testing": "/tmp/go-build1/b002/vet.out"},
	"VetxOnly": false,
	"VetxOutput": "/tmp/go-build1/b001/vet.out",
	"Stdout": "/tmp/go-build1/b001/vet.stdout",
	"GoVersion": "go1.27",
	"FixArchive": "",
	"SucceedOnTypecheckFailure": false
}"#;

    #[test]
    fn detects_the_go_command_not_subcommands() {
        assert!(is_invocation(&os(&["-V=full"])));
        assert!(is_invocation(&os(&["-flags"])));
        assert!(is_invocation(&os(&["/tmp/b001/vet.cfg"])));
        assert!(is_invocation(&os(&["-json", "/tmp/b001/vet.cfg"])));
        assert!(is_invocation(&os(&[
            "-select",
            "GL001",
            "-json",
            "/tmp/b001/vet.cfg"
        ])));
        assert!(!is_invocation(&os(&[])));
        assert!(!is_invocation(&os(&["-V"])));
        assert!(!is_invocation(&os(&["--version"])));
        assert!(!is_invocation(&os(&["lint", "x.cfg"])));
        assert!(!is_invocation(&os(&["lint", "./..."])));
    }

    #[test]
    fn parses_go_style_flags() {
        assert_eq!(parse_args(&os(&["-V=full"])), Ok(Request::Version));
        assert_eq!(parse_args(&os(&["--V=full"])), Ok(Request::Version));
        assert!(parse_args(&os(&["-V=short"])).is_err());
        assert_eq!(parse_args(&os(&["-flags"])), Ok(Request::Flags));
        let Ok(Request::Run(run)) = parse_args(&os(&[
            "-select",
            "GL001,GL013",
            "--ignore=GL014",
            "-json",
            "-c=2",
            "-fail-on",
            "error",
            "b/vet.cfg",
        ])) else {
            panic!("a run");
        };
        assert_eq!(run.select, ["GL001", "GL013"]);
        assert_eq!(run.ignore, ["GL014"]);
        assert!(run.json && !run.fix);
        assert_eq!(run.context, Some(2));
        assert_eq!(run.fail_on.as_deref(), Some("error"));
        assert_eq!(run.config, PathBuf::from("b/vet.cfg"));

        let Ok(Request::Run(run)) = parse_args(&os(&["-json=false", "-c=-1", "-fix", "v.cfg"]))
        else {
            panic!("a run");
        };
        assert!(!run.json && run.fix);
        assert_eq!(run.context, None);

        for bad in [
            &["-bogus", "v.cfg"][..],
            &["-json=maybe", "v.cfg"],
            &["-select"],
            &["-json"],
            &["a.cfg", "b.cfg"],
            &["-json", "main.go"],
        ] {
            let err = parse_args(&os(bad)).expect_err("rejected");
            assert!(!err.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn flags_answer_is_what_vetflag_unmarshals() {
        let value: serde_json::Value = serde_json::from_str(&flags_json()).expect("json array");
        let flags = value.as_array().expect("array");
        let names: Vec<&str> = flags.iter().filter_map(|f| f["Name"].as_str()).collect();
        assert_eq!(
            names,
            ["c", "extend-select", "fail-on", "ignore", "json", "select"]
        );
        for flag in flags {
            assert!(
                flag["Bool"].is_boolean() && flag["Usage"].is_string(),
                "{flag}"
            );
        }
        let json = flags.iter().find(|f| f["Name"] == "json").expect("json");
        assert_eq!(json["Bool"], true);
    }

    #[test]
    fn version_line_has_the_fields_buildid_go_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("tool");
        std::fs::write(&exe, b"one").expect("write");
        let a = version_line("0.1.0", Some(&exe), dir.path());
        let fields: Vec<&str> = a.split_whitespace().collect();
        assert_eq!(fields[..3], ["goleash", "version", "0.1.0"]);
        assert!(!a.contains("devel"), "{a}");
        assert!(a.ends_with("config=none"), "{a}");

        std::fs::write(&exe, b"two").expect("write");
        let b = version_line("0.1.0", Some(&exe), dir.path());
        assert_ne!(a, b, "a different executable is a different cache key");

        std::fs::write(dir.path().join("goleash.toml"), "[lint]\n").expect("write");
        let c = version_line("0.1.0", Some(&exe), dir.path());
        assert_ne!(b, c, "the config is part of the cache key");
        assert_eq!(c, version_line("0.1.0", Some(&exe), dir.path()));

        let unknown = version_line("0.1.0", Some(&dir.path().join("missing")), dir.path());
        assert!(unknown.contains("build=unknown-"), "{unknown}");
    }

    #[test]
    fn columns_are_bytes_and_survive_a_changed_file() {
        let src = "package p\nvar \u{e9} = 1; var x = 2\n";
        let offset = src.find("var x").expect("offset");
        // Character column 12, byte column 13.
        assert_eq!(posn("f.go", Some(src), offset, 2, 12).column, 13);
        // Past the end, or inside a multi-byte character: no panic.
        assert_eq!(posn("f.go", Some(src), 999, 2, 12).column, 12);
        let inside = src.find('\u{e9}').expect("offset") + 1;
        assert_eq!(posn("f.go", Some(src), inside, 2, 5).column, 6);
        assert_eq!(posn("f.go", None, offset, 2, 12).to_string(), "f.go:2:12");
    }

    #[test]
    fn parses_a_real_vet_cfg() {
        let cfg = VetConfig::parse(REAL_CFG.as_bytes()).expect("valid");
        assert_eq!(cfg.id, "example.com/vettool/withtest");
        assert_eq!(cfg.dir, "/src/vettool/withtest");
        assert_eq!(cfg.go_files.len(), 2);
        assert!(!cfg.vetx_only);
        assert_eq!(cfg.vetx_output, "/tmp/go-build1/b001/vet.out");
        assert_eq!(cfg.stdout, "/tmp/go-build1/b001/vet.stdout");
        assert_eq!(
            GoVersion::parse(&cfg.go_version),
            Some(GoVersion {
                major: 1,
                minor: 27
            })
        );
        // Older go commands wrote fewer fields and nulls for empty slices.
        let old = VetConfig::parse(
            br#"{"ID":"p","GoFiles":["/p/a.go"],"NonGoFiles":null,"VetxOnly":true,"Stdout":null}"#,
        )
        .expect("valid");
        assert!(old.vetx_only && old.stdout.is_empty() && old.dir.is_empty());
        assert_eq!(old.package_dir(), PathBuf::from("/p"));
    }

    #[test]
    fn bad_vet_cfg_errors_name_the_file_and_the_expectation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.cfg");
        let err = VetConfig::load(&missing).expect_err("missing");
        assert!(err.contains("cannot read go vet config") && err.contains("missing.cfg"));

        let cases: [(&str, &[u8], &str); 4] = [
            ("garbage.cfg", b"not json", "not a go vet config"),
            ("array.cfg", b"[1, 2]", "not a go vet config"),
            (
                "types.cfg",
                br#"{"GoFiles": "a.go"}"#,
                "not a go vet config",
            ),
            (
                "empty.cfg",
                br#"{"ID": "p", "GoFiles": []}"#,
                "package p has no Go files",
            ),
        ];
        for (name, text, expected) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            let err = VetConfig::load(&path).expect_err(name);
            assert!(err.starts_with(&path.display().to_string()), "{err}");
            assert!(err.contains(expected), "{err}");
        }

        // Through run: one line, exit 2, nothing on stdout.
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args = RunArgs {
            config: dir.path().join("garbage.cfg"),
            json: true,
            ..RunArgs::default()
        };
        assert_eq!(run(&args, &lint_table, &mut out, &mut err), EXIT_ERROR);
        let err = String::from_utf8(err).expect("utf8");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("goleash: ") && err.contains("garbage.cfg"),
            "{err}"
        );
    }

    const LEAK: &str = "package p

import \"time\"

// Everything on one line, with a multi-byte character before the finding.
func f() int { ch := make(chan int); go func() { /* caf\u{e9} */ ch <- 1 }(); select { case v := <-ch: return v; case <-time.After(time.Second): return 0 } }
";

    struct Package {
        _dir: tempfile::TempDir,
        root: PathBuf,
        cfg: PathBuf,
    }

    fn package(files: &[(&str, &str)], vetx_only: bool) -> Package {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        let mut go_files = Vec::new();
        for (name, text) in files {
            let path = root.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&path, text).expect("write");
            if name.ends_with(".go") {
                go_files.push(path);
            }
        }
        let cfg = serde_json::json!({
            "ID": "example.com/p",
            "Dir": root.join("p"),
            "ImportPath": "example.com/p",
            "GoFiles": go_files,
            "VetxOnly": vetx_only,
            "VetxOutput": root.join("vet.out"),
            "Stdout": root.join("vet.stdout"),
            "GoVersion": "go1.27",
        });
        let cfg_path = root.join("vet.cfg");
        std::fs::write(&cfg_path, cfg.to_string()).expect("write cfg");
        Package {
            _dir: dir,
            root,
            cfg: cfg_path,
        }
    }

    fn run_on(pkg: &Package, args: RunArgs) -> (u8, String, String) {
        let args = RunArgs {
            config: pkg.cfg.clone(),
            ..args
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &lint_table, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).expect("utf8"),
            String::from_utf8(err).expect("utf8"),
        )
    }

    #[test]
    fn text_mode_prints_posn_message_and_exits_1() {
        let pkg = package(&[("p/p.go", LEAK)], false);
        let (code, out, err) = run_on(&pkg, RunArgs::default());
        assert_eq!(code, EXIT_FINDINGS, "{err}");
        assert!(out.is_empty());
        let file = pkg.root.join("p/p.go").display().to_string();
        let line = err.lines().next().expect("a finding");
        let col = LEAK
            .lines()
            .nth(5)
            .expect("line 6")
            .find("ch <- 1")
            .expect("send")
            + 1;
        assert!(
            line.starts_with(&format!("{file}:6:{col}: [GL001] ")),
            "byte column {col}: {err}"
        );
        assert!(pkg.root.join("vet.out").is_file(), "VetxOutput written");

        let (_, _, err) = run_on(
            &pkg,
            RunArgs {
                context: Some(0),
                ..RunArgs::default()
            },
        );
        assert!(err.contains("\n6\tfunc f() int {"), "{err}");
    }

    #[test]
    fn json_mode_writes_the_stdout_file_and_exits_0() {
        let pkg = package(&[("p/p.go", LEAK)], false);
        let json = RunArgs {
            json: true,
            ..RunArgs::default()
        };
        let (code, out, err) = run_on(&pkg, json.clone());
        assert_eq!(code, EXIT_CLEAN, "{err}");
        assert!(out.is_empty() && err.is_empty(), "{out}{err}");
        let text = std::fs::read_to_string(pkg.root.join("vet.stdout")).expect("Stdout file");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let diags = value["example.com/p"]["GL001"].as_array().expect("GL001");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0]["category"], "forgotten-sender");
        assert!(diags[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("[GL001] ")));
        for key in ["posn", "end"] {
            let posn = diags[0][key].as_str().expect(key);
            assert!(posn.contains("p.go:6:"), "{posn}");
        }

        // Selection flags apply: with GL001 ignored the package is clean, which prints `{}`.
        let (code, _, _) = run_on(
            &pkg,
            RunArgs {
                ignore: vec!["GL001".into()],
                ..json
            },
        );
        assert_eq!(code, EXIT_CLEAN);
        let text = std::fs::read_to_string(pkg.root.join("vet.stdout")).expect("Stdout file");
        assert_eq!(text.trim(), "{}");
    }

    #[test]
    fn dependencies_and_fix_mode_report_nothing() {
        let pkg = package(&[("p/p.go", LEAK)], true);
        let (code, out, err) = run_on(&pkg, RunArgs::default());
        assert_eq!((code, out.as_str(), err.as_str()), (EXIT_CLEAN, "", ""));
        assert!(pkg.root.join("vet.out").is_file(), "VetxOutput written");

        let pkg = package(&[("p/p.go", LEAK)], false);
        let fix = RunArgs {
            fix: true,
            ..RunArgs::default()
        };
        assert_eq!(
            run_on(&pkg, fix),
            (EXIT_CLEAN, String::new(), String::new())
        );
    }

    #[test]
    fn honours_goleash_toml_above_the_package() {
        let config = "[lint]\nexclude = [\"p/gen/**\"]\nfail-on = \"error\"\n";
        let pkg = package(
            &[
                ("goleash.toml", config),
                ("p/gen/g.go", LEAK),
                ("p/p_test.go", LEAK),
            ],
            false,
        );
        let (code, _, err) = run_on(&pkg, RunArgs::default());
        assert_eq!(code, EXIT_FINDINGS, "{err}");
        let primary: Vec<&str> = err.lines().filter(|l| l.contains(": [GL")).collect();
        assert_eq!(primary.len(), 1, "gen/ excluded: {err}");
        assert!(
            err.contains(": \tunbuffered channel made here"),
            "labels: {err}"
        );
        assert!(err.contains("p_test.go:6:"), "{err}");

        // fail-on = "never": go vet would fail on anything reported, so nothing is.
        let never = RunArgs {
            select: vec!["GL001".into()],
            fail_on: Some("never".into()),
            ..RunArgs::default()
        };
        assert_eq!(run_on(&pkg, never).0, EXIT_CLEAN);

        let tests_off = package(
            &[
                ("goleash.toml", "[lint]\ninclude-tests = false\n"),
                ("p/p_test.go", LEAK),
            ],
            false,
        );
        assert_eq!(run_on(&tests_off, RunArgs::default()).0, EXIT_CLEAN);

        let broken = package(
            &[("goleash.toml", "[lint]\nbogus = 1\n"), ("p/p.go", LEAK)],
            false,
        );
        let (code, _, err) = run_on(&broken, RunArgs::default());
        assert_eq!(code, EXIT_ERROR);
        assert!(err.contains("goleash.toml"), "{err}");

        let (code, _, err) = run_on(
            &pkg,
            RunArgs {
                select: vec!["GL999".into()],
                ..RunArgs::default()
            },
        );
        assert_eq!(code, EXIT_ERROR);
        assert!(err.contains("unknown rule `GL999`"), "{err}");
    }
}
