//! GL002 loop-senders-single-receive.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, UseKind};
use crate::patterns::{goroutine_within, is_blocking_op, same_activation};
use crate::rules::RuleMeta;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL002",
    name: "loop-senders-single-receive",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "Goroutines started in a loop each send on an unbuffered channel that is received only once.",
    why: "only the first sender is received; every other goroutine blocks forever on its send",
    fix: "buffer the channel to the number of senders, use errgroup, or let senders select on ctx.Done()",
    docs: r#"# GL002 loop-senders-single-receive

## What it finds
A local unbuffered channel; a `for` loop starts one goroutine per iteration and each sends on the
channel with a plain `ch <- v`; after the loop the function receives from the channel exactly once,
outside any loop ("first result wins", "first error wins").

## Why it leaks
N goroutines send, one value is received: N−1 senders stay blocked in `chan send` forever.

## Example
```go
func first(urls []string) string {
	ch := make(chan string)
	for _, u := range urls {
		go func() { ch <- get(u) }()
	}
	return <-ch // the other len(urls)-1 goroutines leak
}
```

## Fix
`make(chan string, len(urls))`, or an errgroup with a cancelled context, or senders that
`select { case ch <- v: case <-ctx.Done(): }`.

## When it is wrong
Not reported when the channel is buffered (any capacity: a literal capacity is a deliberate bound),
escapes, or is received more than once or in a loop. A loop that runs once at most would be a
false positive.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for (channel, uses) in cx.local_unbuffered_channels() {
        let looped_go = uses
            .iter()
            .filter(|u| u.kind == UseKind::Send && is_blocking_op(cx, u.op))
            .filter_map(|u| goroutine_within(cx, u.op, channel.func))
            .find(|go| cx.enclosing_loop(*go).is_some() && same_activation(cx, *go, channel.func));
        let Some(go) = looped_go else {
            continue;
        };
        let receives: Vec<_> = uses
            .iter()
            .filter(|u| matches!(u.kind, UseKind::Receive | UseKind::Range))
            .collect();
        let [receive] = receives.as_slice() else {
            continue;
        };
        let Some(spawn_loop) = cx.enclosing_loop(go) else {
            continue;
        };
        if receive.kind != UseKind::Receive
            || !same_activation(cx, receive.op, channel.func)
            || cx.enclosing_loop(receive.op).is_some()
            || receive.op.start_byte() < spawn_loop.end_byte()
        {
            continue;
        }
        out.push(
            Finding::new(
                RULE.code,
                receive.op,
                format!(
                    "only one value is received from `{}`, but a goroutine per iteration sends on it",
                    channel.name
                ),
            )
            .label(go, "one sender per loop iteration")
            .label(channel.decl, "unbuffered channel made here"),
        );
    }
}
