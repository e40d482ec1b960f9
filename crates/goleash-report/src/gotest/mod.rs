//! Reports of `goleash test` runs: per package and per test, for people (terminal), CI
//! (JUnit XML, SARIF) and machines (JSON: the run's own typed serialization).

pub mod junit;
pub mod sarif;
pub mod terminal;
pub mod test2json;

/// The run as JSON, the shape documented in docs/test.md.
pub fn json(run: &goleash_gotest::TestRun) -> String {
    serde_json::to_string_pretty(run).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n"
}
