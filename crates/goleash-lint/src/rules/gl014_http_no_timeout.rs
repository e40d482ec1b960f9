//! GL014 http-no-timeout.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, HTTP};
use crate::rules::RuleMeta;
use crate::syntax;

pub static RULE: RuleMeta = RuleMeta {
    code: "GL014",
    name: "http-no-timeout",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "An HTTP request through a client with no timeout: `http.Get` and friends, or an `http.Client{}` without `Timeout`.",
    why: "with no timeout the calling goroutine can block forever on a stalled server",
    fix: "use a client with `Timeout`, or `http.NewRequestWithContext` with a deadline",
    docs: r#"# GL014 http-no-timeout

## What it finds
Calls to `http.Get`, `http.Head`, `http.Post` and `http.PostForm` (they use `http.DefaultClient`,
which has no timeout), and `http.Client{…}` literals without a `Timeout` field.

## Why it leaks
A peer that accepts the connection and never answers keeps the calling goroutine — and the
transport's connection goroutines — blocked for good.

## Example
```go
resp, err := http.Get(url)
```

## Fix
```go
var client = &http.Client{Timeout: 10 * time.Second}
resp, err := client.Get(url)
```
or build the request with `http.NewRequestWithContext(ctx, …)` under a context with a deadline.

## When it is wrong
A client whose requests always carry a deadline context does not need `Timeout`; a client literal
used that way is a false positive (suppress it with a reason).
"#,
};

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(HTTP) {
        return;
    }
    for call in &cx.calls {
        if let Some(name @ ("Get" | "Head" | "Post" | "PostForm")) = cx.pkg_call(*call, HTTP) {
            out.push(Finding::new(
                RULE.code,
                *call,
                format!("http.{name} uses http.DefaultClient, which has no timeout"),
            ));
        }
    }
    for literal in &cx.composite_literals {
        let Some(ty) = literal.child_by_field_name("type") else {
            continue;
        };
        if cx.pkg_type(ty, HTTP) != Some("Client") {
            continue;
        }
        let Some(body) = literal.child_by_field_name("body") else {
            continue;
        };
        let has_timeout = syntax::descendants(body).any(|n| {
            n.kind() == "keyed_element"
                && n.named_child(0)
                    .map(|k| cx.text(k).trim() == "Timeout")
                    .unwrap_or(false)
        });
        if !has_timeout {
            out.push(Finding::new(
                RULE.code,
                *literal,
                "http.Client without a Timeout",
            ));
        }
    }
}
