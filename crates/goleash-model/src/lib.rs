//! One snapshot model for every goroutine dump and profile format.
//!
//! Parsers aggregate while they read: goroutines with the same stack, state, creator, labels
//! and ancestry collapse into one [`RawGroup`] at parse time, so memory grows with the number
//! of distinct stacks, not with the number of goroutines.

#![warn(unreachable_pub)]

mod intern;
mod snapshot;
pub mod units;

pub use intern::{AncestryId, FrameId, Interner, Label, LabelsId, StackId, StateId};
pub use snapshot::{
    DumpFormat, Frame, GroupKey, GroupStats, Missing, ProfileKind, RawGroup, RuntimeProof,
    Snapshot, SourceInfo, SAMPLE_IDS,
};
