//! The one HTTP client of goleash: `analyze` on a live URL and `watch`'s scrapes fetch
//! profiles through it. A deadline covers the whole exchange; failures are sorted into kinds
//! that reports and metrics can count, each with a message that names the URL.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;

/// Why a fetch failed, coarse enough to be a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Connection refused, reset, no route.
    Down,
    /// No complete answer within the timeout.
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

/// A failed fetch: its kind and a message that starts with the URL.
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

impl std::error::Error for Fault {}

/// A client with one connection pool, reused across requests (keep-alive). `idle` bounds the
/// pool. ureq scans its whole idle list on every request, so a client used for many hosts
/// costs more per request the more hosts it has seen: `goleash watch` gives each target its
/// own client (`idle` 1), which keeps the cost of a scrape independent of the number of
/// targets.
pub fn agent(timeout: Duration, idle: usize) -> ureq::Agent {
    agent_with(timeout, idle, &Access::default())
}

/// How to reach targets that are not plain HTTP on a trusted network: TLS trust and client
/// certificates, a bearer token, extra headers (`watch --ca-file`, `--bearer-token-file`,
/// `--header`).
#[derive(Clone, Debug, Default)]
pub struct AccessOptions {
    pub ca_file: Option<std::path::PathBuf>,
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
    pub insecure_skip_verify: bool,
    /// Read on every request, so a rotated token is picked up (as Prometheus does).
    pub bearer_token_file: Option<std::path::PathBuf>,
    pub headers: Vec<(String, String)>,
}

/// [`AccessOptions`] with its files read and checked once, at start.
#[derive(Clone, Debug, Default)]
pub struct Access {
    tls: Option<ureq::tls::TlsConfig>,
    bearer_token_file: Option<std::path::PathBuf>,
    headers: Vec<(String, String)>,
}

impl AccessOptions {
    /// Reads the certificate files; an unreadable or malformed one is named.
    pub fn load(&self) -> Result<Access, String> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let read = |flag: &str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| format!("{flag} {}: cannot read: {e}", path.display()))
        };
        let certs =
            |flag: &str, path: &std::path::Path| -> Result<Vec<Certificate<'static>>, String> {
                let pem = read(flag, path)?;
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(format!(
                        "{flag} {}: no PEM certificate in it",
                        path.display()
                    ));
                }
                Ok(certs)
            };
        let mut tls = TlsConfig::builder();
        let mut custom = false;
        if let Some(path) = &self.ca_file {
            tls = tls.root_certs(RootCerts::new_with_certs(&certs("--ca-file", path)?));
            custom = true;
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let chain = certs("--cert-file", cert)?;
                let key = PrivateKey::from_pem(&read("--key-file", key)?)
                    .map_err(|e| format!("--key-file {}: {e}", key.display()))?;
                tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
                custom = true;
            }
            (None, None) => {}
            _ => return Err("--cert-file and --key-file go together".into()),
        }
        if self.insecure_skip_verify {
            tls = tls.disable_verification(true);
            custom = true;
        }
        if let Some(path) = &self.bearer_token_file {
            read("--bearer-token-file", path)?;
        }
        Ok(Access {
            tls: custom.then(|| tls.build()),
            bearer_token_file: self.bearer_token_file.clone(),
            headers: self.headers.clone(),
        })
    }
}

/// A client like [`agent`] that reaches targets as `access` says.
pub fn agent_with(timeout: Duration, idle: usize, access: &Access) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_idle_connections(idle.clamp(8, 4096))
        .max_idle_connections_per_host(2)
        // Every pooled connection keeps its buffers (128 KiB each way by default): with
        // hundreds of targets that was most of the watcher's memory. Requests are tiny and
        // bodies are read in a loop, so small buffers cost nothing in speed.
        .input_buffer_size(16 * 1024)
        .output_buffer_size(4 * 1024)
        .user_agent(concat!("goleash/", env!("CARGO_PKG_VERSION")));
    if let Some(tls) = &access.tls {
        config = config.tls_config(tls.clone());
    }
    if access.bearer_token_file.is_some() || !access.headers.is_empty() {
        let token_file = access.bearer_token_file.clone();
        let headers = access.headers.clone();
        config = config.middleware(
            move |mut request: ureq::http::Request<ureq::SendBody>,
                  next: ureq::middleware::MiddlewareNext| {
                let map = request.headers_mut();
                for (name, value) in &headers {
                    if let (Ok(name), Ok(value)) = (
                        ureq::http::HeaderName::from_bytes(name.as_bytes()),
                        ureq::http::HeaderValue::from_str(value),
                    ) {
                        map.insert(name, value);
                    }
                }
                if let Some(path) = &token_file {
                    // A file that went missing since the start sends no token: the target's
                    // 401 then names the problem in the scrape error.
                    if let Ok(token) = std::fs::read_to_string(path) {
                        if let Ok(value) =
                            ureq::http::HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                        {
                            map.insert(ureq::http::header::AUTHORIZATION, value);
                        }
                    }
                }
                next.handle(request)
            },
        );
    }
    // The default connector, as `config.build().into()` would take; only the resolver is ours.
    ureq::Agent::with_parts(
        config.build(),
        ureq::unversioned::transport::DefaultConnector::default(),
        LiteralFirst::default(),
    )
}

/// Resolves an IP address in the URL (`127.0.0.1:6060`, `[::1]:6060`, what service discovery
/// gives) on the spot, and a host name as ureq does. ureq's own resolver starts a thread for
/// every request that has a timeout, even for an address that needs no lookup, and even when
/// a pooled connection then serves the request: a thread per scrape was ~5 % of the watcher's
/// CPU (perf, 500 loopback targets).
#[derive(Debug, Default)]
struct LiteralFirst {
    names: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => {
                ureq::unversioned::resolver::DefaultResolver::host_and_port(scheme, authority)
                    .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            }
            _ => None,
        };
        // An address of a family the config leaves out goes the usual way, to fail as before.
        match literal.filter(|a| config.ip_family().keep_wanted(std::iter::once(*a)).count() == 1) {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.names.resolve(uri, config, timeout),
        }
    }
}

/// A 200 answer: its announced size and its body, read as the caller pulls it (read errors
/// name the URL).
pub struct Answer {
    pub content_length: Option<u64>,
    pub body: Box<dyn Read + Send>,
}

/// GETs a JSON API (Prometheus's, an HTTP SD endpoint) within `timeout`: the status and the
/// body whatever the status, since such APIs explain a refusal in the body (Prometheus's
/// `{"status":"error","error":"parse error …"}` with a 400, "starting up" with a 503).
/// Bodies over `max` bytes are a [`FaultKind::TooLarge`] fault.
pub fn get_api(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    max: u64,
) -> Result<(u16, String), Fault> {
    let response = agent
        .get(url)
        .config()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .call()
        .map_err(|e| request_fault(url, timeout, e))?;
    let status = response.status().as_u16();
    let mut body = String::new();
    response
        .into_body()
        .into_with_config()
        .limit(max.saturating_add(1))
        .reader()
        .take(max.saturating_add(1))
        .read_to_string(&mut body)
        .map_err(|e| {
            let kind = if is_timeout(&e) {
                FaultKind::Timeout
            } else {
                FaultKind::Garbage
            };
            Fault::new(kind, format!("{url}: reading the answer: {e}"))
        })?;
    if body.len() as u64 > max {
        return Err(Fault::new(
            FaultKind::TooLarge,
            format!("{url}: the answer is over {max} bytes"),
        ));
    }
    Ok((status, body))
}

/// How far from the asked timeout an agent's own may be for a request to run on it.
const OWN_TIMEOUT_SLACK: Duration = Duration::from_millis(20);

/// GETs `url`, the whole exchange (headers and body) within `timeout`. `Ok(None)`: 404, the
/// profile does not exist in this process (goroutineleak before Go 1.26). A status other
/// than 200 or an HTML page is a [`Fault`].
pub fn get(agent: &ureq::Agent, url: &str, timeout: Duration) -> Result<Option<Answer>, Fault> {
    // A request-level timeout copies the agent's whole configuration for the request: a
    // watcher's cheap scrapes, whose budget is the agent's own timeout less the microseconds
    // already spent, use the agent's instead.
    let agents = agent.config().timeouts().global;
    let response = if agents.is_some_and(|own| own.abs_diff(timeout) <= OWN_TIMEOUT_SLACK) {
        agent.get(url).call()
    } else {
        agent
            .get(url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
    }
    .map_err(|e| request_fault(url, timeout, e))?;
    let status = response.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if status != 200 {
        return Err(Fault::new(
            FaultKind::Status,
            format!("{url}: HTTP status {status}; expected 200 with a goroutine profile (is net/http/pprof registered there?)"),
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
    let content_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let reader = response
        .into_body()
        .into_with_config()
        .limit(u64::MAX)
        .reader();
    Ok(Some(Answer {
        content_length,
        body: Box::new(NamedBody {
            inner: reader,
            url: url.to_string(),
        }),
    }))
}

/// A POST that did not succeed, and whether sending it again can help.
#[derive(Debug)]
pub struct Refused {
    pub fault: Fault,
    /// Network errors, 429 and 5xx are worth a retry; another 4xx means the request itself
    /// is wrong and would be refused again.
    pub retry: bool,
}

/// POSTs a JSON `body` to `url` (a webhook).
pub fn post_json(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    body: &[u8],
) -> Result<(), Refused> {
    post(
        agent,
        url,
        timeout,
        body,
        &[("content-type", "application/json")],
    )
}

/// POSTs `body` with `headers` (a webhook, a remote write). A refusal carries the first 512
/// bytes of the server's answer: Alertmanager and Prometheus say there what they refused.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Result<(), Refused> {
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).map_err(|e| Refused {
        fault: request_fault(url, timeout, e),
        retry: true,
    })?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let why = response
        .body_mut()
        .with_config()
        .limit(512)
        .read_to_string()
        .unwrap_or_default();
    let why = why.trim();
    Err(Refused {
        fault: Fault::new(
            FaultKind::Status,
            format!(
                "{url}: HTTP status {status}{}{why}",
                if why.is_empty() { "" } else { ": " }
            ),
        ),
        retry: status == 429 || status >= 500,
    })
}

/// Whether a body read failed by running out of time (ureq reports the global deadline as an
/// I/O error of kind TimedOut, or with "timeout" in it).
pub fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
        || e.to_string().to_ascii_lowercase().contains("timeout")
}

fn request_fault(url: &str, timeout: Duration, e: ureq::Error) -> Fault {
    match e {
        ureq::Error::Timeout(_) => Fault::new(
            FaultKind::Timeout,
            format!("{url}: no complete answer within {timeout:?} (--timeout)"),
        ),
        ureq::Error::Io(io) => Fault::new(FaultKind::Down, format!("{url}: {io}")),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            Fault::new(FaultKind::Down, format!("{url}: {e}"))
        }
        other => Fault::new(FaultKind::Down, format!("{url}: request failed: {other}")),
    }
}

/// Names the URL in body read errors (a body that stalls past the timeout, a reset).
struct NamedBody<R> {
    inner: R,
    url: String,
}

impl<R: Read> Read for NamedBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("reading the body of {} failed: {e}", self.url),
            )
        })
    }
}
