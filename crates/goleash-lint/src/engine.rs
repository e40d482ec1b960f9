//! File discovery, per-file parsing and rule dispatch, suppressions, and the result of a run.

use std::cell::RefCell;
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
pub fn lint_paths(paths: &[PathBuf], options: &LintOptions) -> LintRun {
    let started = Instant::now();
    let mut run = LintRun::default();
    let (files, errors) = discover(paths, options);
    run.errors = errors;
    let gomods = GoModCache::default();

    let lint_one = |path: &PathBuf| -> (Vec<Diagnostic>, u64, Option<String>) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return (Vec::new(), 0, Some(format!("{}: {e}", path.display()))),
        };
        let size = bytes.len() as u64;
        let src = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let display = display_path(path);
        let is_test = display.ends_with("_test.go");
        let go_version = options.go_version.or_else(|| gomods.version_for(path));
        let diagnostics = lint_source(&display, &src, is_test, go_version, &options.selection);
        (diagnostics, size, None)
    };

    let results: Vec<(Vec<Diagnostic>, u64, Option<String>)> = if options.threads == 1 {
        files.iter().map(lint_one).collect()
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .stack_size(16 * 1024 * 1024)
            .build();
        match pool {
            Ok(pool) => pool.install(|| files.par_iter().map(lint_one).collect()),
            Err(_) => files.iter().map(lint_one).collect(),
        }
    };
    for (diagnostics, size, error) in results {
        run.files += 1;
        run.bytes += size;
        run.diagnostics.extend(diagnostics);
        if let Some(e) = error {
            run.errors.push(e);
        }
    }
    run.diagnostics.sort_by(|a, b| {
        (a.path.as_str(), a.span.start, a.code).cmp(&(b.path.as_str(), b.span.start, b.code))
    });
    run.elapsed = started.elapsed();
    run
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
        let include_tests = options.include_tests;
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
        findings.push(finding_at(
            rules::FILE_TOO_LARGE.code,
            (0, 0),
            &format!(
                "skipped: file too large ({:.1} MiB > {:.0} MiB limit)",
                mib(src.len()),
                mib(MAX_PARSED_BYTES)
            ),
        ));
    }
    if selection.is_enabled(&rules::SYNTAX_ERROR) {
        if let Some(bad) = delimiter_imbalance(src.as_bytes()) {
            findings.push(finding_at(
                rules::SYNTAX_ERROR.code,
                (bad.at, bad.at + 1),
                &bad.message,
            ));
        }
    }
    findings
        .into_iter()
        .filter_map(|f| to_diagnostic(f, display_path, src, &lines, selection))
        .collect()
}

/// Lint one file's text. `display_path` is what diagnostics show.
pub fn lint_source(
    display_path: &str,
    src: &str,
    is_test: bool,
    go_version: Option<GoVersion>,
    selection: &RuleSelection,
) -> Vec<Diagnostic> {
    // Generated code is nobody's to fix by hand (golangci-lint skips it too), and it holds
    // the largest files of a tree: recognising the header saves parsing them at all.
    if is_generated(src) {
        return Vec::new();
    }
    if !may_have_findings(src.as_bytes()) {
        // No rule can fire, so the file is not parsed; only an unbalanced bracket is reported.
        if !selection.is_enabled(&rules::SYNTAX_ERROR) {
            return Vec::new();
        }
        let lines = LineIndex::new(src);
        return delimiter_imbalance(src.as_bytes())
            .map(|bad| finding_at(rules::SYNTAX_ERROR.code, (bad.at, bad.at + 1), &bad.message))
            .and_then(|f| to_diagnostic(f, display_path, src, &lines, selection))
            .into_iter()
            .collect();
    }
    if src.len() > MAX_PARSED_BYTES {
        return too_large(display_path, src, selection);
    }
    let Some(tree) = parse(src) else {
        return Vec::new();
    };
    let root = tree.root_node();
    let lines = LineIndex::new(src);
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
        if let Some(bad) = delimiter_imbalance(src.as_bytes()) {
            findings.push(finding_at(
                rules::SYNTAX_ERROR.code,
                (bad.at, bad.at + 1),
                &bad.message,
            ));
        }
    }

    let cx = FileCx::new(src, root, is_test, go_version);
    for rule in rules::RULES {
        if !selection.is_enabled(rule.meta) {
            continue;
        }
        let mut local = Vec::new();
        // A rule bug must cost one rule on one file, not the whole run.
        let ok = catch_unwind(AssertUnwindSafe(|| (rule.check)(&cx, &mut local))).is_ok();
        if ok {
            findings.extend(local);
        }
    }

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
            findings.push(finding_at(
                rules::UNUSED_SUPPRESSION.code,
                range,
                "this suppression matches no finding on its line or the next",
            ));
        }
        if !s.has_reason && selection.is_enabled(&rules::SUPPRESSION_WITHOUT_REASON) {
            findings.push(finding_at(
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
        .filter_map(|f| to_diagnostic(f, display_path, src, &lines, selection))
        .collect()
}

fn finding_at(code: &'static str, range: (usize, usize), message: &str) -> Finding {
    Finding {
        code,
        node_range: range,
        message: message.to_string(),
        severity: None,
        confidence: None,
        labels: Vec::new(),
        why: None,
        fix: None,
    }
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
                span: self::span(lines, src, range),
                message,
            })
            .collect(),
        fingerprint: fingerprint(meta.code, line_text),
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
