//! Shape helpers shared by several rules (goroutine targets, "gives up" select cases,
//! context parameters). Rule-specific logic stays in the rule's own file.

use tree_sitter::Node;

use crate::facts::{go_literal, FileCx, CONTEXT, HTTP, SYNC, TIME};
use crate::syntax::{self, call_target, descendants, receive_operand, unparen};

/// A send or receive that is not a `select` communication: it blocks until a partner comes.
pub(crate) fn is_blocking_op<'t>(cx: &FileCx<'t>, op: Node<'t>) -> bool {
    syntax::select_case_via(op, |n| cx.parent(n)).is_none()
}

/// When `node` runs in a goroutine launched (by a `go func(){…}()` literal) from inside `func`,
/// the `go` statement; `None` when it runs in `func` itself or elsewhere.
pub(crate) fn goroutine_within<'t>(
    cx: &FileCx<'t>,
    node: Node<'t>,
    func: Node<'t>,
) -> Option<Node<'t>> {
    let inner = cx.enclosing_function(node)?;
    if inner.id() == func.id() || !syntax::is_within(inner, func) {
        return None;
    }
    cx.launching_go(inner)
}

pub(crate) fn same_activation(cx: &FileCx<'_>, node: Node<'_>, func: Node<'_>) -> bool {
    cx.enclosing_function(node).map(|f| f.id()) == Some(func.id())
}

/// A `select` case that fires when the caller stops waiting: `<-ctx.Done()`, `<-time.After(d)`,
/// `<-timer.C`, a `done`/`quit`/`stop` channel, or `default`.
pub(crate) fn is_give_up_case(cx: &FileCx<'_>, case: Node<'_>) -> bool {
    if case.kind() == "default_case" {
        return true;
    }
    let Some(comm) = case.child_by_field_name("communication") else {
        return false;
    };
    let receive = if comm.kind() == "receive_statement" {
        comm.child_by_field_name("right").map(unparen)
    } else {
        Some(comm)
    };
    let Some(operand) = receive.and_then(|r| receive_operand(r, cx.src)) else {
        return false;
    };
    if operand.kind() == "call_expression" {
        if let Some((Some(_), "Done")) = call_target(operand, cx.src) {
            return true;
        }
        if matches!(cx.pkg_call(operand, TIME), Some("After" | "Tick")) {
            return true;
        }
        return false;
    }
    let text = cx.text(operand);
    let last = text.rsplit('.').next().unwrap_or(text).to_ascii_lowercase();
    last == "c" && text.contains('.')
        || [
            "done", "quit", "stop", "closing", "closed", "shutdown", "cancel", "exit", "die",
        ]
        .iter()
        .any(|w| last.contains(w))
        || last.contains("timeout")
}

/// Name of a `context.Context` (or `*http.Request`) parameter of `func`, if any.
pub(crate) fn context_param<'t>(cx: &FileCx<'t>, func: Node<'t>) -> Option<&'t str> {
    let params = func.child_by_field_name("parameters")?;
    let mut cursor = params.walk();
    for decl in params.named_children(&mut cursor) {
        if decl.kind() != "parameter_declaration" {
            continue;
        }
        let Some(ty) = decl.child_by_field_name("type") else {
            continue;
        };
        let is_ctx = cx.pkg_type(ty, CONTEXT) == Some("Context")
            || (ty.kind() == "pointer_type" && cx.pkg_type(ty, HTTP) == Some("Request"));
        if is_ctx {
            if let Some(name) = decl.child_by_field_name("name") {
                let name = cx.text(name);
                if name != "_" {
                    return Some(name);
                }
            }
        }
    }
    None
}

/// The body a `go` statement runs: the literal's, or a same-file function or method named by
/// the call when exactly one declaration has that name.
pub(crate) fn go_target_body<'t>(cx: &FileCx<'t>, go_stmt: Node<'t>) -> Option<Node<'t>> {
    if let Some(literal) = go_literal(go_stmt) {
        return literal.child_by_field_name("body");
    }
    let call = go_stmt.named_child(0)?;
    let (_, name) = call_target(call, cx.src)?;
    match cx.declarations_named(name) {
        [only] => only.child_by_field_name("body"),
        _ => None,
    }
}

/// The enclosing top-level declaration is `main` or `init`: code that runs once per process.
pub(crate) fn runs_once_per_process(cx: &FileCx<'_>, node: Node<'_>) -> bool {
    match cx.enclosing_declaration(node) {
        Some(decl) => {
            decl.kind() == "function_declaration"
                && matches!(syntax::function_name(decl, cx.src), Some("init"))
                || (cx.is_main_package() && syntax::function_name(decl, cx.src) == Some("main"))
        }
        // Package-level `var x = func() …`: initialisation, once.
        None => true,
    }
}

/// Does `scope` contain, in the same activation, a `return` or a terminating call?
pub(crate) fn has_return_or_exit(cx: &FileCx<'_>, scope: Node<'_>) -> bool {
    syntax::descendants_same_func(scope).any(|n| {
        n.kind() == "return_statement"
            || (n.kind() == "call_expression" && syntax::is_terminating_call(n, cx.src))
    })
}

/// Every call in `scope` (closures included) whose receiver text is `receiver` and whose
/// method is one of `methods`.
pub(crate) fn method_calls<'t>(
    cx: &FileCx<'t>,
    scope: Node<'t>,
    receiver: &str,
    methods: &[&str],
) -> Vec<Node<'t>> {
    descendants(scope)
        .filter(|n| n.kind() == "call_expression")
        .filter(|n| match call_target(*n, cx.src) {
            Some((Some(recv), name)) => recv == receiver && methods.contains(&name),
            _ => false,
        })
        .collect()
}

/// The declaration of `name` in `body` as a value of one of the `sync` types `types`:
/// `var name sync.T` or `name := sync.T{}` / `&sync.T{}`.
pub(crate) fn local_sync_value<'t>(
    cx: &FileCx<'t>,
    body: Node<'t>,
    name: &str,
    types: &[&str],
) -> Option<Node<'t>> {
    let wanted = |t: Node<'_>| cx.pkg_type(t, SYNC).is_some_and(|n| types.contains(&n));
    syntax::descendants_same_func(body).find(|n| match n.kind() {
        "var_spec" => {
            n.child_by_field_name("name").map(|id| cx.text(id)) == Some(name)
                && n.child_by_field_name("type").is_some_and(wanted)
        }
        "short_var_declaration" => {
            let left = n.child_by_field_name("left").and_then(|l| l.named_child(0));
            let right = n
                .child_by_field_name("right")
                .and_then(|r| r.named_child(0));
            left.map(|l| cx.text(l)) == Some(name)
                && right.is_some_and(|r| {
                    let literal = match r.kind() {
                        "unary_expression" => r.child_by_field_name("operand"),
                        _ => Some(r),
                    };
                    literal
                        .filter(|l| l.kind() == "composite_literal")
                        .and_then(|l| l.child_by_field_name("type"))
                        .is_some_and(wanted)
                })
        }
        _ => false,
    })
}
