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

## When it is wrong
Functions that hand the lock to their caller on purpose are skipped when their name says so
(contains `lock`, or ends in `Locked`), or when they never unlock it at all. Branch-dependent
locking (`if c { mu.Lock() }` … `if c { mu.Unlock() }`) can be misread.
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
        let Some(stmt) = call.parent().filter(|p| p.kind() == "expression_statement") else {
            continue;
        };
        let Some(func) = syntax::enclosing_function(stmt) else {
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
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        if method_calls(cx, body, mutex, &["Unlock", "RUnlock"]).is_empty() {
            continue;
        }
        let is_use = |n: Node<'_>| {
            n.kind() == "call_expression"
                && match call_target(n, cx.src) {
                    Some((Some(recv), "Unlock" | "RUnlock")) => recv == mutex,
                    Some((_, name)) => name.to_ascii_lowercase().contains("unlock"),
                    None => false,
                }
        };
        let check = PathCheck {
            src: cx.src,
            is_use: &is_use,
        };
        if let Some(Exit::Return(ret)) = check.exit_without_use(stmt) {
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
