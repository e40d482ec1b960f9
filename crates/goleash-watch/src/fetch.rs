//! One HTTP GET of a profile with the limits a watcher needs: a deadline for the whole
//! exchange, a cap on the body, and errors sorted into kinds that metrics can count.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;

/// Why a scrape failed, coarse enough to be a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Connection refused, reset, no route.
    Down,
    /// No complete answer within the per-target timeout.
    Timeout,
    /// An HTTP status other than 200.
    Status,
    /// An HTML page (a login page, a proxy's error page) instead of a profile.
    Html,
    /// The body is larger than the size cap.
    TooLarge,
    /// The body is not a goroutine profile or dump.
    Garbage,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Down => "down",
            FaultKind::Timeout => "timeout",
            FaultKind::Status => "status",
            FaultKind::Html => "html",
            FaultKind::TooLarge => "too_large",
            FaultKind::Garbage => "garbage",
        }
    }

    pub const ALL: [FaultKind; 6] = [
        FaultKind::Down,
        FaultKind::Timeout,
        FaultKind::Status,
        FaultKind::Html,
        FaultKind::TooLarge,
        FaultKind::Garbage,
    ];
}

/// A failed scrape: its kind and a message that names the URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub kind: FaultKind,
    pub message: String,
}

impl Fault {
    pub fn new(kind: FaultKind, message: impl Into<String>) -> Fault {
        Fault {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A shared HTTP client: one connection pool for every target so a round reuses the
/// keep-alive connections of the previous one instead of opening hundreds of sockets.
pub fn agent(timeout: Duration, targets: usize) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_idle_connections(targets.clamp(8, 4096))
        .max_idle_connections_per_host(2)
        // Every pooled connection keeps its buffers (128 KiB each way by default): with
        // hundreds of targets that was most of the watcher's memory. Requests are tiny and
        // bodies are read in a loop, so small buffers cost nothing in speed.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(4 * 1024)
        .user_agent(concat!("goleash-watch/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The outcome of one GET that answered.
pub enum Got {
    Body(Vec<u8>),
    /// 404: the profile does not exist in this process (goroutineleak before Go 1.26).
    NotFound,
}

/// Fetches `url` into memory, refusing more than `max_bytes` of body.
pub fn get(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    max_bytes: u64,
) -> Result<Got, Fault> {
    let response = agent
        .get(url)
        .call()
        .map_err(|e| request_fault(url, timeout, e))?;
    let status = response.status().as_u16();
    if status == 404 {
        return Ok(Got::NotFound);
    }
    if status != 200 {
        return Err(Fault::new(
            FaultKind::Status,
            format!("{url}: HTTP status {status}; expected 200 with a goroutine profile"),
        ));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    if content_type.starts_with("text/html") {
        return Err(Fault::new(
            FaultKind::Html,
            format!("{url}: the server answered with an HTML page ({content_type}); expected a goroutine profile (is net/http/pprof mounted there?)"),
        ));
    }
    // Refuse early when the server announces the size: no need to read 1 GB to know.
    if let Some(length) = header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
        if length > max_bytes {
            return Err(too_large(url, max_bytes, Some(length)));
        }
    }
    let reader = response
        .into_body()
        .into_with_config()
        .limit(u64::MAX)
        .reader();
    let mut body = Vec::new();
    // Read one byte past the cap to tell "exactly the cap" from "more than the cap"; the
    // connection is dropped with the rest of a huge body unread.
    reader
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::TimedOut
                || e.to_string().to_ascii_lowercase().contains("timeout")
            {
                FaultKind::Timeout
            } else {
                FaultKind::Down
            };
            let message = match kind {
                FaultKind::Timeout => format!(
                    "{url}: the body did not arrive completely within {timeout:?} (--timeout)"
                ),
                _ => format!("{url}: reading the body failed: {e}"),
            };
            Fault::new(kind, message)
        })?;
    if body.len() as u64 > max_bytes {
        return Err(too_large(url, max_bytes, None));
    }
    let head = body.iter().take(512).copied().collect::<Vec<u8>>();
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let head = head.trim_start();
    if head.starts_with("<!doctype html") || head.starts_with("<html") {
        return Err(Fault::new(
            FaultKind::Html,
            format!("{url}: the body is an HTML page; expected a goroutine profile"),
        ));
    }
    Ok(Got::Body(body))
}

fn too_large(url: &str, max_bytes: u64, announced: Option<u64>) -> Fault {
    let size = announced.map_or_else(String::new, |n| format!(" ({n} bytes announced)"));
    Fault::new(
        FaultKind::TooLarge,
        format!(
            "{url}: the body is larger than --max-bytes {max_bytes} bytes{size}; not read further"
        ),
    )
}

fn request_fault(url: &str, timeout: Duration, e: ureq::Error) -> Fault {
    match e {
        ureq::Error::Timeout(_) => Fault::new(
            FaultKind::Timeout,
            format!("{url}: no complete answer within {:?} (--timeout)", timeout),
        ),
        ureq::Error::Io(io) => Fault::new(FaultKind::Down, format!("{url}: {io}")),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            Fault::new(FaultKind::Down, format!("{url}: {e}"))
        }
        other => Fault::new(FaultKind::Down, format!("{url}: request failed: {other}")),
    }
}
