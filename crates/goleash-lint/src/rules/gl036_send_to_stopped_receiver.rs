//! GL036 send-to-stopped-receiver: a plain send on a struct-owned channel whose only receivers
//! are `select` loops that can return.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{ObjKey, Op, OpKind, Ty};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL036",
    name: "send-to-stopped-receiver",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A plain send on an unbuffered channel field whose every receiver is a `select` case next to a case that returns (stop, ctx.Done, a timeout).",
    why: "once the receiving loop has returned, nothing receives: every later send blocks forever",
    fix: "send in a `select` that also watches the receiver's stop signal (`case s.reqc <- r: case <-s.stopc: return errStopped`)",
    docs: r#"# GL036 send-to-stopped-receiver

## What it finds
The struct-owned form of forgotten-sender. A channel field (or package variable) the package
fully sees, made unbuffered, whose receives are all `select` cases, each in a `select` that has
another case that always leaves the function (`case <-n.stop: return`, `case <-ctx.Done():
return`; a return under an `if` in the case does not count). Every
plain send on it (`n.status <- c`, not inside a `select`) is reported.

## Why it leaks
The receiving goroutine stops receiving when its stop case wins. A send after that, or one that
was waiting when it happened, has no partner and blocks forever (`chan send` in the goroutineleak
profile), holding whatever its goroutine holds.

## Example
```go
func (n *node) run() {
	for {
		select {
		case c := <-n.status:
			c <- n.getStatus()
		case <-n.stop:
			return
		}
	}
}

func (n *node) Status() Status {
	c := make(chan Status)
	n.status <- c // blocks forever after Stop
	return <-c
}
```

## Fix
Make the sender watch the same stop signal: `select { case n.status <- c: case <-n.stop:
return Status{} }`.

## When it is wrong
When every sender is guaranteed to finish before the receiver can stop (the owner stops the loop
only after all callers are gone), the plain send is safe; suppress it with that reason.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    let keys = model.keys_where(|op| {
        op.kind == OpKind::Send
            && op.target.ty == Ty::Chan
            && matches!(op.target.key, Some(ObjKey::Field(..) | ObjKey::Global(_)))
    });
    for key in keys {
        if model.may_have_hidden_receiver(key) {
            continue;
        }
        let ops: Vec<&Op<'_>> = model.ops_on(key).collect();
        let makes: Vec<&&Op<'_>> = ops.iter().filter(|o| o.kind == OpKind::Make).collect();
        if makes.is_empty() || makes.iter().any(|m| m.capacity != Some(0)) {
            continue;
        }
        let receives: Vec<&&Op<'_>> = ops
            .iter()
            .filter(|o| matches!(o.kind, OpKind::Recv | OpKind::Range))
            .collect();
        if receives.is_empty() {
            continue;
        }
        let mut exits = Vec::new();
        for r in &receives {
            let file = model.funcs[r.func].file;
            match r
                .select
                .and_then(|select| exit_case(pcx, file, r.node, select))
            {
                Some(exit) => exits.push((file, exit)),
                None => {
                    exits.clear();
                    break;
                }
            }
        }
        let Some(&(exit_file, exit)) = exits.first() else {
            continue;
        };
        let receiver = model.funcs[receives[0].func].name.clone();
        // Functions that fire an exit case: they close or send on its channel, or call a
        // function that does (one level: `s.Stop()`).
        let exit_keys: Vec<ObjKey> = exits
            .iter()
            .filter_map(|(file, case)| exit_channel(pcx, *file, *case))
            .collect();
        let direct: Vec<usize> = model
            .ops
            .iter()
            .filter(|o| {
                matches!(o.kind, OpKind::Close | OpKind::Send)
                    && o.target.key.as_ref().is_some_and(|k| exit_keys.contains(k))
            })
            .map(|o| o.func)
            .collect();
        let stopper_funcs = callers_of(pcx, &direct);
        for send in ops
            .iter()
            .filter(|o| o.kind == OpKind::Send && o.select.is_none())
        {
            if receives.iter().any(|r| r.func == send.func) {
                continue;
            }
            // The sender is the one that stops the receiver (after its last send).
            if stopper_funcs.contains(&send.func) {
                continue;
            }
            let file = model.funcs[send.func].file;
            // Pushed as every package rule pushes its finding (code, place, message); the message is
            // this rule's own.
            out.push(
                PkgFinding::new(
                    RULE.code,
                    (file, send.node),
                    format!(
                        "`{}` is only received by `{receiver}`'s select, which returns when another case wins ({}): a send after that blocks forever",
                        key.describe(model),
                        pcx.where_is((exit_file, exit)),
                    ),
                )
                .label((exit_file, exit), "the receiver stops here")
                .label(
                    (model.funcs[receives[0].func].file, receives[0].node),
                    "the only receive",
                ),
            );
        }
    }
}

/// Another case of the receive's `select` that leaves the function (`return`, a terminating
/// call, or `goto`): after it wins, the receive is never reached again.
fn exit_case<'t>(
    pcx: &PackageCx<'t>,
    file: usize,
    receive: Node<'t>,
    select: Node<'t>,
) -> Option<Node<'t>> {
    let src = pcx.model.src(file);
    let own = syntax::select_case_via(receive, |n| pcx.model.cx(file).parent(n))?;
    let mut cursor = select.walk();
    let cases: Vec<Node<'t>> = select
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "communication_case" && c.id() != own.id())
        .collect();
    // Only a case that always leaves: a return guarded by a condition (`if active == 0 {
    // return }`) usually waits for the senders to be gone.
    cases.into_iter().find(|case| {
        syntax::statements(*case).iter().any(|n| {
            n.kind() == "return_statement"
                || n.kind() == "goto_statement"
                || (n.kind() == "expression_statement"
                    && n.named_child(0).is_some_and(|c| {
                        c.kind() == "call_expression" && syntax::is_terminating_call(c, src)
                    }))
        })
    })
}

/// The channel an exit case receives from, when the model knows it.
fn exit_channel(pcx: &PackageCx<'_>, file: usize, case: Node<'_>) -> Option<ObjKey> {
    let comm = case.child_by_field_name("communication")?;
    pcx.model
        .ops
        .iter()
        .find(|o| {
            o.kind == OpKind::Recv
                && pcx.model.funcs[o.func].file == file
                && syntax::is_within(o.node, comm)
        })
        .and_then(|o| o.target.key.clone())
}

/// The functions in `direct` and every function calling one of them, plus functions whose
/// `defer`/body closure does (callers one level up).
fn callers_of(pcx: &PackageCx<'_>, direct: &[usize]) -> Vec<usize> {
    let model = &pcx.model;
    let mut out: Vec<usize> = direct.to_vec();
    for (id, func) in model.funcs.iter().enumerate() {
        let Some(body) = func.body else {
            continue;
        };
        let calls_stopper = syntax::descendants(body)
            .filter(|n| n.kind() == "call_expression")
            .any(|call| {
                model
                    .callee(id, call)
                    .is_some_and(|(callee, _)| direct.contains(&callee))
            });
        if calls_stopper {
            out.push(id);
        }
    }
    // Closures inside a stopper belong to it too (a deferred `close(stop)`).
    let mut nested = Vec::new();
    for (id, func) in model.funcs.iter().enumerate() {
        let mut parent = func.parent;
        while let Some(p) = parent {
            if out.contains(&p) {
                nested.push(id);
                break;
            }
            parent = model.funcs[p].parent;
        }
    }
    out.extend(nested);
    out
}
