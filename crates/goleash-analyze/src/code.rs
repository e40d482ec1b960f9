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
    STDLIB_ROOTS.binary_search(&first).is_ok()
}

/// Frames of package `runtime` itself: tracebacks hide them, profiles keep them, so they are
/// left out when stacks of different formats are compared.
pub fn is_runtime_frame(function: &str) -> bool {
    function.starts_with("runtime.")
}

/// True when `function` belongs to the user's code under the given prefixes (or, with none,
/// to anything outside the standard library).
pub fn is_user_function(function: &str, user_prefixes: &[String]) -> bool {
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
