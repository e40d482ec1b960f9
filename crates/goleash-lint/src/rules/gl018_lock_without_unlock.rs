//! GL018 lock-without-unlock.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::flow::{Exit, PathCheck};
use crate::patterns::method_calls;
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL018",
    name: "lock-without-unlock",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "`mu.Lock()` followed by a return path that never unlocks, or `defer mu.Lock()`.",
    why: "the mutex stays locked, so the next Lock blocks forever and every goroutine touching it piles up",
    fix: "`defer mu.Unlock()` immediately after `mu.Lock()`",
    docs: r#"# GL018 lock-without-unlock

## What it finds
`x.Lock()` / `x.RLock()` as a statement, followed by a `return` reachable without any
`x.Unlock()` / `x.RUnlock()` (deferred or not) or a call whose name mentions unlocking, in a
function that does unlock `x` on some other path. Also `defer x.Lock()` right after `x.Lock()`
(staticcheck SA2003: a typo for `Unlock`).

Also a mutex locked again, in the same block, with nothing in between that mentions it, waits
on a Cond or calls anything named like an unlock: `Lock` after `Lock`, `RLock` after `Lock`
or `Lock` after `RLock` (Go's mutexes are not reentrant). Only for a mutex declared locally
(`var mu sync.Mutex`, `mu := &sync.Mutex{}`) and mentioned only in the function activation that
locks it: any other goroutine could unlock it, which tests do on purpose.

## Why it leaks
A mutex left locked blocks every later `Lock`; goroutines pile up in `sync.Mutex.Lock`, which the
Go runtime's goroutineleak profile reports as leaked.

## Example
```go
mu.Lock()
if v, ok := cache[k]; ok {
	return v // still locked
}
mu.Unlock()
```

## Fix
`mu.Lock(); defer mu.Unlock()`.

## What it skips, to stay precise
Only locks taken at the top level of a function, and only early returns (inside a branch or
loop) are reported. Skipped: functions whose name says they lock (contains `lock`, or ends in
`Locked`); functions that never unlock the mutex (they hand it over); functions that touch the
mutex before this `Lock` (unlock-then-relock while the caller holds it, an earlier `defer`); paths
that call or return anything named like an unlock (`s.unlockAndWake()`, a `release` func).

## When it is wrong
A branch that deliberately keeps the lock for the caller (setting a "hold" flag) is still
reported; suppress it with a reason. For the second lock: a call in between that releases the
mutex under another name (a method that unlocks its receiver's field) is not seen.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for call in &cx.calls {
        let Some((Some(mutex), method @ ("Lock" | "RLock"))) = call_target(*call, cx.src) else {
            continue;
        };
        if !syntax::call_arguments(*call).is_empty() {
            continue;
        }
        let Some(stmt) = cx
            .parent(*call)
            .filter(|p| p.kind() == "expression_statement")
        else {
            continue;
        };
        let Some(func) = cx.enclosing_function(stmt) else {
            continue;
        };
        if let Some(name) = syntax::function_name(func, cx.src) {
            let lower = name.to_ascii_lowercase();
            if lower.contains("lock") || name.ends_with("Locked") {
                continue;
            }
        }
        let unlock = if method == "Lock" {
            "Unlock"
        } else {
            "RUnlock"
        };
        if let Some(next) = stmt.next_named_sibling() {
            if next.kind() == "defer_statement" {
                let deferred = next.named_child(0);
                if matches!(deferred.and_then(|c| call_target(c, cx.src)), Some((Some(m), l)) if m == mutex && l == method)
                {
                    out.push(
                        Finding::new(
                            RULE.code,
                            next,
                            format!("`defer {mutex}.{method}()` right after locking: `{unlock}` was meant"),
                        )
                        .why("locking twice deadlocks immediately or at the deferred call")
                        .fix(format!("`defer {mutex}.{unlock}()`")),
                    );
                    continue;
                }
            }
        }
        if let Some(again) =
            locked_again(cx, stmt, mutex, method).filter(|_| private_mutex(cx, *call, mutex))
        {
            out.push(
                Finding::new(
                    RULE.code,
                    again,
                    format!("`{mutex}` is locked again while this goroutine holds it"),
                )
                .label(*call, "first locked here")
                .why("sync mutexes are not reentrant: the second lock waits for an unlock that can never come")
                .fix(format!("call `{mutex}.{unlock}()` before locking again, or drop the second lock")),
            );
            continue;
        }
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        // Only locks taken at the function's top level: a lock taken in a branch or a loop is
        // usually released (or handed over) under the same condition, which a syntactic path
        // check cannot pair up.
        if stmt.parent().and_then(|list| list.parent()).map(|b| b.id()) != Some(body.id()) {
            continue;
        }
        let calls_on_mutex = method_calls(cx, body, mutex, &["Lock", "RLock", "Unlock", "RUnlock"]);
        if !calls_on_mutex
            .iter()
            .any(|c| matches!(call_target(*c, cx.src), Some((_, "Unlock" | "RUnlock"))))
        {
            continue;
        }
        // Unlock-then-relock (the caller holds the lock) and locks already managed by an
        // earlier defer are not this function's to release.
        if calls_on_mutex
            .iter()
            .any(|c| c.start_byte() < call.start_byte())
        {
            continue;
        }
        let is_use = |n: Node<'_>| match n.kind() {
            "call_expression" => matches!(
                call_target(n, cx.src),
                Some((Some(recv), "Unlock" | "RUnlock")) if recv == mutex
            ),
            // Calling or returning anything named like an unlock (a helper, a release func).
            "identifier" | "field_identifier" => cx.text(n).to_ascii_lowercase().contains("unlock"),
            _ => false,
        };
        let check = PathCheck {
            src: cx.src,
            is_use: &is_use,
        };
        if let Some(Exit::Return(ret)) = check.exit_without_use(stmt) {
            // A return at the same level as the Lock is the function's normal end: returning
            // with the lock held there is a design (handing it over), not a forgotten branch.
            if ret.parent().and_then(|list| list.parent()).map(|b| b.id()) == Some(body.id()) {
                continue;
            }
            out.push(
                Finding::new(
                    RULE.code,
                    *call,
                    format!("`{mutex}` stays locked on a return path"),
                )
                .label(ret, format!("returns here without `{mutex}.{unlock}()`")),
            );
        }
    }
}

/// The next statement of the same block that touches `mutex` locks it again (`Lock` after
/// `Lock` or `RLock`, or `RLock` after `Lock`) with nothing in between that could release it:
/// no mention of the mutex (a deferred unlock does not count: it runs later), no `Wait` (a Cond releases its lock), nothing named like an unlock.
/// `RLock` after `RLock` is left alone: it only deadlocks with a writer waiting in between.
fn locked_again<'t>(
    cx: &FileCx<'t>,
    stmt: Node<'t>,
    mutex: &str,
    method: &str,
) -> Option<Node<'t>> {
    let mut next = stmt.next_named_sibling();
    while let Some(s) = next {
        next = s.next_named_sibling();
        if s.kind() == "comment" {
            continue;
        }
        // A deferred unlock releases only when the function returns, after the second lock.
        if s.kind() == "defer_statement"
            && matches!(s.named_child(0).and_then(|c| call_target(c, cx.src)), Some((Some(m), _)) if m == mutex)
        {
            continue;
        }
        if s.kind() == "expression_statement" {
            if let Some((Some(m), again @ ("Lock" | "RLock"))) =
                s.named_child(0).and_then(|c| call_target(c, cx.src))
            {
                if m == mutex {
                    return (method == "Lock" || again == "Lock").then_some(s);
                }
            }
        }
        let text = cx.text(s);
        if text.contains(mutex)
            || text.to_ascii_lowercase().contains("unlock")
            || text.contains("Wait(")
            || syntax::descendants(s).any(|n| n.kind() == "labeled_statement")
        {
            return None;
        }
    }
    None
}

/// Another goroutine may unlock a shared mutex (tests block on purpose and unlock from the
/// parent), so the second lock is only a certain deadlock for a mutex declared locally whose
/// every mention is in the same function activation as the lock.
fn private_mutex(cx: &FileCx<'_>, lock: Node<'_>, mutex: &str) -> bool {
    let Some(activation) = syntax::enclosing_function(lock) else {
        return false;
    };
    let mut scope = Some(activation);
    while let Some(func) = scope {
        let Some(body) = syntax::function_body(func) else {
            return false;
        };
        if let Some(decl) = local_mutex(cx, body, mutex) {
            return cx.uses_in(body, mutex).iter().all(|u| {
                syntax::is_within(u.node, decl)
                    || syntax::enclosing_function(u.node).map(|f| f.id()) == Some(activation.id())
            });
        }
        scope = syntax::enclosing_function(func);
    }
    false
}

/// The declaration of `name` in `body` as a `sync.Mutex`/`sync.RWMutex` value or `&` literal.
fn local_mutex<'t>(cx: &FileCx<'t>, body: Node<'t>, name: &str) -> Option<Node<'t>> {
    crate::patterns::local_sync_value(cx, body, name, &["Mutex", "RWMutex"])
}
