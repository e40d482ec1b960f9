use goleash_model::{Frame, RuntimeProof};
use serde::{Deserialize, Serialize};

use crate::classify::Category;
use crate::expected::{expected_reason, left_open, Policy};
use crate::Config;

/// How sure goleash is that a group has no reason to live. Ordered from least to most sure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A goroutine known to live long by design (runtime workers, servers, pools, main).
    Expected,
    /// Could be a leak; the data cannot tell (no wait time, short wait, daemon-like).
    Possible,
    /// Blocked long enough on something that can leak, or crowded at one channel site.
    Likely,
    /// The runtime's leak-detecting GC proved it, or the wait can never end by language rules.
    Proven,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Expected => "expected",
            Verdict::Possible => "possible",
            Verdict::Likely => "likely",
            Verdict::Proven => "proven",
        }
    }

    pub fn parse(text: &str) -> Option<Verdict> {
        match text {
            "expected" => Some(Verdict::Expected),
            "possible" => Some(Verdict::Possible),
            "likely" => Some(Verdict::Likely),
            "proven" => Some(Verdict::Proven),
            _ => None,
        }
    }
}

/// What the verdict of one group is decided from.
pub(crate) struct Facts<'a, U: Fn(&str) -> bool> {
    pub(crate) category: Category,
    pub(crate) leaked: bool,
    pub(crate) count: u64,
    pub(crate) wait_max: Option<u32>,
    pub(crate) wait_times_missing: bool,
    pub(crate) leak_checked: bool,
    /// The runtime's own deadlock verdict printed with the dump.
    pub(crate) proof: Option<RuntimeProof>,
    pub(crate) frames: &'a [&'a Frame],
    pub(crate) creator: Option<&'a Frame>,
    pub(crate) user: &'a U,
    pub(crate) config: &'a Config,
}

/// Goroutines started straight from `main` or `init` are usually daemons meant to live as
/// long as the program; a long wait alone does not make them leaks.
fn started_from_main(creator: Option<&Frame>) -> bool {
    creator.is_some_and(|c| {
        let f = &*c.function;
        f == "main.main" || f == "main.init" || f.starts_with("main.init.")
    })
}

/// The verdict of one group and the reason shown with it. Rules run in order; the first that
/// applies decides.
pub(crate) fn judge<U: Fn(&str) -> bool>(facts: &Facts<'_, U>) -> (Verdict, String) {
    let category = facts.category;
    // A goroutine caught starting or exiting (only `runtime.goexit` in its stack), or running on
    // another thread when a crash dump was taken: there is no wait to judge.
    if facts.frames.is_empty() && !facts.leaked {
        return (
            Verdict::Expected,
            "no stack: the goroutine was starting, exiting, or running on another thread when the dump was taken".into(),
        );
    }
    if facts.leaked {
        return (
            Verdict::Proven,
            format!(
                "the runtime's leak-detecting GC proved it: no live goroutine or global can reach the {} it waits on",
                category.name()
            ),
        );
    }
    // Before the main-goroutine and daemon rules: in a deadlock those wait forever too.
    match (facts.proof, category) {
        (_, Category::Running | Category::Runtime) | (None, _) => {}
        (Some(RuntimeProof::AllAsleep), _) => {
            return (
                Verdict::Proven,
                format!(
                    "the runtime proved a deadlock (`{}`): no goroutine is left to end this {}",
                    RuntimeProof::AllAsleep.message(),
                    category.name()
                ),
            )
        }
        (Some(RuntimeProof::BubbleBlocked), Category::Synctest) => {
            return (
                Verdict::Proven,
                format!(
                    "the runtime proved it (`{}`): durably blocked in a testing/synctest bubble that is over, nothing can wake it",
                    RuntimeProof::BubbleBlocked.message()
                ),
            )
        }
        (Some(RuntimeProof::BubbleBlocked), _) => {}
    }
    if let Some(reason) = expected_reason(
        facts.frames,
        facts.creator,
        facts.user,
        &facts.config.expected,
        facts.config.policy,
    ) {
        return (Verdict::Expected, reason);
    }
    if facts.config.policy == Policy::Test {
        if let Some(what) = left_open(facts.frames, facts.user) {
            return (
                Verdict::Likely,
                format!("{what}; left open by the test: close it before the test returns (Close, or t.Cleanup)"),
            );
        }
    }
    match category {
        Category::Runtime => return (Verdict::Expected, "a runtime-internal goroutine".into()),
        Category::Synctest => {
            return (
                Verdict::Expected,
                "a durable wait inside a testing/synctest bubble".into(),
            )
        }
        Category::Running => {
            return (
                Verdict::Possible,
                "not blocked: a leak only if it never returns (compare two snapshots with goleash diff)".into(),
            )
        }
        Category::NilChan => {
            return (
                Verdict::Proven,
                "an operation on a nil channel can never proceed".into(),
            )
        }
        Category::SelectNoCases => {
            return (
                Verdict::Proven,
                "`select {}` outside the main goroutine can never proceed".into(),
            )
        }
        Category::Sleep | Category::Syscall => {
            return (
                Verdict::Possible,
                format!(
                    "a {} ends by itself; a leak only if the loop around it has no exit (watch it grow with goleash diff)",
                    category.name()
                ),
            )
        }
        _ => {}
    }
    let threshold = facts.config.likely_after_minutes;
    if facts.leak_checked && category.checked_by_leak_gc() {
        let waited = facts
            .wait_max
            .map_or(String::new(), |m| format!("blocked {m} min, but "));
        return (
            Verdict::Possible,
            format!(
                "{waited}the runtime's leak-detecting GC found the {} reachable from a live goroutine or a global: something can still wake it (a leak only if that owner never will)",
                category.name()
            ),
        );
    }
    if let Some(minutes) = facts.wait_max {
        if minutes >= threshold && category.can_leak() {
            if started_from_main(facts.creator)
                && matches!(
                    category,
                    Category::Select | Category::ChanReceive | Category::Cond | Category::IoWait
                )
            {
                return (
                    Verdict::Possible,
                    format!(
                        "blocked {minutes} min on a {}, but started from main: a daemon is meant to wait; the goroutineleak profile can prove it",
                        category.name()
                    ),
                );
            }
            return (
                Verdict::Likely,
                format!(
                    "blocked {minutes} min on a {} (threshold {threshold} min)",
                    category.name()
                ),
            );
        }
    }
    let channel_like = matches!(
        category,
        Category::ChanReceive | Category::ChanSend | Category::Select | Category::Unknown
    );
    if facts.wait_max.is_none()
        && facts.wait_times_missing
        && channel_like
        && facts.count >= facts.config.crowd_threshold
    {
        return (
            Verdict::Likely,
            format!(
                "{} goroutines blocked at one channel site (crowd threshold {}); this format has no wait times",
                facts.count, facts.config.crowd_threshold
            ),
        );
    }
    let reason = match facts.wait_max {
        Some(minutes) => format!(
            "blocked {minutes} min on a {}, under the {threshold} min threshold",
            category.name()
        ),
        None if facts.wait_times_missing => format!(
            "blocked on a {}; this format has no wait times, so how long is unknown",
            category.name()
        ),
        None => format!(
            "blocked less than a minute on a {} (or no GC has run since it blocked)",
            category.name()
        ),
    };
    (Verdict::Possible, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExpectedPattern;

    fn frame(function: &str) -> Frame {
        Frame {
            function: function.into(),
            file: "x.go".into(),
            line: 1,
        }
    }

    /// One row: what differs from a plain user goroutine blocked on a channel receive for an
    /// unknown time in a debug=2 dump, and the verdict it must get.
    struct Row {
        name: &'static str,
        category: Category,
        leaked: bool,
        count: u64,
        wait_max: Option<u32>,
        wait_times_missing: bool,
        leak_checked: bool,
        proof: Option<RuntimeProof>,
        frames: &'static [&'static str],
        creator: Option<&'static str>,
        expect: &'static [&'static str],
        verdict: Verdict,
        reason: &'static str,
        test_run: bool,
    }

    const BASE: Row = Row {
        name: "",
        category: Category::ChanReceive,
        leaked: false,
        count: 1,
        wait_max: None,
        wait_times_missing: false,
        leak_checked: false,
        proof: None,
        frames: &["example.com/app.worker"],
        creator: Some("example.com/app.Start"),
        expect: &[],
        verdict: Verdict::Possible,
        reason: "",
        test_run: false,
    };

    #[test]
    fn every_verdict_path() {
        let server: &[&str] = &[
            "net/http.(*Server).Serve",
            "net/http/httptest.(*Server).goServe.func1",
        ];
        let rows = [
            Row {
                name: "a server in a running program",
                category: Category::IoWait,
                frames: server,
                verdict: Verdict::Expected,
                reason: "accept loop",
                ..BASE
            },
            Row {
                name: "a server a test left open",
                category: Category::IoWait,
                frames: server,
                test_run: true,
                verdict: Verdict::Likely,
                reason: "left open by the test",
                ..BASE
            },
            Row {
                name: "the testing harness in a test run",
                frames: &["testing.(*T).Run", "testing.runTests"],
                creator: None,
                test_run: true,
                verdict: Verdict::Expected,
                reason: "harness",
                ..BASE
            },
            Row {
                name: "no stack",
                frames: &[],
                verdict: Verdict::Expected,
                reason: "no stack",
                ..BASE
            },
            Row {
                name: "leak GC proof",
                leaked: true,
                verdict: Verdict::Proven,
                reason: "leak-detecting GC proved",
                ..BASE
            },
            Row {
                name: "leak GC proof beats no stack",
                leaked: true,
                frames: &[],
                verdict: Verdict::Proven,
                reason: "proved",
                ..BASE
            },
            Row {
                name: "deadlock message",
                proof: Some(RuntimeProof::AllAsleep),
                frames: &["main.main"],
                creator: None,
                verdict: Verdict::Proven,
                reason: "proved a deadlock",
                ..BASE
            },
            Row {
                name: "deadlock message, running goroutine",
                proof: Some(RuntimeProof::AllAsleep),
                category: Category::Running,
                verdict: Verdict::Possible,
                reason: "not blocked",
                ..BASE
            },
            Row {
                name: "bubble message on a bubble wait",
                proof: Some(RuntimeProof::BubbleBlocked),
                category: Category::Synctest,
                verdict: Verdict::Proven,
                reason: "synctest",
                ..BASE
            },
            Row {
                name: "bubble message elsewhere",
                proof: Some(RuntimeProof::BubbleBlocked),
                wait_max: Some(30),
                verdict: Verdict::Likely,
                reason: "threshold",
                ..BASE
            },
            Row {
                name: "user's expect pattern",
                expect: &["example.com/app.worker"],
                wait_max: Some(60),
                verdict: Verdict::Expected,
                reason: "expected pattern",
                ..BASE
            },
            Row {
                name: "main goroutine",
                frames: &["main.main"],
                creator: None,
                verdict: Verdict::Expected,
                reason: "main goroutine",
                ..BASE
            },
            Row {
                name: "runtime internal",
                category: Category::Runtime,
                verdict: Verdict::Expected,
                reason: "runtime-internal",
                ..BASE
            },
            Row {
                name: "synctest without proof",
                category: Category::Synctest,
                verdict: Verdict::Expected,
                reason: "synctest",
                ..BASE
            },
            Row {
                name: "running",
                category: Category::Running,
                verdict: Verdict::Possible,
                reason: "not blocked",
                ..BASE
            },
            Row {
                name: "nil channel",
                category: Category::NilChan,
                verdict: Verdict::Proven,
                reason: "nil channel",
                ..BASE
            },
            Row {
                name: "empty select",
                category: Category::SelectNoCases,
                verdict: Verdict::Proven,
                reason: "select {}",
                ..BASE
            },
            Row {
                name: "sleep",
                category: Category::Sleep,
                wait_max: Some(90),
                verdict: Verdict::Possible,
                reason: "ends by itself",
                ..BASE
            },
            Row {
                name: "syscall",
                category: Category::Syscall,
                verdict: Verdict::Possible,
                reason: "ends by itself",
                ..BASE
            },
            Row {
                name: "leak GC ran and found it reachable",
                leak_checked: true,
                wait_max: Some(60),
                verdict: Verdict::Possible,
                reason: "reachable",
                ..BASE
            },
            Row {
                name: "leak GC does not check I/O waits",
                leak_checked: true,
                category: Category::IoWait,
                wait_max: Some(60),
                verdict: Verdict::Likely,
                reason: "threshold",
                ..BASE
            },
            Row {
                name: "long wait",
                wait_max: Some(10),
                verdict: Verdict::Likely,
                reason: "threshold 10 min",
                ..BASE
            },
            Row {
                name: "long wait of a daemon from main",
                wait_max: Some(60),
                creator: Some("main.main"),
                verdict: Verdict::Possible,
                reason: "started from main",
                ..BASE
            },
            Row {
                name: "long mutex wait from main",
                category: Category::Mutex,
                wait_max: Some(60),
                creator: Some("main.main"),
                verdict: Verdict::Likely,
                reason: "threshold",
                ..BASE
            },
            Row {
                name: "short wait",
                wait_max: Some(9),
                verdict: Verdict::Possible,
                reason: "under the 10 min threshold",
                ..BASE
            },
            Row {
                name: "crowd without wait times",
                wait_times_missing: true,
                count: 1000,
                verdict: Verdict::Likely,
                reason: "crowd threshold",
                ..BASE
            },
            Row {
                name: "crowd on a mutex is no channel crowd",
                category: Category::Mutex,
                wait_times_missing: true,
                count: 5000,
                verdict: Verdict::Possible,
                reason: "no wait times",
                ..BASE
            },
            Row {
                name: "small group without wait times",
                wait_times_missing: true,
                count: 999,
                verdict: Verdict::Possible,
                reason: "no wait times",
                ..BASE
            },
            Row {
                name: "fresh wait",
                verdict: Verdict::Possible,
                reason: "less than a minute",
                ..BASE
            },
        ];
        let mut failures = Vec::new();
        for row in &rows {
            let frames: Vec<Frame> = row.frames.iter().map(|f| frame(f)).collect();
            let frame_refs: Vec<&Frame> = frames.iter().collect();
            let creator = row.creator.map(frame);
            let config = Config {
                expected: row
                    .expect
                    .iter()
                    .map(|e| ExpectedPattern::new(*e))
                    .collect(),
                policy: if row.test_run {
                    Policy::Test
                } else {
                    Policy::Production
                },
                ..Config::default()
            };
            let user = |f: &str| f.starts_with("example.com/") || f.starts_with("main.");
            let (verdict, reason) = judge(&Facts {
                category: row.category,
                leaked: row.leaked,
                count: row.count,
                wait_max: row.wait_max,
                wait_times_missing: row.wait_times_missing,
                leak_checked: row.leak_checked,
                proof: row.proof,
                frames: &frame_refs,
                creator: creator.as_ref(),
                user: &user,
                config: &config,
            });
            if verdict != row.verdict || !reason.contains(row.reason) {
                failures.push(format!(
                    "{}: got {verdict:?} ({reason}); want {:?} with `{}`",
                    row.name, row.verdict, row.reason
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
