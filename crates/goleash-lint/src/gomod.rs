//! The `go` directive of the nearest go.mod: it decides which timer semantics apply.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion {
    pub major: u32,
    pub minor: u32,
}

impl GoVersion {
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Accepts `1.22`, `1.22.3`, `go1.22`, `go1.22rc1`.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim().trim_start_matches("go");
        let mut parts = value.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor_digits: String = parts
            .next()
            .unwrap_or("0")
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let minor = minor_digits.parse().ok()?;
        Some(GoVersion { major, minor })
    }
}

impl std::fmt::Display for GoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What go.mod says about the language version the module is built with.
///
/// A `toolchain go1.27` (or newer) line forces the new timer semantics whatever `go` says,
/// because Go 1.27 removed the `asynctimerchan` GODEBUG that kept the old ones alive; so it is
/// folded into the effective version.
pub(crate) fn parse_go_mod(contents: &str) -> Option<GoVersion> {
    let mut go = None;
    let mut toolchain = None;
    for line in contents.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if let Some(rest) = line.strip_prefix("go ") {
            go = GoVersion::parse(rest);
        } else if let Some(rest) = line.strip_prefix("toolchain ") {
            toolchain = GoVersion::parse(rest);
        }
    }
    match (go, toolchain) {
        (Some(g), Some(t)) if t.at_least(1, 27) => Some(g.max(t)),
        (g, _) => g,
    }
}

/// Caches the go.mod lookup per directory: a tree of thousands of files has few modules.
#[derive(Default)]
pub(crate) struct GoModCache {
    by_dir: Mutex<FxHashMap<PathBuf, Option<GoVersion>>>,
}

impl GoModCache {
    pub(crate) fn version_for(&self, file: &Path) -> Option<GoVersion> {
        let dir = file.parent()?.to_path_buf();
        if let Ok(cache) = self.by_dir.lock() {
            if let Some(found) = cache.get(&dir) {
                return *found;
            }
        }
        let mut found = None;
        let mut current = Some(dir.as_path());
        while let Some(d) = current {
            let candidate = d.join("go.mod");
            if let Ok(contents) = std::fs::read_to_string(&candidate) {
                found = parse_go_mod(&contents);
                break;
            }
            current = d.parent();
        }
        if let Ok(mut cache) = self.by_dir.lock() {
            cache.insert(dir, found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_and_toolchain() {
        assert_eq!(
            parse_go_mod("module x\n\ngo 1.21.3\n"),
            Some(GoVersion {
                major: 1,
                minor: 21
            })
        );
        assert_eq!(
            parse_go_mod("module x\ngo 1.21\ntoolchain go1.27.3\n"),
            Some(GoVersion {
                major: 1,
                minor: 27
            })
        );
        assert_eq!(
            parse_go_mod("module x\ngo 1.21\ntoolchain go1.22.1\n"),
            Some(GoVersion {
                major: 1,
                minor: 21
            })
        );
        assert_eq!(parse_go_mod("module x\n"), None);
    }
}
