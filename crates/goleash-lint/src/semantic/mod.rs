//! Package-wide analysis: one [`model::PackageModel`] built from every file of a Go package
//! (declarations, syntactic types, bindings, a call graph, and every concurrency operation
//! keyed by the identity of its object), and the lock facts computed on it once
//! ([`locks::LockFacts`]). Package rules (`crate::rules::PACKAGE_RULES`) read both.

pub(crate) mod locks;
pub(crate) mod model;

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use locks::{At, LockFacts};
use model::PackageModel;

pub struct PackageCx<'t> {
    pub model: PackageModel<'t>,
    pub locks: LockFacts<'t>,
}

impl<'t> PackageCx<'t> {
    pub fn new(model: PackageModel<'t>) -> Self {
        let locks = LockFacts::compute(&model);
        PackageCx { model, locks }
    }

    pub fn snippet(&self, at: At<'t>) -> &'t str {
        locks::snippet(&self.model, at)
    }

    /// `path:line` of a location, for messages that name a place in another function.
    pub fn where_is(&self, at: At<'t>) -> String {
        let (file, node) = at;
        let line = node.start_position().row + 1;
        let path = self.model.files[file].path;
        let base = path.rsplit('/').next().unwrap_or(path);
        format!("{base}:{line}")
    }
}

/// A finding of a package rule: its primary location may be in any file of the package, and
/// so may each label.
#[derive(Debug, Clone)]
pub struct PkgFinding {
    pub file: usize,
    pub finding: Finding,
}

impl PkgFinding {
    pub fn new(code: &'static str, at: At<'_>, message: impl Into<String>) -> Self {
        PkgFinding {
            file: at.0,
            finding: Finding::new(code, at.1, message),
        }
    }

    pub fn label(mut self, at: At<'_>, message: impl Into<String>) -> Self {
        let (file, node) = at;
        let range = (node.start_byte(), node.end_byte());
        if file == self.file {
            self.finding.labels.push((range, message.into()));
        } else {
            self.finding
                .foreign_labels
                .push((file, range, message.into()));
        }
        self
    }

    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.finding.confidence = Some(confidence);
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = Some(severity);
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.finding.why = Some(why.into());
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.finding.fix = Some(fix.into());
        self
    }

    pub fn node_range(&self) -> (usize, usize) {
        self.finding.node_range
    }
}

/// Short text of a node for messages (first line only).
pub(crate) fn short(node: Node<'_>, src: &str) -> String {
    let t = crate::syntax::text(node, src);
    let line = t.lines().next().unwrap_or(t).trim();
    if line.len() > 60 {
        let mut end = 57;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &line[..end])
    } else {
        line.to_string()
    }
}
