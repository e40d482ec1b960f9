//! What a rule reports, independent of how it is rendered.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered so that `>=` means "at least as severe".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A hint: worth reading, never a leak on its own.
    #[serde(alias = "note", alias = "hint")]
    Info,
    #[serde(alias = "warn")]
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "info" | "note" | "hint" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the rule is that the shape it matched really leaks, given that it sees syntax only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A byte range plus its 1-based line/column, computed once so every renderer agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A secondary location that explains the primary one ("the receiver gives up here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Set when the location is in another file of the package than the diagnostic.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Path as given on the command line or relative to the working directory, `/`-separated.
    pub path: String,
    pub span: Span,
    pub message: String,
    /// One line: why this shape leaks.
    pub why: String,
    /// One line: what to change.
    pub fix: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub labels: Vec<Label>,
    /// Stable across unrelated edits (no line numbers), used by baselines.
    pub fingerprint: String,
    /// `lint --evidence`: what running goroutines showed at this code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evidence: Option<Evidence>,
}

/// Goroutines of a dump, profile or watch history whose stacks run through a finding's lines:
/// the runtime confirms the shape the rule saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub goroutines: u64,
    /// The most serious verdict among them (`proven`, `likely`, `possible`).
    pub verdict: String,
    /// Where the largest group of them blocks, `function (file:line)`.
    pub site: String,
    /// The dump, profile, URL or history it came from.
    pub source: String,
}

/// What a rule hands to the engine; the engine fills in path, severity overrides and fingerprint.
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static str,
    pub node_range: (usize, usize),
    pub message: String,
    /// Overrides the rule's default severity, e.g. when the Go version makes the shape harmless.
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    pub labels: Vec<((usize, usize), String)>,
    /// Labels in other files of the package (package rules): file index, range, message.
    pub foreign_labels: Vec<(usize, (usize, usize), String)>,
    /// Overrides the rule's default one-line why/fix when a variant needs its own.
    pub why: Option<String>,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(
        code: &'static str,
        node: tree_sitter::Node<'_>,
        message: impl Into<String>,
    ) -> Self {
        Finding::at(code, (node.start_byte(), node.end_byte()), message)
    }

    /// A finding on a byte range rather than a node (a suppression comment).
    pub fn at(code: &'static str, range: (usize, usize), message: impl Into<String>) -> Self {
        Finding {
            code,
            node_range: range,
            message: message.into(),
            severity: None,
            confidence: None,
            labels: Vec::new(),
            foreign_labels: Vec::new(),
            why: None,
            fix: None,
        }
    }

    pub fn label(mut self, node: tree_sitter::Node<'_>, message: impl Into<String>) -> Self {
        self.labels
            .push(((node.start_byte(), node.end_byte()), message.into()));
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = Some(confidence);
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}
