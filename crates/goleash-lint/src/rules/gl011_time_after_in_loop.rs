//! GL011 time-after-in-loop.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, TIME};
use crate::rules::RuleMeta;
use crate::syntax::{self, select_case_of};

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
Go 1.23 they are collected at once, so for newer modules the finding is an info-level hint: the
timeout restarts on every iteration, which makes it an idle timeout, not a deadline — often
intended, sometimes a bug.

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

## When it is wrong
For Go 1.23+ modules an idle timeout is a legitimate design; the hint is informational.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    let old_semantics = !cx.new_timer_semantics();
    for call in &cx.calls {
        if cx.pkg_call(*call, TIME) != Some("After") {
            continue;
        }
        let Some(receive) = call.parent().filter(|p| p.kind() == "unary_expression") else {
            continue;
        };
        let Some(case) = select_case_of(receive) else {
            continue;
        };
        let Some(select) = case.parent() else {
            continue;
        };
        if syntax::enclosing_loop(select).is_none() {
            continue;
        }
        let finding = if old_semantics {
            Finding::new(
                RULE.code,
                *call,
                "time.After in a loop allocates a timer per iteration that lives until it fires",
            )
        } else {
            Finding::new(
                RULE.code,
                *call,
                "time.After in a loop restarts the timeout on every iteration",
            )
            .severity(Severity::Info)
            .confidence(Confidence::Low)
            .why("since Go 1.23 the timers are collected, but the timeout is per iteration (an idle timeout), not a deadline")
            .fix("if a deadline was meant, create the timer once outside the loop")
        };
        out.push(finding);
    }
}
