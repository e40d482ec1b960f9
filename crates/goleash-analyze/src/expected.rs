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

/// Why a group is expected to be long-lived, if it is.
pub(crate) fn expected_reason(
    frames: &[&Frame],
    creator: Option<&Frame>,
    user: impl Fn(&str) -> bool,
    patterns: &[ExpectedPattern],
) -> Option<String> {
    for pattern in patterns {
        let hit = frames.iter().any(|f| pattern.matches(&f.function))
            || creator.is_some_and(|c| pattern.matches(&c.function));
        if hit {
            return Some(pattern.reason.clone());
        }
    }
    for frame in frames {
        if let Some((_, reason)) = BUILTIN.iter().find(|(f, _)| *f == &*frame.function) {
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
