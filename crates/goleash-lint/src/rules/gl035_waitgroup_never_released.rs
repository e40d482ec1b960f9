//! GL035 waitgroup-never-released: a `Wait` on a WaitGroup whose counter cannot reach zero:
//! nothing in the package calls `Done` on it, or the wait sits inside the loop that starts the
//! goroutines a bulk `Add` counted.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{ObjKey, Op, OpKind};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL035",
    name: "waitgroup-never-released",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "`wg.Wait()` on a WaitGroup that is `Add`ed but never `Done` anywhere in the package, or waited on inside the loop that starts the goroutines a bulk `Add` counted.",
    why: "Wait returns when the counter reaches zero; with no Done, or with Done-ers not yet started, it never does",
    fix: "call `defer wg.Done()` in every goroutine the Add counts, and wait after the loop that starts them",
    docs: r#"# GL035 waitgroup-never-released

## What it finds
- A `Wait` on a WaitGroup (a struct field or package variable the package fully sees) that some
  code `Add`s to but no code in the package ever calls `Done` on.
- A `Wait` inside the `for` loop that starts the goroutines, when the counter was set for all
  of them by one `Add` before the loop (`wg.Add(len(xs)); for … { go …; wg.Wait() }`): the
  first iteration waits for goroutines that have not been started yet.

## Why it leaks
`Wait` blocks until the counter is zero. A counter nobody decrements, or one that counts
goroutines the waiter itself would start later, never gets there: the waiter is parked for good
(`sync.WaitGroup.Wait` in the goroutineleak profile), with everything it holds.

## Example
```go
var group sync.WaitGroup
group.Add(len(plugins))
for _, p := range plugins {
	go func(p *plugin) { defer group.Done(); p.init() }(p)
	group.Wait() // waits for len(plugins) Done calls after starting one goroutine
}
```

## Fix
Move the `Wait` after the loop; give every goroutine counted by `Add` a `defer wg.Done()`.

## When it is wrong
A WaitGroup handed to other packages (passed by pointer, exported) is skipped: its `Done` may be
there.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for key in model.keys_where(|op| op.kind == OpKind::WgWait) {
        let ops: Vec<&Op<'_>> = model.ops_on(key).collect();
        let adds = ops.iter().any(|o| o.kind == OpKind::WgAdd);
        let dones = ops.iter().any(|o| o.kind == OpKind::WgDone);
        let shared = matches!(key, ObjKey::Field(..) | ObjKey::Global(_));
        if shared && adds && !dones && !model.may_escape(key) {
            for wait in ops.iter().filter(|o| o.kind == OpKind::WgWait) {
                let file = model.funcs[wait.func].file;
                // Pushed as every package rule pushes its finding (code, place, message); the message is
                // this rule's own.
                out.push(PkgFinding::new(
                    RULE.code,
                    (file, wait.node),
                    format!(
                        "nothing in this package calls Done on `{}`, which is Add-ed: this Wait never returns",
                        key.describe(model)
                    ),
                ));
            }
            continue;
        }
        for wait in ops.iter().filter(|o| o.kind == OpKind::WgWait) {
            if let Some(finding) = wait_in_spawning_loop(pcx, wait, &ops) {
                out.push(finding);
            }
        }
    }
}

/// `wg.Add(n)` before a loop that both starts goroutines calling `wg.Done()` and calls
/// `wg.Wait()` in its body, with no `Add` inside the loop.
fn wait_in_spawning_loop(
    pcx: &PackageCx<'_>,
    wait: &Op<'_>,
    ops: &[&Op<'_>],
) -> Option<PkgFinding> {
    let model = &pcx.model;
    let file = model.funcs[wait.func].file;
    let cx = model.cx(file);
    let for_stmt = cx.enclosing_loop(wait.node)?;
    let inside = |n: Node<'_>| syntax::is_within(n, for_stmt);
    let same_func = |o: &&&Op<'_>| model.funcs[o.func].file == file;
    let add_before = ops.iter().filter(same_func).find(|o| {
        o.kind == OpKind::WgAdd && o.func == wait.func && o.node.end_byte() <= for_stmt.start_byte()
    })?;
    if ops
        .iter()
        .filter(same_func)
        .any(|o| o.kind == OpKind::WgAdd && inside(o.node))
    {
        return None;
    }
    // A Done in a goroutine started inside the loop body.
    let done = ops.iter().filter(same_func).find(|o| {
        o.kind == OpKind::WgDone
            && inside(o.node)
            && model.funcs[o.func].launched_by_go
            && o.func != wait.func
    })?;
    Some(
        PkgFinding::new(
            RULE.code,
            (file, wait.node),
            "waits inside the loop that starts the goroutines: the Add before the loop counts all of them, so the first iteration waits for goroutines not started yet",
        )
        .label((file, add_before.node), "counted here, before the loop")
        .label((file, done.node), "each goroutine's Done")
        .confidence(Confidence::High),
    )
}
