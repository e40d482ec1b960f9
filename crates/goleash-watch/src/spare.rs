//! Threads kept for the heavy requests (debug=2, goroutineleak) that must be able to outlive
//! their scrape. Starting a thread for each was a twentieth of the watcher's CPU (clone,
//! guard pages, signal stack, teardown) at one full round in ten; a thread that finished
//! one waits a while for the next instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;
/// An idle thread: its number, and the sender of its own queue.
type Idle = (u64, Sender<Job>);

/// How long a spare thread waits for work before it ends: long enough to span the rounds of
/// any usual `--interval`, short enough that a burst of overrunning requests (one thread
/// each, for up to ten minutes) does not leave hundreds of idle threads behind.
const IDLE: Duration = Duration::from_secs(120);

static IDLE_THREADS: OnceLock<Mutex<Vec<Idle>>> = OnceLock::new();
static STARTED: AtomicU64 = AtomicU64::new(0);

fn idle_threads() -> &'static Mutex<Vec<Idle>> {
    IDLE_THREADS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Runs `job` on an idle spare thread, or on a new one; false (and `job` dropped) when no
/// thread can be started, for the caller to work in line.
pub(crate) fn run(job: Job) -> bool {
    let mut job = job;
    loop {
        let idle = idle_threads()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let Some((_, sender)) = idle else { break };
        // A thread taken off the list never ends without reading its queue (see `serve`),
        // so this fails only if it panicked.
        match sender.send(job) {
            Ok(()) => return true,
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (sender, queue) = mpsc::channel::<Job>();
    if sender.send(job).is_err() {
        return false;
    }
    std::thread::Builder::new()
        .name("scrape-heavy".into())
        .spawn(move || serve(STARTED.fetch_add(1, Ordering::Relaxed), &sender, &queue))
        .is_ok()
}

fn serve(number: u64, sender: &Sender<Job>, queue: &Receiver<Job>) {
    loop {
        match queue.recv_timeout(IDLE) {
            Ok(job) => {
                job();
                idle_threads()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((number, sender.clone()));
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = idle_threads().lock().unwrap_or_else(|p| p.into_inner());
                match idle.iter().position(|(n, _)| *n == number) {
                    // Still listed: nobody can send to it any more once it is off the list.
                    Some(at) => {
                        idle.swap_remove(at);
                        return;
                    }
                    // Taken off by `run` just now: its job is on the way.
                    None => continue,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// One test: the idle list is the process's, and a second test running at the same time
    /// would take its threads.
    #[test]
    fn finished_threads_are_reused_and_jobs_at_once_run_at_once() {
        let ran_on = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..3 {
            let (done_tx, done_rx) = mpsc::channel();
            let ran_on = Arc::clone(&ran_on);
            let job: Job = Box::new(move || {
                ran_on.lock().unwrap().push(std::thread::current().id());
                done_tx.send(()).unwrap();
            });
            assert!(run(job));
            done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            // Until the thread is back on the idle list, a new job would start another one.
            for _ in 0..1000 {
                if !idle_threads().lock().unwrap().is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let ran_on = ran_on.lock().unwrap().clone();
        assert_eq!(ran_on.len(), 3);
        assert!(
            ran_on.iter().all(|t| *t == ran_on[0]),
            "three jobs in turn ran on {ran_on:?}"
        );

        let barrier = Arc::new(std::sync::Barrier::new(4));
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..4 {
            let (barrier, done_tx) = (Arc::clone(&barrier), done_tx.clone());
            let job: Job = Box::new(move || {
                // Each waits for the others: all four pass only when they run at once.
                barrier.wait();
                done_tx.send(std::thread::current().id()).unwrap();
            });
            assert!(run(job));
        }
        let mut threads: Vec<_> = (0..4)
            .map(|_| done_rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        threads.sort_by_key(|t| format!("{t:?}"));
        threads.dedup();
        assert_eq!(threads.len(), 4);
        assert!(
            threads.contains(&ran_on[0]),
            "the idle thread took one of them"
        );
    }
}
