//! GL042 waitgroup-add-after-wait: `wg.Add` after the goroutine that calls `wg.Wait()` was
//! started, in the function that started it.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{FuncId, OpKind, PackageModel};
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL042",
    name: "waitgroup-add-after-wait",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`wg.Add` in a function after it started the goroutine that calls `wg.Wait()`: Wait may already have seen zero and returned.",
    why: "an Add that raises the counter from zero must happen before Wait starts: otherwise Wait returns early, the close or cleanup after it runs while the goroutines counted later still work, and their sends block or panic",
    fix: "Add for every goroutine before starting the waiter (`wg.Add(len(items))` first), or start the waiter goroutine after the loop that Adds",
    docs: r#"# GL042 waitgroup-add-after-wait

## What it finds
In one function, a `go` statement starts a goroutine that calls `wg.Wait()` (typically to close a
results channel), and later in the same function `wg.Add(…)` counts more goroutines on the same
WaitGroup (a local, a captured variable, a field or a package variable). The finding is on the
`Add`, with the waiter's `go` statement and its `Wait` as related locations. GL017 covers an
`Add` inside the counted goroutine itself.

## Why it leaks
The sync docs: calls to `Add` with a positive delta that start when the counter is zero must
happen before a `Wait`. Here the waiter may run first, see zero, and return: it closes the
results channel (later sends panic) or signals "all done" while goroutines are still being
started; with a consumer that stopped reading on that signal, the late goroutines block on their
sends forever. If the counter happens to be positive, a `Wait` already returned and a new `Add`
panics with "WaitGroup is reused before previous Wait has returned".

## Example
```go
go func() {
	wg.Wait()
	close(results)
}()
for _, u := range urls {
	wg.Add(1) // the waiter may already have returned
	go fetch(u, &wg, results)
}
```

## Fix
`wg.Add(len(urls))` before starting the waiter, or start the waiter after the loop.

## When it is wrong
When an `Add` before the `go` statement keeps the counter above zero until every later `Add`
has run (a producer goroutine counted first that itself waits for the loop to finish): the
finding is then about an order the code guarantees by other means.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    let mut reported: Vec<(usize, usize)> = Vec::new();
    for wait in model.ops.iter().filter(|o| o.kind == OpKind::WgWait) {
        let Some(key) = &wait.target.key else {
            continue;
        };
        for (file, go) in starting_statements(model, wait.func) {
            let Some(starter) = model.enclosing_func(file, go) else {
                continue;
            };
            let late_add = model.ops_on(key).find(|add| {
                add.kind == OpKind::WgAdd
                    && add.func == starter
                    && model.funcs[add.func].file == file
                    && add.node.start_byte() > go.end_byte()
                    && !after_a_wait(model, starter, go, add.node)
            });
            let Some(add) = late_add else {
                continue;
            };
            if reported.contains(&(file, add.node.id())) {
                continue;
            }
            reported.push((file, add.node.id()));
            let wait_at = (model.funcs[wait.func].file, wait.node);
            // Pushed as every package rule pushes its finding (code, place, message); the message is
            // this rule's own.
            out.push(
                PkgFinding::new(
                    RULE.code,
                    (file, add.node),
                    format!(
                        "`{}` is added to after the goroutine started at {} began waiting on it (Wait at {}): Wait may already have seen zero and returned",
                        key.describe(model),
                        pcx.where_is((file, go)),
                        pcx.where_is(wait_at),
                    ),
                )
                .label((file, go), "the waiter starts here")
                .label(wait_at, "waits here"),
            );
        }
    }
}

/// The `go` statements that start `func` or a function it is nested in (a Wait in a closure
/// of the started function runs in that goroutine too).
fn starting_statements<'t>(model: &PackageModel<'t>, mut func: FuncId) -> Vec<(usize, Node<'t>)> {
    let mut out = Vec::new();
    loop {
        let info = &model.funcs[func];
        out.extend(info.started_by.iter().copied());
        if info.launched_by_go {
            break;
        }
        match info.parent {
            Some(p) => func = p,
            None => break,
        }
    }
    out
}

/// The starter itself waits between the `go` statement and the Add (a reused WaitGroup in a
/// second phase): the first Wait has returned by then.
fn after_a_wait(model: &PackageModel<'_>, starter: FuncId, go: Node<'_>, add: Node<'_>) -> bool {
    model.ops_in(starter).any(|o| {
        o.kind == OpKind::WgWait
            && o.node.start_byte() > go.end_byte()
            && o.node.end_byte() < add.start_byte()
    })
}
