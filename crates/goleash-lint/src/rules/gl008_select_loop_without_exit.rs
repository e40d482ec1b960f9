//! GL008 select-loop-without-exit.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::rules::gl007_goroutine_no_exit_loop::{exitless_loops, is_select_loop, severity_for};
use crate::rules::RuleMeta;
use crate::syntax::{self, statements};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL008",
    name: "select-loop-without-exit",
    severity: Severity::Warning,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "A goroutine's `for { select { … } }` has no case that leaves the loop.",
    why: "the goroutine outlives its producers; after a channel is closed it spins on zero values",
    fix: "add `case <-ctx.Done(): return` (or a done channel), and check `v, ok := <-ch` to stop on close",
    docs: r#"# GL008 select-loop-without-exit

## What it finds
A goroutine whose body runs `for { select { … } }` where no case returns, breaks out of the loop,
or otherwise ends the goroutine. A `default:` case with an empty body is reported as a busy loop.

## Why it leaks
When the producers stop, the goroutine waits in `select` forever. If one of the channels is closed,
its case fires on every iteration with a zero value: a CPU spin instead of an exit.

## Example
```go
go func() {
	for {
		select {
		case e := <-events:
			handle(e)
		case <-ticker.C:
			flush()
		}
	}
}()
```

## Fix
```go
case <-ctx.Done():
	return
case e, ok := <-events:
	if !ok { return }
```

## When it is wrong
Same exemptions as GL007: goroutines started once from `main`, `init` or a `sync.Once` are not
reported, other `package main` code is reported as info.
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    for go in &cx.go_statements {
        for for_stmt in exitless_loops(cx, *go) {
            let Some(select) = is_select_loop(for_stmt) else {
                continue;
            };
            let mut cursor = select.walk();
            let empty_default = select
                .named_children(&mut cursor)
                .any(|c| c.kind() == "default_case" && statements(c).is_empty());
            let mut finding = if empty_default {
                Finding::new(
                    RULE.code,
                    select,
                    "`for { select { … default: } }` with an empty default busy-loops forever",
                )
                .why("an empty default makes the select non-blocking, so the loop spins a core and never ends")
                .fix("drop the empty default so the select blocks, and add an exit case")
            } else {
                Finding::new(RULE.code, select, "no case of this select ever leaves the loop")
            }
            .severity(severity_for(cx));
            if !syntax::is_within(for_stmt, *go) {
                finding = finding.label(*go, "goroutine started here");
            }
            out.push(finding);
        }
    }
}
