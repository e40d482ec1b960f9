//! `goleash watch` and `goleash history` against real Go services on 127.0.0.1
//! (testdata/watch): one leaks a goroutine per request, one follows load, one is steady. A
//! bounded request loop drives them. Also faults per target, kill -9 and restart with the
//! history intact, the webhook, /metrics, and the dashboard rendered by headless Chromium.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use support::{go_build, root, LoopbackProcess};

fn goleash() -> Command {
    Command::cargo_bin("goleash").unwrap()
}

fn goleash_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("goleash")
}

/// Builds the test services once per test binary.
fn service_bin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        // Under target/ so repeated runs reuse one directory instead of littering /tmp.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch-services");
        go_build(
            "testdata/watch",
            &["./leaky", "./loadfollow", "./steady", "./heavy", "./secure"],
            &dir,
        )
    });
    dir.join(name)
}

/// A test service of testdata/watch on 127.0.0.1.
struct Service(LoopbackProcess);

impl std::ops::Deref for Service {
    type Target = LoopbackProcess;
    fn deref(&self) -> &LoopbackProcess {
        &self.0
    }
}

impl Service {
    fn start(name: &str) -> Service {
        Service(LoopbackProcess::start(&service_bin(name), &[]))
    }

    fn pprof(&self) -> String {
        format!("{}/debug/pprof", self.base)
    }
}

/// A minimal HTTP/1.0 GET to 127.0.0.1; returns the whole response.
fn http_get(url: &str) -> std::io::Result<String> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(
        host.starts_with("127.0.0.1:"),
        "tests only talk to 127.0.0.1: {url}"
    );
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {} HTTP/1.0\r\nHost: {host}\r\n\r\n",
        if path.is_empty() { "/" } else { path }
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Drives `/work` on each base URL in bursts (600 ms on, 600 ms off) so load rises and falls;
/// bounded by `duration` and by `max_requests`.
struct Load {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Load {
    fn start(bases: Vec<String>, duration: Duration, max_requests: u64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0;
            while started.elapsed() < duration
                && sent < max_requests
                && !flag.load(Ordering::Relaxed)
            {
                let on = (started.elapsed().as_millis() / 600).is_multiple_of(2);
                if on {
                    for b in &bases {
                        let _ = http_get(&format!("{b}/work?k={sent}"));
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            sent
        });
        Load {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A one-purpose HTTP server on 127.0.0.1 for a bounded time, answering with `respond`.
fn serve_for(
    lifetime: Duration,
    respond: impl Fn(&mut TcpStream, &str) + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        let until = Instant::now() + lifetime;
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let respond = Arc::clone(&respond);
                    std::thread::spawn(move || {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        let request = read_request(&mut stream);
                        respond(&mut stream, &request);
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    format!("http://{addr}")
}

/// Reads a request's head and, when it announces one, its body.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    head + &String::from_utf8_lossy(&body)
}

fn respond(stream: &mut TcpStream, content_type: &str, body: &[u8]) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

fn run_json(cmd: &mut Command) -> (i32, Value, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn target<'a>(report: &'a Value, url: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["url"] == url)
        .unwrap_or_else(|| panic!("no target {url} in {report:#}"))
}

fn suspects(t: &Value) -> Vec<&Value> {
    t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["suspect"] == true)
        .collect()
}

/// Flags the leaking handler's blocking site within a few scrapes, flags nothing in the
/// service that follows load or the steady one, and POSTs the alert to a webhook.
#[test]
fn flags_the_leak_and_nothing_else() {
    let leaky = Service::start("leaky");
    let load = Service::start("loadfollow");
    let steady = Service::start("steady");
    let posts: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&posts);
    let hook = serve_for(Duration::from_secs(20), move |s, req| {
        sink.lock().unwrap().push(req.to_string());
        respond(s, "application/json", b"{}");
    });
    let _driver = Load::start(
        vec![leaky.base.clone(), load.base.clone(), steady.base.clone()],
        Duration::from_secs(8),
        3000,
    );
    let started = Instant::now();
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "16",
        "--window",
        "10s",
        "--min-span",
        "2s",
        "--min-samples",
        "10",
        "--min-rise",
        "5",
        "--full-every",
        "5",
        "--format",
        "json",
        "--webhook",
        &format!("{hook}/api/v2/alerts"),
        &leaky.base,
        &load.base,
        &steady.base,
    ]));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 1, "leaks exit 1\n{stderr}\n{report:#}");

    let t = target(&report, &leaky.pprof());
    let found = suspects(t);
    assert_eq!(found.len(), 1, "{t:#}");
    let g = found[0];
    assert_eq!(g["site"]["function"], "main.lookupBackend.func1", "{g:#}");
    assert!(
        g["site"]["file"]
            .as_str()
            .unwrap()
            .ends_with("leaky/main.go"),
        "{g:#}"
    );
    assert_eq!(g["trend"], "growing");
    assert_eq!(g["verdict"], "likely");
    assert!(g["slope_per_min"].as_f64().unwrap() > 0.0);
    // The debug=2 rounds name what the protobuf cannot: the wait and the creator.
    assert_eq!(g["state"], "chan send", "{g:#}");
    assert_eq!(g["creator"]["function"], "main.lookupBackend", "{g:#}");

    for quiet in [&load, &steady] {
        let t = target(&report, &quiet.pprof());
        assert!(suspects(t).is_empty(), "{}: {t:#}", quiet.base);
        assert_eq!(t["up"], true);
    }
    // The workers of the load-following service moved with the bursts and were told apart.
    let t = target(&report, &load.pprof());
    let process = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["site"]["function"] == "main.process");
    if let Some(p) = process {
        assert_ne!(p["trend"], "growing", "{p:#}");
    }

    // The webhook got Alertmanager's shape.
    std::thread::sleep(Duration::from_millis(300));
    let posts = posts.lock().unwrap();
    let body = posts
        .iter()
        .find(|p| p.starts_with("POST /api/v2/alerts"))
        .unwrap_or_else(|| panic!("no webhook POST; got {posts:?}"));
    let json: Value = serde_json::from_str(&body[body.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let alert = &json[0];
    assert_eq!(alert["labels"]["alertname"], "GoroutineLeak");
    assert_eq!(alert["labels"]["target"], leaky.pprof());
    assert!(alert["startsAt"].as_str().unwrap().ends_with('Z'));
    assert!(alert["annotations"]["summary"]
        .as_str()
        .unwrap()
        .contains("main.lookupBackend.func1"));
}

/// Each fault is reported for its target, with its kind, and the others go on.
#[test]
fn faults_stay_with_their_target() {
    let steady = Service::start("steady");
    let down = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let life = Duration::from_secs(15);
    let slow = serve_for(life, |s, _| {
        std::thread::sleep(Duration::from_secs(3));
        respond(s, "application/octet-stream", b"late");
    });
    // Answers at once, then trickles the body: the deadline covers the body too.
    let trickle = serve_for(life, |s, _| {
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
        );
        for _ in 0..30 {
            if s.write_all(b"goroutine 1 [running]:\n").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let html = serve_for(life, |s, _| {
        respond(
            s,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><body>login</body></html>",
        )
    });
    let garbage = serve_for(life, |s, _| {
        let mut x: u32 = 12345;
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        respond(s, "application/octet-stream", &bytes);
    });
    // Announces 1 GB and would send it: refused from the header alone.
    let huge = serve_for(life, |s, _| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1073741824\r\n\r\n");
        let chunk = vec![0u8; 1 << 16];
        for _ in 0..(1 << 14) {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    // No length, streams until the client hangs up: cut at the cap.
    let endless = serve_for(life, |s, _| {
        let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
        let chunk = vec![b'x'; 1 << 16];
        for _ in 0..256 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "2",
        "--timeout",
        "1s",
        "--max-body",
        "1M",
        "--format",
        "json",
        &down,
        &slow,
        &trickle,
        &html,
        &garbage,
        &huge,
        &endless,
        &steady.base,
    ]));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // No leak, but seven targets were down at the end: a batch run says so with exit 3.
    assert_eq!(code, 3, "{stderr}\n{report:#}");
    assert!(
        stderr.contains("7 of 8 target(s) down at the end"),
        "{stderr}"
    );
    // The two that take the whole 1 s timeout are still busy at their second slot (200 ms
    // later), which they miss: each target keeps its own schedule, no round waits for them.
    for (url, kind, words, times) in [
        (&down, "down", "Connection refused", 2),
        (&slow, "timeout", "--timeout", 1),
        (&trickle, "timeout", "did not arrive completely", 1),
        (&html, "html", "HTML", 2),
        (&garbage, "garbage", "not a goroutine profile", 2),
        (&huge, "too_large", "--max-bytes", 2),
        (&endless, "too_large", "--max-bytes", 2),
    ] {
        let t = target(&report, &format!("{url}/debug/pprof"));
        assert_eq!(t["up"], false, "{t:#}");
        assert_eq!(t["errors"][kind], times, "{url} {kind}: {t:#}");
        let message = t["last"]["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{kind}: {message}");
        assert!(
            message.contains(url.as_str()) || kind == "garbage",
            "{message}"
        );
    }
    let t = target(&report, &steady.pprof());
    assert_eq!(t["up"], true, "{t:#}");
    assert_eq!(t["scrapes"], 2);
}

/// The history survives kill -9: a restarted watcher continues it and judges the leak from
/// the first round on. Meanwhile /metrics and the dashboard (in headless Chromium) show it.
#[test]
fn kill_9_and_restart_keep_the_history() {
    let leaky = Service::start("leaky");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("watch.db");
    let db_arg = db.to_str().unwrap().to_string();
    let _driver = Load::start(vec![leaky.base.clone()], Duration::from_secs(12), 2000);
    let trend_flags = [
        "--interval",
        "200ms",
        "--window",
        "30s",
        "--min-span",
        "1s",
        "--min-samples",
        "6",
        "--min-rise",
        "3",
    ];
    let mut watch = StdCommand::new(goleash_path())
        .args([
            "watch",
            "--db",
            &db_arg,
            "--listen",
            "127.0.0.1:0",
            "--color",
            "never",
        ])
        .args(trend_flags)
        .arg(&leaky.base)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(watch.stderr.take().unwrap());
    let mut line = String::new();
    let mut listen = None;
    while stderr.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(i) = line.find("dashboard on http://") {
            listen = Some(
                line[i + "dashboard on ".len()..]
                    .trim()
                    .trim_end_matches('/')
                    .to_string(),
            );
            break;
        }
        line.clear();
    }
    let listen = listen.unwrap_or_else(|| panic!("no listen address; stderr: {line}"));
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut sink);
    });

    // Wait until the watcher flags the leak (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = http_get(&format!("{listen}/api/state")).unwrap_or_default();
        if state.contains("\"suspects\":1") {
            break;
        }
        assert!(Instant::now() < deadline, "no suspect in time: {state}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The dashboard's per-target report: the goleash page of the target, fetched now, named
    // by the target's URL (a link that survives reloads and restarts).
    let response = http_get(&format!("{listen}/api/state")).unwrap();
    let state: Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    let url = state["targets"][0]["url"].as_str().unwrap().to_string();
    let page = http_get(&format!("{listen}/report?target={}", url_component(&url))).unwrap();
    assert!(
        page.contains("<script id=\"data\" type=\"application/json\">"),
        "{page}"
    );
    assert!(page.contains("main.lookupBackend.func1"), "{page}");
    let missing = http_get(&format!(
        "{listen}/report?target={}",
        url_component("http://127.0.0.1:1/debug/pprof")
    ))
    .unwrap_or_default();
    assert!(!missing.contains("<script id=\"data\""), "{missing}");
    let metrics = http_get(&format!("{listen}/metrics")).unwrap();
    assert!(
        metrics.contains("# TYPE goleash_watch_group_goroutines gauge"),
        "{metrics}"
    );
    let suspect_line = metrics
        .lines()
        .find(|l| l.starts_with("goleash_watch_group_suspect{") && l.ends_with(" 1"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(
        suspect_line.contains("site=\"main.lookupBackend.func1 (leaky/main.go:24)\""),
        "{suspect_line}"
    );
    assert!(
        metrics.contains("goleash_watch_scrape_duration_seconds_count{"),
        "{metrics}"
    );
    // State is never a label of a value: one series per group whatever its verdict or trend,
    // and the state as its own state-set series.
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let (name, labels) = line.split_once('{').unwrap_or((line, ""));
        if name != "goleash_watch_group_verdict" && name != "goleash_watch_group_trend" {
            assert!(
                !labels.contains("verdict=") && !labels.contains("trend="),
                "state label on a value: {line}"
            );
        }
    }
    let group = suspect_line
        .split("group=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let states: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("goleash_watch_group_verdict{") && l.contains(group))
        .collect();
    assert_eq!(states.len(), 4, "one series per verdict: {states:?}");
    assert!(
        states
            .iter()
            .any(|l| l.contains("verdict=\"likely\"") && l.ends_with(" 1")),
        "{states:?}"
    );
    promtool_check_metrics(&metrics);
    assert!(
        metrics.contains("process_resident_memory_bytes "),
        "{metrics}"
    );

    dashboard_in_chromium(&listen);

    watch.kill().unwrap(); // SIGKILL
    let _ = watch.wait();
    let before = history_scrapes(&db_arg);
    assert!(before >= 6, "{before}");

    // Restarted: three rounds are enough, because the window comes back from the history.
    let (code, report, stderr) = run_json(
        goleash()
            .args([
                "watch", "--db", &db_arg, "--rounds", "3", "--format", "json",
            ])
            .args(trend_flags)
            .arg(&leaky.base),
    );
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    let t = target(&report, &leaky.pprof());
    assert!(
        t["samples_in_window"].as_u64().unwrap() >= before + 3,
        "{t:#}"
    );
    assert_eq!(suspects(t).len(), 1, "{t:#}");
    assert_eq!(history_scrapes(&db_arg), before + 3);

    // And the history answers offline.
    let out = goleash()
        .args(["history", "--db", &db_arg, "groups", &leaky.base])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("main.lookupBackend.func1 (leaky/main.go:24)"),
        "{text}"
    );
    let out = goleash()
        .args([
            "history", "--db", &db_arg, "--format", "json", "trend", "--window", "30s",
        ])
        .args(["--min-span", "1s", "--min-samples", "6", "--min-rise", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["suspects"], 1, "{report:#}");
    // The history is runtime evidence for the linter: the leak it recorded confirms the
    // forgotten-sender finding at the service's line.
    let out = goleash()
        .current_dir(root())
        .args(["lint", "testdata/watch/leaky/main.go", "--format", "json"])
        .args(["--confirmed-only", "--evidence", &db_arg])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lint: Value = serde_json::from_slice(&out.stdout).unwrap();
    let confirmed = &lint["diagnostics"][0];
    assert_eq!(confirmed["code"], "GL001", "{lint:#}");
    assert!(
        confirmed["evidence"]["goroutines"].as_u64() > Some(0),
        "{lint:#}"
    );
    let out = goleash()
        .args(["history", "--db", &db_arg, "--format", "csv", "export"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.starts_with("time,ts_ms,target,group,site,count,verdict\n"),
        "{csv}"
    );
    assert!(csv.lines().count() > 20);
    // `| head -0`: the reader is gone before the first row; export stops quietly with 0.
    let mut child = std::process::Command::new(goleash_path())
        .args(["history", "--db", &db_arg, "--format", "csv", "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn history_scrapes(db: &str) -> u64 {
    let out = goleash()
        .args(["history", "--db", db, "--format", "json", "targets"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    rows[0]["scrapes"].as_u64().unwrap()
}

/// The stored scrapes of the first target (`history series 1`), oldest first.
fn stored_series(db: &str) -> Vec<Value> {
    let out = goleash()
        .args(["history", "--db", db, "--format", "json", "series", "1"])
        .output()
        .unwrap();
    let points: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    points.as_array().unwrap().clone()
}

/// As JavaScript's encodeURIComponent, for the characters of a loopback URL.
fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Loads the dashboard in headless Chromium and checks what the script drew: the chart's
/// lines (the suspect's among them) and the suspect's stack.
fn dashboard_in_chromium(listen: &str) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            StdCommand::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        println!("SKIPPED dashboard check: no chromium on PATH (scripts/test.sh installs Debian's chromium)");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let render = |page: &str| -> String {
        let out = StdCommand::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--virtual-time-budget=4000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(page)
            .env("TZ", "Europe/Paris")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = render(&format!("{listen}/"));
    assert!(
        dom.contains("<polyline class=\"series suspect"),
        "chart without the suspect's line:\n{dom}"
    );
    assert!(
        dom.matches("<polyline class=\"series").count() >= 2,
        "{dom}"
    );
    assert!(
        dom.contains("<h3 class=\"leak\">main.lookupBackend.func1 (leaky/main.go:24)</h3>"),
        "{dom}"
    );
    assert!(dom.contains("class=\"stack\""), "{dom}");
    assert!(dom.contains("1 suspect(s)"), "{dom}");
    assert!(
        dom.contains("href=\"/report?target=http%3A%2F%2F127.0.0.1%3A"),
        "{dom}"
    );
    // Real axes: several value ticks, time ticks, and the timezone the times are in.
    assert!(dom.matches("class=\"tick y\"").count() >= 3, "{dom}");
    assert!(dom.matches("class=\"tick x\"").count() >= 2, "{dom}");
    assert!(dom.contains("time (Europe/Paris)"), "{dom}");
    // Every group listed carries its trend, not only the suspects.
    let rows = dom.matches("<tr class=\"group").count();
    assert!(rows >= 2, "{dom}");
    assert_eq!(dom.matches("<td class=\"trend\">").count(), rows, "{dom}");
    // The selection is in the URL: a shared link opens the same target and group.
    let marker = "<polyline class=\"series suspect\" data-group=\"";
    let at = dom.find(marker).expect("suspect line") + marker.len();
    let hash = &dom[at..at + 16];
    let target = dom
        .split("<tr class=\"target selected\" data-url=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no selected target: {dom}"))
        .to_string();
    let shared = render(&format!(
        "{listen}/#target={}&group={hash}",
        target.replace(':', "%3A").replace('/', "%2F")
    ));
    assert!(
        shared.contains(&format!(
            "<tr class=\"group selected\" data-group=\"{hash}\""
        )),
        "{shared}"
    );
    assert!(
        shared.contains(&format!(
            "<polyline class=\"series suspect selected\" data-group=\"{hash}\""
        )),
        "{shared}"
    );
}

#[test]
fn bad_usage_and_db_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let out = goleash().args(["watch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no targets"));

    let out = goleash()
        .args(["watch", "--shard", "4/3", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let missing = dir.path().join("no/such/dir/watch.db");
    let out = goleash()
        .args([
            "watch",
            "--once",
            "--db",
            missing.to_str().unwrap(),
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open history DB"), "{err}");

    let not_db = dir.path().join("notes.txt");
    std::fs::write(
        &not_db,
        "this is not sqlite, just text long enough to have a header",
    )
    .unwrap();
    let out = goleash()
        .args([
            "watch",
            "--once",
            "--db",
            not_db.to_str().unwrap(),
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a SQLite database"), "{err}");

    let out = goleash()
        .args([
            "history",
            "--db",
            dir.path().join("nothing.db").to_str().unwrap(),
            "targets",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    // watch reads goleash.toml like every other command: a mistake there is named.
    let toml = dir.path().join("goleash.toml");
    std::fs::write(&toml, "[analyze]\nmodulez = [\"x\"]\n").unwrap();
    let out = goleash()
        .args([
            "watch",
            "--once",
            "--no-db",
            "--config",
            toml.to_str().unwrap(),
        ])
        .arg("http://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("goleash.toml") && err.contains("modulez") && err.contains("line 2"),
        "{err}"
    );

    // The trend flags are one definition: watch and history trend refuse the same values with
    // the same words.
    let db = dir.path().join("nothing.db");
    for bad in [
        &["--alpha", "2"][..],
        &["--window", "1m", "--min-span", "5m"],
        &["--max-giveback", "3"],
        &["--window", "0s"],
    ] {
        let watch = goleash()
            .arg("watch")
            .args(bad)
            .arg("http://127.0.0.1:1")
            .output()
            .unwrap();
        let history = goleash()
            .args(["history", "--db", db.to_str().unwrap(), "trend"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(watch.status.code(), Some(2), "{bad:?}");
        assert_eq!(history.status.code(), Some(2), "{bad:?}");
        let strip = |out: &std::process::Output| {
            String::from_utf8_lossy(&out.stderr)
                .replace("goleash watch: ", "")
                .replace("goleash history: ", "")
                .replace("goleash watch", "goleash X")
                .replace("goleash history trend", "goleash X")
        };
        let (w, h) = (strip(&watch), strip(&history));
        assert!(
            !w.contains("does not exist") && !h.contains("does not exist"),
            "{h}"
        );
        assert_eq!(w.lines().next(), h.lines().next(), "{bad:?}");
    }
}

#[test]
fn help_explains_every_flag_with_an_example() {
    let out = goleash().args(["watch", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Examples:"));
    assert!(text.contains("FORCES A FULL GC IN THE"), "{text}");
    let flags: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(flags.len() > 25, "{flags:?}");
    // Every flag's text carries an example, except plain switches and --help/--version.
    for block in text.split("\n      --").skip(1) {
        let name = block.split_whitespace().next().unwrap_or("");
        let is_switch = !block.lines().next().unwrap_or("").contains('<');
        if is_switch || name == "help" {
            continue;
        }
        assert!(
            block.contains("e.g.") || block.contains("possible values"),
            "--{name} has no example:\n{block}"
        );
    }
    let out = goleash().args(["history", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Examples:"));
    for sub in ["targets", "groups", "series", "export", "trend"] {
        assert!(text.contains(sub), "{sub}");
    }
}

/// With --leak-profile the runtime's leak GC proves the leak in a single round: `proven`
/// wins without any trend.
#[test]
fn the_leak_profile_proves_a_leak_in_one_round() {
    let leaky = Service::start("leaky");
    for i in 0..20 {
        http_get(&format!("{}/work?k={i}", leaky.base)).unwrap();
    }
    // lookupBackend's helper sleeps 2 ms before its send blocks: wait (with a deadline) until
    // the target's own profile shows all 20 blocked, not for a fixed time that a loaded
    // machine can outrun.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let profile = http_get(&format!("{}/debug/pprof/goroutine?debug=1", leaky.base)).unwrap();
        let blocked: u64 = profile
            .split("\n\n")
            .filter(|record| record.contains("main.lookupBackend.func1"))
            // `N @ 0x…` heads each record (the first block also holds the profile's header).
            .filter_map(|record| {
                let head = record.lines().find(|l| l.contains(" @ "))?;
                head.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum();
        if blocked >= 20 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let posts: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&posts);
    let hook = serve_for(Duration::from_secs(10), move |s, req| {
        sink.lock().unwrap().push(req.to_string());
        respond(s, "application/json", b"{}");
    });
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--once",
        "--leak-profile",
        "--format",
        "json",
        "--webhook",
        &hook,
        &leaky.base,
    ]));
    // A batch run waits for its last alerts to go out before it exits.
    let posts = posts.lock().unwrap();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("\"verdict\":\"proven\""), "{}", posts[0]);
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    let t = target(&report, &leaky.pprof());
    let found = suspects(t);
    assert_eq!(found.len(), 1, "{t:#}");
    assert_eq!(found[0]["verdict"], "proven");
    assert_eq!(found[0]["trend"], "insufficient");
    assert_eq!(found[0]["count"], 20);
    assert_eq!(found[0]["site"]["function"], "main.lookupBackend.func1");
}

/// Watchers given the same file_sd list and --shard 1/2, 2/2 split it without overlap and
/// keep the labels.
#[test]
fn shards_split_a_file_sd_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.yml");
    let ports: Vec<String> = (1..=12).map(|p| format!("'127.0.0.1:{p}'")).collect();
    std::fs::write(
        &file,
        format!(
            "- targets: [{}]\n  labels:\n    job: api\n",
            ports.join(", ")
        ),
    )
    .unwrap();
    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let (code, report, _) = run_json(goleash().args([
            "watch",
            "--no-db",
            "--once",
            "--timeout",
            "1s",
            "--format",
            "json",
            "--shard",
            shard,
            "--targets",
            file.to_str().unwrap(),
        ]));
        // Nothing listens on those ports: no scrape succeeded, which is exit 2.
        assert_eq!(code, 2);
        for t in report["targets"].as_array().unwrap() {
            assert_eq!(t["labels"]["job"], "api");
            assert_eq!(t["errors"]["down"], 1, "{t:#}");
            seen.push(t["url"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    let before = seen.len();
    seen.dedup();
    assert_eq!(before, seen.len(), "a target in two shards");
    assert_eq!(seen.len(), 12);
}

/// --retention drops what is older, failed scrapes included, and keeps the rest.
#[test]
fn retention_prunes_old_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let db = db.to_str().unwrap();
    let down = "http://127.0.0.1:1";
    for _ in 0..2 {
        let out = goleash()
            .args(["watch", "--once", "--db", db, "--timeout", "1s", down])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "no scrape succeeded");
    }
    assert_eq!(history_scrapes(db), 2);
    std::thread::sleep(Duration::from_millis(1200));
    let out = goleash()
        .args(["watch", "--once", "--db", db, "--retention", "1s", down])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(history_scrapes(db), 1);
}

/// The SLO-style rule on a target's total fires on its own: here no group may count as
/// growing (--min-rise is huge), yet the total grows faster than 10 per minute.
#[test]
fn total_growth_rule_fires() {
    let leaky = Service::start("leaky");
    let _driver = Load::start(vec![leaky.base.clone()], Duration::from_secs(8), 2000);
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "20",
        "--window",
        "10s",
        "--min-span",
        "1s",
        "--min-samples",
        "6",
        "--min-rise",
        "3",
        "--alert-growth",
        "10",
        "--alert-for",
        "0.05",
        "--format",
        "json",
        &leaky.base,
    ]));
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    let t = target(&report, &leaky.pprof());
    assert!(t["slo_growth_per_min"].as_f64().unwrap() > 10.0, "{t:#}");
    // The growth rule fires with the leak's stack as its evidence (a ramp whose stacks rise
    // and fall does not: a_load_ramp_never_fires_the_growth_rule_a_leak_does).
    assert!(report["suspects"].as_u64() >= Some(1), "{report:#}");
    let alerts = report["alerts"].as_array().unwrap();
    let growth = alerts
        .iter()
        .find(|a| a["name"] == "GoroutineGrowth")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert!(
        growth["summary"].as_str().unwrap().contains("> 10/min"),
        "{alerts:?}"
    );
}

/// A leaky service on a fixed 127.0.0.1 port that the test can kill and start again (a
/// restart keeps the target's URL), and that may exit on its own (`-exit-after`).
struct Restartable {
    addr: String,
    extra: Vec<String>,
    child: Option<std::process::Child>,
}

impl Restartable {
    fn new(extra: &[&str]) -> Restartable {
        // A port the kernel just handed out and nobody holds; Go sets SO_REUSEADDR, so every
        // restart can bind it again at once.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let mut r = Restartable {
            addr,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        r.start();
        r
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn start(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = StdCommand::new(service_bin("leaky"))
                .args(["-addr", &self.addr])
                .args(&self.extra)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            if line.starts_with("listening on") {
                self.child = Some(child);
                return;
            }
            // The old process's socket may not be released yet.
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "cannot listen on {} again",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again if it exited; true when it did.
    fn revive(&mut self) -> bool {
        let exited = self
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            self.child = None;
            self.start();
        }
        exited
    }
}

impl Drop for Restartable {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Every alert the webhook received, in order, with the time the POST arrived.
fn webhook_alerts(posts: &Mutex<Vec<(Instant, String)>>) -> Vec<(Instant, Value)> {
    let mut out = Vec::new();
    for (at, p) in posts.lock().unwrap().iter() {
        let Some(i) = p.find("\r\n\r\n") else {
            continue;
        };
        if let Ok(Value::Array(alerts)) = serde_json::from_str::<Value>(&p[i + 4..]) {
            out.extend(alerts.into_iter().map(|a| (*at, a)));
        }
    }
    out
}

/// Whether a webhook alert is firing rather than resolved: a resolved alert ends when it is
/// sent, a firing one holds four resends (minutes) ahead, far beyond this test's polling.
fn is_firing(alert: &Value) -> bool {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    alert["endsAt"]
        .as_str()
        .is_none_or(|e| chrono_ms(e) > now_ms + 30_000)
}

/// The rate an alert's summary gives, e.g. `+1203.4/min`.
fn summary_rate(alert: &Value) -> f64 {
    let s = alert["annotations"]["summary"].as_str().unwrap();
    let end = s.find("/min").unwrap_or_else(|| panic!("no rate in {s}"));
    let start = s[..end].rfind([' ', '(']).map_or(0, |i| i + 1);
    s[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("no rate in {s}"))
}

/// Polls the webhook's alerts until `find` picks one, or panics with all of them.
fn wait_for_alert(
    posts: &Mutex<Vec<(Instant, String)>>,
    within: Duration,
    what: &str,
    mut find: impl FnMut(&(Instant, Value)) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Some((_, a)) = webhook_alerts(posts).into_iter().find(|a| find(a)) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {within:?}; alerts: {:#?}",
            webhook_alerts(posts)
                .iter()
                .map(|a| &a.1)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A leaking service restarted mid-run, then crash-looping: the alert on the old process
/// resolves saying it restarted, the new process alerts again with its own rate and "since",
/// and the crash loop (each process too short-lived to matter alone) alerts as a recurring
/// leak. The history keeps the epochs.
#[test]
fn restarts_start_a_new_epoch_and_a_crash_loop_alerts() {
    // One leak every 50 ms: 1200 per minute, whatever the load.
    let per_min = 1200.0;
    let mut svc = Restartable::new(&["-leak-every", "50ms"]);
    let posts: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let sink = Arc::clone(&posts);
    let hook = serve_for(Duration::from_secs(120), move |s, req| {
        sink.lock().unwrap().push((Instant::now(), req.to_string()));
        respond(s, "application/json", b"{}");
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let mut watcher = Reaped(
        StdCommand::new(goleash_path())
            .args([
                "watch",
                "--interval",
                "250ms",
                "--window",
                "30s",
                "--min-span",
                "2s",
            ])
            .args(["--min-samples", "8", "--min-rise", "5", "--format", "json"])
            .args(["--webhook", &format!("{hook}/api/v2/alerts")])
            .arg("--db")
            .arg(&db)
            .arg(svc.base())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let in_range = |rate: f64| (per_min * 0.6..per_min * 1.4).contains(&rate);
    let firing_leak = |a: &Value, epoch: &str| {
        a["labels"]["alertname"] == "GoroutineLeak"
            && is_firing(a)
            && a["annotations"]["epoch"] == epoch
    };

    // Epoch 0.
    let first = wait_for_alert(&posts, Duration::from_secs(20), "alert in epoch 0", |a| {
        firing_leak(&a.1, "0")
    });
    assert!(in_range(summary_rate(&first)), "{first:#}");

    // Restart: kill and start again on the same port.
    svc.kill();
    let restarted_at = Instant::now();
    let restart_wall = std::time::SystemTime::now();
    svc.start();
    let resolved = wait_for_alert(
        &posts,
        Duration::from_secs(20),
        "resolution by restart",
        |a| a.1["labels"]["alertname"] == "GoroutineLeak" && !is_firing(&a.1),
    );
    assert_eq!(
        resolved["annotations"]["resolved_by"], "restart",
        "{resolved:#}"
    );
    // The same labels as the firing alert, so Alertmanager resolves that alert.
    assert_eq!(resolved["labels"], first["labels"], "{resolved:#}");
    assert!(
        resolved["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("restarted"),
        "{resolved:#}"
    );
    let second = wait_for_alert(&posts, Duration::from_secs(20), "alert in epoch 1", |a| {
        a.0 > restarted_at && firing_leak(&a.1, "1")
    });
    assert!(in_range(summary_rate(&second)), "{second:#}");
    // "since" is the new process's: not before the restart.
    let since = chrono_ms(second["startsAt"].as_str().unwrap());
    let restart_ms = restart_wall
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        since >= restart_ms - 1000,
        "{second:#} vs restart at {restart_ms}"
    );

    // Crash loop: the process exits after 3 s, the test (a supervisor) starts it again.
    svc.kill();
    svc.extra = vec![
        "-leak-every".into(),
        "50ms".into(),
        "-exit-after".into(),
        "3s".into(),
    ];
    svc.start();
    let loop_started = Instant::now();
    let deadline = loop_started + Duration::from_secs(40);
    let mut crashes = 0;
    let recurring = loop {
        if svc.revive() {
            crashes += 1;
        }
        let found = webhook_alerts(&posts).into_iter().find(|a| {
            a.0 > loop_started
                && a.1["labels"]["alertname"] == "GoroutineLeakRecurring"
                && is_firing(&a.1)
        });
        if let Some((_, a)) = found {
            if crashes >= 2 {
                break a;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no recurring-leak alert after {crashes} crashes; alerts: {:#?}",
            webhook_alerts(&posts)
                .iter()
                .map(|a| &a.1)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(in_range(summary_rate(&recurring)), "{recurring:#}");
    // Measured, not asserted: how fast each alert came, and the rates it gave.
    eprintln!(
        "restart test: rates {:.0}/{:.0}/{:.0} per min (true {per_min}); resolved-by-restart after {:?}; recurring after {:?} and {crashes} crashes",
        summary_rate(&first),
        summary_rate(&second),
        summary_rate(&recurring),
        webhook_alerts(&posts)
            .iter()
            .find(|a| a.1 == resolved)
            .map(|a| a.0 - restarted_at),
        loop_started.elapsed(),
    );
    // Each crash-loop epoch long enough to judge alerted on its own too.
    let mut epochs: Vec<String> = webhook_alerts(&posts)
        .into_iter()
        .filter(|a| {
            a.0 > loop_started
                && firing_leak(&a.1, a.1["annotations"]["epoch"].as_str().unwrap_or(""))
        })
        .map(|a| a.1["annotations"]["epoch"].as_str().unwrap().to_string())
        .collect();
    epochs.dedup();
    assert!(
        epochs.len() >= 2,
        "GoroutineLeak fired in epochs {epochs:?}"
    );
    let _ = watcher.kill();
    let mut stderr = String::new();
    watcher
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = watcher.wait();
    assert!(stderr.contains("restarted"), "{stderr}");

    // The history stored the epochs, and `history trend` judges the last one only.
    let (code, series, err) = run_json(goleash().args([
        "history",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "series",
        "1",
    ]));
    assert_eq!(code, 0, "{err}");
    let mut stored: Vec<u64> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["epoch"].as_u64().unwrap())
        .collect();
    stored.dedup();
    assert!(
        stored.len() >= 4 && stored.windows(2).all(|w| w[0] < w[1]),
        "{stored:?}"
    );
    // `history trend` replays the restarts: it judges the last epoch and finds the
    // recurring leak the watcher found.
    let (_, trend, err) = run_json(goleash().args([
        "history",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
        "trend",
        "--window",
        "5m",
        "--min-span",
        "2s",
        "--min-samples",
        "8",
        "--min-rise",
        "5",
    ]));
    let t = &trend["targets"][0];
    assert_eq!(t["epoch"].as_u64(), stored.last().copied(), "{err}\n{t:#}");
    assert!(t["restarts"].as_u64().unwrap() >= 3, "{t:#}");
    assert!(!t["recurring"].as_array().unwrap().is_empty(), "{t:#}");
}

/// Milliseconds since the epoch of an RFC 3339 UTC time as the watcher writes it
/// (`2026-12-04T14:44:20.875Z`).
fn chrono_ms(text: &str) -> i64 {
    let d = |a: usize, b: usize| text[a..b].parse::<i64>().unwrap();
    let (y, m, day) = (d(0, 4), d(5, 7), d(8, 10));
    // Days from 1970-01-01 (the civil-from-days inverse, Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + d(11, 13) * 3600 + d(14, 16) * 60 + d(17, 19);
    let millis = text
        .get(20..23)
        .and_then(|m| m.parse::<i64>().ok())
        .unwrap_or(0);
    secs * 1000 + millis
}

/// Debian's `prometheus` package (scripts/test.sh installs it when missing).
fn promtool() -> Option<&'static str> {
    StdCommand::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then_some("promtool")
}

/// `promtool check metrics` (the exposition format and Prometheus' naming lint) on a real
/// /metrics response.
fn promtool_check_metrics(response: &str) {
    let Some(promtool) = promtool() else {
        println!("SKIPPED promtool check metrics: no promtool on PATH (scripts/test.sh installs Debian's prometheus)");
        return;
    };
    let body = &response[response.find("\r\n\r\n").map_or(0, |i| i + 4)..];
    let mut child = StdCommand::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped alert rules are valid, and their unit tests (the series goleash watch exports,
/// the watcher's own decisions) pass.
#[test]
fn shipped_alert_rules_pass_promtool() {
    let Some(promtool) = promtool() else {
        println!("SKIPPED shipped rules: no promtool on PATH (scripts/test.sh installs Debian's prometheus)");
        return;
    };
    let root = root();
    for args in [
        vec![
            "check",
            "rules",
            "deploy/prometheus/goleash-watch.rules.yml",
        ],
        vec![
            "check",
            "rules",
            "deploy/prometheus/go-goroutines.rules.yml",
        ],
        vec![
            "test",
            "rules",
            "deploy/prometheus/tests/goleash-watch.test.yml",
        ],
        vec![
            "test",
            "rules",
            "deploy/prometheus/tests/go-goroutines.test.yml",
        ],
    ] {
        let out = StdCommand::new(promtool)
            .args(&args)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1, clustering off, with
/// its own config and storage; killed on drop.
struct Alertmanager {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn binary() -> Option<&'static str> {
        StdCommand::new("prometheus-alertmanager")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            .then_some("prometheus-alertmanager")
    }

    fn start(addr: &str) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("am.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: none\nreceivers:\n  - name: none\n",
        )
        .unwrap();
        let child = StdCommand::new(Self::binary().unwrap())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let am = Alertmanager {
            child,
            base: format!("http://{addr}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !http_get(&format!("{}/-/ready", am.base)).is_ok_and(|r| r.contains(" 200 ")) {
            assert!(
                Instant::now() < deadline,
                "Alertmanager on {addr} never became ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        am
    }

    /// The alerts it holds, as `GET /api/v2/alerts` gives them.
    fn alerts(&self) -> Vec<Value> {
        let Ok(response) = http_get(&format!("{}/api/v2/alerts", self.base)) else {
            return Vec::new();
        };
        let body = &response[response.find("\r\n\r\n").map_or(0, |i| i + 4)..];
        serde_json::from_str::<Vec<Value>>(body).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// An Alertmanager HA pair, the second member down when the alert starts: both get the
/// alert (repeatable --webhook), the late one through the watcher's retries (long before the
/// next resend), and the firing alert says until when it holds (`endsAt`, four resends),
/// so Alertmanager's resolve_timeout never decides.
#[test]
fn webhooks_reach_an_alertmanager_pair_with_retries() {
    if Alertmanager::binary().is_none() {
        println!("SKIPPED Alertmanager test: no prometheus-alertmanager on PATH (scripts/test.sh installs it)");
        return;
    }
    let first = Alertmanager::start(&free_addr());
    let second_addr = free_addr();
    let svc = Restartable::new(&["-leak-every", "50ms"]);
    let mut watcher = Reaped(
        StdCommand::new(goleash_path())
            .args(["watch", "--no-db", "--interval", "250ms", "--window", "30s"])
            .args(["--min-span", "2s", "--min-samples", "8", "--min-rise", "5"])
            .args(["--webhook-resend", "1m", "--format", "json"])
            .args(["--webhook", &format!("{}/api/v2/alerts", first.base)])
            .args(["--webhook", &format!("http://{second_addr}/api/v2/alerts")])
            .arg(svc.base())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let leak = |am: &Alertmanager| {
        am.alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "GoroutineLeak")
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let on_first = loop {
        if let Some(a) = leak(&first) {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "no alert in the first Alertmanager"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let alerted = Instant::now();
    assert_eq!(on_first["status"]["state"], "active", "{on_first:#}");
    // Four resends of 1m: the alert holds about 4 minutes without a word from the watcher,
    // far from both "now" (flapping) and the 5m resolve_timeout it replaces.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let holds = chrono_ms(on_first["endsAt"].as_str().unwrap()) - now_ms;
    assert!(
        (200_000..=240_000).contains(&holds),
        "endsAt {} is {holds} ms from now",
        on_first["endsAt"]
    );

    // The second member comes up after the alert was sent: the retries get it there.
    std::thread::sleep(Duration::from_secs(1));
    let second = Alertmanager::start(&second_addr);
    let up = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    let on_second = loop {
        if let Some(a) = leak(&second) {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "the second Alertmanager never got the alert (no retry before the 1m resend)"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(on_second["labels"], on_first["labels"]);
    assert_eq!(on_second["status"]["state"], "active");
    let _ = watcher.kill();
    let mut stderr = String::new();
    watcher
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = watcher.wait();
    let failures = stderr.matches(second_addr.as_str()).count();
    assert!(failures >= 1, "no failed POST to the down member: {stderr}");
    eprintln!(
        "alertmanager test: endsAt {holds} ms after receipt; second member got the alert {:?} after it came up ({:?} after the first), after {failures} failed POSTs",
        up.elapsed(),
        alerted.elapsed()
    );
}

/// A leak that starts mid-window: the alert quotes the current rate (the segment since the
/// growth began) with its 95% interval, not the whole window's slope, which the flat start
/// drags down; and no report prints a rate from fewer than --min-samples scrapes.
#[test]
fn the_alert_gives_the_current_rate_with_an_interval() {
    // Quiet for 6 s, then one leak every 100 ms: 600 per minute.
    let per_min = 600.0;
    let svc = Restartable::new(&["-leak-every", "100ms", "-leak-after", "6s"]);
    let posts: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let sink = Arc::clone(&posts);
    let hook = serve_for(Duration::from_secs(60), move |s, req| {
        sink.lock().unwrap().push((Instant::now(), req.to_string()));
        respond(s, "application/json", b"{}");
    });
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "250ms",
        "--rounds",
        "48",
        "--window",
        "60s",
        "--min-span",
        "2s",
        "--min-samples",
        "8",
        "--min-rise",
        "5",
        "--format",
        "json",
        "--webhook",
        &format!("{hook}/api/v2/alerts"),
        &svc.base(),
    ]));
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    let first = wait_for_alert(&posts, Duration::from_secs(5), "leak alert", |a| {
        a.1["labels"]["alertname"] == "GoroutineLeak"
    });
    let summary = first["annotations"]["summary"].as_str().unwrap();
    let rate = summary_rate(&first);
    assert!(
        (per_min * 0.75..per_min * 1.25).contains(&rate),
        "{summary}"
    );
    assert!(summary.contains("(95% "), "{summary}");
    let t = target(&report, &format!("{}/debug/pprof", svc.base()));
    let g = suspects(t)[0];
    let (lo, hi) = (
        g["rate_interval_per_min"][0].as_f64().unwrap(),
        g["rate_interval_per_min"][1].as_f64().unwrap(),
    );
    let now_rate = g["rate_per_min"].as_f64().unwrap();
    assert!(lo <= now_rate && now_rate <= hi, "{g:#}");
    assert!(g["rate_samples"].as_u64().unwrap() >= 8, "{g:#}");
    eprintln!(
        "rate test: first alert {rate:.0}/min (true {per_min}); at the end {now_rate:.0}/min, 95% {lo:.0} to {hi:.0} over {} scrapes, whole-window slope {}/min",
        g["rate_samples"], g["slope_per_min"]
    );

    // Two scrapes are no basis for a rate.
    let (_, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "100ms",
        "--rounds",
        "2",
        "--min-samples",
        "8",
        "--format",
        "json",
        &svc.base(),
    ]));
    let t = target(&report, &format!("{}/debug/pprof", svc.base()));
    assert!(t["growth_per_min"].is_null(), "{stderr}\n{t:#}");
}

/// A child process killed when the test ends, passing or panicking, so a failed assertion
/// leaves no watcher running.
struct Reaped(std::process::Child);

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two watchers on one history would interleave their rounds: the second is refused before
/// it scrapes, naming the first; `history` still reads while the first writes.
#[test]
fn a_second_watcher_on_one_db_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("watch.db");
    let db_arg = db.to_str().unwrap();
    let mut first = StdCommand::new(goleash_path())
        .args([
            "watch",
            "--interval",
            "1s",
            "--rounds",
            "60",
            "--db",
            db_arg,
        ])
        .arg("http://127.0.0.1:1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first watcher holds the lock once its history has its first scrape.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let listed = goleash()
            .args(["history", "--db", db_arg, "targets"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&listed.stdout).contains("127.0.0.1:1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = goleash()
        .args(["watch", "--once", "--db", db_arg, "http://127.0.0.1:1"])
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("being written by another goleash watch")
            && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );
}

/// What testdata/watch/heavy was asked: requests per kind, and how many arrived while an
/// earlier debug=2 or goroutineleak request was still being served there.
fn heavy_stats(base: &str) -> Value {
    let response = http_get(&format!("{base}/stats")).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
}

/// A target whose debug=2 dump is larger than the cap (here a 2 MB --max-bytes standing in
/// for Go's 64 MiB, at which Go cuts the dump silently): the protobuf comes first, predicts
/// the dump over the cap, and the round counts the protobuf. Every round succeeds and every
/// stored total is the whole process, never a cut dump's.
#[test]
fn a_huge_target_is_counted_from_the_protobuf_never_from_a_cut_dump() {
    let huge = Service(LoopbackProcess::start(
        &service_bin("heavy"),
        &["-n", "20000"],
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let db = db.to_str().unwrap();
    let (code, report, stderr) = run_json(goleash().args([
        "watch",
        "--db",
        db,
        "--interval",
        "500ms",
        "--rounds",
        "6",
        "--full-every",
        "2",
        "--timeout",
        "10s",
        "--max-bytes",
        "2M",
        "--format",
        "json",
        &huge.base,
    ]));
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let t = target(&report, &huge.pprof());
    assert_eq!(t["up"], true, "{t:#}");
    // Every scrape taken succeeded; a loaded machine may skip a slot, never fail one.
    let scrapes = t["scrapes"].as_u64().unwrap();
    assert!((2..=6).contains(&scrapes), "{t:#}");
    assert_eq!(t["errors"], serde_json::json!({}), "{t:#}");
    assert!(stderr.contains("over the 2.0 MiB cap"), "{stderr}");
    // The dump was never requested: the protobuf predicted it over the cap.
    assert_eq!(heavy_stats(&huge.base)["debug2"], 0);
    let points = stored_series(db);
    assert_eq!(points.len() as u64, scrapes, "{points:#?}");
    for p in points {
        assert!(p["error"].is_null(), "{p}");
        let count = p["count"].as_u64().unwrap();
        assert!(count >= 20_000, "a count below the parked goroutines: {p}");
    }
}

/// A debug=2 dump predicted to fit that comes back cut: the target has 200 goroutines when
/// its protobuf is taken (a dump of ~0.2 MB predicted), then tens of thousands more while it
/// writes the dump (`heavy -burst-debug2`). Cut by Go at its 64 MiB cap (the dump is exactly
/// that long, and parses) and cut by --max-bytes (the read stops there), the round counts the
/// protobuf taken just before: every stored total is the 200-odd the protobuf saw, never the
/// count of a partial dump or of the burst, and no round fails.
#[test]
fn a_dump_that_comes_back_cut_is_not_counted() {
    for (burst, max_bytes, why) in [
        ("100000", None, "cut at Go's 64 MiB cap"),
        ("5000", Some("1M"), "larger than --max-bytes"),
    ] {
        let svc = Service(LoopbackProcess::start(
            &service_bin("heavy"),
            &["-n", "200", "-burst-debug2", burst],
        ));
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.db");
        let db = db.to_str().unwrap();
        let mut args = vec![
            "watch",
            "--db",
            db,
            // Go takes ~5 s to write the 64 MiB: the slots meanwhile are missed.
            "--interval",
            "2s",
            "--rounds",
            "6",
            "--full-every",
            "3",
            "--timeout",
            "20s",
            "--format",
            "json",
        ];
        if let Some(max) = max_bytes {
            args.extend(["--max-bytes", max]);
        }
        args.push(&svc.base);
        let (code, report, stderr) = run_json(goleash().args(&args));
        assert_eq!(code, 0, "{why}: {stderr}\n{report:#}");
        // The dump was asked for (the protobuf predicted it under the cap) and came back cut.
        assert!(
            heavy_stats(&svc.base)["debug2"].as_u64().unwrap() >= 1,
            "{why}: {stderr}"
        );
        assert!(
            stderr.contains("the debug=2 dump was unusable") && stderr.contains(why),
            "{why}: {stderr}"
        );
        let t = target(&report, &svc.pprof());
        assert_eq!(t["errors"], serde_json::json!({}), "{why}: {t:#}");
        let scrapes = t["scrapes"].as_u64().unwrap();
        assert!(scrapes >= 2, "{why}: {t:#}");
        let total = t["total"].as_f64().unwrap();
        assert!((200.0..1000.0).contains(&total), "{why}: {t:#}");
        let points = stored_series(db);
        assert_eq!(points.len() as u64, scrapes, "{why}: {points:#?}");
        for p in points {
            assert!(p["error"].is_null(), "{why}: {p}");
            let count = p["count"].as_u64().unwrap();
            assert!(
                (200..1000).contains(&count),
                "{why}: a count that is not the protobuf's: {p}"
            );
        }
    }
}

/// A debug=2 dump that takes longer than --timeout keeps being produced in the target after
/// the watcher stops waiting: the target gets no new request until it is done (its slots in
/// between are missed, and counted), and the rounds that asked for it still count, from the
/// protobuf taken before.
#[test]
fn no_new_request_while_a_dump_is_still_running_in_the_target() {
    let slow = Service(LoopbackProcess::start(
        &service_bin("heavy"),
        &["-slow-debug2", "3s"],
    ));
    let (_, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "12",
        "--full-every",
        "1",
        "--timeout",
        "1s",
        "--format",
        "json",
        &slow.base,
    ]));
    let stats = heavy_stats(&slow.base);
    assert!(stats["debug2"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["overlaps"], 0, "{stats}\n{stderr}");
    let t = target(&report, &slow.pprof());
    // Every scrape made counted (the protobuf), none failed.
    assert_eq!(t["errors"], serde_json::json!({}), "{t:#}\n{stderr}");
    assert!(stderr.contains("missed their slot"), "{stderr}");
    // The JSON report says it too: the target's missed slots, and the run's schedule. Each
    // of the 12 slots was either scraped or missed.
    let missed = t["missed"].as_u64().unwrap();
    let scrapes = t["scrapes"].as_u64().unwrap();
    assert!(missed >= 1, "{t:#}");
    assert_eq!(scrapes + missed, 12, "{t:#}");
    let schedule = &report["schedule"];
    assert_eq!(schedule["cycles"], 12, "{schedule:#}");
    assert_eq!(schedule["scrapes"], scrapes, "{schedule:#}");
    assert_eq!(schedule["missed_slots"], missed, "{schedule:#}");
    let overrun = schedule["overrun_cycles"].as_u64().unwrap();
    assert!((1..=missed).contains(&overrun), "{schedule:#}");
    assert!(
        schedule["cycle_seconds_max"].as_f64().unwrap() > 0.0,
        "{schedule:#}"
    );
}

/// /debug/pprof/goroutineleak runs a full GC in the target; where it overruns --timeout the
/// target gets no request until it is done, and the watcher stops asking for the leak profile
/// there for a while (4 scrapes, doubling while it keeps overrunning) instead of every round.
#[test]
fn the_leak_profile_backs_off_where_it_overruns() {
    let slow = Service(LoopbackProcess::start(
        &service_bin("heavy"),
        &["-slow-leak", "2500ms"],
    ));
    let (_, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--leak-profile",
        "--interval",
        "250ms",
        "--rounds",
        "24",
        "--full-every",
        "0",
        "--timeout",
        "1s",
        "--format",
        "json",
        &slow.base,
    ]));
    let stats = heavy_stats(&slow.base);
    assert_eq!(stats["overlaps"], 0, "{stats}\n{stderr}");
    let leak = stats["leak"].as_u64().unwrap();
    let proto = stats["proto"].as_u64().unwrap();
    assert!((1..=2).contains(&leak), "{stats}\n{stderr}");
    // Between the overruns, scrapes without the leak profile succeed.
    assert!(proto >= 1, "{stats}");
    let t = target(&report, &slow.pprof());
    let failed: u64 = t["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(t["scrapes"].as_u64().unwrap() > failed, "{t:#}\n{stderr}");
    assert!(stderr.contains("goroutineleak did not answer"), "{stderr}");
}

/// Each target on its own schedule: a target that takes 6 s to answer holds back neither
/// the other target's scrapes nor its own (it misses its slots while its scrape runs,
/// instead of stretching every round to its answer time).
#[test]
fn a_slow_target_does_not_hold_back_the_others() {
    let slow = Service(LoopbackProcess::start(
        &service_bin("heavy"),
        &["-slow-all", "6s"],
    ));
    let steady = Service::start("steady");
    let (_, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "10",
        "--full-every",
        "0",
        "--timeout",
        "8s",
        "--format",
        "json",
        &slow.base,
        &steady.base,
    ]));
    let t = target(&report, &steady.pprof());
    assert_eq!(t["scrapes"], 10, "{t:#}\n{stderr}");
    assert_eq!(t["up"], true, "{t:#}");
    // One scrape of the slow target spans all ten slots: it got one request, not ten.
    let t = target(&report, &slow.pprof());
    assert_eq!(t["scrapes"], 1, "{t:#}\n{stderr}");
    assert_eq!(heavy_stats(&slow.base)["requests"], 1);
}

/// A target that is down is tried less and less often (from the third failure in a row: 2,
/// 4, 8 slots apart) while the others keep their schedule.
#[test]
fn a_down_target_backs_off() {
    let gone = Service::start("steady");
    let gone_url = gone.pprof();
    drop(gone);
    let steady = Service::start("steady");
    let (_, report, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "250ms",
        "--rounds",
        "16",
        "--format",
        "json",
        &gone_url,
        &steady.base,
    ]));
    // A loaded machine may make a slot miss (the previous scrape not done yet): counts are
    // bounded, not exact.
    let t = target(&report, &steady.pprof());
    let steady_scrapes = t["scrapes"].as_u64().unwrap();
    assert!((12..=16).contains(&steady_scrapes), "{t:#}");
    let t = target(&report, &gone_url);
    assert_eq!(t["up"], false, "{t:#}");
    // Slots 0, 1, 2, then 4 and 8: at most five tries in sixteen slots, where a target
    // without backoff would take sixteen.
    let tries = t["errors"]["down"].as_u64().unwrap();
    assert!((3..=5).contains(&tries), "{t:#}\n{stderr}");
}

/// `--remote-write` into a real Prometheus (receiver on): the watcher's series arrive and are
/// queried back through its API, the leaking group among them.
#[test]
fn series_are_remote_written_into_a_real_prometheus() {
    let Some(addr) = free_prometheus_addr() else {
        return;
    };
    let leaky = Service::start("leaky");
    let _driver = Load::start(vec![leaky.base.clone()], Duration::from_secs(5), 1000);
    // Prometheus scrapes itself (a Go program: go_goroutines) and evaluates the shipped
    // go_goroutines rules, so every panel of the shipped Grafana dashboard has data.
    let prometheus = Prometheus::start(
        &addr,
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['{addr}']\n",
            root().join("deploy/prometheus/go-goroutines.rules.yml").display()
        ),
    );
    let (code, _, stderr) = run_json(goleash().args([
        "watch",
        "--no-db",
        "--interval",
        "200ms",
        "--rounds",
        "12",
        "--window",
        "10s",
        "--min-span",
        "1s",
        "--min-samples",
        "6",
        "--min-rise",
        "3",
        "--format",
        "json",
        "--remote-write",
        &format!("http://{addr}/api/v1/write"),
        &leaky.base,
    ]));
    assert!(code <= 1, "{stderr}");
    let query = |q: &str| -> Value {
        let response = http_get(&format!("http://{addr}/api/v1/query?query={q}")).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
    };
    let groups = query("goleash_watch_group_goroutines");
    let series = groups["data"]["result"].as_array().unwrap();
    assert!(
        series.iter().any(|s| s["metric"]["site"]
            .as_str()
            .is_some_and(|site| site.contains("main.lookupBackend.func1"))),
        "{groups:#}\n{stderr}"
    );
    let up = query("goleash_watch_target_up");
    assert_eq!(
        up["data"]["result"][0]["metric"]["target"],
        leaky.pprof(),
        "{up:#}"
    );

    // The shipped Grafana dashboard: every query parses, every panel draws something.
    let deadline = Instant::now() + Duration::from_secs(15);
    while query("instance:go_goroutines:growth_per_minute:30m")["data"]["result"]
        .as_array()
        .is_none_or(|r| r.is_empty())
    {
        assert!(
            Instant::now() < deadline,
            "the recording rules never produced a series"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/goleash.json")).unwrap(),
    )
    .unwrap();
    let promql = |expr: &str| -> Value {
        let expr = expr.replace("$job", ".*").replace("$target", ".*");
        let encoded: String = expr
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        query(&encoded)
    };
    for panel in dashboard["panels"].as_array().unwrap() {
        let mut series = 0;
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let answer = promql(expr);
            assert_eq!(answer["status"], "success", "{expr}: {answer:#}");
            series += answer["data"]["result"].as_array().map_or(0, Vec::len);
        }
        assert!(series > 0, "panel {} has no data", panel["title"]);
    }
    for annotation in dashboard["annotations"]["list"].as_array().unwrap() {
        let expr = annotation["expr"].as_str().unwrap();
        assert_eq!(promql(expr)["status"], "success", "{expr}");
    }
    drop(prometheus);
}

/// Targets from a Prometheus HTTP SD endpoint (served by a real process: Python's
/// http.server), and a shard that owns none of them: a batch run says so and exits 2, a
/// continuous watcher waits for targets instead of exiting into a restart loop.
#[test]
fn http_sd_targets_and_an_empty_shard_waits() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sd.json"),
        r#"[{"targets": ["127.0.0.1:1"], "labels": {"job": "api"}}]"#,
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _sd = Reaped(
        StdCommand::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sd = format!("http://127.0.0.1:{port}/sd.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(&sd).is_ok_and(|r| r.contains(" 200 ")) {
        assert!(Instant::now() < deadline, "http.server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The SD target is read (it refuses: port 1), under each shard in turn.
    let mut refused_by = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = goleash()
            .args([
                "watch",
                "--once",
                "--no-db",
                "--timeout",
                "2s",
                "--shard",
                shard,
            ])
            .args(["--targets-url", &sd])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        if err.contains("owns none of the 1 targets") {
            assert_eq!(out.status.code(), Some(2), "{err}");
            refused_by.push(shard);
        } else {
            assert!(err.contains("no scrape succeeded"), "{err}");
        }
    }
    assert_eq!(refused_by.len(), 1, "exactly one shard owns the target");
    // Continuous: the empty shard waits (and says so) instead of exiting.
    let mut waiting = StdCommand::new(goleash_path())
        .args([
            "watch",
            "--no-db",
            "--shard",
            refused_by[0],
            "--targets-url",
            &sd,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(waiting.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let still_running = waiting.try_wait().unwrap().is_none();
    let _ = waiting.kill();
    let _ = waiting.wait();
    assert!(line.contains("waiting for targets"), "{line}");
    assert!(still_running, "the empty shard exited: {line}");
}

/// The fleet path end to end with real components: a real Prometheus scrapes go_goroutines
/// from a leaking, a steady and a bursty service; the watcher reads the counts from its API,
/// scrapes pprof only on the one that grows, names its stack, remote-writes its series back
/// into that Prometheus and posts the alert to a real Alertmanager. A Prometheus that is not
/// there is a clear error.
#[test]
fn prometheus_says_which_instance_grows_and_goleash_which_stack() {
    let Some(addr) = free_prometheus_addr() else {
        return;
    };
    let leaky = Service(LoopbackProcess::start(
        &service_bin("leaky"),
        &["-leak-every", "50ms"],
    ));
    let steady = Service::start("steady");
    let bursty = Service::start("loadfollow");
    let _load = Load::start(vec![bursty.base.clone()], Duration::from_secs(30), 20_000);
    let instance = |s: &Service| s.base.trim_start_matches("http://").to_string();
    let _prometheus = Prometheus::start(
        &addr,
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: services\n    static_configs:\n      - targets: ['{}', '{}', '{}']\n",
            instance(&leaky),
            instance(&steady),
            instance(&bursty)
        ),
    );
    // Ten seconds of scrapes: the leak gains ~200 goroutines, the steady one nothing.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let body = http_get(&format!(
            "http://{addr}/api/v1/query?query=count_over_time(go_goroutines%5B1m%5D)"
        ))
        .unwrap_or_default();
        let samples = body
            .split("\"value\":[")
            .skip(1)
            .filter_map(|v| v.split('"').nth(1).and_then(|n| n.parse::<u32>().ok()))
            .collect::<Vec<_>>();
        if samples.len() == 3 && samples.iter().all(|&n| n >= 10) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let trend = [
        "--window",
        "1m",
        "--min-span",
        "2s",
        "--min-samples",
        "6",
        "--min-rise",
        "5",
    ];
    let (code, report, stderr) = run_json(
        goleash()
            .args(["watch", "--no-db", "--format", "json", "--rounds", "16"])
            .args([
                "--interval",
                "300ms",
                "--prometheus",
                &format!("http://{addr}"),
            ])
            .args(trend),
    );
    assert_eq!(code, 1, "the leak is found\n{stderr}\n{report:#}");
    let urls: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [leaky.pprof()],
        "only the growing instance is scraped\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("prometheus: {} grows", leaky.pprof())),
        "{stderr}"
    );
    let t = target(&report, &leaky.pprof());
    assert_eq!(t["labels"]["job"], "services", "{t:#}");
    let found = suspects(t);
    assert_eq!(
        found[0]["site"]["function"], "main.lookupBackend.func1",
        "{t:#}"
    );

    // Bad input: nothing listening there.
    let out = goleash()
        .args([
            "watch",
            "--once",
            "--no-db",
            "--prometheus",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--prometheus http://127.0.0.1:1"), "{err}");
    // ... while a continuous watcher waits for it (Prometheus restarting) instead of exiting.
    let mut waiting = Reaped(
        StdCommand::new(goleash_path())
            .args(["watch", "--no-db", "--prometheus", "http://127.0.0.1:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(waiting.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("trying again"), "{line}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(waiting.try_wait().unwrap().is_none(), "exited: {line}");
    let prometheus_url = format!("http://{addr}");
    let once = |extra: &[&str]| {
        let out = goleash()
            .args([
                "watch",
                "--once",
                "--no-db",
                "--prometheus",
                &prometheus_url,
            ])
            .args(trend)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A bad selector: Prometheus's own explanation, and a usage error.
    let (code, err) = once(&["--match", "go_goroutines{"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("go_goroutines{") && err.contains("400"),
        "{err}"
    );
    assert!(err.contains("bad_data"), "{err}");
    // No series: said, and nothing to look at.
    let (code, err) = once(&["--match", "goleash_no_such_metric"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("matched no series"), "{err}");
    // The growing instance's labels do not give its pprof URL: the label is named.
    let (_, err) = once(&["--pprof-url", "http://{{pod_ip}}:6060/debug/pprof"]);
    assert!(err.contains("pod_ip"), "{err}");
    assert!(err.contains("maps none of them"), "{err}");
}

/// Targets behind TLS with a bearer token and a required header (testdata/watch/secure, a
/// self-signed certificate for 127.0.0.1): each missing piece is a clear scrape error, all of
/// them together scrape.
#[test]
fn tls_bearer_token_and_headers_reach_a_guarded_target() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let secure = Service(LoopbackProcess::start(
        &service_bin("secure"),
        &[
            "-ca-out",
            ca.to_str().unwrap(),
            "-token",
            "s3cret",
            "-header",
            "X-Scope-OrgID=team-a",
        ],
    ));
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let watch = |extra: &[&str]| {
        run_json(
            goleash()
                .args([
                    "watch",
                    "--once",
                    "--no-db",
                    "--timeout",
                    "5s",
                    "--format",
                    "json",
                ])
                .args(extra)
                .arg(&secure.base),
        )
    };
    let last_error = |report: &Value| {
        report["targets"][0]["last"]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // The self-signed certificate is not trusted by default.
    let (code, report, _) = watch(&[]);
    assert_eq!(code, 2, "{report:#}");
    assert!(
        last_error(&report).to_lowercase().contains("certificate"),
        "{report:#}"
    );
    // Trusted, but without the token: the target's 401 is named.
    let ca_arg = ca.to_str().unwrap();
    let (_, report, _) = watch(&["--ca-file", ca_arg]);
    assert!(last_error(&report).contains("401"), "{report:#}");
    // Token, but not the header: 403.
    let token_arg = token.to_str().unwrap();
    let (_, report, _) = watch(&["--ca-file", ca_arg, "--bearer-token-file", token_arg]);
    assert!(last_error(&report).contains("403"), "{report:#}");
    // Everything: the target is scraped.
    let (code, report, stderr) = watch(&[
        "--ca-file",
        ca_arg,
        "--bearer-token-file",
        token_arg,
        "--header",
        "X-Scope-OrgID: team-a",
    ]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(report["targets"][0]["up"], true, "{report:#}");
    // --insecure-skip-verify instead of the CA also reaches it.
    let (code, _, stderr) = watch(&[
        "--insecure-skip-verify",
        "--bearer-token-file",
        token_arg,
        "--header",
        "X-Scope-OrgID=team-a",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // A CA file that is not PEM is refused at start, naming it.
    std::fs::write(dir.path().join("bad.pem"), "not a certificate").unwrap();
    let out = goleash()
        .args(["watch", "--once", "--no-db", "--ca-file"])
        .arg(dir.path().join("bad.pem"))
        .arg(&secure.base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.pem"));
}

/// An HTTP SD endpoint is read again every --refresh: a target it starts listing is watched
/// without a signal, one it stops listing is dropped, and an answer that is not a target
/// list keeps the current one.
#[test]
fn http_sd_is_read_again_every_refresh() {
    let a = Service::start("steady");
    let b = Service::start("steady");
    let dir = tempfile::tempdir().unwrap();
    let sd_file = dir.path().join("sd.json");
    let write = |body: String| {
        let tmp = dir.path().join("sd.tmp");
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, &sd_file).unwrap();
    };
    let list = |services: &[&Service]| {
        let hosts: Vec<String> = services
            .iter()
            .map(|s| format!("\"{}\"", s.base.trim_start_matches("http://")))
            .collect();
        format!(
            r#"[{{"targets": [{}], "labels": {{"job": "api"}}}}]"#,
            hosts.join(",")
        )
    };
    write(list(&[&a]));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _sd = Reaped(
        StdCommand::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sd = format!("http://127.0.0.1:{port}/sd.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(&sd).is_ok_and(|r| r.contains(" 200 ")) {
        assert!(Instant::now() < deadline, "http.server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let listen = free_addr();
    let _watch = Reaped(
        StdCommand::new(goleash_path())
            .args(["watch", "--no-db", "--interval", "200ms", "--refresh", "1s"])
            .args(["--listen", &listen, "--targets-url", &sd])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let watched = || -> Vec<String> {
        let Ok(response) = http_get(&format!("http://{listen}/api/state")) else {
            return Vec::new();
        };
        let Some((_, body)) = response.split_once("\r\n\r\n") else {
            return Vec::new();
        };
        let state: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let mut urls: Vec<String> = state["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["scrapes"].as_u64().unwrap_or(0) > 0)
            .map(|t| t["url"].as_str().unwrap_or_default().to_string())
            .collect();
        urls.sort();
        urls
    };
    let wait_for = |want: Vec<String>, what: &str| {
        let mut want = want;
        want.sort();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = watched();
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: watching {got:?}, expected {want:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(vec![a.pprof()], "at start");
    write(list(&[&a, &b]));
    wait_for(vec![a.pprof(), b.pprof()], "after the SD answer grew");
    // Not a target list (a proxy's error page): the list stays.
    write("<html>502</html>".into());
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(watched().len(), 2, "an unreadable answer changed the list");
    write(list(&[&b]));
    wait_for(vec![b.pprof()], "after the SD answer shrank");
}

/// A target that demands a client certificate (mutual TLS, as behind a service mesh): without
/// one the handshake fails and the error says so; with --cert-file/--key-file it is scraped.
#[test]
fn mutual_tls_needs_and_takes_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let secure = Service(LoopbackProcess::start(
        &service_bin("secure"),
        &[
            "-ca-out",
            ca.to_str().unwrap(),
            "-client-out",
            dir.path().to_str().unwrap(),
        ],
    ));
    let watch = |extra: &[&str]| {
        run_json(
            goleash()
                .args(["watch", "--once", "--no-db", "--timeout", "5s"])
                .args(["--format", "json", "--ca-file", ca.to_str().unwrap()])
                .args(extra)
                .arg(&secure.base),
        )
    };
    let (code, report, _) = watch(&[]);
    assert_eq!(code, 2, "{report:#}");
    let error = report["targets"][0]["last"]["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        error.contains("certificate") || error.contains("handshake") || error.contains("tls"),
        "{report:#}"
    );
    let cert = dir.path().join("client.pem");
    let key = dir.path().join("client.key");
    let (code, report, stderr) = watch(&[
        "--cert-file",
        cert.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(report["targets"][0]["up"], true, "{report:#}");
    assert!(
        report["targets"][0]["total"].as_f64().unwrap_or(0.0) > 0.0,
        "{report:#}"
    );
    // A key that does not parse is refused at start, naming the file.
    std::fs::write(dir.path().join("bad.key"), "not a key").unwrap();
    let out = goleash()
        .args(["watch", "--once", "--no-db", "--cert-file"])
        .arg(&cert)
        .arg("--key-file")
        .arg(dir.path().join("bad.key"))
        .arg(&secure.base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free 127.0.0.1 address for a Prometheus, or `None` (said) when Debian's `prometheus` is
/// not installed.
fn free_prometheus_addr() -> Option<String> {
    if !StdCommand::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("SKIPPED: no prometheus on PATH (scripts/test.sh installs Debian's prometheus)");
        return None;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    Some(listener.local_addr().unwrap().to_string())
}

/// A real Prometheus on `addr` with `config` (its remote-write receiver on), ready when
/// returned; killed on drop with its storage.
struct Prometheus {
    _process: Reaped,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(addr: &str, config: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let process = Reaped(
            StdCommand::new("prometheus")
                .arg(format!("--config.file={}", file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("tsdb").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--web.enable-remote-write-receiver")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http_get(&format!("http://{addr}/-/ready")).is_ok_and(|r| r.contains(" 200 ")) {
            assert!(Instant::now() < deadline, "Prometheus never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        Prometheus {
            _process: process,
            _dir: dir,
        }
    }
}

/// The target list is read again while watching: at once when the `--targets` file changes,
/// and on SIGHUP for a source that announces nothing (`--targets-url` with `--refresh 0`).
/// Dropped targets leave the table, /metrics and the dashboard's state; added ones are
/// scraped; a list that cannot be read keeps the current one; SIGHUP does not kill the watcher.
#[test]
fn the_target_list_reloads_on_file_change_and_sighup() {
    let a = Service::start("steady");
    let b = Service::start("steady");
    let host = |s: &Service| s.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    let sd_dir = dir.path().join("sd");
    std::fs::create_dir(&sd_dir).unwrap();
    // Written whole and renamed over, as deploy tools and ConfigMaps do.
    let write = |path: &Path, hosts: &[String]| {
        let list: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!(r#"[{{"targets": [{}]}}]"#, list.join(","))).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    };
    write(&file, &[host(&a)]);
    write(&sd_dir.join("sd.json"), &[]);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _sd = Reaped(
        StdCommand::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(&sd_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sd = format!("http://127.0.0.1:{port}/sd.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(&sd).is_ok_and(|r| r.contains(" 200 ")) {
        assert!(Instant::now() < deadline, "http.server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut watch = Reaped(
        StdCommand::new(goleash_path())
            .args(["watch", "--no-db", "--interval", "200ms", "--refresh", "0"])
            .args(["--listen", "127.0.0.1:0", "--color", "never"])
            .arg("--targets")
            .arg(&file)
            .args(["--targets-url", &sd])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = BufReader::new(watch.stderr.take().unwrap());
    let mut line = String::new();
    let listen = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "watcher ended");
        if let Some(i) = line.find("dashboard on http://") {
            break line[i + "dashboard on ".len()..]
                .trim()
                .trim_end_matches('/')
                .to_string();
        }
    };
    {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).unwrap_or(0) > 0 {
                log.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
    }
    // The URLs /api/state lists, once each has been scraped.
    let scraped = || -> Vec<String> {
        let state: Value = http_get(&format!("{listen}/api/state"))
            .ok()
            .and_then(|r| r.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or(Value::Null);
        let mut urls: Vec<String> = state["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["scrapes"].as_u64().unwrap_or(0) > 0)
            .map(|t| t["url"].as_str().unwrap_or_default().to_string())
            .collect();
        urls.sort();
        urls
    };
    let wait_for = |want: &[&str], what: &str| {
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = scraped();
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: watching {got:?}, expected {want:?}; log:\n{}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let (pa, pb) = (a.pprof(), b.pprof());
    wait_for(&[&pa], "at start");

    // The file changes: A out, B in, without a signal.
    write(&file, &[host(&b)]);
    wait_for(&[&pb], "after the file changed");
    let metrics = http_get(&format!("{listen}/metrics")).unwrap();
    assert!(!metrics.contains(&format!("target=\"{pa}\"")), "{metrics}");
    assert!(metrics.contains(&format!("target=\"{pb}\"")), "{metrics}");
    assert!(
        log.lock()
            .unwrap()
            .contains("targets reloaded (the targets file changed): +1"),
        "{}",
        log.lock().unwrap()
    );

    // A broken file keeps the list.
    std::fs::write(&file, "[{\"targets\": [").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(scraped(), vec![pb.clone()]);
    assert!(
        log.lock()
            .unwrap()
            .contains("targets not reloaded (the targets file changed)"),
        "{}",
        log.lock().unwrap()
    );
    write(&file, &[host(&b)]);
    // That write is a change too, and its reload reads every source: let it pass first.
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(scraped(), vec![pb.clone()]);

    // The SD answer changes: nothing reads it until SIGHUP (--refresh 0).
    write(&sd_dir.join("sd.json"), &[host(&a)]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(scraped(), vec![pb.clone()], "read without SIGHUP");
    let hup = StdCommand::new("kill")
        .args(["-HUP", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(&[&pa, &pb], "after SIGHUP");
    assert!(
        watch.try_wait().unwrap().is_none(),
        "SIGHUP ended the watcher"
    );
    assert!(
        log.lock()
            .unwrap()
            .contains("targets reloaded (SIGHUP): +1"),
        "{}",
        log.lock().unwrap()
    );
}
