//! Syntax-tree helpers shared by the overlay and the attribution of test names.

use tree_sitter::Node;

/// Visits `root` and its descendants in source order with a cursor, not recursion (generated
/// test files nest deeper than a thread's stack); `visit` returns false to skip a node's children.
pub(crate) fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    let mut descend = visit(root);
    loop {
        if descend && cursor.goto_first_child() {
            descend = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.node().id() == root.id() {
                return;
            }
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}
