//! GL013 lost-cancel.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, CONTEXT};
use crate::flow::{Exit, PathCheck};
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target, unparen};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL013",
    name: "lost-cancel",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "The cancel function of context.WithCancel/WithTimeout/WithDeadline is discarded or not called on every path.",
    why: "the context, its timer and its children live until the parent ends (for Background: forever), and goroutines waiting on ctx.Done() leak with it",
    fix: "`defer cancel()` on the line after creating the context",
    docs: r#"# GL013 lost-cancel

## What it finds
`ctx, _ := context.WithCancel(parent)` (and `WithTimeout`, `WithDeadline`, the `…Cause` variants),
or `ctx, cancel := …` where some `return` (or the end of the function) is reachable without any
reference to `cancel`. Any reference counts as a use, as in `go vet`'s lostcancel.

## Why it leaks
Until `cancel` is called, the parent keeps the child registered, a `WithTimeout` keeps its timer,
and every goroutine blocked on `ctx.Done()` stays blocked (uber/tchannel-go#278).

## Example
```go
ctx, cancel := context.WithTimeout(parent, time.Second)
if err := prepare(); err != nil {
	return err // cancel never called on this path
}
defer cancel()
```

## Fix
`defer cancel()` immediately after the call.

## When it is wrong
`main.main` is skipped (the process ends). Plain assignments (`=`) to variables declared elsewhere
are skipped, because the function may be handing `cancel` to its caller. A path that has received
from the derived context's `Done()` (`<-ctx.Done()`, or that `select` case) counts as released:
the deadline or the parent cancelled it. A `WithCancel` of `context.Background()`/`TODO()` (also
through `WithValue`) is not reported on paths: such a child registers with no parent and holds no
timer, so the lost cancel keeps nothing alive (`go vet`'s lostcancel still reports it).
"#,
};

const CONSTRUCTORS: &[&str] = &[
    "WithCancel",
    "WithTimeout",
    "WithDeadline",
    "WithCancelCause",
    "WithTimeoutCause",
    "WithDeadlineCause",
];

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for (decl, left, call) in cx.short_var_first_values() {
        let Some(constructor) = cx.pkg_call(call, CONTEXT) else {
            continue;
        };
        if !CONSTRUCTORS.contains(&constructor) || left.named_child_count() != 2 {
            continue;
        }
        let Some(cancel) = left.named_child(1) else {
            continue;
        };
        let name = cx.text(cancel);
        if name == "_" {
            out.push(Finding::new(
                RULE.code,
                cancel,
                format!("the cancel function returned by context.{constructor} is discarded"),
            ));
            continue;
        }
        if let Some(decl_fn) = cx.enclosing_declaration(decl) {
            if cx.is_main_package() && syntax::function_name(decl_fn, cx.src) == Some("main") {
                continue;
            }
        }
        if matches!(constructor, "WithCancel" | "WithCancelCause")
            && syntax::call_arguments(call)
                .first()
                .is_some_and(|parent| never_cancelled(cx, *parent))
        {
            continue;
        }
        let ctx_name = left.named_child(0).map(|n| cx.text(n));
        // A path that received from the derived context's `Done()` saw it cancelled (deadline
        // or parent): its timer and its place in the parent are already released.
        let is_use = |n: tree_sitter::Node<'_>| {
            (n.kind() == "identifier" && cx.text(n) == name)
                || (n.kind() == "call_expression"
                    && syntax::is_receive_operand(n, cx.src)
                    && matches!(call_target(n, cx.src), Some((Some(recv), "Done")) if Some(recv) == ctx_name))
        };
        let check = PathCheck {
            src: cx.src,
            is_use: &is_use,
        };
        if let Some(exit) = check.exit_without_use(decl) {
            let label = match exit {
                Exit::Return(_) => "this return is reached without calling it",
                Exit::EndOfFunction(_) => "the function ends here without calling it",
            };
            out.push(
                Finding::new(
                    RULE.code,
                    cancel,
                    format!("`{name}` is not called on every path"),
                )
                .label(exit.node(), label),
            );
        }
    }
}

/// `context.Background()` or `context.TODO()`, possibly wrapped in `context.WithValue`: a parent
/// that is never cancelled, so a `WithCancel` child registers nowhere and holds no timer; a lost
/// cancel then keeps nothing alive.
fn never_cancelled(cx: &FileCx<'_>, parent: Node<'_>) -> bool {
    let mut current = unparen(parent);
    loop {
        match cx.pkg_call(current, CONTEXT) {
            Some("Background" | "TODO") => return true,
            Some("WithValue") => match syntax::call_arguments(current).first() {
                Some(inner) => current = unparen(*inner),
                None => return false,
            },
            _ => return false,
        }
    }
}
