//! `goleash.toml`, found once and read once into one typed struct. Each table is the type the
//! crate of its command defines; keys nobody knows are refused with the file, line and the keys
//! that are valid there.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoleashToml {
    #[serde(default)]
    pub analyze: goleash_analyze::Settings,
    #[serde(default)]
    pub lint: goleash_lint::LintConfig,
    #[serde(default)]
    pub test: goleash_gotest::TestSettings,
    #[serde(default)]
    pub watch: goleash_watch::settings::WatchSettings,
    /// Where the file was read from: relative paths in it are relative to its directory.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl GoleashToml {
    /// `explicit` (`--config FILE`), else the nearest `goleash.toml` at or above `start`, else
    /// the defaults.
    pub fn find_and_load(explicit: Option<&Path>, start: &Path) -> Result<GoleashToml, String> {
        let path = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => goleash_lint::config::find_upward(start),
        };
        match path {
            Some(path) => GoleashToml::load(&path),
            None => Ok(GoleashToml::default()),
        }
    }

    /// [`GoleashToml::find_and_load`] from the current directory.
    pub fn for_cwd(explicit: Option<&Path>) -> Result<GoleashToml, String> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        GoleashToml::find_and_load(explicit, &cwd)
    }

    pub fn load(path: &Path) -> Result<GoleashToml, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut file = GoleashToml::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    /// `relative` as written in the file, taken from the file's directory.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(dir) if relative.is_relative() => dir.join(relative),
            _ => relative.to_path_buf(),
        }
    }

    pub fn parse(text: &str) -> Result<GoleashToml, String> {
        let file: GoleashToml =
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        file.lint.validate().map_err(|e| format!("[lint] {e}"))?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_every_table_typed() {
        let file = GoleashToml::parse(
            "[analyze]\nfail-on = \"possible\"\nmodules = [\"example.com/app\"]\n\
             [lint]\nfail-on = \"never\"\nseverity = { GL001 = \"warn\" }\n\
             [test]\nfail-on = \"proven\"\nretry = \"2s\"\n\
             [watch]\ninterval = \"30s\"\ntargets = \"targets.yml\"\n",
        )
        .unwrap();
        assert_eq!(
            file.analyze.fail_on,
            Some(goleash_analyze::Verdict::Possible)
        );
        assert_eq!(file.lint.fail_on, Some(goleash_lint::config::FailOn::Never));
        assert_eq!(
            file.lint.severity.get("GL001"),
            Some(&goleash_lint::Severity::Warning)
        );
        assert_eq!(file.test.fail_on, Some(goleash_analyze::Verdict::Proven));
        assert_eq!(
            file.watch.interval,
            Some(std::time::Duration::from_secs(30))
        );
    }

    #[test]
    fn unknown_tables_keys_and_values_name_the_line_and_what_is_valid() {
        let table = GoleashToml::parse("[analyse]\nfail-on = \"likely\"\n").unwrap_err();
        assert!(table.contains("line 1"), "{table}");
        assert!(
            table.contains("analyze") && table.contains("lint"),
            "{table}"
        );
        let key = GoleashToml::parse("[test]\nretry = \"1s\"\nretyr = \"1s\"\n").unwrap_err();
        assert!(key.contains("line 3") && key.contains("retry"), "{key}");
        let verdict = GoleashToml::parse("\n[analyze]\nfail-on = \"sure\"\n").unwrap_err();
        assert!(verdict.contains("line 3"), "{verdict}");
        assert!(
            verdict.contains("proven") && verdict.contains("likely"),
            "{verdict}"
        );
        let severity = GoleashToml::parse("[lint.severity]\nGL001 = \"fatal\"\n").unwrap_err();
        assert!(
            severity.contains("line 2") && severity.contains("warning"),
            "{severity}"
        );
        let rule = GoleashToml::parse("[lint]\nselect = [\"GL999\"]\n").unwrap_err();
        assert!(rule.contains("GL999"), "{rule}");
    }
}
