//! SARIF 2.1.0 for code-scanning UIs: one result per leaked group, located at the group's
//! blocking site, with the creator as a related location.

use serde_json::{json, Value};

use goleash_analyze::{FrameView, Verdict};

use goleash_gotest::{TestLeaks, TestRun};

const LEAK_RULE: &str = "goroutine-leak";
const DEADLOCK_RULE: &str = "test-deadlock";

pub fn render(run: &TestRun) -> String {
    let mut results = Vec::new();
    for pkg in &run.packages {
        for test in &pkg.tests {
            for_test(
                &mut results,
                LEAK_RULE,
                &pkg.import_path,
                test,
                run.fail_on,
                "left",
            );
        }
        if let Some(deadlock) = &pkg.deadlock {
            for test in &deadlock.tests {
                for_test(
                    &mut results,
                    DEADLOCK_RULE,
                    &pkg.import_path,
                    test,
                    run.fail_on,
                    "had stuck",
                );
            }
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "goleash",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/goleash",
                "rules": [
                    {
                        "id": LEAK_RULE,
                        "shortDescription": {"text": "A test left goroutines running after it ended"},
                        "help": {"text": "Every goroutine a test starts should end before the test returns: close channels, cancel contexts, stop tickers, close connections."}
                    },
                    {
                        "id": DEADLOCK_RULE,
                        "shortDescription": {"text": "A test hung until go test's -timeout"},
                        "help": {"text": "Goroutines of the test waited on each other (or on something that never happens) until the timeout panic."}
                    }
                ]
            }},
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn for_test(
    results: &mut Vec<Value>,
    rule: &str,
    package: &str,
    test: &TestLeaks,
    fail_on: Verdict,
    verb: &str,
) {
    for group in &test.groups {
        let level = if group.verdict >= fail_on {
            "error"
        } else {
            "warning"
        };
        let mut text = format!(
            "{} {verb} {} goroutine{} blocked in a {} ({}): {}. Fix: {}",
            test.display_name(),
            group.count,
            if group.count == 1 { "" } else { "s" },
            group.category.name(),
            group.verdict.name(),
            group.reason,
            group.hint
        );
        if let Some(creator) = &group.creator {
            text.push_str(&format!(" Started by {}.", creator.function));
        }
        let mut result = json!({
            "ruleId": rule,
            "level": level,
            "message": {"text": text},
            "properties": {
                "package": package,
                "test": test.display_name(),
                "count": group.count,
                "verdict": group.verdict.name(),
                "category": group.category,
            },
        });
        if let Some(site) = &group.site {
            result["locations"] = json!([location(site)]);
        }
        let mut related = Vec::new();
        if let Some(creator) = &group.creator {
            let mut r = location(creator);
            r["id"] = json!(1);
            r["message"] = json!({"text": "the go statement that started it"});
            related.push(r);
        }
        if let Some(test) = &group.in_test {
            let mut r = location(test);
            r["id"] = json!(2);
            r["message"] = json!({"text": "the line of the test that led to it"});
            related.push(r);
        }
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        results.push(result);
    }
}

fn location(frame: &FrameView) -> Value {
    let uri = super::terminal::short_path(&frame.file);
    let uri = if uri.starts_with('/') {
        format!("file://{uri}")
    } else {
        uri
    };
    json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": frame.line.max(1)},
        },
        "logicalLocations": [{"fullyQualifiedName": frame.function, "kind": "function"}],
    })
}
