//! Baselines: adopt the linter on an existing codebase by recording today's findings, so
//! that only new ones fail.

use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub code: String,
    pub path: String,
    pub fingerprint: String,
    /// For the reader of the file; not used for matching.
    #[serde(default)]
    pub message: String,
}

impl Baseline {
    pub fn from_diagnostics(diagnostics: &[Diagnostic]) -> Self {
        Baseline {
            version: 1,
            findings: diagnostics
                .iter()
                .map(|d| BaselineEntry {
                    code: d.code.to_string(),
                    path: d.path.clone(),
                    fingerprint: d.fingerprint.clone(),
                    message: d.message.clone(),
                })
                .collect(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|e| format!("baseline {} is not valid: {e}", path.display()))?;
        if baseline.version != 1 {
            return Err(format!(
                "baseline {} has version {}, expected 1",
                path.display(),
                baseline.version
            ));
        }
        Ok(baseline)
    }

    pub fn write(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))
    }

    /// Drops diagnostics the baseline already knows. Matching is a multiset: two identical
    /// findings in the baseline absorb at most two in the run. Returns how many were dropped.
    pub fn filter(&self, diagnostics: &mut Vec<Diagnostic>) -> usize {
        let key =
            |code: &str, path: &str, fingerprint: &str| format!("{code}\0{path}\0{fingerprint}");
        let mut remaining: FxHashMap<String, usize> = FxHashMap::default();
        for entry in &self.findings {
            *remaining
                .entry(key(&entry.code, &entry.path, &entry.fingerprint))
                .or_default() += 1;
        }
        let before = diagnostics.len();
        diagnostics.retain(
            |d| match remaining.get_mut(&key(d.code, &d.path, &d.fingerprint)) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    false
                }
                _ => true,
            },
        );
        before - diagnostics.len()
    }
}
