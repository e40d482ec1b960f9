//! The fixtures are real Go: `go vet` must accept the whole fixture module.

use std::process::Command;

#[test]
fn fixtures_compile_and_vet_clean() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    // lostcancel, sigchanyzer and waitgroup are the vet analyzers our parity rules (GL013,
    // GL024, GL017) duplicate: they flag the fixtures' intentional positive cases.
    let output = Command::new("go")
        .args([
            "vet",
            "-lostcancel=false",
            "-sigchanyzer=false",
            "-waitgroup=false",
            "./...",
        ])
        .current_dir(dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `go` ({e}): install Go 1.27.3 first (scripts/ensure-go.sh)")
        });
    assert!(
        output.status.success(),
        "go vet failed on the fixtures:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
