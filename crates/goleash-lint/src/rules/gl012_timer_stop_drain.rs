//! GL012 timer-stop-drain.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target, receive_operand, statements, unparen};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL012",
    name: "timer-stop-drain",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`if !t.Stop() { <-t.C }` where `t.C` may already have been received.",
    why: "if the tick was already received, the drain blocks forever",
    fix: "Go 1.23+: drop the drain, Stop/Reset are enough; older: drain without blocking, `select { case <-t.C: default: }`",
    docs: r#"# GL012 timer-stop-drain

## What it finds
The drain idiom `if !t.Stop() { <-t.C }` with a blocking receive, inside a loop where a
`select` case of the same loop also receives from `t.C`.

## Why it leaks
`Stop` returns false when the timer already fired. If that value was already received by the other
receive, nothing is left in `t.C` and the drain blocks forever (verified on Go 1.27.3, with both
`go 1.21` and `go 1.27` in go.mod). For Go 1.23+ modules the drain is never needed: after `Stop`
returns no stale value can be received (the drain is merely unnecessary there; that is not
reported, because tests of timer semantics drain on purpose).

## Example
```go
for {
	select {
	case <-t.C:
		tick()
	case <-reset:
	}
	if !t.Stop() {
		<-t.C // blocks forever after the tick case ran
	}
	t.Reset(d)
}
```

## Fix
Go 1.23+: `t.Reset(d)` alone. Older: `select { case <-t.C: default: }`.

## When it is wrong
If the other receive provably happens only when `Stop` returns true, the drain is safe.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for if_stmt in &cx.if_statements {
        let Some(condition) = if_stmt.child_by_field_name("condition").map(unparen) else {
            continue;
        };
        if condition.kind() != "unary_expression"
            || condition
                .child_by_field_name("operator")
                .map(|o| cx.text(o))
                != Some("!")
        {
            continue;
        }
        let Some(call) = condition.child_by_field_name("operand").map(unparen) else {
            continue;
        };
        let Some((Some(timer), "Stop")) = call_target(call, cx.src) else {
            continue;
        };
        let channel = format!("{timer}.C");
        let Some(consequence) = if_stmt.child_by_field_name("consequence") else {
            continue;
        };
        let drain = statements(consequence).into_iter().find_map(|s| {
            let expr = s.named_child(0)?;
            let operand = receive_operand(unparen(expr), cx.src)?;
            (s.kind() == "expression_statement" && cx.text(operand) == channel).then_some(expr)
        });
        let Some(drain) = drain else {
            continue;
        };
        let Some(func) = cx.enclosing_function(*if_stmt) else {
            continue;
        };
        // The classic bug: a select case of the same loop consumed the tick, then the loop
        // comes round to the drain. Receives in other loops or outside a select are usually
        // sequenced deliberately (a state machine, a fresh timer per outer iteration).
        let Some(drain_loop) = cx.enclosing_loop(*if_stmt) else {
            continue;
        };
        let other_receive = syntax::descendants(func).find(|n| {
            n.id() != drain.id()
                && receive_operand(*n, cx.src).map(|o| cx.text(o)) == Some(channel.as_str())
                && !syntax::is_within(*n, consequence)
                && syntax::select_case_via(*n, |n| cx.parent(n)).is_some()
                && cx.enclosing_loop(*n).map(|l| l.id()) == Some(drain_loop.id())
        });
        if let Some(other) = other_receive {
            out.push(
                Finding::new(
                    RULE.code,
                    drain,
                    format!("this drain blocks forever if `{channel}` was already received"),
                )
                .label(other, "the value may have been received here"),
            );
        }
    }
}
