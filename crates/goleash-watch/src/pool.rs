//! A fixed set of scrape workers fed through one queue: watching 500 targets takes
//! `--concurrency` threads, not 500, and a slow target holds one worker for at most its
//! timeout (a heavy request that overruns it is awaited on a thread of its own).

use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fetch::Fault;
use crate::scrape::{scrape, Plan, Release, ScrapeOptions, Scraped};
use crate::targets::Target;

/// One scrape to do.
pub(crate) struct Job {
    /// The target's index in the watcher's list, handed back with the result.
    pub index: usize,
    pub target: Arc<Target>,
    /// The target's own HTTP client: its pool holds this target's connection only, so a
    /// request never scans the idle connections of every other target.
    pub agent: ureq::Agent,
    /// The target's slot (its n-th scheduled scrape since the start).
    pub slot: u64,
    pub plan: Plan,
    /// When it was due: its wait until a worker starts it counts from there.
    pub queued: Instant,
}

/// One scrape done.
pub(crate) struct Done {
    pub index: usize,
    pub slot: u64,
    /// Wall-clock time the scrape started, ms since the Unix epoch.
    pub started_ms: i64,
    /// From its due time until a worker started it.
    pub waited: Duration,
    pub duration: Duration,
    pub result: Result<Scraped, Fault>,
    /// A heavy request is still running in the target: [`Event::Released`] follows.
    pub still_running: bool,
    pub leak_overrun: bool,
}

/// What the workers report.
pub(crate) enum Event {
    Done(Box<Done>),
    /// The heavy request that outlived target `index`'s scrape is finished in the target
    /// (`true`), or was given up after [`crate::scrape::heavy_limit`] (`false`).
    Released(usize, bool),
}

/// The jobs not yet taken. A condition variable wakes one idle worker per job; a shared
/// `Receiver` behind a mutex woke two (the worker waiting in `recv`, then the next one in
/// line for the lock), a context switch per scrape for nothing.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    filled: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl Queue {
    fn push(&self, job: Job) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.closed {
            return false;
        }
        state.jobs.push_back(job);
        drop(state);
        self.filled.notify_one();
        true
    }

    /// The next job; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.filled.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.filled.notify_all();
    }
}

pub(crate) struct Pool {
    jobs: Arc<Queue>,
    /// Workers still running: a submit fails once none is left.
    alive: Arc<AtomicUsize>,
    pub events: Receiver<Event>,
    workers: Vec<JoinHandle<()>>,
}

/// One running worker in the pool's count, for as long as this lives.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn count(alive: &Arc<AtomicUsize>) -> Alive {
        alive.fetch_add(1, SeqCst);
        Alive(Arc::clone(alive))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl Pool {
    pub(crate) fn new(size: usize, options: Arc<ScrapeOptions>) -> Pool {
        let jobs = Arc::new(Queue::default());
        let alive = Arc::new(AtomicUsize::new(0));
        let (event_tx, event_rx) = mpsc::channel::<Event>();
        let workers = (0..size.max(1))
            .filter_map(|i| {
                let jobs = Arc::clone(&jobs);
                let event_tx = event_tx.clone();
                let options = Arc::clone(&options);
                // Dropped when the worker ends, panics, or never starts (spawn drops it).
                let counted = Alive::count(&alive);
                std::thread::Builder::new()
                    .name(format!("scrape-{i}"))
                    .spawn(move || {
                        let _counted = counted;
                        worker(&jobs, &event_tx, &options);
                    })
                    .map_err(|e| eprintln!("goleash watch: cannot start a scrape worker: {e}"))
                    .ok()
            })
            .collect();
        Pool {
            jobs,
            alive,
            events: event_rx,
            workers,
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Queues a scrape; false when no worker is left to take it.
    pub(crate) fn submit(&self, job: Job) -> bool {
        self.alive.load(SeqCst) > 0 && self.jobs.push(job)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue ends each worker after its current scrape.
        self.jobs.close();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(jobs: &Queue, events: &Sender<Event>, options: &ScrapeOptions) {
    while let Some(job) = jobs.pop() {
        let waited = job.queued.elapsed();
        let started_ms = crate::clock::now_ms();
        let started = Instant::now();
        let release: Release = {
            let events = events.clone();
            let index = job.index;
            Arc::new(move |answered| {
                let _ = events.send(Event::Released(index, answered));
            })
        };
        let run = scrape(&job.agent, &job.target, &job.plan, options, release);
        let finished = Done {
            index: job.index,
            slot: job.slot,
            started_ms,
            waited,
            duration: started.elapsed(),
            result: run.result,
            still_running: run.still_running,
            leak_overrun: run.leak_overrun,
        };
        if events.send(Event::Done(Box::new(finished))).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `submit` trusts the count: a worker that panicked must leave it as one that returned.
    #[test]
    fn a_worker_leaves_the_count_however_it_ends() {
        let alive = Arc::new(AtomicUsize::new(0));
        let returns = Alive::count(&alive);
        let panics = Alive::count(&alive);
        assert_eq!(alive.load(SeqCst), 2);
        std::thread::spawn(move || drop(returns)).join().unwrap();
        let ended = std::thread::spawn(move || {
            let _counted = panics;
            panic!("a scrape worker's bug");
        })
        .join();
        assert!(ended.is_err());
        assert_eq!(alive.load(SeqCst), 0);
    }
}
