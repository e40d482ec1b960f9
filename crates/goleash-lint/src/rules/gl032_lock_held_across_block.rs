//! GL032 lock-held-across-block: a goroutine holds a lock while it blocks on a channel or a
//! WaitGroup whose other side needs that same lock first.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::locks::Held;
use crate::semantic::model::{ObjKey, Op, OpKind};
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL032",
    name: "lock-held-across-block",
    severity: Severity::Error,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A send, receive or `wg.Wait()` made while holding a lock that every goroutine on the other side must take first.",
    why: "the blocked goroutine keeps the lock; its partner waits for the lock before it can reach the channel or `Done`, so neither moves",
    fix: "release the lock before the blocking operation (copy what you need under the lock), or make the partner stop needing it",
    docs: r#"# GL032 lock-held-across-block

## What it finds
A blocking channel operation (a send, a receive, a `range` — not a `select` case) or a
`WaitGroup.Wait`, made while a mutex is held on every path to it, where every partner in the
package (every receive for a send; every send or close for a receive; every `Done` for a
`Wait`) runs in a function that takes that same mutex before it reaches its side. The lock may
be taken in a caller (`SetStatus` locks, then calls `enqueue`, which sends).

## Why it leaks
The goroutine blocks with the lock held. The goroutine that would complete the operation first
waits for the lock. Neither can move; both show up in the goroutineleak profile (`chan send`
and `sync.Mutex.Lock`), and so does everything else that needs the lock.

## Example
```go
func (m *statusManager) SetPodStatus(s status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.updates <- s // the consumer below needs m.mu before it receives
}

func (m *statusManager) syncBatch() {
	m.mu.Lock()
	…
	m.mu.Unlock()
	u := <-m.updates
}
```

## Fix
Send after unlocking, or use a buffered channel with a non-blocking `select` + `default`, or
let the consumer receive before it locks.

## How it decides
The channel must be a struct field or package variable that does not leave the package's sight
(not exported, never passed, stored or returned), made unbuffered or with a computed capacity; a
literal buffer skips it. All partners must need the lock: if one partner can run without it,
the operation can complete. The lock must be held on every path to the operation.

## When it is wrong
A partner started only after the lock holder is known to have unlocked (by an ordering the
syntax cannot show) makes the report false; suppress it with the reason.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    for op in &model.ops {
        let partners_of: &[OpKind] = match op.kind {
            OpKind::Send => &[OpKind::Recv, OpKind::Range],
            OpKind::Recv | OpKind::Range => &[OpKind::Send, OpKind::Close],
            OpKind::WgWait => &[OpKind::WgDone],
            _ => continue,
        };
        if op.select.is_some() {
            continue;
        }
        let file = model.funcs[op.func].file;
        let Some(held) = pcx.locks.held_at.get(&(file, op.node.id())) else {
            continue;
        };
        let held: Vec<&Held<'_>> = held
            .iter()
            .filter(|h| matches!(h.key, Some(ObjKey::Field(..) | ObjKey::Global(_))))
            .collect();
        if held.is_empty() {
            continue;
        }
        let Some(key) = op.target.key.as_ref() else {
            continue;
        };
        if !matches!(key, ObjKey::Field(..) | ObjKey::Global(_)) || model.may_escape(key) {
            continue;
        }
        if model
            .ops_on(key)
            .any(|m| m.kind == OpKind::Make && m.capacity.is_some_and(|c| c > 0))
        {
            continue;
        }
        let partners: Vec<&Op<'_>> = model
            .ops_on(key)
            .filter(|p| partners_of.contains(&p.kind) && p.func != op.func)
            .collect();
        let untyped = model.untyped(key);
        let unseen_partner = match op.kind {
            OpKind::Send => untyped.recv,
            OpKind::Recv | OpKind::Range => untyped.send || untyped.close,
            _ => false,
        };
        if partners.is_empty() || unseen_partner {
            continue;
        }
        for h in &held {
            let Some(lock_key) = h.key.as_ref() else {
                continue;
            };
            let needs: Option<Vec<(&Op<'_>, crate::semantic::locks::At<'_>)>> = partners
                .iter()
                .map(|p| partner_needs(pcx, p, lock_key).map(|at| (*p, at)))
                .collect();
            let Some(needs) = needs else {
                continue;
            };
            let what = match op.kind {
                OpKind::WgWait => "waits for the WaitGroup",
                OpKind::Send => "sends",
                _ => "receives",
            };
            let (partner, partner_lock) = needs[0];
            let lock = lock_key.describe(model);
            let message = format!(
                "{what} on `{}` while holding `{lock}` (locked at {}), but {} takes `{lock}` before its side ({}): neither can proceed",
                key.describe(model),
                pcx.where_is(h.at),
                if needs.len() == 1 {
                    format!("`{}`", model.funcs[partner.func].name)
                } else {
                    format!("every one of the {} partners", needs.len())
                },
                pcx.where_is((model.funcs[partner.func].file, partner.node)),
            );
            let finding = PkgFinding::new(RULE.code, (file, op.node), message)
                .label(h.at, format!("`{lock}` locked here"))
                .label(
                    (model.funcs[partner.func].file, partner.node),
                    "the other side",
                )
                .label(partner_lock, format!("which needs `{lock}` first"));
            out.push(finding);
            break;
        }
    }
}

/// Where the partner's goroutine takes `lock` before reaching its side: held on every path
/// to it, or locked earlier in the same function.
fn partner_needs<'t>(
    pcx: &PackageCx<'t>,
    partner: &Op<'t>,
    lock: &ObjKey,
) -> Option<crate::semantic::locks::At<'t>> {
    let model = &pcx.model;
    let file = model.funcs[partner.func].file;
    if let Some(held) = pcx.locks.held_at.get(&(file, partner.node.id())) {
        if let Some(h) = held.iter().find(|h| h.key.as_ref() == Some(lock)) {
            return Some(h.at);
        }
    }
    model
        .ops
        .iter()
        .filter(|l| {
            l.func == partner.func
                && matches!(l.kind, OpKind::Lock | OpKind::RLock)
                && l.target.key.as_ref() == Some(lock)
                && l.node.start_byte() < partner.node.start_byte()
        })
        .map(|l| (file, l.node))
        .next()
}
