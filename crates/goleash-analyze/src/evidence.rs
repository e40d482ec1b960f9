//! Static findings joined with runtime stacks, both ways: a goroutine group whose stack runs
//! through the code a lint finding points at carries that finding (the fix next to the
//! evidence), and a finding whose code holds goroutines of a dump is confirmed by them.
//!
//! The two sides meet on files on disk: the caller resolves each frame's file (module path,
//! build path) to the file it names, and gives each finding its file; a frame is in a
//! finding when it is in the same file and its line is within the finding's lines.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Analysis, FrameView, Group, Verdict};

/// A finding of `goleash lint`, as the join needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaticFinding {
    /// `GL001`.
    pub code: String,
    /// `forgotten-sender`.
    pub name: String,
    pub message: String,
    pub fix: String,
    /// The file as `goleash lint` shows it.
    pub file: String,
    pub line: u32,
    pub end_line: u32,
    /// The file on disk, to meet frames on.
    #[serde(skip)]
    pub disk: PathBuf,
}

impl StaticFinding {
    fn holds(&self, file: &Path, line: u32) -> bool {
        file == self.disk && (self.line..=self.end_line.max(self.line)).contains(&line)
    }
}

/// Frames of a group that can stand in a finding: its stack and the `go` statement.
fn frames(group: &Group) -> impl Iterator<Item = &FrameView> {
    group.frames.iter().chain(group.creator.iter())
}

/// Gives each group of `analysis` the findings whose lines hold one of its frames.
pub fn attach(
    analysis: &mut Analysis,
    findings: &[StaticFinding],
    resolve: &dyn Fn(&str) -> Option<PathBuf>,
) {
    let mut cache: std::collections::HashMap<std::sync::Arc<str>, Option<PathBuf>> =
        Default::default();
    for group in &mut analysis.groups {
        let mut found: Vec<StaticFinding> = Vec::new();
        for frame in frames(group) {
            let disk = cache
                .entry(std::sync::Arc::clone(&frame.file))
                .or_insert_with(|| resolve(&frame.file));
            let Some(disk) = disk else { continue };
            for finding in findings.iter().filter(|f| f.holds(disk, frame.line)) {
                if !found.contains(finding) {
                    found.push(finding.clone());
                }
            }
        }
        group.findings = found;
    }
}

/// What the runtime showed at a finding's code.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Confirmation {
    /// Goroutines of the dumps whose stack or creator runs through the finding's lines.
    pub goroutines: u64,
    /// The most serious verdict among those groups.
    pub verdict: Verdict,
    /// The blocking site of the largest such group, `function (file:line)`.
    pub site: String,
    /// Which evidence it came from (a file, a URL, a history DB).
    pub source: String,
}

/// A group of running goroutines as evidence: where its stack and creator run, how many,
/// how sure. From an analysis ([`EvidenceGroup::of`]) or from a `watch` history.
#[derive(Clone, Debug)]
pub struct EvidenceGroup {
    /// `(file, line)` of each frame and of the creator.
    pub frames: Vec<(String, u32)>,
    pub count: u64,
    pub verdict: Verdict,
    /// `function (file:line)` of the blocking site.
    pub site: String,
}

impl EvidenceGroup {
    pub fn of(group: &Group) -> EvidenceGroup {
        EvidenceGroup {
            frames: frames(group)
                .map(|f| (f.file.to_string(), f.line))
                .collect(),
            count: group.count,
            verdict: group.verdict,
            site: group.site.as_ref().map_or_else(String::new, |s| {
                format!("{} ({}:{})", s.function, s.file, s.line)
            }),
        }
    }
}

/// For each finding, what `groups` (read from `source`) showed at its code; groups judged
/// `expected` confirm nothing.
pub fn confirm(
    findings: &[StaticFinding],
    groups: &[EvidenceGroup],
    source: &str,
    resolve: &dyn Fn(&str) -> Option<PathBuf>,
) -> Vec<Option<Confirmation>> {
    let mut cache: std::collections::HashMap<&str, Option<PathBuf>> = Default::default();
    let mut out: Vec<Option<Confirmation>> = vec![None; findings.len()];
    for group in groups.iter().filter(|g| g.verdict > Verdict::Expected) {
        let mut hit = vec![false; findings.len()];
        for (file, line) in &group.frames {
            let disk = cache.entry(file.as_str()).or_insert_with(|| resolve(file));
            let Some(disk) = disk else { continue };
            for (i, finding) in findings.iter().enumerate() {
                hit[i] |= finding.holds(disk, *line);
            }
        }
        for (i, _) in hit.iter().enumerate().filter(|(_, h)| **h) {
            let slot = &mut out[i];
            match slot {
                Some(c) => {
                    if group.count > c.goroutines {
                        c.site = group.site.clone();
                    }
                    c.goroutines += group.count;
                    c.verdict = c.verdict.max(group.verdict);
                }
                None => {
                    *slot = Some(Confirmation {
                        goroutines: group.count,
                        verdict: group.verdict,
                        site: group.site.clone(),
                        source: source.to_string(),
                    })
                }
            }
        }
    }
    out
}
