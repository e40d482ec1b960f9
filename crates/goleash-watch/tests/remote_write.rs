//! Remote write against a real Prometheus (Debian's `prometheus`, receiver on) on 127.0.0.1:
//! every sample arrives, in order, through an outage of the receiver; a refused batch is
//! dropped with its reason, never retried forever.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goleash_watch::remote_write::{Point, RemoteWrite};

struct Prometheus {
    child: Child,
    addr: String,
}

impl Prometheus {
    fn available() -> bool {
        Command::new("prometheus")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn start(addr: &str, data: &Path) -> Prometheus {
        let config = data.join("prometheus.yml");
        std::fs::write(
            &config,
            "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Prometheus {
            child,
            addr: addr.to_string(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !get(addr, "/-/ready").is_some_and(|r| r.contains(" 200 ")) {
            assert!(
                Instant::now() < deadline,
                "Prometheus on {addr} never became ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn stop(mut self) {
        // SIGTERM: Prometheus closes its TSDB cleanly, as in a rolling restart.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    /// `count_over_time(NAME[1h])` at now.
    fn count(&self, name: &str) -> Option<u64> {
        let body = get(
            &self.addr,
            &format!("/api/v1/query?query=count_over_time({name}%5B1h%5D)"),
        )?;
        let json = &body[body.find("\r\n\r\n")? + 4..];
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: &str, path: &str) -> Option<String> {
    assert!(
        addr.starts_with("127.0.0.1:"),
        "tests only talk to 127.0.0.1"
    );
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn points(name: &str, from_ms: i64, n: usize) -> Vec<Point> {
    (0..n)
        .map(|i| Point {
            name: name.into(),
            labels: vec![
                ("target".into(), "http://127.0.0.1:1/debug/pprof".into()),
                ("group".into(), "0fda6206dc9f6a45".into()),
            ],
            value: i as f64,
            ts_ms: from_ms + i as i64 * 1000,
        })
        .collect()
}

#[test]
fn every_sample_arrives_through_a_receiver_outage() {
    if !Prometheus::available() {
        println!("SKIPPED: no prometheus on PATH (scripts/test.sh installs Debian's prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let prometheus = Prometheus::start(&addr, dir.path());
    let writer = RemoteWrite::start(
        format!("http://{addr}/api/v1/write"),
        Duration::from_secs(5),
        10_000,
    );
    let start = goleash_watch::clock::now_ms() - 120_000;
    writer.push(points("goleash_test_goroutines", start, 30));
    let deadline = Instant::now() + Duration::from_secs(20);
    while writer.stats().sent < 30 {
        assert!(Instant::now() < deadline, "{:?}", writer.stats());
        std::thread::sleep(Duration::from_millis(50));
    }

    // The receiver goes away; what comes meanwhile waits in the queue.
    prometheus.stop();
    writer.push(points("goleash_test_goroutines", start + 30_000, 20));
    let deadline = Instant::now() + Duration::from_secs(20);
    while writer.stats().failed_attempts < 2 {
        assert!(Instant::now() < deadline, "{:?}", writer.stats());
        std::thread::sleep(Duration::from_millis(50));
    }
    let prometheus = Prometheus::start(&addr, dir.path());
    let stats = writer.finish(Duration::from_secs(30));
    assert_eq!(stats.sent, 50, "{stats:?}");
    assert_eq!(stats.dropped_full + stats.dropped_refused, 0, "{stats:?}");
    assert_eq!(prometheus.count("goleash_test_goroutines"), Some(50));
}

#[test]
fn a_refused_batch_is_dropped_with_its_reason() {
    if !Prometheus::available() {
        println!("SKIPPED: no prometheus on PATH (scripts/test.sh installs Debian's prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let prometheus = Prometheus::start(&addr, dir.path());
    let writer = RemoteWrite::start(
        format!("http://{addr}/api/v1/write"),
        Duration::from_secs(5),
        10_000,
    );
    let now = goleash_watch::clock::now_ms();
    writer.push(points("goleash_test_refused", now - 10_000, 5));
    // Older than what the series already holds: Prometheus refuses the batch (400).
    writer.push(points("goleash_test_refused", now - 3_600_000 * 5, 1));
    writer.push(points("goleash_test_after", now - 5_000, 2));
    let stats = writer.finish(Duration::from_secs(20));
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert!(
        prometheus.count("goleash_test_after") == Some(2),
        "{stats:?}"
    );
    assert_eq!(stats.sent + stats.dropped_refused, 8, "{stats:?}");
}
