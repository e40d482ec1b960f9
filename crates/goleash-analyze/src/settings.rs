//! The `[analyze]` table of `goleash.toml`, the file `goleash lint` reads too, so a team keeps
//! its module prefixes and known long-lived goroutines in one place.

use serde::Deserialize;

use crate::{Config, ExpectedPattern, Verdict};

/// What `goleash.toml` may say about analysis; command-line flags override it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// Package path prefixes of the user's own code.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Long-lived goroutines: `"pkg.(*T).loop"`, `"pkg.prefix*"`, or
    /// `{ function = "…", reason = "…" }`.
    #[serde(default)]
    pub expect: Vec<Expect>,
    pub likely_after: Option<u32>,
    pub crowd: Option<u64>,
    pub fail_on: Option<Verdict>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    Function(String),
    WithReason { function: String, reason: String },
}

impl Settings {
    /// Applies the settings under the command line's own values.
    pub fn apply(&self, config: &mut Config) {
        for module in &self.modules {
            if !config.user_prefixes.contains(module) {
                config.user_prefixes.push(module.clone());
            }
        }
        for expect in &self.expect {
            config.expected.push(match expect {
                Expect::Function(function) => ExpectedPattern::new(function.clone()),
                Expect::WithReason { function, reason } => ExpectedPattern {
                    function: function.clone(),
                    reason: reason.clone(),
                },
            });
        }
    }

    pub fn fail_on(&self) -> Option<Verdict> {
        self.fail_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_analyze_table() {
        let settings: Settings = toml::from_str(
            r#"
            modules = ["github.com/acme/api"]
            likely-after = 30
            fail-on = "proven"
            expect = [
              "github.com/acme/api/cache.(*Cache).janitor",
              { function = "github.com/acme/api/queue.*", reason = "queue consumers live as long as the process" },
            ]
            "#,
        )
        .unwrap();
        assert_eq!(settings.likely_after, Some(30));
        assert_eq!(settings.fail_on(), Some(Verdict::Proven));
        let mut config = Config::default();
        settings.apply(&mut config);
        assert_eq!(config.user_prefixes, ["github.com/acme/api"]);
        assert_eq!(config.expected.len(), 2);
        assert_eq!(
            config.expected[1].reason,
            "queue consumers live as long as the process"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = toml::from_str::<Settings>("likely_afterr = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("likely_afterr"), "{err}");
        let err = toml::from_str::<Settings>("fail-on = \"often\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("often") && err.contains("proven"), "{err}");
    }
}
