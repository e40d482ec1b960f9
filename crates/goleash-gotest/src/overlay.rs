//! The `-overlay` that adds goleash's check to every package under test without writing to the
//! user's tree: a generated `_test.go` per package (the check, and a `TestMain` when the package
//! has none), and for a package with its own `TestMain`, a copy of that file in which `m.Run()`
//! goes through the check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser};

use crate::golist::ListedPackage;
use crate::Error;

const HARNESS: &str = include_str!("harness.go.tmpl");

/// The packages the generated file imports (a unit test holds them to the template).
pub(crate) const HARNESS_IMPORTS: [&str; 15] = [
    "bytes",
    "context",
    "flag",
    "io",
    "os",
    "reflect",
    "runtime",
    "runtime/pprof",
    "runtime/trace",
    "strconv",
    "strings",
    "sync",
    "testing",
    "time",
    "unsafe",
];

/// Name of the generated file in the package directory (it only exists in the overlay).
const HARNESS_FILE: &str = "goleash_harness_test.go";

/// How goleash hooked into one package's test binary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hook {
    /// goleash's own TestMain, in the internal or (`external`) the external test package.
    Generated { external: bool },
    /// The package's TestMain, with `m.Run()` wrapped.
    Wrapped { file: PathBuf, calls: usize },
    /// Not checked, and why.
    Skipped { reason: String },
}

/// One package under test and where its check writes.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    pub import_path: String,
    /// The base name of the files the check writes in the output directory.
    pub key: String,
    pub hook: Hook,
}

/// A byte range of a source file and its replacement.
type Edit = (usize, usize, String);

#[derive(Debug, Default, Deserialize, Serialize)]
struct OverlayJson {
    #[serde(rename = "Replace", default)]
    replace: BTreeMap<String, String>,
}

/// Writes the overlay into `work` (a temporary directory) and returns its path with the
/// prepared packages. `user_overlay` is the user's own `-overlay` file, kept in the result.
/// `check_deps`: the packages the check depends on (see `golist::check_dependencies`); only
/// consulted for standard-library packages.
pub(crate) fn prepare(
    packages: &[ListedPackage],
    work: &Path,
    user_overlay: Option<&Path>,
    check_deps: &std::collections::HashSet<String>,
) -> Result<(PathBuf, Vec<Prepared>), Error> {
    let mut overlay = match user_overlay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::new(format!("cannot read -overlay {}: {e}", path.display())))?;
            serde_json::from_str::<OverlayJson>(&text)
                .map_err(|e| Error::new(format!("-overlay {}: {e}", path.display())))?
        }
        None => OverlayJson::default(),
    };
    let mut prepared = Vec::new();
    for (index, pkg) in packages.iter().enumerate() {
        if !pkg.has_tests() || pkg.error.is_some() {
            continue;
        }
        let key = file_key(&pkg.import_path);
        let cycle = pkg.standard && check_deps.contains(&pkg.import_path);
        let hook = match hook_package(pkg, &key, index, work, cycle, &mut overlay.replace) {
            Ok(hook) => hook,
            Err(reason) => Hook::Skipped { reason },
        };
        prepared.push(Prepared {
            import_path: pkg.import_path.clone(),
            key,
            hook,
        });
    }
    let path = work.join("overlay.json");
    let text = serde_json::to_string_pretty(&overlay)
        .map_err(|e| Error::new(format!("cannot encode the overlay: {e}")))?;
    write(&path, &text)?;
    Ok((path, prepared))
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

fn hook_package(
    pkg: &ListedPackage,
    key: &str,
    index: usize,
    work: &Path,
    cycle: bool,
    replace: &mut BTreeMap<String, String>,
) -> Result<Hook, String> {
    let mut found: Option<(PathBuf, bool, String, usize, Vec<Edit>)> = None;
    let files = pkg
        .test_go_files
        .iter()
        .map(|f| (f, false))
        .chain(pkg.x_test_go_files.iter().map(|f| (f, true)));
    for (file, external) in files {
        let path = pkg.dir.join(file);
        let source_path = replace
            .get(&path.to_string_lossy().into_owned())
            .map(PathBuf::from)
            .unwrap_or_else(|| path.clone());
        let source = std::fs::read_to_string(&source_path)
            .map_err(|e| format!("cannot read {}: {e}", source_path.display()))?;
        if !source.contains("TestMain") {
            continue;
        }
        if let Some((runs, edits)) = test_main_edits(&source)? {
            found = Some((path, external, source, runs, edits));
            break;
        }
    }
    let harness_dir = work.join(format!("p{index}"));
    std::fs::create_dir_all(&harness_dir)
        .map_err(|e| format!("cannot create {}: {e}", harness_dir.display()))?;
    let mut harness_target = pkg.dir.join(HARNESS_FILE);
    while harness_target.exists() {
        // Never shadow a real file of the package.
        let name = format!(
            "{}_{}",
            harness_target
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy(),
            "test.go"
        );
        harness_target = pkg.dir.join(name);
    }
    let (external, test_main, hook) = match found {
        // The check imports runtime/pprof, os, strings, …: in the internal test package of a
        // package those depend on, that is an import cycle (net and crypto/tls are fine).
        Some((file, false, ..)) if cycle => {
            return Err(format!(
                "its TestMain ({}) is in the internal test package of a package goleash's check itself imports (directly or not), which would be an import cycle",
                file.display()
            ));
        }
        Some((file, external, source, calls, edits)) => {
            if calls == 0 {
                return Err(format!(
                    "its TestMain in {} does not call m.Run() itself, so goleash cannot wrap it",
                    file.display()
                ));
            }
            let rewritten = apply_edits(&source, &edits);
            let copy = harness_dir.join("testmain.go");
            std::fs::write(&copy, rewritten)
                .map_err(|e| format!("cannot write {}: {e}", copy.display()))?;
            replace.insert(
                file.to_string_lossy().into_owned(),
                copy.to_string_lossy().into_owned(),
            );
            (external, String::new(), Hook::Wrapped { file, calls })
        }
        None => {
            let external = pkg.test_go_files.is_empty() || pkg.standard;
            (
                external,
                "// TestMain is goleash's: the package has none.\nfunc TestMain(m *goleash_testing.M) { goleashExit(goleashRun(m)) }\n".to_string(),
                Hook::Generated { external },
            )
        }
    };
    let package = if external {
        format!("{}_test", pkg.name)
    } else {
        pkg.name.clone()
    };
    let text = HARNESS
        .replace("__PACKAGE__", &package)
        .replace("__IMPORT_PATH__", &pkg.import_path)
        .replace("__FILE_KEY__", key)
        .replace("__TEST_MAIN__", &test_main);
    let harness = harness_dir.join(HARNESS_FILE);
    std::fs::write(&harness, text)
        .map_err(|e| format!("cannot write {}: {e}", harness.display()))?;
    replace.insert(
        harness_target.to_string_lossy().into_owned(),
        harness.to_string_lossy().into_owned(),
    );
    Ok(hook)
}

/// A stable, file-name-safe name per import path: the generated file's text, and so the build
/// cache's key for the test binary, stays the same from run to run.
pub(crate) fn file_key(import_path: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in import_path.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let last: String = import_path
        .rsplit('/')
        .next()
        .unwrap_or("pkg")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(32)
        .collect();
    format!("{last}-{hash:016x}")
}

/// Finds a top-level `func TestMain(m *testing.M)` and plans its rewrite: `m.Run()` becomes
/// `goleashRun(m)` (the look at the goroutines before the tests), `os.Exit(` anywhere in the
/// file becomes `goleashExit(` and a `defer goleashAfter()` opens TestMain's body, so the
/// check runs after the TestMain's teardown, however it ends. `None`: no TestMain here;
/// `Some((runs, edits))`: how many `m.Run()` calls were found, and the edits.
fn test_main_edits(source: &str) -> Result<Option<(usize, Vec<Edit>)>, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .map_err(|e| format!("cannot load the Go grammar: {e}"))?;
    let Some(tree) = parser.parse(source, None) else {
        return Err("cannot parse a test file".into());
    };
    let root = tree.root_node();
    let text = |n: Node| &source[n.byte_range()];
    let mut cursor = root.walk();
    let mut os_name: Option<String> = None;
    let mut test_main: Option<Node> = None;
    for decl in root.named_children(&mut cursor) {
        match decl.kind() {
            "import_declaration" => {
                let mut specs = Vec::new();
                collect_kind(decl, "import_spec", &mut specs);
                for spec in specs {
                    let path = spec.child_by_field_name("path").map(text);
                    if path.is_some_and(|p| p.trim_matches(['"', '`']) == "os") {
                        os_name = Some(match spec.child_by_field_name("name").map(text) {
                            Some(name) => name.to_string(),
                            None => "os".to_string(),
                        });
                    }
                }
            }
            "function_declaration"
                if decl.child_by_field_name("name").map(text) == Some("TestMain") =>
            {
                test_main = Some(decl);
            }
            _ => {}
        }
    }
    let Some(decl) = test_main else {
        return Ok(None);
    };
    let Some(body) = decl.child_by_field_name("body") else {
        return Ok(None);
    };
    let param = decl
        .child_by_field_name("parameters")
        .and_then(|p| p.named_child(0))
        .and_then(|p| p.child_by_field_name("name"))
        .map(text);
    let Some(param) = param.filter(|p| *p != "_") else {
        return Ok(Some((0, Vec::new())));
    };
    let mut edits = Vec::new();
    collect_calls(body, source, param, "Run", true, &mut |node| {
        edits.push((
            node.start_byte(),
            node.end_byte(),
            format!("goleashRun({param})"),
        ));
    });
    // `os.Exit(runMain(m))` (crypto/tls): the tests run in a helper taking the *testing.M.
    if edits.is_empty() {
        let mut cursor = root.walk();
        for helper in root.named_children(&mut cursor) {
            if helper.kind() != "function_declaration" || helper.id() == decl.id() {
                continue;
            }
            let Some(helper_body) = helper.child_by_field_name("body") else {
                continue;
            };
            for name in testing_m_parameters(helper, source) {
                collect_calls(helper_body, source, name, "Run", true, &mut |node| {
                    edits.push((
                        node.start_byte(),
                        node.end_byte(),
                        format!("goleashRun({name})"),
                    ));
                });
            }
        }
    }
    let runs = edits.len();
    let mut exit = |function: Node| {
        edits.push((
            function.start_byte(),
            function.end_byte(),
            "goleashExit".into(),
        ));
    };
    match os_name.as_deref() {
        None | Some("_") => {}
        // `import . "os"` (package os's own tests): a bare `Exit(…)`.
        Some(".") => collect_bare_calls(root, source, "Exit", &mut exit),
        Some(os) => collect_calls(root, source, os, "Exit", false, &mut |node| {
            if let Some(function) = node.child_by_field_name("function") {
                exit(function);
            }
        }),
    }
    // Every os.Exit may have been the import's only use; at the end, no line moves.
    match os_name.as_deref() {
        None | Some("_") => {}
        Some(".") => edits.push((source.len(), source.len(), "\nvar _ = Exit\n".into())),
        Some(os) => edits.push((source.len(), source.len(), format!("\nvar _ = {os}.Exit\n"))),
    }
    // Right after the body's `{`, on the same line, so line numbers do not move.
    let open = body.start_byte() + 1;
    edits.push((open, open, "defer goleashAfter(); ".into()));
    edits.sort_by_key(|e| e.0);
    Ok(Some((runs, edits)))
}

use crate::syntax::walk;

/// The names of a function's parameters of type `*testing.M` (or `*alias.M`).
fn testing_m_parameters<'s>(function: Node, source: &'s str) -> Vec<&'s str> {
    let mut names = Vec::new();
    let Some(parameters) = function.child_by_field_name("parameters") else {
        return names;
    };
    let mut cursor = parameters.walk();
    for parameter in parameters.named_children(&mut cursor) {
        let is_m = parameter.child_by_field_name("type").is_some_and(|t| {
            let text: String = source[t.byte_range()].split_whitespace().collect();
            text.starts_with('*') && text.ends_with(".M")
        });
        if !is_m {
            continue;
        }
        let mut names_cursor = parameter.walk();
        for name in parameter.children_by_field_name("name", &mut names_cursor) {
            let name = &source[name.byte_range()];
            if name != "_" {
                names.push(name);
            }
        }
    }
    names
}

fn collect_kind<'t>(node: Node<'t>, kind: &str, out: &mut Vec<Node<'t>>) {
    walk(node, |n| {
        if n.kind() == kind {
            out.push(n);
            return false;
        }
        true
    });
}

/// Calls of the bare identifier `name(…)` under `node`; `found` gets the identifier.
fn collect_bare_calls(node: Node, source: &str, name: &str, found: &mut impl FnMut(Node)) {
    walk(node, |n| {
        if n.kind() == "call_expression" {
            if let Some(function) = n.child_by_field_name("function") {
                if function.kind() == "identifier" && &source[function.byte_range()] == name {
                    found(function);
                }
            }
        }
        true
    });
}

/// Calls `operand.field(…)` under `node`; `no_args`: only calls without arguments.
fn collect_calls(
    node: Node,
    source: &str,
    operand: &str,
    field: &str,
    no_args: bool,
    found: &mut impl FnMut(Node),
) {
    walk(node, |n| {
        if n.kind() != "call_expression" {
            return true;
        }
        let function = n.child_by_field_name("function");
        let args = n.child_by_field_name("arguments");
        if let (Some(function), Some(args)) = (function, args) {
            let o = function.child_by_field_name("operand");
            let f = function.child_by_field_name("field");
            if function.kind() == "selector_expression"
                && o.is_some_and(|o| o.kind() == "identifier" && &source[o.byte_range()] == operand)
                && f.is_some_and(|f| &source[f.byte_range()] == field)
                && (!no_args || args.named_child_count() == 0)
            {
                found(n);
                // A matched argument-less call holds no other call.
                return !no_args;
            }
        }
        true
    });
}

/// Replaces the ranges; the replacements hold no newline, so line numbers in stacks and
/// compiler messages still match the user's file.
fn apply_edits(source: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(source.len() + 16 * edits.len());
    let mut at = 0;
    for (start, end, replacement) in edits {
        out.push_str(&source[at..*start]);
        out.push_str(replacement);
        at = *end;
    }
    out.push_str(&source[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_m_run_and_exit_and_defers_the_check() {
        let src = "package p\n\nimport (\n\tstdos \"os\"\n\t\"testing\"\n)\n\nfunc TestMain(mm *testing.M) {\n\tsetup()\n\tcode := mm.Run()\n\tif code == 0 { code = func() int { return mm.Run() }() }\n\tstdos.Exit(code)\n}\n\nfunc other(m *testing.M) { m.Run(); stdos.Exit(3) }\n";
        let (runs, edits) = test_main_edits(src).unwrap().unwrap();
        assert_eq!(runs, 2);
        let out = apply_edits(src, &edits);
        assert!(out.contains("func TestMain(mm *testing.M) {defer goleashAfter(); \n"));
        assert!(out.contains("code := goleashRun(mm)"));
        assert!(out.contains("return goleashRun(mm)"));
        assert!(out.contains("\tgoleashExit(code)\n"));
        // Only TestMain's m.Run is the tests' run; every os.Exit of the file ends the process.
        assert!(out.contains("func other(m *testing.M) { m.Run(); goleashExit(3) }"));
        assert!(out.ends_with("\nvar _ = stdos.Exit\n"));
        assert_eq!(out.lines().count(), src.lines().count() + 2);
    }

    #[test]
    fn dot_imported_os_exit_is_wrapped() {
        let src = "package os_test\n\nimport (\n\t. \"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) {\n\tif Getenv(\"X\") == \"1\" {\n\t\tExit(0)\n\t}\n\tExit(m.Run())\n}\n";
        let (runs, edits) = test_main_edits(src).unwrap().unwrap();
        assert_eq!(runs, 1);
        let out = apply_edits(src, &edits);
        assert!(out.contains("\t\tgoleashExit(0)\n"));
        assert!(out.contains("\tgoleashExit(goleashRun(m))\n"));
        assert!(out.ends_with("\nvar _ = Exit\n"));
    }

    #[test]
    fn m_run_in_a_helper_is_wrapped() {
        let src = "package tls\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) {\n\tos.Exit(runMain(m))\n}\n\nfunc runMain(tm *testing.M) int {\n\tdefer cleanup()\n\treturn tm.Run()\n}\n";
        let (runs, edits) = test_main_edits(src).unwrap().unwrap();
        assert_eq!(runs, 1);
        let out = apply_edits(src, &edits);
        assert!(out.contains("\treturn goleashRun(tm)\n"), "{out}");
        assert!(out.contains("\tgoleashExit(runMain(m))\n"), "{out}");
    }

    #[test]
    fn no_test_main_and_unnamed_parameter() {
        assert!(test_main_edits("package p\nfunc TestX(t *testing.T) {}\n")
            .unwrap()
            .is_none());
        assert_eq!(
            test_main_edits("package p\nfunc TestMain(*testing.M) {}\n")
                .unwrap()
                .map(|(runs, _)| runs),
            Some(0)
        );
    }

    #[test]
    fn deeply_nested_test_main_is_walked_without_recursion() {
        // Generated tests nest deeply; a recursive walk overflowed the test thread's stack.
        let depth = 50_000;
        let src = format!(
            "package p\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) {{\n{}os.Exit(m.Run()){}\n}}\n",
            "{".repeat(depth),
            "}".repeat(depth)
        );
        let (runs, edits) = test_main_edits(&src).unwrap().unwrap();
        assert_eq!(runs, 1);
        let out = apply_edits(&src, &edits);
        assert!(out.contains("goleashExit(goleashRun(m))"));
    }

    #[test]
    fn harness_imports_are_the_templates() {
        let block = HARNESS
            .split_once("import (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .unwrap()
            .0;
        let mut imported: Vec<&str> = block.lines().filter_map(|l| l.split('"').nth(1)).collect();
        let mut listed = HARNESS_IMPORTS.to_vec();
        imported.sort_unstable();
        listed.sort_unstable();
        assert_eq!(imported, listed);
    }

    #[test]
    fn keys_are_stable_and_safe() {
        let a = file_key("example.com/x/my-pkg");
        assert_eq!(a, file_key("example.com/x/my-pkg"));
        assert!(a.starts_with("my_pkg-"));
        assert_ne!(a, file_key("example.com/y/my-pkg"));
    }
}
