//! GL021 blocking-send-ignoring-ctx.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{go_literal, FileCx};
use crate::patterns::is_blocking_op;
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL021",
    name: "blocking-send-ignoring-ctx",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "A goroutine with a context in scope sends with a plain `ch <- v` instead of selecting on `ctx.Done()`.",
    why: "when the consumer stops on cancellation, the producer blocks forever on its send",
    fix: "`select { case ch <- v: case <-ctx.Done(): return ctx.Err() }`",
    docs: r#"# GL021 blocking-send-ignoring-ctx

## What it finds
Inside `go func(){…}()` launched from a function with a `context.Context` (or `*http.Request`)
parameter, a plain send on a channel that was not made in the enclosing function (a parameter, a
field, a package variable): the consumer is someone else, and the send ignores cancellation. The
general form of GL003. Local channels are left to GL001–GL003, which can see both ends.

## Why it leaks
Consumers usually stop reading when the context is cancelled; a producer stuck in `ch <- v` then
waits forever.

## Example
```go
func produce(ctx context.Context, out chan<- Item) {
	go func() {
		for _, it := range load() {
			out <- it // ignores ctx
		}
	}()
}
```

## Fix
`select { case out <- it: case <-ctx.Done(): return }`.

## When it is wrong
Often: buffered pipelines, consumers that always drain, result channels sized for every producer.
Off by default (low confidence); enable it when auditing a pipeline.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for go in &cx.go_statements {
        let Some(literal) = go_literal(*go) else {
            continue;
        };
        let Some(ctx) = cx.context_in_scope(literal) else {
            continue;
        };
        let Some(body) = literal.child_by_field_name("body") else {
            continue;
        };
        for send in syntax::descendants_same_func(body).filter(|n| n.kind() == "send_statement") {
            if !is_blocking_op(cx, send) {
                continue;
            }
            let Some(channel) = send.child_by_field_name("channel") else {
                continue;
            };
            if cx.resolve_channel(channel).is_some() {
                continue;
            }
            out.push(Finding::new(
                RULE.code,
                send,
                format!(
                    "send on `{}` ignores `{ctx}`: blocks forever if the consumer has stopped",
                    cx.text(channel)
                ),
            ));
        }
    }
}
