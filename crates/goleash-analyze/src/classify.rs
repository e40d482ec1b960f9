//! Maps a wait reason (or, for formats without one, the runtime frames of the stack) to a
//! category: what kind of wait it is and which lifecycle edge ends it.

use goleash_model::Frame;
use serde::Serialize;

/// What a goroutine waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ChanReceive,
    ChanSend,
    NilChan,
    Select,
    SelectNoCases,
    Cond,
    Mutex,
    RwMutex,
    WaitGroup,
    Semacquire,
    IoWait,
    Sleep,
    Syscall,
    Coroutine,
    Running,
    Synctest,
    Runtime,
    Unknown,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::ChanReceive => "channel receive",
            Category::ChanSend => "channel send",
            Category::NilChan => "nil channel",
            Category::Select => "select",
            Category::SelectNoCases => "empty select",
            Category::Cond => "sync.Cond wait",
            Category::Mutex => "mutex lock",
            Category::RwMutex => "RWMutex lock",
            Category::WaitGroup => "WaitGroup wait",
            Category::Semacquire => "semaphore",
            Category::IoWait => "network I/O wait",
            Category::Sleep => "sleep",
            Category::Syscall => "system call",
            Category::Coroutine => "coroutine (iter.Pull)",
            Category::Running => "running",
            Category::Synctest => "synctest bubble",
            Category::Runtime => "runtime internal",
            Category::Unknown => "unknown wait",
        }
    }

    /// True when a goroutine waiting like this can wait forever because of a lifecycle bug.
    pub fn can_leak(self) -> bool {
        !matches!(
            self,
            Category::Running | Category::Runtime | Category::Synctest | Category::Unknown
        )
    }

    /// Waits the runtime's leak-detecting GC checks (its candidate wait reasons): for these,
    /// "not leaked" after a leak GC means something alive can still reach the primitive.
    pub fn checked_by_leak_gc(self) -> bool {
        matches!(
            self,
            Category::ChanReceive
                | Category::ChanSend
                | Category::Select
                | Category::Cond
                | Category::Mutex
                | Category::RwMutex
                | Category::WaitGroup
        )
    }

    /// The lifecycle edge to fix, in words.
    pub fn hint(self) -> &'static str {
        match self {
            Category::ChanReceive => {
                "nobody sends on or closes this channel any more: make the producer own the channel and `close` it when done (defer close(ch)), or add a `case <-ctx.Done(): return` so the receiver can leave"
            }
            Category::ChanSend => {
                "the receiver is gone (forgotten sender) or too slow (backpressure): give the channel a buffer of 1 when exactly one result is sent, or send inside `select { case ch <- v: case <-ctx.Done(): return }`"
            }
            Category::NilChan => {
                "an operation on a nil channel blocks forever: the channel was never made (missing `make`) or was set to nil outside a select"
            }
            Category::Select => {
                "none of the select's cases can proceed: add a `case <-ctx.Done(): return` (or a done channel that the owner closes) so the loop has an exit"
            }
            Category::SelectNoCases => {
                "`select {}` blocks forever: outside main, replace it with a wait on ctx.Done() or a done channel"
            }
            Category::Cond => {
                "nobody calls Signal/Broadcast any more: broadcast on shutdown, and wait in a loop that re-checks the condition and a closed flag"
            }
            Category::Mutex => {
                "the lock's owner never unlocks: find the holder (a goroutine blocked while holding it, a missing Unlock on an early return, or two locks taken in opposite orders) and `defer mu.Unlock()` right after Lock"
            }
            Category::RwMutex => {
                "a writer or reader holds the RWMutex forever, or a recursive RLock waits behind a pending Lock: release on every path (defer) and never re-acquire a read lock while holding one"
            }
            Category::WaitGroup => {
                "a Done is missing: call `defer wg.Done()` first thing in every goroutine counted by Add, on every path, and Add before `go`"
            }
            Category::Semacquire => {
                "blocked on a runtime semaphore (sync internals): look at the frame above it to see which lock or group it belongs to"
            }
            Category::IoWait => {
                "a read or write on a connection with no deadline: set a deadline (SetReadDeadline, http.Client.Timeout, context with timeout) or close the connection when its owner is done"
            }
            Category::Sleep => {
                "a sleep or timer in a loop with no exit: use a time.Ticker with `defer t.Stop()` in a select that also waits on ctx.Done()"
            }
            Category::Syscall => {
                "blocked in a system call: give the call a timeout or close the file descriptor from its owner"
            }
            Category::Coroutine => {
                "an iter.Pull coroutine whose stop function was never called: `defer stop()` right after iter.Pull"
            }
            Category::Running => "running or runnable: not blocked",
            Category::Synctest => "inside a testing/synctest bubble: durable waits end with the bubble",
            Category::Runtime => "a runtime-internal goroutine",
            Category::Unknown => {
                "the wait reason is unknown in this format: take a debug=2 dump (wait reasons, wait times, creators) or the goroutineleak profile"
            }
        }
    }
}

/// Classifies by wait reason when the format has one, otherwise by the stack's frames.
/// Returns the category and whether it was inferred from frames.
pub fn classify<'a>(
    state: Option<&str>,
    frames: impl IntoIterator<Item = &'a Frame>,
) -> (Category, bool) {
    if let Some(state) = state {
        let category = from_state(state);
        if category != Category::Unknown {
            return (category, false);
        }
    }
    (from_frames(frames), true)
}

fn from_state(state: &str) -> Category {
    match state {
        "chan receive" => Category::ChanReceive,
        "chan send" => Category::ChanSend,
        "chan receive (nil chan)" | "chan send (nil chan)" => Category::NilChan,
        "select" => Category::Select,
        "select (no cases)" => Category::SelectNoCases,
        "sync.Cond.Wait" => Category::Cond,
        "sync.Mutex.Lock" => Category::Mutex,
        "sync.RWMutex.RLock" | "sync.RWMutex.Lock" => Category::RwMutex,
        "sync.WaitGroup.Wait" => Category::WaitGroup,
        "semacquire" => Category::Semacquire,
        "IO wait" => Category::IoWait,
        "sleep" => Category::Sleep,
        "syscall" => Category::Syscall,
        "coroutine" => Category::Coroutine,
        "running" | "runnable" | "preempted" => Category::Running,
        "synctest.Run"
        | "synctest.Wait"
        | "chan receive (durable)"
        | "chan send (durable)"
        | "select (durable)"
        | "sync.WaitGroup.Wait (durable)" => Category::Synctest,
        "GC assist marking"
        | "dumping heap"
        | "garbage collection"
        | "garbage collection scan"
        | "panicwait"
        | "GC assist wait"
        | "GC sweep wait"
        | "GC scavenge wait"
        | "finalizer wait"
        | "force gc (idle)"
        | "GOMAXPROCS updater (idle)"
        | "trace reader (blocked)"
        | "wait for GC cycle"
        | "GC worker (idle)"
        | "GC worker (active)"
        | "debug call"
        | "GC mark termination"
        | "stopping the world"
        | "flushing proc caches"
        | "trace goroutine status"
        | "trace proc status"
        | "page trace flush"
        | "GC weak to strong wait"
        | "cleanup wait"
        | "idle"
        | "dead"
        | "copystack"
        | "waiting for cgo callback"
        | "timer goroutine (idle)" => Category::Runtime,
        _ => Category::Unknown,
    }
}

/// Infers the wait from the frames a profile keeps (leaf first): the runtime's own blocking
/// functions in protobuf profiles, the standard library's in every format.
fn from_frames<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Category {
    // The runtime's semaphore sits under every sync primitive: it only counts when no frame
    // further out names the primitive.
    let mut semaphore = false;
    for frame in frames {
        let f = &*frame.function;
        let category = match f {
            "runtime.chanrecv" | "runtime.chanrecv1" | "runtime.chanrecv2" => Category::ChanReceive,
            "runtime.chansend" | "runtime.chansend1" => Category::ChanSend,
            "runtime.selectgo" => Category::Select,
            "runtime.block" => Category::SelectNoCases,
            "sync.runtime_notifyListWait" | "sync.(*Cond).Wait" => Category::Cond,
            "sync.runtime_SemacquireWaitGroup" | "sync.(*WaitGroup).Wait" => Category::WaitGroup,
            "sync.(*RWMutex).RLock"
            | "sync.(*RWMutex).Lock"
            | "sync.runtime_SemacquireRWMutex"
            | "sync.runtime_SemacquireRWMutexR" => Category::RwMutex,
            "sync.(*Mutex).Lock"
            | "internal/sync.(*Mutex).Lock"
            | "internal/sync.(*Mutex).lockSlow"
            | "sync.runtime_SemacquireMutex"
            | "internal/sync.runtime_SemacquireMutex" => Category::Mutex,
            "internal/poll.runtime_pollWait" => Category::IoWait,
            "time.Sleep" => Category::Sleep,
            "runtime.coroswitch" => Category::Coroutine,
            "runtime.goroutineProfileWithLabels" | "runtime.Stack" => Category::Running,
            "syscall.Syscall"
            | "syscall.Syscall6"
            | "syscall.RawSyscall"
            | "syscall.RawSyscall6"
            | "internal/runtime/syscall.Syscall6" => Category::Syscall,
            "runtime.semacquire" | "runtime.semacquire1" | "sync.runtime_Semacquire" => {
                semaphore = true;
                continue;
            }
            _ => continue,
        };
        return category;
    }
    if semaphore {
        Category::Semacquire
    } else {
        Category::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str) -> Frame {
        Frame {
            function: function.into(),
            file: "x.go".into(),
            line: 1,
        }
    }

    #[test]
    fn state_wins_over_frames() {
        let frames = [frame("runtime.gopark"), frame("runtime.selectgo")];
        assert_eq!(
            classify(Some("chan send"), &frames),
            (Category::ChanSend, false)
        );
        assert_eq!(classify(None, &frames), (Category::Select, true));
        assert_eq!(
            classify(Some("chan receive (nil chan)"), &frames).0,
            Category::NilChan
        );
    }

    /// runtime2.go `waitReasonStrings` of Go 1.27, in enum order, plus the G status strings a
    /// header shows for goroutines that are not waiting.
    const GO_1_27_STATES: &[&str] = &[
        "GC assist marking",
        "IO wait",
        "dumping heap",
        "garbage collection",
        "garbage collection scan",
        "panicwait",
        "GC assist wait",
        "GC sweep wait",
        "GC scavenge wait",
        "finalizer wait",
        "force gc (idle)",
        "GOMAXPROCS updater (idle)",
        "semacquire",
        "sleep",
        "chan receive (nil chan)",
        "chan send (nil chan)",
        "select (no cases)",
        "select",
        "chan receive",
        "chan send",
        "sync.Cond.Wait",
        "sync.Mutex.Lock",
        "sync.RWMutex.RLock",
        "sync.RWMutex.Lock",
        "sync.WaitGroup.Wait",
        "trace reader (blocked)",
        "wait for GC cycle",
        "GC worker (idle)",
        "GC worker (active)",
        "preempted",
        "debug call",
        "GC mark termination",
        "stopping the world",
        "flushing proc caches",
        "trace goroutine status",
        "trace proc status",
        "page trace flush",
        "coroutine",
        "GC weak to strong wait",
        "synctest.Run",
        "synctest.Wait",
        "chan receive (durable)",
        "chan send (durable)",
        "select (durable)",
        "sync.WaitGroup.Wait (durable)",
        "cleanup wait",
        "idle",
        "runnable",
        "running",
        "syscall",
        "dead",
        "copystack",
        "waiting for cgo callback",
    ];

    #[test]
    fn every_go_1_27_wait_reason_has_a_category() {
        for state in GO_1_27_STATES {
            let (category, inferred) = classify(Some(state), &[]);
            assert_ne!(category, Category::Unknown, "{state}");
            assert!(!inferred, "{state}");
        }
        // The leak GC's candidates are exactly the waits it checks.
        let candidates: Vec<&str> = GO_1_27_STATES
            .iter()
            .copied()
            .filter(|s| classify(Some(s), &[]).0.checked_by_leak_gc())
            .collect();
        assert_eq!(
            candidates,
            [
                "select",
                "chan receive",
                "chan send",
                "sync.Cond.Wait",
                "sync.Mutex.Lock",
                "sync.RWMutex.RLock",
                "sync.RWMutex.Lock",
                "sync.WaitGroup.Wait"
            ]
        );
        // A status no Go version printed yet falls back to the frames.
        assert_eq!(classify(Some("waiting"), &[]), (Category::Unknown, true));
    }

    #[test]
    fn inferred_from_stdlib_frames_without_runtime_frames() {
        // debug=1 text hides runtime frames but keeps sync's and internal/poll's.
        let frames = [
            frame("sync.runtime_SemacquireWaitGroup"),
            frame("sync.(*WaitGroup).Wait"),
            frame("main.f"),
        ];
        assert_eq!(classify(None, &frames).0, Category::WaitGroup);
        let frames = [
            frame("internal/poll.runtime_pollWait"),
            frame("internal/poll.(*pollDesc).wait"),
        ];
        assert_eq!(classify(None, &frames).0, Category::IoWait);
        assert_eq!(classify(None, &[frame("main.f")]).0, Category::Unknown);
    }
}
