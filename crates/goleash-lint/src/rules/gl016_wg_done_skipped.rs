//! GL016 wg-done-skipped.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{go_literal, FileCx};
use crate::flow::{Exit, PathCheck};
use crate::patterns::method_calls;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL016",
    name: "wg-done-skipped",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A goroutine returns before calling (or deferring) `wg.Done()`.",
    why: "a skipped Done leaves the WaitGroup counter above zero, so wg.Wait() blocks forever",
    fix: "`defer wg.Done()` as the goroutine's first statement, or use `wg.Go(f)` (Go 1.25+)",
    docs: r#"# GL016 wg-done-skipped

## What it finds
A goroutine (`go func(){…}()`) started after `wg.Add(…)` in the same function, with a `return` on
a path that passes no `wg.Done()`: either Done is a plain statement that an early return skips, or
`defer wg.Done()` is registered only after an early return. Also a WaitGroup declared in the
function, added to and waited on there, that nothing ever calls `Done` (or `Go`) on and that
never leaves the function (only `wg.Add`/`wg.Wait` mention it).

## Why it leaks
`Wait` returns only when the counter reaches zero; one skipped `Done` and the waiter — often the
request handler — blocks forever, along with everything it holds.

## Example
```go
wg.Add(1)
go func() {
	if err := step(); err != nil {
		return // Done skipped
	}
	wg.Done()
}()
wg.Wait()
```

## Fix
`defer wg.Done()` first thing in the goroutine, or `wg.Go(func() { … })` on Go 1.25+.

## When it is wrong
Paths that end in `panic`, `os.Exit` or `runtime.Goexit` are ignored.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    never_done(cx, out);
    for go in &cx.go_statements {
        let Some(literal) = go_literal(*go) else {
            continue;
        };
        let Some(body) = literal.child_by_field_name("body") else {
            continue;
        };
        let Some(parent_fn) = cx.enclosing_function(*go) else {
            continue;
        };
        let Some(parent_body) = syntax::function_body(parent_fn) else {
            continue;
        };
        // The goroutine's own Done (plain, or deferred after some early statements).
        let own_done = syntax::descendants_same_func(body).find_map(|n| {
            if n.kind() != "expression_statement" && n.kind() != "defer_statement" {
                return None;
            }
            let call = n.named_child(0)?;
            match call_target(call, cx.src) {
                Some((Some(wg), "Done")) if syntax::call_arguments(call).is_empty() => {
                    Some((wg, call, n.kind() == "defer_statement"))
                }
                _ => None,
            }
        });
        let Some((wg, done_call, deferred)) = own_done else {
            continue;
        };
        let added_before = method_calls(cx, parent_body, wg, &["Add"])
            .iter()
            .any(|add| add.start_byte() < go.start_byte() && !syntax::is_within(*add, literal));
        if !added_before {
            continue;
        }
        let is_use = |n: Node<'_>| {
            n.kind() == "call_expression"
                && matches!(call_target(n, cx.src), Some((Some(recv), "Done")) if recv == wg)
        };
        let check = PathCheck {
            src: cx.src,
            is_use: &is_use,
        };
        if let Some(exit) = check.exit_from_entry(body) {
            let node = match exit {
                Exit::Return(ret) => ret,
                Exit::EndOfFunction(_) => continue,
            };
            out.push(
                Finding::new(
                    RULE.code,
                    node,
                    format!("this return skips `{wg}.Done()`, so `{wg}.Wait()` never returns"),
                )
                .label(
                    done_call,
                    if deferred {
                        "Done is deferred only here, after that return"
                    } else {
                        "Done is only called here, without defer"
                    },
                ),
            );
        }
    }
}

/// `var wg sync.WaitGroup` (or `wg := sync.WaitGroup{}` / `&sync.WaitGroup{}`) whose only
/// mentions are `wg.Add(…)` and `wg.Wait()`: the counter never goes back down.
fn never_done(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for call in &cx.calls {
        let Some((Some(wg), "Wait")) = call_target(*call, cx.src) else {
            continue;
        };
        let Some(func) = syntax::enclosing_function(*call) else {
            continue;
        };
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        let Some(decl) = local_wait_group(cx, body, wg) else {
            continue;
        };
        let mut added = false;
        let only_add_wait = cx.uses_in(body, wg).iter().all(|u| {
            if syntax::is_within(u.node, decl) {
                return true;
            }
            let method = u
                .node
                .parent()
                .filter(|p| p.kind() == "selector_expression")
                .and_then(|sel| sel.parent())
                .and_then(|c| call_target(c, cx.src));
            match method {
                Some((Some(recv), "Add")) if recv == wg => {
                    added = true;
                    true
                }
                Some((Some(recv), "Wait")) => recv == wg,
                _ => false,
            }
        });
        if added && only_add_wait {
            out.push(
                Finding::new(
                    RULE.code,
                    *call,
                    format!("nothing calls `{wg}.Done()`, so `{wg}.Wait()` never returns"),
                )
                .label(decl, "declared here and used only by Add and Wait"),
            );
        }
    }
}

/// The declaration of `name` as a `sync.WaitGroup` value in `body`.
fn local_wait_group<'t>(cx: &FileCx<'t>, body: Node<'t>, name: &str) -> Option<Node<'t>> {
    crate::patterns::local_sync_value(cx, body, name, &["WaitGroup"])
}
