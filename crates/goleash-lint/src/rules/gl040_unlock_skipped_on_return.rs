//! GL040 unlock-skipped-on-return: an early `return` keeps a lock that the function releases
//! on its other paths, where taking or releasing the lock goes through a call.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL040",
    name: "unlock-skipped-on-return",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "An early `return` leaves a mutex locked that the function unlocks on its other paths, where the lock is taken or released by a called helper.",
    why: "the function returns with the mutex held: the next Lock anywhere blocks forever, and every goroutine that needs it piles up behind",
    fix: "release on the early path too: `defer` the release right after the lock is taken, or call the release helper before `return`",
    docs: r#"# GL040 unlock-skipped-on-return

## What it finds
lock-without-unlock (GL018) through calls. A function holds a mutex when it reaches a `return`
inside a branch or loop, although it releases that mutex on another path, and either side goes
through a function of the package:
- the lock is taken by a helper (`s.lockState()`, a method that returns with `s.mu` held) and
  released directly, or
- the lock is released by a helper (`s.unlockAndNotify()`, `s.finish()`) on the normal path and
  the early return skips it.

The finding is on the `return`, with where the lock was taken and where the function releases
it on the other path as related locations.

## Why it leaks
The function returns still holding the mutex. No code path will unlock it: the next `Lock` (in
this goroutine or any other) blocks forever, and goroutines pile up in `sync.Mutex.Lock`, which
the goroutine-leak profile reports as leaked.

## Example
```go
func (q *Queue) Push(x int) error {
	q.mu.Lock()
	if q.closed {
		return errClosed // still locked
	}
	q.items = append(q.items, x)
	q.unlockAndSignal() // q.mu.Unlock(); q.cond.Signal()
	return nil
}
```

## Fix
`defer` the release right after the lock is taken (`defer q.mu.Unlock()`), or release before the
early return.

## How it decides
The package's lock walk (the one GL030 uses) follows each path with the locks held on every path
to each point, through calls with callee summaries (locks a callee takes and keeps, locks it
releases that its caller holds). A `defer` that releases the lock, seen before the return,
covers it. Only returns inside a branch or loop are reported: a function whose final return
keeps the lock hands it to its caller on purpose. A lock taken and released by the function's
own `Lock`/`Unlock` calls is GL018's case.

## When it is wrong
When the early path's caller releases the lock (a function that returns "locked" on some
paths and says so in its results). Suppress with a reason, or name the function with `Locked`
in it.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for leak in &pcx.locks.leaking_returns {
        let name = &model.funcs[leak.func].name;
        // `lockAndCheck`, `readLocked`: functions whose name says the lock crosses the call.
        if name
            .rsplit('.')
            .next()
            .is_some_and(|n| n.to_ascii_lowercase().contains("lock"))
        {
            continue;
        }
        let lock = lock_name(pcx, leak);
        let how = match (leak.acquired_in_callee, leak.released_in_callee) {
            (true, true) => "taken and released by helpers",
            (true, false) => "taken by a helper",
            (false, _) => "released by a helper",
        };
        let message = format!(
            "returns with `{lock}` still locked ({how}): the other path releases it at {}, this one does not",
            pcx.where_is(leak.released),
        );
        out.push(
            PkgFinding::new(RULE.code, leak.ret, message)
                .label(leak.held.at, "locked here")
                .label(leak.released, "released here on the other path"),
        );
    }
}

/// `s.mu` as the function spells it when the place is rooted at its receiver or a parameter.
fn lock_name(pcx: &PackageCx<'_>, leak: &crate::semantic::locks::LeakingReturn<'_>) -> String {
    use crate::semantic::model::Root;
    let model = &pcx.model;
    let root = match &leak.held.place.root {
        Root::Recv(f) => model.funcs[*f].recv.as_ref().map(|(n, _)| n.clone()),
        Root::Param(f, i) => model.funcs[*f].params.get(*i).map(|(n, _)| n.clone()),
        Root::Local(_, n) | Root::Global(n) => Some(n.clone()),
    }
    .unwrap_or_else(|| "?".to_string());
    std::iter::once(root)
        .chain(leak.held.place.fields.iter().cloned())
        .collect::<Vec<_>>()
        .join(".")
}
