//! A small structured control-flow view for "on every path after X, Y happens" rules
//! (lost cancel, missing unlock, skipped `wg.Done`).
//!
//! Go's statements are structured, so instead of building a graph the analysis walks the
//! statements after the starting point and asks, per statement, whether some path can reach a
//! `return` (or the end of the function) without passing a *use*. It is deliberately generous
//! about what ends a path (panics, `os.Exit`, `continue`, `goto`) because a missed report costs
//! less than a false one.

use tree_sitter::Node;

use crate::syntax::{self, is_terminating_call, statements};

/// A place where the function can be left without the required use having happened.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Exit<'t> {
    Return(Node<'t>),
    /// Falling off the closing brace of a function without results.
    EndOfFunction(Node<'t>),
}

impl<'t> Exit<'t> {
    pub(crate) fn node(self) -> Node<'t> {
        match self {
            Exit::Return(n) | Exit::EndOfFunction(n) => n,
        }
    }
}

#[derive(Clone, Copy)]
struct Outcome<'t> {
    leak: Option<Exit<'t>>,
    /// Some path reaches the statement after this one without a use.
    falls_through: bool,
}

const USED: Outcome<'static> = Outcome {
    leak: None,
    falls_through: false,
};
const FALLS: Outcome<'static> = Outcome {
    leak: None,
    falls_through: true,
};

/// Nesting deeper than this is treated as "used": give up quietly rather than risk the stack.
const MAX_DEPTH: usize = 200;

pub(crate) struct PathCheck<'a, 't> {
    pub src: &'t str,
    pub is_use: &'a dyn Fn(Node<'t>) -> bool,
}

impl<'t> PathCheck<'_, 't> {
    /// Starting right after `start` (a statement), find an exit reached without a use.
    pub(crate) fn exit_without_use(&self, start: Node<'t>) -> Option<Exit<'t>> {
        let mut current = start;
        for _ in 0..MAX_DEPTH {
            let list = current.parent()?;
            if list.kind() != "statement_list" {
                return None;
            }
            let rest = following_siblings(current, list);
            let outcome = self.sequence(&rest, 0);
            if outcome.leak.is_some() {
                return outcome.leak;
            }
            if !outcome.falls_through {
                return None;
            }
            // Climb to the statement that contains this list and continue after it.
            let container = list.parent()?;
            let owner = match container.kind() {
                "block" => container.parent()?,
                "communication_case" | "expression_case" | "default_case" | "type_case" => {
                    container.parent()?
                }
                _ => return None,
            };
            if syntax::is_function(owner) {
                if owner.child_by_field_name("result").is_some() {
                    return None;
                }
                return Some(Exit::EndOfFunction(container));
            }
            current = match owner.kind() {
                "if_statement" => outermost_else_chain(owner),
                "for_statement"
                | "expression_switch_statement"
                | "type_switch_statement"
                | "select_statement"
                | "labeled_statement" => owner,
                "block" | "statement_list" => container,
                _ => return None,
            };
            if current.kind() == "block"
                && current.parent().map(|p| p.kind()) != Some("statement_list")
            {
                return None;
            }
        }
        None
    }

    /// From the first statement of `body` (a function's block): an exit reached without a use.
    pub(crate) fn exit_from_entry(&self, body: Node<'t>) -> Option<Exit<'t>> {
        let outcome = self.sequence(&statements(body), 0);
        if outcome.leak.is_some() {
            return outcome.leak;
        }
        let func = body.parent()?;
        if outcome.falls_through && func.child_by_field_name("result").is_none() {
            return Some(Exit::EndOfFunction(body));
        }
        None
    }

    fn contains_use(&self, node: Node<'t>) -> bool {
        syntax::descendants(node).any(|n| (self.is_use)(n))
    }

    fn sequence(&self, stmts: &[Node<'t>], depth: usize) -> Outcome<'t> {
        for stmt in stmts {
            let outcome = self.statement(*stmt, depth + 1);
            if outcome.leak.is_some() || !outcome.falls_through {
                return outcome;
            }
            if stmt.kind() == "break_statement" {
                return FALLS;
            }
        }
        FALLS
    }

    fn block(&self, block: Option<Node<'t>>, depth: usize) -> Outcome<'t> {
        match block {
            Some(b) if b.kind() == "block" => self.sequence(&statements(b), depth),
            Some(b) => self.statement(b, depth),
            None => FALLS,
        }
    }

    fn statement(&self, stmt: Node<'t>, depth: usize) -> Outcome<'t> {
        if depth > MAX_DEPTH {
            return USED;
        }
        match stmt.kind() {
            "return_statement" => {
                if self.contains_use(stmt) {
                    USED
                } else {
                    Outcome {
                        leak: Some(Exit::Return(stmt)),
                        falls_through: false,
                    }
                }
            }
            "if_statement" => {
                let header_used = ["initializer", "condition"].iter().any(|f| {
                    stmt.child_by_field_name(f)
                        .map(|n| self.contains_use(n))
                        .unwrap_or(false)
                });
                if header_used {
                    return USED;
                }
                let consequence = self.block(stmt.child_by_field_name("consequence"), depth);
                let alternative = self.block(stmt.child_by_field_name("alternative"), depth);
                Outcome {
                    leak: consequence.leak.or(alternative.leak),
                    falls_through: consequence.falls_through || alternative.falls_through,
                }
            }
            "for_statement" => {
                let mut cursor = stmt.walk();
                let header_used = stmt
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() != "block")
                    .any(|c| self.contains_use(c));
                if header_used {
                    return USED;
                }
                let body = self.block(stmt.child_by_field_name("body"), depth);
                let exits_normally = !syntax::is_infinite_loop(stmt) || has_break_out(stmt);
                Outcome {
                    leak: body.leak,
                    falls_through: exits_normally,
                }
            }
            "expression_switch_statement" | "type_switch_statement" | "select_statement" => {
                let mut cursor = stmt.walk();
                let children: Vec<Node<'t>> = stmt.named_children(&mut cursor).collect();
                let mut has_default = false;
                let mut leak = None;
                let mut falls = false;
                for child in children {
                    match child.kind() {
                        "expression_case" | "type_case" | "communication_case" | "default_case" => {
                            if child.kind() == "default_case" {
                                has_default = true;
                            }
                            let head_used = ["value", "communication", "type"].iter().any(|f| {
                                child
                                    .child_by_field_name(f)
                                    .map(|n| self.contains_use(n))
                                    .unwrap_or(false)
                            });
                            if head_used {
                                continue;
                            }
                            let outcome = self.sequence(&statements(child), depth);
                            leak = leak.or(outcome.leak);
                            falls |= outcome.falls_through;
                        }
                        "comment" => {}
                        _ => {
                            if self.contains_use(child) {
                                return USED;
                            }
                        }
                    }
                }
                if stmt.kind() != "select_statement" && !has_default {
                    falls = true;
                }
                Outcome {
                    leak,
                    falls_through: falls,
                }
            }
            "block" => self.sequence(&statements(stmt), depth),
            "labeled_statement" => {
                let mut cursor = stmt.walk();
                let inner = stmt
                    .named_children(&mut cursor)
                    .find(|c| c.kind() != "label_name");
                match inner {
                    Some(inner) => self.statement(inner, depth),
                    None => FALLS,
                }
            }
            "continue_statement" | "goto_statement" => USED,
            "break_statement" => FALLS,
            "expression_statement" => {
                if self.contains_use(stmt) {
                    return USED;
                }
                match stmt.named_child(0) {
                    Some(call) if is_terminating_call(call, self.src) => USED,
                    _ => FALLS,
                }
            }
            _ => {
                if self.contains_use(stmt) {
                    USED
                } else {
                    FALLS
                }
            }
        }
    }
}

fn following_siblings<'t>(stmt: Node<'t>, list: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|n| n.start_byte() >= stmt.end_byte() && n.kind() != "comment")
        .collect()
}

/// `if a {} else if b { X }`: after X, control continues after the outermost `if`.
fn outermost_else_chain(mut if_stmt: Node<'_>) -> Node<'_> {
    while let Some(parent) = if_stmt.parent() {
        if parent.kind() == "if_statement" {
            if_stmt = parent;
        } else {
            break;
        }
    }
    if_stmt
}

/// Does an infinite `for` have a `break` that leaves it (unlabelled at its own level, or
/// labelled with its label)?
pub(crate) fn has_break_out(for_stmt: Node<'_>) -> bool {
    let label = for_stmt
        .parent()
        .filter(|p| p.kind() == "labeled_statement")
        .and_then(|p| p.child_by_field_name("label"));
    let Some(body) = for_stmt.child_by_field_name("body") else {
        return false;
    };
    for node in syntax::descendants_same_func(body) {
        if node.kind() != "break_statement" && node.kind() != "goto_statement" {
            continue;
        }
        if node.kind() == "goto_statement" {
            return true;
        }
        // A labelled break is assumed to target this loop when it has a label: erring towards
        // "the loop can exit" keeps the no-exit rules quiet on code we cannot fully follow.
        let labelled = node.named_child(0).is_some();
        if labelled && label.is_some() {
            return true;
        }
        if !labelled && nearest_breakable(node).map(|n| n.id()) == Some(for_stmt.id()) {
            return true;
        }
    }
    false
}

fn nearest_breakable(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node.parent();
    while let Some(n) = current {
        match n.kind() {
            "for_statement"
            | "expression_switch_statement"
            | "type_switch_statement"
            | "select_statement" => return Some(n),
            "func_literal" => return None,
            _ => current = n.parent(),
        }
    }
    None
}
