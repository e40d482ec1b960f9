//! GL011 time-after-in-loop.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, TIME};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL011",
    name: "time-after-in-loop",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: true,
    summary: "`<-time.After(d)` as a select case inside a loop.",
    why: "before Go 1.23 each iteration allocates a timer that lives until it fires, so memory grows with the message rate",
    fix: "create one `time.NewTimer(d)` outside the loop and `Reset` it, or use `context.WithTimeout`",
    docs: r#"# GL011 time-after-in-loop

## What it finds
`case <-time.After(d):` in a `select` that sits in a `for` loop of the same function.

## Why it leaks
Before Go 1.23 (go.mod `go 1.22` or older): every iteration creates a timer that is only collected
after `d` elapses; with a busy channel and a long `d`, thousands of live timers pile up. Since
Go 1.23 they are collected at once, so newer modules get no finding. (The timeout still restarts
on every iteration — an idle timeout, not a deadline — which is usually what was meant.)

## Example
```go
for {
	select {
	case m := <-msgs:
		handle(m)
	case <-time.After(time.Minute):
		return errIdle
	}
}
```

## Fix
```go
t := time.NewTimer(time.Minute)
defer t.Stop()
for {
	select {
	case m := <-msgs:
		handle(m)
		t.Reset(time.Minute)
	case <-t.C:
		return errIdle
	}
}
```

Not reported for counted loops (`for i := 0; i < n; i++`, `for range 3`) or sub-second
durations spelled with `time.Millisecond` and smaller units: those timers do not pile up.

## When it is wrong
A range loop over a short slice allocates a handful of timers: harmless.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    // Since Go 1.23 the timers are collected at once; what remains (the timeout restarts each
    // iteration) is usually the intended idle timeout, so newer modules get nothing.
    if cx.new_timer_semantics() {
        return;
    }
    for call in &cx.calls {
        if cx.pkg_call(*call, TIME) != Some("After") {
            continue;
        }
        let Some(receive) = cx.parent(*call).filter(|p| p.kind() == "unary_expression") else {
            continue;
        };
        let Some(case) = syntax::select_case_via(receive, |n| cx.parent(n)) else {
            continue;
        };
        let Some(select) = cx.parent(case) else {
            continue;
        };
        let Some(loop_stmt) = cx.enclosing_loop(select) else {
            continue;
        };
        if is_small_counted_loop(loop_stmt) || is_short_duration(cx, *call) {
            continue;
        }
        out.push(Finding::new(
            RULE.code,
            *call,
            "time.After in a loop allocates a timer per iteration that lives until it fires",
        ));
    }
}

/// `for i := 0; i < 4; i++` or `for range 3`: a handful of timers, not a pile-up.
fn is_small_counted_loop(loop_stmt: tree_sitter::Node<'_>) -> bool {
    let Some(header) = loop_stmt.named_child(0) else {
        return false;
    };
    match header.kind() {
        "for_clause" => true,
        "range_clause" => header
            .child_by_field_name("right")
            .map(|r| r.kind() == "int_literal")
            .unwrap_or(false),
        _ => false,
    }
}

/// `time.After(100 * time.Millisecond)`: the timer fires (and is freed) almost at once.
fn is_short_duration(cx: &FileCx<'_>, call: tree_sitter::Node<'_>) -> bool {
    let Some(arg) = syntax::call_arguments(call).into_iter().next() else {
        return false;
    };
    syntax::descendants(arg).any(|n| {
        matches!(
            cx.pkg_selector(n, TIME),
            Some("Millisecond" | "Microsecond" | "Nanosecond")
        )
    })
}
