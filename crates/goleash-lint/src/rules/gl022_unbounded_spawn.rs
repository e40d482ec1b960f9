//! GL022 unbounded-spawn.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL022",
    name: "unbounded-spawn",
    severity: Severity::Info,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "A goroutine per loop iteration with no limiter (semaphore, worker pool, SetLimit).",
    why: "goroutines grow with the input; each blocked one pins everything it captured",
    fix: "bound the concurrency: a worker pool, a semaphore channel, or `errgroup.SetLimit(n)`",
    docs: r#"# GL022 unbounded-spawn

## What it finds
`go` inside a `range` loop in a function with no sign of a limiter: no `SetLimit`, no `Acquire`, and
no send on a channel in the loop body before the `go` (the `sem <- struct{}{}` pattern).

## Why it leaks
Not a leak by itself: a spike in input means a spike in goroutines, and if they block (GL001–GL003)
each one pins what it captured, turning a small leak into an outage.

## Example
```go
for _, req := range reqs {
	go handle(req)
}
```

## Fix
`g.SetLimit(8)` with errgroup, or a fixed pool of workers reading from a channel.

## When it is wrong
Bounded inputs (a handful of shards) are fine. Off by default.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for go in &cx.go_statements {
        let Some(for_stmt) = cx.enclosing_loop(*go) else {
            continue;
        };
        let ranges = for_stmt
            .named_child(0)
            .map(|c| c.kind() == "range_clause")
            .unwrap_or(false);
        if !ranges {
            continue;
        }
        let Some(func) = cx.enclosing_function(*go) else {
            continue;
        };
        let limited = syntax::descendants(func).any(|n| {
            n.kind() == "call_expression"
                && matches!(
                    call_target(n, cx.src),
                    Some((_, "SetLimit" | "Acquire" | "TryAcquire"))
                )
        }) || syntax::descendants_same_func(for_stmt)
            .any(|n| n.kind() == "send_statement" && n.start_byte() < go.start_byte());
        if limited {
            continue;
        }
        out.push(Finding::new(
            RULE.code,
            *go,
            "one goroutine per element with no bound on how many run at once",
        ));
    }
}
