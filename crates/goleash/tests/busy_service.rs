//! Profiles of a busy service read whole: a service that starts and ends goroutines all the
//! time is captured 100 times in each format; every capture parses, and the text formats'
//! totals equal what the profile itself says it holds.

mod support;

use std::io::Read;
use std::time::Duration;

use goleash_parse::{parse, Limits};
use goleash_source::{open, FetchOptions};
use support::{go_build, LoopbackProcess};

const CAPTURES: usize = 100;

fn fetch(url: &str) -> Vec<u8> {
    let options = FetchOptions {
        timeout: Duration::from_secs(30),
        ..FetchOptions::default()
    };
    let mut opened = open(url, &options).unwrap_or_else(|e| panic!("{url}: {e:?}"));
    assert_eq!(opened.len(), 1, "{url}");
    let mut bytes = Vec::new();
    opened[0]
        .reader
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    bytes
}

/// `goroutine profile: total N` on the first line of a debug=1 profile.
fn legacy_total(text: &str) -> u64 {
    let first = text.lines().next().unwrap_or("");
    first
        .strip_prefix("goroutine profile: total ")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
}

/// Goroutine headers (`goroutine 12 [chan receive]:`) in a debug=2 dump.
fn traceback_total(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("goroutine ") && l.ends_with("]:"))
        .count() as u64
}

#[test]
fn a_hundred_captures_of_each_format_read_whole() {
    let out = tempfile::tempdir().expect("tempdir");
    let bin = go_build("testdata/watch", &["./churn"], out.path()).join("churn");
    let service = LoopbackProcess::start(&bin, &[]);
    let base = format!("{}/debug/pprof/goroutine", service.base);
    let mut frameless = 0;
    for i in 0..CAPTURES {
        let url = format!("{base}?debug=1");
        let bytes = fetch(&url);
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("\n1 @ 0x") && text.contains("runtime.goexit") {
            frameless += usize::from(text.split("\n\n").any(|record| {
                record.lines().filter(|l| l.starts_with("#\t")).count() <= 1
                    && record.contains("runtime.goexit")
            }));
        }
        let snapshot = parse(&format!("debug1-{i}"), &bytes[..], Limits::default())
            .unwrap_or_else(|e| panic!("capture {i} (debug=1): {e}"));
        assert_eq!(
            snapshot.total(),
            legacy_total(&text),
            "capture {i} (debug=1)"
        );

        let bytes = fetch(&format!("{base}?debug=2"));
        let text = String::from_utf8_lossy(&bytes);
        let snapshot = parse(&format!("debug2-{i}"), &bytes[..], Limits::default())
            .unwrap_or_else(|e| panic!("capture {i} (debug=2): {e}"));
        assert_eq!(
            snapshot.total(),
            traceback_total(&text),
            "capture {i} (debug=2)"
        );

        let bytes = fetch(&format!("{base}?debug=0"));
        let snapshot = parse(&format!("proto-{i}"), &bytes[..], Limits::default())
            .unwrap_or_else(|e| panic!("capture {i} (proto): {e}"));
        assert!(snapshot.total() > 0, "capture {i} (proto)");
    }
    eprintln!(
        "{frameless} of {CAPTURES} debug=1 captures held a goroutine with no frames but goexit"
    );
}

/// Crash dumps of the busy service (SIGQUIT, and `fatal error: concurrent map writes`): the
/// runtime prints goroutines running on other threads as `goroutine running on other thread;
/// stack unavailable`; the dump still reads whole.
#[test]
fn sigquit_dumps_of_a_busy_service_read_whole() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let out = tempfile::tempdir().expect("tempdir");
    let bin = go_build("testdata/watch", &["./churn"], out.path()).join("churn");
    let mut unavailable = 0;
    for i in 0..20 {
        // Half are SIGQUIT dumps, half the runtime's own crash on concurrent map writes, where
        // goroutines running on other threads are printed without a stack.
        let crash = i % 2 == 1;
        let mut child = Command::new(&bin)
            .args(if crash { &["-map-crash"][..] } else { &[][..] })
            .env("GOTRACEBACK", "all")
            .env("GOMAXPROCS", "4")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start churn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
        if !crash {
            std::thread::sleep(Duration::from_millis(50));
            let status = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
        let mut stderr = Vec::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_end(&mut stderr)
            .expect("read stderr");
        let _ = child.wait();
        let text = String::from_utf8_lossy(&stderr);
        unavailable += usize::from(text.contains("stack unavailable"));
        let snapshot = parse(&format!("sigquit-{i}"), &stderr[..], Limits::default())
            .unwrap_or_else(|e| panic!("SIGQUIT dump {i}: {e}"));
        // Threads' `goroutine 0` stacks, the runtime's own goroutines and second printings
        // are not goroutines of the program.
        assert_eq!(
            snapshot.total(),
            support::program_goroutines(&text),
            "SIGQUIT dump {i}"
        );
    }
    eprintln!("{unavailable} of 20 crash dumps held a goroutine running on another thread");
}
