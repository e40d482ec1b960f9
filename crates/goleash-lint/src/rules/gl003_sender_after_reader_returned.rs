//! GL003 sender-after-reader-returned.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{Capacity, FileCx, UseKind};
use crate::flow::has_break_out;
use crate::patterns::{goroutine_within, is_blocking_op, same_activation};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL003",
    name: "sender-after-reader-returned",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A `for range ch` reader returns early while producer goroutines keep sending with plain sends.",
    why: "after the reader returns, the remaining producers block forever on their sends",
    fix: "cancel a context and have producers `select { case ch <- v: case <-ctx.Done(): return }`, or drain before returning",
    docs: r#"# GL003 sender-after-reader-returned

## What it finds
A local channel that goroutines started in the same function send on with plain `ch <- v` —
several values (the goroutine is started in a loop, or sends in a loop) — while the function reads
it with `for v := range ch { … return … }` and can leave the loop early (`return` or `break`).

## Why it leaks
The short-circuit ("first error wins") stops the reader; the producers that have not sent yet
block forever. Seen in PaesslerAG/gval#107, slok/goresilience#30, fullstorydev/grpchan#17.

## Example
```go
for r := range results {
	if r.err != nil {
		return r.err // producers still sending on results are stuck
	}
}
```

## Fix
Give producers a way out: a context cancelled on return and `select` on `ctx.Done()` around the
send; or a buffer as large as the number of values; or drain the channel in a goroutine before
returning.

## When it is wrong
Not reported when the channel escapes or has a capacity that is not a literal (`len(items)` may be
enough), or when the rest is drained: a `break` followed later in the function by a `for range ch`
(or `for _ = range ch`, or a goroutine doing that) that runs to the end; a `return` preceded in the
loop body by such a drain, or covered by a deferred one. A literal capacity that covers every value
makes this a false positive, and so does a drain written as a counted loop of receives.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for channel in cx.channels.iter() {
        if !matches!(
            channel.capacity,
            Capacity::Unbuffered | Capacity::Literal(_)
        ) {
            continue;
        }
        let uses = cx.channel_uses(channel);
        if cx.first_escape(&uses).is_some() {
            continue;
        }
        let producer = uses
            .iter()
            .filter(|u| u.kind == UseKind::Send && is_blocking_op(cx, u.op))
            .find_map(|u| {
                let go = goroutine_within(cx, u.op, channel.func)?;
                let many = cx.enclosing_loop(go).is_some() || cx.enclosing_loop(u.op).is_some();
                many.then_some(u.op)
            });
        let Some(producer) = producer else {
            continue;
        };
        for range in uses.iter().filter(|u| u.kind == UseKind::Range) {
            if !same_activation(cx, range.op, channel.func) {
                continue;
            }
            let Some(for_stmt) = cx.parent(range.op) else {
                continue;
            };
            let Some(body) = for_stmt.child_by_field_name("body") else {
                continue;
            };
            let drains: Vec<Node<'_>> = uses
                .iter()
                .filter(|u| u.kind == UseKind::Range && u.op.id() != range.op.id())
                .filter_map(|u| u.op.parent())
                .filter(|f| f.kind() == "for_statement" && drains_to_the_end(*f))
                .collect();
            // A return is covered by a deferred drain, or by a drain started on its way out
            // of the loop; a `break` also by any drain after the loop.
            let returns_uncovered = syntax::descendants_same_func(body)
                .filter(|n| n.kind() == "return_statement")
                .find(|ret| {
                    !drains.iter().any(|d| {
                        is_deferred(*d, channel.func)
                            || (syntax::is_within(*d, body) && d.end_byte() <= ret.start_byte())
                    })
                });
            let exit = match returns_uncovered {
                Some(ret) => Some(ret),
                None if has_break_out(for_stmt)
                    && !drains.iter().any(|d| {
                        is_deferred(*d, channel.func) || d.start_byte() >= for_stmt.end_byte()
                    }) =>
                {
                    Some(for_stmt)
                }
                None => None,
            };
            if let Some(exit) = exit {
                out.push(
                    Finding::new(
                        RULE.code,
                        exit,
                        format!(
                            "leaving the range over `{}` early strands the goroutines still sending on it",
                            channel.name
                        ),
                    )
                    .label(producer, "producer sends without a way out"),
                );
            }
        }
    }
}

/// A `for range ch` whose body never leaves early: it receives until the channel is closed,
/// so every producer can finish its sends.
fn drains_to_the_end(for_stmt: Node<'_>) -> bool {
    let Some(body) = for_stmt.child_by_field_name("body") else {
        return false;
    };
    !syntax::descendants_same_func(body).any(|n| n.kind() == "return_statement")
        && !has_break_out(for_stmt)
}

/// Runs when `func` returns, whatever the path: inside a `defer`red closure of `func`.
fn is_deferred(node: Node<'_>, func: Node<'_>) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        if n.id() == func.id() {
            return false;
        }
        if n.kind() == "defer_statement" {
            return true;
        }
        current = n.parent();
    }
    false
}
