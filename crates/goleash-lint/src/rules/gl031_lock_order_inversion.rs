//! GL031 lock-order-inversion: two paths in the package take the same two locks in opposite
//! orders.

use rustc_hash::FxHashMap;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::locks::OrderEdge;
use crate::semantic::model::ObjKey;
use crate::semantic::{PackageCx, PkgFinding};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL031",
    name: "lock-order-inversion",
    severity: Severity::Error,
    confidence: Confidence::Medium,
    // 0 of 2 true on Go's src (docs/lint.md): on until real code says it is precise.
    default_enabled: false,
    version_gated: false,
    summary: "Lock A is taken while holding B on one path and B while holding A on another (AB-BA), directly or through calls.",
    why: "two goroutines taking the locks in opposite orders each hold the lock the other waits for, forever",
    fix: "pick one order for the two locks and take them in that order everywhere (or release the first before taking the second)",
    docs: r#"# GL031 lock-order-inversion

## What it finds
Two places in a package where the same two locks are nested in opposite orders: one holds
`(T).a` while acquiring `(U).b`, another holds `(U).b` while acquiring `(T).a`. The inner
acquisition may be any number of calls down. Each of the two inner `Lock`s is reported (that is
where the goroutines block), with the other path as related locations.

## Why it leaks
If two goroutines run the two paths at the same time, each takes its first lock and waits for
the other's: both block forever, and everything that needs either lock piles up behind them.

## Example
```go
func (s *Store) processRaft() { s.mu.Lock(); r.tick() }           // tick locks r.mu
func (r *Replica) sendHeartbeats() { r.mu.Lock(); r.store.mu.RLock() }
```

## Fix
Choose a global order (document it next to the fields) and follow it, or release one lock
before taking the other.

## How it decides
Locks are identified by their declaration (`(T).mu`, a package variable); locals are skipped.
Only locks held on every path to the inner acquisition count. Two acquisitions of the same
field (`parent.mu` then `child.mu`) are not an inversion here.

## When it is wrong
Identity is per field, not per instance: if the two paths always lock disjoint instances (a
strict parent/child hierarchy of different types), the order cannot actually deadlock; suppress
with the reason.
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let mut first: FxHashMap<(&ObjKey, &ObjKey), &OrderEdge<'_>> = FxHashMap::default();
    for edge in &pcx.locks.order_edges {
        if !is_shared(&edge.outer) || !is_shared(&edge.inner) {
            continue;
        }
        first.entry((&edge.outer, &edge.inner)).or_insert(edge);
    }
    let mut pairs: Vec<(&&OrderEdge<'_>, &&OrderEdge<'_>)> = Vec::new();
    for ((outer, inner), edge) in &first {
        if let Some(other) = first.get(&(*inner, *outer)) {
            pairs.push((edge, other));
        }
    }
    pairs.sort_by_key(|(e, _)| (e.outer_at.0, e.outer_at.1.start_byte()));
    for (edge, other) in pairs {
        let Some(&inner_at) = edge.chain.last() else {
            continue;
        };
        let Some(&other_inner) = other.chain.last() else {
            continue;
        };
        let a = edge.outer.describe(&pcx.model);
        let b = edge.inner.describe(&pcx.model);
        let message = format!(
            "`{b}` is locked while holding `{a}` (locked at {}), but {} locks `{a}` while holding `{b}` (at {}): two goroutines on these paths deadlock",
            pcx.where_is(edge.outer_at),
            pcx.model.funcs[other.func].name,
            pcx.where_is(other_inner),
        );
        let mut finding = PkgFinding::new(RULE.code, inner_at, message)
            .label(edge.outer_at, format!("`{a}` held from here"));
        for call in &edge.chain[..edge.chain.len() - 1] {
            finding = finding.label(*call, "called with it held");
        }
        finding = finding
            .label(
                other.outer_at,
                format!("the other path holds `{b}` from here"),
            )
            .label(other_inner, format!("and locks `{a}` here"));
        out.push(finding);
    }
}

fn is_shared(key: &ObjKey) -> bool {
    matches!(key, ObjKey::Field(..) | ObjKey::Global(_))
}
