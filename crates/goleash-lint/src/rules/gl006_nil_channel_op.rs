//! GL006 nil-channel-op.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, UseKind};
use crate::patterns::is_blocking_op;
use crate::rules::RuleMeta;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL006",
    name: "nil-channel-op",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "Send, receive, range or close on a local channel variable that is never made.",
    why: "a nil channel blocks forever on send and receive (and close panics)",
    fix: "initialise it with `make(chan T)` before use",
    docs: r#"# GL006 nil-channel-op

## What it finds
`var ch chan T` in a function, never assigned anywhere in the function (closures included), never
escaping, then used in a plain send, receive, `range` or `close`.

## Why it leaks
Operations on a nil channel block forever (`chan send (nil chan)`), and `close(nil)` panics. The Go
runtime's goroutineleak profile reports these goroutines as leaked with certainty.

## Example
```go
var results chan int
go func() { results <- 1 }() // blocks forever
```

## Fix
`results := make(chan int)`.

## When it is wrong
Operations inside a `select` are never reported: setting a channel to nil to disable a case is an
idiom. Struct fields are out of scope (they need types).
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for channel in cx.channels.iter().filter(|c| c.capacity == Capacity::Nil) {
        let uses = cx.channel_uses(channel);
        if cx.first_escape(&uses).is_some() || uses.iter().any(|u| u.kind == UseKind::Assigned) {
            continue;
        }
        for u in &uses {
            let what = match u.kind {
                UseKind::Send if is_blocking_op(cx, u.op) => "send on",
                UseKind::Receive if is_blocking_op(cx, u.op) => "receive from",
                UseKind::Range => "range over",
                UseKind::Close => "close of",
                _ => continue,
            };
            let (message, why) = if u.kind == UseKind::Close {
                (
                    format!("close of nil channel `{}` panics", channel.name),
                    "closing a nil channel panics",
                )
            } else {
                (
                    format!("{what} nil channel `{}` blocks forever", channel.name),
                    "a nil channel blocks forever on send and receive",
                )
            };
            out.push(
                Finding::new(RULE.code, u.op, message)
                    .why(why)
                    .label(channel.decl, "declared here and never made"),
            );
        }
    }
}
