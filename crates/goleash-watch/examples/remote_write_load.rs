//! Drives goleash's remote-write sender for scripts/bench-remote-write.sh: pushes SERIES series
//! × POINTS points (one point per series per second of sample time, starting POINTS seconds
//! ago) as a watcher would, one cycle at a time, then waits for the queue to drain and prints
//! the sender's counters and the elapsed time as one JSON line.
//!
//!   cargo run --release --example remote_write_load -- URL SERIES POINTS [PAUSE_MS]

use std::time::{Duration, Instant};

use goleash_watch::remote_write::{Point, RemoteWrite};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(series), Some(points)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: remote_write_load URL SERIES POINTS [PAUSE_MS]");
        std::process::exit(2);
    };
    let pause = Duration::from_millis(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0));
    let writer = RemoteWrite::start(url.clone(), Duration::from_secs(5), series * points);
    let start_ms = goleash_watch::clock::now_ms() - points as i64 * 1000;
    let started = Instant::now();
    for k in 0..points {
        let cycle: Vec<Point> = (0..series)
            .map(|i| Point {
                name: "goleash_bench_goroutines".into(),
                labels: vec![
                    (
                        "target".into(),
                        format!("http://127.0.0.1:{}/debug/pprof", 10_000 + i),
                    ),
                    ("group".into(), format!("{:016x}", i * 7919)),
                ],
                value: (k + i) as f64,
                ts_ms: start_ms + k as i64 * 1000,
            })
            .collect();
        writer.push(cycle);
        std::thread::sleep(pause);
    }
    let pushed = started.elapsed();
    let stats = writer.finish(Duration::from_secs(120));
    println!(
        "{{\"samples\": {}, \"sent\": {}, \"dropped_full\": {}, \"dropped_refused\": {}, \"failed_attempts\": {}, \"push_s\": {:.2}, \"total_s\": {:.2}}}",
        series * points,
        stats.sent,
        stats.dropped_full,
        stats.dropped_refused,
        stats.failed_attempts,
        pushed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
