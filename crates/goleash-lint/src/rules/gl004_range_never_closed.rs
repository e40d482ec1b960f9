//! GL004 range-never-closed.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, UseKind};
use crate::flow::has_break_out;
use crate::patterns::has_return_or_exit;
use crate::rules::RuleMeta;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL004",
    name: "range-never-closed",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`for range ch` over a local channel that is never closed.",
    why: "a range loop only ends when the channel is closed; once the senders stop, the reader waits forever",
    fix: "let the producer own the channel and `defer close(ch)` when it is done sending",
    docs: r#"# GL004 range-never-closed

## What it finds
`for v := range ch` where `ch` is a channel made in the same function (or an enclosing one), the
channel never escapes, no `close(ch)` appears anywhere in that function (closures included), and
the loop body has no `return` or `break` out.

## Why it leaks
`range` over a channel ends only when the channel is closed. Without a close, the reading goroutine
blocks in `chan receive` forever after the last value.

## Example
```go
jobs := make(chan int)
go func() {
	for j := range jobs { // never ends
		work(j)
	}
}()
for _, j := range all { jobs <- j }
// missing: close(jobs)
```

## Fix
`close(jobs)` after the last send — ideally `defer close(jobs)` in the producer that owns it.

## When it is wrong
Because the channel may not escape, a close through another name is impossible here except via
reflection; the rule is quiet whenever the channel is passed anywhere.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for channel in cx.channels.iter().filter(|c| c.capacity != Capacity::Nil) {
        let uses = cx.channel_uses(channel);
        if cx.first_escape(&uses).is_some() || uses.iter().any(|u| u.kind == UseKind::Close) {
            continue;
        }
        for range in uses.iter().filter(|u| u.kind == UseKind::Range) {
            let Some(for_stmt) = range.op.parent() else {
                continue;
            };
            let Some(body) = for_stmt.child_by_field_name("body") else {
                continue;
            };
            if has_return_or_exit(cx, body) || has_break_out_of_range(for_stmt) {
                continue;
            }
            out.push(
                Finding::new(
                    RULE.code,
                    range.node,
                    format!(
                        "`{}` is never closed, so this range never ends",
                        channel.name
                    ),
                )
                .label(
                    channel.decl,
                    "made here; no close() anywhere in this function",
                ),
            );
        }
    }
}

fn has_break_out_of_range(for_stmt: tree_sitter::Node<'_>) -> bool {
    has_break_out(for_stmt)
}
