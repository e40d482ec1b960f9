//! GL041 cond-signal-before-wait: a `Cond.Wait` with no predicate re-checked around it, where
//! a `Signal`/`Broadcast` can happen before the waiter waits and is then lost.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::{FuncId, Op, OpKind, PackageModel};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL041",
    name: "cond-signal-before-wait",
    severity: Severity::Error,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A `Cond.Wait` that checks no condition, where the only wake-up can be sent before the waiter waits: a goroutine that waits without holding the Cond's lock, or a signaller started before the waiter takes it.",
    why: "Signal and Broadcast wake only goroutines already waiting: a wake-up sent earlier is lost, and a Wait with no condition to re-check then waits forever",
    fix: "wait for a condition, under the Cond's lock, in a loop: `c.L.Lock(); for !ready { c.Wait() }; c.L.Unlock()`, and set `ready = true` under the lock before signalling",
    docs: r#"# GL041 cond-signal-before-wait

## What it finds
A `c.Wait()` that is not inside a `for` or an `if` in its function (nothing is re-checked: the
waiter relies on the wake-up alone; GL019 reports the `if` case), on a Cond that the package
signals, when the wake-up can come first:
- **the waiting goroutine does not hold the Cond's lock**: the function is started as a goroutine
  (`go func(){…}()`, `go s.wait()`, or a closure handed to a package function that runs its
  argument in a goroutine) and calls no `Lock` before the `Wait`. Whatever the signaller checks
  under the lock, the waiter may not have reached `Wait` yet;
- **the signaller is started before the waiter locks**: the waiting function starts, with `go`,
  a function that signals the Cond, and only then takes the lock and waits. The new goroutine
  may signal before the lock is taken.

The finding is on the `Wait`, with the signal (and the `go` statement) as related locations.

## Why it leaks
`Signal` and `Broadcast` wake goroutines that are waiting at that moment; nothing is remembered.
A Wait with no condition around it has no way to see that the event already happened, so it
waits for a wake-up that was already spent: the goroutine stays in `sync.Cond.Wait` forever.

## Example
```go
ch := after(func() { n.cond.Wait() }) // runs in a new goroutine
select {
case <-abort:
	n.cond.Signal() // may run before the goroutine waits
	<-ch            // then this waits forever too
	return
case <-ch:
}
```

## Fix
Keep the state the wake-up announces in a variable guarded by the Cond's lock, and wait for it
in a loop: `c.L.Lock(); for !done { c.Wait() }; c.L.Unlock()`. The signaller sets `done` under
the lock, then signals. A channel that is closed once is often simpler.

A signaller that sleeps before signalling is taken as ordered by time (tests under
`testing/synctest`, whose clock is virtual) and not reported.

## When it is wrong
When the program orders the two by other means (the signaller waits on a channel the waiter
closes right before `Wait`): the wake-up cannot be lost then, but a Wait without a condition
still wakes spuriously on any other Signal; a loop is still the fix.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for key in model.keys_where(|op| op.kind == OpKind::CondWait) {
        let signals: Vec<&Op<'_>> = model
            .ops_on(key)
            .filter(|o| matches!(o.kind, OpKind::Signal | OpKind::Broadcast))
            .collect();
        let Some(first_signal) = signals.first() else {
            // Never signalled at all: GL034.
            continue;
        };
        for wait in model.ops_on(key).filter(|o| o.kind == OpKind::CondWait) {
            let file = model.funcs[wait.func].file;
            if rechecks_condition(model, wait) {
                continue;
            }
            let locks_before = locks_before(model, wait.func, wait.node);
            if locks_before.is_none() && runs_in_goroutine(model, wait.func) {
                let signal = signals
                    .iter()
                    .find(|s| s.func != wait.func)
                    .unwrap_or(first_signal);
                out.push(
                    PkgFinding::new(
                        RULE.code,
                        (file, wait.node),
                        format!(
                            "this goroutine waits on `{}` without holding its lock and checks no condition: a Signal sent before it reaches Wait (as at {}) is lost, and Wait never returns",
                            key.describe(model),
                            pcx.where_is((model.funcs[signal.func].file, signal.node)),
                        ),
                    )
                    .label((model.funcs[signal.func].file, signal.node), "the wake-up"),
                );
                continue;
            }
            let Some(lock) = locks_before else {
                continue;
            };
            // A goroutine started before the lock is taken that signals this Cond.
            let early = model.funcs[wait.func]
                .body
                .map(|body| {
                    syntax::descendants_same_func(body)
                        .filter(|n| n.kind() == "go_statement")
                        .filter(|g| g.end_byte() <= lock.start_byte())
                        .find_map(|go| {
                            signals
                                .iter()
                                .find(|s| {
                                    started_by_go(model, s.func, file, go)
                                        && !sleeps_before(model, s)
                                })
                                .map(|s| (go, *s))
                        })
                })
                .unwrap_or(None);
            if let Some((go, signal)) = early {
                out.push(
                    PkgFinding::new(
                        RULE.code,
                        (file, wait.node),
                        format!(
                            "the goroutine started at {} may signal `{}` before this function locks and waits; the wake-up is then lost and Wait, which checks no condition, never returns",
                            pcx.where_is((file, go)),
                            key.describe(model),
                        ),
                    )
                    .label((file, go), "started before the lock")
                    .label((model.funcs[signal.func].file, signal.node), "the wake-up"),
                );
            }
        }
    }
}

/// The Wait is inside a `for` or an `if` of its own function: a condition is re-checked (or,
/// for `if`, GL019's case).
fn rechecks_condition(model: &PackageModel<'_>, wait: &Op<'_>) -> bool {
    let file = model.funcs[wait.func].file;
    let cx = model.cx(file);
    let mut current = cx.parent(wait.node);
    while let Some(n) = current {
        if syntax::is_function(n) {
            return false;
        }
        if matches!(
            n.kind(),
            "for_statement" | "if_statement" | "expression_switch_statement" | "select_statement"
        ) {
            return true;
        }
        current = cx.parent(n);
    }
    false
}

/// The first `Lock`/`RLock` call of the function before `node` (any receiver: `c.L.Lock()`
/// names no object the model tracks).
fn locks_before<'t>(model: &PackageModel<'t>, func: FuncId, node: Node<'_>) -> Option<Node<'t>> {
    let info = &model.funcs[func];
    let src = model.src(info.file);
    syntax::descendants_same_func(info.body?)
        .filter(|n| n.kind() == "call_expression" && n.end_byte() <= node.start_byte())
        .find(|call| {
            matches!(
                syntax::call_target(*call, src),
                Some((Some(_), "Lock" | "RLock"))
            )
        })
}

/// The function runs as a goroutine's entry: started with `go`, or a closure handed to a
/// package function that calls that parameter inside a goroutine.
fn runs_in_goroutine(model: &PackageModel<'_>, func: FuncId) -> bool {
    let info = &model.funcs[func];
    if info.launched_by_go || !info.started_by.is_empty() {
        return true;
    }
    if info.node.kind() != "func_literal" {
        return false;
    }
    let cx = model.cx(info.file);
    let Some(args) = cx.parent(info.node).filter(|p| p.kind() == "argument_list") else {
        return false;
    };
    let Some(call) = cx.parent(args) else {
        return false;
    };
    let Some(caller) = info.parent else {
        return false;
    };
    let Some((callee, _)) = model.callee(caller, call) else {
        return false;
    };
    let Some(index) = syntax::call_arguments(call)
        .iter()
        .position(|a| a.id() == info.node.id())
    else {
        return false;
    };
    let Some((param, _)) = model.funcs[callee].params.get(index) else {
        return false;
    };
    let callee_file = model.funcs[callee].file;
    let Some(body) = model.funcs[callee].body else {
        return false;
    };
    let src = model.src(callee_file);
    syntax::descendants(body)
        .filter(|n| n.kind() == "call_expression")
        .filter(|c| {
            c.child_by_field_name("function")
                .is_some_and(|f| f.kind() == "identifier" && syntax::text(f, src) == param)
        })
        .any(|c| {
            model
                .enclosing_func(callee_file, c)
                .is_some_and(|f| f != callee && model.funcs[f].launched_by_go)
                || model
                    .cx(callee_file)
                    .parent(c)
                    .is_some_and(|p| p.kind() == "go_statement")
        })
}

/// The signaller sleeps before signalling: the order is set by time (tests under
/// `testing/synctest`, where time is virtual), not left to the scheduler.
fn sleeps_before(model: &PackageModel<'_>, signal: &Op<'_>) -> bool {
    let info = &model.funcs[signal.func];
    let cx = model.cx(info.file);
    info.body.is_some_and(|body| {
        syntax::descendants_same_func(body)
            .filter(|n| n.kind() == "call_expression" && n.end_byte() <= signal.node.start_byte())
            .any(|call| cx.pkg_call(call, crate::facts::TIME) == Some("Sleep"))
    })
}

/// `func` (or a function nested in it) is what the `go` statement starts.
fn started_by_go(model: &PackageModel<'_>, mut func: FuncId, file: usize, go: Node<'_>) -> bool {
    loop {
        let info = &model.funcs[func];
        if info
            .started_by
            .iter()
            .any(|(f, g)| *f == file && g.id() == go.id())
        {
            return true;
        }
        match info.parent {
            Some(p) => func = p,
            None => return false,
        }
    }
}
