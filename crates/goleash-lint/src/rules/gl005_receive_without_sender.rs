//! GL005 receive-without-sender.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, UseKind};
use crate::patterns::is_blocking_op;
use crate::rules::RuleMeta;

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
and never lets it escape.

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
