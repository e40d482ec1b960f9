//! goleak-style ignores: by the function at the top of the stack, by any function in the
//! stack, or by the function whose `go` statement started the goroutine. The same rules go to
//! the generated check (GOLEASH_TEST_IGNORE) so it does not wait for ignored goroutines.

use goleash_analyze::is_runtime_frame;
use goleash_model::{RawGroup, Snapshot};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IgnoreKind {
    /// The first frame outside package runtime.
    Top,
    /// Any frame of the goroutine's own stack.
    Any,
    /// The `created by` function.
    CreatedBy,
}

impl IgnoreKind {
    fn word(self) -> &'static str {
        match self {
            IgnoreKind::Top => "top",
            IgnoreKind::Any => "any",
            IgnoreKind::CreatedBy => "created-by",
        }
    }
}

/// One ignore rule: a function name, or a prefix when it ends in `*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ignore {
    pub kind: IgnoreKind,
    pub function: String,
}

/// Goroutines of the standard library and the test harness that outlive tests by design.
pub const DEFAULT_IGNORES: &[(IgnoreKind, &str)] = &[
    (IgnoreKind::Top, "testing.RunTests"),
    (IgnoreKind::Top, "testing.(*T).Run"),
    (IgnoreKind::Top, "testing.(*T).Parallel"),
    (IgnoreKind::Top, "testing.(*F).Fuzz.func1"),
    (IgnoreKind::Top, "testing.runFuzzing"),
    (IgnoreKind::Top, "testing.runFuzzTests"),
    (IgnoreKind::Any, "testing.(*M).startAlarm"),
    (IgnoreKind::Any, "os/signal.signal_recv"),
    (IgnoreKind::Any, "os/signal.loop"),
    (IgnoreKind::Any, "runtime.ReadTrace"),
    (IgnoreKind::Any, "runtime/trace.Start.func1"),
    (IgnoreKind::Any, "runtime/pprof.profileWriter"),
];

impl Ignore {
    pub fn new(kind: IgnoreKind, function: impl Into<String>) -> Ignore {
        Ignore {
            kind,
            function: function.into(),
        }
    }

    pub fn defaults() -> Vec<Ignore> {
        DEFAULT_IGNORES
            .iter()
            .map(|&(kind, f)| Ignore::new(kind, f))
            .collect()
    }

    fn matches(&self, function: &str) -> bool {
        match self.function.strip_suffix('*') {
            Some(prefix) => function.starts_with(prefix),
            None => function == self.function,
        }
    }

    /// Whether the rule drops the goroutines of `raw`.
    pub fn drops(&self, snapshot: &Snapshot, raw: &RawGroup) -> bool {
        let interner = &snapshot.interner;
        let mut frames = interner
            .stack(raw.key.stack)
            .iter()
            .map(|&f| &*interner.frame(f).function);
        match self.kind {
            IgnoreKind::Top => frames
                .find(|f| !is_runtime_frame(f))
                .is_some_and(|f| self.matches(f)),
            IgnoreKind::Any => frames.any(|f| self.matches(f)),
            IgnoreKind::CreatedBy => raw
                .key
                .creator
                .is_some_and(|c| self.matches(&interner.frame(c).function)),
        }
    }
}

/// The rules as the generated check reads them from GOLEASH_TEST_IGNORE.
pub(crate) fn encode(ignores: &[Ignore]) -> String {
    ignores
        .iter()
        .map(|i| format!("{} {}", i.kind.word(), i.function))
        .collect::<Vec<_>>()
        .join("\n")
}
