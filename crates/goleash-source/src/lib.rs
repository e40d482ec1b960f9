//! Opens the inputs `goleash` reads: a file, `-` for stdin, or a URL of a live process.
//!
//! A bare URL (`http://127.0.0.1:6060` or `…/debug/pprof/`) expands to three requests taken
//! one right after the other (see [`live_requests`]): the goroutineleak profile (it runs the
//! runtime's leak-detecting GC, which also marks leaked goroutines `(leaked)` in later dumps),
//! the goroutine profile as protobuf (every goroutine, fast at any size), then the
//! `goroutine?debug=2` dump (states, wait times, ids; Go stops writing it at 64 MiB).
//!
//! [`unwrap`] then undoes what carried the dump: compression, a text encoding, and the line
//! wrappers of logs and pastes (see [`transport`]).

#![warn(unreachable_pub)]

pub mod decode;
pub mod gosrc;
pub mod http;
pub mod transport;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::time::Duration;

/// One opened input, ready to be parsed.
pub struct Opened {
    /// A path, `-`, or the URL actually requested.
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    /// What was undone to reach the dump, outermost first (`zstd, CRI log`); `None` for a
    /// dump read as it is.
    pub transport: Option<String>,
}

/// Limits for live endpoints.
#[derive(Clone, Copy, Debug)]
pub struct FetchOptions {
    /// The whole request, connect to last byte.
    pub timeout: Duration,
    /// Also request `/debug/pprof/goroutineleak` (forces a full GC in the target).
    pub leak_profile: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            leak_profile: true,
        }
    }
}

/// Why an input could not be opened.
#[derive(Debug)]
pub struct SourceError {
    pub source: String,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for SourceError {}

fn error(source: &str, message: impl Into<String>) -> SourceError {
    SourceError {
        source: source.to_string(),
        message: message.into(),
    }
}

/// Opens one input argument; a bare URL of a live process gives two inputs.
pub fn open(spec: &str, options: &FetchOptions) -> Result<Vec<Opened>, SourceError> {
    if spec == "-" {
        return Ok(vec![Opened {
            name: "-".to_string(),
            reader: Box::new(std::io::stdin()),
            transport: None,
        }]);
    }
    if spec.starts_with("http://") || spec.starts_with("https://") {
        return open_url(spec, options);
    }
    let file = File::open(spec).map_err(|e| error(spec, format!("cannot open: {e}")))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(error(
            spec,
            "is a directory; expected a dump or profile file",
        ));
    }
    Ok(vec![Opened {
        name: spec.to_string(),
        reader: Box::new(file),
        transport: None,
    }])
}

/// What one request of a live target is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveRole {
    /// `/debug/pprof/goroutineleak?debug=0`: the runtime's proof; optional (Go ≥ 1.26, and it
    /// runs a full GC that may take long on a huge heap).
    LeakProfile,
    /// `/debug/pprof/goroutine?debug=0`: every goroutine's stack and count, whatever the size.
    Profile,
    /// `/debug/pprof/goroutine?debug=2`: the details, cut by Go at 64 MiB.
    Dump,
}

/// One request of a live target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRequest {
    pub url: String,
    pub role: LiveRole,
}

/// The requests for a bare live-target URL (`http://127.0.0.1:6060`, `…/debug/pprof/`), in
/// the order to take them; `None` for a profile URL, which is used as given.
pub fn live_requests(url: &str, leak_profile: bool) -> Option<Vec<LiveRequest>> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let root = pprof_root(url)?;
    let mut requests = Vec::new();
    if leak_profile {
        requests.push(LiveRequest {
            url: format!("{root}/goroutineleak?debug=0"),
            role: LiveRole::LeakProfile,
        });
    }
    requests.push(LiveRequest {
        url: format!("{root}/goroutine?debug=0"),
        role: LiveRole::Profile,
    });
    requests.push(LiveRequest {
        url: format!("{root}/goroutine?debug=2"),
        role: LiveRole::Dump,
    });
    Some(requests)
}

/// The pprof root (`http://host:port/debug/pprof`, or wherever pprof is mounted:
/// `http://host/admin/pprof`) that a URL names: a bare host (Go's default mount) or a path
/// whose last segment is `pprof`. `None` for anything else, a profile URL to use as given.
/// `goleash analyze` and `goleash watch` both read URLs through this.
pub fn pprof_root(url: &str) -> Option<String> {
    let (before_query, query) = url.split_once('?').unwrap_or((url, ""));
    if !query.is_empty() {
        return None;
    }
    let (scheme, rest) = before_query.split_once("://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Some(format!("{scheme}://{host}/debug/pprof"));
    }
    path.ends_with("/pprof")
        .then(|| format!("{scheme}://{host}{path}"))
}

/// The profile endpoints to request for a URL. Only a bare host (`http://127.0.0.1:6060`) or
/// the pprof index (`…/debug/pprof/`) expands; any other path is a profile URL used as given
/// (pprof mounted elsewhere, a proxy).
pub fn expand_url(url: &str, leak_profile: bool) -> Vec<String> {
    let Some(root) = pprof_root(url) else {
        return vec![url.to_string()];
    };
    let mut urls = Vec::new();
    if leak_profile {
        urls.push(format!("{root}/goroutineleak?debug=0"));
    }
    urls.push(format!("{root}/goroutine?debug=2"));
    urls
}

fn open_url(spec: &str, options: &FetchOptions) -> Result<Vec<Opened>, SourceError> {
    let urls = expand_url(spec, options.leak_profile);
    let optional_leak = urls.len() > 1;
    let mut opened = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        match fetch_url(url, options)? {
            Some(input) => opened.push(input),
            // Go before 1.26 has no goroutineleak profile: analyze the dump alone.
            None if optional_leak && i == 0 => {}
            None => return Err(error(url, "HTTP status 404; expected 200 with a goroutine dump (is net/http/pprof registered?)")),
        }
    }
    Ok(opened)
}

/// Requests one profile URL; `None` when the server has no such profile (404). The body is
/// read as the parser pulls it, within the same timeout.
pub fn fetch_url(url: &str, options: &FetchOptions) -> Result<Option<Opened>, SourceError> {
    let agent = http::agent(options.timeout, 1);
    let answer = http::get(&agent, url, options.timeout).map_err(|fault| {
        let message = fault.message;
        let message = message
            .strip_prefix(&format!("{url}: "))
            .unwrap_or(&message)
            .to_string();
        error(url, message)
    })?;
    Ok(answer.map(|answer| Opened {
        name: url.to_string(),
        reader: answer.body,
        transport: None,
    }))
}

/// Undoes compression (by magic bytes), a UTF-16 or byte-order-marked encoding, and line
/// transports (logs, pastes) around one opened input. A keyed transport carrying several
/// sources (`kubectl logs --prefix` over several pods) gives one input per source, named
/// `name [source]`, so that each keeps its own dump; those are held in memory, at most
/// `max_bytes` in all.
pub fn unwrap(opened: Opened, max_bytes: u64) -> Result<Vec<Opened>, SourceError> {
    let name = opened.name;
    let mut names: Vec<&'static str> = Vec::new();
    let (reader, codec) =
        decode::decompress(opened.reader).map_err(|e| error(&name, e.to_string()))?;
    names.extend(codec.map(decode::Codec::name));
    let (reader, encoding) =
        decode::decode_text(reader).map_err(|e| error(&name, e.to_string()))?;
    names.extend(encoding.map(decode::Encoding::name));
    let unwrapped = transport::unwrap(&name, reader, max_bytes).map_err(|e| {
        let message = e.to_string();
        let message = message
            .strip_prefix(&format!("{name}: "))
            .unwrap_or(&message)
            .to_string();
        error(&name, message)
    })?;
    let describe = |names: &[&str]| (!names.is_empty()).then(|| names.join(", "));
    match unwrapped {
        transport::Unwrapped::Plain(reader) => Ok(vec![Opened {
            transport: describe(&names),
            name,
            reader,
        }]),
        transport::Unwrapped::Lines(layers, reader) => {
            names.extend(layers.iter().map(|l| l.name()));
            Ok(vec![Opened {
                transport: describe(&names),
                name,
                reader,
            }])
        }
        transport::Unwrapped::Sources(layers, sources) => {
            names.extend(layers.iter().map(|l| l.name()));
            let transport = describe(&names);
            let several = sources.len() > 1;
            Ok(sources
                .into_iter()
                .map(|(key, text)| Opened {
                    name: if several {
                        format!("{name} [{key}]")
                    } else {
                        name.clone()
                    },
                    reader: Box::new(std::io::Cursor::new(text)),
                    transport: transport.clone(),
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_urls_expand_to_leak_profile_then_dump() {
        for base in [
            "http://127.0.0.1:6060",
            "http://127.0.0.1:6060/",
            "http://127.0.0.1:6060/debug/pprof/",
            "http://127.0.0.1:6060/debug/pprof",
        ] {
            assert_eq!(
                expand_url(base, true),
                vec![
                    "http://127.0.0.1:6060/debug/pprof/goroutineleak?debug=0".to_string(),
                    "http://127.0.0.1:6060/debug/pprof/goroutine?debug=2".to_string(),
                ],
                "{base}"
            );
        }
        assert_eq!(
            expand_url("http://127.0.0.1:6060", false),
            vec!["http://127.0.0.1:6060/debug/pprof/goroutine?debug=2".to_string()]
        );
        for exact in [
            "http://127.0.0.1:6060/debug/pprof/goroutine?debug=1",
            "http://127.0.0.1:6060/admin/pprof/goroutine",
            "http://127.0.0.1:6060/hang",
        ] {
            assert_eq!(expand_url(exact, true), vec![exact.to_string()]);
        }
    }

    #[test]
    fn a_live_target_is_asked_for_the_proto_before_the_dump() {
        let roles = |leak| {
            live_requests("http://127.0.0.1:6060/debug/pprof/", leak)
                .unwrap()
                .into_iter()
                .map(|r| (r.role, r.url))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            roles(true),
            vec![
                (
                    LiveRole::LeakProfile,
                    "http://127.0.0.1:6060/debug/pprof/goroutineleak?debug=0".to_string()
                ),
                (
                    LiveRole::Profile,
                    "http://127.0.0.1:6060/debug/pprof/goroutine?debug=0".to_string()
                ),
                (
                    LiveRole::Dump,
                    "http://127.0.0.1:6060/debug/pprof/goroutine?debug=2".to_string()
                ),
            ]
        );
        assert_eq!(roles(false).len(), 2);
        assert!(
            live_requests("http://127.0.0.1:6060/debug/pprof/goroutine?debug=1", true).is_none()
        );
    }

    #[test]
    fn one_reading_of_pprof_urls() {
        let root = |u: &str| pprof_root(u);
        assert_eq!(
            root("http://h:1").as_deref(),
            Some("http://h:1/debug/pprof")
        );
        assert_eq!(
            root("http://h:1/").as_deref(),
            Some("http://h:1/debug/pprof")
        );
        assert_eq!(
            root("http://h:1/debug/pprof/").as_deref(),
            Some("http://h:1/debug/pprof")
        );
        assert_eq!(
            root("https://h/admin/pprof").as_deref(),
            Some("https://h/admin/pprof")
        );
        assert_eq!(root("http://h:1/admin/pprof/goroutine"), None);
        assert_eq!(root("http://h:1/debug/pprof/goroutine?debug=2"), None);
        assert_eq!(root("http://h:1/dumps/latest.txt"), None);
        let urls = expand_url("http://h/admin/pprof", true);
        assert_eq!(
            urls,
            [
                "http://h/admin/pprof/goroutineleak?debug=0",
                "http://h/admin/pprof/goroutine?debug=2"
            ]
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = open("/nonexistent/dump.txt", &FetchOptions::default())
            .err()
            .expect("a missing file is an error");
        assert!(err
            .to_string()
            .starts_with("/nonexistent/dump.txt: cannot open"));
    }
}
