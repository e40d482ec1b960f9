//! Which locks are held where: a structured walk of every function body that tracks the locks
//! held on all paths (`must`) and on some path (`may`), with per-function summaries (locks a
//! call acquires, locks it returns holding, locks it releases for its caller) applied at call
//! sites, so a lock taken in one method and taken again three calls down is seen.
//!
//! Each function is walked once; a callee's summary is computed on demand (a cycle in the call
//! graph or a chain deeper than `MAX_CALL_DEPTH` yields an empty summary), so the cost is
//! linear in the package plus the summaries' bounded sizes.

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use super::model::{FuncId, ObjKey, OpKind, PackageModel, Place, Root};
use crate::syntax::{self, descendants_same_func, statements, text, unparen};

const MAX_CALL_DEPTH: usize = 48;
const MAX_STMT_DEPTH: usize = 400;
const MAX_SUMMARY: usize = 32;
const MAX_CHAIN: usize = 12;
const MAX_EDGES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Write,
    Read,
}

/// A source location in the package: file index and node.
pub(crate) type At<'t> = (usize, Node<'t>);

#[derive(Debug, Clone)]
pub struct Held<'t> {
    pub place: Place,
    pub key: Option<ObjKey>,
    pub mode: Mode,
    pub at: At<'t>,
}

#[derive(Debug, Clone, Default)]
struct State<'t> {
    must: Vec<Held<'t>>,
    may: Vec<Held<'t>>,
    terminated: bool,
}

impl<'t> State<'t> {
    fn holds_must(&self, place: &Place) -> Option<&Held<'t>> {
        self.must.iter().find(|h| &h.place == place)
    }
    fn holds_may(&self, place: &Place) -> Option<&Held<'t>> {
        self.may.iter().find(|h| &h.place == place)
    }
    fn acquire(&mut self, held: Held<'t>) {
        if self.holds_must(&held.place).is_none() {
            self.must.push(held.clone());
        }
        if self.holds_may(&held.place).is_none() {
            self.may.push(held);
        }
    }
    fn release(&mut self, place: &Place) -> bool {
        let before = self.may.len();
        self.must.retain(|h| &h.place != place);
        self.may.retain(|h| &h.place != place);
        before != self.may.len()
    }

    fn merge(states: Vec<State<'t>>) -> State<'t> {
        let live: Vec<State<'t>> = states.into_iter().filter(|s| !s.terminated).collect();
        let Some(first) = live.first() else {
            return State {
                terminated: true,
                ..State::default()
            };
        };
        let mut out = State {
            must: first.must.clone(),
            may: Vec::new(),
            terminated: false,
        };
        for s in &live[1..] {
            out.must.retain(|h| s.holds_must(&h.place).is_some());
        }
        for s in &live {
            for h in &s.may {
                if out.holds_may(&h.place).is_none() {
                    out.may.push(h.clone());
                }
            }
        }
        out
    }
}

/// A lock a function acquires that its caller may already hold: the chain runs from the
/// function's own call sites down to the acquiring `Lock` call.
#[derive(Debug, Clone)]
pub struct Acquire<'t> {
    pub place: Place,
    pub key: Option<ObjKey>,
    pub mode: Mode,
    pub chain: Vec<At<'t>>,
    /// Taken only on some paths of a callee (inside an `if`/`switch`/`select` there): the
    /// branch may be guarded by what the caller passes (`locked bool`), so it is not reported
    /// as a double lock.
    pub conditional: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Summary<'t> {
    pub acquires: Vec<Acquire<'t>>,
    /// Locks still held when the function returns on some path (`must`: on every path).
    pub leaked: Vec<(Held<'t>, bool)>,
    /// Locks the function releases without having taken them: the caller's.
    pub released_first: Vec<Place>,
}

/// A lock acquired while the same lock is already held on the same path.
#[derive(Debug, Clone)]
pub struct DoubleLock<'t> {
    pub func: FuncId,
    pub first: Held<'t>,
    pub second_mode: Mode,
    /// Call sites from `func` down to the second acquisition (last element).
    pub chain: Vec<At<'t>>,
    /// Held on every path to the second acquisition, not just some.
    pub certain: bool,
    /// The first acquisition was on an earlier iteration of an enclosing loop.
    pub via_loop: Option<At<'t>>,
}

/// `outer` is held while `inner` is acquired.
#[derive(Debug, Clone)]
pub struct OrderEdge<'t> {
    pub func: FuncId,
    pub outer: ObjKey,
    pub inner: ObjKey,
    pub outer_at: At<'t>,
    pub chain: Vec<At<'t>>,
}

/// A return that leaves a lock held which the same function releases on another path, where
/// the lock or its release goes through a call (what a per-function check cannot see).
#[derive(Debug, Clone)]
pub struct LeakingReturn<'t> {
    pub func: FuncId,
    /// The `return` statement.
    pub ret: At<'t>,
    pub held: Held<'t>,
    /// Where the function releases it on another path.
    pub released: At<'t>,
    /// The lock was taken by a callee (else by the function itself).
    pub acquired_in_callee: bool,
    /// The release is a callee's (else the function's own Unlock).
    pub released_in_callee: bool,
}

#[derive(Default)]
pub struct LockFacts<'t> {
    pub summaries: Vec<Option<Summary<'t>>>,
    pub double_locks: Vec<DoubleLock<'t>>,
    pub order_edges: Vec<OrderEdge<'t>>,
    /// Locks held on every path to an operation node (channel ops, waits, Done, Signal).
    pub held_at: FxHashMap<(usize, usize), Vec<Held<'t>>>,
    pub leaking_returns: Vec<LeakingReturn<'t>>,
    in_progress: FxHashSet<FuncId>,
}

impl<'t> LockFacts<'t> {
    pub fn compute(model: &PackageModel<'t>) -> Self {
        let mut facts = LockFacts {
            summaries: vec![None; model.funcs.len()],
            ..LockFacts::default()
        };
        let mut op_index: FxHashMap<(usize, usize), usize> = FxHashMap::default();
        for (i, op) in model.ops.iter().enumerate() {
            op_index.insert((model.funcs[op.func].file, op.node.id()), i);
        }
        for func in 0..model.funcs.len() {
            facts.summary(model, &op_index, func, 0);
        }
        facts
    }

    fn summary(
        &mut self,
        model: &PackageModel<'t>,
        ops: &FxHashMap<(usize, usize), usize>,
        func: FuncId,
        depth: usize,
    ) -> Summary<'t> {
        if let Some(s) = &self.summaries[func] {
            return s.clone();
        }
        if depth > MAX_CALL_DEPTH || !self.in_progress.insert(func) {
            return Summary::default();
        }
        let mut walker = Walker {
            model,
            ops,
            facts: self,
            func,
            file: model.funcs[func].file,
            depth,
            summary: Summary::default(),
            deferred_unlocks: Vec::new(),
            breakables: Vec::new(),
            stmt_depth: 0,
            cond_depth: 0,
            early_exits: Vec::new(),
            releases: Vec::new(),
        };
        if let Some(body) = model.funcs[func].body {
            let end = walker.block(body, State::default());
            if !end.terminated {
                walker.exit(&end);
            }
        }
        walker.record_leaking_returns();
        let summary = walker.summary;
        self.in_progress.remove(&func);
        self.summaries[func] = Some(summary.clone());
        summary
    }
}

struct Breakable<'t> {
    is_loop: bool,
    breaks: Vec<State<'t>>,
    continues: Vec<State<'t>>,
    /// Locks first taken inside this loop's body, with the state they were taken in.
    acquired: Vec<Held<'t>>,
    /// Locks released in this loop's body so far: a later Lock of one of them re-takes what
    /// the iteration itself let go (`Unlock(); work(); Lock()`), not a relock.
    released: Vec<Place>,
}

impl Breakable<'_> {
    fn new(is_loop: bool) -> Self {
        Breakable {
            is_loop,
            breaks: Vec::new(),
            continues: Vec::new(),
            acquired: Vec::new(),
            released: Vec::new(),
        }
    }
}

struct Walker<'a, 't> {
    model: &'a PackageModel<'t>,
    ops: &'a FxHashMap<(usize, usize), usize>,
    facts: &'a mut LockFacts<'t>,
    func: FuncId,
    file: usize,
    depth: usize,
    summary: Summary<'t>,
    deferred_unlocks: Vec<Place>,
    breakables: Vec<Breakable<'t>>,
    stmt_depth: usize,
    cond_depth: usize,
    /// `return`s inside a branch or loop, with the locks held on every path to them that no
    /// `defer` seen so far releases.
    early_exits: Vec<(Node<'t>, Vec<Held<'t>>)>,
    /// Releases of a held lock: the place, where, and whether a callee did it.
    releases: Vec<(Place, At<'t>, bool)>,
}

impl<'t> Walker<'_, 't> {
    fn src(&self) -> &'t str {
        self.model.src(self.file)
    }

    fn block(&mut self, block: Node<'t>, mut state: State<'t>) -> State<'t> {
        for stmt in statements(block) {
            if state.terminated {
                break;
            }
            state = self.stmt(stmt, state);
        }
        state
    }

    fn stmt(&mut self, stmt: Node<'t>, state: State<'t>) -> State<'t> {
        if self.stmt_depth > MAX_STMT_DEPTH {
            return state;
        }
        self.stmt_depth += 1;
        let out = self.stmt_inner(stmt, state);
        self.stmt_depth -= 1;
        out
    }

    fn stmt_inner(&mut self, stmt: Node<'t>, mut state: State<'t>) -> State<'t> {
        match stmt.kind() {
            "block" => self.block(stmt, state),
            "labeled_statement" => match stmt.named_children(&mut stmt.walk()).last() {
                Some(inner) if inner.kind() != "label_name" => self.stmt(inner, state),
                _ => state,
            },
            "return_statement" => {
                self.scan(stmt, &mut state);
                self.exit(&state);
                let nested = self.cond_depth > 0 || self.breakables.iter().any(|b| b.is_loop);
                if nested && self.early_exits.len() < MAX_SUMMARY {
                    let held: Vec<Held<'t>> = state
                        .must
                        .iter()
                        .filter(|h| !self.deferred_unlocks.contains(&h.place))
                        .cloned()
                        .collect();
                    if !held.is_empty() {
                        self.early_exits.push((stmt, held));
                    }
                }
                state.terminated = true;
                state
            }
            "break_statement" => {
                if let Some(b) = self.breakables.last_mut() {
                    b.breaks.push(state.clone());
                }
                state.terminated = true;
                state
            }
            "continue_statement" => {
                if let Some(b) = self.breakables.iter_mut().rev().find(|b| b.is_loop) {
                    b.continues.push(state.clone());
                }
                state.terminated = true;
                state
            }
            "goto_statement" => {
                state.terminated = true;
                state
            }
            "if_statement" => self.if_stmt(stmt, state),
            "for_statement" => self.for_stmt(stmt, state),
            "expression_switch_statement" | "type_switch_statement" => {
                self.switch_stmt(stmt, state)
            }
            "select_statement" => self.select_stmt(stmt, state),
            "go_statement" => state,
            "defer_statement" => {
                self.defer_stmt(stmt);
                state
            }
            _ => {
                self.scan(stmt, &mut state);
                if stmt.kind() == "expression_statement" {
                    if let Some(call) = stmt.named_child(0) {
                        if call.kind() == "call_expression"
                            && syntax::is_terminating_call(call, self.src())
                        {
                            state.terminated = true;
                        }
                    }
                }
                state
            }
        }
    }

    fn if_stmt(&mut self, stmt: Node<'t>, mut state: State<'t>) -> State<'t> {
        if let Some(init) = stmt.child_by_field_name("initializer") {
            self.scan(init, &mut state);
        }
        if let Some(cond) = stmt.child_by_field_name("condition") {
            self.scan(cond, &mut state);
        }
        self.cond_depth += 1;
        let then = match stmt.child_by_field_name("consequence") {
            Some(block) => self.block(block, state.clone()),
            None => state.clone(),
        };
        let otherwise = match stmt.child_by_field_name("alternative") {
            Some(alt) => self.stmt(alt, state),
            None => state,
        };
        self.cond_depth -= 1;
        State::merge(vec![then, otherwise])
    }

    fn for_stmt(&mut self, stmt: Node<'t>, mut state: State<'t>) -> State<'t> {
        let mut has_exit_condition = false;
        let mut cursor = stmt.walk();
        for child in stmt.named_children(&mut cursor) {
            match child.kind() {
                "for_clause" => {
                    if let Some(init) = child.child_by_field_name("initializer") {
                        self.scan(init, &mut state);
                    }
                    if let Some(cond) = child.child_by_field_name("condition") {
                        has_exit_condition = true;
                        self.scan(cond, &mut state);
                    }
                }
                "range_clause" => {
                    has_exit_condition = true;
                    self.scan(child, &mut state);
                }
                "block" | "comment" => {}
                _ => {
                    // `for cond { … }`
                    has_exit_condition = true;
                    self.scan(child, &mut state);
                }
            }
        }
        let Some(body) = stmt.child_by_field_name("body") else {
            return state;
        };
        self.breakables.push(Breakable::new(true));
        let end = self.block(body, state.clone());
        let frame = self
            .breakables
            .pop()
            .unwrap_or_else(|| Breakable::new(true));
        let mut back_states = frame.continues.clone();
        back_states.push(end);
        let live: Vec<&State<'t>> = back_states.iter().filter(|s| !s.terminated).collect();
        let back = State::merge(back_states.clone());
        if !back.terminated {
            // The next iteration takes again a lock that some path back to the loop head
            // holds on all of its ways (a `continue` that skips the unlock); a lock held only
            // on some ways there is usually correlated with a flag the walk cannot see.
            for taken in &frame.acquired {
                if rebound_in(stmt, &taken.place, self.model, self.file) {
                    continue;
                }
                let Some(path) = live.iter().find(|s| s.holds_must(&taken.place).is_some()) else {
                    continue;
                };
                if let Some(still) = path.holds_must(&taken.place) {
                    let certain = back.holds_must(&taken.place).is_some();
                    let via = still.at;
                    self.facts.double_locks.push(DoubleLock {
                        func: self.func,
                        first: taken.clone(),
                        second_mode: taken.mode,
                        chain: vec![taken.at],
                        certain,
                        via_loop: Some(via),
                    });
                }
            }
        }
        let mut exits = frame.breaks;
        if has_exit_condition {
            exits.push(state);
            exits.push(back);
        }
        State::merge(exits)
    }

    fn switch_stmt(&mut self, stmt: Node<'t>, mut state: State<'t>) -> State<'t> {
        let mut cursor = stmt.walk();
        let mut cases = Vec::new();
        for child in stmt.named_children(&mut cursor) {
            match child.kind() {
                "expression_case" | "type_case" | "default_case" => cases.push(child),
                "comment" => {}
                _ => self.scan(child, &mut state),
            }
        }
        let has_default = cases.iter().any(|c| c.kind() == "default_case");
        self.breakables.push(Breakable::new(false));
        let mut outs = Vec::new();
        self.cond_depth += 1;
        for case in cases {
            outs.push(self.block(case, state.clone()));
        }
        self.cond_depth -= 1;
        let frame = self.breakables.pop();
        if let Some(frame) = frame {
            outs.extend(frame.breaks);
        }
        if !has_default {
            outs.push(state);
        }
        State::merge(outs)
    }

    fn select_stmt(&mut self, stmt: Node<'t>, state: State<'t>) -> State<'t> {
        let mut cursor = stmt.walk();
        let cases: Vec<Node<'t>> = stmt
            .named_children(&mut cursor)
            .filter(|c| matches!(c.kind(), "communication_case" | "default_case"))
            .collect();
        self.breakables.push(Breakable::new(false));
        let mut outs = Vec::new();
        self.cond_depth += usize::from(cases.len() > 1);
        for case in &cases {
            let mut s = state.clone();
            if let Some(comm) = case.child_by_field_name("communication") {
                self.scan(comm, &mut s);
            }
            outs.push(self.block(*case, s));
        }
        self.cond_depth -= usize::from(cases.len() > 1);
        if let Some(frame) = self.breakables.pop() {
            outs.extend(frame.breaks);
        }
        if cases.is_empty() {
            return State {
                terminated: true,
                ..state
            };
        }
        State::merge(outs)
    }

    fn defer_stmt(&mut self, stmt: Node<'t>) {
        let Some(call) = stmt.named_child(0) else {
            return;
        };
        let mut unlocks = Vec::new();
        let function = call.child_by_field_name("function").map(unparen);
        let scope = match function {
            Some(f) if f.kind() == "func_literal" => f.child_by_field_name("body"),
            _ => Some(call),
        };
        if let Some(scope) = scope {
            let owner = match function {
                Some(f) if f.kind() == "func_literal" => self.model.func_of(self.file, f),
                _ => Some(self.func),
            };
            for node in descendants_same_func(scope) {
                if node.kind() != "call_expression" {
                    continue;
                }
                if let Some(op) = self.ops.get(&(self.file, node.id())) {
                    let op = &self.model.ops[*op];
                    if matches!(op.kind, OpKind::Unlock | OpKind::RUnlock) && Some(op.func) == owner
                    {
                        unlocks.push(op.target.place.clone());
                    }
                }
            }
        }
        // `defer s.unlock()`: a helper that releases what its caller holds.
        if function.is_some_and(|f| f.kind() != "func_literal") {
            if let Some((callee, recv)) = self.model.callee(self.func, call) {
                let summary = self
                    .facts
                    .summary(self.model, self.ops, callee, self.depth + 1);
                let args = syntax::call_arguments(call);
                for place in &summary.released_first {
                    if let Some(p) =
                        translate(self.model, self.func, callee, recv.as_ref(), &args, place)
                    {
                        unlocks.push(p);
                    }
                }
            }
        }
        self.deferred_unlocks.extend(unlocks);
    }

    /// Early returns that keep a lock the function releases elsewhere, when a call is
    /// involved on either side (GL018 covers a function's own Lock and Unlock).
    fn record_leaking_returns(&mut self) {
        let own_lock = |at: At<'t>| {
            self.ops
                .get(&(at.0, at.1.id()))
                .is_some_and(|i| self.model.ops[*i].func == self.func)
        };
        let mut reported: Vec<Place> = Vec::new();
        for (ret, held) in &self.early_exits {
            for h in held {
                if reported.contains(&h.place) {
                    continue;
                }
                let Some((_, released, released_in_callee)) =
                    self.releases.iter().find(|(p, _, _)| p == &h.place)
                else {
                    continue;
                };
                let acquired_in_callee = !own_lock(h.at);
                if !acquired_in_callee && !released_in_callee {
                    continue;
                }
                reported.push(h.place.clone());
                self.facts.leaking_returns.push(LeakingReturn {
                    func: self.func,
                    ret: (self.file, *ret),
                    held: h.clone(),
                    released: *released,
                    acquired_in_callee,
                    released_in_callee: *released_in_callee,
                });
            }
        }
    }

    /// The function is left with `state`.
    fn exit(&mut self, state: &State<'t>) {
        for h in &state.may {
            if self.deferred_unlocks.contains(&h.place) {
                continue;
            }
            if !self.translatable_out(&h.place) {
                continue;
            }
            let must = state.holds_must(&h.place).is_some();
            if let Some(existing) = self
                .summary
                .leaked
                .iter_mut()
                .find(|(l, _)| l.place == h.place)
            {
                existing.1 &= must;
            } else if self.summary.leaked.len() < MAX_SUMMARY {
                self.summary.leaked.push((h.clone(), must));
            }
        }
    }

    /// A place a caller can name: rooted at a receiver, parameter, package variable or a
    /// variable captured from an enclosing function (not one of this function's own locals).
    fn translatable_out(&self, place: &Place) -> bool {
        match &place.root {
            Root::Local(owner, _) => *owner != self.func,
            _ => true,
        }
    }

    /// Walk the expressions of one statement in source order, applying operations and calls.
    fn scan(&mut self, node: Node<'t>, state: &mut State<'t>) {
        for n in descendants_same_func(node) {
            match n.kind() {
                "call_expression" => self.call(n, state),
                "send_statement" | "unary_expression" | "range_clause"
                    if self.ops.contains_key(&(self.file, n.id())) =>
                {
                    self.facts
                        .held_at
                        .insert((self.file, n.id()), state.must.clone());
                }
                _ => {}
            }
        }
    }

    fn call(&mut self, call: Node<'t>, state: &mut State<'t>) {
        if let Some(index) = self.ops.get(&(self.file, call.id())).copied() {
            let op = &self.model.ops[index];
            let place = op.target.place.clone();
            let key = op.target.key.clone();
            match op.kind {
                OpKind::Lock | OpKind::RLock => {
                    let mode = if op.kind == OpKind::Lock {
                        Mode::Write
                    } else {
                        Mode::Read
                    };
                    let acquire = Acquire {
                        place,
                        key,
                        mode,
                        chain: vec![(self.file, call)],
                        conditional: false,
                    };
                    self.acquire(acquire, state);
                }
                OpKind::Unlock | OpKind::RUnlock => {
                    for frame in self.breakables.iter_mut().filter(|b| b.is_loop) {
                        frame.released.push(place.clone());
                    }
                    if state.holds_may(&place).is_some() && self.releases.len() < MAX_SUMMARY {
                        self.releases
                            .push((place.clone(), (self.file, call), false));
                    }
                    if !state.release(&place)
                        && !self.summary.released_first.contains(&place)
                        && self.summary.released_first.len() < MAX_SUMMARY
                    {
                        self.summary.released_first.push(place);
                    }
                }
                _ => {
                    self.facts
                        .held_at
                        .insert((self.file, call.id()), state.must.clone());
                }
            }
            return;
        }
        let Some((callee, recv)) = self.model.callee(self.func, call) else {
            return;
        };
        if self.model.funcs[callee].launched_by_go {
            return;
        }
        let summary = self
            .facts
            .summary(self.model, self.ops, callee, self.depth + 1);
        if summary.acquires.is_empty()
            && summary.leaked.is_empty()
            && summary.released_first.is_empty()
        {
            return;
        }
        let args = syntax::call_arguments(call);
        let (model, caller) = (self.model, self.func);
        let translate = |place: &Place| -> Option<Place> {
            translate(model, caller, callee, recv.as_ref(), &args, place)
        };
        for released in &summary.released_first {
            if let Some(p) = translate(released) {
                for frame in self.breakables.iter_mut().filter(|b| b.is_loop) {
                    frame.released.push(p.clone());
                }
                if state.release(&p) && self.releases.len() < MAX_SUMMARY {
                    self.releases.push((p, (self.file, call), true));
                }
            }
        }
        let leaked_here: Vec<(Place, bool)> = summary
            .leaked
            .iter()
            .filter_map(|(l, must)| translate(&l.place).map(|p| (p, *must)))
            .collect();
        for acquire in &summary.acquires {
            let Some(place) = translate(&acquire.place) else {
                continue;
            };
            let mut chain = Vec::with_capacity(acquire.chain.len() + 1);
            chain.push((self.file, call));
            chain.extend(acquire.chain.iter().copied());
            chain.truncate(MAX_CHAIN);
            let added = self.acquire(
                Acquire {
                    place: place.clone(),
                    key: acquire.key.clone(),
                    mode: acquire.mode,
                    chain,
                    conditional: acquire.conditional,
                },
                state,
            );
            // The callee released it again before returning, unless it also leaks it (on
            // every path, or on some: then it is only maybe held here).
            if added {
                match leaked_here.iter().find(|(p, _)| p == &place) {
                    Some((_, true)) => {}
                    Some((_, false)) => state.must.retain(|h| h.place != place),
                    None => {
                        state.release(&place);
                    }
                }
            }
        }
        for (leaked, must) in &summary.leaked {
            let Some(place) = translate(&leaked.place) else {
                continue;
            };
            let held = Held {
                place,
                key: leaked.key.clone(),
                mode: leaked.mode,
                at: leaked.at,
            };
            if *must {
                state.acquire(held);
            } else if state.holds_may(&held.place).is_none() {
                state.may.push(held);
            }
        }
    }

    /// Applies an acquisition; false when the lock was already held (a double lock).
    fn acquire(&mut self, acquire: Acquire<'t>, state: &mut State<'t>) -> bool {
        let must = state.holds_must(&acquire.place).cloned();
        let may = state.holds_may(&acquire.place).cloned();
        if let Some(first) = must.clone().or(may.clone()) {
            // Held on some paths only: usually a flag (`if !locked { mu.Lock() }`) keeps the
            // two apart, which the walk cannot see; report only what every path does.
            if must.is_some() && !acquire.conditional {
                self.facts.double_locks.push(DoubleLock {
                    func: self.func,
                    first,
                    second_mode: acquire.mode,
                    chain: acquire.chain.clone(),
                    certain: must.is_some(),
                    via_loop: None,
                });
            }
            return false;
        }
        if let Some(inner) = acquire.key.as_ref().filter(|_| !acquire.conditional) {
            for outer in &state.must {
                if let Some(outer_key) = &outer.key {
                    if outer_key != inner && self.facts.order_edges.len() < MAX_EDGES {
                        self.facts.order_edges.push(OrderEdge {
                            func: self.func,
                            outer: outer_key.clone(),
                            inner: inner.clone(),
                            outer_at: outer.at,
                            chain: acquire.chain.clone(),
                        });
                    }
                }
            }
        }
        let held = Held {
            place: acquire.place.clone(),
            key: acquire.key.clone(),
            mode: acquire.mode,
            at: *acquire
                .chain
                .first()
                .unwrap_or(&(self.file, self.model.funcs[self.func].node)),
        };
        if let Some(frame) = self
            .breakables
            .iter_mut()
            .rev()
            .find(|b| b.is_loop)
            .filter(|f| !f.released.contains(&acquire.place) && !acquire.conditional)
        {
            frame.acquired.push(Held {
                at: *acquire.chain.last().unwrap_or(&held.at),
                ..held.clone()
            });
        }
        state.acquire(held);
        if !self.summary.released_first.contains(&acquire.place)
            && self.translatable_out(&acquire.place)
            && self.summary.acquires.len() < MAX_SUMMARY
            && !self
                .summary
                .acquires
                .iter()
                .any(|a| a.place == acquire.place && a.mode == acquire.mode)
        {
            let conditional = acquire.conditional || self.cond_depth > 0;
            self.summary.acquires.push(Acquire {
                conditional,
                ..acquire
            });
        }
        true
    }
}

/// A callee's place in the caller's terms: its receiver and parameters become the call's
/// receiver and arguments; captured variables and package variables stay as they are; the
/// callee's own locals have no name in the caller.
fn translate(
    model: &PackageModel<'_>,
    caller: FuncId,
    callee: FuncId,
    recv: Option<&super::model::Resolved>,
    args: &[Node<'_>],
    place: &Place,
) -> Option<Place> {
    let base = match &place.root {
        Root::Recv(f) if *f == callee => recv?.place.clone(),
        Root::Param(f, i) if *f == callee => model.resolve(caller, *args.get(*i)?)?.place,
        Root::Local(f, _) | Root::Recv(f) | Root::Param(f, _) => {
            if is_inside(model, *f, callee) {
                return None;
            }
            return Some(place.clone());
        }
        Root::Global(_) => return Some(place.clone()),
    };
    let mut out = base;
    out.fields.extend(place.fields.iter().cloned());
    Some(out)
}

/// The place's root variable is assigned inside the loop (`p = p.parent`, a range variable):
/// each iteration locks another object, hand over hand.
fn rebound_in(for_stmt: Node<'_>, place: &Place, model: &PackageModel<'_>, file: usize) -> bool {
    let name = match &place.root {
        // An element (`locks[j]`): the index may change every iteration.
        Root::Local(_, name) if name.starts_with('#') => return true,
        Root::Local(_, name) => name.as_str(),
        Root::Param(f, i) => match model.funcs[*f].params.get(*i) {
            Some((name, _)) => name.as_str(),
            None => return false,
        },
        Root::Recv(f) => match &model.funcs[*f].recv {
            Some((name, _)) => name.as_str(),
            None => return false,
        },
        Root::Global(_) => return false,
    };
    let src = model.src(file);
    descendants_same_func(for_stmt).any(|n| {
        let left = match n.kind() {
            "assignment_statement" | "short_var_declaration" | "range_clause" => {
                n.child_by_field_name("left")
            }
            _ => None,
        };
        left.is_some_and(|l| {
            crate::facts::named_list(l)
                .iter()
                .any(|x| x.kind() == "identifier" && text(*x, src) == name)
        })
    })
}

/// `func` is `outer` or nested inside it.
fn is_inside(model: &PackageModel<'_>, func: FuncId, outer: FuncId) -> bool {
    let mut current = Some(func);
    while let Some(f) = current {
        if f == outer {
            return true;
        }
        current = model.funcs[f].parent;
    }
    false
}

/// Lock mode in words.
pub(crate) fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Write => "Lock",
        Mode::Read => "RLock",
    }
}

/// The source text of a node, for messages.
pub(crate) fn snippet<'t>(model: &PackageModel<'t>, at: At<'t>) -> &'t str {
    let t = text(at.1, model.src(at.0));
    t.lines().next().unwrap_or(t)
}
