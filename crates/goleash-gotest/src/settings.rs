//! The `[test]` table of `goleash.toml`: ignores and the retry window, so a team keeps them
//! with the other subcommands' settings. Command-line flags add to or override it.

use serde::Deserialize;

use crate::ignore::{Ignore, IgnoreKind};

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TestSettings {
    #[serde(default)]
    pub ignore_top: Vec<String>,
    #[serde(default)]
    pub ignore_any: Vec<String>,
    #[serde(default)]
    pub ignore_created_by: Vec<String>,
    /// Leave out the built-in ignores (testing harness, os/signal, …).
    #[serde(default)]
    pub no_default_ignores: bool,
    /// `"1s"`, `"500ms"`.
    #[serde(default, deserialize_with = "goleash_model::units::config::duration")]
    pub retry: Option<std::time::Duration>,
    /// `"auto"` or a number.
    pub ancestors: Option<crate::Ancestry>,
    pub fail_on: Option<goleash_analyze::Verdict>,
    /// `--trace`: keep an execution trace per package.
    #[serde(default)]
    pub trace: bool,
}

impl TestSettings {
    pub fn ignores(&self) -> Vec<Ignore> {
        let mut out = Vec::new();
        out.extend(
            self.ignore_top
                .iter()
                .map(|f| Ignore::new(IgnoreKind::Top, f.clone())),
        );
        out.extend(
            self.ignore_any
                .iter()
                .map(|f| Ignore::new(IgnoreKind::Any, f.clone())),
        );
        out.extend(
            self.ignore_created_by
                .iter()
                .map(|f| Ignore::new(IgnoreKind::CreatedBy, f.clone())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_test_table() {
        let s: TestSettings = toml::from_str(
            "ignore-top = [\"a.b\"]\nignore-created-by = [\"x.*\"]\nretry = \"2s\"\ntrace = true\n",
        )
        .unwrap();
        assert!(s.trace);
        assert!(!TestSettings::default().trace);
        let not_bool = toml::from_str::<TestSettings>("trace = \"yes\"\n").unwrap_err();
        assert!(not_bool.to_string().contains("trace"), "{not_bool}");
        assert_eq!(s.retry, Some(std::time::Duration::from_secs(2)));
        assert_eq!(s.ignores().len(), 2);
        assert!(toml::from_str::<TestSettings>("retyr = \"1s\"\n").is_err());
        let unit = toml::from_str::<TestSettings>("\nretry = \"2 seconds\"\n").unwrap_err();
        assert!(unit.to_string().contains("line 2"), "{unit}");
    }
}
