//! GL010 time-tick-in-returning-func.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, TIME};
use crate::flow::has_break_out;
use crate::patterns::{has_return_or_exit, runs_once_per_process};
use crate::rules::RuleMeta;
use crate::syntax::{self, statements};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL010",
    name: "time-tick-in-returning-func",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: true,
    summary: "`time.Tick` in a function that can return (modules before Go 1.23).",
    why: "before Go 1.23 the ticker behind time.Tick can never be stopped or collected, so every call leaks one",
    fix: "use `t := time.NewTicker(d)` with `defer t.Stop()` (or move the module to go 1.23+)",
    docs: r#"# GL010 time-tick-in-returning-func

## What it finds
A `time.Tick(d)` call in a function that can return (it has a `return`, or does not end in an
endless loop), outside `main`, `init` and tests. Only for modules whose go.mod says `go 1.22` or
older: staticcheck's SA1015 semantics, switched off for newer modules as in
dominikh/go-tools#1558.

## Why it leaks
`time.Tick` hides its `*Ticker`; before Go 1.23 the runtime keeps it forever, so a function that
calls it and returns leaks a running ticker per call.

## Example
```go
func poll(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.Tick(time.Second): // a new leaked ticker each iteration, too
		}
	}
}
```

## Fix
`t := time.NewTicker(d); defer t.Stop()`.

## When it is wrong
"Can return" is syntactic; a function that only returns on a path that never happens in practice
is still reported.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if cx.new_timer_semantics() || cx.is_test {
        return;
    }
    for call in &cx.calls {
        if cx.pkg_call(*call, TIME) != Some("Tick") || runs_once_per_process(cx, *call) {
            continue;
        }
        let Some(func) = cx.enclosing_function(*call) else {
            continue;
        };
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        if !can_return(cx, body) {
            continue;
        }
        out.push(Finding::new(
            RULE.code,
            *call,
            "time.Tick leaks its ticker when this function returns",
        ));
    }
}

fn can_return(cx: &FileCx<'_>, body: tree_sitter::Node<'_>) -> bool {
    if has_return_or_exit(cx, body) {
        return true;
    }
    match statements(body).last() {
        Some(last) if last.kind() == "for_statement" => {
            let endless = syntax::is_infinite_loop(*last)
                || last
                    .named_child(0)
                    .map(|c| c.kind() == "range_clause")
                    .unwrap_or(false);
            !endless || has_break_out(*last)
        }
        _ => true,
    }
}
