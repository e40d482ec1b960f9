//! Reads a `go test` command line just far enough to run `go list` on the same packages with
//! the same build flags, and to know which output format `go test` will print. Everything the
//! user typed is passed to `go test` unchanged.

/// Flags of `go build` and `go test` that take a value as the next argument when written
/// without `=`. Anything else starting with `-` is a boolean or `-flag=value`.
const VALUE_FLAGS: &[&str] = &[
    // build flags (go help build)
    "C",
    "p",
    "asmflags",
    "buildmode",
    "compiler",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
    "o",
    "exec",
    "covermode",
    "coverpkg",
    "vet",
    // test flags (go help testflag)
    "bench",
    "benchtime",
    "count",
    "cpu",
    "fuzz",
    "fuzztime",
    "fuzzminimizetime",
    "list",
    "parallel",
    "run",
    "skip",
    "timeout",
    "shuffle",
    "blockprofile",
    "blockprofilerate",
    "coverprofile",
    "cpuprofile",
    "memprofile",
    "memprofilerate",
    "mutexprofile",
    "mutexprofilefraction",
    "outputdir",
    "trace",
];

/// Build flags that change which files make up a package, so `go list` must see them too.
const LIST_FLAGS: &[&str] = &[
    "tags", "mod", "modfile", "overlay", "compiler", "race", "msan", "asan", "C",
];

/// What goleash needs to know about a `go test` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoTestArgs {
    /// Every argument as the user gave it.
    pub all: Vec<String>,
    /// Package patterns (before `-args`).
    pub packages: Vec<String>,
    /// Flags for `go list`, each as one `-name=value` argument.
    pub list_flags: Vec<String>,
    /// `-C dir`: go changes into it before anything else.
    pub chdir: Option<String>,
    /// The user's own `-overlay` file, merged into goleash's.
    pub overlay: Option<String>,
    /// `-json`: go test prints test2json events.
    pub json: bool,
    /// The user gave `-count`.
    pub count: bool,
    /// `-c`, `-n`, `-list`, `-exec`-less `-o` without run…: the tests will not run, so no
    /// goroutines can be checked.
    pub no_run: Option<&'static str>,
}

fn flag_name(arg: &str) -> Option<(&str, Option<&str>)> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    if body.is_empty() {
        return None;
    }
    // go test accepts `-test.run` as well as `-run`.
    let body = body.strip_prefix("test.").unwrap_or(body);
    Some(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

impl GoTestArgs {
    pub fn parse(args: &[String]) -> GoTestArgs {
        let mut parsed = GoTestArgs {
            all: args.to_vec(),
            ..GoTestArgs::default()
        };
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "-args" || arg == "--args" {
                break;
            }
            let Some((name, inline)) = flag_name(arg) else {
                parsed.packages.push(arg.clone());
                i += 1;
                continue;
            };
            let takes_value = VALUE_FLAGS.contains(&name);
            let value = match inline {
                Some(v) => Some(v.to_string()),
                None if takes_value => {
                    i += 1;
                    args.get(i).cloned()
                }
                None => None,
            };
            let bool_on = value.as_deref().is_none_or(|v| v != "false");
            match name {
                "json" => parsed.json = bool_on,
                "count" => parsed.count = true,
                "C" => parsed.chdir = value.clone(),
                "overlay" => parsed.overlay = value.clone(),
                "c" if bool_on => parsed.no_run = Some("-c only compiles the test binary"),
                "n" if bool_on => parsed.no_run = Some("-n only prints the commands"),
                "list" => parsed.no_run = Some("-list only lists the tests"),
                _ => {}
            }
            if LIST_FLAGS.contains(&name) && name != "C" && name != "overlay" {
                parsed.list_flags.push(match &value {
                    Some(v) if takes_value || inline.is_some() => format!("-{name}={v}"),
                    _ => format!("-{name}"),
                });
            }
            i += 1;
        }
        parsed
    }

    /// The arguments for `go test`, with goleash's overlay in place of the user's.
    pub fn with_overlay(&self, overlay: &str) -> Vec<String> {
        let mut out = Vec::with_capacity(self.all.len() + 3);
        let mut rest = Vec::with_capacity(self.all.len());
        let mut i = 0;
        let mut in_args = false;
        while i < self.all.len() {
            let arg = &self.all[i];
            if in_args {
                rest.push(arg.clone());
                i += 1;
                continue;
            }
            if arg == "-args" || arg == "--args" {
                in_args = true;
                rest.push(arg.clone());
                i += 1;
                continue;
            }
            match flag_name(arg) {
                // -C must come first on go's command line; it is moved there.
                Some(("C", inline)) => {
                    out.push("-C".to_string());
                    match inline {
                        Some(v) => out.push(v.to_string()),
                        None => {
                            i += 1;
                            out.extend(self.all.get(i).cloned());
                        }
                    }
                }
                // The user's overlay is merged into goleash's; only that one is passed.
                Some(("overlay", inline)) => {
                    if inline.is_none() {
                        i += 1;
                    }
                }
                _ => rest.push(arg.clone()),
            }
            i += 1;
        }
        out.push(format!("-overlay={overlay}"));
        // A cached result replays the output without running the test binary, so there would
        // be no goroutines to check. The check reads its environment outside the tests, where
        // the test cache does not see it, hence the explicit -count=1 (any -count disables
        // caching).
        if !self.count {
            out.push("-count=1".to_string());
        }
        out.extend(rest);
        out
    }

    /// The arguments to run `tests` of one package again: the user's build flags and the test
    /// binary's own arguments (after `-args`), without what selects tests, reports them in
    /// another shape or writes files the first run wrote (profiles, -o, -json, -v), and
    /// without a shuffle, so the same tests run in the same order as written.
    pub fn rerun(&self, package: &str, tests: &[String]) -> GoTestArgs {
        const DROPPED: &[&str] = &[
            "run",
            "skip",
            "bench",
            "benchtime",
            "benchmem",
            "fuzz",
            "fuzztime",
            "fuzzminimizetime",
            "list",
            "json",
            "v",
            "count",
            "shuffle",
            "failfast",
            "c",
            "n",
            "o",
            "cover",
            "covermode",
            "coverpkg",
            "coverprofile",
            "blockprofile",
            "blockprofilerate",
            "cpuprofile",
            "memprofile",
            "memprofilerate",
            "mutexprofile",
            "mutexprofilefraction",
            "outputdir",
            "trace",
            "fullpath",
        ];
        let names: Vec<String> = tests.iter().map(|t| regex_quote(t)).collect();
        let run = format!("-run=^({})$", names.join("|"));
        let mut out = Vec::with_capacity(self.all.len() + 3);
        let mut i = 0;
        while i < self.all.len() {
            let arg = &self.all[i];
            if arg == "-args" || arg == "--args" {
                out.push(run);
                out.push(package.to_string());
                out.extend(self.all[i..].iter().cloned());
                return GoTestArgs::parse(&out);
            }
            match flag_name(arg) {
                None => {}
                Some((name, inline)) => {
                    let takes_value = VALUE_FLAGS.contains(&name) && inline.is_none();
                    if !DROPPED.contains(&name) {
                        out.push(arg.clone());
                        if takes_value {
                            out.extend(self.all.get(i + 1).cloned());
                        }
                    }
                    if takes_value {
                        i += 1;
                    }
                }
            }
            i += 1;
        }
        out.push(run);
        out.push(package.to_string());
        GoTestArgs::parse(&out)
    }
}

/// A test name as a literal in Go's regexp syntax (`-run`).
fn regex_quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn packages_and_flags_are_told_apart() {
        let a = GoTestArgs::parse(&args(
            "-run TestX -count=1 -tags integration -race -v ./... ./cmd -json -args -foo bar",
        ));
        assert_eq!(a.packages, ["./...", "./cmd"]);
        assert_eq!(a.list_flags, ["-tags=integration", "-race"]);
        assert!(a.json);
        assert_eq!(a.no_run, None);
    }

    #[test]
    fn chdir_moves_first_and_user_overlay_is_replaced() {
        let a = GoTestArgs::parse(&args("-v -overlay my.json -C sub ./pkg"));
        assert_eq!(a.chdir.as_deref(), Some("sub"));
        assert_eq!(a.overlay.as_deref(), Some("my.json"));
        assert_eq!(a.packages, ["./pkg"]);
        assert_eq!(
            a.with_overlay("/tmp/o.json"),
            args("-C sub -overlay=/tmp/o.json -count=1 -v ./pkg")
        );
    }

    #[test]
    fn test_dot_prefix_and_double_dash_are_flags() {
        let a = GoTestArgs::parse(&args("--test.run=X -test.count 2 --json pkg"));
        assert_eq!(a.packages, ["pkg"]);
        assert!(a.json);
    }

    #[test]
    fn a_rerun_keeps_build_flags_and_binary_arguments_and_selects_the_tests() {
        let a = GoTestArgs::parse(&args(
            "-C sub -tags integration -race -run TestX -v -json -count 3 -shuffle on -cpuprofile c.out -timeout 2m ./... ./cmd -args -flag value",
        ));
        let again = a.rerun("m/pkg", &["TestA".into(), "Test_B".into()]);
        assert_eq!(
            again.all,
            args("-C sub -tags integration -race -timeout 2m -run=^(TestA|Test_B)$ m/pkg -args -flag value")
        );
        let again = GoTestArgs::parse(&args("-race ./...")).rerun("m/p", &["TestA".into()]);
        assert_eq!(again.all, args("-race -run=^(TestA)$ m/p"));
        assert!(!again.json && !again.count);
        assert_eq!(regex_quote("Test.x(1)"), "Test\\.x\\(1\\)");
    }

    #[test]
    fn modes_that_run_nothing_are_noticed() {
        assert!(GoTestArgs::parse(&args("-c ./x")).no_run.is_some());
        assert!(GoTestArgs::parse(&args("-list . ./x")).no_run.is_some());
        assert!(GoTestArgs::parse(&args("-json=false")).no_run.is_none());
    }
}
