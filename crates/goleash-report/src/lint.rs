//! `goleash lint` reports: rustc-style text with code frames, JSON, SARIF 2.1.0 and GitHub
//! workflow annotations.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::{json, Map};

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

fn render_one(renderer: &Renderer, d: &Diagnostic, source: Option<&str>) -> String {
    let title = format!("{} [{}]", d.message, d.name);
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
            group
                .element(Level::NOTE.message(why.as_str()))
                .element(Level::HELP.message(fix.as_str()))
        }
        _ => {
            let location = format!("at {}:{}:{}", d.path, d.span.line, d.span.column);
            level(d.severity)
                .primary_title(title.as_str())
                .id(d.code)
                .element(Level::NOTE.message(location))
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

pub fn json(summary: &Summary<'_>) -> String {
    let run = summary.run;
    let value = json!({
        "version": 1,
        "diagnostics": run.diagnostics,
        "summary": {
            "files": run.files,
            "bytes": run.bytes,
            "errors": run.count(Severity::Error),
            "warnings": run.count(Severity::Warning),
            "infos": run.count(Severity::Info),
            "baselined": summary.baselined,
            "elapsed_ms": run.elapsed.as_millis() as u64,
        },
        "io_errors": run.errors,
    });
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_string())
}

fn sarif_level(severity: Severity) -> sarif::Level {
    match severity {
        Severity::Error => sarif::Level::Error,
        Severity::Warning => sarif::Level::Warning,
        Severity::Info => sarif::Level::Note,
    }
}

fn sarif_rule(meta: &RuleMeta) -> sarif::Rule {
    let mut properties = Map::new();
    properties.insert("tags".into(), json!(["goroutine-leak", "concurrency"]));
    let precision = match meta.confidence {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    };
    properties.insert("precision".into(), precision.into());
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
            let mut partial_fingerprints = Map::new();
            partial_fingerprints
                .insert("goleashFingerprint/v1".into(), d.fingerprint.clone().into());
            let mut properties = Map::new();
            properties.insert("confidence".into(), json!(d.confidence));
            sarif::Finding {
                rule_id: d.code.to_string(),
                rule_index: Some(all.iter().position(|m| m.code == d.code).unwrap_or(0)),
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
            escape_data(&format!("{}\nwhy: {}\nfix: {}", d.message, d.why, d.fix)),
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
