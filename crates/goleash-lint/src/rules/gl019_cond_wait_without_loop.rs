//! GL019 cond-wait-without-loop.

use rustc_hash::FxHashSet;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, SYNC};
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target, unparen};

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
and the call sits under an `if` (the condition is checked once) instead of inside a `for` loop of
the same function. A bare `Wait` with no condition around it is not reported: that is how tests
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
file could be misattributed.
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
        if cx.enclosing_loop(*call).is_some() || !guarded_by_if(*call) {
            continue;
        }
        out.push(Finding::new(
            RULE.code,
            *call,
            format!("`{receiver}.Wait()` is not in a loop that re-checks the condition"),
        ));
    }
}

/// The Wait sits under an `if` of its own function: the condition is checked once, not
/// re-checked. A bare Wait with no condition at all is how tests exercise Cond itself.
fn guarded_by_if(call: tree_sitter::Node<'_>) -> bool {
    let mut current = call.parent();
    while let Some(n) = current {
        if syntax::is_function(n) {
            return false;
        }
        if n.kind() == "if_statement" {
            return true;
        }
        current = n.parent();
    }
    false
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
