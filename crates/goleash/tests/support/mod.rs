//! What the integration tests share: the repository root, building the Go programs of
//! testdata once, and running one on 127.0.0.1 for as long as the test holds it.

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds `packages` of the Go module at `module` (relative to the repository root) into
/// `out` with -trimpath, and returns `out`.
pub fn go_build(module: &str, packages: &[&str], out: &Path) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    let status = Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(out)
        .args(packages)
        .current_dir(root().join(module))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .status()
        .expect("`go` on PATH (scripts/test.sh installs Go 1.27.3)");
    assert!(status.success(), "go build {packages:?} in {module}");
    out.to_path_buf()
}

/// A Go program serving on 127.0.0.1 that printed `listening on http://127.0.0.1:PORT` as
/// its first line. Killed when dropped; it also exits when its stdin closes, so a test that
/// dies does not leave it running.
pub struct LoopbackProcess {
    child: Child,
    _stdin: ChildStdin,
    /// `http://127.0.0.1:PORT` (or `https://`)
    pub base: String,
}

impl LoopbackProcess {
    pub fn start(binary: &Path, args: &[&str]) -> LoopbackProcess {
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{}: unexpected first line {line:?}", binary.display()))
            .to_string();
        assert!(
            base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"),
            "{base}"
        );
        LoopbackProcess {
            child,
            _stdin: stdin,
            base,
        }
    }
}

impl Drop for LoopbackProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Goroutines of the program in a traceback dump as runtime.NumGoroutine counts them: headers,
/// less the threads' `goroutine 0` stacks and, in SIGQUIT/crash tracebacks (`gp=` headers),
/// the runtime's own goroutines (only `runtime.` frames) and second printings of one id.
pub fn program_goroutines(text: &str) -> u64 {
    let mut count = 0;
    let mut seen = std::collections::HashSet::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !(line.starts_with("goroutine ") && line.ends_with(':')) {
            continue;
        }
        let id = line.split(' ').nth(1).unwrap_or("").to_string();
        let crash = line.contains(" gp=");
        let mut functions = Vec::new();
        while let Some(next) = lines.peek() {
            if next.is_empty() || next.starts_with("goroutine ") {
                break;
            }
            if !next.starts_with('\t') && !next.starts_with("created by ") {
                functions.push(next.to_string());
            }
            lines.next();
        }
        // A wrapper of user code (`main.main.gowrap1`) starts a user goroutine.
        let system = crash
            && !functions.is_empty()
            && functions
                .iter()
                .all(|f| f.starts_with("runtime.") && !f.starts_with("runtime.main("));
        if id != "0" && !system && (!crash || seen.insert(id)) {
            count += 1;
        }
    }
    count
}
