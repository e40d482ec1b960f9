//! Go source on disk for the frames of a stack: which file a frame's `file:line` names, and
//! the lines around it (`pprof list` style).
//!
//! Frames name files three ways: a module path when the binary was built with `-trimpath`
//! (`example.com/app/internal/db/pool.go`), the absolute path on the build machine
//! (`/builds/acme/app/internal/db/pool.go`), or the standard library either way
//! (`net/http/server.go`, `/usr/local/go/src/net/http/server.go`). Module paths resolve through
//! `go.mod`, build paths by the longest common suffix with a file under the tree, the standard
//! library and dependencies through `go env` (GOROOT, GOMODCACHE) when `go` is on PATH.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Lines shown on each side of the line a listing is about.
pub const LISTING_CONTEXT: u32 = 5;

/// The lines around one line of a source file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Listing {
    /// The file as found on disk.
    pub path: PathBuf,
    /// The line the listing is about, 1-based.
    pub line: u32,
    /// The number of the first line in `lines`.
    pub first: u32,
    pub lines: Vec<String>,
}

/// A Go source tree (a module, or any directory) to find frames' files in.
pub struct SourceTree {
    root: PathBuf,
    /// The module path of the `go.mod` at or above `root`, and that file's directory.
    module: Option<(String, PathBuf)>,
    go_env: OnceCell<GoEnv>,
    /// `.go` files under `root` by file name, for matching build paths by suffix.
    by_name: OnceCell<HashMap<String, Vec<PathBuf>>>,
}

#[derive(Default)]
struct GoEnv {
    goroot: Option<PathBuf>,
    modcache: Option<PathBuf>,
}

/// Directories never searched for sources: version control, and trees of other tools.
const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules", "target", "testdata"];

/// Files indexed at most, so a listing never walks a whole disk by mistake.
const MAX_INDEXED: usize = 200_000;

impl SourceTree {
    /// The tree at `root`: its module is read from the nearest `go.mod` at or above it.
    pub fn open(root: &Path) -> SourceTree {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let module = root.ancestors().find_map(|dir| {
            let text = std::fs::read_to_string(dir.join("go.mod")).ok()?;
            let path = module_path(&text)?;
            Some((path, dir.to_path_buf()))
        });
        SourceTree {
            root,
            module,
            go_env: OnceCell::new(),
            by_name: OnceCell::new(),
        }
    }

    /// The module path the tree belongs to, if any.
    pub fn module(&self) -> Option<&str> {
        self.module.as_ref().map(|m| m.0.as_str())
    }

    /// The file on disk a frame's file names, if it can be found.
    pub fn resolve(&self, file: &str) -> Option<PathBuf> {
        let file = file.replace('\\', "/");
        let exists = |p: PathBuf| p.is_file().then_some(p);
        if let Some((module, dir)) = &self.module {
            if let Some(rest) = file.strip_prefix(module.as_str()) {
                if let Some(found) = rest.strip_prefix('/').and_then(|r| exists(dir.join(r))) {
                    return Some(found);
                }
            }
        }
        if file.starts_with('/') {
            if let Some(found) = exists(PathBuf::from(&file)) {
                return Some(found);
            }
        }
        if let Some(found) = self.by_suffix(&file) {
            return Some(found);
        }
        let env = self.go_env.get_or_init(go_env);
        if let Some(goroot) = &env.goroot {
            // An absolute GOROOT of another machine: what follows `/src/` is the package path.
            let std_path = match file.rfind("/src/") {
                Some(i) if file.starts_with('/') => &file[i + 5..],
                _ => file.as_str(),
            };
            if let Some(found) = exists(goroot.join("src").join(std_path)) {
                return Some(found);
            }
        }
        if let Some(modcache) = &env.modcache {
            // `example.com/dep@v1.2.3/x.go`, from -trimpath or from another machine's cache.
            let at = file.find("/pkg/mod/").map_or(0, |i| i + "/pkg/mod/".len());
            let in_cache = &file[at..];
            if in_cache.contains('@') {
                if let Some(found) = exists(modcache.join(in_cache)) {
                    return Some(found);
                }
            }
        }
        None
    }

    /// The file under the tree sharing the longest path suffix with `file` (at least its name
    /// and directory when several files share the name).
    fn by_suffix(&self, file: &str) -> Option<PathBuf> {
        let name = file.rsplit('/').next()?;
        let candidates = self.index().get(name)?;
        let wanted: Vec<&str> = file.rsplit('/').collect();
        let shared = |p: &PathBuf| {
            let have: Vec<String> = p
                .components()
                .rev()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            wanted
                .iter()
                .zip(&have)
                .take_while(|(w, h)| **w == h.as_str())
                .count()
        };
        let mut best: Option<(usize, &PathBuf)> = None;
        let mut tie = false;
        for candidate in candidates {
            let n = shared(candidate);
            match best {
                Some((b, _)) if n < b => {}
                Some((b, _)) if n == b => tie = true,
                _ => {
                    best = Some((n, candidate));
                    tie = false;
                }
            }
        }
        let (n, path) = best?;
        // A bare file name shared by two files says nothing about which one.
        (!tie && (n >= 2 || candidates.len() == 1)).then(|| path.clone())
    }

    fn index(&self) -> &HashMap<String, Vec<PathBuf>> {
        self.by_name.get_or_init(|| {
            let mut out: HashMap<String, Vec<PathBuf>> = HashMap::new();
            let mut stack = vec![self.root.clone()];
            let mut indexed = 0;
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if kind.is_dir() {
                        if !SKIPPED_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                            stack.push(entry.path());
                        }
                    } else if kind.is_file() && name.ends_with(".go") && indexed < MAX_INDEXED {
                        indexed += 1;
                        out.entry(name).or_default().push(entry.path());
                    }
                }
            }
            out
        })
    }

    /// The lines around `line` of the file `file` names, `context` on each side.
    pub fn listing(&self, file: &str, line: u32, context: u32) -> Option<Listing> {
        if line == 0 {
            return None;
        }
        let path = self.resolve(file)?;
        let text = std::fs::read(&path).ok()?;
        let text = String::from_utf8_lossy(&text);
        let first = line.saturating_sub(context).max(1);
        let lines: Vec<String> = text
            .lines()
            .skip(first as usize - 1)
            .take((line - first + context + 1) as usize)
            .map(|l| l.replace('\t', "    "))
            .collect();
        // A line past the end of the file: the source is not the one the binary was built from.
        if (lines.len() as u32) < line - first + 1 {
            return None;
        }
        // Shown relative to the working directory when under it: shorter, and the same on
        // every machine that checks the tree out.
        let path = std::env::current_dir()
            .ok()
            .and_then(|cwd| cwd.canonicalize().ok())
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or(path);
        Some(Listing {
            path,
            line,
            first,
            lines,
        })
    }
}

/// `module example.com/app` from a go.mod.
fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("module")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let path = rest.split("//").next()?.trim().trim_matches('"');
        (!path.is_empty()).then(|| path.to_string())
    })
}

fn go_env() -> GoEnv {
    let Ok(out) = std::process::Command::new("go")
        .args(["env", "GOROOT", "GOMODCACHE"])
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return GoEnv::default();
    };
    if !out.status.success() {
        return GoEnv::default();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(str::trim).map(|l| {
        (!l.is_empty())
            .then(|| PathBuf::from(l))
            .filter(|p| p.is_dir())
    });
    GoEnv {
        goroot: lines.next().flatten(),
        modcache: lines.next().flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, SourceTree) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("go.mod"),
            "module example.com/app // the app\n\ngo 1.27\n",
        )
        .unwrap();
        for (path, body) in [
            ("main.go", "package main\n"),
            (
                "internal/db/pool.go",
                "package db\n\nfunc a() {}\n\nfunc b() {\n\tch <- 1\n}\n",
            ),
            ("internal/cache/pool.go", "package cache\n"),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let tree = SourceTree::open(root);
        (dir, tree)
    }

    #[test]
    fn frames_resolve_by_module_path_build_path_and_suffix() {
        let (dir, tree) = tree();
        assert_eq!(tree.module(), Some("example.com/app"));
        let pool = dir
            .path()
            .canonicalize()
            .unwrap()
            .join("internal/db/pool.go");
        assert_eq!(
            tree.resolve("example.com/app/internal/db/pool.go"),
            Some(pool.clone())
        );
        // Built elsewhere: the longest common suffix picks db/pool.go over cache/pool.go.
        assert_eq!(
            tree.resolve("/builds/acme/app/internal/db/pool.go"),
            Some(pool.clone())
        );
        // A bare name two files share is not guessed.
        assert_eq!(tree.by_suffix("pool.go"), None);
        assert_eq!(tree.resolve("example.com/other/missing.go"), None);
        let listing = tree
            .listing("example.com/app/internal/db/pool.go", 6, 2)
            .unwrap();
        assert_eq!(listing.first, 4);
        assert_eq!(listing.lines[2], "    ch <- 1");
        assert_eq!(listing.lines.len(), 4, "the file ends at line 7");
        assert!(tree
            .listing("example.com/app/internal/db/pool.go", 70, 2)
            .is_none());
    }
}
