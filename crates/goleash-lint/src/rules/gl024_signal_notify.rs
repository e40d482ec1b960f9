//! GL024 signal-notify.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, SIGNAL};
use crate::patterns::runs_once_per_process;
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL024",
    name: "signal-notify",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "`signal.Notify` on an unbuffered channel, or without `signal.Stop` in a function that returns.",
    why: "signal delivery does not block: an unbuffered channel misses signals, and an unstopped registration keeps the channel alive",
    fix: "`make(chan os.Signal, 1)` and `defer signal.Stop(c)`, or use `signal.NotifyContext`",
    docs: r#"# GL024 signal-notify

## What it finds
`signal.Notify(c, …)` where `c` is a local channel made unbuffered (vet's sigchanyzer, SA1017), and,
at info level, `signal.Notify` on a local channel in a function other than `main`/`init` that never
calls `signal.Stop(c)`.

## Why it matters
The runtime sends signals without blocking; if nobody is receiving at that instant, an unbuffered
channel drops the signal, and a goroutine waiting for it waits forever. Without `Stop` the runtime
keeps the channel registered after the function returns.

## Example
```go
c := make(chan os.Signal)
signal.Notify(c, os.Interrupt)
```

## Fix
`c := make(chan os.Signal, 1); signal.Notify(c, os.Interrupt); defer signal.Stop(c)` — or
`ctx, stop := signal.NotifyContext(ctx, os.Interrupt); defer stop()`.

## When it is wrong
Registrations meant to last for the whole process outside `main` (a library's one-time setup)
trigger the info-level `Stop` hint.
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
            continue;
        }
        if runs_once_per_process(cx, *call) {
            continue;
        }
        let Some(body) = syntax::function_body(channel.func) else {
            continue;
        };
        let stopped = syntax::descendants(body).any(|n| {
            n.kind() == "call_expression"
                && matches!(cx.pkg_call(n, SIGNAL), Some("Stop" | "Reset"))
        });
        if !stopped {
            out.push(
                Finding::new(
                    RULE.code,
                    *call,
                    format!("`{}` stays registered for signals after this function returns", channel.name),
                )
                .severity(Severity::Info)
                .confidence(Confidence::Medium)
                .why("without signal.Stop the runtime keeps sending to (and referencing) the channel")
                .fix(format!("`defer signal.Stop({})`", channel.name)),
            );
        }
    }
}
