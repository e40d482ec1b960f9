//! GL032 lock-held-across-block: a goroutine holds a lock while it blocks on a channel or a
//! WaitGroup whose other side needs that same lock first.

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use rustc_hash::FxHashSet;

use crate::semantic::locks::{At, Held};
use crate::semantic::model::{FuncId, ObjKey, Op, OpKind};
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax;

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
    let mut looped: Option<FxHashSet<FuncId>> = None;
    for op in &model.ops {
        let partners_of: &[OpKind] = match op.kind {
            // A close also releases a blocked sender (with a panic): a closer counts too.
            OpKind::Send => &[OpKind::Recv, OpKind::Range, OpKind::Close],
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
        // Buffered, or with a computed capacity that may well be large enough (`make(chan
        // bool, len(actions))`): the send need not block at all.
        if model
            .ops_on(key)
            .any(|m| m.kind == OpKind::Make && m.capacity != Some(0))
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
            let looped = looped.get_or_insert_with(|| looped_callees(pcx));
            let needs: Option<Vec<(&Op<'_>, At<'_>)>> = partners
                .iter()
                .map(|p| partner_needs(pcx, p, lock_key, looped).map(|at| (*p, at)))
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

/// Where the partner's goroutine takes `lock` before it reaches its side: held on every path
/// to it, locked earlier in the same function (directly or in a call), or locked after it in a
/// function that repeats the operation (a loop around it, or callers that call it in a loop).
fn partner_needs<'t>(
    pcx: &PackageCx<'t>,
    partner: &Op<'t>,
    lock: &ObjKey,
    looped_callers: &FxHashSet<FuncId>,
) -> Option<At<'t>> {
    let model = &pcx.model;
    let func = partner.func;
    let file = model.funcs[func].file;
    if let Some(held) = pcx.locks.held_at.get(&(file, partner.node.id())) {
        if let Some(h) = held.iter().find(|h| h.key.as_ref() == Some(lock)) {
            return Some(h.at);
        }
    }
    // A deferred operation runs when the function returns: after everything in its body.
    let at = if is_deferred(pcx, file, partner.node) {
        model.funcs[func].node.end_byte()
    } else {
        partner.node.start_byte()
    };
    let mut before = None;
    let mut after = None;
    let mut note = |pos: usize, site: At<'t>| {
        if pos < at {
            before.get_or_insert(site);
        } else {
            after.get_or_insert(site);
        }
    };
    for l in model.ops_in(func).filter(|l| {
        matches!(l.kind, OpKind::Lock | OpKind::RLock) && l.target.key.as_ref() == Some(lock)
    }) {
        note(l.node.start_byte(), (file, l.node));
    }
    if let Some(body) = model.funcs[func].body {
        for call in syntax::descendants_same_func(body).filter(|n| n.kind() == "call_expression") {
            let Some((callee, _)) = model.callee(func, call) else {
                continue;
            };
            let takes = pcx.locks.summaries[callee].as_ref().is_some_and(|s| {
                s.acquires
                    .iter()
                    .any(|a| a.key.as_ref() == Some(lock) && !a.conditional)
            });
            if takes {
                note(call.start_byte(), (file, call));
            }
        }
    }
    if before.is_some() {
        return before;
    }
    let repeated =
        model.cx(file).enclosing_loop(partner.node).is_some() || looped_callers.contains(&func);
    if repeated {
        return after;
    }
    None
}

/// Inside a `defer` statement of its own function.
fn is_deferred(pcx: &PackageCx<'_>, file: usize, node: tree_sitter::Node<'_>) -> bool {
    let cx = pcx.model.cx(file);
    let mut current = cx.parent(node);
    while let Some(n) = current {
        match n.kind() {
            "defer_statement" => return true,
            "function_declaration" | "method_declaration" | "func_literal" | "block" => {
                return false
            }
            _ => current = cx.parent(n),
        }
    }
    false
}

/// Functions called from inside a `for` loop somewhere in the package.
fn looped_callees(pcx: &PackageCx<'_>) -> FxHashSet<FuncId> {
    let model = &pcx.model;
    let mut out = FxHashSet::default();
    for (id, func) in model.funcs.iter().enumerate() {
        let Some(body) = func.body else {
            continue;
        };
        let cx = model.cx(func.file);
        for call in syntax::descendants_same_func(body).filter(|n| n.kind() == "call_expression") {
            if cx.enclosing_loop(call).is_none() {
                continue;
            }
            if let Some((callee, _)) = model.callee(id, call) {
                out.insert(callee);
            }
        }
    }
    out
}
