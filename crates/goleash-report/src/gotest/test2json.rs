//! Events in `go test -json`'s own format (cmd/test2json) that mark leaking tests and their
//! packages failed, appended to the stream go test wrote, so gotestsum, IDEs and CI
//! annotations show the leak as a failure.

use std::fmt::Write as _;

use goleash_gotest::TestRun;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Event<'a> {
    action: &'static str,
    package: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed: Option<f64>,
}

/// One `output` and one `fail` event per leaking test (a leak outside any test fails the
/// package only), then per package with leaks an `output` line and a `fail`. Empty when
/// nothing leaked at or above `--fail-on`.
pub fn fail_events(run: &TestRun) -> String {
    let mut out = String::new();
    let mut push = |event: Event<'_>| {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(out, "{line}");
        }
    };
    for pkg in &run.packages {
        let package = pkg.import_path.as_str();
        let leaking = pkg.tests.iter().filter(|t| t.leaked > 0);
        let mut total = 0;
        for test in leaking {
            total += test.leaked;
            let Some(name) = test.test.as_ref().map(|t| t.name.as_str()) else {
                continue;
            };
            // The user's line: the blocking site when it is theirs, else the test's own line.
            let sites: Vec<String> = test
                .groups
                .iter()
                .filter_map(|g| g.site.as_ref().filter(|s| s.user).or(g.in_test.as_ref()))
                .map(|s| format!("{}:{}", s.file, s.line))
                .collect();
            push(Event {
                action: "output",
                package,
                test: Some(name),
                output: Some(format!(
                    "    goleash: {name} leaked {} goroutine{} ({})\n",
                    test.leaked,
                    if test.leaked == 1 { "" } else { "s" },
                    sites.join(", ")
                )),
                elapsed: None,
            });
            push(Event {
                action: "output",
                package,
                test: Some(name),
                output: Some(format!("--- FAIL: {name} (goroutine leak)\n")),
                elapsed: None,
            });
            push(Event {
                action: "fail",
                package,
                test: Some(name),
                output: None,
                elapsed: Some(0.0),
            });
        }
        total += pkg
            .deadlock
            .as_ref()
            .map_or(0, |d| d.tests.iter().map(|t| t.leaked).sum());
        if total == 0 {
            continue;
        }
        push(Event {
            action: "output",
            package,
            test: None,
            output: Some(format!(
                "FAIL\t{package}\tgoleash: {total} goroutine{} leaked\n",
                if total == 1 { "" } else { "s" }
            )),
            elapsed: None,
        });
        push(Event {
            action: "fail",
            package,
            test: None,
            output: None,
            elapsed: Some(0.0),
        });
    }
    out
}
