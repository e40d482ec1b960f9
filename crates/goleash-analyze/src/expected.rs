//! Goroutines that live long by design, so that they are not reported as leaks.

use goleash_model::Frame;

/// A user-supplied pattern of a long-lived goroutine: a function name, exact or with a
/// trailing `*` for a prefix, matched against any frame of the stack or the creator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedPattern {
    pub function: String,
    pub reason: String,
}

impl ExpectedPattern {
    pub fn new(function: impl Into<String>) -> Self {
        let function = function.into();
        let reason = format!("matches the expected pattern `{function}`");
        ExpectedPattern { function, reason }
    }

    fn matches(&self, function: &str) -> bool {
        match self.function.strip_suffix('*') {
            Some(prefix) => function.starts_with(prefix),
            None => function == self.function,
        }
    }
}

/// Standard-library and runtime goroutines that are long-lived by design. They only count
/// when no user frame stands above the matched frame: a handler stuck inside
/// `(*conn).serve` is the user's bug, an idle keep-alive connection is not.
const BUILTIN: &[(&str, &str)] = &[
    ("os/signal.signal_recv", "os/signal's delivery loop lives as long as the process"),
    ("os/signal.loop", "os/signal's delivery loop lives as long as the process"),
    ("net/http.(*conn).serve", "an HTTP server connection: it lives while the client keeps it open (keep-alive), bounded by Server.IdleTimeout/ReadTimeout"),
    ("net/http.(*connReader).backgroundRead", "the HTTP server reading ahead while a handler runs: it ends with the handler (a stuck handler is reported on its own)"),
    ("net/http.(*persistConn).readLoop", "an idle connection in http.Transport's pool, closed by IdleConnTimeout"),
    ("net/http.(*persistConn).writeLoop", "an idle connection in http.Transport's pool, closed by IdleConnTimeout"),
    ("net/http.(*Server).Serve", "an HTTP server's accept loop"),
    ("net.(*TCPListener).Accept", "a listener's accept loop: it lives while the listener is open"),
    ("net.(*UnixListener).Accept", "a listener's accept loop: it lives while the listener is open"),
    ("net/http.(*http2serverConn).serve", "an HTTP/2 server connection"),
    ("net/http.(*http2ClientConn).readLoop", "an HTTP/2 client connection in the pool"),
    ("database/sql.(*DB).connectionOpener", "database/sql's connection opener, ended by DB.Close"),
    ("database/sql.(*DB).connectionCleaner", "database/sql's connection cleaner, ended by DB.Close"),
    ("database/sql.(*DB).connectionResetter", "database/sql's connection resetter, ended by DB.Close"),
    ("testing.(*T).Run", "the testing harness waiting for a test to finish"),
    ("testing.(*M).Run", "the testing harness"),
    ("testing.runTests", "the testing harness"),
    ("testing.(*T).Parallel", "a parallel test waiting for its turn"),
    ("testing.(*M).startAlarm", "the test timeout alarm"),
    ("runtime/pprof.profileWriter", "the CPU profile writer"),
    ("runtime/pprof.writeGoroutineStacks", "the goroutine that wrote this dump"),
    ("runtime/pprof.writeGoroutine", "the goroutine that wrote this dump"),
    ("runtime/pprof.(*Profile).WriteTo", "the goroutine that wrote this profile"),
    ("runtime.Stack", "the goroutine that wrote this dump"),
    ("runtime.goroutineProfileWithLabels", "the goroutine that wrote this profile"),
    ("k8s.io/klog/v2.(*flushDaemon).run", "klog's flush daemon"),
    ("github.com/golang/glog.(*fileSink).flushDaemon", "glog's flush daemon"),
    ("go.opencensus.io/stats/view.(*worker).start", "OpenCensus's stats worker"),
];

/// Builtin expectations for what a program opens and should close: servers, listeners,
/// connection pools. In a process they live as long as it does; left by a test, they are
/// that test's leak (goleak's rule), so [`Policy::Test`] does not expect them.
const OWNED_BY_WHOEVER_OPENED_THEM: &[&str] = &[
    "net/http.(*conn).serve",
    "net/http.(*connReader).backgroundRead",
    "net/http.(*persistConn).readLoop",
    "net/http.(*persistConn).writeLoop",
    "net/http.(*Server).Serve",
    "net.(*TCPListener).Accept",
    "net.(*UnixListener).Accept",
    "net/http.(*http2serverConn).serve",
    "net/http.(*http2ClientConn).readLoop",
    "database/sql.(*DB).connectionOpener",
    "database/sql.(*DB).connectionCleaner",
    "database/sql.(*DB).connectionResetter",
];

/// Whose goroutines a dump shows, which decides what is expected to live long.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// A running program: servers, listeners and pools live as long as the process.
    #[default]
    Production,
    /// After a test: only the runtime's and the testing harness's goroutines are expected;
    /// anything the test opened and left open is its leak.
    Test,
}

/// What a test left open, when the group is a server, listener or pool goroutine that
/// [`Policy::Production`] would expect.
pub(crate) fn left_open(frames: &[&Frame], user: impl Fn(&str) -> bool) -> Option<&'static str> {
    for frame in frames {
        if let Some((function, reason)) = BUILTIN.iter().find(|(f, _)| *f == &*frame.function) {
            return OWNED_BY_WHOEVER_OPENED_THEM
                .contains(function)
                .then_some(*reason);
        }
        if user(&frame.function) {
            break;
        }
    }
    None
}

/// Why a group is expected to be long-lived, if it is.
pub(crate) fn expected_reason(
    frames: &[&Frame],
    creator: Option<&Frame>,
    user: impl Fn(&str) -> bool,
    patterns: &[ExpectedPattern],
    policy: Policy,
) -> Option<String> {
    for pattern in patterns {
        let hit = frames.iter().any(|f| pattern.matches(&f.function))
            || creator.is_some_and(|c| pattern.matches(&c.function));
        if hit {
            return Some(pattern.reason.clone());
        }
    }
    for frame in frames {
        if let Some((function, reason)) = BUILTIN.iter().find(|(f, _)| *f == &*frame.function) {
            if policy == Policy::Test && OWNED_BY_WHOEVER_OPENED_THEM.contains(function) {
                return None;
            }
            return Some((*reason).to_string());
        }
        if user(&frame.function) {
            break;
        }
    }
    if frames.last().is_some_and(|f| &*f.function == "main.main") && creator.is_none() {
        return Some("the main goroutine: it lives as long as the program".to_string());
    }
    None
}
