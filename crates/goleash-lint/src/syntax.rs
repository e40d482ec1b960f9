//! Small, allocation-light helpers over the tree-sitter-go tree that every rule needs.
//!
//! Traversals here are iterative: a hostile or generated Go file can nest deeply enough to
//! overflow a recursive walk, and the linter must not crash on any input.

use tree_sitter::{Node, TreeCursor};

pub(crate) fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.start_byte()..node.end_byte()).unwrap_or("")
}

/// Pre-order walk over the named nodes below (and including) `root`.
pub(crate) struct Descendants<'t> {
    cursor: TreeCursor<'t>,
    root_id: usize,
    finished: bool,
    skip_closures: bool,
}

impl<'t> Iterator for Descendants<'t> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        loop {
            if self.finished {
                return None;
            }
            let node = self.cursor.node();
            let descend =
                !(self.skip_closures && node.kind() == "func_literal" && node.id() != self.root_id);
            if !(descend && self.cursor.goto_first_child()) {
                loop {
                    if self.cursor.node().id() == self.root_id {
                        self.finished = true;
                        break;
                    }
                    if self.cursor.goto_next_sibling() {
                        break;
                    }
                    if !self.cursor.goto_parent() {
                        self.finished = true;
                        break;
                    }
                }
            }
            if node.is_named() {
                return Some(node);
            }
        }
    }
}

/// Every named node in the subtree, closures included.
pub(crate) fn descendants(root: Node<'_>) -> Descendants<'_> {
    Descendants {
        cursor: root.walk(),
        root_id: root.id(),
        finished: false,
        skip_closures: false,
    }
}

/// Named nodes of the subtree that run in the same function activation: `func` literals
/// below `root` are yielded but not entered, because code inside them runs at another time.
pub(crate) fn descendants_same_func(root: Node<'_>) -> Descendants<'_> {
    Descendants {
        cursor: root.walk(),
        root_id: root.id(),
        finished: false,
        skip_closures: true,
    }
}

pub(crate) fn is_function(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "function_declaration" | "method_declaration" | "func_literal"
    )
}

/// Climbs with `Node::parent`, which descends from the root each time: O(depth²). Rules use
/// [`crate::facts::FileCx::enclosing_function`], answered from a table built in one walk.
pub(crate) fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node.parent();
    while let Some(n) = current {
        if is_function(n) {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

pub(crate) fn is_within(node: Node<'_>, ancestor: Node<'_>) -> bool {
    node.start_byte() >= ancestor.start_byte() && node.end_byte() <= ancestor.end_byte()
}

pub(crate) fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// `(receiver text, method name)` for `recv.m(...)`, `(None, name)` for `name(...)`.
pub(crate) fn call_target<'s>(call: Node<'_>, src: &'s str) -> Option<(Option<&'s str>, &'s str)> {
    if call.kind() != "call_expression" {
        return None;
    }
    let function = unparen(call.child_by_field_name("function")?);
    match function.kind() {
        "identifier" => Some((None, text(function, src))),
        "selector_expression" => {
            let operand = function.child_by_field_name("operand")?;
            let field = function.child_by_field_name("field")?;
            Some((Some(text(operand, src)), text(field, src)))
        }
        _ => None,
    }
}

/// The call arguments as nodes (empty when the call has none).
pub(crate) fn call_arguments(call: Node<'_>) -> Vec<Node<'_>> {
    match call.child_by_field_name("arguments") {
        Some(args) => {
            let mut cursor = args.walk();
            args.named_children(&mut cursor).collect()
        }
        None => Vec::new(),
    }
}

/// Statements of a `block` (tree-sitter-go 0.25 wraps them in a `statement_list`) or of a
/// case clause.
pub(crate) fn statements(container: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = container.walk();
    for child in container.named_children(&mut cursor) {
        if child.kind() == "statement_list" {
            let mut inner = child.walk();
            out.extend(
                child
                    .named_children(&mut inner)
                    .filter(|n| n.kind() != "comment"),
            );
        }
    }
    out
}

pub(crate) fn function_body(func: Node<'_>) -> Option<Node<'_>> {
    func.child_by_field_name("body")
}

pub(crate) fn function_name<'s>(func: Node<'_>, src: &'s str) -> Option<&'s str> {
    func.child_by_field_name("name").map(|n| text(n, src))
}

/// Nearest `for` around `node` that belongs to the same function activation. O(depth²) like
/// [`enclosing_function`]; rules use `FileCx::enclosing_loop`.
pub(crate) fn enclosing_loop(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node.parent();
    while let Some(n) = current {
        if is_function(n) {
            return None;
        }
        if n.kind() == "for_statement" {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

/// True for `for { ... }`: no condition, clause or range, so only a jump leaves it.
pub(crate) fn is_infinite_loop(for_stmt: Node<'_>) -> bool {
    let mut cursor = for_stmt.walk();
    let header = for_stmt
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "block" && c.kind() != "comment")
        .count();
    if header != 0 {
        return false;
    }
    true
}

/// Is `node` the operand of a `<-` receive?
pub(crate) fn is_receive_operand(node: Node<'_>, src: &str) -> bool {
    match node.parent() {
        Some(p) if p.kind() == "unary_expression" => {
            p.child_by_field_name("operator")
                .map(|op| text(op, src) == "<-")
                .unwrap_or(false)
                && p.child_by_field_name("operand").map(|o| o.id()) == Some(node.id())
        }
        _ => false,
    }
}

/// For a `<-x` unary expression, `x`.
pub(crate) fn receive_operand<'t>(node: Node<'t>, src: &str) -> Option<Node<'t>> {
    if node.kind() != "unary_expression" {
        return None;
    }
    let op = node.child_by_field_name("operator")?;
    if text(op, src) != "<-" {
        return None;
    }
    node.child_by_field_name("operand").map(unparen)
}

/// The `select` communication case a receive or send belongs to, if it is the case's
/// communication itself (not a statement inside the case body).
pub(crate) fn select_case_of(op: Node<'_>) -> Option<Node<'_>> {
    select_case_via(op, |n| n.parent())
}

/// [`select_case_of`] with the parent lookup supplied (`FileCx::parent` is O(1) for deep
/// nodes).
pub(crate) fn select_case_via<'t>(
    op: Node<'t>,
    parent_of: impl Fn(Node<'t>) -> Option<Node<'t>>,
) -> Option<Node<'t>> {
    let mut current = op;
    for _ in 0..4 {
        let parent = parent_of(current)?;
        match parent.kind() {
            "communication_case" => {
                let comm = parent.child_by_field_name("communication")?;
                return if comm.id() == current.id() {
                    Some(parent)
                } else {
                    None
                };
            }
            "receive_statement" | "expression_list" | "parenthesized_expression" => {
                current = parent;
            }
            _ => return None,
        }
    }
    None
}

/// Terminating calls: the path ends without returning normally.
pub(crate) fn is_terminating_call(call: Node<'_>, src: &str) -> bool {
    match call_target(call, src) {
        Some((None, "panic")) => true,
        Some((Some(recv), name)) => {
            matches!(
                (recv, name),
                ("os", "Exit") | ("runtime", "Goexit") | ("syscall", "Exit")
            ) || (recv == "log" && name.starts_with("Fatal"))
                || (recv == "log" && name.starts_with("Panic"))
                || matches!(
                    name,
                    "Fatal" | "Fatalf" | "FailNow" | "SkipNow" | "Skip" | "Skipf"
                )
        }
        _ => false,
    }
}

/// Lines are 1-based, columns 1-based in bytes.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(src));
        LineIndex { starts }
    }

    /// Byte-based: for ordering and line lookups.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        (line + 1, offset.saturating_sub(start) + 1)
    }

    /// Column counted in Unicode code points, as editors, SARIF (`unicodeCodePoints`) and
    /// GitHub annotations expect; a line with non-ASCII text before the finding differs from
    /// the byte column.
    pub(crate) fn line_char_col(&self, src: &str, offset: usize) -> (usize, usize) {
        let (line, byte_col) = self.line_col(offset);
        let start = self.line_start(line);
        let column = src
            .get(start..start + byte_col - 1)
            .map(|prefix| prefix.chars().count() + 1)
            .unwrap_or(byte_col);
        (line, column)
    }

    pub(crate) fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn line_text<'s>(&self, src: &'s str, line: usize) -> &'s str {
        let start = self.line_start(line);
        let end = self
            .starts
            .get(line)
            .copied()
            .unwrap_or(src.len())
            .min(src.len());
        src.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

fn memchr_newlines(src: &str) -> impl Iterator<Item = usize> + '_ {
    src.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}
