//! `--listen`: Prometheus `/metrics`, the dashboard page and the JSON it draws from, on a
//! plain std TCP listener (one thread; requests are tiny and rare, no framework needed).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::render::{Render, TargetPage};
use crate::report::{SeriesReport, WatchReport};
use crate::state::State;

/// Binds `addr` and serves on a background thread; returns the bound address (port 0 picks
/// a free one).
pub(crate) fn start(
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    render: Arc<dyn Render>,
    target_page: Option<TargetPage>,
) -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind(addr).map_err(|e| format!("--listen {addr}: cannot listen: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("--listen {addr}: {e}"))?;
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A client that stalls is cut off instead of holding the only thread.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                handle(stream, &state, render.as_ref(), target_page.as_ref());
            }
        })
        .map_err(|e| format!("--listen {addr}: cannot start the server thread: {e}"))?;
    Ok(bound)
}

fn handle(
    stream: TcpStream,
    state: &Mutex<State>,
    render: &dyn Render,
    target_page: Option<&TargetPage>,
) {
    // A request is a line and a few headers; a client sending megabytes is cut off.
    let mut reader = BufReader::new(std::io::Read::take(&stream, 16 * 1024));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers; nothing in them matters here.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, content_type, body) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        )
    } else {
        match path {
            "/metrics" => (
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                render.metrics(&lock(state)),
            ),
            "/" | "/index.html" => (
                "200 OK",
                "text/html; charset=utf-8",
                render.dashboard().to_string(),
            ),
            "/api/state" => (
                "200 OK",
                "application/json",
                render.state_json(&WatchReport::of(&lock(state), Duration::ZERO)),
            ),
            "/api/series" => {
                let wanted = query_param(query, "target").unwrap_or_default();
                // The report is built under the lock, written after it is released.
                let series = SeriesReport::of(&lock(state), &wanted);
                match series {
                    Some(series) => ("200 OK", "application/json", render.series_json(&series)),
                    None => ("404 Not Found", "text/plain", "no such target\n".into()),
                }
            }
            "/report" => {
                let wanted = query_param(query, "target").unwrap_or_default();
                // The URL is checked under the lock; the fetch happens after it is released.
                let url = lock(state)
                    .target_by_url(&wanted)
                    .map(|t| t.target.url.clone());
                match (url, target_page) {
                    (None, _) => ("404 Not Found", "text/plain", "no such target\n".into()),
                    (Some(_), None) => (
                        "404 Not Found",
                        "text/plain",
                        "no report pages in this watcher\n".into(),
                    ),
                    (Some(url), Some(page)) => match page(&url) {
                        Ok(html) => ("200 OK", "text/html; charset=utf-8", html),
                        Err(e) => ("502 Bad Gateway", "text/plain", format!("{e}\n")),
                    },
                }
            }
            "/healthz" => ("200 OK", "text/plain", "ok\n".into()),
            _ => ("404 Not Found", "text/plain", "not found\n".into()),
        }
    };
    let mut out = &stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = out.write_all(body.as_bytes());
    }
    let _ = out.flush();
}

/// A query parameter, percent-decoded: targets are named by their URL (`?target=http%3A…`),
/// which stays the same across reloads and restarts, so a link to one can be shared.
fn query_param(query: &str, name: &str) -> Option<String> {
    let raw = query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}
