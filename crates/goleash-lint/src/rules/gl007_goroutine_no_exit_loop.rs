//! GL007 goroutine-no-exit-loop.

use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::flow::has_break_out;
use crate::patterns::{go_target_body, has_return_or_exit, runs_once_per_process};
use crate::rules::RuleMeta;
use crate::syntax::{self, statements};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL007",
    name: "goroutine-no-exit-loop",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "A goroutine runs a `for { … }` loop that has no way out.",
    why: "the goroutine can never end; started per call or per request, every call leaks one",
    fix: "give the loop an exit: `case <-ctx.Done(): return`, a closed-channel check, or a stop channel",
    docs: r#"# GL007 goroutine-no-exit-loop

## What it finds
`go func() { … for { … } … }()` (or `go f()` / `go x.m()` naming a function of the same file)
whose infinite `for` loop has no `return`, no `break` out, no `goto`, and no terminating call
(`panic`, `os.Exit`, `runtime.Goexit`, `log.Fatal`). Loops whose body is a single `select` are
GL008's. An empty `for {}` is reported as a spin.

## Why it leaks
The goroutine lives until the process exits. That is right for a daemon started once; it is a leak
when the function starting it runs per request, per connection, per object, or in a library.

## Example
```go
func (c *Cache) Start() {
	go func() {
		for {
			time.Sleep(time.Minute)
			c.evict()
		}
	}()
}
```

## Fix
Pass a `context.Context` (or a stop channel) and leave the loop when it is done:
`select { case <-ctx.Done(): return; case <-t.C: c.evict() }`.

## When it is wrong
Not reported for goroutines started from `main`, `init`, package initialisation or a `sync.Once`
(they run once); reported as info in other functions of `package main`. A goroutine meant to live
as long as the process elsewhere deserves `//goleash:ignore GL007 <why>`.
"#,
};

/// Infinite loops without an exit in the goroutine a `go` statement starts.
pub fn exitless_loops<'t>(cx: &FileCx<'t>, go_stmt: Node<'t>) -> Vec<Node<'t>> {
    if runs_once_per_process(cx, go_stmt) || cx.inside_once_do(go_stmt) {
        return Vec::new();
    }
    let Some(body) = go_target_body(cx, go_stmt) else {
        return Vec::new();
    };
    syntax::descendants_same_func(body)
        .filter(|n| n.kind() == "for_statement" && syntax::is_infinite_loop(*n))
        .filter(|for_stmt| {
            let Some(loop_body) = for_stmt.child_by_field_name("body") else {
                return false;
            };
            !has_return_or_exit(cx, loop_body) && !has_break_out(*for_stmt)
        })
        // Only the outermost exitless loop: an inner one inside it is the same leak.
        .fold(Vec::new(), |mut acc: Vec<Node<'t>>, n| {
            if !acc.iter().any(|outer| syntax::is_within(n, *outer)) {
                acc.push(n);
            }
            acc
        })
}

/// A loop whose body is exactly one `select`.
pub fn is_select_loop(for_stmt: Node<'_>) -> Option<Node<'_>> {
    let body = for_stmt.child_by_field_name("body")?;
    match statements(body).as_slice() {
        [only] if only.kind() == "select_statement" => Some(*only),
        _ => None,
    }
}

pub fn severity_for(cx: &FileCx<'_>) -> Severity {
    if cx.is_main_package() {
        Severity::Info
    } else {
        RULE.severity
    }
}

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for go in &cx.go_statements {
        for for_stmt in exitless_loops(cx, *go) {
            if is_select_loop(for_stmt).is_some() {
                continue;
            }
            let spin = for_stmt
                .child_by_field_name("body")
                .map(|b| statements(b).is_empty())
                .unwrap_or(false);
            let mut finding = if spin {
                Finding::new(RULE.code, for_stmt, "empty `for {}` spins a CPU forever")
                    .why("an empty infinite loop burns a core and never ends")
                    .fix("block on something (a channel, `select {}`), or remove the loop")
            } else {
                Finding::new(
                    RULE.code,
                    for_stmt,
                    "goroutine loops forever with no way out",
                )
            }
            .severity(severity_for(cx));
            if !syntax::is_within(for_stmt, *go) {
                finding = finding.label(*go, "goroutine started here");
            }
            out.push(finding);
        }
    }
}
