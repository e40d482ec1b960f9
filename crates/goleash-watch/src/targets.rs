//! Which services to watch: URLs from the command line or a Prometheus `file_sd` file, and the
//! share of them this watcher owns when several watchers split one list (`--shard i/n`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// One service to scrape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The pprof root, e.g. `http://127.0.0.1:6060/debug/pprof`, without a trailing slash.
    /// It is also the target's name in the history and in metrics.
    pub url: String,
    /// Labels from the `file_sd` entry (those starting with `__` are not kept).
    pub labels: BTreeMap<String, String>,
}

impl Target {
    /// The endpoint of one profile under the pprof root, e.g. `goroutine?debug=0`.
    pub fn endpoint(&self, profile_and_query: &str) -> String {
        // Built by hand: `format!` was a visible share of a protobuf scrape's cost.
        let mut url = String::with_capacity(self.url.len() + 1 + profile_and_query.len());
        url.push_str(&self.url);
        url.push('/');
        url.push_str(profile_and_query);
        url
    }
}

/// Turns a command-line URL into a target. A bare `http://host:port` means net/http/pprof's
/// default mount; any other path is taken as the pprof root (pprof mounted elsewhere).
pub fn parse_url(spec: &str) -> Result<Target, String> {
    let spec = spec.trim();
    let (scheme, rest) = match spec.split_once("://") {
        Some((s @ ("http" | "https"), rest)) => (s, rest),
        Some((s, _)) => {
            return Err(format!(
                "`{spec}`: scheme `{s}` is not supported; expected http:// or https://"
            ))
        }
        // file_sd targets are host:port without a scheme.
        None => ("http", spec),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err(format!(
            "`{spec}`: no host; expected e.g. http://127.0.0.1:6060"
        ));
    }
    if path.contains('?') {
        return Err(format!(
            "`{spec}`: give the service (http://host:port) or its pprof root, not a profile URL with a query"
        ));
    }
    // The reading `goleash analyze` uses; a path it would take for a profile is, for a watch
    // target, pprof mounted under a prefix of its own.
    let mut path = path.trim_end_matches('/');
    // A goroutine profile URL names the service whose pprof root is above it.
    for profile in ["/goroutine", "/goroutineleak"] {
        path = path.strip_suffix(profile).unwrap_or(path);
    }
    let url = format!("{scheme}://{host}{path}");
    let root =
        goleash_source::pprof_root(&url).unwrap_or_else(|| url.trim_end_matches('/').to_string());
    Ok(Target {
        url: root,
        labels: BTreeMap::new(),
    })
}

/// One entry of a Prometheus `file_sd` file.
#[derive(Deserialize)]
struct FileSdGroup {
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Reads a Prometheus `file_sd` target file: a JSON or YAML list of
/// `{targets: [host:port, …], labels: {…}}`. The labels `__scheme__` (http or https) and
/// `__pprof_path__` (default `/debug/pprof`) say where the profiles are; other labels starting
/// with `__` are dropped, as Prometheus does.
pub fn load_file(path: &Path) -> Result<Vec<Target>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--targets {}: cannot read: {e}", path.display()))?;
    parse_file_sd(&text).map_err(|e| format!("--targets {}: {e}", path.display()))
}

/// A target source that could not be read.
#[derive(Debug)]
pub struct SourceFault {
    pub message: String,
    /// Worth asking again later: nothing answered, it timed out, or a 5xx (Prometheus
    /// answers 503 while it replays its WAL). A continuous watcher waits on these; a bad
    /// selector, a bad URL or a malformed answer is for a human to fix.
    pub transient: bool,
}

impl SourceFault {
    /// From a failed request: transient when nothing (complete) came back.
    pub fn of_request(fault: goleash_source::http::Fault, prefix: &str) -> SourceFault {
        use goleash_source::http::FaultKind;
        SourceFault {
            transient: matches!(fault.kind, FaultKind::Down | FaultKind::Timeout),
            message: format!("{prefix} {}", fault.message),
        }
    }

    /// From an answer with a status other than 200.
    pub fn of_status(status: u16, message: String) -> SourceFault {
        SourceFault {
            message,
            transient: status >= 500,
        }
    }
}

impl From<String> for SourceFault {
    fn from(message: String) -> SourceFault {
        SourceFault {
            message,
            transient: false,
        }
    }
}

impl fmt::Display for SourceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads a Prometheus HTTP SD endpoint (`--targets-url`): the same JSON list as file_sd, so
/// the targets Prometheus is given serve goleash too.
pub fn load_url(url: &str, timeout: std::time::Duration) -> Result<Vec<Target>, SourceFault> {
    let agent = goleash_source::http::agent(timeout, 1);
    let (status, text) = goleash_source::http::get_api(&agent, url, timeout, 64 << 20)
        .map_err(|e| SourceFault::of_request(e, "--targets-url"))?;
    if status != 200 {
        let start: String = text.trim().chars().take(80).collect();
        return Err(SourceFault::of_status(
            status,
            format!("--targets-url {url}: HTTP status {status} ({start:?}); expected 200 with a JSON list of {{targets, labels}}"),
        ));
    }
    if !text.trim_start().starts_with('[') {
        return Err(format!(
            "--targets-url {url}: not an HTTP SD JSON list (it starts {:?})",
            text.chars().take(40).collect::<String>()
        )
        .into());
    }
    parse_file_sd(&text).map_err(|e| format!("--targets-url {url}: {e}").into())
}

pub fn parse_file_sd(text: &str) -> Result<Vec<Target>, String> {
    let trimmed = text.trim_start();
    // JSON is YAML too, but serde_json names the line and column of a JSON mistake better.
    let groups: Vec<FileSdGroup> = if trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| format!("not a file_sd JSON list: {e}"))?
    } else if trimmed.is_empty() {
        Vec::new()
    } else {
        serde_yaml::from_str(text).map_err(|e| {
            format!("not a file_sd YAML list of {{targets: [...], labels: {{...}}}}: {e}")
        })?
    };
    let mut out = Vec::new();
    for group in groups {
        let scheme = group
            .labels
            .get("__scheme__")
            .map_or("http", String::as_str);
        let pprof_path = group
            .labels
            .get("__pprof_path__")
            .map_or("/debug/pprof", String::as_str);
        let labels: BTreeMap<String, String> = group
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for address in group.targets {
            let spec = if address.contains("://") {
                address.clone()
            } else {
                format!(
                    "{scheme}://{}/{}",
                    address.trim_end_matches('/'),
                    pprof_path.trim_start_matches('/')
                )
            };
            let mut target = parse_url(&spec)?;
            target.labels = labels.clone();
            out.push(target);
        }
    }
    Ok(out)
}

/// This watcher's part of a target list shared by `count` watchers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard; expected i/n with 1 ≤ i ≤ n, e.g. 2/3");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard owns the target. The hash depends on the URL alone, so every watcher
    /// given the same list agrees without talking to the others, and adding a target does not
    /// move the others.
    pub fn owns(&self, target: &Target) -> bool {
        stable_hash(target.url.as_bytes()) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// FNV-1a: stable across processes, platforms and Rust versions (unlike `DefaultHasher`),
/// which the history and the shards rely on.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Removes repeated targets, keeping the first (a URL given twice would be scraped twice and
/// its history doubled).
pub fn dedup(targets: Vec<Target>) -> Vec<Target> {
    let mut seen = std::collections::HashSet::new();
    targets
        .into_iter()
        .filter(|t| seen.insert(t.url.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_to_the_pprof_root() {
        for (spec, want) in [
            ("http://127.0.0.1:6060", "http://127.0.0.1:6060/debug/pprof"),
            (
                "http://127.0.0.1:6060/",
                "http://127.0.0.1:6060/debug/pprof",
            ),
            (
                "http://127.0.0.1:6060/debug/pprof/",
                "http://127.0.0.1:6060/debug/pprof",
            ),
            (
                "http://127.0.0.1:6060/debug/pprof/goroutine",
                "http://127.0.0.1:6060/debug/pprof",
            ),
            ("127.0.0.1:6060", "http://127.0.0.1:6060/debug/pprof"),
            (
                "https://10.0.0.1:8443/admin/pprof",
                "https://10.0.0.1:8443/admin/pprof",
            ),
        ] {
            assert_eq!(parse_url(spec).unwrap().url, want, "{spec}");
        }
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://").is_err());
        assert!(parse_url("http://h:1/debug/pprof/goroutine?debug=2").is_err());
    }

    #[test]
    fn file_sd_json_and_yaml() {
        let json = r#"[{"targets": ["127.0.0.1:1", "127.0.0.1:2"], "labels": {"job": "api", "__scheme__": "https"}},
                       {"targets": ["127.0.0.1:3"]}]"#;
        let t = parse_file_sd(json).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].url, "https://127.0.0.1:1/debug/pprof");
        assert_eq!(t[0].labels.get("job").map(String::as_str), Some("api"));
        assert!(!t[0].labels.contains_key("__scheme__"));
        assert_eq!(t[2].url, "http://127.0.0.1:3/debug/pprof");

        let yaml = "- targets:\n    - 127.0.0.1:7\n  labels:\n    job: worker\n    __pprof_path__: /internal/pprof\n- targets: ['127.0.0.1:8']\n";
        let t = parse_file_sd(yaml).unwrap();
        assert_eq!(t[0].url, "http://127.0.0.1:7/internal/pprof");
        assert_eq!(t[0].labels.get("job").map(String::as_str), Some("worker"));
        assert_eq!(t[1].url, "http://127.0.0.1:8/debug/pprof");

        assert!(parse_file_sd("{\"targets\": 1}").is_err());
        assert!(parse_file_sd("[{\"labels\": {}}]").is_err());
    }

    #[test]
    fn shards_partition_the_list() {
        let targets: Vec<Target> = (0..300)
            .map(|p| parse_url(&format!("127.0.0.1:{}", 10000 + p)).unwrap())
            .collect();
        let shards: Vec<Shard> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        let mut sizes = [0; 3];
        for t in &targets {
            let owners: Vec<usize> = (0..3).filter(|&i| shards[i].owns(t)).collect();
            assert_eq!(owners.len(), 1, "{}", t.url);
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 60), "{sizes:?}");
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("x").is_err());
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
    }
}
