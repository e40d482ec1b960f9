//! GL001 forgotten-sender.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, UseKind};
use crate::flow::{Exit, PathCheck};
use crate::patterns::{goroutine_within, is_blocking_op, is_give_up_case, same_activation};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL001",
    name: "forgotten-sender",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A goroutine sends its result on an unbuffered channel that the caller may stop waiting for.",
    why: "when the other select case wins, nobody ever receives and the sending goroutine blocks forever",
    fix: "make the channel buffered (`make(chan T, 1)`), or have the sender select on `ctx.Done()` too",
    docs: r#"# GL001 forgotten-sender

## What it finds
A local, unbuffered channel; a goroutine started in the same function sends on it with a plain
`ch <- v`; the function receives from it in a `select` that also has a "give up" case
(`<-ctx.Done()`, `<-time.After(d)`, a timer, a done channel, or `default`) that returns or is not
in a loop. Also when the only receive is a plain `<-ch` and the function can `return` between the
`go` and that receive (an early error return). A channel made inside a loop body, in the same
iteration as the `go`, is one channel per iteration and gets the same reasoning.

## Why it leaks
If the give-up case wins, the function returns and nothing ever receives from `ch`. The goroutine
stays blocked in `chan send` for the life of the process, pinning everything it references. This
is the most common leak found in real Go code (GCatch's BMOC shape, Trail of Bits'
`hanging-goroutine`).

## Example
```go
func fetch(ctx context.Context) (int, error) {
	ch := make(chan int) // unbuffered
	go func() { ch <- slow() }()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err() // the sender is stuck forever
	}
}
```

## Fix
`ch := make(chan int, 1)`: the send always completes and the goroutine exits. Or let the sender
give up as well: `select { case ch <- v: case <-ctx.Done(): }`.

## When it is wrong
Not reported when the channel escapes (is passed to a call, stored, returned or sent), has a second
receiver (for example a drain in the give-up branch), or is sent on inside a `select`. It cannot see
a receiver that reaches the channel through another name. For the early return: the receive must
be in the same loop iteration as the `go`; falling off the end of the function is not counted;
a return guarded by the same condition as the spawn (`if a { go … }` … `if a { <-ch } else
{ return }`) would be a false positive, since paths are not correlated.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for (channel, uses) in cx.local_unbuffered_channels() {
        let sends: Vec<_> = uses
            .iter()
            .filter(|u| u.kind == UseKind::Send && is_blocking_op(cx, u.op))
            .filter_map(|u| goroutine_within(cx, u.op, channel.func).map(|go| (u, go)))
            .collect();
        // Senders started in a loop are GL002's shape, unless the channel is made in the same
        // iteration: then each iteration has its own channel and sender.
        let chan_loop = syntax::enclosing_loop(channel.decl).map(|l| l.id());
        let Some((send, go)) = sends
            .iter()
            .find(|(_, go)| syntax::enclosing_loop(*go).map(|l| l.id()) == chan_loop)
        else {
            continue;
        };
        let receives: Vec<_> = uses
            .iter()
            .filter(|u| matches!(u.kind, UseKind::Receive | UseKind::Range))
            .collect();
        // One receive, or one `select` case receive plus drains inside other cases of the
        // same select (a give-up case that drains is fine, one that does not leaks).
        let receive = match receives.as_slice() {
            [only] => *only,
            many => {
                let mut in_case = many.iter().filter_map(|r| {
                    syntax::select_case_via(r.op, |n| cx.parent(n)).map(|case| (*r, case))
                });
                let Some((first, case)) = in_case.next() else {
                    continue;
                };
                if in_case.next().is_some() {
                    continue;
                }
                let Some(select) = cx.parent(case) else {
                    continue;
                };
                if !many
                    .iter()
                    .all(|r| r.op.id() == first.op.id() || syntax::is_within(r.op, select))
                {
                    continue;
                }
                first
            }
        };
        if receive.kind != UseKind::Receive || !same_activation(cx, receive.op, channel.func) {
            continue;
        }
        // The receive can be skipped at `why`: the sender then blocks forever.
        let report = |why: Node<'_>, message: &str| {
            Finding::new(
                RULE.code,
                send.op,
                format!(
                    "goroutine may block forever sending on unbuffered `{}`",
                    channel.name
                ),
            )
            .label(channel.decl, "unbuffered channel made here")
            .label(why, message)
            .label(*go, "goroutine started here")
        };
        let Some(case) = syntax::select_case_via(receive.op, |n| cx.parent(n)) else {
            if let Some(exit) = early_exit(cx, *go, receive.op) {
                out.push(report(exit, "leaving here skips the only receive"));
            }
            continue;
        };
        let Some(select) = cx.parent(case) else {
            continue;
        };
        let mut cursor = select.walk();
        let give_up = select
            .named_children(&mut cursor)
            .filter(|c| c.id() != case.id())
            .filter(|c| !receives.iter().any(|r| syntax::is_within(r.op, *c)))
            .find(|c| {
                is_give_up_case(cx, *c)
                    && (syntax::enclosing_loop(select).map(|l| l.id()) == chan_loop
                        || syntax::descendants_same_func(*c)
                            .any(|n| n.kind() == "return_statement"))
            });
        let Some(give_up) = give_up else {
            continue;
        };
        out.push(report(give_up, "when this case wins, nobody receives"));
    }
}

/// A `return` (or the end of the function) reachable from the `go` statement without passing
/// the only receive, which is a plain `<-ch` in the same loop iteration as the `go`.
fn early_exit<'t>(cx: &FileCx<'t>, go: Node<'t>, receive: Node<'t>) -> Option<Node<'t>> {
    if syntax::enclosing_loop(receive).map(|l| l.id()) != syntax::enclosing_loop(go).map(|l| l.id())
    {
        return None;
    }
    let is_receive = |n: Node<'t>| n.id() == receive.id();
    let check = PathCheck {
        src: cx.src,
        is_use: &is_receive,
    };
    match check.exit_without_use(go)? {
        Exit::Return(ret) => Some(ret),
        // Falling off the end of a function is only "early" when the receive sits in a branch
        // the path skipped.
        Exit::EndOfFunction(_) => None,
    }
}
