//! GL038 goroutine-without-recover: a `go` statement whose function has no deferred
//! `recover()` in a package where the other goroutines have one.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Severity};
use crate::rules::RuleMeta;
use crate::semantic::model::FuncId;
use crate::semantic::{PackageCx, PkgFinding};
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL038",
    name: "goroutine-without-recover",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "A goroutine started without a deferred `recover()` in a package whose other goroutines (at least three, two thirds of them) protect themselves with one.",
    why: "a panic in a goroutine without recover kills the process; a package that guards its goroutines has decided that must not happen",
    fix: "start it through the package's guard (`defer func() { if r := recover(); r != nil { … } }()` or the helper the other goroutines use)",
    docs: r#"# GL038 goroutine-without-recover

## What it finds
Runtime protection, from the goroutine-leak literature: in a package where most goroutines (at
least three, and two thirds of those the package starts) begin with a deferred `recover()` —
directly, `defer func() { recover() … }()`, or through a deferred package helper that calls
`recover()` — a `go` statement whose function does not.

## Why it leaks
A panicking goroutine without `recover` takes the whole process down; one that recovers but
leaves its partners waiting is the leak the guard usually also handles (closing the result
channel, calling `Done`). The package's own convention says which goroutines matter.

## Example
```go
go func() { defer handleCrash(); s.loop() }()
go func() { defer handleCrash(); s.flush() }()
go func() { defer handleCrash(); s.sync() }()
go s.gc() // no guard
```

## Fix
Use the same guard as the others.

## When it is wrong
Short goroutines that cannot panic need no guard; that is why the rule is off by default
(`--extend-select GL038`).
"#,
};

pub fn check(pcx: &PackageCx<'_>, out: &mut Vec<PkgFinding>) {
    let model = &pcx.model;
    let recovers: Vec<FuncId> = (0..model.funcs.len())
        .filter(|f| calls_recover(pcx, *f))
        .collect();
    let mut launches: Vec<(usize, Node<'_>, Option<FuncId>)> = Vec::new();
    for (file_index, file) in model.files.iter().enumerate() {
        for go in &file.cx.go_statements {
            let Some(call) = go.named_child(0) else {
                continue;
            };
            let caller = model.enclosing_func(file_index, *go);
            let target = caller.and_then(|c| model.callee(c, call)).map(|(f, _)| f);
            launches.push((file_index, *go, target));
        }
    }
    let guarded = |target: Option<FuncId>| {
        target.is_some_and(|f| {
            let Some(body) = model.funcs[f].body else {
                return false;
            };
            syntax::statements(body).iter().any(|stmt| {
                stmt.kind() == "defer_statement"
                    && stmt.named_child(0).is_some_and(|call| {
                        let deferred = call
                            .child_by_field_name("function")
                            .and_then(|fun| model.func_of(model.funcs[f].file, fun))
                            .or_else(|| model.callee(f, call).map(|(g, _)| g));
                        deferred.is_some_and(|g| recovers.contains(&g))
                    })
            })
        })
    };
    let protected = launches.iter().filter(|(_, _, t)| guarded(*t)).count();
    if protected < 3 || protected * 3 < launches.len() * 2 {
        return;
    }
    for (file, go, target) in &launches {
        if guarded(*target) {
            continue;
        }
        out.push(PkgFinding::new(
            RULE.code,
            (*file, *go),
            format!(
                "this goroutine has no deferred recover(), unlike {protected} of the {} goroutines this package starts",
                launches.len()
            ),
        ));
    }
}

/// The function's own body calls the builtin `recover()`.
fn calls_recover(pcx: &PackageCx<'_>, func: FuncId) -> bool {
    let info = &pcx.model.funcs[func];
    let Some(body) = info.body else {
        return false;
    };
    let src = pcx.model.src(info.file);
    syntax::descendants_same_func(body).any(|n| {
        n.kind() == "call_expression" && matches!(call_target(n, src), Some((None, "recover")))
    })
}
