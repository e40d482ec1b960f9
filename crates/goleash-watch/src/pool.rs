//! A fixed set of scrape workers fed through one queue: watching 500 targets takes
//! `--concurrency` threads, not 500, and a slow target holds one worker for at most its
//! timeout.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fetch::Fault;
use crate::scrape::{scrape, ScrapeOptions, Scraped};
use crate::targets::Target;

/// One scrape to do.
pub struct Job {
    /// The target's index in the watcher's list, handed back with the result.
    pub index: usize,
    pub target: Arc<Target>,
    pub round: u64,
    /// Take the debug=2 text this time.
    pub full: bool,
    pub leak_profile: bool,
}

/// One scrape done.
pub struct Done {
    pub index: usize,
    pub round: u64,
    /// Wall-clock time the scrape started, ms since the Unix epoch.
    pub started_ms: i64,
    pub duration: Duration,
    pub result: Result<Scraped, Fault>,
}

pub struct Pool {
    jobs: Option<Sender<Job>>,
    pub results: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    pub fn new(size: usize, agent: ureq::Agent, options: Arc<ScrapeOptions>) -> Pool {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..size.max(1))
            .map(|i| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                let agent = agent.clone();
                let options = Arc::clone(&options);
                std::thread::Builder::new()
                    .name(format!("scrape-{i}"))
                    .spawn(move || worker(&job_rx, &done_tx, &agent, &options))
                    .map_err(|e| eprintln!("goleash watch: cannot start a scrape worker: {e}"))
                    .ok()
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect();
        Pool {
            jobs: Some(job_tx),
            results: done_rx,
            workers,
        }
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Queues a scrape; false when no worker is left to take it.
    pub fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue ends each worker after its current scrape.
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(
    jobs: &Mutex<Receiver<Job>>,
    done: &Sender<Done>,
    agent: &ureq::Agent,
    options: &ScrapeOptions,
) {
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let started_ms = crate::clock::now_ms();
        let started = Instant::now();
        let result = scrape(agent, &job.target, job.full, options, job.leak_profile);
        let finished = Done {
            index: job.index,
            round: job.round,
            started_ms,
            duration: started.elapsed(),
            result,
        };
        if done.send(finished).is_err() {
            return;
        }
    }
}
