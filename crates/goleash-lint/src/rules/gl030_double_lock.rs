//! GL030 double-lock: a mutex locked again on a path that already holds it, seen through
//! calls (package-wide) and across loop iterations.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::locks::{mode_word, Mode};
use crate::semantic::model::OpKind;
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL030",
    name: "double-lock",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A mutex locked again while the same goroutine holds it: directly, through a chain of calls, or on the next loop iteration.",
    why: "sync.Mutex and sync.RWMutex are not reentrant: the second Lock waits for an Unlock that only the blocked goroutine could do",
    fix: "release the lock before the call, or split the callee into a locked wrapper and an unlocked `…Locked` helper",
    docs: r#"# GL030 double-lock

## What it finds
A `Lock`/`RLock` on a mutex that the same goroutine already holds on that path:
- directly (`mu.Lock(); …; mu.Lock()`);
- through calls anywhere in the package: `s.mu.Lock()` and then `s.flush()`, where `flush` (or a
  method it calls, any number of levels down, in any file of the package) does `s.mu.Lock()` on
  the same receiver;
- across loop iterations: a path (`continue`, or the end of the body) reaches the next iteration
  still holding a lock that the body takes again;
- after a call that returns with the lock still held (a helper that `break`s out of its loop
  without unlocking), followed by a call that locks it.

The finding is on the `Lock` that blocks, with the first acquisition and every call on the way
as related locations.

## Why it leaks
Go's mutexes are not reentrant. The goroutine waits for itself, forever; every other goroutine
that needs the lock piles up behind it (`sync.Mutex.Lock` in the goroutineleak profile).
`RLock` while the same `RWMutex` is read-locked deadlocks as soon as a writer queues between
the two (a waiting writer blocks new readers): reported as a warning.

## Example
```go
func (m *Mapping) clearAddresses() {
	m.mut.Lock()
	…
	m.notify(removed) // notify does m.mut.RLock(): blocks forever
	m.mut.Unlock()
}
```

## Fix
Release before calling, or give the callee a `…Locked` variant that expects the lock held.

## How it decides
Objects are identified by access path from the function's receiver, parameters, captured
variables or package variables (`m.mut`, `s.conn.mu`), and a callee's receiver and arguments are
mapped to the caller's expressions, so two different instances of a type are not confused. A
lock held on every path is reported with high confidence; held on some path only, medium. A
callee that unlocks a lock it did not take (it expects its caller to hold it) is understood.

## When it is wrong
Types are read from the source (no type checker): a call through an interface or a function
value is not followed, so some double locks are missed, never invented by it. A lock held on
one path only (`if cond { mu.Lock() }`) followed by a second lock behind the same condition is
reported with medium confidence.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    for d in &pcx.locks.double_locks {
        let Some(&second) = d.chain.last() else {
            continue;
        };
        if unlocked_by_other_goroutine(pcx, d) {
            continue;
        }
        let lock = lock_text(pcx, second);
        let read_read = d.first.mode == Mode::Read && d.second_mode == Mode::Read;
        let model = &pcx.model;
        let func_name = &model.funcs[d.func].name;
        let message = if let Some(previous) = d.via_loop {
            format!(
                "`{lock}` is locked again on the next loop iteration while the previous one {} it (taken at {}; a path reaches the next iteration without unlocking)",
                if d.certain { "still holds" } else { "may still hold" },
                pcx.where_is(previous),
            )
        } else if d.chain.len() == 1 {
            format!(
                "`{lock}` is {} again while already held (locked at {}): this {} blocks forever",
                mode_word(d.second_mode).to_lowercase() + "ed",
                pcx.where_is(d.first.at),
                mode_word(d.second_mode),
            )
        } else {
            format!(
                "`{lock}` is already held by `{func_name}` (locked at {}) when it calls `{}`; this {} blocks forever",
                pcx.where_is(d.first.at),
                crate::semantic::short(d.chain[0].1, model.src(d.chain[0].0)),
                mode_word(d.second_mode),
            )
        };
        let message = if read_read {
            format!("{message} once a writer waits between the two read locks")
        } else {
            message
        };
        let mut finding = PkgFinding::new(RULE.code, second, message);
        if d.via_loop.is_none() {
            finding = finding.label(d.first.at, "first locked here");
        } else if let Some(previous) = d.via_loop {
            if previous.1.id() != second.1.id() {
                finding = finding.label(previous, "still held from here");
            }
        }
        for call in &d.chain[..d.chain.len() - 1] {
            finding = finding.label(*call, "called with the lock held");
        }
        if read_read {
            finding = finding
                .severity(Severity::Warning)
                .confidence(Confidence::Medium)
                .why("a waiting writer blocks new readers, so a reader that read-locks again waits behind the writer, which waits for the reader");
        } else if !d.certain {
            finding = finding.confidence(Confidence::Medium);
        }
        out.push(finding);
    }
}

/// `m.mut` for `m.mut.Lock()`.
fn lock_text<'t>(pcx: &PackageCx<'t>, at: crate::semantic::locks::At<'t>) -> &'t str {
    let (file, call) = at;
    call.child_by_field_name("function")
        .and_then(|f| f.child_by_field_name("operand"))
        .map(|o| pcx.model.text(file, o))
        .unwrap_or_else(|| pcx.snippet(at))
}

/// The mutex is used as a signal between goroutines: a goroutine started in the same
/// declaration (or the one that started this one) unlocks it, so the second Lock is a wait.
fn unlocked_by_other_goroutine(
    pcx: &PackageCx<'_>,
    d: &crate::semantic::locks::DoubleLock<'_>,
) -> bool {
    let model = &pcx.model;
    let Some(key) = d.first.key.as_ref() else {
        return false;
    };
    let outermost = |mut f: usize| {
        while let Some(p) = model.funcs[f].parent {
            f = p;
        }
        f
    };
    let home = outermost(d.func);
    let goroutine = |mut f: usize| loop {
        if model.funcs[f].launched_by_go {
            return Some(f);
        }
        match model.funcs[f].parent {
            Some(p) => f = p,
            None => return None,
        }
    };
    let mine = goroutine(d.func);
    model.ops_on(key).any(|op| {
        matches!(op.kind, OpKind::Unlock | OpKind::RUnlock)
            && outermost(op.func) == home
            && goroutine(op.func) != mine
    })
}
