use rustc_hash::FxHashMap;

use crate::Frame;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// An interned frame: function, file and line.
    FrameId
);
id_type!(
    /// An interned stack: frames leaf first.
    StackId
);
id_type!(
    /// An interned, sorted set of pprof labels. `LabelsId(0)` is the empty set.
    LabelsId
);
id_type!(
    /// An interned state string such as `chan receive` (modifiers stripped).
    StateId
);
id_type!(
    /// An interned ancestry: the stacks of the goroutines that created this one, nearest
    /// first, as `GODEBUG=tracebackancestors=N` prints them. `AncestryId(0)` is "none known".
    AncestryId
);

/// One pprof label: key and value.
pub type Label = (Box<str>, Box<str>);

/// Interns frames, stacks, label sets, states and ancestries so that each distinct value is
/// stored once and compared by id.
#[derive(Debug)]
pub struct Interner {
    frames: Vec<Frame>,
    frame_index: FxHashMap<Frame, FrameId>,
    stacks: Vec<Box<[FrameId]>>,
    stack_index: FxHashMap<Box<[FrameId]>, StackId>,
    labels: Vec<Box<[Label]>>,
    labels_index: FxHashMap<Box<[Label]>, LabelsId>,
    states: Vec<Box<str>>,
    state_index: FxHashMap<Box<str>, StateId>,
    ancestries: Vec<Box<[Ancestor]>>,
    ancestry_index: FxHashMap<Box<[Ancestor]>, AncestryId>,
}

/// One ancestor of a goroutine: the stack it had when it created its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ancestor {
    pub stack: StackId,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            frames: Vec::new(),
            frame_index: FxHashMap::default(),
            stacks: Vec::new(),
            stack_index: FxHashMap::default(),
            labels: Vec::new(),
            labels_index: FxHashMap::default(),
            states: Vec::new(),
            state_index: FxHashMap::default(),
            ancestries: Vec::new(),
            ancestry_index: FxHashMap::default(),
        };
        interner.intern_labels(Vec::new());
        interner.intern_ancestry(&[]);
        interner
    }
}

impl Interner {
    pub fn frame(&self, id: FrameId) -> &Frame {
        &self.frames[id.index()]
    }

    pub fn stack(&self, id: StackId) -> &[FrameId] {
        &self.stacks[id.index()]
    }

    pub fn labels(&self, id: LabelsId) -> &[Label] {
        &self.labels[id.index()]
    }

    pub fn state(&self, id: StateId) -> &str {
        &self.states[id.index()]
    }

    /// Ancestor stacks, nearest first.
    pub fn ancestry(&self, id: AncestryId) -> impl Iterator<Item = StackId> + '_ {
        self.ancestries[id.index()].iter().map(|a| a.stack)
    }

    pub fn stack_count(&self) -> usize {
        self.stacks.len()
    }

    /// Every interned frame with its id.
    pub fn frames(&self) -> impl Iterator<Item = (FrameId, &Frame)> + '_ {
        self.frames
            .iter()
            .enumerate()
            .map(|(i, f)| (FrameId(i as u32), f))
    }

    pub fn intern_frame(&mut self, frame: Frame) -> FrameId {
        if let Some(&id) = self.frame_index.get(&frame) {
            return id;
        }
        let id = FrameId(self.frames.len() as u32);
        self.frames.push(frame.clone());
        self.frame_index.insert(frame, id);
        id
    }

    pub fn intern_stack(&mut self, frames: &[FrameId]) -> StackId {
        if let Some(&id) = self.stack_index.get(frames) {
            return id;
        }
        let id = StackId(self.stacks.len() as u32);
        let boxed: Box<[FrameId]> = frames.into();
        self.stacks.push(boxed.clone());
        self.stack_index.insert(boxed, id);
        id
    }

    /// Interns a label set; the order of `pairs` does not matter.
    pub fn intern_labels(&mut self, mut pairs: Vec<Label>) -> LabelsId {
        pairs.sort();
        let boxed: Box<[Label]> = pairs.into();
        if let Some(&id) = self.labels_index.get(&boxed) {
            return id;
        }
        let id = LabelsId(self.labels.len() as u32);
        self.labels.push(boxed.clone());
        self.labels_index.insert(boxed, id);
        id
    }

    pub fn intern_state(&mut self, state: &str) -> StateId {
        if let Some(&id) = self.state_index.get(state) {
            return id;
        }
        let id = StateId(self.states.len() as u32);
        self.states.push(state.into());
        self.state_index.insert(state.into(), id);
        id
    }

    /// Interns an ancestry, nearest ancestor first.
    pub fn intern_ancestry(&mut self, stacks: &[StackId]) -> AncestryId {
        let key: Box<[Ancestor]> = stacks.iter().map(|&stack| Ancestor { stack }).collect();
        if let Some(&id) = self.ancestry_index.get(&key) {
            return id;
        }
        let id = AncestryId(self.ancestries.len() as u32);
        self.ancestries.push(key.clone());
        self.ancestry_index.insert(key, id);
        id
    }

    /// Copies a frame of another interner into this one.
    pub fn import_frame(&mut self, other: &Interner, id: FrameId) -> FrameId {
        self.intern_frame(other.frame(id).clone())
    }

    /// Copies a stack of another interner into this one.
    pub fn import_stack(&mut self, other: &Interner, id: StackId) -> StackId {
        let frames: Vec<FrameId> = other
            .stack(id)
            .iter()
            .map(|&f| self.import_frame(other, f))
            .collect();
        self.intern_stack(&frames)
    }

    pub fn import_labels(&mut self, other: &Interner, id: LabelsId) -> LabelsId {
        if id == LabelsId(0) {
            return id;
        }
        self.intern_labels(other.labels(id).to_vec())
    }

    pub fn import_state(&mut self, other: &Interner, id: StateId) -> StateId {
        self.intern_state(other.state(id))
    }

    pub fn import_ancestry(&mut self, other: &Interner, id: AncestryId) -> AncestryId {
        if id == AncestryId(0) {
            return id;
        }
        let stacks: Vec<StackId> = other
            .ancestry(id)
            .map(|s| self.import_stack(other, s))
            .collect();
        self.intern_ancestry(&stacks)
    }
}
