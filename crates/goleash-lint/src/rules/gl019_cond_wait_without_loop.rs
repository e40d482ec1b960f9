//! GL019 cond-wait-without-loop.

use rustc_hash::FxHashSet;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, SYNC};
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target, unparen};

use tree_sitter::Node;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL019",
    name: "cond-wait-without-loop",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`sync.Cond.Wait()` that is not inside a `for` loop re-checking the condition.",
    why: "a wake-up can be spurious or stale; if the signal came before Wait, the waiter sleeps forever",
    fix: "`for !condition() { c.Wait() }`",
    docs: r#"# GL019 cond-wait-without-loop

## What it finds
`c.Wait()` where `c` is known to be a `sync.Cond` — bound from `sync.NewCond(…)` in the file, or
declared as a variable, parameter or struct field of type `sync.Cond`/`*sync.Cond` in the file —
and the call sits under an `if` (the condition is checked once) and nothing re-checks it after the
wake-up: no `for` around it in the same declaration (also through a closure called on the spot),
no `goto` back to a label above it, no later `if`/`for`/`switch` in the function testing a
variable or field the guarding condition reads, and not every caller in the file calls it from
inside a loop. Go's `Cond` has no spurious wake-ups, so a one-shot wait is not reported either:
every `Signal`/`Broadcast` on that Cond (spelled the same way) in the file follows an assignment
to the state the guard reads, and the waiter does not write that state after waking (a waiter that
consumes it, like a queue pop, can lose it to another waiter and needs the loop). A bare `Wait` with no condition around it is not reported: that is how tests
exercise a Cond, and without a condition there is nothing to re-check.

## Why it leaks
`Broadcast`/`Signal` wake waiters that are waiting *now*; a signal sent before the `Wait` is lost,
and after a wake-up the condition may no longer hold. Without a loop the goroutine either proceeds
on a false condition or waits forever.

## Example
```go
mu.Lock()
if !ready {
	cond.Wait()
}
mu.Unlock()
```

## Fix
`for !ready { cond.Wait() }`.

## When it is wrong
Without types, a `Wait` method on another type whose variable has the same name as a Cond in the
file could be misattributed. The re-check is recognised by the state it reads, not by what it does
with it: a later test of the same field for an unrelated reason hides a real finding, and a caller
in another file that loops is not seen.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(SYNC) {
        return;
    }
    let constructed = constructed_conds(cx);
    for call in &cx.calls {
        let Some((Some(receiver), "Wait")) = call_target(*call, cx.src) else {
            continue;
        };
        if !syntax::call_arguments(*call).is_empty() {
            continue;
        }
        let last = receiver.rsplit('.').next().unwrap_or(receiver);
        if !cx.is_sync_named(receiver, "Cond") && !constructed.contains(last) {
            continue;
        }
        let Some(guard) = guarding_if(*call) else {
            continue;
        };
        if in_loop_of_declaration(*call)
            || jumps_back(cx, *call)
            || rechecked_after(cx, guard, *call)
            || callers_loop(cx, *call)
            || set_once_before_signal(cx, receiver, guard, *call)
        {
            continue;
        }
        out.push(Finding::new(
            RULE.code,
            *call,
            format!("`{receiver}.Wait()` is not in a loop that re-checks the condition"),
        ));
    }
}

/// The `if` the Wait sits under in its own function: the condition is checked once there.
/// A bare Wait with no condition at all is how tests exercise Cond itself.
fn guarding_if(call: Node<'_>) -> Option<Node<'_>> {
    let mut current = call.parent();
    while let Some(n) = current {
        if syntax::is_function(n) {
            return None;
        }
        if n.kind() == "if_statement" {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

/// A `for` around the Wait in the same declaration, also through closures called on the spot
/// (`func() { … }()`), which run inside the loop's iteration. Closures launched or deferred run
/// at another time, so the search stops there.
fn in_loop_of_declaration(call: Node<'_>) -> bool {
    let mut current = call.parent();
    while let Some(n) = current {
        match n.kind() {
            "for_statement" => return true,
            "func_literal" => {
                let called_here = n.parent().is_some_and(|p| {
                    p.kind() == "call_expression"
                        && p.parent().is_some_and(|g| {
                            !matches!(g.kind(), "go_statement" | "defer_statement")
                        })
                });
                if !called_here {
                    return false;
                }
            }
            "function_declaration" | "method_declaration" => return false,
            _ => {}
        }
        current = n.parent();
    }
    false
}

/// A `goto` back to a label above the Wait: a loop written with a label.
fn jumps_back(cx: &FileCx<'_>, call: Node<'_>) -> bool {
    let Some(func) = syntax::enclosing_function(call) else {
        return false;
    };
    syntax::descendants_same_func(func)
        .filter(|n| n.kind() == "labeled_statement")
        .filter(|l| l.start_byte() < call.start_byte())
        .filter_map(|l| l.child_by_field_name("label"))
        .any(|label| {
            let name = cx.text(label);
            syntax::descendants_same_func(func).any(|g| {
                g.kind() == "goto_statement"
                    && g.start_byte() > call.end_byte()
                    && g.named_child(0).map(|t| cx.text(t)) == Some(name)
            })
        })
}

/// The state the guard's condition reads is tested again after the Wait, in the same function:
/// the code does not act on the stale check alone.
fn rechecked_after(cx: &FileCx<'_>, guard: Node<'_>, call: Node<'_>) -> bool {
    let Some(condition) = guard.child_by_field_name("condition") else {
        return false;
    };
    let state: FxHashSet<&str> = state_reads(cx, condition).collect();
    if state.is_empty() {
        return false;
    }
    let Some(func) = syntax::enclosing_function(call) else {
        return false;
    };
    syntax::descendants_same_func(func)
        .filter(|n| n.start_byte() > call.end_byte())
        .filter_map(|n| match n.kind() {
            "if_statement" | "for_statement" => n.child_by_field_name("condition"),
            "expression_switch_statement" => n.child_by_field_name("value"),
            _ => None,
        })
        .any(|later| state_reads(cx, later).any(|s| state.contains(s)))
}

/// Variables and fields an expression reads (`ready`, `q.items`), not the functions it calls.
fn state_reads<'t>(cx: &FileCx<'t>, expr: Node<'t>) -> impl Iterator<Item = &'t str> + 't {
    let src = cx.src;
    syntax::descendants_same_func(expr)
        .filter(|n| matches!(n.kind(), "identifier" | "selector_expression"))
        .filter(|n| match n.parent() {
            Some(p) if p.kind() == "selector_expression" => false,
            Some(p) if p.kind() == "call_expression" => {
                p.child_by_field_name("function").map(|f| f.id()) != Some(n.id())
            }
            _ => true,
        })
        .map(move |n| syntax::text(n, src))
}

/// Every call of the function holding the Wait, in this file, sits in a loop: the caller's loop
/// re-checks the condition after each wake-up.
fn callers_loop(cx: &FileCx<'_>, call: Node<'_>) -> bool {
    let Some(name) =
        syntax::enclosing_function(call).and_then(|f| syntax::function_name(f, cx.src))
    else {
        return false;
    };
    let mut callers = cx
        .calls
        .iter()
        .filter(|c| matches!(call_target(**c, cx.src), Some((_, n)) if n == name))
        .peekable();
    callers.peek().is_some() && callers.all(|c| in_loop_of_declaration(*c))
}

/// Last name component of everything assigned from `sync.NewCond(…)` in the file.
fn constructed_conds<'t>(cx: &FileCx<'t>) -> FxHashSet<&'t str> {
    let mut names = FxHashSet::default();
    for call in &cx.calls {
        if cx.pkg_call(*call, SYNC) != Some("NewCond") {
            continue;
        }
        let mut node = *call;
        while let Some(parent) = node.parent() {
            if parent.kind() == "expression_list" || parent.kind() == "parenthesized_expression" {
                node = parent;
                continue;
            }
            if matches!(
                parent.kind(),
                "short_var_declaration" | "assignment_statement" | "var_spec"
            ) {
                let target = parent
                    .child_by_field_name("left")
                    .or_else(|| parent.child_by_field_name("name"))
                    .and_then(|l| {
                        if l.kind() == "expression_list" {
                            l.named_child(0)
                        } else {
                            Some(l)
                        }
                    });
                if let Some(target) = target {
                    let text = cx.text(unparen(target));
                    names.insert(text.rsplit('.').next().unwrap_or(text));
                }
            }
            if parent.kind() == "keyed_element" {
                if let Some(key) = parent.named_child(0) {
                    names.insert(cx.text(key).trim());
                }
            }
            break;
        }
    }
    names
}

/// Go's `Cond` has no spurious wake-ups, so an `if` is enough when every wake-up means the
/// condition now holds for this waiter: each `Signal`/`Broadcast` on the Cond in the file comes
/// after an assignment to the state the guard reads, and the waiter only reads that state (it
/// does not consume it, so no other waiter can undo it first — a queue pop needs the loop).
fn set_once_before_signal(
    cx: &FileCx<'_>,
    receiver: &str,
    guard: Node<'_>,
    call: Node<'_>,
) -> bool {
    let Some(condition) = guard.child_by_field_name("condition") else {
        return false;
    };
    let fields: FxHashSet<&str> = state_reads(cx, condition).map(last_component).collect();
    let writes = |scope: Node<'_>, from: usize, to: usize| {
        syntax::descendants_same_func(scope).any(|n| {
            n.start_byte() >= from
                && n.end_byte() <= to
                && assigned_state(cx, n)
                    .is_some_and(|target| fields.contains(last_component(target)))
        })
    };
    let Some(waiter) = syntax::enclosing_function(call) else {
        return false;
    };
    if writes(waiter, call.end_byte(), waiter.end_byte()) {
        return false;
    }
    let mut signals = cx
        .calls
        .iter()
        .filter(|c| match call_target(**c, cx.src) {
            Some((Some(recv), "Signal" | "Broadcast")) => recv == receiver,
            _ => false,
        })
        .peekable();
    signals.peek().is_some()
        && signals.all(|signal| {
            syntax::enclosing_function(*signal)
                .is_some_and(|f| writes(f, f.start_byte(), signal.start_byte()))
        })
}

/// The variable or field a statement writes: `x = …`, `x.f = …`, `x.f++`.
fn assigned_state<'t>(cx: &FileCx<'t>, node: Node<'t>) -> Option<&'t str> {
    let target = match node.kind() {
        "assignment_statement" => node.child_by_field_name("left")?.named_child(0)?,
        "inc_statement" | "dec_statement" => node.named_child(0)?,
        _ => return None,
    };
    Some(cx.text(unparen(target)))
}

fn last_component(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}
