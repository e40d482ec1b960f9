//! Which test started a goroutine. With `GODEBUG=tracebackancestors=N` a goroutine's dump
//! carries the stacks its creators had when they started it, nearest first; the first of those
//! stacks that runs under `testing.tRunner` is the (sub)test goroutine, and the frame just above
//! tRunner is the test's body. Subtest names come from the `t.Run("name", …)` call in the
//! source, found with tree-sitter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use goleash_analyze::is_runtime_frame;
use goleash_model::{Frame, RawGroup, Snapshot};
use serde::Serialize;
use tree_sitter::{Node, Parser, Tree};

/// The test a group of goroutines belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TestName {
    /// `TestX`, or `TestX/sub/subsub` as `go test -run` spells it.
    pub name: String,
    /// The top-level test function.
    pub test: String,
    /// How it was found: `ancestors` (GODEBUG=tracebackancestors), `trace` (the execution
    /// trace of `--trace`: the test running on the goroutine that started it, transitively),
    /// `creator` (the `created by` frame names a test function), `stack`, or `label` (the
    /// check's test-name label alone).
    pub via: &'static str,
    /// `test`, `benchmark`, `fuzz` (a fuzz target and its seed inputs) or `example`.
    pub kind: &'static str,
}

impl TestName {
    /// A name read from the execution trace: the full `TestX/sub` the harness logged.
    pub(crate) fn traced(name: &str) -> TestName {
        let test = name.split('/').next().unwrap_or(name);
        TestName::new(name.to_string(), test, "trace")
    }

    fn new(name: String, test: &str, via: &'static str) -> TestName {
        TestName {
            name,
            test: test.to_string(),
            via,
            kind: kind_of(test),
        }
    }
}

/// The pprof label goleash's check gives each test goroutine: the test's full name as
/// `go test -run` spells it (see the harness). Goroutines inherit it from their creator.
pub(crate) const NAME_LABEL: &str = "goleash.test";

fn kind_of(test: &str) -> &'static str {
    if test.starts_with("Example") {
        "example"
    } else if test.starts_with("Benchmark") {
        "benchmark"
    } else if test.starts_with("Fuzz") {
        "fuzz"
    } else {
        "test"
    }
}

/// Reads test files on demand to name subtests; one parse per file.
#[derive(Default)]
pub(crate) struct Attributor {
    /// Import path → directory, to find files of a -trimpath build.
    dirs: Vec<(String, PathBuf)>,
    files: HashMap<PathBuf, Option<(String, Tree)>>,
}

/// A stack as frames, leaf first, without the runtime's frames.
type Stack<'a> = Vec<&'a Frame>;

impl Attributor {
    pub(crate) fn new(dirs: Vec<(String, PathBuf)>) -> Attributor {
        Attributor {
            dirs,
            files: HashMap::new(),
        }
    }

    /// The test that (transitively) started the goroutines of `raw`, if any.
    pub(crate) fn attribute(&mut self, snapshot: &Snapshot, raw: &RawGroup) -> Option<TestName> {
        let interner = &snapshot.interner;
        let visible = |stack: goleash_model::StackId| -> Stack<'_> {
            interner
                .stack(stack)
                .iter()
                .map(|&f| interner.frame(f))
                .filter(|f| !is_runtime_frame(&f.function))
                .collect()
        };
        let mut chain: Vec<Stack<'_>> = vec![visible(raw.key.stack)];
        chain.extend(interner.ancestry(raw.key.ancestry).map(visible));

        // Test goroutines in the chain, innermost first: (index in chain, body frame). A fuzz
        // input runs in a goroutine of its own but bears its target's name: not a level.
        let runners: Vec<(usize, &Frame)> = chain
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                !s.iter()
                    .any(|f| &*f.function == "testing.(*F).Fuzz.func1.1")
            })
            .filter_map(|(i, s)| test_body(s).map(|b| (i, b)))
            .collect();
        let label = interner
            .labels(raw.key.labels)
            .iter()
            .find(|(key, _)| &**key == NAME_LABEL)
            .map(|(_, value)| value.to_string());
        if let Some(&(_, body)) = runners.last() {
            if let Some(test) = top_level_test(&body.function) {
                if is_plain_test(&body.function) {
                    let depth = runners.len();
                    // The label is the name of the newest (sub)test started along the
                    // goroutine's line of creators; its first `depth` parts are this test's.
                    let labelled = label.as_deref().and_then(|l| {
                        let parts: Vec<&str> = l.split('/').collect();
                        (parts.len() >= depth && parts[0] == test).then(|| parts[..depth].join("/"))
                    });
                    let name = labelled.unwrap_or_else(|| {
                        let mut names = vec![test.to_string()];
                        // Each inner runner is a subtest of the one outside it.
                        for pair in runners.windows(2).rev() {
                            let (inner, outer) = (pair[0], pair[1]);
                            names.push(self.subtest_name(inner.1, &chain[outer.0]));
                        }
                        names.join("/")
                    });
                    let via = if runners.len() == 1 && runners[0].0 == 0 {
                        "stack"
                    } else {
                        "ancestors"
                    };
                    return Some(TestName::new(name, test, via));
                }
            }
        }
        // No complete chain (ancestors cut off, or tracebackancestors off): a test function in
        // the creator or the stack still names the test, if not the subtest.
        let creator = raw.key.creator.map(|c| interner.frame(c));
        if let Some(test) = creator.and_then(|c| top_level_test(&c.function)) {
            return Some(TestName::new(test.to_string(), test, "creator"));
        }
        for stack in &chain {
            for frame in stack {
                if let Some(test) = top_level_test(&frame.function) {
                    return Some(TestName::new(test.to_string(), test, "stack"));
                }
            }
        }
        // Without ancestors a helper's goroutine shows no test frame, but it carries the label
        // of the test that (transitively) started it. Which level of it is unknown, so only the
        // top-level test is named.
        let top = label?.split('/').next()?.to_string();
        top_level_test(&format!("label.{top}"))?;
        Some(TestName::new(top.clone(), &top, "label"))
    }

    /// The name `t.Run` gave the subtest whose body is `body`; `outer` is the stack of the
    /// goroutine that called t.Run.
    fn subtest_name(&mut self, body: &Frame, outer: &[&Frame]) -> String {
        // A closure body: the t.Run call whose function literal holds the body's line.
        if let Some(name) = self.literal_around(&body.file, body.line, true) {
            return name;
        }
        // A named body: the t.Run call at the caller's line.
        let caller = outer
            .iter()
            .position(|f| &*f.function == "testing.(*T).Run")
            .and_then(|i| outer.get(i + 1));
        if let Some(name) = caller.and_then(|c| self.literal_around(&c.file, c.line, false)) {
            return name;
        }
        let short = body.function.rsplit('.').next().unwrap_or(&body.function);
        format!("<{short}>")
    }

    fn resolve(&self, file: &str) -> Option<PathBuf> {
        let path = Path::new(file);
        if path.is_absolute() {
            return Some(path.to_path_buf());
        }
        // -trimpath: `import/path/file.go`.
        let (dir, name) = file.rsplit_once('/')?;
        self.dirs
            .iter()
            .find(|(import, _)| import == dir)
            .map(|(_, d)| d.join(name))
    }

    /// The first argument of a `.Run(…)` call near `line` of `file`: a string literal's value,
    /// or `{expression}`. `inside_literal`: the line is inside the call's function literal; otherwise the
    /// line is the call's own (give or take one: return addresses may point past the call).
    fn literal_around(&mut self, file: &str, line: u32, inside_literal: bool) -> Option<String> {
        let path = self.resolve(file)?;
        let entry = self.files.entry(path.clone()).or_insert_with(|| {
            let source = std::fs::read_to_string(&path).ok()?;
            let mut parser = Parser::new();
            parser.set_language(&tree_sitter_go::LANGUAGE.into()).ok()?;
            let tree = parser.parse(&source, None)?;
            Some((source, tree))
        });
        let (source, tree) = entry.as_ref()?;
        let row = (line as usize).checked_sub(1)?;
        let mut best: Option<(usize, String)> = None;
        find_run_calls(tree.root_node(), source, &mut |call, args| {
            let start = call.start_position().row;
            let end = call.end_position().row;
            let hit = if inside_literal {
                // A frame on the literal's first line is the enclosing function calling
                // t.Run, unless the whole literal is on that line.
                args.named_child(1).is_some_and(|f| {
                    let (first, last) = (f.start_position().row, f.end_position().row);
                    f.kind() == "func_literal"
                        && ((first < row && row <= last) || (first == last && first == row))
                })
            } else {
                start <= row + 1 && row <= end + 1
            };
            if !hit {
                return;
            }
            let Some(first) = args.named_child(0) else {
                return;
            };
            // A name computed at run time (`tc.name`) is shown as its expression in braces:
            // which value it had is not in the dump.
            let name = string_literal(first, source).unwrap_or_else(|| {
                let expr: String = source[first.byte_range()].chars().take(40).collect();
                format!("{{{expr}}}")
            });
            // The innermost call wins: the smallest span.
            let span = end - start;
            if best.as_ref().is_none_or(|(s, _)| span < *s) {
                best = Some((span, name));
            }
        });
        best.map(|(_, name)| rewrite_subtest_name(&name))
    }
}

fn find_run_calls<'t>(node: Node<'t>, source: &str, f: &mut impl FnMut(Node<'t>, Node<'t>)) {
    crate::syntax::walk(node, |n| {
        if n.kind() == "call_expression" {
            let function = n.child_by_field_name("function");
            let args = n.child_by_field_name("arguments");
            if let (Some(function), Some(args)) = (function, args) {
                if function.kind() == "selector_expression"
                    && function
                        .child_by_field_name("field")
                        .is_some_and(|f| &source[f.byte_range()] == "Run")
                    && args.named_child_count() == 2
                {
                    f(n, args);
                }
            }
        }
        true
    });
}

fn string_literal(node: Node, source: &str) -> Option<String> {
    let text = &source[node.byte_range()];
    match node.kind() {
        "raw_string_literal" => Some(text.trim_matches('`').to_string()),
        "interpreted_string_literal" => {
            // Subtest names are rarely escaped; JSON's escapes are Go's common subset.
            serde_json::from_str::<String>(text).ok()
        }
        _ => None,
    }
}

/// go test's spelling of a subtest name: spaces become underscores (testing.rewrite).
fn rewrite_subtest_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

/// Where the testing package hands over to a test's own code: a test's or a fuzz input's
/// goroutine (`tRunner`), a fuzz target's (`fRunner`), an example run on the main goroutine.
const RUNNERS: [&str; 3] = ["testing.tRunner", "testing.fRunner", "testing.runExample"];

/// The index of a test's body in a stack (leaf first, runtime frames left out): above the
/// nearest runner, the lowest frame of a test function (`TestX`, `TestX.func1`, `FuzzX`,
/// `ExampleX`). A call inlined into the body is printed in the ancestors' stacks out of order
/// (below the test's own frame), and a fuzz input runs under testing's and reflect's frames,
/// so the frame right above the runner is not always the test's. Without a test function,
/// the nearest frame outside testing and reflect.
pub(crate) fn body_index(functions: &[&str]) -> Option<usize> {
    let runner = functions.iter().position(|f| RUNNERS.contains(f))?;
    (0..runner)
        .rev()
        .find(|&i| top_level_test(functions[i]).is_some())
        .or_else(|| {
            (0..runner).rev().find(|&i| {
                !functions[i].starts_with("testing.") && !functions[i].starts_with("reflect.")
            })
        })
}

pub(crate) fn is_runner(function: &str) -> bool {
    RUNNERS.contains(&function)
}

/// The body of a test goroutine (see [`body_index`]).
fn test_body<'a>(stack: &[&'a Frame]) -> Option<&'a Frame> {
    let functions: Vec<&str> = stack.iter().map(|f| &*f.function).collect();
    body_index(&functions).map(|i| stack[i])
}

/// `pkg.TestX` (no closure or method suffix).
fn is_plain_test(function: &str) -> bool {
    let (_, rest) = split_package(function);
    !rest.contains('.')
}

/// `TestX` from `import/path.TestX`, `import/path.TestX.func1.2`, `import/path_test.TestX`.
pub(crate) fn top_level_test(function: &str) -> Option<&str> {
    let (_, rest) = split_package(function);
    let first = rest.split('.').next()?;
    ["Test", "Benchmark", "Fuzz", "Example"]
        .iter()
        .any(|prefix| {
            first.strip_prefix(prefix).is_some_and(|tail| {
                !tail.starts_with(|c: char| c.is_lowercase())
                    // `TestMain` runs the tests; it is not one.
                    && first != "TestMain"
            })
        })
        .then_some(first)
}

/// Splits `a.b/c/pkg.Func.func1` at the dot after the last slash.
fn split_package(function: &str) -> (&str, &str) {
    let after_slash = function.rfind('/').map_or(0, |i| i + 1);
    match function[after_slash..].find('.') {
        Some(dot) => (
            &function[..after_slash + dot],
            &function[after_slash + dot + 1..],
        ),
        None => (function, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_calls_are_found_in_deeply_nested_tests() {
        let depth = 50_000;
        let source = format!(
            "package p\n\nfunc TestDeep(t *testing.T) {{\n{}t.Run(\"inner\", func(t *testing.T) {{}}){}\n}}\n",
            "{".repeat(depth),
            "}".repeat(depth)
        );
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_go::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(&source, None).unwrap();
        let mut names = Vec::new();
        find_run_calls(tree.root_node(), &source, &mut |_, args| {
            names.push(string_literal(args.named_child(0).unwrap(), &source));
        });
        assert_eq!(names, vec![Some("inner".to_string())]);
    }

    #[test]
    fn test_functions_are_recognised() {
        assert_eq!(
            top_level_test("a.b/c/leaky.TestSubtests.func2.1"),
            Some("TestSubtests")
        );
        assert_eq!(top_level_test("m/x_test.TestFoo"), Some("TestFoo"));
        assert_eq!(top_level_test("m/x.Test"), Some("Test"));
        assert_eq!(top_level_test("m/x.Testify"), None);
        assert_eq!(top_level_test("m/x.TestMain"), None);
        assert_eq!(top_level_test("m/x.(*T).Test"), None);
        assert_eq!(top_level_test("main.BenchmarkX"), Some("BenchmarkX"));
        assert_eq!(
            top_level_test("m/x.ExampleT_Method"),
            Some("ExampleT_Method")
        );
        assert_eq!(top_level_test("m/x.Examples"), None);
        assert!(is_plain_test("a.b/c/leaky.TestSubtests"));
        assert!(!is_plain_test("a.b/c/leaky.TestSubtests.func1"));
    }

    #[test]
    fn subtest_names_come_from_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x_test.go");
        std::fs::write(
            &file,
            "package x\n\nfunc TestX(t *testing.T) {\n\tt.Run(\"plain\", func(t *testing.T) {\n\t\tgo leak()\n\t})\n\tt.Run(`two words`, func(t *testing.T) {\n\t\tt.Run(\"inner\", func(t *testing.T) {\n\t\t\tgo leak()\n\t\t})\n\t})\n\tfor _, tc := range cases {\n\t\tt.Run(tc.name, func(t *testing.T) { go leak() })\n\t}\n\tt.Run(\"named\", named)\n}\n",
        )
        .unwrap();
        let mut a = Attributor::new(vec![]);
        let f = file.to_string_lossy().into_owned();
        assert_eq!(a.literal_around(&f, 5, true).as_deref(), Some("plain"));
        assert_eq!(a.literal_around(&f, 9, true).as_deref(), Some("inner"));
        assert_eq!(a.literal_around(&f, 8, true).as_deref(), Some("two_words"));
        assert_eq!(a.literal_around(&f, 13, true).as_deref(), Some("{tc.name}"));
        assert_eq!(a.literal_around(&f, 15, false).as_deref(), Some("named"));
    }
}
