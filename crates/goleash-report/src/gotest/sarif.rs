//! SARIF 2.1.0 for code-scanning UIs: one result per leaked group, located at the group's
//! blocking site, with the creator as a related location.

use goleash_analyze::{FrameView, Verdict};

use goleash_gotest::{TestLeaks, TestRun};

use crate::sarif::{self, Level, Location, Region, Text};

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
    let rule = |id: &str, short: &str, help: &str| sarif::Rule {
        id: id.to_string(),
        name: None,
        short_description: Text::new(short),
        full_description: None,
        help: sarif::Help {
            text: help.to_string(),
            markdown: None,
        },
        default_configuration: None,
        properties: sarif::Properties::default(),
    };
    let rules = vec![
        rule(
            LEAK_RULE,
            "A test left goroutines running after it ended",
            "Every goroutine a test starts should end before the test returns: close channels, cancel contexts, stop tickers, close connections.",
        ),
        rule(
            DEADLOCK_RULE,
            "A test hung until go test's -timeout",
            "Goroutines of the test waited on each other (or on something that never happens) until the timeout panic.",
        ),
    ];
    let driver = sarif::Driver::goleash(env!("CARGO_PKG_VERSION"), rules);
    sarif::Log::single(driver, None, results).to_json() + "\n"
}

fn for_test(
    results: &mut Vec<sarif::Finding>,
    rule: &str,
    package: &str,
    test: &TestLeaks,
    fail_on: Verdict,
    verb: &str,
) {
    for group in &test.groups {
        let level = if group.verdict >= fail_on {
            Level::Error
        } else {
            Level::Warning
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
        let properties = sarif::Properties {
            package: Some(package.to_string()),
            test: Some(test.display_name().to_string()),
            count: Some(group.count),
            verdict: Some(group.verdict.name()),
            category: Some(group.category),
            ..sarif::Properties::default()
        };
        // Code scanning shows the primary location in the repository: a site in the standard
        // library (a leftover server's accept loop) goes to the related locations, and the
        // test's own line leads.
        let site_is_users = group.site.as_ref().is_some_and(|s| s.user);
        let primary = if site_is_users {
            group.site.as_ref()
        } else {
            group.in_test.as_ref().or(group.creator.as_ref())
        };
        let mut related = Vec::new();
        if let (false, Some(site)) = (site_is_users, &group.site) {
            related.push(location(site).related(0, "where it is blocked"));
        }
        if let Some(creator) = &group.creator {
            related.push(location(creator).related(1, "the go statement that started it"));
        }
        if let Some(test) = &group.in_test {
            related.push(location(test).related(2, "the line of the test that led to it"));
        }
        results.push(sarif::Finding {
            rule_id: rule.to_string(),
            rule_index: None,
            rank: None,
            level,
            message: Text::new(text),
            locations: primary.into_iter().map(location).collect(),
            related_locations: related,
            partial_fingerprints: Default::default(),
            properties,
        });
    }
}

fn location(frame: &FrameView) -> Location {
    let mut at = Location::file(
        &super::terminal::short_path(&frame.file),
        Region {
            start_line: frame.line.max(1) as usize,
            ..Region::default()
        },
    );
    at.logical_locations = vec![sarif::LogicalLocation {
        fully_qualified_name: frame.function.to_string(),
        kind: "function",
    }];
    at
}
