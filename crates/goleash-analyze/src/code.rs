//! Whose code a frame is: the runtime's, the standard library's, or the user's.

/// Top-level directories of the Go 1.27 standard library. A function whose package path
/// starts with one of these (and has no dot in its first element) is standard library.
const STDLIB_ROOTS: &[&str] = &[
    "archive",
    "arena",
    "bufio",
    "builtin",
    "bytes",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "vendor",
    "weak",
];

/// The package path of a Go function name: `net/http.(*conn).serve` → `net/http`,
/// `example.com/app/x.F.func1` → `example.com/app/x`, `main.main` → `main`.
pub fn package_of(function: &str) -> &str {
    let after_slash = function.rfind('/').map_or(0, |i| i + 1);
    match function[after_slash..].find('.') {
        Some(dot) => &function[..after_slash + dot],
        None => function,
    }
}

/// True for functions of the standard library (the runtime included).
pub fn is_stdlib_function(function: &str) -> bool {
    let package = package_of(function);
    let first = package.split('/').next().unwrap_or(package);
    if first.contains('.') {
        return false;
    }
    stdlib_roots().contains(first)
}

/// [`STDLIB_ROOTS`] as a set: asked for nearly every frame of every scrape of a watch, where
/// a binary search's string comparisons were a measurable share of the analysis.
fn stdlib_roots() -> &'static rustc_hash::FxHashSet<&'static str> {
    static ROOTS: std::sync::OnceLock<rustc_hash::FxHashSet<&'static str>> =
        std::sync::OnceLock::new();
    ROOTS.get_or_init(|| STDLIB_ROOTS.iter().copied().collect())
}

/// Frames of package `runtime` itself: tracebacks hide them, profiles keep them, so they are
/// left out when stacks of different formats are compared. Tracebacks print
/// `runtime.gopanic` as a bare `panic`.
pub fn is_runtime_frame(function: &str) -> bool {
    function.starts_with("runtime.") || is_panic_frame(function)
}

/// The runtime's panic, as tracebacks (`panic`) and profiles (`runtime.gopanic`) name it.
/// Frames above it in a stack are deferred code run by the panic, not where it happened.
pub(crate) fn is_panic_frame(function: &str) -> bool {
    function == "panic" || function == "runtime.gopanic"
}

/// cgo's generated stubs (`main._Cfunc_read` in `_cgo_gotypes.go`): the Go line that called C
/// is the next frame.
pub(crate) fn is_cgo_stub(function: &str, file: &str) -> bool {
    let last = function.rsplit('.').next().unwrap_or(function);
    file.ends_with("_cgo_gotypes.go")
        || ["_Cfunc_", "_C2func_", "_cgo_", "_Cmacro_"]
            .iter()
            .any(|prefix| last.starts_with(prefix))
}

/// True when `function` belongs to the user's code under the given prefixes (or, with none,
/// to anything outside the standard library).
pub(crate) fn is_user_function(function: &str, user_prefixes: &[String]) -> bool {
    if user_prefixes.is_empty() {
        return !is_stdlib_function(function);
    }
    let package = package_of(function);
    user_prefixes.iter().any(|prefix| {
        package == prefix
            || package.starts_with(&format!("{prefix}/"))
            || (prefix == "main" && package == "main")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_sorted_for_binary_search() {
        assert!(STDLIB_ROOTS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn packages() {
        assert_eq!(package_of("net/http.(*conn).serve"), "net/http");
        assert_eq!(
            package_of("goleash.test/scenarios/x.fetch.func1"),
            "goleash.test/scenarios/x"
        );
        assert_eq!(package_of("main.main.func1.2"), "main");
        assert_eq!(package_of("main.Map[...]"), "main");
        assert!(is_stdlib_function("internal/poll.runtime_pollWait"));
        assert!(is_stdlib_function("sync.(*WaitGroup).Wait"));
        assert!(!is_stdlib_function("main.worker"));
        assert!(!is_stdlib_function("github.com/x/y.F"));
        assert!(!is_stdlib_function("probe/internal.F"));
        assert!(is_runtime_frame("runtime.gopark"));
        assert!(is_runtime_frame("panic"));
        assert!(!is_runtime_frame("main.panicky"));
        assert!(is_cgo_stub("main._Cfunc_block_read", "_cgo_gotypes.go"));
        assert!(is_cgo_stub(
            "example.com/x/c._Cfunc_sleep",
            "x/_cgo_gotypes.go"
        ));
        assert!(!is_cgo_stub("main.reader", "main.go"));
        assert!(!is_runtime_frame("runtime/pprof.writeGoroutine"));
        assert!(is_user_function(
            "example.com/app/db.Open",
            &["example.com/app".into()]
        ));
        assert!(!is_user_function(
            "example.com/apple.Open",
            &["example.com/app".into()]
        ));
    }
}
