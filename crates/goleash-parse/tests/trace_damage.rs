//! Real execution traces (testdata/traces, from the scenario programs run by Go 1.27.3 with
//! runtime/trace; scripts/gen-traces.sh), damaged: cut at every few bytes, bytes overwritten,
//! garbage spliced in. The reader never panics; a cut trace reads up to its last whole
//! generation with a note, or fails saying it holds no whole generation; any error names a
//! byte offset inside the input.

use std::path::PathBuf;

use goleash_parse::trace::read_trace;
use goleash_parse::{Limits, Location};
use proptest::prelude::*;

fn traces() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/traces");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
        .expect("testdata/traces exists")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "trace").then(|| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 14,
        "the scenario traces under {}",
        root.display()
    );
    out
}

/// Reads `bytes`; returns the number of goroutines alive at the end, or the error text.
fn read(name: &str, bytes: &[u8]) -> Result<(usize, bool, Vec<String>), String> {
    match read_trace(name, bytes, Limits::default()) {
        Ok(l) => Ok((l.goroutines.len(), l.truncated, l.notes)),
        Err(e) => {
            let Location::Offset(at) = e.location else {
                panic!("{name}: an error at a line: {e}");
            };
            assert!(at <= bytes.len() as u64, "{name}: error past the end: {e}");
            Err(e.message)
        }
    }
}

#[test]
fn every_whole_trace_reads_without_notes() {
    for (name, bytes) in traces() {
        let l = read_trace(&name, bytes.as_slice(), Limits::default()).unwrap();
        assert_eq!(l.version, 26, "{name}: Go 1.27 writes the go 1.26 format");
        assert!(l.generations >= 2, "{name}");
        assert!(!l.truncated && l.notes.is_empty(), "{name}: {:?}", l.notes);
        assert_eq!(l.bytes, bytes.len() as u64);
    }
}

#[test]
fn every_trace_cut_at_every_few_bytes() {
    for (name, bytes) in traces() {
        // Every 61st byte of the smallest, about 300 cuts of each of the others.
        let step = if bytes.len() < 50_000 {
            61
        } else {
            bytes.len() / 300
        };
        let mut last_ok = false;
        for cut in (0..bytes.len()).step_by(step) {
            match read(&name, &bytes[..cut]) {
                Ok((_, truncated, notes)) => {
                    // A cut between generations cannot be told from an end.
                    assert!(
                        !truncated || notes.iter().any(|n| n.contains("cut short")),
                        "{name} cut at {cut}: {notes:?}"
                    );
                    last_ok = true;
                }
                Err(msg) => {
                    assert!(
                        !last_ok,
                        "{name} cut at {cut}: read a shorter cut, but not this one: {msg}"
                    );
                    assert!(
                        msg.contains("first generation")
                            || msg.contains("not a Go execution trace"),
                        "{name} cut at {cut}: {msg}"
                    );
                }
            }
        }
        assert!(last_ok, "{name}: some cut reads");
    }
}

/// Which trace, bytes to overwrite (position, value), and garbage to splice in (position, bytes).
type Damage = (usize, Vec<(u32, u8)>, Option<(u32, Vec<u8>)>);

fn trace_and_damage() -> impl Strategy<Value = Damage> {
    (
        0usize..14,
        prop::collection::vec((any::<u32>(), any::<u8>()), 0..8),
        prop::option::of((any::<u32>(), prop::collection::vec(any::<u8>(), 1..64))),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn overwritten_and_spliced_bytes_never_panic((which, writes, splice) in trace_and_damage()) {
        let all = traces();
        let (name, mut bytes) = all[which % all.len()].clone();
        for (at, b) in writes {
            let i = 16 + at as usize % (bytes.len() - 16);
            bytes[i] = b;
        }
        if let Some((at, garbage)) = splice {
            let i = at as usize % bytes.len();
            bytes.splice(i..i, garbage);
        }
        let _ = read(&name, &bytes);
    }
}

/// The same program's traces by Go 1.22, 1.23 and 1.25 (testdata/traces/versions): each
/// version's event table reads, and every cut of them is handled.
#[test]
fn older_formats_read_and_cut() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/traces/versions");
    for (file, version) in [
        ("go1.22.12.trace", 22),
        ("go1.23.12.trace", 23),
        ("go1.25.5.trace", 25),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let l = read_trace(file, bytes.as_slice(), Limits::default()).unwrap();
        assert_eq!(l.version, version, "{file}");
        assert!(
            l.generations >= 2 && !l.truncated && l.notes.is_empty(),
            "{file}"
        );
        let senders: u64 = l
            .sites
            .iter()
            .filter(|s| {
                s.start
                    .is_some_and(|f| &*l.interner.frame(f).function == "main.fetchResult.func1")
            })
            .map(|s| s.created - s.ended)
            .sum();
        assert_eq!(senders, 12, "{file}");
        for cut in (0..bytes.len()).step_by(7) {
            let _ = read(file, &bytes[..cut]);
        }
    }
}
