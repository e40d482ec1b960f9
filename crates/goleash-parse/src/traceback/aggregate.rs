//! Aggregating goroutines into groups by a byte signature, interning only new ones.

use super::*;

/// Aggregates goroutines into groups keyed by their byte signature.
#[derive(Default)]
pub(super) struct Aggregator {
    pub(super) interner: Interner,
    pub(super) groups: Vec<RawGroup>,
    pub(super) by_signature: FxHashMap<Box<[u8]>, usize>,
    pub(super) by_key: FxHashMap<GroupKey, usize>,
    pub(super) uncounted: Uncounted,
}

impl Aggregator {
    pub(super) fn into_snapshot(self) -> Snapshot {
        Snapshot {
            interner: self.interner,
            // A group emptied by removing a crash duplicate is no group.
            groups: self
                .groups
                .into_iter()
                .filter(|g| g.stats.count > 0)
                .collect(),
            ..Snapshot::default()
        }
    }

    /// Takes one goroutine back out of a group: a crash dump printed it again, with a stack.
    pub(super) fn remove_one(&mut self, index: usize, id: u64) {
        if let Some(group) = self.groups.get_mut(index) {
            let stats = &mut group.stats;
            stats.count = stats.count.saturating_sub(1);
            stats.ids.retain(|&i| i != id);
        }
    }

    pub(super) fn add(&mut self, record: &Record<'_>, signature: &[u8]) -> Result<usize, String> {
        let index = match self.by_signature.get(signature) {
            Some(&index) => index,
            None => {
                let key = self.intern_key(record)?;
                let index = match self.by_key.get(&key) {
                    Some(&index) => index,
                    None => {
                        self.groups.push(RawGroup {
                            key,
                            stats: GroupStats::default(),
                        });
                        self.by_key.insert(key, self.groups.len() - 1);
                        self.groups.len() - 1
                    }
                };
                self.by_signature.insert(signature.into(), index);
                index
            }
        };
        let stats = &mut self.groups[index].stats;
        stats.add_goroutine(Some(record.id), record.wait_minutes, record.creator_id);
        stats.elided |= record.elided;
        Ok(index)
    }

    pub(super) fn intern_key(&mut self, record: &Record<'_>) -> Result<GroupKey, String> {
        let stack = self.intern_frames(&record.frames);
        let creator = record.creator.map(|f| self.intern_frame(&f));
        let labels = match record.labels {
            Some(raw) => {
                let pairs = parse_labels(raw)?;
                self.interner.intern_labels(pairs)
            }
            None => LabelsId(0),
        };
        let ancestry = if record.ancestor_ends.is_empty() {
            AncestryId(0)
        } else {
            let mut stacks = Vec::with_capacity(record.ancestor_ends.len());
            let mut start = 0;
            for &end in &record.ancestor_ends {
                stacks.push(self.intern_frames(&record.ancestor_frames[start..end]));
                start = end;
            }
            self.interner.intern_ancestry(&stacks)
        };
        let state = self
            .interner
            .intern_state(&String::from_utf8_lossy(record.state));
        Ok(GroupKey {
            stack,
            state: Some(state),
            creator,
            labels,
            ancestry,
            leaked: record.leaked,
            locked_to_thread: record.locked,
        })
    }

    pub(super) fn intern_frames(&mut self, frames: &[RawFrame<'_>]) -> StackId {
        let ids: Vec<FrameId> = frames.iter().map(|f| self.intern_frame(f)).collect();
        self.interner.intern_stack(&ids)
    }

    pub(super) fn intern_frame(&mut self, frame: &RawFrame<'_>) -> FrameId {
        self.interner.intern_frame(Frame {
            function: String::from_utf8_lossy(frame.function).into(),
            file: String::from_utf8_lossy(frame.file).into(),
            line: frame.line,
        })
    }
}
