//! GL004 range-never-closed.

use tree_sitter::Node;

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
`for v := range ch` where `ch` is a channel made in the same function (or an enclosing one) — or
the parameter of a function declared once in the same file that the channel is handed to
(`go worker(i, jobs)`) — the channel never escapes further, no `close(ch)` appears anywhere in
that function or worker (closures included), and the loop body has no `return` or `break` out.

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
Because the channel may not escape (other than into such a worker, which must not close it,
store it or pass it on), a close through another name is impossible here except via reflection.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for channel in cx.channels.iter().filter(|c| c.capacity != Capacity::Nil) {
        let uses = cx.channel_uses(channel);
        // Ranges over the channel, here or inside a same-file worker it is handed to.
        let mut ranges: Vec<(Node<'_>, Node<'_>, Option<Node<'_>>)> = Vec::new();
        let mut followable = true;
        for u in &uses {
            match u.kind {
                UseKind::Close | UseKind::Assigned => followable = false,
                UseKind::Range => ranges.push((u.node, u.op, None)),
                UseKind::Escape => match cx.callee_param(u.node) {
                    Some((body, param)) => {
                        for inner in cx.uses_in(body, param) {
                            match inner.kind {
                                UseKind::Close | UseKind::Escape | UseKind::Assigned => {
                                    followable = false
                                }
                                UseKind::Range => ranges.push((inner.node, inner.op, Some(u.op))),
                                _ => {}
                            }
                        }
                    }
                    None => followable = false,
                },
                _ => {}
            }
        }
        if !followable {
            continue;
        }
        for (range, clause, handed_over_at) in ranges {
            let Some(for_stmt) = cx.parent(clause) else {
                continue;
            };
            let Some(body) = for_stmt.child_by_field_name("body") else {
                continue;
            };
            if has_return_or_exit(cx, body) || has_break_out(for_stmt) {
                continue;
            }
            let mut finding = Finding::new(
                RULE.code,
                range,
                format!(
                    "`{}` is never closed, so this range never ends",
                    channel.name
                ),
            )
            .label(channel.decl, "made here; never closed");
            if let Some(call) = handed_over_at {
                finding = finding.label(call, "handed to the worker here");
            }
            out.push(finding);
        }
    }
}
