//! File discovery, per-file parsing and rule dispatch, suppressions, and the result of a run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;
use tree_sitter::{Node, Parser};

use crate::config::RuleSelection;
use crate::diagnostic::{Diagnostic, Finding, Label, Severity, Span};
use crate::facts::FileCx;
use crate::gomod::{GoModCache, GoVersion};
use crate::rules::{self, RuleMeta};
use crate::semantic::model::{PackageModel, PkgFile};
use crate::semantic::PackageCx;
use crate::suppress;
use crate::syntax::LineIndex;

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Lint `_test.go` files found while walking directories (named files are always linted).
    pub include_tests: bool,
    /// Walk into `vendor/` and `testdata/` directories too.
    pub include_vendor_and_testdata: bool,
    /// Ignore `.gitignore`/`.ignore` files.
    pub no_ignore_files: bool,
    /// gitignore-style globs to skip.
    pub exclude: Vec<String>,
    pub selection: RuleSelection,
    /// Overrides every go.mod's `go` directive.
    pub go_version: Option<GoVersion>,
    /// Worker threads; 0 uses every core.
    pub threads: usize,
}

#[derive(Debug, Default)]
pub struct LintRun {
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    pub bytes: u64,
    /// Files that could not be read, bad paths: reported, and they make the run fail.
    pub errors: Vec<String>,
    pub elapsed: Duration,
}

impl LintRun {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Lint every Go file under `paths`. A trailing `/...` (Go's package pattern) is accepted and
/// means the same as the directory: directories are always walked recursively.
///
/// Files are linted a package (directory) at a time: file rules see one file, package rules
/// see every file of the package at once.
pub fn lint_paths(paths: &[PathBuf], options: &LintOptions) -> LintRun {
    let started = Instant::now();
    let mut run = LintRun::default();
    let (files, errors) = discover(paths, options);
    run.errors = errors;
    let gomods = GoModCache::default();

    let mut packages: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        packages.entry(dir).or_default().push(file);
    }
    let packages: Vec<Vec<PathBuf>> = packages.into_values().collect();
    let explicit_files: std::collections::HashSet<PathBuf> =
        paths.iter().filter(|p| p.is_file()).cloned().collect();
    let package_rules_on = rules::PACKAGE_RULES
        .iter()
        .any(|r| options.selection.is_enabled(r.meta));

    let lint_dir = |files: &Vec<PathBuf>| -> PackageResult {
        let mut units = Vec::with_capacity(files.len());
        let mut result = PackageResult::default();
        for path in files {
            let explicit = explicit_files.contains(path);
            let report_tests = options.include_tests || explicit;
            let is_test_name = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("_test.go"));
            let reported = !is_test_name || report_tests;
            // Unreported test files matter only to package rules.
            if !reported && !package_rules_on {
                continue;
            }
            if reported {
                result.files += 1;
            }
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    if reported {
                        result.errors.push(format!("{}: {e}", path.display()));
                    }
                    continue;
                }
            };
            if reported {
                result.bytes += bytes.len() as u64;
            }
            let src = match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            let display = display_path(path);
            let is_test = display.ends_with("_test.go");
            let go_version = options.go_version.or_else(|| gomods.version_for(path));
            units.push(SourceUnit {
                display,
                src,
                is_test,
                go_version,
                report: !is_test || report_tests,
            });
        }
        result.diagnostics = lint_units(&units, &options.selection);
        result
    };

    let results: Vec<PackageResult> = if options.threads == 1 {
        packages.iter().map(lint_dir).collect()
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .stack_size(16 * 1024 * 1024)
            .build();
        match pool {
            Ok(pool) => pool.install(|| packages.par_iter().map(lint_dir).collect()),
            Err(_) => packages.iter().map(lint_dir).collect(),
        }
    };
    for result in results {
        run.files += result.files;
        run.bytes += result.bytes;
        run.diagnostics.extend(result.diagnostics);
        run.errors.extend(result.errors);
    }
    run.diagnostics.sort_by(|a, b| {
        (a.path.as_str(), a.span.start, a.code).cmp(&(b.path.as_str(), b.span.start, b.code))
    });
    run.elapsed = started.elapsed();
    run
}

#[derive(Default)]
struct PackageResult {
    diagnostics: Vec<Diagnostic>,
    files: usize,
    bytes: u64,
    errors: Vec<String>,
}

/// One file's text and what the engine knows about it before parsing.
pub struct SourceUnit {
    /// What diagnostics show.
    pub display: String,
    pub src: String,
    pub is_test: bool,
    pub go_version: Option<GoVersion>,
    /// Findings in this file are reported; otherwise it only informs package rules (a test
    /// file when tests are not linted).
    pub report: bool,
}

fn display_path(path: &Path) -> String {
    let shown = path.strip_prefix("./").unwrap_or(path);
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| shown.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| shown.to_path_buf());
    shown.to_string_lossy().replace('\\', "/")
}

fn strip_go_pattern(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    if text == "..." || text == "./..." {
        return PathBuf::from(".");
    }
    match text.strip_suffix("/...") {
        Some(dir) => PathBuf::from(dir),
        None => path.to_path_buf(),
    }
}

fn discover(paths: &[PathBuf], options: &LintOptions) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for raw in paths {
        let path = strip_go_pattern(raw);
        if path.is_file() {
            files.push(path);
            continue;
        }
        if !path.is_dir() {
            errors.push(format!("{}: no such file or directory", raw.display()));
            continue;
        }
        let mut overrides = OverrideBuilder::new(&path);
        for glob in &options.exclude {
            if let Err(e) = overrides.add(&format!("!{glob}")) {
                errors.push(format!("bad exclude glob `{glob}`: {e}"));
            }
        }
        let overrides = match overrides.build() {
            Ok(o) => o,
            Err(e) => {
                errors.push(format!("bad exclude globs: {e}"));
                continue;
            }
        };
        let include_hidden_dirs = options.include_vendor_and_testdata;
        // Test files are always collected: they belong to their package, and package rules
        // need the partners they hold. Whether they are reported is decided per file.
        let include_tests = true;
        let found = Mutex::new(Vec::new());
        let walk_errors = Mutex::new(Vec::new());
        WalkBuilder::new(&path)
            .standard_filters(!options.no_ignore_files)
            .hidden(true)
            .overrides(overrides)
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if !is_dir || entry.depth() == 0 {
                    return true;
                }
                let name = entry.file_name().to_string_lossy();
                // The go tool ignores `_`-prefixed directories; vendor/ and testdata/ are not
                // the module's own packages.
                if name.starts_with('_') {
                    return false;
                }
                include_hidden_dirs || (name != "vendor" && name != "testdata")
            })
            .threads(options.threads)
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) => {
                            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
                            let name = entry.file_name().to_string_lossy();
                            if is_file
                                && name.ends_with(".go")
                                && (include_tests || !name.ends_with("_test.go"))
                            {
                                if let Ok(mut f) = found.lock() {
                                    f.push(entry.into_path());
                                }
                            }
                        }
                        Err(e) => {
                            if let Ok(mut errs) = walk_errors.lock() {
                                errs.push(e.to_string());
                            }
                        }
                    }
                    WalkState::Continue
                })
            });
        let mut found = found.into_inner().unwrap_or_default();
        found.sort();
        files.extend(found);
        errors.extend(walk_errors.into_inner().unwrap_or_default());
    }
    files.dedup();
    (files, errors)
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

fn parse(src: &str) -> Option<tree_sitter::Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser.set_language(&tree_sitter_go::LANGUAGE.into()).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(src, None)
    })
}

/// The `// Code generated ... DO NOT EDIT.` convention: nobody fixes generated code by hand.
fn is_generated(src: &str) -> bool {
    src.lines()
        .take_while(|l| !l.starts_with("package "))
        .any(|l| l.starts_with("// Code generated ") && l.trim_end().ends_with("DO NOT EDIT."))
}

/// Tokens at least one rule needs to see before it can report anything. Deliberately specific
/// (`chan ` rather than `chan`, which every comment about channels contains): channel types and
/// operations, locks, the calls the timer/context/WaitGroup/Cond rules track, the packages the
/// HTTP/signal/errgroup rules track, and suppression comments (so unused ones are still found).
/// `go` statements are matched separately.
const TRIGGERS: &[&[u8]] = &[
    b"chan ",
    b"chan\t",
    b"chan<-",
    b"chan\n",
    b"<-",
    b"Lock()",
    b"WithCancel",
    b"WithTimeout",
    b"WithDeadline",
    b"Stop()",
    b".Wait()",
    b"Tick",
    b"After(",
    b"\"net/http\"",
    b"\"os/signal\"",
    b"errgroup",
    b"goleash:",
    b"nolint:",
];

/// Most files of a large tree (pure computation, tables, encoders: ~78% of the Go tree's bytes)
/// contain none of the shapes the rules look for, and a byte scan is far cheaper than parsing.
/// The cost: a syntax error in such a file is not reported (GL900); `go build` reports it anyway.
fn may_have_findings(src: &[u8]) -> bool {
    TRIGGERS
        .iter()
        .any(|t| memchr::memmem::find(src, t).is_some())
        || has_go_statement(src)
}

/// A file without any of these words declares no lock, WaitGroup, Cond or channel and
/// operates on none (a receive `<-` or `close(` needs no declaration in the file), so the package model loses nothing by leaving it unparsed (a call chain
/// through it is the only thing missed).
fn package_relevant(src: &str) -> bool {
    let bytes = src.as_bytes();
    [&b"sync"[..], b"chan", b"Lock", b"Wait", b"<-", b"close("]
        .iter()
        .any(|t| memchr::memmem::find(bytes, t).is_some())
}

/// `go` + space/tab at the start of a statement (after a newline, `;`, `{` or `:` and any
/// indentation), so that "we go on" in a comment does not count.
fn has_go_statement(src: &[u8]) -> bool {
    memchr::memmem::find_iter(src, b"go").any(|at| {
        if !matches!(src.get(at + 2), Some(b' ' | b'\t')) {
            return false;
        }
        let before = &src[..at];
        match before.iter().rposition(|b| *b != b' ' && *b != b'\t') {
            None => true,
            Some(i) => matches!(before[i], b'\n' | b';' | b'{' | b':'),
        }
    })
}

/// Where a file's brackets stop matching: the first thing a parser would choke on that a byte
/// scan can see, found without building a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Imbalance {
    /// Byte offset of the opener left open, the stray closer, or the unterminated literal.
    pub at: usize,
    pub message: String,
}

/// Checks that `(`/`)`, `[`/`]` and `{`/`}` nest, skipping comments, interpreted and raw
/// strings and rune literals (whose brackets are text). Lets files the prefilter skips still
/// get a GL900 for the commonest syntax error, an unclosed brace, at the cost of one byte pass
/// instead of a parse.
pub(crate) fn delimiter_imbalance(src: &[u8]) -> Option<Imbalance> {
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    let line_of = |at: usize| src[..at].iter().filter(|b| **b == b'\n').count() + 1;
    while i < src.len() {
        let b = src[i];
        match b {
            b'(' | b'[' | b'{' => open.push((b, i)),
            b')' | b']' | b'}' => {
                let want = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((opener, _)) if opener == want => {}
                    Some((opener, at)) => {
                        return Some(Imbalance {
                            at: i,
                            message: format!(
                                "cannot parse: `{}` does not close the `{}` opened on line {}",
                                b as char,
                                opener as char,
                                line_of(at)
                            ),
                        })
                    }
                    None => {
                        return Some(Imbalance {
                            at: i,
                            message: format!("cannot parse: `{}` closes nothing", b as char),
                        })
                    }
                }
            }
            b'/' if src.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |n| i + n);
                continue;
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                match memchr::memmem::find(&src[i + 2..], b"*/") {
                    Some(n) => i += 2 + n + 2,
                    None => return Some(unterminated(i, "comment")),
                }
                continue;
            }
            b'`' => {
                match memchr::memchr(b'`', &src[i + 1..]) {
                    Some(n) => i += 1 + n + 1,
                    None => return Some(unterminated(i, "raw string")),
                }
                continue;
            }
            b'"' | b'\'' => {
                // Interpreted strings and runes end at their quote or, unterminated, at the
                // end of the line; a backslash escapes the next byte.
                let start = i;
                i += 1;
                loop {
                    match src.get(i) {
                        Some(&c) if c == b => break,
                        Some(b'\\') => i += 2,
                        Some(b'\n') | None => {
                            let what = if b == b'"' { "string" } else { "rune literal" };
                            return Some(unterminated(start, what));
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    open.pop().map(|(opener, at)| Imbalance {
        at,
        message: format!("cannot parse: this `{}` is never closed", opener as char),
    })
}

fn unterminated(at: usize, what: &str) -> Imbalance {
    Imbalance {
        at,
        message: format!("cannot parse: unterminated {what} starting here"),
    }
}

/// Larger files are not parsed. A tree-sitter tree takes about 60 bytes of memory per byte of
/// source and the rules add a constant factor of time per node, so one 50 MB file costs ~3 GB
/// and, with a worker thread per core, several at once could take the machine; hand-written
/// Go never comes near this size (Go's own tree has no file over 4 MB, and its files over 1 MB
/// are generated), and generated code marked as such is skipped before this check.
pub const MAX_PARSED_BYTES: usize = 10 * 1024 * 1024;

/// A file over [`MAX_PARSED_BYTES`]: said so (GL903), so that no file goes unlinted silently,
/// and still checked for unbalanced brackets, which costs one byte pass.
fn too_large(display_path: &str, src: &str, selection: &RuleSelection) -> Vec<Diagnostic> {
    let lines = LineIndex::new(src);
    let mut findings = Vec::new();
    if selection.is_enabled(&rules::FILE_TOO_LARGE) {
        let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
        findings.push(Finding::at(
            rules::FILE_TOO_LARGE.code,
            (0, 0),
            format!(
                "skipped: file too large ({:.1} MiB > {:.0} MiB limit)",
                mib(src.len()),
                mib(MAX_PARSED_BYTES)
            ),
        ));
    }
    if selection.is_enabled(&rules::SYNTAX_ERROR) {
        if let Some(bad) = delimiter_imbalance(src.as_bytes()) {
            findings.push(Finding::at(
                rules::SYNTAX_ERROR.code,
                (bad.at, bad.at + 1),
                &bad.message,
            ));
        }
    }
    findings
        .into_iter()
        .filter_map(|f| to_diagnostic(f, display_path, src, &lines, &[], selection))
        .collect()
}

/// Lint one file's text as a package of its own. `display_path` is what diagnostics show.
pub fn lint_source(
    display_path: &str,
    src: &str,
    is_test: bool,
    go_version: Option<GoVersion>,
    selection: &RuleSelection,
) -> Vec<Diagnostic> {
    let unit = SourceUnit {
        display: display_path.to_string(),
        src: src.to_string(),
        is_test,
        go_version,
        report: true,
    };
    lint_units(std::slice::from_ref(&unit), selection)
}

/// Lint the files of one directory: file rules on each, package rules on each Go package
/// (package clause) among them, then suppressions per file.
pub fn lint_units(units: &[SourceUnit], selection: &RuleSelection) -> Vec<Diagnostic> {
    // Generated code is nobody's to fix by hand (golangci-lint skips it too), and it holds
    // the largest files of a tree: recognising the header saves parsing them at all.
    let wanted: Vec<bool> = units
        .iter()
        .map(|u| u.report && !is_generated(&u.src) && may_have_findings(u.src.as_bytes()))
        .collect();
    let package_rules: Vec<&rules::PackageRule> = rules::PACKAGE_RULES
        .iter()
        .filter(|r| selection.is_enabled(r.meta))
        .collect();
    // Package rules need the declarations and call chains of every file of the package, not
    // only of the files with concurrency in them; a package with none skips it all.
    let package_pass =
        !package_rules.is_empty() && units.iter().zip(&wanted).any(|(u, w)| *w && u.report);
    let trees: Vec<Option<tree_sitter::Tree>> = units
        .iter()
        .zip(&wanted)
        .map(|(u, w)| {
            if u.src.len() > MAX_PARSED_BYTES {
                None
            } else if *w
                || (package_pass && u.report && !is_generated(&u.src) && package_relevant(&u.src))
            {
                let tree = parse(&u.src)?;
                if tree.root_node().has_error() {
                    if let Some(reparsed) = reparse_new_expr(&u.src, &tree) {
                        return Some(reparsed);
                    }
                }
                Some(tree)
            } else {
                None
            }
        })
        .collect();
    let cxs: Vec<Option<FileCx<'_>>> = units
        .iter()
        .zip(&trees)
        .map(|(u, tree)| {
            tree.as_ref()
                .map(|t| FileCx::new(&u.src, t.root_node(), u.is_test, u.go_version))
        })
        .collect();
    let mut findings: Vec<Vec<Finding>> = cxs
        .iter()
        .zip(&wanted)
        .map(|(cx, w)| match cx {
            Some(cx) if *w => file_findings(cx, selection),
            _ => Vec::new(),
        })
        .collect();

    if package_pass {
        let mut by_package: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, cx) in cxs.iter().enumerate() {
            if let Some(cx) = cx {
                if !cx.package.is_empty() {
                    by_package.entry(cx.package.as_str()).or_default().push(i);
                }
            }
        }
        // Unreported files (tests, when tests are not linted) are parsed only when the
        // package's own files give findings: their partners may answer them.
        let mut extra_trees: Option<Vec<(usize, tree_sitter::Tree)>> = None;
        for (package, members) in &by_package {
            let own: Vec<(usize, &FileCx<'_>)> = members
                .iter()
                .filter_map(|i| cxs[*i].as_ref().map(|cx| (*i, cx)))
                .collect();
            let mut found = package_findings(&own, units, &package_rules);
            if found.is_empty() {
                continue;
            }
            let extra = extra_trees.get_or_insert_with(|| {
                units
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| {
                        !u.report
                            && u.src.len() <= MAX_PARSED_BYTES
                            && !is_generated(&u.src)
                            && package_relevant(&u.src)
                    })
                    .filter_map(|(i, u)| parse(&u.src).map(|t| (i, t)))
                    .collect()
            });
            let extra_cxs: Vec<(usize, FileCx<'_>)> = extra
                .iter()
                .map(|(i, t)| {
                    let u = &units[*i];
                    (
                        *i,
                        FileCx::new(&u.src, t.root_node(), u.is_test, u.go_version),
                    )
                })
                .filter(|(_, cx)| cx.package == *package)
                .collect();
            if !extra_cxs.is_empty() {
                let mut all = own.clone();
                all.extend(extra_cxs.iter().map(|(i, cx)| (*i, cx)));
                found = package_findings(&all, units, &package_rules);
            }
            for (file, finding) in found {
                findings[file].push(finding);
            }
        }
    }

    let mut out = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        if !unit.report {
            continue;
        }
        let file_findings = std::mem::take(&mut findings[i]);
        if cxs[i].is_none() && unit.src.len() > MAX_PARSED_BYTES && !is_generated(&unit.src) {
            out.extend(too_large(&unit.display, &unit.src, selection));
            continue;
        }
        let Some(cx) = &cxs[i] else {
            // No rule can fire, so the file was not parsed; only an unbalanced bracket is
            // reported.
            if !is_generated(&unit.src) && selection.is_enabled(&rules::SYNTAX_ERROR) {
                let lines = LineIndex::new(&unit.src);
                let src = unit.src.as_str();
                out.extend(
                    delimiter_imbalance(src.as_bytes())
                        .map(|bad| {
                            Finding::at(
                                rules::SYNTAX_ERROR.code,
                                (bad.at, bad.at + 1),
                                &bad.message,
                            )
                        })
                        .and_then(|f| {
                            to_diagnostic(f, &unit.display, src, &lines, units, selection)
                        }),
                );
            }
            continue;
        };
        out.extend(finish_file(unit, cx, file_findings, units, selection));
    }
    out
}

/// Package rules on one package's files (unit index, parsed file): findings by unit index,
/// leaving out those that involve an unreported file.
fn package_findings(
    files: &[(usize, &FileCx<'_>)],
    units: &[SourceUnit],
    package_rules: &[&rules::PackageRule],
) -> Vec<(usize, Finding)> {
    let members: Vec<usize> = files.iter().map(|(i, _)| *i).collect();
    // A bug in the model must cost this package's package rules, not the run.
    let built = catch_unwind(AssertUnwindSafe(|| {
        PackageCx::new(PackageModel::build(
            files
                .iter()
                .map(|(i, cx)| PkgFile {
                    path: units[*i].display.as_str(),
                    cx,
                })
                .collect(),
        ))
    }));
    let Ok(pcx) = built else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rule in package_rules {
        let mut local = Vec::new();
        // A rule bug must cost one rule on one package, not the whole run.
        if catch_unwind(AssertUnwindSafe(|| (rule.check)(&pcx, &mut local))).is_err() {
            continue;
        }
        for pf in local {
            let file = members[pf.file];
            // A finding that involves a file not reported (a test file when tests are not
            // linted) is about that file's code.
            if !units[file].report
                || pf
                    .finding
                    .foreign_labels
                    .iter()
                    .any(|(f, _, _)| !units[members[*f]].report)
            {
                continue;
            }
            let mut finding = pf.finding;
            finding.foreign_labels = finding
                .foreign_labels
                .into_iter()
                .map(|(f, range, message)| (members[f], range, message))
                .collect();
            out.push((file, finding));
        }
    }
    out
}

/// Syntax errors and every enabled file rule, on one parsed file.
fn file_findings(cx: &FileCx<'_>, selection: &RuleSelection) -> Vec<Finding> {
    let root = cx.root;
    let mut findings: Vec<Finding> = Vec::new();
    if root.has_error() && selection.is_enabled(&rules::SYNTAX_ERROR) {
        for node in syntax_errors(root, 3) {
            let message = if node.is_missing() {
                format!("cannot parse: expected `{}` here", node.kind())
            } else {
                "cannot parse this (a syntax error, or Go syntax newer than tree-sitter-go 0.25)"
                    .to_string()
            };
            findings.push(Finding::new(rules::SYNTAX_ERROR.code, node, message));
        }
        // tree-sitter recovers from a missing `}` by closing it at the end of the input, far
        // from the brace that was left open; the byte scan names that brace.
        if let Some(bad) = delimiter_imbalance(cx.src.as_bytes()) {
            findings.push(Finding::at(
                rules::SYNTAX_ERROR.code,
                (bad.at, bad.at + 1),
                &bad.message,
            ));
        }
    }
    for rule in rules::RULES {
        if !selection.is_enabled(rule.meta) {
            continue;
        }
        let mut local = Vec::new();
        // A rule bug must cost one rule on one file, not the whole run.
        let ok = catch_unwind(AssertUnwindSafe(|| (rule.check)(cx, &mut local))).is_ok();
        if ok {
            findings.extend(local);
        }
    }
    findings
}

/// Suppressions (and the findings about them), then diagnostics.
fn finish_file(
    unit: &SourceUnit,
    cx: &FileCx<'_>,
    mut findings: Vec<Finding>,
    units: &[SourceUnit],
    selection: &RuleSelection,
) -> Vec<Diagnostic> {
    let src = unit.src.as_str();
    let lines = LineIndex::new(src);
    let mut suppressions = suppress::collect(&cx.comments, src, &lines);
    findings.retain(|finding| {
        let (line, _) = lines.line_col(finding.node_range.0);
        let mut keep = true;
        for s in suppressions.iter_mut() {
            if s.covers(finding.code, line) {
                s.used = true;
                keep = false;
            }
        }
        keep
    });
    for s in &suppressions {
        let range = s.comment;
        let enabled_code = s.codes.is_empty()
            || s.codes.iter().any(|c| {
                rules::find_meta(c)
                    .map(|m| selection.is_enabled(m))
                    .unwrap_or(true)
            });
        if !s.used && enabled_code && selection.is_enabled(&rules::UNUSED_SUPPRESSION) {
            findings.push(Finding::at(
                rules::UNUSED_SUPPRESSION.code,
                range,
                "this suppression matches no finding on its line or the next",
            ));
        }
        if !s.has_reason && selection.is_enabled(&rules::SUPPRESSION_WITHOUT_REASON) {
            findings.push(Finding::at(
                rules::SUPPRESSION_WITHOUT_REASON.code,
                range,
                "suppression without a reason",
            ));
        }
    }

    findings.sort_by_key(|f| (f.node_range.0, f.code));
    findings.dedup_by(|a, b| a.code == b.code && a.node_range == b.node_range);
    findings
        .into_iter()
        .filter_map(|f| to_diagnostic(f, &unit.display, src, &lines, units, selection))
        .collect()
}

/// tree-sitter-go 0.25 reads the argument of `new` as a type, so Go 1.26's `new(expr)` is a
/// syntax error to it. Where an error touches a line with `new(`, parse again with that `new`
/// spelled as an ordinary function name: the same length, so every offset (and every node's
/// text in the original source) stays valid. What still fails to parse is a real error.
fn reparse_new_expr(src: &str, tree: &tree_sitter::Tree) -> Option<tree_sitter::Tree> {
    let errors = syntax_errors(tree.root_node(), usize::MAX);
    let error_rows: Vec<(usize, usize)> = errors
        .iter()
        .map(|e| (e.start_position().row, e.end_position().row))
        .collect();
    let bytes = src.as_bytes();
    let mut patched: Option<Vec<u8>> = None;
    let mut row = 0;
    let mut row_from = 0;
    for (at, _) in src.match_indices("new(") {
        row += memchr::memchr_iter(b'\n', &bytes[row_from..at]).count();
        row_from = at;
        let starts_word = at == 0
            || !matches!(bytes[at - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.');
        if starts_word
            && error_rows
                .iter()
                .any(|(from, to)| (*from..=*to).contains(&row))
        {
            patched.get_or_insert_with(|| bytes.to_vec())[at + 2] = b'W';
        }
    }
    let patched = String::from_utf8(patched?).ok()?;
    let reparsed = parse(&patched)?;
    let fewer = syntax_errors(reparsed.root_node(), usize::MAX).len() < errors.len();
    fewer.then_some(reparsed)
}

fn syntax_errors(root: Node<'_>, limit: usize) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            out.push(node);
            if out.len() >= limit {
                break;
            }
        } else if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// Spans stop at the end of their first line: a finding on a `select` or a `for` points at
/// its head, not at a frame of the whole block.
fn span(lines: &LineIndex, src: &str, range: (usize, usize)) -> Span {
    let start = range.0.min(src.len());
    let line_end = src
        .get(start..)
        .and_then(|rest| rest.find('\n'))
        .map(|i| start + i)
        .unwrap_or(src.len());
    let end = range.1.clamp(start, line_end.max(start));
    let end = src
        .get(start..end)
        .map(|text| start + text.trim_end().len())
        .unwrap_or(end);
    let (line, column) = lines.line_char_col(src, start);
    let (end_line, end_column) = lines.line_char_col(src, end);
    Span {
        start,
        end,
        line,
        column,
        end_line,
        end_column,
    }
}

fn to_diagnostic(
    finding: Finding,
    path: &str,
    src: &str,
    lines: &LineIndex,
    units: &[SourceUnit],
    selection: &RuleSelection,
) -> Option<Diagnostic> {
    let meta: &RuleMeta = rules::find_meta(finding.code)?;
    let span = span(lines, src, finding.node_range);
    let severity = selection
        .severity_override(meta.code)
        .or(finding.severity)
        .unwrap_or(meta.severity);
    let line_text = lines.line_text(src, span.line);
    Some(Diagnostic {
        code: meta.code,
        name: meta.name,
        severity,
        confidence: finding.confidence.unwrap_or(meta.confidence),
        path: path.to_string(),
        span,
        message: finding.message,
        why: finding.why.unwrap_or_else(|| meta.why.to_string()),
        fix: finding.fix.unwrap_or_else(|| meta.fix.to_string()),
        labels: finding
            .labels
            .into_iter()
            .map(|(range, message)| Label {
                path: None,
                span: self::span(lines, src, range),
                message,
            })
            .chain(
                finding
                    .foreign_labels
                    .into_iter()
                    .filter_map(|(file, range, message)| {
                        let unit = units.get(file)?;
                        let other_lines = LineIndex::new(&unit.src);
                        Some(Label {
                            path: Some(unit.display.clone()),
                            span: self::span(&other_lines, &unit.src, range),
                            message,
                        })
                    }),
            )
            .collect(),
        fingerprint: fingerprint(meta.code, line_text),
        evidence: None,
    })
}

/// Identifies a finding by its rule and the text of its line (whitespace-normalised), not by
/// line number, so a baseline survives edits elsewhere in the file.
pub fn fingerprint(code: &str, line_text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let normalised = line_text.split_whitespace().collect::<Vec<_>>().join(" ");
    for byte in code.bytes().chain([0]).chain(normalised.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_finds_go_statements_not_prose() {
        assert!(has_go_statement(b"func f() {\n\tgo work()\n}"));
        assert!(has_go_statement(b"func f() { go work() }"));
        assert!(has_go_statement(b"case x: go work()"));
        assert!(!has_go_statement(
            b"// we go on to the next step\nfunc f() {}"
        ));
        assert!(!has_go_statement(b"x := cargo + ago"));
        assert!(!may_have_findings(
            b"package p\n\n// changes the channel of the frobnicator\nfunc f() int { return 1 }\n"
        ));
        assert!(may_have_findings(b"package p\nfunc f(c chan int) {}"));
        assert!(may_have_findings(b"package p\nfunc f() { mu.Lock() }"));
    }

    #[test]
    fn delimiter_scan_skips_literals_and_comments() {
        let balanced = "package p\n// }\n/* { */\nvar a = \"{\\\"(\"\nvar b = '{'\nvar c = '\\''\nvar d = `\n}`\nfunc f() { g([]int{1}[0]) }\n";
        assert_eq!(delimiter_imbalance(balanced.as_bytes()), None);
        let open = "package p\nfunc f() {\n\tif x {\n\t}\n";
        let bad = delimiter_imbalance(open.as_bytes()).expect("unclosed");
        assert_eq!(bad.at, open.find('{').unwrap_or(0));
        let stray = "package p\nfunc f() { g(] }\n";
        let bad = delimiter_imbalance(stray.as_bytes()).expect("mismatch");
        assert_eq!(bad.at, stray.find(']').unwrap_or(0));
        assert!(bad.message.contains("line 2"), "{}", bad.message);
        for (src, what, at) in [
            ("package p\nvar s = \"abc\n", "string", 18),
            ("package p\nvar s = `abc\n", "raw string", 18),
            ("package p\n/* abc\n", "comment", 10),
            ("package p\nvar r = '\\\n", "rune literal", 18),
        ] {
            let bad = delimiter_imbalance(src.as_bytes()).expect(what);
            assert!(bad.message.contains(what), "{}", bad.message);
            assert_eq!(bad.at, at, "{what}");
        }
    }

    #[test]
    fn columns_count_characters() {
        let src = "package p\nvar s = \"h\u{e9}llo\"; var x = 1\n";
        let lines = LineIndex::new(src);
        let offset = src.find("var x").unwrap_or(0);
        let (line, column) = lines.line_char_col(src, offset);
        assert_eq!((line, column), (2, 18));
        assert_eq!(lines.line_col(offset), (2, 19));
    }
}
