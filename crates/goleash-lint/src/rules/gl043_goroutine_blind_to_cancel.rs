//! GL043 goroutine-blind-to-cancel: a function that has a context starts a goroutine whose
//! loop waits only on channels nothing closes and never looks at the context.

use rustc_hash::FxHashSet;
use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{FuncId, OpKind, PackageModel};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL043",
    name: "goroutine-blind-to-cancel",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A function with a `ctx` starts a goroutine whose loop waits only on channels that nothing in the package closes, and that never reads the context.",
    why: "the goroutine has no way to learn that its parent ended: once the parent returns on cancellation and stops sending, the goroutine waits on its channels forever",
    fix: "give the goroutine the context and add `case <-ctx.Done(): return` to its select (or close the channel it waits on when the parent ends)",
    docs: r#"# GL043 goroutine-blind-to-cancel

## What it finds
A `go` statement in a function that has a context in scope (a `ctx context.Context` parameter,
its own or an enclosing function's) and uses it, starting a goroutine (a literal, or a package
function or method) that:
- loops (`for`) receiving from channels, in a `select` or plainly;
- receives only from channels that no code in the package closes and that are not handed out
  (so nobody else can close them), apart from timers (`time.After`, a ticker's `C`);
- never mentions the context (no `ctx`, no `Done()`, no `Err()`), takes none as a parameter;
- has a way out of the loop (a `return` or `break` on some event: GL008 reports loops with none).

The finding is on the `go` statement, with the receive as a related location.

## Why it leaks
The parent honours cancellation: it returns when `ctx` ends. The goroutine cannot know: its
only ways out depend on values arriving on channels that the parent stops feeding and nobody
closes. It waits in `chan receive` or `select` forever, one per call of the parent.

## Example
```go
func (w *Watcher) Run(ctx context.Context) error {
	go func() {
		for {
			select {
			case ev := <-w.events:
				if ev.final {
					return
				}
				w.apply(ev)
			case <-time.After(time.Second):
				w.flush()
			}
		}
	}()
	<-ctx.Done()
	return ctx.Err()
}
```

## Fix
`case <-ctx.Done(): return` in the goroutine's select (pass `ctx` to a named function), or close
the channel the goroutine ranges over when the parent ends.

## When it is wrong
When the goroutine is meant to outlive the request (a process-wide worker started lazily from
a request path): start it from a constructor, or suppress with a reason.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for file in 0..model.files.len() {
        let cx = model.cx(file);
        for &go in &cx.go_statements {
            let Some(ctx) = cx.context_in_scope(go) else {
                continue;
            };
            let Some(parent) = model.enclosing_func(file, go) else {
                continue;
            };
            let Some(call) = go.named_child(0) else {
                continue;
            };
            let Some((child, _)) = model.callee(parent, call) else {
                continue;
            };
            // Arguments may carry the context or a done channel in.
            if syntax::call_arguments(call).iter().any(|a| {
                let t = model.text(file, *a);
                t.contains(ctx) || t.contains("Done") || t.contains("done") || t.contains("stop")
            }) {
                continue;
            }
            if !parent_uses(model, parent, ctx, go) {
                continue;
            }
            if let Some(receive) = blind_loop(model, child, ctx) {
                let at = (model.funcs[child].file, receive);
                out.push(
                    PkgFinding::new(
                        RULE.code,
                        (file, go),
                        format!(
                            "this goroutine cannot learn that `{ctx}` ended: its loop waits only on channels nothing in the package closes (as at {}) and it never reads `{ctx}`; when `{}` returns on cancellation it waits forever",
                            pcx.where_is(at),
                            model.funcs[model_outer(model, parent)].name,
                        ),
                    )
                    .label(at, "waits here"),
                );
            }
        }
    }
}

fn model_outer(model: &PackageModel<'_>, mut func: FuncId) -> FuncId {
    while let Some(p) = model.funcs[func].parent {
        if model.funcs[func].node.kind() != "func_literal" {
            break;
        }
        func = p;
    }
    func
}

/// The parent names the context outside the goroutine: it honours cancellation itself.
fn parent_uses(model: &PackageModel<'_>, parent: FuncId, ctx: &str, go: Node<'_>) -> bool {
    let info = &model.funcs[parent];
    let src = model.src(info.file);
    info.body.is_some_and(|body| {
        syntax::descendants(body).any(|n| {
            n.kind() == "identifier" && syntax::text(n, src) == ctx && !syntax::is_within(n, go)
        })
    })
}

/// A receive in the child's loop when every way the loop waits is on a channel no one closes
/// and the child never reads a context; `None` when anything is unknown.
fn blind_loop<'t>(model: &PackageModel<'t>, child: FuncId, ctx: &str) -> Option<Node<'t>> {
    let info = &model.funcs[child];
    let src = model.src(info.file);
    let body = info.body?;
    let params = info
        .node
        .child_by_field_name("parameters")
        .map(|p| syntax::text(p, src))
        .unwrap_or("");
    if params.contains("context.") || params.contains("chan struct{}") {
        return None;
    }
    // Any mention of a context or a done-style call, in the child or its closures.
    let mut has_loop_exit = false;
    let mut loops = Vec::new();
    for n in syntax::descendants(body) {
        match n.kind() {
            "identifier" if syntax::text(n, src) == ctx => return None,
            "field_identifier" if matches!(syntax::text(n, src), "Done" | "Err" | "Context") => {
                return None
            }
            "qualified_type" | "selector_expression"
                if syntax::text(n, src).starts_with("context.") =>
            {
                return None
            }
            "for_statement" if model.enclosing_func(info.file, n) == Some(child) => loops.push(n),
            _ => {}
        }
    }
    let outer = loops.first().copied()?;
    let ops: Vec<_> = model
        .ops_in(child)
        .filter(|o| syntax::is_within(o.node, outer))
        .collect();
    let op_nodes: FxHashSet<usize> = ops.iter().map(|o| o.node.id()).collect();
    let mut first = None;
    for n in syntax::descendants_same_func(outer) {
        match n.kind() {
            "return_statement" | "break_statement" => has_loop_exit = true,
            "unary_expression" => {
                let Some(operand) = syntax::receive_operand(n, src) else {
                    continue;
                };
                if op_nodes.contains(&n.id()) {
                    first.get_or_insert(n);
                    continue;
                }
                let text = syntax::text(operand, src);
                if !(text.starts_with("time.") || text.ends_with(".C")) {
                    return None;
                }
            }
            // Ranging over something unknown (a slice, or a channel we cannot name).
            "range_clause"
                if !op_nodes.contains(&n.id())
                    && n.child_by_field_name("right")
                        .is_some_and(|r| !syntax::text(r, src).starts_with("time.")) =>
            {
                return None;
            }
            _ => {}
        }
    }
    if !has_loop_exit {
        return None;
    }
    let mut any = false;
    for op in &ops {
        match op.kind {
            OpKind::Recv | OpKind::Range => {
                let key = op.target.key.as_ref()?;
                if model.may_escape(key)
                    || model.ops_on(key).any(|o| o.kind == OpKind::Close)
                    || model.may_have_hidden_sender(key)
                {
                    return None;
                }
                any = true;
            }
            _ => {}
        }
    }
    any.then_some(first?)
}
