//! `goleash lint` reports: rustc-style text with code frames, JSON, SARIF 2.1.0 and GitHub
//! workflow annotations.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::collections::BTreeMap;

use serde::Serialize;

use goleash_lint::rules::{self, RuleMeta};
use goleash_lint::{Confidence, Diagnostic, LintRun, Severity, Span};

use crate::sarif;

/// What the summary line needs beyond the diagnostics themselves.
pub struct Summary<'a> {
    pub run: &'a LintRun,
    pub baselined: usize,
}

/// rustc-style: header with code, code frame, the why and the fix; then a summary line.
/// `read_source` supplies file contents (the run does not keep them in memory).
pub fn human(
    summary: &Summary<'_>,
    color: bool,
    read_source: &dyn Fn(&str) -> Option<String>,
) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut current: Option<(String, Option<String>)> = None;
    for d in &summary.run.diagnostics {
        if current.as_ref().map(|(p, _)| p != &d.path).unwrap_or(true) {
            current = Some((d.path.clone(), read_source(&d.path)));
        }
        let source = current.as_ref().and_then(|(_, s)| s.as_deref());
        out.push_str(&render_one(&renderer, d, source));
        out.push_str("\n\n");
    }
    out.push_str(&summary_line(summary));
    out.push('\n');
    out
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// `confirmed: 12 goroutines (likely) at main.f (a.go:3), in staging.txt`.
fn evidence_text(d: &Diagnostic) -> Option<String> {
    let e = d.evidence.as_ref()?;
    Some(format!(
        "confirmed: {} goroutine{} ({}) at {}, in {}",
        e.goroutines,
        if e.goroutines == 1 { "" } else { "s" },
        e.verdict,
        e.site,
        e.source
    ))
}

fn render_one(renderer: &Renderer, d: &Diagnostic, source: Option<&str>) -> String {
    let confirmed = evidence_text(d);
    let title = match &confirmed {
        Some(_) => format!(
            "{} [{}] (confirmed by running goroutines)",
            d.message, d.name
        ),
        None => format!("{} [{}]", d.message, d.name),
    };
    let why = format!("why: {}", d.why);
    let fix = format!("fix: {}", d.fix);
    // Labels in other files of the package cannot share the frame: one note line each.
    let elsewhere: Vec<String> = d
        .labels
        .iter()
        .filter_map(|l| {
            let path = l.path.as_deref()?;
            Some(format!(
                "{}:{}:{}: {}",
                path, l.span.line, l.span.column, l.message
            ))
        })
        .collect();
    let group = match source {
        // The file is read again for rendering; if it changed meanwhile, spans may no longer
        // fit, and a frame over the wrong bytes is worse than none.
        Some(src) if fits(src, d.span.start, d.span.end) => {
            let mut snippet = Snippet::source(src)
                .path(d.path.as_str())
                .fold(true)
                .annotation(AnnotationKind::Primary.span(d.span.start..d.span.end));
            for label in d.labels.iter().filter(|l| l.path.is_none()) {
                if fits(src, label.span.start, label.span.end) {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(label.span.start..label.span.end)
                            .label(label.message.as_str()),
                    );
                }
            }
            let mut group = level(d.severity)
                .primary_title(title.as_str())
                .id(d.code)
                .element(snippet);
            for note in &elsewhere {
                group = group.element(Level::NOTE.message(note.as_str()));
            }
            if let Some(c) = &confirmed {
                group = group.element(Level::NOTE.message(c.as_str()));
            }
            group
                .element(Level::NOTE.message(why.as_str()))
                .element(Level::HELP.message(fix.as_str()))
        }
        _ => {
            let location = format!("at {}:{}:{}", d.path, d.span.line, d.span.column);
            let mut group = level(d.severity)
                .primary_title(title.as_str())
                .id(d.code)
                .element(Level::NOTE.message(location));
            if let Some(c) = &confirmed {
                group = group.element(Level::NOTE.message(c.as_str()));
            }
            group
                .element(Level::NOTE.message(why.as_str()))
                .element(Level::HELP.message(fix.as_str()))
        }
    };
    let report: [Group<'_>; 1] = [group];
    renderer.render(&report)
}

fn fits(src: &str, start: usize, end: usize) -> bool {
    start <= end && end <= src.len() && src.is_char_boundary(start) && src.is_char_boundary(end)
}

pub fn summary_line(summary: &Summary<'_>) -> String {
    let run = summary.run;
    let mut line = format!(
        "goleash lint: {} file{} ({:.1} MB), {} error{}, {} warning{}, {} info in {:.2}s",
        run.files,
        plural(run.files),
        run.bytes as f64 / 1_000_000.0,
        run.count(Severity::Error),
        plural(run.count(Severity::Error)),
        run.count(Severity::Warning),
        plural(run.count(Severity::Warning)),
        run.count(Severity::Info),
        run.elapsed.as_secs_f64(),
    );
    if summary.baselined > 0 {
        let _ = write!(
            line,
            "; {} known finding(s) hidden by the baseline",
            summary.baselined
        );
    }
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `goleash lint --format json` (documented in docs/lint.md).
#[derive(Serialize)]
struct LintJson<'a> {
    version: u32,
    diagnostics: &'a [Diagnostic],
    summary: LintJsonSummary,
    io_errors: &'a [String],
}

#[derive(Serialize)]
struct LintJsonSummary {
    files: usize,
    bytes: u64,
    errors: usize,
    warnings: usize,
    infos: usize,
    baselined: usize,
    elapsed_ms: u64,
}

pub fn json(summary: &Summary<'_>) -> String {
    let run = summary.run;
    let document = LintJson {
        version: 1,
        diagnostics: &run.diagnostics,
        summary: LintJsonSummary {
            files: run.files,
            bytes: run.bytes,
            errors: run.count(Severity::Error),
            warnings: run.count(Severity::Warning),
            infos: run.count(Severity::Info),
            baselined: summary.baselined,
            elapsed_ms: run.elapsed.as_millis() as u64,
        },
        io_errors: &run.errors,
    };
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_string())
}

/// One row of `goleash rules --format json`.
#[derive(Serialize)]
struct RuleRow {
    code: &'static str,
    name: &'static str,
    default_enabled: bool,
    severity: Severity,
    confidence: Confidence,
    version_gated: bool,
    summary: &'static str,
}

/// `goleash rules`: every rule with its defaults, for people or as JSON.
pub fn rules_list(json: bool) -> String {
    if json {
        let rows: Vec<RuleRow> = goleash_lint::all_meta()
            .map(|m| RuleRow {
                code: m.code,
                name: m.name,
                default_enabled: m.default_enabled,
                severity: m.severity,
                confidence: m.confidence,
                version_gated: m.version_gated,
                summary: m.summary,
            })
            .collect();
        return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
    }
    let mut out = format!(
        "{:<6} {:<30} {:<4} {:<8} {:<7} {}\n",
        "CODE", "NAME", "ON", "SEVERITY", "CONF", "FINDS"
    );
    for m in goleash_lint::all_meta() {
        let gated = if m.version_gated {
            " (Go-version gated)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<6} {:<30} {:<4} {:<8} {:<7} {}{}",
            m.code,
            m.name,
            default_state(m),
            m.severity.as_str(),
            m.confidence.as_str(),
            m.summary,
            gated
        );
    }
    out.push_str("\n`goleash rule CODE` shows a rule's documentation.\n");
    out
}

/// `goleash rule CODE`: one rule's documentation.
pub fn rule_doc(meta: &RuleMeta) -> String {
    format!(
        "{}\n\nDefault: {} · severity {} · confidence {}{}\nWhy: {}\nFix: {}\n",
        meta.docs.trim_end(),
        default_state(meta),
        meta.severity,
        meta.confidence,
        if meta.version_gated {
            " · depends on the go.mod Go version"
        } else {
            ""
        },
        meta.why,
        meta.fix
    )
}

fn default_state(meta: &RuleMeta) -> &'static str {
    if meta.default_enabled {
        "on"
    } else {
        "off"
    }
}

fn sarif_level(severity: Severity) -> sarif::Level {
    match severity {
        Severity::Error => sarif::Level::Error,
        Severity::Warning => sarif::Level::Warning,
        Severity::Info => sarif::Level::Note,
    }
}

fn sarif_rule(meta: &RuleMeta) -> sarif::Rule {
    let precision = match meta.confidence {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    };
    let properties = sarif::Properties {
        tags: vec!["goroutine-leak", "concurrency"],
        precision: Some(precision),
        ..sarif::Properties::default()
    };
    sarif::Rule {
        id: meta.code.to_string(),
        name: Some(meta.name.to_string()),
        short_description: sarif::Text::new(meta.summary),
        full_description: Some(sarif::Text::new(meta.why)),
        help: sarif::Help {
            text: meta.docs.to_string(),
            markdown: Some(meta.docs.to_string()),
        },
        default_configuration: Some(sarif::Configuration {
            level: sarif_level(meta.severity),
            enabled: meta.default_enabled,
        }),
        properties,
    }
}

fn sarif_region(span: &Span) -> sarif::Region {
    sarif::Region {
        start_line: span.line,
        start_column: Some(span.column),
        end_line: Some(span.end_line),
        end_column: Some(span.end_column.max(1)),
    }
}

/// SARIF 2.1.0 as GitHub code scanning accepts it: one run, every rule in the driver so that
/// `ruleIndex` is stable, repository-relative URIs, and partial fingerprints from the baseline
/// fingerprint so alerts track code rather than line numbers.
pub fn sarif(summary: &Summary<'_>, tool_version: &str) -> String {
    let all: Vec<&RuleMeta> = rules::all_meta().collect();
    let results = summary
        .run
        .diagnostics
        .iter()
        .map(|d| {
            let related = d
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    sarif::Location::file(
                        l.path.as_deref().unwrap_or(&d.path),
                        sarif_region(&l.span),
                    )
                    .related(i, l.message.clone())
                })
                .collect();
            let partial_fingerprints =
                BTreeMap::from([("goleashFingerprint/v1".to_string(), d.fingerprint.clone())]);
            let properties = sarif::Properties {
                confidence: Some(d.confidence),
                confirmed: d.evidence.as_ref().map(|_| true),
                evidence: evidence_text(d),
                ..sarif::Properties::default()
            };
            sarif::Finding {
                rule_id: d.code.to_string(),
                rule_index: Some(all.iter().position(|m| m.code == d.code).unwrap_or(0)),
                // Code scanning sorts by rank: what the runtime confirmed comes first.
                rank: d.evidence.as_ref().map(|_| 100.0),
                level: sarif_level(d.severity),
                message: sarif::Text::new(format!("{} Why: {}. Fix: {}.", d.message, d.why, d.fix)),
                locations: vec![sarif::Location::file(&d.path, sarif_region(&d.span))],
                related_locations: related,
                partial_fingerprints,
                properties,
            }
        })
        .collect();
    let driver = sarif::Driver::goleash(tool_version, all.iter().map(|m| sarif_rule(m)).collect());
    sarif::Log::single(driver, Some("unicodeCodePoints"), results).to_json()
}

/// GitHub Actions workflow commands: `::warning file=…,line=…::message`.
pub fn github(summary: &Summary<'_>) -> String {
    let mut out = String::new();
    for d in &summary.run.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&d.path),
            d.span.line,
            d.span.column,
            d.span.end_line,
            d.span.end_column,
            escape_property(&format!("{} {}", d.code, d.name)),
            escape_data(&match evidence_text(d) {
                Some(c) => format!("{}\n{c}\nwhy: {}\nfix: {}", d.message, d.why, d.fix),
                None => format!("{}\nwhy: {}\nfix: {}", d.message, d.why, d.fix),
            }),
        );
    }
    out.push_str(&summary_line(summary));
    out.push('\n');
    out
}

fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}
