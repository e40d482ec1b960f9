//! Throughput of `goleash_parse::parse` on in-memory dumps, per format.
//!
//! Inputs are the checked-in fixtures (`testdata/dumps/**/goroutine*.debug2.txt`, `*.pb.gz`,
//! `*.debug1.txt` and the traceback variants in `testdata/dumps/formats/`) plus, when present,
//! the large dumps `bench/run.sh` generates under `bench/out/N/` (N = 10000 by default; set
//! `GOLEASH_BENCH_SIZES="10000 100000"` for more). Each file is read into memory once; the
//! benchmark parses it from a byte slice and reports bytes per second.
//!
//!     cargo bench -p goleash-parse --bench parse
//!     cargo bench -p goleash-parse --bench parse -- debug2   # one format
//!
//! `in_memory_*` parse the same inputs through `parse_bytes`, as `goleash watch` parses what
//! it fetched.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::counter::BytesCount;
use divan::Bencher;
use goleash_model::Snapshot;
use goleash_parse::{parse, parse_bytes, Limits, ParseError};

fn main() {
    divan::main();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Debug2,
    Proto,
    Debug1,
}

/// One input: a name relative to the repository root and its bytes.
struct Input {
    name: String,
    bytes: Vec<u8>,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kind_of(file: &str) -> Option<Kind> {
    if file.ends_with(".pb.gz") {
        Some(Kind::Proto)
    } else if file.ends_with(".debug1.txt") {
        Some(Kind::Debug1)
    } else if file.ends_with(".txt") {
        // goroutine.debug2.txt, goroutine-after-leakgc.debug2.txt and the formats/*.txt
        // traceback variants (panics, SIGQUIT, go test timeouts, logs).
        Some(Kind::Debug2)
    } else {
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn all_inputs() -> &'static [(Kind, Input)] {
    static INPUTS: OnceLock<Vec<(Kind, Input)>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let root = root();
        let mut files = Vec::new();
        walk(&root.join("testdata/dumps"), &mut files);
        let sizes = std::env::var("GOLEASH_BENCH_SIZES").unwrap_or_else(|_| "10000".into());
        for n in sizes.split_whitespace() {
            let dir = root.join("bench/out").join(n);
            for file in [
                "goroutine.debug2.txt",
                "goroutine.pb.gz",
                "goroutine.debug1.txt",
            ] {
                if dir.join(file).is_file() {
                    files.push(dir.join(file));
                }
            }
        }
        files.sort();
        let mut inputs = Vec::new();
        for path in files {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace("testdata/dumps/", "")
                .replace("bench/out/", "gen-");
            let Some(kind) = kind_of(&name) else { continue };
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            inputs.push((kind, Input { name, bytes }));
        }
        if inputs.is_empty() {
            eprintln!(
                "no inputs: run scripts/gen-fixtures.sh or `BENCH_SIZES=10000 bench/run.sh` first"
            );
        }
        inputs
    })
}

fn inputs(kind: Kind) -> Vec<&'static Input> {
    all_inputs()
        .iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, input)| input)
        .collect()
}

/// The streaming reader, as `goleash analyze` reads a file or stdin.
fn streamed(name: &str, bytes: &[u8]) -> Result<Snapshot, ParseError> {
    parse(name, bytes, Limits::default())
}

/// The body already in memory, as `goleash watch` parses what it fetched.
fn in_memory(name: &str, bytes: &[u8]) -> Result<Snapshot, ParseError> {
    parse_bytes(name, bytes, Limits::default())
}

fn run(
    bencher: Bencher<'_, '_>,
    input: &Input,
    parser: fn(&str, &[u8]) -> Result<Snapshot, ParseError>,
) {
    // A fixture the parser rejects would benchmark the error path: fail loudly instead.
    if let Err(e) = parser(&input.name, &input.bytes) {
        panic!("{}: {e}", input.name);
    }
    bencher
        .counter(BytesCount::of_slice(&input.bytes))
        .bench(|| parser(&input.name, divan::black_box(&input.bytes)));
}

#[divan::bench(args = inputs(Kind::Debug2))]
fn debug2(bencher: Bencher<'_, '_>, input: &Input) {
    run(bencher, input, streamed);
}

#[divan::bench(args = inputs(Kind::Proto))]
fn proto(bencher: Bencher<'_, '_>, input: &Input) {
    run(bencher, input, streamed);
}

#[divan::bench(args = inputs(Kind::Debug1))]
fn debug1(bencher: Bencher<'_, '_>, input: &Input) {
    run(bencher, input, streamed);
}

#[divan::bench(args = inputs(Kind::Proto))]
fn in_memory_proto(bencher: Bencher<'_, '_>, input: &Input) {
    run(bencher, input, in_memory);
}

#[divan::bench(args = inputs(Kind::Debug2))]
fn in_memory_debug2(bencher: Bencher<'_, '_>, input: &Input) {
    run(bencher, input, in_memory);
}
