//! `--listen`: Prometheus `/metrics`, the dashboard page and the JSON it draws from, on a
//! plain std TCP listener (one thread; requests are tiny and rare, no framework needed).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::state::State;

const DASHBOARD: &str = include_str!("dashboard.html");

/// How many groups per target get their own metric series, besides the suspects: enough to
/// see what dominates, bounded so cardinality does not follow the number of stacks.
const TOP_GROUPS: usize = 10;

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
                metrics(&lock(state)),
            ),
            "/" | "/index.html" => ("200 OK", "text/html; charset=utf-8", DASHBOARD.to_string()),
            "/api/state" => (
                "200 OK",
                "application/json",
                crate::ui::report_json(&lock(state), Duration::ZERO).to_string(),
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

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of the state.
pub fn metrics(state: &State) -> String {
    let mut m = String::with_capacity(4096 + state.targets.len() * 2048);
    let family = |m: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(m, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut m,
        "goleash_watch_target_up",
        "gauge",
        "1 when the last scrape of the target succeeded.",
    );
    for t in &state.targets {
        let _ = writeln!(
            m,
            "goleash_watch_target_up{{{}}} {}",
            target_labels(t),
            u8::from(t.up())
        );
    }
    family(
        &mut m,
        "goleash_watch_target_goroutines",
        "gauge",
        "Goroutines in the target at the last successful scrape.",
    );
    for t in &state.targets {
        if let Some(total) = t.total() {
            let _ = writeln!(
                m,
                "goleash_watch_target_goroutines{{{}}} {total}",
                target_labels(t)
            );
        }
    }
    family(
        &mut m,
        "goleash_watch_target_growth_per_minute",
        "gauge",
        "Theil-Sen slope of the target's goroutine total over the window, per minute.",
    );
    for t in &state.targets {
        let _ = writeln!(
            m,
            "goleash_watch_target_growth_per_minute{{{}}} {}",
            target_labels(t),
            t.growth_per_min
        );
    }
    family(
        &mut m,
        "goleash_watch_target_suspects",
        "gauge",
        "Leak suspect groups in the target.",
    );
    for t in &state.targets {
        let _ = writeln!(
            m,
            "goleash_watch_target_suspects{{{}}} {}",
            target_labels(t),
            t.suspects().len()
        );
    }
    family(
        &mut m,
        "goleash_watch_scrapes_total",
        "counter",
        "Scrapes attempted.",
    );
    for t in &state.targets {
        let _ = writeln!(
            m,
            "goleash_watch_scrapes_total{{{}}} {}",
            target_labels(t),
            t.scrapes
        );
    }
    family(
        &mut m,
        "goleash_watch_scrape_errors_total",
        "counter",
        "Failed scrapes by kind (down, timeout, status, html, too_large, garbage).",
    );
    for t in &state.targets {
        for (kind, n) in &t.errors {
            let _ = writeln!(
                m,
                "goleash_watch_scrape_errors_total{{{},kind=\"{}\"}} {n}",
                target_labels(t),
                kind.name()
            );
        }
    }
    family(
        &mut m,
        "goleash_watch_scrape_duration_seconds",
        "summary",
        "Time per scrape: fetch, parse and analyze.",
    );
    for t in &state.targets {
        let url = target_labels(t);
        let _ = writeln!(
            m,
            "goleash_watch_scrape_duration_seconds_sum{{{url}}} {}",
            t.duration_sum_s
        );
        let _ = writeln!(
            m,
            "goleash_watch_scrape_duration_seconds_count{{{url}}} {}",
            t.scrapes
        );
    }
    family(
        &mut m,
        "goleash_watch_analyze_seconds_total",
        "counter",
        "Time spent parsing and judging the target's profiles.",
    );
    for t in &state.targets {
        let _ = writeln!(
            m,
            "goleash_watch_analyze_seconds_total{{{}}} {}",
            target_labels(t),
            t.analyze_sum_s
        );
    }
    let mut groups = String::new();
    let mut slopes = String::new();
    let mut suspects = String::new();
    for t in &state.targets {
        let url = target_labels(t);
        let mut shown = t.suspects();
        for g in t.top(TOP_GROUPS) {
            if !shown.iter().any(|s| s.0 == g.0) {
                shown.push(g);
            }
        }
        for (hash, g) in shown {
            let site = escape(&g.info.site.as_ref().map_or_else(String::new, |s| s.short()));
            let labels = format!(
                "{url},group=\"{hash:016x}\",site=\"{site}\",verdict=\"{}\",trend=\"{}\"",
                g.watch_verdict().name(),
                g.trend.kind.name()
            );
            let _ = writeln!(
                groups,
                "goleash_watch_group_goroutines{{{labels}}} {}",
                g.last()
            );
            let _ = writeln!(
                slopes,
                "goleash_watch_group_slope_per_minute{{{labels}}} {}",
                g.trend.slope_per_min
            );
            let _ = writeln!(
                suspects,
                "goleash_watch_group_suspect{{{labels}}} {}",
                u8::from(g.is_suspect())
            );
        }
    }
    family(
        &mut m,
        "goleash_watch_group_goroutines",
        "gauge",
        "Goroutines in a group (stack) at the last scrape; suspects and the top groups per target.",
    );
    m.push_str(&groups);
    family(
        &mut m,
        "goleash_watch_group_slope_per_minute",
        "gauge",
        "Theil-Sen slope of the group's count over the window, per minute.",
    );
    m.push_str(&slopes);
    family(
        &mut m,
        "goleash_watch_group_suspect",
        "gauge",
        "1 when the group is a leak suspect (growing and not expected, or proven).",
    );
    m.push_str(&suspects);
    family(
        &mut m,
        "goleash_watch_rounds_total",
        "counter",
        "Rounds of scrapes done.",
    );
    let _ = writeln!(m, "goleash_watch_rounds_total {}", state.round);
    family(
        &mut m,
        "goleash_watch_round_duration_seconds",
        "gauge",
        "Duration of the last round.",
    );
    let _ = writeln!(
        m,
        "goleash_watch_round_duration_seconds {}",
        state.last_round_s
    );
    family(
        &mut m,
        "goleash_watch_rounds_overrun_total",
        "counter",
        "Rounds that took longer than the interval.",
    );
    let _ = writeln!(
        m,
        "goleash_watch_rounds_overrun_total {}",
        state.rounds_overrun
    );
    family(
        &mut m,
        "goleash_watch_db_bytes",
        "gauge",
        "Size of the history DB and its WAL.",
    );
    let _ = writeln!(m, "goleash_watch_db_bytes {}", state.db_bytes);
    family(
        &mut m,
        "goleash_watch_db_errors_total",
        "counter",
        "Failed writes to the history DB.",
    );
    let _ = writeln!(m, "goleash_watch_db_errors_total {}", state.db_errors);
    family(
        &mut m,
        "goleash_watch_webhook_sent_total",
        "counter",
        "Alert batches the webhook accepted.",
    );
    let _ = writeln!(m, "goleash_watch_webhook_sent_total {}", state.webhook_sent);
    family(
        &mut m,
        "goleash_watch_webhook_errors_total",
        "counter",
        "Alert batches the webhook refused or never got.",
    );
    let _ = writeln!(
        m,
        "goleash_watch_webhook_errors_total {}",
        state.webhook_errors
    );
    if let Some((cpu, rss)) = process_usage() {
        family(
            &mut m,
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time of goleash watch.",
        );
        let _ = writeln!(m, "process_cpu_seconds_total {cpu}");
        family(
            &mut m,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of goleash watch.",
        );
        let _ = writeln!(m, "process_resident_memory_bytes {rss}");
    }
    family(
        &mut m,
        "process_start_time_seconds",
        "gauge",
        "Start time of goleash watch, seconds since the epoch.",
    );
    let _ = writeln!(
        m,
        "process_start_time_seconds {}",
        state.started_ms as f64 / 1000.0
    );
    m
}

/// CPU seconds and resident bytes of this process, from /proc (Linux only).
pub fn process_usage() -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ is 100 on every Linux ABI Rust targets
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    Some(((utime + stime) / ticks, rss_pages * 4096))
}

/// `target="URL"` plus the target's file_sd labels, so series from several shards aggregate
/// by `job` or any label the target list carries. Names Prometheus would refuse are skipped.
fn target_labels(t: &crate::state::TargetState) -> String {
    let mut out = format!("target=\"{}\"", escape(&t.target.url));
    for (k, v) in &t.target.labels {
        let valid = !k.is_empty()
            && k != "target"
            && !k.starts_with(|c: char| c.is_ascii_digit())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            out.push_str(&format!(",{k}=\"{}\"", escape(v)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::TargetState;

    #[test]
    fn metrics_carry_file_sd_labels_and_are_well_formed() {
        let mut target = crate::targets::parse_url("127.0.0.1:1").unwrap();
        target.labels.insert("job".into(), "api \"v2\"".into());
        target.labels.insert("bad-name".into(), "x".into());
        let mut t = TargetState::new(Arc::new(target));
        t.push(1_000, 7, std::iter::empty());
        let state = State {
            targets: vec![t],
            round: 3,
            started_ms: 0,
            interval_ms: 1000,
            window_ms: 60_000,
            last_round_s: 0.1,
            rounds_overrun: 0,
            db_errors: 0,
            db_bytes: 0,
            webhook_errors: 0,
            webhook_sent: 0,
            slo: None,
        };
        let text = metrics(&state);
        assert!(text.contains(
            "goleash_watch_target_goroutines{target=\"http://127.0.0.1:1/debug/pprof\",job=\"api \\\"v2\\\"\"} 7"
        ), "{text}");
        assert!(!text.contains("bad-name"));
        assert!(text.contains("goleash_watch_rounds_total 3"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
        }
    }
}
