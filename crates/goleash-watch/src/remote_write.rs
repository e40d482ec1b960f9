//! Prometheus remote write (protocol 1.0): the watcher's series go where the fleet's metrics
//! already live (Prometheus with its receiver on, Mimir, Thanos Receive, VictoriaMetrics).
//!
//! One sender thread owns a bounded queue of samples. A batch that fails with a network error,
//! 429 or 5xx stays at the head of the queue and is sent again with exponential backoff, so a
//! receiver's short outage loses nothing and samples of a series keep their order (receivers
//! refuse a sample older than the last they took). A batch refused with another 4xx is split
//! in halves until the refused samples stand alone (a receiver refuses a whole request for
//! one bad sample); those are dropped with the reason, the others go through. When the queue
//! is full the oldest samples go first, counted.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// `prometheus.WriteRequest`, the parts remote write 1.0 sends.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` first (it sorts first).
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// One value of one series at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub ts_ms: i64,
}

impl Point {
    fn series(&self) -> TimeSeries {
        let mut labels: Vec<Label> = std::iter::once(Label {
            name: "__name__".into(),
            value: self.name.clone(),
        })
        .chain(self.labels.iter().map(|(k, v)| Label {
            name: k.clone(),
            value: v.clone(),
        }))
        .collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        TimeSeries {
            labels,
            samples: vec![Sample {
                value: self.value,
                timestamp: self.ts_ms,
            }],
        }
    }
}

/// The wire body: the protobuf, snappy block-compressed as the protocol asks.
pub fn encode(points: &[Point]) -> Vec<u8> {
    let request = WriteRequest {
        timeseries: points.iter().map(Point::series).collect(),
    };
    let raw = prost::Message::encode_to_vec(&request);
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Counters the watcher exports about its remote write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: u64,
    pub failed_attempts: u64,
    pub dropped_full: u64,
    pub dropped_refused: u64,
    pub queued: u64,
}

struct Queue {
    points: VecDeque<Point>,
    stats: Stats,
    closed: bool,
}

pub struct RemoteWrite {
    shared: Arc<(Mutex<Queue>, Condvar)>,
    capacity: usize,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Samples per request: small enough for a receiver's limits, large enough to batch.
const BATCH: usize = 2_000;
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

impl RemoteWrite {
    /// Starts the sender for `url`, keeping at most `capacity` samples queued.
    pub fn start(url: String, timeout: Duration, capacity: usize) -> RemoteWrite {
        let shared = Arc::new((
            Mutex::new(Queue {
                points: VecDeque::new(),
                stats: Stats::default(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("remote-write".into())
            .spawn(move || send_loop(&url, timeout, &worker))
            .ok();
        RemoteWrite {
            shared,
            capacity,
            thread,
        }
    }

    /// Queues `points`; the oldest queued ones make room when the queue is full.
    pub fn push(&self, points: Vec<Point>) {
        let capacity = self.capacity;
        let (lock, ready) = &*self.shared;
        let Ok(mut q) = lock.lock() else { return };
        q.points.extend(points);
        let over = q.points.len().saturating_sub(capacity);
        if over > 0 {
            q.points.drain(..over);
            q.stats.dropped_full += over as u64;
        }
        q.stats.queued = q.points.len() as u64;
        ready.notify_one();
    }

    pub fn stats(&self) -> Stats {
        self.shared.0.lock().map(|q| q.stats).unwrap_or_default()
    }

    /// Sends what is queued, waiting at most `patience`, then stops the sender.
    pub fn finish(mut self, patience: Duration) -> Stats {
        {
            let (lock, ready) = &*self.shared;
            if let Ok(mut q) = lock.lock() {
                q.closed = true;
            }
            ready.notify_one();
        }
        let deadline = Instant::now() + patience;
        if let Some(thread) = self.thread.take() {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        self.stats()
    }
}

fn send_loop(url: &str, timeout: Duration, shared: &(Mutex<Queue>, Condvar)) {
    let (lock, ready) = shared;
    let agent = goleash_source::http::agent(timeout, 1);
    let mut delay = RETRY_FIRST;
    // Shrinks while a refused batch is split; back to BATCH after a success.
    let mut size = BATCH;
    loop {
        let batch: Vec<Point> = {
            let Ok(mut q) = lock.lock() else { return };
            while q.points.is_empty() && !q.closed {
                q = match ready.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            if q.points.is_empty() {
                return;
            }
            q.points.iter().take(size).cloned().collect()
        };
        let body = encode(&batch);
        let outcome = goleash_source::http::post(
            &agent,
            url,
            timeout,
            &body,
            &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "0.1.0"),
            ],
        );
        let Ok(mut q) = lock.lock() else { return };
        match outcome {
            Ok(()) => {
                let n = batch.len().min(q.points.len());
                q.points.drain(..n);
                q.stats.sent += n as u64;
                delay = RETRY_FIRST;
                size = (size * 2).min(BATCH);
            }
            Err(refused) if !refused.retry && batch.len() > 1 => {
                size = batch.len() / 2;
                continue;
            }
            Err(refused) if !refused.retry => {
                eprintln!(
                    "goleash watch: remote write refused {} samples: {}",
                    batch.len(),
                    refused.fault
                );
                let n = batch.len().min(q.points.len());
                q.points.drain(..n);
                q.stats.dropped_refused += n as u64;
            }
            Err(refused) => {
                q.stats.failed_attempts += 1;
                if q.stats.failed_attempts == 1 || q.stats.failed_attempts.is_power_of_two() {
                    eprintln!(
                        "goleash watch: remote write: {} ({} samples waiting; retrying)",
                        refused.fault,
                        q.points.len()
                    );
                }
                // The whole backoff, whatever pushes arrive meanwhile (each push notifies); at
                // exit too, where `finish`'s patience bounds how long the watcher waits.
                let until = Instant::now() + delay;
                delay = (delay * 2).min(RETRY_MAX);
                let mut q = q;
                loop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    q = match ready.wait_timeout(q, left) {
                        Ok((q, _)) => q,
                        Err(_) => return,
                    };
                }
                continue;
            }
        }
        q.stats.queued = q.points.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_snappy_block_of_a_write_request_with_sorted_labels() {
        let body = encode(&[Point {
            name: "goleash_watch_group_goroutines".into(),
            labels: vec![
                ("target".into(), "http://127.0.0.1:1/debug/pprof".into()),
                ("group".into(), "0fda6206dc9f6a45".into()),
            ],
            value: 12.0,
            ts_ms: 1_000,
        }]);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let request: WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        let series = &request.timeseries[0];
        let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "group", "target"]);
        assert_eq!(series.samples[0].value, 12.0);
        assert_eq!(series.samples[0].timestamp, 1_000);
    }
}
