//! GL015 missing-body-close.

use rustc_hash::FxHashSet;
use tree_sitter::Node;

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::{FileCx, UseKind, HTTP};
use crate::rules::RuleMeta;
use crate::syntax::{self, call_target};

pub static RULE: RuleMeta = RuleMeta {
    code: "GL015",
    name: "missing-body-close",
    severity: Severity::Warning,
    confidence: Confidence::Low,
    default_enabled: false,
    version_gated: false,
    summary: "An HTTP response whose Body is never closed.",
    why: "an unclosed body keeps the connection and the transport's read/write goroutines alive",
    fix: "`defer resp.Body.Close()` right after the error check",
    docs: r#"# GL015 missing-body-close

## What it finds
`resp, err := http.Get(…)` (also `Head`, `Post`, `PostForm`, and `x.Do(req)` in a file that
imports net/http) where the function never calls `resp.Body.Close()`, and neither `resp` nor
`resp.Body` is handed to another function that could close it (reading helpers such as
`io.ReadAll` and `json.NewDecoder` do not close).

## Why it leaks
Until the body is closed the connection is not released, and `net/http`'s per-connection
`readLoop`/`writeLoop` goroutines stay alive: a real goroutine leak, one pair per request.

## Example
```go
resp, err := http.Get(url)
if err != nil { return err }
data, err := io.ReadAll(resp.Body) // read, never closed
```

## Fix
`defer resp.Body.Close()` after the error check (and drain it for connection reuse).

Only reported when an `err != nil` check follows the call: code that expects the request to
fail (tests asserting an error) never gets a body to close.

## When it is wrong
Passing the response to a helper counts as handled (timakin/bodyclose#30, #18, #77 are the false
positives this avoids), so a helper that does not close is missed. `x.Do(req)` on something that
is not an `*http.Client` could be a false positive.
"#,
};

/// Calls that read a body but never close it: passing the body to them is not a hand-off.
const NON_CLOSING_READERS: &[&str] = &[
    "ReadAll",
    "Copy",
    "CopyN",
    "NewDecoder",
    "NewReader",
    "NewScanner",
    "ReadFull",
    "Unmarshal",
];

pub fn check(cx: &FileCx<'_>, out: &mut Vec<Finding>) {
    if !cx.imports.has(HTTP) {
        return;
    }
    let clients = client_names(cx);
    for (decl, left, call) in cx.short_var_first_values() {
        if !is_request(cx, call, &clients) || left.named_child_count() != 2 {
            continue;
        }
        let Some(resp) = left.named_child(0).filter(|n| n.kind() == "identifier") else {
            continue;
        };
        let name = cx.text(resp);
        let Some(func) = cx.enclosing_function(decl) else {
            continue;
        };
        let Some(body) = syntax::function_body(func) else {
            continue;
        };
        // Only when the code treats success as the normal case (`if err != nil` follows):
        // tests that expect the request to fail never get a body to close.
        let err_name = left.named_child(1).map(|e| cx.text(e)).unwrap_or("_");
        if !checks_error_as_failure(cx, body, err_name, decl.end_byte()) {
            continue;
        }
        if name == "_" {
            out.push(Finding::new(
                RULE.code,
                resp,
                "the response is discarded, so its Body is never closed",
            ));
            continue;
        }
        let uses: Vec<_> = cx
            .uses_in(body, name)
            .into_iter()
            .filter(|u| u.node.start_byte() >= decl.end_byte())
            .collect();
        let handled = uses.iter().any(|u| {
            if u.kind == UseKind::Escape && !is_non_closing_reader_arg(cx, u.node) {
                return true;
            }
            body_handled(cx, u.node)
        });
        if !handled {
            out.push(Finding::new(
                RULE.code,
                call,
                format!("`{name}.Body` is never closed"),
            ));
        }
    }
}

fn is_request(cx: &FileCx<'_>, call: Node<'_>, clients: &FxHashSet<&str>) -> bool {
    if matches!(
        cx.pkg_call(call, HTTP),
        Some("Get" | "Head" | "Post" | "PostForm")
    ) {
        return true;
    }
    match call_target(call, cx.src) {
        Some((Some(_), "Do")) => syntax::call_arguments(call).len() == 1,
        Some((Some(receiver), "Get" | "Head" | "Post" | "PostForm")) => {
            let last = receiver.rsplit('.').next().unwrap_or(receiver);
            clients.contains(last) || receiver.ends_with(".DefaultClient")
        }
        _ => false,
    }
}

/// Names (last component) bound to an `http.Client{…}` literal somewhere in the file.
fn client_names<'t>(cx: &FileCx<'t>) -> FxHashSet<&'t str> {
    let mut names = FxHashSet::default();
    for literal in &cx.composite_literals {
        let is_client = literal
            .child_by_field_name("type")
            .map(|t| cx.pkg_type(t, HTTP) == Some("Client"))
            .unwrap_or(false);
        if !is_client {
            continue;
        }
        let mut node = *literal;
        while let Some(parent) = node.parent() {
            match parent.kind() {
                "unary_expression" | "expression_list" | "parenthesized_expression" => {
                    node = parent
                }
                "short_var_declaration" | "assignment_statement" => {
                    if let Some(target) = parent
                        .child_by_field_name("left")
                        .and_then(|l| l.named_child(0))
                    {
                        let text = cx.text(target);
                        names.insert(text.rsplit('.').next().unwrap_or(text));
                    }
                    break;
                }
                "var_spec" => {
                    if let Some(target) = parent.child_by_field_name("name") {
                        names.insert(cx.text(target));
                    }
                    break;
                }
                "keyed_element" => {
                    if let Some(key) = parent.named_child(0) {
                        names.insert(cx.text(key).trim());
                    }
                    break;
                }
                "literal_element" => node = parent,
                _ => break,
            }
        }
    }
    names
}

/// `resp.Body.Close()` anywhere, or `resp.Body` handed to something that is not a plain reader.
fn body_handled(cx: &FileCx<'_>, ident: Node<'_>) -> bool {
    let Some(selector) = ident.parent().filter(|p| p.kind() == "selector_expression") else {
        return false;
    };
    if selector.child_by_field_name("field").map(|f| cx.text(f)) != Some("Body") {
        return false;
    }
    let Some(parent) = selector.parent() else {
        return false;
    };
    match parent.kind() {
        "selector_expression" => {
            parent.child_by_field_name("field").map(|f| cx.text(f)) == Some("Close")
        }
        "argument_list" => !is_non_closing_reader_arg(cx, selector),
        "return_statement" | "expression_list" | "keyed_element" | "literal_element" => true,
        _ => false,
    }
}

/// The first reference to `err` after `after` is an `err != nil` (or `nil != err`) test.
fn checks_error_as_failure(cx: &FileCx<'_>, body: Node<'_>, err: &str, after: usize) -> bool {
    if err == "_" {
        return false;
    }
    let Some(first) = syntax::descendants(body)
        .find(|n| n.kind() == "identifier" && n.start_byte() >= after && cx.text(*n) == err)
    else {
        return false;
    };
    let Some(comparison) = first.parent().filter(|p| p.kind() == "binary_expression") else {
        return false;
    };
    let (Some(l), Some(op), Some(r)) = (
        comparison.child_by_field_name("left"),
        comparison.child_by_field_name("operator"),
        comparison.child_by_field_name("right"),
    ) else {
        return false;
    };
    cx.text(op) == "!=" && (cx.text(l) == "nil" || cx.text(r) == "nil")
}

fn is_non_closing_reader_arg(cx: &FileCx<'_>, arg: Node<'_>) -> bool {
    let Some(call) = arg
        .parent()
        .filter(|p| p.kind() == "argument_list")
        .and_then(|a| a.parent())
    else {
        return false;
    };
    matches!(call_target(call, cx.src), Some((_, name)) if NON_CLOSING_READERS.contains(&name))
}
