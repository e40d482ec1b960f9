//! GL037 channel-passed-to-idle-param: a receive on a local channel whose only other uses
//! hand it to package functions that never send on it or close it.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::facts::{Capacity, UseKind};
use crate::rules::RuleMeta;
use crate::semantic::model::FuncId;
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax::{self, text};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL037",
    name: "channel-passed-to-idle-param",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A blocking receive on a local channel that is only handed to functions of the package that never send on it or close it.",
    why: "the receiver waits for a send or close that the function it handed the channel to never makes",
    fix: "make the callee `close(done)` (with `defer`) or send on it when it finishes, or stop waiting on the channel",
    docs: r#"# GL037 channel-passed-to-idle-param

## What it finds
receive-without-sender (GL005) across calls. A local channel is made, passed to a function or
method of the same package (often started with `go`), and then received from; the callee's
parameter is never sent on, closed, or passed on. Nothing can ever complete the receive.

## Why it leaks
The waiting goroutine blocks in `chan receive` forever: the helper it started was meant to
signal completion through the channel but never does.

## Example
```go
done := make(chan bool)
go cc.lbWatcher(done) // lbWatcher never uses done
<-done
```

## Fix
`defer close(done)` at the top of the callee, or do not wait on a channel nobody signals.

## When it is wrong
Only calls this package resolves are followed; a channel handed to anything else (another
package, an interface, a function value) is out of sight and the rule stays quiet.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for (file_index, file) in model.files.iter().enumerate() {
        let cx = file.cx;
        for channel in cx.channels.iter().filter(|c| c.capacity != Capacity::Nil) {
            let uses = cx.channel_uses(channel);
            if uses
                .iter()
                .any(|u| matches!(u.kind, UseKind::Send | UseKind::Close))
            {
                continue;
            }
            let Some(owner) = model.func_of(file_index, channel.func) else {
                continue;
            };
            let mut handed: Vec<(Node<'_>, FuncId)> = Vec::new();
            let mut all_idle = true;
            for u in uses.iter().filter(|u| u.kind == UseKind::Escape) {
                match idle_callee(pcx, file_index, owner, u.node) {
                    Some(found) => handed.push(found),
                    None => {
                        all_idle = false;
                        break;
                    }
                }
            }
            if !all_idle || handed.is_empty() {
                continue;
            }
            let (call, callee) = handed[0];
            for receive in uses.iter().filter(|u| {
                matches!(u.kind, UseKind::Receive | UseKind::Range)
                    && syntax::select_case_via(u.op, |n| cx.parent(n)).is_none()
            }) {
                out.push(
                    PkgFinding::new(
                        RULE.code,
                        (file_index, receive.op),
                        format!(
                            "nothing sends on or closes `{}`: it is only handed to `{}`, which never sends on it or closes it",
                            channel.name, model.funcs[callee].name
                        ),
                    )
                    .label((file_index, channel.decl), "made here")
                    .label((file_index, call), "handed over here"),
                );
            }
        }
    }
}

/// `ident` is an argument of a call to a package function whose parameter at that position
/// is only ever received from (or not used at all).
fn idle_callee<'t>(
    pcx: &PackageCx<'t>,
    file: usize,
    owner: FuncId,
    ident: Node<'t>,
) -> Option<(Node<'t>, FuncId)> {
    let model = &pcx.model;
    let cx = model.cx(file);
    let args = cx.parent(ident)?;
    if args.kind() != "argument_list" {
        return None;
    }
    let call = cx.parent(args)?;
    let position = syntax::call_arguments(call)
        .iter()
        .position(|a| a.id() == ident.id())?;
    let caller = model.enclosing_func(file, call).unwrap_or(owner);
    let (callee, _) = model.callee(caller, call)?;
    let info = &model.funcs[callee];
    let (name, _) = info.params.get(position)?;
    if info.params.len() != syntax::call_arguments(call).len() {
        return None; // variadic or mismatched: out of sight
    }
    if name == "_" {
        return Some((call, callee));
    }
    let body = info.body?;
    let src = model.src(info.file);
    let callee_cx = model.cx(info.file);
    let idle = syntax::descendants(body)
        .filter(|n| n.kind() == "identifier" && text(*n, src) == name)
        .all(|n| {
            let Some(parent) = callee_cx.parent(n) else {
                return false;
            };
            match parent.kind() {
                "unary_expression" => parent
                    .child_by_field_name("operator")
                    .is_some_and(|o| text(o, src) == "<-"),
                "range_clause" => {
                    parent.child_by_field_name("right").map(|r| r.id()) == Some(n.id())
                }
                "binary_expression" => true,
                _ => false,
            }
        });
    idle.then_some((call, callee))
}
