//! SIGINT, SIGTERM and SIGHUP to goleash stop `go test` and every test binary it started.
//!
//! `go test` runs in a process group of its own (the go command, its test binaries and
//! whatever those start), and goleash forwards the signal to that whole group: killing only
//! the go command would orphan test binaries that run on until their `-timeout`. Because the
//! group is not the terminal's foreground group, a Ctrl-C reaches goleash alone, so the
//! forwarding is also what stops the tests on Ctrl-C. A test binary that ignores the signal is
//! killed after a grace period, or at once on a second signal. goleash then returns an
//! [`crate::Error`] carrying the signal, so its temporary directory is removed on the way out.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The process group of the running `go test`, 0 when none runs.
static GROUP: AtomicI32 = AtomicI32::new(0);
/// The first signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static COUNT: AtomicU32 = AtomicU32::new(0);

/// How long a test binary may take to end after the forwarded signal before it is killed.
const GRACE: Duration = Duration::from_secs(3);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: atomics and kill(2).
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    let second = COUNT.fetch_add(1, Ordering::SeqCst) > 0;
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        let forwarded = if second { libc::SIGKILL } else { signal };
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
        unsafe {
            libc::kill(-group, forwarded);
        }
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP for the rest of the process (once).
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a zeroed sigaction is valid; the handler only does async-signal-safe
            // work; SA_RESTART keeps blocking reads of go test's pipes going.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// The signal that interrupted the run, if one did.
pub(crate) fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// `SIGTERM`, `SIGINT`, …
pub(crate) fn name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        other => format!("signal {other}"),
    }
}

/// The running `go test`'s process group: signals are forwarded to it until dropped.
pub(crate) struct Group {
    id: i32,
}

impl Group {
    /// Starts forwarding to group `id` (the pid of a child spawned with `process_group(0)`).
    pub(crate) fn enter(id: u32) -> Group {
        let id = i32::try_from(id).unwrap_or(0);
        GROUP.store(id, Ordering::SeqCst);
        // A signal that came between the spawn and now was not forwarded yet.
        if let Some(signal) = received() {
            signal_group(id, signal);
        }
        Group { id }
    }

    /// After a signal: waits until no process of the group is left, killing it after the
    /// grace period, so that goleash does not return while test binaries still run.
    pub(crate) fn reap(&self) {
        if received().is_none() || self.id <= 0 {
            return;
        }
        let started = Instant::now();
        let mut killed = false;
        while group_alive(self.id) {
            if !killed && started.elapsed() >= GRACE {
                signal_group(self.id, libc::SIGKILL);
                killed = true;
            }
            if started.elapsed() >= GRACE * 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The grace period's watchdog while goleash still waits for go test's pipes: a test
    /// binary that ignores the forwarded signal and holds the pipes open is killed.
    pub(crate) fn watchdog(&self, done: &std::sync::atomic::AtomicBool) {
        let mut since: Option<Instant> = None;
        while !done.load(Ordering::SeqCst) {
            if received().is_some() {
                let since = *since.get_or_insert_with(Instant::now);
                if since.elapsed() >= GRACE {
                    signal_group(self.id, libc::SIGKILL);
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = GROUP.compare_exchange(self.id, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

fn signal_group(id: i32, signal: i32) {
    if id > 0 {
        // SAFETY: see on_signal.
        unsafe {
            libc::kill(-id, signal);
        }
    }
}

/// Whether a process of group `id` still runs; zombies do not count (in a container without
/// an init that reaps them, they would stay forever).
fn group_alive(id: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // SAFETY: signal 0 only checks for existence.
        return unsafe { libc::kill(-id, 0) } == 0;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap_or("");
        let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        group == Some(id) && state != "Z" && state != "X"
    })
}
