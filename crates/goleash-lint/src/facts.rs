//! Per-file facts computed once and shared by every rule: imports under their local names,
//! the nodes rules start from, the local channel table and identifier escape.

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use crate::gomod::GoVersion;
use crate::syntax::{self, call_target, descendants, text, unparen};

pub const TIME: &str = "time";
pub const CONTEXT: &str = "context";
pub const HTTP: &str = "net/http";
pub const SYNC: &str = "sync";
pub const ERRGROUP: &str = "golang.org/x/sync/errgroup";
pub const SIGNAL: &str = "os/signal";

/// Local package names bound by the file's imports.
#[derive(Debug, Default)]
pub struct Imports {
    by_alias: FxHashMap<String, String>,
}

impl Imports {
    /// Is `name` (an identifier in the file) the local name of `path`?
    pub fn is(&self, name: &str, path: &str) -> bool {
        self.by_alias.get(name).map(String::as_str) == Some(path)
    }

    /// Is `name` bound by an import (so `name.X` is a package member, not a field)?
    pub fn is_alias(&self, name: &str) -> bool {
        self.by_alias.contains_key(name)
    }

    pub fn has(&self, path: &str) -> bool {
        self.by_alias.values().any(|p| p == path)
    }
}

/// How a local channel was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// `make(chan T)` or `make(chan T, 0)`.
    Unbuffered,
    /// `make(chan T, 3)`.
    Literal(u64),
    /// `make(chan T, n)`: only known at run time.
    Unknown,
    /// `var ch chan T`: the zero value, which blocks forever.
    Nil,
}

#[derive(Debug, Clone)]
pub struct Channel<'t> {
    pub name: String,
    /// The statement that declares it.
    pub decl: Node<'t>,
    /// The function (declaration or literal) whose body declares it.
    pub func: Node<'t>,
    pub capacity: Capacity,
}

/// What one occurrence of an identifier does with the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    Send,
    Receive,
    Range,
    Close,
    /// `len(ch)`, `cap(ch)`.
    Inspect,
    /// Left-hand side of an assignment or declaration.
    Assigned,
    /// The value leaves this function's sight: passed to a call, stored, returned, sent,
    /// aliased, address taken, or used from a callback another function runs.
    Escape,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct Use<'t> {
    pub node: Node<'t>,
    pub kind: UseKind,
    /// The operation node (`send_statement`, `unary_expression`, `call_expression`…).
    pub op: Node<'t>,
}

pub struct FileCx<'t> {
    pub src: &'t str,
    pub root: Node<'t>,
    pub package: String,
    pub is_test: bool,
    pub go_version: Option<GoVersion>,
    pub imports: Imports,
    pub functions: Vec<Node<'t>>,
    pub go_statements: Vec<Node<'t>>,
    pub calls: Vec<Node<'t>>,
    pub selects: Vec<Node<'t>>,
    pub for_statements: Vec<Node<'t>>,
    pub short_vars: Vec<Node<'t>>,
    pub if_statements: Vec<Node<'t>>,
    pub composite_literals: Vec<Node<'t>>,
    pub comments: Vec<Node<'t>>,
    pub channels: Vec<Channel<'t>>,
    /// Names (variables or struct fields) declared with a `sync` type in this file,
    /// e.g. "WaitGroup" -> {"wg"}; lets rules tell `wg.Wait()` from `cond.Wait()` without types.
    pub sync_names: FxHashMap<&'static str, FxHashSet<String>>,
    scopes: Scopes<'t>,
    /// Parents of nodes nested deeper than [`DEEP`]; see [`FileCx::parent`].
    deep_parents: FxHashMap<usize, Node<'t>>,
    /// Indexes into `channels` by the id of the declaring function: name resolution looks
    /// at one function's channels, not the file's.
    channels_by_func: FxHashMap<usize, Vec<usize>>,
    /// Function and method declarations by name, in file order.
    declarations: FxHashMap<&'t str, Vec<Node<'t>>>,
}

/// `Node::parent` costs O(depth): tree-sitter finds a parent by descending from the root.
/// Below this depth that is a small constant, so only deeper nodes get a parent entry, and
/// ordinary files (which never nest this deep) pay nothing in memory.
const DEEP: usize = 48;

const NO_SCOPE: u32 = u32::MAX;

/// A function or `for` statement, with what its ancestors imply, computed once on the way
/// down. tree-sitter nodes store no parent pointer (`Node::parent` descends from the root,
/// O(depth)), so climbing ancestors from every node of a deeply nested file costs O(depth²)
/// per node; rules ask these questions of this table instead.
#[derive(Debug, Clone)]
struct Scope<'t> {
    node: Node<'t>,
    is_loop: bool,
    /// The scope around this one.
    parent: u32,
    /// This scope if it is a function, else the function around it.
    func: u32,
    /// The innermost `func`/method declaration through any closures, this one included.
    decl: Option<Node<'t>>,
    /// This literal, or a literal around it, is the closure of an `X.Do(…)` call.
    once_do: bool,
    /// The `go` statement that launches this literal.
    go_stmt: Option<Node<'t>>,
    /// The innermost literal (this one included) passed as an argument or stored rather
    /// than launched, deferred or called on the spot.
    handed_off: u32,
    /// A context parameter of this function or of one around it.
    context: Option<&'t str>,
}

/// Scopes in pre-order plus, for byte-position lookups, the innermost scope from each
/// entry or exit offset on (offsets never decrease along a pre-order walk).
#[derive(Debug, Default)]
struct Scopes<'t> {
    list: Vec<Scope<'t>>,
    by_id: FxHashMap<usize, u32>,
    segments: Vec<(usize, u32)>,
}

impl<'t> Scopes<'t> {
    fn get(&self, index: u32) -> Option<&Scope<'t>> {
        self.list.get(index as usize)
    }

    /// The innermost scope strictly around `node`. Named nodes that start where a scope
    /// starts are that scope or its ancestors (a function or loop begins with an anonymous
    /// keyword), so such a scope does not contain them.
    fn around(&self, node: Node<'_>) -> Option<&Scope<'t>> {
        let at = node.start_byte();
        let segment = self
            .segments
            .partition_point(|s| s.0 <= at)
            .checked_sub(1)?;
        let mut scope = self.get(self.segments[segment].1)?;
        while scope.node.start_byte() == at {
            scope = self.get(scope.parent)?;
        }
        Some(scope)
    }

    fn function_around(&self, node: Node<'_>) -> Option<&Scope<'t>> {
        self.get(self.around(node)?.func)
    }

    fn of(&self, node: Node<'_>) -> Option<&Scope<'t>> {
        self.get(*self.by_id.get(&node.id())?)
    }
}

impl<'t> FileCx<'t> {
    pub fn new(src: &'t str, root: Node<'t>, is_test: bool, go_version: Option<GoVersion>) -> Self {
        let mut cx = FileCx {
            src,
            root,
            package: String::new(),
            is_test,
            go_version,
            imports: Imports::default(),
            functions: Vec::new(),
            go_statements: Vec::new(),
            calls: Vec::new(),
            selects: Vec::new(),
            for_statements: Vec::new(),
            short_vars: Vec::new(),
            if_statements: Vec::new(),
            composite_literals: Vec::new(),
            comments: Vec::new(),
            channels: Vec::new(),
            sync_names: FxHashMap::default(),
            scopes: Scopes::default(),
            deep_parents: FxHashMap::default(),
            channels_by_func: FxHashMap::default(),
            declarations: FxHashMap::default(),
        };
        let mut var_specs = Vec::new();
        let mut typed_names = Vec::new();
        // Numeric kind ids: this walk touches every node of every file, and comparing ids is
        // much cheaper than comparing kind names.
        let k = kinds();
        let mut ancestors: Vec<Node<'t>> = Vec::new();
        let mut open: Vec<u32> = Vec::new();
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            let id = node.kind_id();
            if id == k.function_declaration
                || id == k.method_declaration
                || id == k.func_literal
                || id == k.for_statement
            {
                cx.enter_scope(node, &ancestors, open.last().copied(), k);
                open.push(cx.scopes.list.len() as u32 - 1);
            }
            if node.is_named() {
                cx.collect(node, id, k, &mut var_specs, &mut typed_names);
            }
            if ancestors.len() >= DEEP {
                if let Some(&parent) = ancestors.last() {
                    cx.deep_parents.insert(node.id(), parent);
                }
            }
            ancestors.push(node);
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                let left = cursor.node();
                ancestors.pop();
                if let Some(&top) = open.last() {
                    if cx.scopes.list[top as usize].node.id() == left.id() {
                        open.pop();
                        let around = open.last().copied().unwrap_or(NO_SCOPE);
                        cx.scopes.segments.push((left.end_byte(), around));
                    }
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        // After the walk: `context_param` needs the imports, which ERROR recovery can place
        // anywhere. Pre-order puts every function after the functions around it.
        for index in 0..cx.scopes.list.len() {
            let scope = &cx.scopes.list[index];
            let inherited = cx
                .scopes
                .get(scope.parent)
                .and_then(|p| cx.scopes.get(p.func))
                .and_then(|f| f.context);
            let context = if scope.is_loop {
                inherited
            } else {
                crate::patterns::context_param(&cx, scope.node).or(inherited)
            };
            cx.scopes.list[index].context = context;
        }
        for decl in cx.short_vars.clone() {
            cx.record_short_var_channels(decl);
        }
        for spec in &var_specs {
            cx.record_var_spec_channels(*spec);
        }
        typed_names.extend(var_specs);
        for node in typed_names {
            cx.record_sync_typed(node);
        }
        for (index, channel) in cx.channels.iter().enumerate() {
            cx.channels_by_func
                .entry(channel.func.id())
                .or_default()
                .push(index);
        }
        for func in &cx.functions {
            if func.kind_id() != k.func_literal {
                if let Some(name) = syntax::function_name(*func, src) {
                    cx.declarations.entry(name).or_default().push(*func);
                }
            }
        }
        cx
    }

    /// Function and method declarations named `name`, in file order.
    pub fn declarations_named(&self, name: &str) -> &[Node<'t>] {
        self.declarations
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn collect(
        &mut self,
        node: Node<'t>,
        id: u16,
        k: &Kinds,
        var_specs: &mut Vec<Node<'t>>,
        typed_names: &mut Vec<Node<'t>>,
    ) {
        if id == k.call_expression {
            self.calls.push(node);
        } else if id == k.comment {
            self.comments.push(node);
        } else if id == k.function_declaration || id == k.method_declaration || id == k.func_literal
        {
            self.functions.push(node);
        } else if id == k.go_statement {
            self.go_statements.push(node);
        } else if id == k.short_var_declaration {
            self.short_vars.push(node);
        } else if id == k.if_statement {
            self.if_statements.push(node);
        } else if id == k.for_statement {
            self.for_statements.push(node);
        } else if id == k.select_statement {
            self.selects.push(node);
        } else if id == k.composite_literal {
            self.composite_literals.push(node);
        } else if id == k.var_spec {
            var_specs.push(node);
        } else if id == k.field_declaration || id == k.parameter_declaration {
            typed_names.push(node);
        } else if id == k.import_spec {
            self.record_import(node);
        } else if id == k.package_clause {
            if let Some(name) = node.named_child(0) {
                self.package = text(name, self.src).to_string();
            }
        }
    }

    /// Records a function or loop entered by the walk; `ancestors` ends with its parent.
    fn enter_scope(
        &mut self,
        node: Node<'t>,
        ancestors: &[Node<'t>],
        around: Option<u32>,
        k: &Kinds,
    ) {
        let index = self.scopes.list.len() as u32;
        let parent = around.unwrap_or(NO_SCOPE);
        let outer = self.scopes.get(parent).cloned();
        let id = node.kind_id();
        let is_loop = id == k.for_statement;
        let is_literal = id == k.func_literal;
        let up = |n: usize| ancestors.len().checked_sub(n).map(|i| ancestors[i]);
        let once_here = is_literal
            && up(2)
                .is_some_and(|call| matches!(call_target(call, self.src), Some((Some(_), "Do"))));
        let go_stmt = match (up(1), up(2)) {
            (Some(call), Some(go))
                if is_literal
                    && call.kind_id() == k.call_expression
                    && go.kind_id() == k.go_statement =>
            {
                Some(go)
            }
            _ => None,
        };
        let handed_off_here = is_literal
            && up(1).is_some_and(|p| {
                matches!(
                    p.kind(),
                    "argument_list" | "literal_element" | "keyed_element" | "expression_list"
                )
            });
        let decl = if id == k.function_declaration || id == k.method_declaration {
            Some(node)
        } else {
            outer.as_ref().and_then(|o| o.decl)
        };
        let inherited_handoff = outer.as_ref().map(|o| o.handed_off).unwrap_or(NO_SCOPE);
        self.scopes.list.push(Scope {
            node,
            is_loop,
            parent,
            func: match (&outer, is_loop) {
                (_, false) => index,
                (Some(o), true) => o.func,
                (None, true) => NO_SCOPE,
            },
            decl,
            once_do: once_here || outer.as_ref().is_some_and(|o| o.once_do),
            go_stmt,
            handed_off: if handed_off_here {
                index
            } else {
                inherited_handoff
            },
            context: None,
        });
        self.scopes.by_id.insert(node.id(), index);
        self.scopes.segments.push((node.start_byte(), index));
    }

    /// `node.parent()` in O(1) however deep the node is nested.
    pub fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        match self.deep_parents.get(&node.id()) {
            Some(parent) => Some(*parent),
            None => node.parent(),
        }
    }

    /// The innermost function (declaration or literal) around `node`.
    pub fn enclosing_function(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.scopes.function_around(node).map(|s| s.node)
    }

    /// The outermost declaration (func or method) around `node`, through any closures.
    pub fn enclosing_declaration(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.scopes.around(node).and_then(|s| s.decl)
    }

    /// Nearest `for` around `node` that belongs to the same function activation.
    pub fn enclosing_loop(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.scopes
            .around(node)
            .filter(|s| s.is_loop)
            .map(|s| s.node)
    }

    /// Inside a closure passed to `X.Do(…)` (sync.Once): runs once.
    pub fn inside_once_do(&self, node: Node<'_>) -> bool {
        self.scopes.around(node).is_some_and(|s| s.once_do)
    }

    /// The `go` statement that launches `literal`, if it is launched that way.
    pub fn launching_go(&self, literal: Node<'_>) -> Option<Node<'t>> {
        self.scopes.of(literal).and_then(|s| s.go_stmt)
    }

    /// Inside a `func` literal (below `scope`) that is passed as an argument or stored, rather
    /// than launched with `go`, deferred or called on the spot.
    fn in_handed_off_closure(&self, node: Node<'_>, scope: Node<'_>) -> bool {
        self.scopes
            .function_around(node)
            .and_then(|f| self.scopes.get(f.handed_off))
            .is_some_and(|h| h.node.id() != scope.id() && syntax::is_within(h.node, scope))
    }

    /// A context parameter of the function around `node` or of any function around that.
    pub fn context_in_scope(&self, node: Node<'_>) -> Option<&'t str> {
        self.scopes.function_around(node).and_then(|s| s.context)
    }

    /// Each `x, y := value, …` with its left side and its first value (parentheses undone):
    /// the shape of `t := time.NewTicker(d)` and `ctx, cancel := context.WithCancel(p)`.
    pub fn short_var_first_values(
        &self,
    ) -> impl Iterator<Item = (Node<'t>, Node<'t>, Node<'t>)> + '_ {
        self.short_vars.iter().filter_map(|&decl| {
            let left = decl.child_by_field_name("left")?;
            let value = decl.child_by_field_name("right")?.named_child(0)?;
            Some((decl, left, syntax::unparen(value)))
        })
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        text(node, self.src)
    }

    pub fn is_main_package(&self) -> bool {
        self.package == "main"
    }

    /// Go 1.23+ timer semantics: unreferenced timers are collected, channels are synchronous.
    /// Unknown versions count as new: a module without go.mod is built by a modern toolchain.
    pub fn new_timer_semantics(&self) -> bool {
        self.go_version.map(|v| v.at_least(1, 23)).unwrap_or(true)
    }

    fn record_import(&mut self, spec: Node<'t>) {
        let Some(path_node) = spec.child_by_field_name("path") else {
            return;
        };
        let path = self
            .text(path_node)
            .trim_matches(|c| c == '"' || c == '`')
            .to_string();
        let alias = match spec.child_by_field_name("name") {
            Some(name) if name.kind() == "package_identifier" => self.text(name).to_string(),
            Some(_) => return, // `_` and `.` imports bind no selector name
            None => path.rsplit('/').next().unwrap_or(&path).to_string(),
        };
        self.imports.by_alias.insert(alias, path);
    }

    /// `pkg.Name(...)` where `pkg` is the local name of import `path`: returns `Name`.
    pub fn pkg_call(&self, call: Node<'_>, path: &str) -> Option<&'t str> {
        if call.kind() != "call_expression" {
            return None;
        }
        let function = unparen(call.child_by_field_name("function")?);
        self.pkg_selector(function, path)
    }

    /// `pkg.Name` where `pkg` is the local name of import `path`: returns `Name`.
    pub fn pkg_selector(&self, node: Node<'_>, path: &str) -> Option<&'t str> {
        if node.kind() != "selector_expression" {
            return None;
        }
        let operand = node.child_by_field_name("operand")?;
        if operand.kind() != "identifier" || !self.imports.is(self.text(operand), path) {
            return None;
        }
        Some(self.text(node.child_by_field_name("field")?))
    }

    /// `pkg.Type`, `*pkg.Type` or `pkg.Type[...]` spelled as a type: returns `Type`.
    pub fn pkg_type(&self, ty: Node<'_>, path: &str) -> Option<&'t str> {
        let ty = match ty.kind() {
            "pointer_type" => ty.named_child(0)?,
            _ => ty,
        };
        if ty.kind() != "qualified_type" {
            return None;
        }
        let package = ty.child_by_field_name("package")?;
        if !self.imports.is(self.text(package), path) {
            return None;
        }
        Some(self.text(ty.child_by_field_name("name")?))
    }

    fn record_short_var_channels(&mut self, decl: Node<'t>) {
        let (Some(left), Some(right)) = (
            decl.child_by_field_name("left"),
            decl.child_by_field_name("right"),
        ) else {
            return;
        };
        let names = named_list(left);
        let values = named_list(right);
        if names.len() != values.len() {
            return;
        }
        for (name, value) in names.into_iter().zip(values) {
            if name.kind() != "identifier" {
                continue;
            }
            if let Some(capacity) = self.make_chan_capacity(value) {
                self.push_channel(name, decl, capacity);
            }
        }
    }

    fn record_var_spec_channels(&mut self, spec: Node<'t>) {
        let mut cursor = spec.walk();
        let names: Vec<Node<'t>> = spec.children_by_field_name("name", &mut cursor).collect();
        let values = spec
            .child_by_field_name("value")
            .map(named_list)
            .unwrap_or_default();
        let is_chan_type = spec
            .child_by_field_name("type")
            .map(|t| t.kind() == "channel_type")
            .unwrap_or(false);
        for (i, name) in names.into_iter().enumerate() {
            let capacity = match values.get(i) {
                Some(value) => self.make_chan_capacity(*value),
                None if values.is_empty() && is_chan_type => Some(Capacity::Nil),
                None => None,
            };
            if let Some(capacity) = capacity {
                self.push_channel(name, spec, capacity);
            }
        }
    }

    fn push_channel(&mut self, name: Node<'t>, decl: Node<'t>, capacity: Capacity) {
        // Package-level channels are shared state, not something one function can reason about.
        let Some(func) = self.enclosing_function(decl) else {
            return;
        };
        self.channels.push(Channel {
            name: self.text(name).to_string(),
            decl,
            func,
            capacity,
        });
    }

    /// `make(chan T[, n])` → its capacity.
    fn make_chan_capacity(&self, value: Node<'_>) -> Option<Capacity> {
        let value = unparen(value);
        if call_target(value, self.src)? != (None, "make") {
            return None;
        }
        let args = syntax::call_arguments(value);
        let ty = args.first()?;
        if ty.kind() != "channel_type" {
            return None;
        }
        Some(match args.get(1) {
            None => Capacity::Unbuffered,
            Some(cap) if cap.kind() == "int_literal" => {
                match self.text(*cap).replace('_', "").parse::<u64>() {
                    Ok(0) => Capacity::Unbuffered,
                    Ok(n) => Capacity::Literal(n),
                    Err(_) => Capacity::Unknown,
                }
            }
            Some(_) => Capacity::Unknown,
        })
    }

    fn record_sync_typed(&mut self, node: Node<'t>) {
        let Some(ty) = node.child_by_field_name("type") else {
            return;
        };
        let Some(type_name) = self.pkg_type(ty, SYNC) else {
            return;
        };
        let key: &'static str = match type_name {
            "WaitGroup" => "WaitGroup",
            "Cond" => "Cond",
            "Mutex" => "Mutex",
            "RWMutex" => "RWMutex",
            _ => return,
        };
        let mut cursor = node.walk();
        let names: Vec<String> = node
            .children_by_field_name("name", &mut cursor)
            .map(|n| self.text(n).to_string())
            .collect();
        self.sync_names.entry(key).or_default().extend(names);
    }

    /// Is the last component of `receiver` (`wg`, `s.wg`, `s.mu`) a name declared with
    /// the given sync type in this file, or bound to a matching constructor locally?
    pub fn is_sync_named(&self, receiver: &str, sync_type: &str) -> bool {
        let last = receiver
            .rsplit('.')
            .next()
            .unwrap_or(receiver)
            .trim_start_matches(['&', '*']);
        self.sync_names
            .get(sync_type)
            .map(|names| names.contains(last))
            .unwrap_or(false)
    }

    /// The local channel `expr` names, as seen from where `expr` appears.
    pub fn resolve_channel(&self, expr: Node<'_>) -> Option<&Channel<'t>> {
        let expr = unparen(expr);
        if expr.kind() != "identifier" {
            return None;
        }
        let name = self.text(expr);
        let mut scope = self.enclosing_function(expr);
        while let Some(func) = scope {
            let found = self
                .channels_by_func
                .get(&func.id())
                .into_iter()
                .flatten()
                .filter_map(|i| self.channels.get(*i))
                .filter(|c| {
                    c.func.id() == func.id()
                        && c.name == name
                        && c.decl.start_byte() <= expr.start_byte()
                })
                .max_by_key(|c| c.decl.start_byte());
            if found.is_some() {
                return found;
            }
            if func_declares_param(func, name, self.src) {
                return None;
            }
            scope = self.enclosing_function(func);
        }
        None
    }

    /// Every occurrence of `name` inside `scope` (closures included), classified.
    pub fn uses_in(&self, scope: Node<'t>, name: &str) -> Vec<Use<'t>> {
        descendants(scope)
            .filter(|n| n.kind() == "identifier" && self.text(*n) == name)
            .map(|n| self.classify_use(n, scope))
            .collect()
    }

    /// Uses of a local channel inside its declaring function (closures included), after its
    /// declaration.
    pub fn channel_uses(&self, channel: &Channel<'t>) -> Vec<Use<'t>> {
        let Some(body) = syntax::function_body(channel.func) else {
            return Vec::new();
        };
        self.uses_in(body, &channel.name)
            .into_iter()
            .filter(|u| u.node.start_byte() >= channel.decl.end_byte())
            .collect()
    }

    /// When `arg` (an identifier) is passed to a function declared once in this file —
    /// `worker(ch)` or `go worker(i, ch)` — the callee's body and the parameter that receives it.
    /// Lets a rule follow a channel into a named worker instead of giving up at the call.
    pub fn callee_param(&self, arg: Node<'t>) -> Option<(Node<'t>, &'t str)> {
        let list = self.parent(arg).filter(|p| p.kind() == "argument_list")?;
        let call = self.parent(list)?;
        let (receiver, name) = call_target(call, self.src)?;
        if receiver.is_some() {
            return None;
        }
        let mut cursor = list.walk();
        let index = list
            .named_children(&mut cursor)
            .position(|a| a.id() == arg.id())?;
        let mut candidates = self
            .declarations_named(name)
            .iter()
            .filter(|f| f.kind() == "function_declaration");
        let callee = *candidates.next()?;
        if candidates.next().is_some() {
            return None;
        }
        let params = callee.child_by_field_name("parameters")?;
        let mut names = Vec::new();
        let mut cursor = params.walk();
        for decl in params.named_children(&mut cursor) {
            if decl.kind() == "variadic_parameter_declaration" {
                return None;
            }
            if decl.kind() != "parameter_declaration" {
                continue;
            }
            let mut inner = decl.walk();
            names.extend(
                decl.children_by_field_name("name", &mut inner)
                    .map(|n| self.text(n)),
            );
        }
        let param = *names.get(index)?;
        Some((syntax::function_body(callee)?, param))
    }

    /// The first occurrence through which `name` leaves the function's sight, if any.
    pub fn first_escape(&self, uses: &[Use<'t>]) -> Option<Use<'t>> {
        uses.iter().copied().find(|u| u.kind == UseKind::Escape)
    }

    /// Unbuffered channels made and used in one function only (none escapes), with their
    /// uses: the channels whose every sender and receiver the file shows.
    pub fn local_unbuffered_channels(&self) -> Vec<(&Channel<'t>, Vec<Use<'t>>)> {
        self.channels
            .iter()
            .filter(|c| c.capacity == Capacity::Unbuffered)
            .map(|c| (c, self.channel_uses(c)))
            .filter(|(_, uses)| self.first_escape(uses).is_none())
            .collect()
    }

    fn classify_use(&self, ident: Node<'t>, scope: Node<'t>) -> Use<'t> {
        let mut child = ident;
        let mut parent = self.parent(ident);
        while let Some(p) = parent {
            if p.kind() == "parenthesized_expression" {
                child = p;
                parent = self.parent(p);
            } else {
                break;
            }
        }
        let Some(parent) = parent else {
            return Use {
                node: ident,
                kind: UseKind::Other,
                op: ident,
            };
        };
        let is_field =
            |field: &str| parent.child_by_field_name(field).map(|n| n.id()) == Some(child.id());
        let mut kind = match parent.kind() {
            "send_statement" if is_field("channel") => UseKind::Send,
            "send_statement" => UseKind::Escape,
            "unary_expression" => {
                match parent.child_by_field_name("operator").map(|o| self.text(o)) {
                    Some("<-") => UseKind::Receive,
                    Some("&") => UseKind::Escape,
                    _ => UseKind::Other,
                }
            }
            "range_clause" if is_field("right") => UseKind::Range,
            "range_clause" => UseKind::Assigned,
            "argument_list" => {
                let call = self.parent(parent);
                match call.and_then(|c| call_target(c, self.src)) {
                    Some((None, "close")) => UseKind::Close,
                    Some((None, "len" | "cap")) => UseKind::Inspect,
                    _ => UseKind::Escape,
                }
            }
            "expression_list" => match self.parent(parent) {
                Some(stmt)
                    if matches!(
                        stmt.kind(),
                        "short_var_declaration" | "assignment_statement"
                    ) && stmt.child_by_field_name("left").map(|l| l.id())
                        == Some(parent.id()) =>
                {
                    UseKind::Assigned
                }
                Some(stmt) if stmt.kind() == "range_clause" => UseKind::Assigned,
                Some(stmt)
                    if matches!(
                        stmt.kind(),
                        "short_var_declaration"
                            | "assignment_statement"
                            | "var_spec"
                            | "return_statement"
                    ) =>
                {
                    UseKind::Escape
                }
                Some(stmt) if stmt.kind() == "receive_statement" => UseKind::Assigned,
                _ => UseKind::Other,
            },
            "return_statement" | "literal_element" | "keyed_element" => UseKind::Escape,
            "var_spec" | "parameter_declaration" => UseKind::Assigned,
            _ => UseKind::Other,
        };
        // A closure handed to another function runs when that function decides; treat what
        // it does with the value as out of sight (closing still counts as closing).
        if kind != UseKind::Close
            && kind != UseKind::Escape
            && self.in_handed_off_closure(ident, scope)
        {
            kind = UseKind::Escape;
        }
        Use {
            node: ident,
            kind,
            op: parent,
        }
    }
}

/// The expressions of an `expression_list`, or the one expression given.
pub fn named_list(list: Node<'_>) -> Vec<Node<'_>> {
    if list.kind() != "expression_list" {
        return vec![list];
    }
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|n| n.kind() != "comment")
        .collect()
}

fn func_declares_param(func: Node<'_>, name: &str, src: &str) -> bool {
    ["parameters", "receiver", "result"].iter().any(|field| {
        func.child_by_field_name(field)
            .map(|list| descendants(list).any(|n| n.kind() == "identifier" && text(n, src) == name))
            .unwrap_or(false)
    })
}

/// The function literal a `go` statement launches, if it launches one.
pub fn go_literal(go_stmt: Node<'_>) -> Option<Node<'_>> {
    let call = go_stmt.named_child(0)?;
    if call.kind() != "call_expression" {
        return None;
    }
    let function = unparen(call.child_by_field_name("function")?);
    (function.kind() == "func_literal").then_some(function)
}

struct Kinds {
    call_expression: u16,
    comment: u16,
    function_declaration: u16,
    method_declaration: u16,
    func_literal: u16,
    go_statement: u16,
    short_var_declaration: u16,
    if_statement: u16,
    for_statement: u16,
    select_statement: u16,
    composite_literal: u16,
    var_spec: u16,
    field_declaration: u16,
    parameter_declaration: u16,
    import_spec: u16,
    package_clause: u16,
}

fn kinds() -> &'static Kinds {
    static KINDS: std::sync::OnceLock<Kinds> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let language = tree_sitter::Language::from(tree_sitter_go::LANGUAGE);
        // 0 never matches a named node, so an unknown kind simply collects nothing.
        let id = |name: &str| language.id_for_node_kind(name, true);
        Kinds {
            call_expression: id("call_expression"),
            comment: id("comment"),
            function_declaration: id("function_declaration"),
            method_declaration: id("method_declaration"),
            func_literal: id("func_literal"),
            go_statement: id("go_statement"),
            short_var_declaration: id("short_var_declaration"),
            if_statement: id("if_statement"),
            for_statement: id("for_statement"),
            select_statement: id("select_statement"),
            composite_literal: id("composite_literal"),
            var_spec: id("var_spec"),
            field_declaration: id("field_declaration"),
            parameter_declaration: id("parameter_declaration"),
            import_spec: id("import_spec"),
            package_clause: id("package_clause"),
        }
    })
}
