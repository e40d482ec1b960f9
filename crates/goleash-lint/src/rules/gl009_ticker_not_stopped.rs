//! GL009 ticker-not-stopped.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, UseKind, TIME};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL009",
    name: "ticker-not-stopped",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: true,
    summary: "`time.NewTicker` whose ticker is never stopped (modules before Go 1.23).",
    why: "before Go 1.23 an unstopped ticker is never garbage collected and keeps firing",
    fix: "`defer t.Stop()` right after `t := time.NewTicker(d)`",
    docs: r#"# GL009 ticker-not-stopped

## What it finds
`t := time.NewTicker(d)` in a function that never calls `t.Stop()` (deferred or not, closures
included) and does not let `t` escape. Only reported when the module's go.mod says `go 1.22` or
older (and no `toolchain go1.27+` line).

## Why it leaks
Before Go 1.23 the runtime holds every running ticker: it is never collected and fires forever,
costing CPU and memory per call (kubernetes/kubernetes#29596, arl/statsviz#13). Since Go 1.23
unreferenced tickers are collected, so the rule is silent for newer modules; a ticker read by a
goroutine that never exits is GL007/GL008's finding in every version.

## Example
```go
t := time.NewTicker(time.Second)
for range t.C {
	if done() { return }
}
```

## Fix
`defer t.Stop()` immediately after creating it.

## When it is wrong
If the ticker is stopped through another name (a struct field assigned later), it escapes and is not
reported. Go 1.27 toolchains always use the new semantics (the `asynctimerchan` GODEBUG was removed),
so a module built only with them can ignore this rule.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if cx.new_timer_semantics() {
        return;
    }
    for (decl, left, value) in cx.short_var_first_values() {
        let Some(name) = left.named_child(0) else {
            continue;
        };
        if cx.pkg_call(value, TIME) != Some("NewTicker") || name.kind() != "identifier" {
            continue;
        }
        let Some(func) = cx.enclosing_function(decl) else {
            continue;
        };
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        let ticker = cx.text(name);
        let uses: Vec<_> = cx
            .uses_in(body, ticker)
            .into_iter()
            .filter(|u| u.node.start_byte() >= decl.end_byte())
            .collect();
        if uses.iter().any(|u| u.kind == UseKind::Escape) {
            continue;
        }
        let stopped = uses.iter().any(|u| {
            u.op.kind() == "selector_expression"
                && u.op
                    .child_by_field_name("field")
                    .map(|f| cx.text(f) == "Stop")
                    .unwrap_or(false)
        });
        if !stopped {
            out.push(Finding::new(
                RULE.code,
                value,
                format!("ticker `{ticker}` is never stopped"),
            ));
        }
    }
}
