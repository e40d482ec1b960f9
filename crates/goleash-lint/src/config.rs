//! The `[lint]` table of `goleash.toml` (the binary reads the file once, every table), the
//! upward search for the file, and rule selection from the table and the flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::diagnostic::Severity;
use crate::gomod::GoVersion;
use crate::rules::{self, RuleMeta};

pub const FILE_NAME: &str = "goleash.toml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LintConfig {
    /// Replaces the default rule set: codes, code prefixes (`GL0`), names, or `ALL`.
    pub select: Option<Vec<String>>,
    /// Adds to the rule set (typically default-off rules).
    #[serde(default)]
    pub extend_select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// `GL007 = "error"`.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// gitignore-style globs of paths to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub include_tests: Option<bool>,
    pub fail_on: Option<FailOn>,
    /// Overrides go.mod's `go` directive for the timer rules.
    pub go_version: Option<String>,
}

/// The least severe finding that fails the run, or `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    /// `error`, `warning`, `info` (with the severity's other spellings) or `never`.
    pub fn parse(text: &str) -> Option<FailOn> {
        if text.eq_ignore_ascii_case("never") {
            return Some(FailOn::Never);
        }
        Severity::parse(text).map(|s| match s {
            Severity::Error => FailOn::Error,
            Severity::Warning => FailOn::Warning,
            Severity::Info => FailOn::Info,
        })
    }

    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// The nearest `goleash.toml` at or above `start` (a file or directory).
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(start).ok()?;
    let mut dir = if absolute.is_dir() {
        Some(absolute.as_path())
    } else {
        absolute.parent()
    };
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

impl LintConfig {
    /// What the types cannot say: rule selectors and codes must name rules, the Go version
    /// must parse.
    pub fn validate(&self) -> Result<(), String> {
        let selectors = self
            .select
            .iter()
            .flatten()
            .chain(&self.extend_select)
            .chain(&self.ignore);
        for selector in selectors {
            if !rules::all_meta().any(|m| selector_matches(selector, m)) {
                return Err(format!("unknown rule selector `{selector}`"));
            }
        }
        for code in self.severity.keys() {
            if rules::find_meta(code).is_none() {
                return Err(format!("unknown rule `{code}` in [lint.severity]"));
            }
        }
        if let Some(version) = &self.go_version {
            if GoVersion::parse(version).is_none() {
                return Err(format!("go-version `{version}`: expected e.g. 1.22"));
            }
        }
        Ok(())
    }
}

/// `ALL`, an exact code, a code prefix (`GL0`, `GL01`) or a rule name.
pub fn selector_matches(selector: &str, meta: &RuleMeta) -> bool {
    selector.eq_ignore_ascii_case("ALL")
        || meta.name.eq_ignore_ascii_case(selector)
        || (selector.len() >= 2
            && meta
                .code
                .get(..selector.len())
                .map(|prefix| prefix.eq_ignore_ascii_case(selector))
                .unwrap_or(false))
}

/// Which rules run and at what severity, after config and command line are merged.
#[derive(Debug, Clone, Default)]
pub struct RuleSelection {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub severity: FxHashMap<String, Severity>,
}

impl RuleSelection {
    /// The `[lint]` table's selection with command-line flags applied: `--select` replaces
    /// the table's `select`, `--extend-select` and `--ignore` add to theirs.
    pub fn from_config_and_flags(
        config: &LintConfig,
        select: &[String],
        extend_select: &[String],
        ignore: &[String],
    ) -> Self {
        let mut selection = RuleSelection::from_config(config);
        if !select.is_empty() {
            selection.select = Some(select.to_vec());
        }
        selection
            .extend_select
            .extend(extend_select.iter().cloned());
        selection.ignore.extend(ignore.iter().cloned());
        selection
    }

    pub fn from_config(config: &LintConfig) -> Self {
        RuleSelection {
            select: config.select.clone(),
            extend_select: config.extend_select.clone(),
            ignore: config.ignore.clone(),
            severity: config
                .severity
                .iter()
                .filter_map(|(code, sev)| {
                    let meta = rules::find_meta(code)?;
                    Some((meta.code.to_string(), *sev))
                })
                .collect(),
        }
    }

    pub fn is_enabled(&self, meta: &RuleMeta) -> bool {
        let base = match &self.select {
            Some(list) => list.iter().any(|s| selector_matches(s, meta)),
            None => meta.default_enabled,
        };
        let selected = base || self.extend_select.iter().any(|s| selector_matches(s, meta));
        selected && !self.ignore.iter().any(|s| selector_matches(s, meta))
    }

    pub fn severity_override(&self, code: &str) -> Option<Severity> {
        self.severity.get(code).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let parse = |text: &str| -> Result<LintConfig, String> {
            let config: LintConfig = toml::from_str(text).map_err(|e| e.to_string())?;
            config.validate()?;
            Ok(config)
        };
        let config =
            parse("select = [\"GL0\"]\nignore = [\"GL007\"]\nseverity = { GL001 = \"warning\" }\n")
                .expect("valid config");
        let selection = RuleSelection::from_config(&config);
        let gl007 = rules::find_meta("GL007").expect("rule exists");
        let gl001 = rules::find_meta("GL001").expect("rule exists");
        assert!(!selection.is_enabled(gl007));
        assert!(selection.is_enabled(gl001));
        assert_eq!(
            selection.severity_override("GL001"),
            Some(Severity::Warning)
        );
        assert!(parse("select = [\"GL999\"]\n").is_err());
        assert!(parse("bogus = 1\n").is_err());
    }
}
