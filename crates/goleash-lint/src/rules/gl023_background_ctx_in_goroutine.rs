//! GL023 background-ctx-in-goroutine.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, CONTEXT};
use crate::patterns::context_param;
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL023",
    name: "background-ctx-in-goroutine",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "A goroutine started in a function that has a ctx uses `context.Background()`/`TODO()` instead.",
    why: "the goroutine cannot be cancelled with the request and can outlive it indefinitely",
    fix: "derive from the incoming ctx; if detaching is intended, use `context.WithoutCancel(ctx)` and say why",
    docs: r#"# GL023 background-ctx-in-goroutine

## What it finds
Inside a function with a `context.Context` or `*http.Request` parameter, a `go` statement whose
goroutine calls `context.Background()` or `context.TODO()`.

## Why it leaks
The work was started on behalf of a caller that can be cancelled; giving it a fresh root context
cuts it loose, so it keeps running (and blocking) after the caller is gone.

## Example
```go
func (s *S) Handle(ctx context.Context, r Req) {
	go s.audit(context.Background(), r) // never cancelled
}
```

## Fix
Pass `ctx` (or a context derived from it). Detaching on purpose: `context.WithoutCancel(ctx)` keeps
the values and documents the intent.

## When it is wrong
Work that must outlive the request (fire-and-forget audit logging with its own timeout) is
legitimate; give it a timeout and suppress with a reason.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(CONTEXT) {
        return;
    }
    for go in &cx.go_statements {
        let Some(func) = cx.enclosing_function(*go) else {
            continue;
        };
        let Some(ctx) = context_param(cx, func) else {
            continue;
        };
        let root = syntax::descendants(*go).find(|n| {
            n.kind() == "call_expression"
                && matches!(cx.pkg_call(*n, CONTEXT), Some("Background" | "TODO"))
        });
        if let Some(root) = root {
            out.push(Finding::new(
                RULE.code,
                root,
                format!(
                    "goroutine uses {} although `{ctx}` is in scope",
                    cx.text(root)
                ),
            ));
        }
    }
}
