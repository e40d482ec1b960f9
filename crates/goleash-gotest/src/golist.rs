//! `go list -json`: which packages `go test` will test, where they are and which test files
//! they have (after build tags), so each gets the right overlay.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::args::GoTestArgs;
use crate::Error;

/// A package as `go list -json` describes it (only the fields goleash reads).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListedPackage {
    pub import_path: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub dir: PathBuf,
    #[serde(default)]
    pub test_go_files: Vec<String>,
    #[serde(default)]
    pub x_test_go_files: Vec<String>,
    /// In the standard library: possibly a dependency of the check's own imports.
    #[serde(default)]
    pub standard: bool,
    pub error: Option<ListError>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListError {
    #[serde(default)]
    pub err: String,
}

impl ListedPackage {
    pub(crate) fn has_tests(&self) -> bool {
        !self.test_go_files.is_empty() || !self.x_test_go_files.is_empty()
    }
}

/// Lists the packages a `go test` command line names. `-e` keeps packages with errors in the
/// list (go test reports those itself), so only a failure of `go list` as a whole is an error.
pub(crate) fn list(
    go: &Path,
    args: &GoTestArgs,
    env: &[(String, String)],
) -> Result<Vec<ListedPackage>, Error> {
    let mut cmd = Command::new(go);
    if let Some(dir) = &args.chdir {
        cmd.arg("-C").arg(dir);
    }
    // -find: the file lists without loading dependencies, which goleash does not need.
    cmd.arg("list")
        .arg("-find")
        .arg("-e")
        .arg("-json=ImportPath,Name,Dir,TestGoFiles,XTestGoFiles,Standard,Error");
    if let Some(overlay) = &args.overlay {
        cmd.arg(format!("-overlay={overlay}"));
    }
    cmd.args(&args.list_flags);
    cmd.arg("--");
    cmd.args(&args.packages);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::null());
    let output = cmd
        .output()
        .map_err(|e| Error::new(format!("cannot run `{} list`: {e}", go.display())))?;
    let packages = decode(&output.stdout)?;
    if !output.status.success() && packages.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::new(format!(
            "`go list` failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    Ok(packages)
}

/// Every package the check's own imports depend on (`go list -deps`, with the run's build
/// flags): a standard-library package among them cannot hold the check in its internal test
/// package (that would be an import cycle); any other can.
pub(crate) fn check_dependencies(
    go: &Path,
    args: &GoTestArgs,
    env: &[(String, String)],
) -> Result<std::collections::HashSet<String>, Error> {
    let mut cmd = Command::new(go);
    if let Some(dir) = &args.chdir {
        cmd.arg("-C").arg(dir);
    }
    cmd.arg("list")
        .arg("-deps")
        .arg("-f={{.ImportPath}}")
        .args(&args.list_flags)
        .arg("--")
        .args(crate::overlay::HARNESS_IMPORTS)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    let output = cmd
        .output()
        .map_err(|e| Error::new(format!("cannot run `{} list`: {e}", go.display())))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "`go list -deps` of the check's imports failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// `go list -json` prints one JSON object per package, concatenated.
pub(crate) fn decode(stdout: &[u8]) -> Result<Vec<ListedPackage>, Error> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<ListedPackage>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::new(format!("cannot read the output of `go list -json`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_concatenated_objects() {
        let text = br#"{
	"Dir": "/m/a",
	"ImportPath": "m/a",
	"Name": "a",
	"TestGoFiles": ["a_test.go"]
}
{
	"Dir": "/m/b",
	"ImportPath": "m/b",
	"Name": "b",
	"XTestGoFiles": ["b_test.go"],
	"Error": {"Err": "boom"}
}
"#;
        let pkgs = decode(text).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert!(pkgs[0].has_tests());
        assert_eq!(pkgs[1].x_test_go_files, ["b_test.go"]);
        assert_eq!(pkgs[1].error.as_ref().unwrap().err, "boom");
    }
}
