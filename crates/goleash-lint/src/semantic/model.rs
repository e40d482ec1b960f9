//! The package-wide semantic model: declarations, syntactic types, functions with their
//! bindings, and every concurrency operation indexed by the identity of the object it acts on.
//!
//! There is no type checker here. Types are what the source spells: a field declared
//! `mu sync.Mutex`, a local `x := &T{}` or `x := NewT()` (when `NewT` is declared in the package
//! with a spelled result type), a parameter `s *Server`. An expression whose type cannot be read
//! this way resolves to nothing, and rules treat nothing as "unknown, stay quiet".

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use crate::facts::{named_list, FileCx, CONTEXT, SYNC, TIME};
use crate::syntax::{self, descendants_same_func, text, unparen};

pub(crate) type FuncId = usize;

/// Package-level types rules care about. Pointers are stripped: `*T` and `T` name the same
/// object kind for every question asked here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// A type declared in this package.
    Named(String),
    Mutex,
    RwMutex,
    WaitGroup,
    Cond,
    Chan,
    Ticker,
    Timer,
    /// `context.CancelFunc` (or `CancelCauseFunc`).
    CancelFunc,
    /// A map, slice or array: indexing or ranging yields the element type.
    Container(Box<Ty>),
    Unknown,
}

impl Ty {
    pub fn is_lock(&self) -> bool {
        matches!(self, Ty::Mutex | Ty::RwMutex)
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub embedded: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TypeDecl {
    pub fields: Vec<Field>,
}

/// Where a value lives, relative to the function that names it. Receivers and parameters
/// belong to a function, so a summary of a callee can be translated into its caller's terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Root {
    Recv(FuncId),
    Param(FuncId, usize),
    Local(FuncId, String),
    Global(String),
}

/// An access path: a root and the fields selected from it (`s.conn.mu` is `Recv(m)` +
/// `[conn, mu]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub root: Root,
    pub fields: Vec<String>,
}

/// The identity of an object across instances: the field of a type, a package variable, or a
/// local of one function. Two places with the same key may be different instances; two equal
/// places are the same instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjKey {
    Field(String, String),
    Global(String),
    Local(FuncId, String),
}

impl ObjKey {
    pub fn describe(&self, model: &PackageModel<'_>) -> String {
        match self {
            ObjKey::Field(ty, field) => format!("({ty}).{field}"),
            ObjKey::Global(name) => name.clone(),
            ObjKey::Local(func, name) => format!("{name} (local of {})", model.funcs[*func].name),
        }
    }

    /// Other packages can name it: exported fields and package variables.
    pub fn is_exported(&self) -> bool {
        let name = match self {
            ObjKey::Field(_, f) => f,
            ObjKey::Global(g) => g,
            ObjKey::Local(..) => return false,
        };
        name.chars().next().is_some_and(char::is_uppercase)
    }
}

/// A place, its syntactic type, and its cross-instance identity when it has one.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub place: Place,
    pub ty: Ty,
    pub key: Option<ObjKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Lock,
    RLock,
    Unlock,
    RUnlock,
    Send,
    Recv,
    Range,
    Close,
    /// `make(chan …)` assigned to the object.
    Make,
    WgAdd,
    WgDone,
    WgWait,
    CondWait,
    Signal,
    Broadcast,
    /// `t.Stop()` on a `time.Ticker` or `time.Timer`.
    Stop,
    /// Calling a `context.CancelFunc`.
    Cancel,
}

#[derive(Debug, Clone)]
pub struct Op<'t> {
    pub kind: OpKind,
    pub func: FuncId,
    pub node: Node<'t>,
    pub target: Resolved,
    /// The `select` statement when this send/receive is one of its cases.
    pub select: Option<Node<'t>>,
    /// `make(chan T, n)`: the literal capacity, when spelled as one.
    pub capacity: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Func<'t> {
    pub file: usize,
    pub node: Node<'t>,
    pub body: Option<Node<'t>>,
    /// As the runtime spells it, near enough for messages: `(*T).m`, `f`, `f.func1`.
    pub name: String,
    pub recv: Option<(String, Ty)>,
    pub params: Vec<(String, Ty)>,
    pub results: Vec<Ty>,
    pub parent: Option<FuncId>,
    /// Started by a `go` statement (`go func(){…}()` or `go f()` for a literal bound to `f`).
    pub launched_by_go: bool,
    /// Every `go` statement of the package that starts this function, literal or named
    /// (`go s.loop()`): the goroutine contexts it runs in.
    pub started_by: Vec<(usize, Node<'t>)>,
    /// Locals declared in this function's own body (closures keep theirs).
    pub locals: FxHashMap<String, Ty>,
    /// `f := func(){…}` in this function's body.
    pub local_funcs: FxHashMap<String, FuncId>,
    /// `ch := s.ch` used only for channel operations: the local is the field.
    pub aliases: FxHashMap<String, ObjKey>,
    /// `f := s.handle` or `cb := e.Callback`, never reassigned: a call `f()` runs what the
    /// selector names (a method value or a function stored in a field).
    pub func_values: FxHashMap<String, Node<'t>>,
}

/// What the package stores in a function-typed struct field (`s.onClose = s.cleanup`,
/// `&T{cb: func(){…}}`): a call through the field runs it when every store agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredFunc {
    /// A function or closure; or a method with a receiver the store does not tie to the
    /// field's owner (`self_bound` false).
    Func { id: FuncId, self_bound: bool },
    /// Stores disagree, or store something this model cannot name.
    Unknown,
}

pub struct PkgFile<'t> {
    pub path: &'t str,
    pub cx: &'t FileCx<'t>,
}

pub struct PackageModel<'t> {
    pub files: Vec<PkgFile<'t>>,
    pub types: FxHashMap<String, TypeDecl>,
    pub funcs: Vec<Func<'t>>,
    pub functions_by_name: FxHashMap<String, FuncId>,
    pub methods: FxHashMap<(String, String), FuncId>,
    pub globals: FxHashMap<String, Ty>,
    /// Package-level `var f = func(){…}`.
    pub global_funcs: FxHashMap<String, FuncId>,
    func_of_node: FxHashMap<(usize, usize), FuncId>,
    pub ops: Vec<Op<'t>>,
    /// `ops` indices per object and per function, so rules never scan every operation.
    ops_by_key: FxHashMap<ObjKey, Vec<usize>>,
    ops_by_func: FxHashMap<FuncId, Vec<usize>>,
    /// Uses of a keyed object that are not operations: handed out, stored, aliased. An object
    /// with escapes may have partners this package cannot see.
    pub escapes: FxHashMap<ObjKey, Vec<(FuncId, Node<'t>)>>,
    /// Field names selected from an operand whose type could not be read: any field of that
    /// name may be used there.
    pub untyped_field_uses: FxHashMap<String, UntypedUses>,
    ambiguous: rustc_hash::FxHashSet<String>,
    /// Interface types declared in the package.
    interfaces: rustc_hash::FxHashSet<String>,
    /// Method name → the package types that have a method of that name.
    implementers: FxHashMap<String, Vec<String>>,
    /// Objects handed out only as `<-chan`: others may receive from them, never send or close.
    pub receive_only_escapes: rustc_hash::FxHashSet<ObjKey>,
    /// Selectors that initialise an alias local (`ch := s.ch`): not escapes.
    alias_sources: rustc_hash::FxHashSet<(usize, usize)>,
    ambiguous_methods: rustc_hash::FxHashSet<(String, String)>,
    /// Function-typed fields, keyed by (type, field): what the package stores in them.
    stored_funcs: FxHashMap<(String, String), StoredFunc>,
}

/// What code did with `x.f` where `x`'s type could not be read: per field name.
#[derive(Debug, Clone, Copy, Default)]
pub struct UntypedUses {
    pub send: bool,
    pub recv: bool,
    pub close: bool,
    /// Anything else: passed, stored, a method called on it.
    pub other: bool,
}

/// Limits that keep the model bounded on generated or hostile input.
const MAX_FUNCS: usize = 200_000;
const MAX_PATH_FIELDS: usize = 8;

impl<'t> PackageModel<'t> {
    pub fn build(files: Vec<PkgFile<'t>>) -> Self {
        let mut model = PackageModel {
            files,
            types: FxHashMap::default(),
            funcs: Vec::new(),
            functions_by_name: FxHashMap::default(),
            methods: FxHashMap::default(),
            globals: FxHashMap::default(),
            global_funcs: FxHashMap::default(),
            func_of_node: FxHashMap::default(),
            ops: Vec::new(),
            ops_by_key: FxHashMap::default(),
            ops_by_func: FxHashMap::default(),
            escapes: FxHashMap::default(),
            untyped_field_uses: FxHashMap::default(),
            ambiguous: Default::default(),
            interfaces: Default::default(),
            implementers: FxHashMap::default(),
            alias_sources: Default::default(),
            receive_only_escapes: Default::default(),
            ambiguous_methods: Default::default(),
            stored_funcs: FxHashMap::default(),
        };
        for file in 0..model.files.len() {
            model.collect_declarations(file);
        }
        for file in 0..model.files.len() {
            model.collect_functions(file);
        }
        for name in std::mem::take(&mut model.ambiguous) {
            model.functions_by_name.remove(&name);
        }
        for key in std::mem::take(&mut model.ambiguous_methods) {
            model.methods.remove(&key);
        }
        for (ty, method) in model.methods.keys() {
            model
                .implementers
                .entry(method.clone())
                .or_default()
                .push(ty.clone());
        }
        for func in 0..model.funcs.len() {
            model.collect_locals(func);
        }
        for func in 0..model.funcs.len() {
            model.collect_stored_funcs(func);
        }
        for func in 0..model.funcs.len() {
            model.collect_ops(func);
        }
        for file in 0..model.files.len() {
            model.collect_goroutine_starts(file);
        }
        for (i, op) in model.ops.iter().enumerate() {
            if let Some(key) = &op.target.key {
                model.ops_by_key.entry(key.clone()).or_default().push(i);
            }
            model.ops_by_func.entry(op.func).or_default().push(i);
        }
        model
    }

    pub fn cx(&self, file: usize) -> &'t FileCx<'t> {
        self.files[file].cx
    }

    pub fn src(&self, file: usize) -> &'t str {
        self.files[file].cx.src
    }

    pub fn text(&self, file: usize, node: Node<'_>) -> &'t str {
        text(node, self.src(file))
    }

    pub fn func_of(&self, file: usize, node: Node<'_>) -> Option<FuncId> {
        self.func_of_node.get(&(file, node.id())).copied()
    }

    /// The function (declaration or literal) whose own activation runs `node`.
    pub fn enclosing_func(&self, file: usize, node: Node<'_>) -> Option<FuncId> {
        self.cx(file)
            .enclosing_function(node)
            .and_then(|n| self.func_of(file, n))
    }

    // ---- declarations -------------------------------------------------------------------

    fn collect_declarations(&mut self, file: usize) {
        let cx = self.cx(file);
        let mut cursor = cx.root.walk();
        for decl in cx.root.named_children(&mut cursor) {
            match decl.kind() {
                "type_declaration" => {
                    let mut c = decl.walk();
                    for spec in decl.named_children(&mut c) {
                        if spec.kind() != "type_spec" {
                            continue;
                        }
                        let (Some(name), Some(ty)) = (
                            spec.child_by_field_name("name"),
                            spec.child_by_field_name("type"),
                        ) else {
                            continue;
                        };
                        let name = text(name, cx.src).to_string();
                        if ty.kind() == "interface_type" {
                            self.interfaces.insert(name.clone());
                        }
                        let mut nested = Vec::new();
                        let decl = self.struct_decl(file, ty, &name, &mut nested);
                        self.types.insert(name, decl);
                        self.types.extend(nested);
                    }
                }
                "var_declaration" => {
                    let mut c = decl.walk();
                    for spec in decl.named_children(&mut c) {
                        if spec.kind() == "var_spec" {
                            self.record_global_spec(file, spec);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The fields of a struct type. A field of an anonymous struct type (`mu struct {
    /// sync.Mutex; m map[K]V }`) gets a type of its own, named `Owner.field`, in `nested`.
    fn struct_decl(
        &self,
        file: usize,
        ty: Node<'_>,
        owner: &str,
        nested: &mut Vec<(String, TypeDecl)>,
    ) -> TypeDecl {
        let mut out = TypeDecl::default();
        if ty.kind() != "struct_type" {
            return out;
        }
        let Some(list) = ty.named_child(0) else {
            return out;
        };
        let mut cursor = list.walk();
        for field in list.named_children(&mut cursor) {
            if field.kind() != "field_declaration" {
                continue;
            }
            let Some(fty) = field.child_by_field_name("type") else {
                continue;
            };
            let mut resolved = self.type_of_spelling(file, fty);
            let mut names = Vec::new();
            let mut c = field.walk();
            for child in field.children_by_field_name("name", &mut c) {
                names.push(self.text(file, child).to_string());
            }
            let inline = match fty.kind() {
                "pointer_type" => fty.named_child(0).filter(|t| t.kind() == "struct_type"),
                "struct_type" => Some(fty),
                _ => None,
            };
            if let (Some(inline), [name]) = (inline, names.as_slice()) {
                // Bounded: hostile input may nest anonymous structs thousands deep.
                if nested.len() < 1024 && owner.matches('.').count() < 16 {
                    let synthetic = format!("{owner}.{name}");
                    let decl = self.struct_decl(file, inline, &synthetic, nested);
                    nested.push((synthetic.clone(), decl));
                    resolved = Ty::Named(synthetic);
                }
            }
            if names.is_empty() {
                // Embedded: the field's name is the type's own name.
                let base = match fty.kind() {
                    "pointer_type" => fty.named_child(0).unwrap_or(fty),
                    _ => fty,
                };
                let name = match base.kind() {
                    "qualified_type" => base
                        .child_by_field_name("name")
                        .map(|n| self.text(file, n).to_string()),
                    "type_identifier" => Some(self.text(file, base).to_string()),
                    "generic_type" => base
                        .child_by_field_name("type")
                        .map(|n| self.text(file, n).to_string()),
                    _ => None,
                };
                if let Some(name) = name {
                    out.fields.push(Field {
                        name,
                        ty: resolved,
                        embedded: true,
                    });
                }
            } else {
                for name in names {
                    out.fields.push(Field {
                        name,
                        ty: resolved.clone(),
                        embedded: false,
                    });
                }
            }
        }
        out
    }

    /// The type a spelled type names.
    pub fn type_of_spelling(&self, file: usize, ty: Node<'_>) -> Ty {
        let cx = self.cx(file);
        let base = match ty.kind() {
            "pointer_type" | "parenthesized_type" => match ty.named_child(0) {
                Some(inner) => return self.type_of_spelling(file, inner),
                None => return Ty::Unknown,
            },
            _ => ty,
        };
        match base.kind() {
            "channel_type" => Ty::Chan,
            "map_type" => base
                .child_by_field_name("value")
                .map(|v| Ty::Container(Box::new(self.type_of_spelling(file, v))))
                .unwrap_or(Ty::Unknown),
            "slice_type" | "array_type" => base
                .child_by_field_name("element")
                .map(|v| Ty::Container(Box::new(self.type_of_spelling(file, v))))
                .unwrap_or(Ty::Unknown),
            "type_identifier" => Ty::Named(text(base, cx.src).to_string()),
            "generic_type" => base
                .child_by_field_name("type")
                .map(|n| Ty::Named(text(n, cx.src).to_string()))
                .unwrap_or(Ty::Unknown),
            "qualified_type" => {
                if let Some(name) = cx.pkg_type(base, SYNC) {
                    match name {
                        "Mutex" => Ty::Mutex,
                        "RWMutex" => Ty::RwMutex,
                        "WaitGroup" => Ty::WaitGroup,
                        "Cond" => Ty::Cond,
                        _ => Ty::Unknown,
                    }
                } else if let Some(name) = cx.pkg_type(base, CONTEXT) {
                    match name {
                        "CancelFunc" | "CancelCauseFunc" => Ty::CancelFunc,
                        _ => Ty::Unknown,
                    }
                } else {
                    match cx.pkg_type(base, TIME) {
                        Some("Ticker") => Ty::Ticker,
                        Some("Timer") => Ty::Timer,
                        _ => Ty::Unknown,
                    }
                }
            }
            _ => Ty::Unknown,
        }
    }

    fn record_global_spec(&mut self, file: usize, spec: Node<'t>) {
        let cx = self.cx(file);
        let mut c = spec.walk();
        let names: Vec<Node<'t>> = spec.children_by_field_name("name", &mut c).collect();
        let declared = spec
            .child_by_field_name("type")
            .map(|t| self.type_of_spelling(file, t));
        let values = spec
            .child_by_field_name("value")
            .map(named_list)
            .unwrap_or_default();
        for (i, name) in names.iter().enumerate() {
            let name = text(*name, cx.src).to_string();
            let ty = match &declared {
                Some(t) => t.clone(),
                None => values
                    .get(i)
                    .map(|v| self.type_of_value_shallow(file, *v))
                    .unwrap_or(Ty::Unknown),
            };
            self.globals.insert(name, ty);
        }
    }

    /// A value's type from its spelling alone (no bindings): `&T{}`, `T{}`, `make(chan …)`,
    /// `sync.NewCond(…)`, `time.NewTicker(…)`.
    fn type_of_value_shallow(&self, file: usize, value: Node<'_>) -> Ty {
        let cx = self.cx(file);
        let value = unparen(value);
        match value.kind() {
            "unary_expression" => value
                .child_by_field_name("operand")
                .map(|o| self.type_of_value_shallow(file, o))
                .unwrap_or(Ty::Unknown),
            "composite_literal" => value
                .child_by_field_name("type")
                .map(|t| self.type_of_spelling(file, t))
                .unwrap_or(Ty::Unknown),
            "call_expression" => {
                if let Some(name) = cx.pkg_call(value, SYNC) {
                    return if name == "NewCond" {
                        Ty::Cond
                    } else {
                        Ty::Unknown
                    };
                }
                match cx.pkg_call(value, TIME) {
                    Some("NewTicker") => return Ty::Ticker,
                    Some("NewTimer" | "AfterFunc") => return Ty::Timer,
                    _ => {}
                }
                match syntax::call_target(value, cx.src) {
                    Some((None, "make" | "new")) => syntax::call_arguments(value)
                        .first()
                        .map(|t| self.type_of_spelling(file, *t))
                        .unwrap_or(Ty::Unknown),
                    Some((None, name)) => self
                        .functions_by_name
                        .get(name)
                        .and_then(|f| self.funcs[*f].results.first().cloned())
                        .unwrap_or(Ty::Unknown),
                    _ => Ty::Unknown,
                }
            }
            _ => Ty::Unknown,
        }
    }

    // ---- functions ------------------------------------------------------------------------

    fn collect_functions(&mut self, file: usize) {
        let cx = self.cx(file);
        // Closures are numbered per outermost declaration, in source order, like the
        // compiler's `f.func1`, so messages match what a goroutine dump shows.
        let mut closure_counter: FxHashMap<FuncId, usize> = FxHashMap::default();
        for &node in &cx.functions {
            if self.funcs.len() >= MAX_FUNCS {
                return;
            }
            let id = self.funcs.len();
            // The file's scope table answers in O(1); climbing parents is O(depth) per step.
            let parent = cx
                .enclosing_function(node)
                .and_then(|n| self.func_of(file, n));
            let (name, recv) = match node.kind() {
                "function_declaration" => {
                    let name = syntax::function_name(node, cx.src)
                        .unwrap_or("_")
                        .to_string();
                    (name, None)
                }
                "method_declaration" => {
                    let method = syntax::function_name(node, cx.src).unwrap_or("_");
                    let recv = node
                        .child_by_field_name("receiver")
                        .and_then(|list| list.named_child(0))
                        .and_then(|decl| {
                            let ty = decl.child_by_field_name("type")?;
                            let pointer = ty.kind() == "pointer_type";
                            let resolved = self.type_of_spelling(file, ty);
                            let name = decl
                                .child_by_field_name("name")
                                .map(|n| text(n, cx.src).to_string())
                                .unwrap_or_else(|| "_".to_string());
                            Some((name, resolved, pointer))
                        });
                    let type_name = match &recv {
                        Some((_, Ty::Named(t), pointer)) => {
                            if *pointer {
                                format!("(*{t})")
                            } else {
                                t.clone()
                            }
                        }
                        _ => "?".to_string(),
                    };
                    (
                        format!("{type_name}.{method}"),
                        recv.map(|(n, t, _)| (n, t)),
                    )
                }
                _ => {
                    let outer = parent.map(|p| self.outermost(p));
                    let name = match outer {
                        Some(outer) => {
                            let count = closure_counter.entry(outer).or_insert(0);
                            *count += 1;
                            let parent_name = parent
                                .map(|p| self.funcs[p].name.clone())
                                .unwrap_or_default();
                            if parent == Some(outer) {
                                format!("{parent_name}.func{count}")
                            } else {
                                format!("{parent_name}.{count}")
                            }
                        }
                        None => "glob.func".to_string(),
                    };
                    (name, None)
                }
            };
            let params = self.params_of(file, node);
            let results = node
                .child_by_field_name("result")
                .map(|r| {
                    if r.kind() == "parameter_list" {
                        let mut c = r.walk();
                        r.named_children(&mut c)
                            .filter_map(|d| d.child_by_field_name("type"))
                            .map(|t| self.type_of_spelling(file, t))
                            .collect()
                    } else {
                        vec![self.type_of_spelling(file, r)]
                    }
                })
                .unwrap_or_default();
            let launched_by_go = cx.launching_go(node).is_some();
            self.funcs.push(Func {
                file,
                node,
                body: node.child_by_field_name("body"),
                name: name.clone(),
                recv,
                params,
                results,
                parent,
                launched_by_go,
                started_by: Vec::new(),
                locals: FxHashMap::default(),
                local_funcs: FxHashMap::default(),
                aliases: FxHashMap::default(),
                func_values: FxHashMap::default(),
            });
            self.func_of_node.insert((file, node.id()), id);
            match node.kind() {
                "function_declaration" => {
                    // Build-constrained files (`_linux.go`, `//go:build`) may each declare the
                    // same function: which one runs is unknown, so the name resolves to none.
                    if self.functions_by_name.insert(name.clone(), id).is_some() {
                        self.ambiguous.insert(name);
                    }
                }
                "method_declaration" => {
                    if let Some((_, Ty::Named(t))) = &self.funcs[id].recv {
                        let method = syntax::function_name(node, cx.src).unwrap_or("_");
                        let key = (t.clone(), method.to_string());
                        if self.methods.insert(key.clone(), id).is_some() {
                            self.ambiguous_methods.insert(key);
                        }
                    }
                }
                _ => {
                    // `var f = func(){…}` at package level.
                    if parent.is_none() {
                        if let Some(name) = bound_name(node, cx.src) {
                            self.global_funcs.insert(name.to_string(), id);
                        }
                    }
                }
            }
        }
    }

    fn outermost(&self, mut func: FuncId) -> FuncId {
        while let Some(p) = self.funcs[func].parent {
            func = p;
        }
        func
    }

    fn params_of(&self, file: usize, func: Node<'_>) -> Vec<(String, Ty)> {
        let mut out = Vec::new();
        let Some(list) = func.child_by_field_name("parameters") else {
            return out;
        };
        let mut cursor = list.walk();
        for decl in list.named_children(&mut cursor) {
            if !matches!(
                decl.kind(),
                "parameter_declaration" | "variadic_parameter_declaration"
            ) {
                continue;
            }
            let ty = decl
                .child_by_field_name("type")
                .map(|t| self.type_of_spelling(file, t))
                .unwrap_or(Ty::Unknown);
            let mut c = decl.walk();
            let names: Vec<String> = decl
                .children_by_field_name("name", &mut c)
                .map(|n| self.text(file, n).to_string())
                .collect();
            if names.is_empty() {
                out.push(("_".to_string(), ty));
            } else {
                for n in names {
                    out.push((n, ty.clone()));
                }
            }
        }
        out
    }

    fn collect_locals(&mut self, func: FuncId) {
        let Some(body) = self.funcs[func].body else {
            return;
        };
        let file = self.funcs[func].file;
        let mut locals: FxHashMap<String, Ty> = FxHashMap::default();
        let mut local_funcs = FxHashMap::default();
        let mut candidates: Vec<(String, ObjKey, Node<'t>)> = Vec::new();
        let mut func_values: FxHashMap<String, Node<'t>> = FxHashMap::default();
        let mut reassigned: rustc_hash::FxHashSet<&'t str> = Default::default();
        for node in descendants_same_func(body) {
            match node.kind() {
                "short_var_declaration" | "assignment_statement" => {
                    // `x = v` assigns a variable declared elsewhere (maybe a package
                    // variable); only `:=` declares one here.
                    if node.kind() != "short_var_declaration" {
                        if let Some(left) = node.child_by_field_name("left") {
                            for name in named_list(left) {
                                if name.kind() == "identifier" {
                                    reassigned.insert(text(name, self.src(file)));
                                }
                            }
                        }
                        continue;
                    }
                    let (Some(left), Some(right)) = (
                        node.child_by_field_name("left"),
                        node.child_by_field_name("right"),
                    ) else {
                        continue;
                    };
                    let names = named_list(left);
                    let values = named_list(right);
                    if names.len() != values.len() {
                        // `x, err := NewX()`: the call's results, in order.
                        if values.len() == 1 {
                            let mut results = self.results_of_call(func, values[0], &locals);
                            if unparen(values[0]).kind() == "index_expression" {
                                results = vec![self.type_of_value(func, values[0], &locals)];
                            }
                            for (i, name) in names.iter().enumerate() {
                                if name.kind() == "identifier" {
                                    let ty = results.get(i).cloned().unwrap_or(Ty::Unknown);
                                    locals
                                        .entry(self.text(file, *name).to_string())
                                        .or_insert(ty);
                                }
                            }
                        }
                        continue;
                    }
                    for (name, value) in names.into_iter().zip(values) {
                        if name.kind() != "identifier" {
                            continue;
                        }
                        let name = self.text(file, name).to_string();
                        let value = unparen(value);
                        if value.kind() == "func_literal" {
                            if let Some(id) = self.func_of(file, value) {
                                local_funcs.insert(name.clone(), id);
                            }
                        }
                        if value.kind() == "selector_expression" {
                            func_values.entry(name.clone()).or_insert(value);
                        }
                        let ty = self.type_of_value(func, value, &locals);
                        if ty == Ty::Chan && value.kind() == "selector_expression" {
                            if let Some(Resolved {
                                key: Some(key @ ObjKey::Field(..)),
                                ..
                            }) = self.resolve_with(func, value, Some(&locals))
                            {
                                candidates.push((name.clone(), key, value));
                            }
                        }
                        locals.entry(name).or_insert(ty);
                    }
                }
                "var_spec" => {
                    let mut c = node.walk();
                    let names: Vec<Node<'t>> =
                        node.children_by_field_name("name", &mut c).collect();
                    let declared = node
                        .child_by_field_name("type")
                        .map(|t| self.type_of_spelling(file, t));
                    let values = node
                        .child_by_field_name("value")
                        .map(named_list)
                        .unwrap_or_default();
                    for (i, name) in names.iter().enumerate() {
                        let ty = match &declared {
                            Some(t) => t.clone(),
                            None => values
                                .get(i)
                                .map(|v| self.type_of_value(func, *v, &locals))
                                .unwrap_or(Ty::Unknown),
                        };
                        let name = self.text(file, *name).to_string();
                        if let Some(value) = values.get(i).map(|v| unparen(*v)) {
                            if ty == Ty::Chan && value.kind() == "selector_expression" {
                                if let Some(Resolved {
                                    key: Some(key @ ObjKey::Field(..)),
                                    ..
                                }) = self.resolve_with(func, value, Some(&locals))
                                {
                                    candidates.push((name.clone(), key, value));
                                }
                            }
                        }
                        locals.insert(name, ty);
                    }
                }
                "range_clause" => {
                    // `for _, x := range xs`: x is an element of xs when its type is spelled;
                    // every other name bound here shadows outer ones with an unknown type.
                    let element = node
                        .child_by_field_name("right")
                        .and_then(|r| self.resolve_with(func, r, Some(&locals)))
                        .and_then(|r| match r.ty {
                            Ty::Container(inner) => Some(*inner),
                            _ => None,
                        });
                    if let Some(left) = node.child_by_field_name("left") {
                        for (i, name) in named_list(left).into_iter().enumerate() {
                            if name.kind() == "identifier" {
                                let ty = match (i, &element) {
                                    (1, Some(t)) => t.clone(),
                                    _ => Ty::Unknown,
                                };
                                locals
                                    .entry(self.text(file, name).to_string())
                                    .or_insert(ty);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let src = self.src(file);
        for (name, key, source) in candidates {
            let only_operations = syntax::descendants(body)
                .filter(|n| n.kind() == "identifier" && text(*n, src) == name)
                .all(|n| alias_use_ok(n, self.cx(file)));
            if only_operations {
                self.funcs[func].aliases.insert(name, key);
                self.alias_sources.insert((file, source.id()));
            }
        }
        func_values.retain(|name, _| !reassigned.contains(name.as_str()));
        self.funcs[func].locals = locals;
        self.funcs[func].local_funcs = local_funcs;
        self.funcs[func].func_values = func_values;
    }

    /// Records what each function-typed field is set to, from assignments (`s.cb = …`) and
    /// keyed composite literals (`T{cb: …}`, `&T{cb: …}`).
    fn collect_stored_funcs(&mut self, func: FuncId) {
        let Some(body) = self.funcs[func].body else {
            return;
        };
        let file = self.funcs[func].file;
        let mut stores: Vec<((String, String), StoredFunc)> = Vec::new();
        for node in descendants_same_func(body) {
            match node.kind() {
                "assignment_statement" => {
                    let (Some(left), Some(right)) = (
                        node.child_by_field_name("left"),
                        node.child_by_field_name("right"),
                    ) else {
                        continue;
                    };
                    let (lefts, rights) = (named_list(left), named_list(right));
                    if lefts.len() != rights.len() {
                        continue;
                    }
                    for (target, value) in lefts.into_iter().zip(rights) {
                        let target = unparen(target);
                        if target.kind() != "selector_expression" {
                            continue;
                        }
                        let Some(Resolved {
                            key: Some(ObjKey::Field(ty, field)),
                            place,
                            ..
                        }) = self.resolve(func, target)
                        else {
                            continue;
                        };
                        if let Some(stored) = self.stored_func(func, value, Some(&place)) {
                            stores.push(((ty, field), stored));
                        }
                    }
                }
                "composite_literal" => {
                    let Some(Ty::Named(ty)) = node
                        .child_by_field_name("type")
                        .map(|t| self.type_of_spelling(file, t))
                    else {
                        continue;
                    };
                    let Some(elements) = node.child_by_field_name("body") else {
                        continue;
                    };
                    let mut c = elements.walk();
                    for element in elements.named_children(&mut c) {
                        if element.kind() != "keyed_element" {
                            continue;
                        }
                        let (Some(key), Some(value)) = (
                            element.child_by_field_name("key"),
                            element.child_by_field_name("value"),
                        ) else {
                            continue;
                        };
                        let key = key.named_child(0).unwrap_or(key);
                        if !matches!(key.kind(), "identifier" | "field_identifier") {
                            continue;
                        }
                        let field = self.text(file, key).to_string();
                        let value = value.named_child(0).unwrap_or(value);
                        if let Some(stored) = self.stored_func(func, value, None) {
                            stores.push(((ty.clone(), field), stored));
                        }
                    }
                }
                _ => {}
            }
        }
        for (key, stored) in stores {
            self.stored_funcs
                .entry(key)
                .and_modify(|old| {
                    if *old != stored {
                        *old = StoredFunc::Unknown;
                    }
                })
                .or_insert(stored);
        }
    }

    /// What a value stored in a field runs when called; `None` for `nil` (stores nothing).
    /// `owner` is the place of the struct whose field is set, when known.
    fn stored_func(
        &self,
        func: FuncId,
        value: Node<'_>,
        owner: Option<&Place>,
    ) -> Option<StoredFunc> {
        let file = self.funcs[func].file;
        let value = unparen(value);
        let unknown = Some(StoredFunc::Unknown);
        match value.kind() {
            "nil" => None,
            "func_literal" => Some(match self.func_of(file, value) {
                Some(id) => StoredFunc::Func {
                    id,
                    self_bound: false,
                },
                None => StoredFunc::Unknown,
            }),
            "identifier" => {
                let name = self.text(file, value);
                if name == "nil" {
                    return None;
                }
                let mut current = Some(func);
                while let Some(f) = current {
                    if let Some(id) = self.funcs[f].local_funcs.get(name) {
                        return Some(StoredFunc::Func {
                            id: *id,
                            self_bound: false,
                        });
                    }
                    if self.funcs[f].locals.contains_key(name)
                        || self.funcs[f].params.iter().any(|(n, _)| n == name)
                    {
                        return unknown;
                    }
                    current = self.funcs[f].parent;
                }
                match self
                    .functions_by_name
                    .get(name)
                    .or_else(|| self.global_funcs.get(name))
                {
                    Some(id) => Some(StoredFunc::Func {
                        id: *id,
                        self_bound: false,
                    }),
                    None => unknown,
                }
            }
            "selector_expression" => {
                let (Some(operand), Some(method)) = (
                    value.child_by_field_name("operand"),
                    value.child_by_field_name("field"),
                ) else {
                    return unknown;
                };
                let Some(base) = self.resolve(func, operand) else {
                    return unknown;
                };
                let Ty::Named(t) = &base.ty else {
                    return unknown;
                };
                match self
                    .methods
                    .get(&(t.clone(), self.text(file, method).to_string()))
                {
                    // `s.onStop = s.shutdown`: the method runs on the struct that holds the
                    // field, whichever instance that is.
                    Some(id) => Some(StoredFunc::Func {
                        id: *id,
                        self_bound: owner.is_some_and(|o| {
                            o.root == base.place.root
                                && o.fields.len() == base.place.fields.len() + 1
                                && o.fields.starts_with(&base.place.fields)
                        }),
                    }),
                    None => unknown,
                }
            }
            _ => unknown,
        }
    }

    /// What calling a selector value runs: a method value (`s.handle`) or a function stored
    /// in a field (`s.onClose`), with the receiver the callee runs on when known.
    fn selected_func(
        &self,
        func: FuncId,
        selector: Node<'_>,
    ) -> Option<(FuncId, Option<Resolved>)> {
        let file = self.funcs[func].file;
        let operand = selector.child_by_field_name("operand")?;
        let name = self.text(file, selector.child_by_field_name("field")?);
        let base = self.resolve(func, operand)?;
        let Ty::Named(t) = &base.ty else {
            return None;
        };
        if let Some(id) = self.methods.get(&(t.clone(), name.to_string())) {
            return Some((*id, Some(base)));
        }
        let field = self.select_field(base.clone(), name)?;
        let Some(ObjKey::Field(owner, field_name)) = &field.key else {
            return None;
        };
        match self
            .stored_funcs
            .get(&(owner.clone(), field_name.clone()))?
        {
            StoredFunc::Func { id, self_bound } => {
                let recv = if *self_bound {
                    let mut place = field.place.clone();
                    place.fields.pop();
                    Some(Resolved {
                        place,
                        ty: Ty::Named(owner.clone()),
                        key: None,
                    })
                } else {
                    None
                };
                Some((*id, recv))
            }
            StoredFunc::Unknown => None,
        }
    }

    /// A value's type with the function's bindings: shallow spelling, then `x`, `x.f`, `x.m()`.
    fn type_of_value(&self, func: FuncId, value: Node<'_>, locals: &FxHashMap<String, Ty>) -> Ty {
        let file = self.funcs[func].file;
        let shallow = self.type_of_value_shallow(file, value);
        if shallow != Ty::Unknown {
            return shallow;
        }
        let value = unparen(value);
        match value.kind() {
            "identifier" => {
                let name = self.text(file, value);
                locals
                    .get(name)
                    .cloned()
                    .or_else(|| self.lookup_name(func, name).map(|r| r.ty))
                    .unwrap_or(Ty::Unknown)
            }
            "selector_expression" | "index_expression" => self
                .resolve_with(func, value, Some(locals))
                .map(|r| r.ty)
                .unwrap_or(Ty::Unknown),
            "call_expression" => {
                let cx = self.cx(file);
                if let Some((Some(_), method)) = syntax::call_target(value, cx.src) {
                    let operand = value
                        .child_by_field_name("function")
                        .and_then(|f| f.child_by_field_name("operand"));
                    if let Some(operand) = operand {
                        if let Some(Ty::Named(t)) =
                            self.resolve_with(func, operand, Some(locals)).map(|r| r.ty)
                        {
                            if let Some(m) = self.methods.get(&(t, method.to_string())) {
                                return self.funcs[*m]
                                    .results
                                    .first()
                                    .cloned()
                                    .unwrap_or(Ty::Unknown);
                            }
                        }
                    }
                }
                Ty::Unknown
            }
            _ => Ty::Unknown,
        }
    }

    /// The spelled result types of a call to a package function or method.
    fn results_of_call(
        &self,
        func: FuncId,
        call: Node<'_>,
        locals: &FxHashMap<String, Ty>,
    ) -> Vec<Ty> {
        let call = unparen(call);
        if call.kind() != "call_expression" {
            return Vec::new();
        }
        let file = self.funcs[func].file;
        if let Some(name) = self.cx(file).pkg_call(call, CONTEXT) {
            if name.starts_with("With") && name != "WithValue" && name != "WithoutCancel" {
                return vec![Ty::Unknown, Ty::CancelFunc];
            }
        }
        let Some(function) = call.child_by_field_name("function").map(unparen) else {
            return Vec::new();
        };
        let callee = match function.kind() {
            "identifier" => self
                .functions_by_name
                .get(self.text(file, function))
                .copied(),
            "selector_expression" => {
                let method = function
                    .child_by_field_name("field")
                    .map(|f| self.text(file, f).to_string());
                let operand = function.child_by_field_name("operand");
                match (
                    operand.and_then(|o| self.resolve_with(func, o, Some(locals))),
                    method,
                ) {
                    (
                        Some(Resolved {
                            ty: Ty::Named(t), ..
                        }),
                        Some(m),
                    ) => self.methods.get(&(t, m)).copied(),
                    _ => None,
                }
            }
            _ => None,
        };
        callee
            .map(|c| self.funcs[c].results.clone())
            .unwrap_or_default()
    }

    // ---- name and expression resolution --------------------------------------------------

    /// A name as seen from inside `func`: its own locals and parameters, then those of the
    /// functions it is nested in, then package variables.
    pub fn lookup_name(&self, func: FuncId, name: &str) -> Option<Resolved> {
        if name == "_" {
            return None;
        }
        let mut current = Some(func);
        while let Some(f) = current {
            let info = &self.funcs[f];
            if let Some(ty) = info.locals.get(name) {
                let key = info
                    .aliases
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| ObjKey::Local(f, name.to_string()));
                return Some(Resolved {
                    place: Place {
                        root: Root::Local(f, name.to_string()),
                        fields: Vec::new(),
                    },
                    ty: ty.clone(),
                    key: Some(key),
                });
            }
            if let Some(i) = info.params.iter().position(|(n, _)| n == name) {
                return Some(Resolved {
                    place: Place {
                        root: Root::Param(f, i),
                        fields: Vec::new(),
                    },
                    ty: info.params[i].1.clone(),
                    key: None,
                });
            }
            if let Some((recv, ty)) = &info.recv {
                if recv == name {
                    return Some(Resolved {
                        place: Place {
                            root: Root::Recv(f),
                            fields: Vec::new(),
                        },
                        ty: ty.clone(),
                        key: None,
                    });
                }
            }
            current = info.parent;
        }
        self.globals.get(name).map(|ty| Resolved {
            place: Place {
                root: Root::Global(name.to_string()),
                fields: Vec::new(),
            },
            ty: ty.clone(),
            key: Some(ObjKey::Global(name.to_string())),
        })
    }

    /// The place an expression denotes, inside `func`.
    pub fn resolve(&self, func: FuncId, expr: Node<'_>) -> Option<Resolved> {
        self.resolve_with(func, expr, None)
    }

    fn resolve_with(
        &self,
        func: FuncId,
        expr: Node<'_>,
        locals: Option<&FxHashMap<String, Ty>>,
    ) -> Option<Resolved> {
        let file = self.funcs[func].file;
        let expr = unparen(expr);
        match expr.kind() {
            "identifier" => {
                let name = self.text(file, expr);
                if let Some(ty) = locals.and_then(|l| l.get(name)) {
                    return Some(Resolved {
                        place: Place {
                            root: Root::Local(func, name.to_string()),
                            fields: Vec::new(),
                        },
                        ty: ty.clone(),
                        key: Some(ObjKey::Local(func, name.to_string())),
                    });
                }
                self.lookup_name(func, name)
            }
            "unary_expression" => {
                let op = expr.child_by_field_name("operator")?;
                if matches!(self.text(file, op), "&" | "*") {
                    self.resolve_with(func, expr.child_by_field_name("operand")?, locals)
                } else {
                    None
                }
            }
            "selector_expression" => {
                let operand = expr.child_by_field_name("operand")?;
                let field = self.text(file, expr.child_by_field_name("field")?);
                let base = self.resolve_with(func, operand, locals)?;
                self.select_field(base, field)
            }
            "call_expression" => {
                // An accessor: `s.Stopper().ShouldQuiesce()` where each method only returns a
                // field of its receiver is that field.
                let (callee, recv) = self.callee(func, expr)?;
                let fields = self.accessor_fields(callee)?;
                let mut base = recv?;
                for field in fields {
                    base = self.select_field(base, &field)?;
                }
                Some(base)
            }
            "index_expression" => {
                let operand = expr.child_by_field_name("operand")?;
                let Ty::Container(inner) = self.resolve_with(func, operand, locals)?.ty else {
                    return None;
                };
                // Each element is its own object: a place no other expression shares.
                Some(Resolved {
                    place: Place {
                        root: Root::Local(func, format!("#{}", expr.id())),
                        fields: Vec::new(),
                    },
                    ty: *inner,
                    key: None,
                })
            }
            _ => None,
        }
    }

    /// For a method whose body is only `return r.a.b` (r its receiver): `[a, b]`.
    fn accessor_fields(&self, func: FuncId) -> Option<Vec<String>> {
        let info = &self.funcs[func];
        let (recv, _) = info.recv.as_ref()?;
        let body = info.body?;
        let stmts = syntax::statements(body);
        let (ret, guards) = stmts.split_last()?;
        // Nil-receiver guards (`if s == nil { return nil }`) may come first.
        let nil_guard = format!("{recv} == nil");
        if !guards.iter().all(|g| {
            g.kind() == "if_statement"
                && g.child_by_field_name("condition")
                    .is_some_and(|c| self.text(info.file, c).trim() == nil_guard)
        }) {
            return None;
        }
        if ret.kind() != "return_statement" {
            return None;
        }
        let mut value = unparen(ret.named_child(0)?);
        if value.kind() == "expression_list" {
            if value.named_child_count() != 1 {
                return None;
            }
            value = unparen(value.named_child(0)?);
        }
        let mut fields = Vec::new();
        while value.kind() == "selector_expression" {
            fields.push(
                self.text(info.file, value.child_by_field_name("field")?)
                    .to_string(),
            );
            value = unparen(value.child_by_field_name("operand")?);
            if fields.len() > MAX_PATH_FIELDS {
                return None;
            }
        }
        if value.kind() != "identifier" || self.text(info.file, value) != recv || fields.is_empty()
        {
            return None;
        }
        fields.reverse();
        Some(fields)
    }

    /// `base.field`, looking through embedded structs (one level deep suffices for the shapes
    /// Go code uses: `type T struct{ sync.Mutex }`, `type T struct{ *Base }`).
    pub fn select_field(&self, base: Resolved, field: &str) -> Option<Resolved> {
        let Ty::Named(type_name) = &base.ty else {
            return None;
        };
        if base.place.fields.len() >= MAX_PATH_FIELDS {
            return None;
        }
        let decl = self.types.get(type_name)?;
        if let Some(f) = decl.fields.iter().find(|f| f.name == field) {
            let mut place = base.place.clone();
            place.fields.push(field.to_string());
            return Some(Resolved {
                place,
                ty: f.ty.clone(),
                key: Some(ObjKey::Field(type_name.clone(), field.to_string())),
            });
        }
        for embedded in decl.fields.iter().filter(|f| f.embedded) {
            let Ty::Named(inner) = &embedded.ty else {
                continue;
            };
            let Some(inner_decl) = self.types.get(inner) else {
                continue;
            };
            if let Some(f) = inner_decl.fields.iter().find(|f| f.name == field) {
                let mut place = base.place.clone();
                place.fields.push(embedded.name.clone());
                place.fields.push(field.to_string());
                return Some(Resolved {
                    place,
                    ty: f.ty.clone(),
                    key: Some(ObjKey::Field(inner.clone(), field.to_string())),
                });
            }
        }
        None
    }

    /// The embedded lock or WaitGroup a method call on a struct value reaches:
    /// `c.Lock()` where `c`'s type embeds `sync.Mutex`.
    fn embedded_sync(&self, base: Resolved, wanted: &[Ty]) -> Option<Resolved> {
        let Ty::Named(type_name) = &base.ty else {
            return None;
        };
        let decl = self.types.get(type_name)?;
        let field = decl
            .fields
            .iter()
            .find(|f| f.embedded && wanted.contains(&f.ty))?;
        let mut place = base.place.clone();
        place.fields.push(field.name.clone());
        // `c.in.Lock()` and `c.out.Lock()` on two halfConn fields are two locks: name the
        // embedded lock by the field that holds the struct when there is one.
        let key = match &base.key {
            Some(ObjKey::Field(owner, holder)) => {
                ObjKey::Field(owner.clone(), format!("{holder}.{}", field.name))
            }
            _ => ObjKey::Field(type_name.clone(), field.name.clone()),
        };
        Some(Resolved {
            place,
            ty: field.ty.clone(),
            key: Some(key),
        })
    }

    /// Which package function a call runs, with the callee's receiver place when it is a
    /// method.
    pub fn callee(&self, func: FuncId, call: Node<'_>) -> Option<(FuncId, Option<Resolved>)> {
        let file = self.funcs[func].file;
        let function = unparen(call.child_by_field_name("function")?);
        match function.kind() {
            "func_literal" => self.func_of(file, function).map(|f| (f, None)),
            "identifier" => {
                let name = self.text(file, function);
                let mut current = Some(func);
                while let Some(f) = current {
                    if let Some(id) = self.funcs[f].local_funcs.get(name) {
                        return Some((*id, None));
                    }
                    if let Some(value) = self.funcs[f].func_values.get(name) {
                        return self.selected_func(f, *value);
                    }
                    if self.funcs[f].locals.contains_key(name)
                        || self.funcs[f].params.iter().any(|(n, _)| n == name)
                    {
                        return None;
                    }
                    current = self.funcs[f].parent;
                }
                self.functions_by_name
                    .get(name)
                    .or_else(|| self.global_funcs.get(name))
                    .map(|id| (*id, None))
            }
            "selector_expression" => {
                let operand = function.child_by_field_name("operand")?;
                let method = self.text(file, function.child_by_field_name("field")?);
                let base = self.resolve(func, operand)?;
                let Ty::Named(t) = &base.ty else {
                    return None;
                };
                if let Some(id) = self.methods.get(&(t.clone(), method.to_string())) {
                    return Some((*id, Some(base)));
                }
                // A call through an interface of this package that exactly one package type
                // implements (by method name): that type's method runs, on the same value.
                if self.interfaces.contains(t) {
                    let [only] = self.implementers.get(method)?.as_slice() else {
                        return None;
                    };
                    let id = *self.methods.get(&(only.clone(), method.to_string()))?;
                    return Some((
                        id,
                        Some(Resolved {
                            ty: Ty::Named(only.clone()),
                            ..base
                        }),
                    ));
                }
                // A method promoted from an embedded struct.
                let decl = self.types.get(t)?;
                for embedded in decl.fields.iter().filter(|f| f.embedded) {
                    if let Ty::Named(inner) = &embedded.ty {
                        if let Some(id) = self.methods.get(&(inner.clone(), method.to_string())) {
                            let mut place = base.place.clone();
                            place.fields.push(embedded.name.clone());
                            return Some((
                                *id,
                                Some(Resolved {
                                    place,
                                    ty: embedded.ty.clone(),
                                    key: None,
                                }),
                            ));
                        }
                    }
                }
                // A function stored in a field: `s.onClose()`.
                self.selected_func(func, function)
            }
            _ => None,
        }
    }

    // ---- operations -----------------------------------------------------------------------

    fn collect_goroutine_starts(&mut self, file: usize) {
        let cx = self.cx(file);
        for &go in &cx.go_statements {
            let Some(call) = go.named_child(0) else {
                continue;
            };
            let Some(caller) = self.enclosing_func(file, go) else {
                continue;
            };
            if let Some((callee, _)) = self.callee(caller, call) {
                self.funcs[callee].started_by.push((file, go));
            }
        }
    }

    fn collect_ops(&mut self, func: FuncId) {
        let Some(body) = self.funcs[func].body else {
            return;
        };
        let file = self.funcs[func].file;
        let mut ops = Vec::new();
        let mut escapes: Vec<(ObjKey, Node<'t>)> = Vec::new();
        let mut untyped: Vec<(String, UntypedKind)> = Vec::new();
        let mut recv_escapes: Vec<ObjKey> = Vec::new();
        for node in descendants_same_func(body) {
            match node.kind() {
                "call_expression" => self.call_op(func, node, &mut ops),
                "send_statement" => {
                    if let Some(ch) = node.child_by_field_name("channel") {
                        if let Some(target) = self.resolve_chan(func, ch) {
                            ops.push(self.op(OpKind::Send, func, node, target));
                        }
                    }
                }
                "unary_expression" => {
                    if let Some(operand) = syntax::receive_operand(node, self.src(file)) {
                        if let Some(target) = self.resolve_chan(func, operand) {
                            ops.push(self.op(OpKind::Recv, func, node, target));
                        }
                    }
                }
                "range_clause" => {
                    if let Some(right) = node.child_by_field_name("right") {
                        if let Some(target) = self.resolve_chan(func, right) {
                            ops.push(self.op(OpKind::Range, func, node, target));
                        }
                    }
                }
                "selector_expression" => {
                    self.classify_field_use(
                        func,
                        node,
                        &mut escapes,
                        &mut untyped,
                        &mut recv_escapes,
                    );
                }
                "keyed_element" => self.keyed_make(func, node, &mut ops, &mut escapes),
                "literal_value" => self.positional_fields(func, node, &mut escapes),
                "short_var_declaration" | "assignment_statement" => {
                    self.assigned_make(func, node, &mut ops, &mut escapes)
                }
                _ => {}
            }
        }
        for (key, node) in escapes {
            self.escapes.entry(key).or_default().push((func, node));
        }
        self.receive_only_escapes.extend(recv_escapes);
        for (name, kind) in untyped {
            let uses = self.untyped_field_uses.entry(name).or_default();
            match kind {
                UntypedKind::Send => uses.send = true,
                UntypedKind::Recv => uses.recv = true,
                UntypedKind::Close => uses.close = true,
                UntypedKind::Inspect => {}
                UntypedKind::Other => uses.other = true,
            }
        }
        self.ops.extend(ops);
    }

    fn op(&self, kind: OpKind, func: FuncId, node: Node<'t>, target: Resolved) -> Op<'t> {
        let cx = self.cx(self.funcs[func].file);
        let select = syntax::select_case_via(node, |n| cx.parent(n))
            .and_then(|case| cx.parent(case))
            // `select { case <-c: }` with one case and no default is just `<-c`.
            .filter(|select| {
                let mut cursor = select.walk();
                select
                    .named_children(&mut cursor)
                    .filter(|c| matches!(c.kind(), "communication_case" | "default_case"))
                    .count()
                    > 1
            });
        Op {
            kind,
            func,
            node,
            target,
            select,
            capacity: None,
        }
    }

    fn resolve_chan(&self, func: FuncId, expr: Node<'_>) -> Option<Resolved> {
        let r = self.resolve(func, expr)?;
        (r.ty == Ty::Chan && r.key.is_some()).then_some(r)
    }

    fn call_op(&self, func: FuncId, call: Node<'t>, ops: &mut Vec<Op<'t>>) {
        let file = self.funcs[func].file;
        let src = self.src(file);
        let Some((recv, name)) = syntax::call_target(call, src) else {
            return;
        };
        if recv.is_none() && name == "close" {
            if let Some(arg) = syntax::call_arguments(call).first() {
                if let Some(target) = self.resolve_chan(func, *arg) {
                    ops.push(self.op(OpKind::Close, func, call, target));
                }
            }
            return;
        }
        // `cancel()` / `s.cancel()`: a call of a CancelFunc value.
        if let Some(target) = call
            .child_by_field_name("function")
            .and_then(|f| self.resolve(func, f))
            .filter(|r| r.ty == Ty::CancelFunc)
        {
            ops.push(self.op(OpKind::Cancel, func, call, target));
            return;
        }
        let kind = match name {
            "Stop" => OpKind::Stop,
            "Lock" => OpKind::Lock,
            "RLock" => OpKind::RLock,
            "Unlock" => OpKind::Unlock,
            "RUnlock" => OpKind::RUnlock,
            "Add" => OpKind::WgAdd,
            "Done" => OpKind::WgDone,
            "Wait" => OpKind::WgWait,
            "Signal" => OpKind::Signal,
            "Broadcast" => OpKind::Broadcast,
            _ => return,
        };
        let Some(operand) = call
            .child_by_field_name("function")
            .and_then(|f| f.child_by_field_name("operand"))
        else {
            return;
        };
        let Some(base) = self.resolve(func, operand) else {
            return;
        };
        let wanted: &[Ty] = match kind {
            OpKind::Stop => &[Ty::Ticker, Ty::Timer],
            OpKind::Lock | OpKind::Unlock => &[Ty::Mutex, Ty::RwMutex],
            OpKind::RLock | OpKind::RUnlock => &[Ty::RwMutex],
            OpKind::WgAdd | OpKind::WgDone => &[Ty::WaitGroup],
            OpKind::WgWait => &[Ty::WaitGroup, Ty::Cond],
            _ => &[Ty::Cond],
        };
        let target = if wanted.contains(&base.ty) {
            base
        } else if let Some(inner) = self.embedded_sync(base, wanted) {
            inner
        } else {
            return;
        };
        let kind = if kind == OpKind::WgWait && target.ty == Ty::Cond {
            OpKind::CondWait
        } else {
            kind
        };
        ops.push(self.op(kind, func, call, target));
    }

    /// A `x.f` selector: an operation's operand, a write, or an escape of the object.
    fn classify_field_use(
        &self,
        func: FuncId,
        node: Node<'t>,
        escapes: &mut Vec<(ObjKey, Node<'t>)>,
        untyped: &mut Vec<(String, UntypedKind)>,
        recv_escapes: &mut Vec<ObjKey>,
    ) {
        let file = self.funcs[func].file;
        let Some(field) = node.child_by_field_name("field") else {
            return;
        };
        let Some(operand) = node.child_by_field_name("operand") else {
            return;
        };
        let resolved = self.resolve(func, node);
        let Some(resolved) = resolved else {
            // `pkg.Name` and method values are not field uses; an operand of unknown type may
            // be any struct, so remember the name.
            let is_call = self
                .cx(file)
                .parent(node)
                .is_some_and(|p| p.kind() == "call_expression");
            // Only an import name makes `x.f` a package member; any other unknown name (a
            // `case v := <-ch:` variable, a type-switch binding) is a value of unknown type.
            let is_pkg = operand.kind() == "identifier"
                && self.cx(file).imports.is_alias(self.text(file, operand))
                && self.lookup_name(func, self.text(file, operand)).is_none();
            if !is_call && !is_pkg {
                let kind = untyped_kind(node, self.cx(file));
                untyped.push((self.text(file, field).to_string(), kind));
            }
            return;
        };
        if !matches!(
            resolved.ty,
            Ty::Chan | Ty::Cond | Ty::Mutex | Ty::RwMutex | Ty::WaitGroup
        ) {
            return;
        }
        let Some(key) = resolved.key.clone() else {
            return;
        };
        if self.alias_sources.contains(&(file, node.id())) {
            return;
        }
        if is_operation_operand(node, self.cx(file)) {
            return;
        }
        if self.returned_receive_only(func, node) {
            // `func (s *S) Done() <-chan struct{} { return s.done }`: whoever gets it can only
            // receive; marked with a node of its own so senders' rules can tell.
            recv_escapes.push(key);
            return;
        }
        escapes.push((key, node));
    }

    /// `node` is returned from a function whose result is spelled `<-chan T`.
    fn returned_receive_only(&self, func: FuncId, node: Node<'_>) -> bool {
        let cx = self.cx(self.funcs[func].file);
        let Some(mut parent) = cx.parent(node) else {
            return false;
        };
        if parent.kind() == "expression_list" {
            match cx.parent(parent) {
                Some(p) => parent = p,
                None => return false,
            }
        }
        if parent.kind() != "return_statement" {
            return false;
        }
        let info = &self.funcs[func];
        info.node
            .child_by_field_name("result")
            .is_some_and(|r| self.text(info.file, r).trim_start().starts_with("<-chan"))
    }

    /// `T{ch: make(chan X, n)}`: the field is made here; any other value stored in a channel
    /// field comes from elsewhere.
    fn keyed_element(&self, func: FuncId, element: Node<'t>) -> Option<(ObjKey, Node<'t>)> {
        let file = self.funcs[func].file;
        let key = element.child_by_field_name("key")?;
        let key_ident = key.named_child(0).unwrap_or(key);
        if key_ident.kind() != "identifier" && key_ident.kind() != "field_identifier" {
            return None;
        }
        let cx = self.cx(file);
        let literal = cx.parent(cx.parent(element)?)?;
        if literal.kind() != "composite_literal" {
            return None;
        }
        let Ty::Named(t) = self.type_of_spelling(file, literal.child_by_field_name("type")?) else {
            return None;
        };
        let field = self.text(file, key_ident);
        let decl = self.types.get(&t)?;
        let f = decl.fields.iter().find(|f| f.name == field)?;
        if !matches!(f.ty, Ty::Chan | Ty::Cond) {
            return None;
        }
        Some((ObjKey::Field(t.clone(), field.to_string()), element))
    }

    fn keyed_make(
        &self,
        func: FuncId,
        element: Node<'t>,
        ops: &mut Vec<Op<'t>>,
        escapes: &mut Vec<(ObjKey, Node<'t>)>,
    ) {
        let Some((key, element)) = self.keyed_element(func, element) else {
            return;
        };
        let value = element
            .child_by_field_name("value")
            .map(|v| unparen(v.named_child(0).unwrap_or(v)));
        let file = self.funcs[func].file;
        if value.is_some_and(|v| self.cx(file).pkg_call(v, SYNC) == Some("NewCond")) {
            return;
        }
        match value.and_then(|v| self.make_capacity(func, v)) {
            Some(capacity) => ops.push(Op {
                kind: OpKind::Make,
                func,
                node: element,
                target: Resolved {
                    place: Place {
                        root: Root::Global(String::new()),
                        fields: Vec::new(),
                    },
                    ty: Ty::Chan,
                    key: Some(key),
                },
                select: None,
                capacity,
            }),
            None => escapes.push((key, element)),
        }
    }

    /// `T{a, b, c}`: fields set by position. A channel or Cond set this way from anything but
    /// `make` comes from elsewhere (counted as an escape; `make` is rare in this form).
    fn positional_fields(
        &self,
        func: FuncId,
        literal_value: Node<'t>,
        escapes: &mut Vec<(ObjKey, Node<'t>)>,
    ) {
        let file = self.funcs[func].file;
        let Some(literal) = self.cx(file).parent(literal_value) else {
            return;
        };
        if literal.kind() != "composite_literal" {
            return;
        }
        let Some(Ty::Named(t)) = literal
            .child_by_field_name("type")
            .map(|ty| self.type_of_spelling(file, ty))
        else {
            return;
        };
        let Some(decl) = self.types.get(&t) else {
            return;
        };
        let mut cursor = literal_value.walk();
        let elements: Vec<Node<'t>> = literal_value
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .collect();
        if elements.iter().any(|e| e.kind() == "keyed_element") {
            return;
        }
        for (field, element) in decl.fields.iter().zip(elements) {
            if matches!(field.ty, Ty::Chan | Ty::Cond) {
                escapes.push((ObjKey::Field(t.clone(), field.name.clone()), element));
            }
        }
    }

    /// `x.ch = make(chan T, n)`.
    fn assigned_make(
        &self,
        func: FuncId,
        stmt: Node<'t>,
        ops: &mut Vec<Op<'t>>,
        escapes: &mut Vec<(ObjKey, Node<'t>)>,
    ) {
        let (Some(left), Some(right)) = (
            stmt.child_by_field_name("left"),
            stmt.child_by_field_name("right"),
        ) else {
            return;
        };
        let names = named_list(left);
        let values = named_list(right);
        if names.len() != values.len() {
            // `s.ch, err = subscribe()`: channels stored from a call's results.
            for target in names {
                if let Some(Resolved {
                    ty: Ty::Chan | Ty::Cond,
                    key: Some(key),
                    ..
                }) = self.resolve(func, target)
                {
                    escapes.push((key, stmt));
                }
            }
            return;
        }
        for (target, value) in names.into_iter().zip(values) {
            let capacity = self.make_capacity(func, unparen(value));
            let Some(resolved) = self.resolve(func, target) else {
                continue;
            };
            let Some(key) = resolved.key.clone() else {
                continue;
            };
            let Some(capacity) = capacity else {
                // Another channel (or Cond) stored here: its partners are that value's.
                let is_new_cond = self
                    .cx(self.funcs[func].file)
                    .pkg_call(unparen(value), SYNC)
                    == Some("NewCond");
                let is_nil = self.text(self.funcs[func].file, value) == "nil";
                if matches!(resolved.ty, Ty::Chan | Ty::Cond) && !is_new_cond && !is_nil {
                    escapes.push((key, stmt));
                }
                continue;
            };
            ops.push(Op {
                kind: OpKind::Make,
                func,
                node: stmt,
                target: resolved,
                select: None,
                capacity,
            });
        }
    }

    /// For `make(chan T[, n])`: `Some(Some(n))` with a literal capacity, `Some(None)` when the
    /// capacity is computed; `None` for any other expression.
    fn make_capacity(&self, func: FuncId, value: Node<'_>) -> Option<Option<u64>> {
        let file = self.funcs[func].file;
        let src = self.src(file);
        if !matches!(syntax::call_target(value, src), Some((None, "make"))) {
            return None;
        }
        let args = syntax::call_arguments(value);
        if args.first()?.kind() != "channel_type" {
            return None;
        }
        Some(match args.get(1) {
            None => Some(0),
            Some(n) if n.kind() == "int_literal" => {
                text(*n, src).replace('_', "").parse::<u64>().ok()
            }
            Some(_) => None,
        })
    }

    pub fn ops_on<'a>(&'a self, key: &'a ObjKey) -> impl Iterator<Item = &'a Op<'t>> + 'a {
        self.ops_by_key
            .get(key)
            .into_iter()
            .flatten()
            .map(|i| &self.ops[*i])
    }

    /// The objects some operation accepted by `wanted` acts on, each once, in a stable order.
    pub fn keys_where(&self, wanted: impl Fn(&Op<'t>) -> bool) -> Vec<&ObjKey> {
        let mut keys: Vec<&ObjKey> = self
            .ops
            .iter()
            .filter(|op| wanted(op))
            .filter_map(|op| op.target.key.as_ref())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    pub fn ops_in<'a>(&'a self, func: FuncId) -> impl Iterator<Item = &'a Op<'t>> + 'a {
        self.ops_by_func
            .get(&func)
            .into_iter()
            .flatten()
            .map(|i| &self.ops[*i])
    }

    /// The object may be used where this package cannot see: exported, handed out, stored,
    /// or a field of that name selected from a value of unknown type.
    pub fn may_escape(&self, key: &ObjKey) -> bool {
        if key.is_exported() || self.escapes.contains_key(key) {
            return true;
        }
        self.receive_only_escapes.contains(key) || self.untyped(key).other
    }

    /// Code this package cannot see may send on or close it.
    pub fn may_have_hidden_sender(&self, key: &ObjKey) -> bool {
        let untyped = self.untyped(key);
        key.is_exported()
            || self.escapes.contains_key(key)
            || untyped.other
            || untyped.send
            || untyped.close
    }

    /// Code this package cannot see may receive from it.
    pub fn may_have_hidden_receiver(&self, key: &ObjKey) -> bool {
        let untyped = self.untyped(key);
        key.is_exported()
            || self.escapes.contains_key(key)
            || self.receive_only_escapes.contains(key)
            || untyped.other
            || untyped.recv
    }

    /// Operations on a field of this name through values of unknown type: they may be
    /// operations on this object.
    pub fn untyped(&self, key: &ObjKey) -> UntypedUses {
        match key {
            ObjKey::Field(_, f) => self.untyped_field_uses.get(f).copied().unwrap_or_default(),
            _ => UntypedUses::default(),
        }
    }
}

/// What the expression around a use does with a value (a selector or an identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Send,
    Recv,
    Range,
    Close,
    /// `len`, `cap`, a comparison (`x.ch == nil`), a condition or a bare statement.
    Inspect,
    /// `*x`: dereferenced where it stands.
    Deref,
    /// A method called on it (`x.mu.Lock()`), or Cond's `L` selected from it.
    MethodCall,
    /// Assigned to, or the name a `var` declares.
    Written,
    /// Passed, returned, stored, aliased, used as a method value: out of sight.
    Other,
}

fn role<'t>(node: Node<'t>, cx: &FileCx<'t>) -> Role {
    let src = cx.src;
    let Some(parent) = cx.parent(node) else {
        return Role::Other;
    };
    let is_field =
        |field: &str| parent.child_by_field_name(field).map(|n| n.id()) == Some(node.id());
    match parent.kind() {
        "send_statement" if is_field("channel") => Role::Send,
        "unary_expression" => match parent.child_by_field_name("operator").map(|o| text(o, src)) {
            Some("<-") => Role::Recv,
            Some("*") => Role::Deref,
            _ => Role::Other,
        },
        "range_clause" if is_field("right") => Role::Range,
        "selector_expression" if is_field("operand") => {
            let cond_locker = parent
                .child_by_field_name("field")
                .is_some_and(|f| text(f, src) == "L");
            let called = cx.parent(parent).is_some_and(|call| {
                call.kind() == "call_expression"
                    && call.child_by_field_name("function").map(|f| f.id()) == Some(parent.id())
            });
            if cond_locker || called {
                Role::MethodCall
            } else {
                Role::Other
            }
        }
        "argument_list" => match cx.parent(parent).and_then(|c| syntax::call_target(c, src)) {
            Some((None, "close")) => Role::Close,
            Some((None, "len" | "cap")) => Role::Inspect,
            _ => Role::Other,
        },
        "expression_list" => {
            let written = cx.parent(parent).is_some_and(|stmt| {
                matches!(
                    stmt.kind(),
                    "assignment_statement" | "short_var_declaration"
                ) && stmt.child_by_field_name("left").map(|l| l.id()) == Some(parent.id())
            });
            if written {
                Role::Written
            } else {
                Role::Other
            }
        }
        "assignment_statement" if is_field("left") => Role::Written,
        "var_spec" if is_field("name") => Role::Written,
        "binary_expression" | "if_statement" | "expression_statement" => Role::Inspect,
        _ => Role::Other,
    }
}

#[derive(Debug, Clone, Copy)]
enum UntypedKind {
    Send,
    Recv,
    Close,
    Inspect,
    Other,
}

fn untyped_kind<'t>(node: Node<'t>, cx: &FileCx<'t>) -> UntypedKind {
    match role(node, cx) {
        Role::Send => UntypedKind::Send,
        Role::Recv | Role::Range => UntypedKind::Recv,
        Role::Close => UntypedKind::Close,
        Role::Inspect => UntypedKind::Inspect,
        _ => UntypedKind::Other,
    }
}

/// The selector is the operand of an operation, a method call or a write (writes are
/// recorded as `Make` or escapes separately): not an escape.
fn is_operation_operand<'t>(node: Node<'t>, cx: &FileCx<'t>) -> bool {
    role(node, cx) != Role::Other
}

/// A use of an alias local that keeps it an alias: its declaration, a channel operation on it,
/// a nil comparison, or assigning it.
fn alias_use_ok<'t>(ident: Node<'t>, cx: &FileCx<'t>) -> bool {
    matches!(
        role(ident, cx),
        Role::Send | Role::Recv | Role::Range | Role::Close | Role::Inspect | Role::Written
    )
}

/// `var f = func(){…}` or `f := func(){…}`: the name the literal is bound to.
fn bound_name<'s>(literal: Node<'_>, src: &'s str) -> Option<&'s str> {
    let list = literal.parent()?;
    let holder = if list.kind() == "expression_list" {
        list.parent()?
    } else {
        list
    };
    if holder.kind() != "var_spec" {
        return None;
    }
    holder.child_by_field_name("name").map(|n| text(n, src))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_model(src: &str, check: impl FnOnce(&PackageModel<'_>)) {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_go::LANGUAGE.into())
            .expect("tree-sitter-go");
        let tree = parser.parse(src, None).expect("parse");
        let cx = FileCx::new(src, tree.root_node(), false, None);
        let model = PackageModel::build(vec![PkgFile {
            path: "a.go",
            cx: &cx,
        }]);
        check(&model);
    }

    #[test]
    fn stops_cancels_and_goroutine_starts_are_indexed() {
        let src = "package p\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\ntype S struct {\n\tcancel context.CancelFunc\n\ttick   *time.Ticker\n}\n\nfunc (s *S) loop() {}\n\nfunc (s *S) Start(parent context.Context) {\n\tctx, cancel := context.WithCancel(parent)\n\t_ = ctx\n\ts.cancel = cancel\n\ts.tick = time.NewTicker(time.Second)\n\tgo s.loop()\n}\n\nfunc (s *S) Stop() {\n\ts.tick.Stop()\n\ts.cancel()\n}\n\nfunc run(c context.Context) {\n\t_, cancel := context.WithTimeout(c, time.Second)\n\tdefer cancel()\n}\n";
        with_model(src, |model| {
            let kinds = |kind: OpKind| -> Vec<Option<ObjKey>> {
                model
                    .ops
                    .iter()
                    .filter(|o| o.kind == kind)
                    .map(|o| o.target.key.clone())
                    .collect()
            };
            assert_eq!(
                kinds(OpKind::Stop),
                vec![Some(ObjKey::Field("S".into(), "tick".into()))]
            );
            let cancels = kinds(OpKind::Cancel);
            assert!(cancels.contains(&Some(ObjKey::Field("S".into(), "cancel".into()))));
            assert_eq!(cancels.len(), 2, "{cancels:?}");
            let loop_fn = model.methods[&("S".to_string(), "loop".to_string())];
            assert_eq!(model.funcs[loop_fn].started_by.len(), 1);
            let start = model.methods[&("S".to_string(), "Start".to_string())];
            assert!(model.funcs[start].started_by.is_empty());
        });
    }
}
