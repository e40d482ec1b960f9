//! GL012 timer-stop-drain.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::rules::RuleMeta;
use tree_sitter::Node;

use crate::syntax::{
    self, call_target, is_terminating_call, receive_operand, select_case_of, statements, unparen,
};

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
`select` case of the same loop also receives from `t.C`, and some path from that case reaches the
drain without re-arming the timer or leaving the loop.

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
Not reported when, on every path from the consuming case to the drain (round the loop if the
drain comes first), the timer is re-armed (`t.Reset(d)`, or a new timer assigned to `t`) or the
loop is left (`return`, `goto`, a labelled `break`, a plain `break` outside the select, `panic`,
`os.Exit`, `log.Fatal`…): after a `Reset` a false `Stop` means a fresh tick is waiting, so the
drain is right. A plain `break` inside the case leaves only the select and is no way out. A case
that re-arms the timer on only some of its paths is trusted too (code that keeps a timeout heap
re-arms whenever the heap becomes non-empty, and only drains when it is), so a conditional re-arm
that really misses a path is not reported. Paths are followed through `if`/`else` only, and other
receives that only run when `Stop` would return true make it a false positive.
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
                && select_case_of(*n).is_some()
                && syntax::enclosing_loop(*n).map(|l| l.id()) == Some(drain_loop.id())
                && !re_armed_or_left_between(cx, timer, *n, *if_stmt, drain_loop)
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

/// After the tick was consumed by `receive` (a select case), is the timer re-armed (`Reset`,
/// or a new timer assigned) or the loop left (return, labelled break, terminating call) on
/// every path before control reaches the drain? Then `Stop` returning false means a fresh tick
/// is waiting in the channel and the drain is exactly right.
fn re_armed_or_left_between(
    cx: &FileCx<'_>,
    timer: &str,
    receive: Node<'_>,
    drain_if: Node<'_>,
    drain_loop: Node<'_>,
) -> bool {
    let Some(case) = select_case_of(receive) else {
        return false;
    };
    // Inside the consuming case: its statements run first, up to the drain if it is nested
    // in the case itself.
    let case_stmts = statements(case);
    let drain_in_case = syntax::is_within(drain_if, case);
    let before_drain: Vec<Node<'_>> = case_stmts
        .iter()
        .copied()
        .take_while(|s| !drain_in_case || !syntax::is_within(drain_if, *s))
        .collect();
    if guards_all_paths(cx, timer, &before_drain, false) {
        return true;
    }
    // A case that re-arms the timer on some path manages the timer's state by hand; when it
    // does not re-arm, it is because nothing is left to time, and the drains elsewhere are
    // guarded by conditions that imply a later re-arm (a timeout heap that became non-empty).
    // Following that takes more than syntax, so such a case is trusted.
    if before_drain
        .iter()
        .any(|s| syntax::descendants_same_func(*s).any(|n| re_arms(cx, timer, n)))
    {
        return true;
    }
    if drain_in_case {
        return false;
    }
    // Between the statement holding the select and the statement holding the drain, in the
    // loop body; when the drain comes first, the path wraps round the loop.
    let Some(body) = drain_loop.child_by_field_name("body") else {
        return false;
    };
    let stmts = statements(body);
    let position = |n: Node<'_>| stmts.iter().position(|s| syntax::is_within(n, *s));
    let (Some(from), Some(to)) = (position(case), position(drain_if)) else {
        return false;
    };
    let between: Vec<Node<'_>> = if from < to {
        stmts[from + 1..to].to_vec()
    } else if from > to {
        stmts[from + 1..]
            .iter()
            .chain(&stmts[..to])
            .copied()
            .collect()
    } else {
        return false;
    };
    guards_all_paths(cx, timer, &between, true)
}

/// Does every path through `stmts` re-arm the timer or leave the loop? `loop_level`: the
/// statements sit in the loop body itself (not in a select case), so a plain `break` leaves
/// the loop.
fn guards_all_paths(cx: &FileCx<'_>, timer: &str, stmts: &[Node<'_>], loop_level: bool) -> bool {
    stmts.iter().any(|s| guards(cx, timer, *s, loop_level))
}

fn guards(cx: &FileCx<'_>, timer: &str, stmt: Node<'_>, loop_level: bool) -> bool {
    match stmt.kind() {
        "return_statement" | "goto_statement" => true,
        // In a select case an unlabelled `break` leaves only the select; a labelled one leaves
        // an outer loop.
        "break_statement" => loop_level || stmt.named_child(0).is_some(),
        "expression_statement" => stmt
            .named_child(0)
            .is_some_and(|call| is_terminating_call(call, cx.src) || re_arms(cx, timer, call)),
        "assignment_statement" => re_arms(cx, timer, stmt),
        "block" => guards_all_paths(cx, timer, &statements(stmt), loop_level),
        "if_statement" => {
            let branch = |field: &str| {
                stmt.child_by_field_name(field)
                    .is_some_and(|b| match b.kind() {
                        "block" => guards_all_paths(cx, timer, &statements(b), loop_level),
                        _ => guards(cx, timer, b, loop_level),
                    })
            };
            branch("consequence") && branch("alternative")
        }
        _ => false,
    }
}

/// `timer.Reset(…)`, or a new timer assigned to the same name.
fn re_arms(cx: &FileCx<'_>, timer: &str, node: Node<'_>) -> bool {
    match node.kind() {
        "call_expression" => call_target(node, cx.src) == Some((Some(timer), "Reset")),
        "assignment_statement" => node
            .child_by_field_name("left")
            .is_some_and(|left| cx.text(left) == timer),
        _ => false,
    }
}
