//! GL017 wg-add-in-goroutine.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{go_literal, FileCx};
use crate::patterns::method_calls;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL017",
    name: "wg-add-in-goroutine",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`wg.Add` called inside the goroutine it is meant to count.",
    why: "Wait can run before the goroutine's Add, return early, and leave the goroutine unaccounted for",
    fix: "call `wg.Add(1)` before the `go` statement, or use `wg.Go(f)` (Go 1.25+)",
    docs: r#"# GL017 wg-add-in-goroutine

## What it finds
`go func() { wg.Add(1); …; wg.Done() }()`: the goroutine adds to the WaitGroup it also marks done
(vet's `waitgroup` check and staticcheck SA2000 find the first-statement form).

## Why it matters
It is a race rather than a leak: `wg.Wait()` may observe the counter at zero before the goroutine
runs its `Add`, return, and let the caller tear down state the goroutine still uses — the same
family of lifecycle bugs.

## Example
```go
for _, x := range xs {
	go func() {
		wg.Add(1)
		defer wg.Done()
		work(x)
	}()
}
wg.Wait()
```

## Fix
`wg.Add(1)` before `go`, or `wg.Go(func() { work(x) })`.

## When it is wrong
An `Add` followed by a nested `go` statement in the same goroutine counts that nested goroutine and
is correct; it is not reported.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for go in &cx.go_statements {
        let Some(literal) = go_literal(*go) else {
            continue;
        };
        let Some(body) = literal.child_by_field_name("body") else {
            continue;
        };
        for node in syntax::descendants_same_func(body) {
            if node.kind() != "call_expression" {
                continue;
            }
            let Some((Some(wg), "Add")) = call_target(node, cx.src) else {
                continue;
            };
            // The goroutine must also be the one counted: it calls Done on the same WaitGroup.
            if method_calls(cx, body, wg, &["Done"]).is_empty() {
                continue;
            }
            let nested_go_after = syntax::descendants_same_func(body)
                .any(|n| n.kind() == "go_statement" && n.start_byte() > node.start_byte());
            if nested_go_after {
                continue;
            }
            out.push(
                Finding::new(
                    RULE.code,
                    node,
                    format!("`{wg}.Add` runs inside the goroutine it counts"),
                )
                .label(*go, "goroutine started here"),
            );
        }
    }
}
