//! GL034 cond-never-signalled: `Cond.Wait` on a condition variable nothing in the package
//! ever signals.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::OpKind;
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL034",
    name: "cond-never-signalled",
    severity: Severity::Error,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "`c.Wait()` on a `sync.Cond` that no code in the package ever `Signal`s or `Broadcast`s.",
    why: "Cond.Wait returns only after a Signal or Broadcast; with none anywhere, the waiter sleeps forever",
    fix: "call `c.Broadcast()` where the awaited condition changes (and on shutdown), or replace the Cond with a channel",
    docs: r#"# GL034 cond-never-signalled

## What it finds
A `Wait` on a `sync.Cond` (a struct field or package variable, made with `sync.NewCond` or
declared as a value) when no function of the package calls `Signal` or `Broadcast` on it, and
the Cond never leaves the package's sight.

## Why it leaks
`Wait` parks the goroutine until a `Signal`/`Broadcast`. Without one, the goroutine is parked
for good (`sync.Cond.Wait` in the goroutineleak profile).

## Example
```go
func (r *logReader) next() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.lines) == 0 {
		r.cond.Wait() // nothing in the package calls r.cond.Signal or Broadcast
	}
	…
}
```

## Fix
Broadcast where the condition changes, including on close/shutdown.

## When it is wrong
A Cond handed to other packages (returned, passed, exported) is skipped, so the signal may be
elsewhere only when this rule stays quiet.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for key in model.keys_where(|op| op.kind == OpKind::CondWait) {
        if model.may_escape(key) {
            continue;
        }
        if model
            .ops_on(key)
            .any(|o| matches!(o.kind, OpKind::Signal | OpKind::Broadcast))
        {
            continue;
        }
        for op in model.ops_on(key).filter(|o| o.kind == OpKind::CondWait) {
            let file = model.funcs[op.func].file;
            // Pushed as every package rule pushes its finding (code, place, message); the message is
            // this rule's own.
            out.push(PkgFinding::new(
                RULE.code,
                (file, op.node),
                format!(
                    "nothing in this package ever signals `{}` (no Signal or Broadcast): this Wait never returns",
                    key.describe(model)
                ),
            ));
        }
    }
}
