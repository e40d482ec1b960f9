//! GL024 signal-notify.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, SIGNAL};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL024",
    name: "signal-notify",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "`signal.Notify` on an unbuffered channel.",
    why: "signal delivery does not block: a signal sent while nobody is receiving on an unbuffered channel is lost, and its waiter may wait forever",
    fix: "`make(chan os.Signal, 1)`, or use `signal.NotifyContext`",
    docs: r#"# GL024 signal-notify

## What it finds
`signal.Notify(c, …)` where `c` is a local channel made unbuffered (vet's sigchanyzer, SA1017).
(A missing `signal.Stop` is not reported: on the Go tree it was mostly process-lifetime
registrations, which are correct.)

## Why it matters
The runtime sends signals without blocking; if nobody is receiving at that instant, an unbuffered
channel drops the signal, and a goroutine waiting for it waits forever.

## Example
```go
c := make(chan os.Signal)
signal.Notify(c, os.Interrupt)
```

## Fix
`c := make(chan os.Signal, 1); signal.Notify(c, os.Interrupt); defer signal.Stop(c)` — or
`ctx, stop := signal.NotifyContext(ctx, os.Interrupt); defer stop()`.

## When it is wrong
Hardly ever: a receiver that is always already waiting cannot miss a signal, but nothing
guarantees that.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(SIGNAL) {
        return;
    }
    for call in &cx.calls {
        if cx.pkg_call(*call, SIGNAL) != Some("Notify") {
            continue;
        }
        let Some(arg) = syntax::call_arguments(*call).into_iter().next() else {
            continue;
        };
        let Some(channel) = cx.resolve_channel(arg) else {
            continue;
        };
        if channel.capacity == Capacity::Unbuffered {
            out.push(
                Finding::new(
                    RULE.code,
                    arg,
                    format!(
                        "signal.Notify on unbuffered `{}` can miss signals",
                        channel.name
                    ),
                )
                .label(channel.decl, "made unbuffered here"),
            );
        }
    }
}
