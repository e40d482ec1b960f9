//! Reports of `goleash test` runs: per package and per test, for people (terminal), CI
//! (JUnit XML, SARIF) — the JSON shape is the run's own serialization.

pub mod junit;
pub mod sarif;
pub mod terminal;
