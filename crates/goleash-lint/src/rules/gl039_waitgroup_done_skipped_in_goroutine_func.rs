//! GL039 done-skipped-in-started-function: a function started with `go f(&wg, …)` (or
//! `go s.worker()`) that calls `wg.Done()` but has a `return` that skips it.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::flow::{Exit, PathCheck};
use crate::rules::RuleMeta;
use crate::semantic::model::{OpKind, Root};
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL039",
    name: "done-skipped-in-started-function",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A function started as a goroutine (`go worker(&wg)`, `go s.run()`) calls `wg.Done()` on a WaitGroup it was given or owns, but a `return` skips it.",
    why: "the goroutine ends without Done: the counter never reaches zero and every Wait on it blocks forever",
    fix: "`defer wg.Done()` as the function's first statement",
    docs: r#"# GL039 done-skipped-in-started-function

## What it finds
wg-done-skipped (GL016) across functions. GL016 reads `go func(){ … }()` literals; this rule
reads the named functions and methods the package starts with `go` (`go worker(&wg, jobs)`,
`go s.flush()`): when such a function calls `Done` on a WaitGroup that is its parameter or a
field of its receiver, not deferred at the top, and some `return` is reachable without it.

## Why it leaks
The `Add` before the `go` statement counted this goroutine. On the early-return path it never
calls `Done`, so `Wait` (in the starter, in `Close`, in a test) blocks forever.

## Example
```go
func worker(wg *sync.WaitGroup, jobs <-chan job) {
	j, ok := <-jobs
	if !ok {
		return // skips wg.Done()
	}
	j.run()
	wg.Done()
}

wg.Add(1)
go worker(&wg, jobs)
wg.Wait()
```

## Fix
`defer wg.Done()` first thing in the function.

## When it is wrong
A path that hands the Done over to another function it calls (`finish(wg)`) is counted as a
Done only if the call's name mentions done, finish or release.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for (id, func) in model.funcs.iter().enumerate() {
        if func.started_by.is_empty() || func.launched_by_go {
            continue;
        }
        let Some(body) = func.body else {
            continue;
        };
        let src = model.src(func.file);
        let dones: Vec<Node<'_>> = model
            .ops_in(id)
            .filter(|o| {
                o.kind == OpKind::WgDone
                    && matches!(o.target.place.root, Root::Param(f, _) | Root::Recv(f) if f == id)
            })
            .map(|o| o.node)
            .collect();
        let Some(&done) = dones.first() else {
            continue;
        };
        let is_use = |n: Node<'_>| {
            n.kind() == "call_expression"
                && (dones.iter().any(|d| d.id() == n.id())
                    || crate::syntax::call_target(n, src).is_some_and(|(_, name)| {
                        let name = name.to_ascii_lowercase();
                        name.contains("done") || name.contains("finish") || name.contains("release")
                    }))
        };
        let check = PathCheck {
            src,
            is_use: &is_use,
        };
        let Some(Exit::Return(ret)) = check.exit_from_entry(body) else {
            continue;
        };
        // A deferred Done (even one behind `if wg != nil`) covers every return after it.
        let cx = model.cx(func.file);
        let first_defer = dones
            .iter()
            .filter(|d| {
                let mut current = cx.parent(**d);
                while let Some(n) = current {
                    if n.kind() == "defer_statement" {
                        return true;
                    }
                    if n.id() == body.id() {
                        return false;
                    }
                    current = cx.parent(n);
                }
                false
            })
            .map(|d| d.start_byte())
            .min();
        if first_defer.is_some_and(|at| at < ret.start_byte()) {
            continue;
        }
        let (go_file, go) = func.started_by[0];
        out.push(
            PkgFinding::new(
                RULE.code,
                (func.file, ret),
                format!(
                    "`{}` runs as a goroutine and this return skips its `{}`: every Wait on that WaitGroup blocks forever",
                    func.name,
                    crate::semantic::short(done, src),
                ),
            )
            .label((func.file, done), "Done is only called here, without defer")
            .label((go_file, go), "started as a goroutine here"),
        );
    }
}
