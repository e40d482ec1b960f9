//! GL020 errgroup-ctx-ignored.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, ERRGROUP};
use crate::patterns::method_calls;
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL020",
    name: "errgroup-ctx-ignored",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "The context from `errgroup.WithContext` is discarded or not used by the functions started with `g.Go`.",
    why: "after the first error the siblings are not told to stop, so g.Wait() can block on them forever",
    fix: "pass the group's context into every `g.Go` func and select on its `Done()`",
    docs: r#"# GL020 errgroup-ctx-ignored

## What it finds
`g, _ := errgroup.WithContext(parent)`, or `g, gctx := errgroup.WithContext(parent)` where none of
the `func` literals passed to `g.Go` references `gctx`.

## Why it leaks
The group cancels its context when a function fails, which is the only way the other functions
learn to stop. If they use `parent` (or nothing), a sibling blocked on a send or a slow call keeps
`g.Wait()` — and the caller — waiting (ihippik/wal-listener#53).

## Example
```go
g, _ := errgroup.WithContext(ctx)
g.Go(func() error { return produce(ctx, out) }) // never sees the group's cancellation
```

## Fix
```go
g, gctx := errgroup.WithContext(ctx)
g.Go(func() error { return produce(gctx, out) })
```

## When it is wrong
If no function in the group can block, cancellation is irrelevant; use `new(errgroup.Group)` then.
Not reported when the spawning code watches the group's context once functions run (after a
`g.Go`, or in any loop around it), to stop launching more after a failure; a check made only
before the first `g.Go` does not count.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(ERRGROUP) {
        return;
    }
    for (decl, left, call) in cx.short_var_first_values() {
        if cx.pkg_call(call, ERRGROUP) != Some("WithContext") || left.named_child_count() != 2 {
            continue;
        }
        let Some(ctx) = left.named_child(1) else {
            continue;
        };
        let name = cx.text(ctx);
        if name == "_" {
            out.push(Finding::new(
                RULE.code,
                ctx,
                "the group's context is discarded, so its functions never see cancellation",
            ));
            continue;
        }
        let Some(group) = left.named_child(0) else {
            continue;
        };
        let Some(body) = cx.enclosing_function(decl).and_then(syntax::function_body) else {
            continue;
        };
        let go_calls: Vec<_> = method_calls(cx, body, cx.text(group), &["Go"])
            .into_iter()
            .filter(|call| call.start_byte() > decl.end_byte())
            .collect();
        // The closures passed to g.Go are where cancellation has to be observed.
        let closures: Vec<_> = go_calls
            .iter()
            .copied()
            .flat_map(syntax::call_arguments)
            .filter(|arg| arg.kind() == "func_literal")
            .collect();
        if closures.is_empty() {
            continue;
        }
        let observed = closures
            .iter()
            .any(|closure| !cx.uses_in(*closure, name).is_empty())
            || spawner_stops_on(cx, body, name, &go_calls);
        if !observed {
            out.push(
                Finding::new(
                    RULE.code,
                    ctx,
                    format!(
                        "no function started with `{}.Go` uses `{name}`",
                        cx.text(group)
                    ),
                )
                .label(closures[0], "uses another context, or none"),
            );
        }
    }
}

/// The spawning code itself watches the group's context once functions are running — after a
/// `g.Go`, or in a loop (at any depth) around it — and stops launching when a sibling fails. That is what
/// the context is for when the functions themselves cannot block.
fn spawner_stops_on(cx: &FileCx<'_>, body: Node<'_>, name: &str, go_calls: &[Node<'_>]) -> bool {
    let Some(first_go) = go_calls.iter().map(|c| c.start_byte()).min() else {
        return false;
    };
    cx.uses_in(body, name)
        .iter()
        .filter(|u| !go_calls.iter().any(|c| syntax::is_within(u.node, *c)))
        .any(|u| {
            u.node.start_byte() > first_go
                || std::iter::successors(syntax::enclosing_loop(u.node), |l| {
                    syntax::enclosing_loop(*l)
                })
                .any(|l| go_calls.iter().any(|c| syntax::is_within(*c, l)))
        })
}
