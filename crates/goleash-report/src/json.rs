use goleash_analyze::{Analysis, Diff, Verdict};
use serde::Serialize;

/// Bumped only on incompatible changes; fields are only ever added within a version.
pub const SCHEMA_ANALYSIS: &str = "goleash.analysis/v1";
pub const SCHEMA_DIFF: &str = "goleash.diff/v1";

#[derive(Serialize)]
struct Count {
    groups: usize,
    goroutines: u64,
}

#[derive(Serialize)]
struct Summary {
    proven: Count,
    likely: Count,
    possible: Count,
    expected: Count,
}

fn summary(analysis: &Analysis) -> Summary {
    let count = |v: Verdict| Count {
        groups: analysis.groups.iter().filter(|g| g.verdict == v).count(),
        goroutines: analysis
            .groups
            .iter()
            .filter(|g| g.verdict == v)
            .map(|g| g.count)
            .sum(),
    };
    Summary {
        proven: count(Verdict::Proven),
        likely: count(Verdict::Likely),
        possible: count(Verdict::Possible),
        expected: count(Verdict::Expected),
    }
}

#[derive(Serialize)]
struct AnalysisDocument<'a> {
    schema: &'static str,
    summary: Summary,
    #[serde(flatten)]
    analysis: &'a Analysis,
}

pub fn analysis_json(analysis: &Analysis) -> String {
    let document = AnalysisDocument {
        schema: SCHEMA_ANALYSIS,
        summary: summary(analysis),
        analysis,
    };
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[derive(Serialize)]
struct DiffDocument<'a> {
    schema: &'static str,
    #[serde(flatten)]
    diff: &'a Diff,
}

pub fn diff_json(diff: &Diff) -> String {
    let document = DiffDocument {
        schema: SCHEMA_DIFF,
        diff,
    };
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
