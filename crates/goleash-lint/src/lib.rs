//! `goleash lint`: static detection of goroutine-leak patterns in Go source.
//!
//! Files are parsed with tree-sitter-go; per-file facts ([`facts::FileCx`]: imports under any
//! alias, the local channel table, goroutine launch sites, identifier escape) are computed once
//! and shared by every rule in [`rules`]. Rules see syntax only, so each states how confident it
//! is, and the default-on ones are tuned to stay quiet on the correct idioms.

#![warn(unreachable_pub)]

mod baseline;
pub mod config;
mod diagnostic;
pub mod engine;
pub mod facts;
mod flow;
mod gomod;
mod patterns;
pub mod rules;
mod semantic;
mod suppress;
mod syntax;
pub mod vettool;

pub use baseline::Baseline;
pub use config::{LintConfig, RuleSelection};
pub use diagnostic::{Confidence, Diagnostic, Evidence, Label, Severity, Span};
pub use engine::{lint_paths, lint_source, LintOptions, LintRun};
pub use gomod::GoVersion;
pub use rules::{all_meta, find_meta, RuleMeta};
