//! `--listen`: Prometheus `/metrics`, the dashboard page and the JSON it draws from, on a
//! plain std TCP listener (one thread; requests are tiny and rare, no framework needed).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::state::State;

const DASHBOARD: &str = include_str!("dashboard.html");

/// Binds `addr` and serves on a background thread; returns the bound address (port 0 picks
/// a free one).
pub fn start(addr: SocketAddr, state: Arc<Mutex<State>>) -> Result<SocketAddr, String> {
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
                handle(stream, &state);
            }
        })
        .map_err(|e| format!("--listen {addr}: cannot start the server thread: {e}"))?;
    Ok(bound)
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
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
                crate::metrics::render(&lock(state)),
            ),
            "/" | "/index.html" => ("200 OK", "text/html; charset=utf-8", DASHBOARD.to_string()),
            "/api/state" => (
                "200 OK",
                "application/json",
                serde_json::to_string(&crate::report::WatchReport::of(
                    &lock(state),
                    Duration::ZERO,
                ))
                .unwrap_or_default(),
            ),
            "/api/series" => {
                let index = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("target="))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                match series(&lock(state), index) {
                    Some(json) => ("200 OK", "application/json", json.to_string()),
                    None => ("404 Not Found", "text/plain", "no such target\n".into()),
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

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// One target's window for the chart: the total and the top groups (suspects always).
pub fn series(state: &State, index: usize) -> Option<serde_json::Value> {
    let t = state.targets.get(index)?;
    let mut chosen = t.suspects();
    let mut by_peak: Vec<_> = t.groups.iter().collect();
    by_peak.sort_by(|a, b| {
        let peak = |g: &crate::state::GroupState| g.counts.iter().copied().max().unwrap_or(0);
        peak(b.1).cmp(&peak(a.1)).then(a.0.cmp(b.0))
    });
    for g in by_peak {
        if chosen.len() >= 8 {
            break;
        }
        if !chosen.iter().any(|c| c.0 == g.0) {
            chosen.push(g);
        }
    }
    let groups: Vec<serde_json::Value> = chosen
        .into_iter()
        .map(|(hash, g)| {
            serde_json::json!({
                "hash": format!("{hash:016x}"),
                "site": g.info.site.as_ref().map(|s| s.short()),
                "state": g.info.state.as_deref().unwrap_or(&g.info.category),
                "creator": g.info.creator.as_ref().map(|c| c.short()),
                "frames": g.info.frames.iter().map(|f| f.short()).collect::<Vec<_>>(),
                "counts": g.counts,
                "count": g.last(),
                "trend": g.trend.kind,
                "slope_per_min": (g.trend.slope_per_min * 100.0).round() / 100.0,
                "since_ms": g.suspect_since.or(g.trend.since_ms),
                "verdict": g.watch_verdict(),
                "suspect": g.is_suspect(),
            })
        })
        .collect();
    Some(serde_json::json!({
        "url": t.target.url,
        "times": t.times,
        "totals": t.totals,
        "groups": groups,
    }))
}
