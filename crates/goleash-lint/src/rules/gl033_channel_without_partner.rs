//! GL033 channel-without-partner: a struct-field or package-level channel that one side uses
//! and no code in the package can ever complete.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{ObjKey, Op, OpKind, Ty};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL033",
    name: "channel-without-partner",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A channel field or package variable that is sent on but never received from, or received from but never sent on or closed, anywhere in the package.",
    why: "with no partner anywhere, the blocking side waits forever (a send once the buffer is full, a receive at once)",
    fix: "add the missing side (a receiver, a `close` on shutdown), or remove the dead channel",
    docs: r#"# GL033 channel-without-partner

## What it finds
The struct-owned variants of forgotten-sender and receive-without-sender. For a channel that is
a field of a package type (`(*watcher).result`) or a package variable, across every file of the
package:
- a blocking send (not a `select` case) when nothing in the package ever receives from it
  (no `<-`, `range` or receiving `select` case);
- a blocking receive or `range` when nothing ever sends on it or closes it;
- in a `for` loop's `select`, the only case that leaves the loop (`return`) receiving from
  such a channel: the goroutine can never stop.

## Why it leaks
Nobody is on the other side. The goroutine blocks (`chan send`, `chan receive`) or loops forever,
with everything it references.

## Example
```go
type cacheWatcher struct{ input, result chan Event }

func (c *cacheWatcher) sendEvent(e Event) { c.result <- e } // nothing receives c.result
```

## Fix
Add the consumer (or the `close` that ends a `range`), or delete the channel.

## How it decides
Only channels the package fully sees: unexported fields and variables whose value never leaves
(not returned, passed, stored elsewhere, assigned from something other than `make`), and no field
of that name is used on a value whose type cannot be read. A send on a channel made with a
literal buffer is reported with medium confidence (it blocks once the buffer is full).

## When it is wrong
A partner reached through reflection or `unsafe` is invisible here.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    let keys = model.keys_where(|op| {
        op.target.ty == Ty::Chan
            && matches!(op.target.key, Some(ObjKey::Field(..) | ObjKey::Global(_)))
    });
    for key in keys {
        let hidden_receiver = model.may_have_hidden_receiver(key);
        let hidden_sender = model.may_have_hidden_sender(key);
        if hidden_receiver && hidden_sender {
            continue;
        }
        let ops: Vec<&Op<'_>> = model.ops_on(key).collect();
        let has = |kinds: &[OpKind]| ops.iter().any(|o| kinds.contains(&o.kind));
        let buffered = ops
            .iter()
            .any(|o| o.kind == OpKind::Make && o.capacity.is_some_and(|c| c > 0));
        let name = key.describe(model);
        // Never made here: a nil hook that tests or callers set (`if s.hook != nil { s.hook <-
        // v }`); a nil channel's sends are GL006's business.
        let made = has(&[OpKind::Make]);
        if made && !has(&[OpKind::Recv, OpKind::Range]) && !hidden_receiver {
            for op in ops
                .iter()
                .filter(|o| o.kind == OpKind::Send && o.select.is_none())
            {
                let file = model.funcs[op.func].file;
                let mut finding = PkgFinding::new(
                    RULE.code,
                    (file, op.node),
                    format!("nothing in this package ever receives from `{name}`: this send blocks forever{}", if buffered { " once the buffer is full" } else { "" }),
                );
                if buffered {
                    finding = finding.confidence(Confidence::Medium);
                }
                out.push(finding);
            }
        }
        if !has(&[OpKind::Send, OpKind::Close]) && !hidden_sender {
            let state = if made {
                ""
            } else {
                " (and it is never made: a nil channel)"
            };
            for op in &ops {
                let file = model.funcs[op.func].file;
                match (op.kind, op.select) {
                    (OpKind::Recv | OpKind::Range, None) => {
                        out.push(PkgFinding::new(
                            RULE.code,
                            (file, op.node),
                            format!("nothing in this package ever sends on or closes `{name}`{state}: this {} blocks forever", if op.kind == OpKind::Range { "range" } else { "receive" }),
                        ));
                    }
                    (OpKind::Recv, Some(select)) if is_only_exit(pcx, file, op, select) => {
                        out.push(
                            PkgFinding::new(
                                RULE.code,
                                (file, op.node),
                                format!("this is the loop's only way out, but nothing in this package ever sends on or closes `{name}`{state}: the goroutine never stops"),
                            )
                            .confidence(Confidence::Medium)
                            .fix(format!("close `{name}` from the owner's Close/Stop method (once: sync.Once), or select on a context")),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The receive's case leaves the enclosing infinite `for` (a `return`), and no other case of
/// its `select`, nor anything else in the loop, does.
fn is_only_exit(
    pcx: &PackageCx<'_>,
    file: usize,
    op: &Op<'_>,
    select: tree_sitter::Node<'_>,
) -> bool {
    let src = pcx.model.src(file);
    let cx = pcx.model.cx(file);
    let Some(case) = syntax::select_case_via(op.node, |n| cx.parent(n)) else {
        return false;
    };
    let Some(for_stmt) = cx.enclosing_loop(select) else {
        return false;
    };
    if !syntax::is_infinite_loop(for_stmt) || crate::flow::has_break_out(for_stmt) {
        return false;
    }
    let leaves = |n: tree_sitter::Node<'_>| {
        syntax::descendants_same_func(n).any(|d| {
            d.kind() == "return_statement"
                || d.kind() == "goto_statement"
                || (d.kind() == "call_expression" && syntax::is_terminating_call(d, src))
        })
    };
    if !leaves(case) {
        return false;
    }
    let Some(body) = for_stmt.child_by_field_name("body") else {
        return false;
    };
    !syntax::descendants_same_func(body)
        .filter(|d| {
            d.kind() == "return_statement"
                || d.kind() == "goto_statement"
                || (d.kind() == "call_expression" && syntax::is_terminating_call(*d, src))
        })
        .any(|d| !syntax::is_within(d, case))
}
