//! GL005 receive-without-sender.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, UseKind};
use crate::patterns::is_blocking_op;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target, unparen};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL005",
    name: "receive-without-sender",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A blocking receive on a local channel that nothing sends on or closes.",
    why: "the receiver waits for a wake-up that can never come",
    fix: "`defer close(done)` where the work finishes (or send on it), or remove the wait",
    docs: r#"# GL005 receive-without-sender

## What it finds
A channel made in a function (`done := make(chan struct{})`) that is received from with a blocking
`<-done` or ranged over, while the function (closures included) never sends on it, never closes it,
and never lets it escape. Also the degenerate form where the channel is made right in the
operation, `<-make(chan T)` or `make(chan T) <- v` (unbuffered): no other code can ever reach it.

## Why it leaks
A receive on a channel that nobody can send on or close blocks forever. Typical when the `close` was
forgotten or sits on a path that an early return skips.

## Example
```go
done := make(chan struct{})
go func() {
	<-done // never woken
	cleanup()
}()
```

## Fix
`defer close(done)` where the work ends.

## When it is wrong
Receives inside a `select` are not reported (another case may be the way out). Channels handed to
any other function are assumed to be closed there.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    fresh_channel_ops(cx, out);
    for channel in cx.channels.iter().filter(|c| c.capacity != Capacity::Nil) {
        let uses = cx.channel_uses(channel);
        if cx.first_escape(&uses).is_some() {
            continue;
        }
        let wakes = uses
            .iter()
            .any(|u| matches!(u.kind, UseKind::Send | UseKind::Close | UseKind::Assigned));
        if wakes {
            continue;
        }
        // Ranges without a close are GL004's; this rule is about plain receives.
        if let Some(receive) = uses
            .iter()
            .find(|u| u.kind == UseKind::Receive && is_blocking_op(cx, u.op))
        {
            out.push(
                Finding::new(
                    RULE.code,
                    receive.op,
                    format!(
                        "nothing sends on or closes `{}`, so this receive blocks forever",
                        channel.name
                    ),
                )
                .label(channel.decl, "made here"),
            );
        }
    }
}

/// `<-make(chan T)` and `make(chan T) <- v`: the channel exists only inside the operation, so
/// no partner can ever exist. A buffered channel still takes one send.
fn fresh_channel_ops(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for call in &cx.calls {
        if call_target(*call, cx.src) != Some((None, "make")) {
            continue;
        }
        let args = syntax::call_arguments(*call);
        if args.first().map(|t| t.kind()) != Some("channel_type") {
            continue;
        }
        let mut node: Node<'_> = *call;
        while let Some(p) = node
            .parent()
            .filter(|p| p.kind() == "parenthesized_expression")
        {
            node = p;
        }
        let Some(parent) = node.parent() else {
            continue;
        };
        let is_operand = |field: &str| {
            parent.child_by_field_name(field).map(|n| unparen(n).id()) == Some(call.id())
        };
        let message = match parent.kind() {
            "unary_expression" if syntax::receive_operand(parent, cx.src).is_some() => {
                "nothing can send on a channel made inside the receive, so it blocks forever"
            }
            "send_statement" if is_operand("channel") && unbuffered(cx, &args) => {
                "nothing can receive from a channel made inside the send, so it blocks forever"
            }
            _ => continue,
        };
        if is_blocking_op(cx, parent) {
            out.push(Finding::new(RULE.code, parent, message));
        }
    }
}

fn unbuffered(cx: &FileCx<'_>, make_args: &[Node<'_>]) -> bool {
    match make_args.get(1) {
        None => true,
        Some(cap) => cx.text(*cap) == "0",
    }
}
