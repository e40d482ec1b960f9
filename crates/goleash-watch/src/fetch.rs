//! One scrape of a profile into memory, through goleash's one HTTP client
//! ([`goleash_source::http`]): a cap on the body, and an HTML body told from a profile.

use std::io::Read;
use std::time::Duration;

use goleash_source::http;
pub(crate) use goleash_source::http::{Fault, FaultKind};

/// The outcome of one GET that answered.
pub(crate) enum Got {
    Body(Vec<u8>),
    /// 404: the profile does not exist in this process (goroutineleak before Go 1.26).
    NotFound,
}

/// Fetches `url` into memory, refusing more than `max_bytes` of body.
pub(crate) fn get(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    max_bytes: u64,
) -> Result<Got, Fault> {
    let Some(answer) = http::get(agent, url, timeout)? else {
        return Ok(Got::NotFound);
    };
    // Refuse early when the server announces the size: no need to read 1 GB to know.
    if let Some(length) = answer.content_length.filter(|&n| n > max_bytes) {
        return Err(too_large(url, max_bytes, Some(length)));
    }
    // Sized from the announced length when there is one (a protobuf usually: Go sets it for
    // small answers), so the body is read without growing and copying the buffer.
    let mut body = Vec::with_capacity(
        answer
            .content_length
            .map_or(16 * 1024, |n| n.saturating_add(1))
            .min(max_bytes.saturating_add(1)) as usize,
    );
    // Read one byte past the cap to tell "exactly the cap" from "more than the cap"; the
    // connection is dropped with the rest of a huge body unread.
    answer
        .body
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| {
            if http::is_timeout(&e) {
                Fault::new(
                    FaultKind::Timeout,
                    format!(
                        "{url}: the body did not arrive completely within {timeout:?} (--timeout)"
                    ),
                )
            } else {
                // The body reader's error names the URL already.
                Fault::new(FaultKind::Down, e.to_string())
            }
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
