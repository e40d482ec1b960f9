//! Shared by the fuzz targets: run the parser on an input as given and gzipped.

use std::io::Write;

use goleash_model::Snapshot;
use goleash_parse::{parse_dumps, Limits};

/// Limits for fuzzing: small enough that a decompression bomb fails fast instead of running
/// the fuzzer out of memory, far above what any fuzz input legitimately expands to.
pub fn limits() -> Limits {
    Limits {
        max_bytes: 64 << 20,
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Parses `bytes` and the same bytes gzipped. Neither may panic, and both must agree on
/// whether the input parses and on how many goroutines each dump holds. (Input that is
/// compressed already is only parsed as is: one layer of compression is undone, not two.)
pub fn parse_both(bytes: &[u8]) {
    let plain = parse_dumps("fuzz", bytes, limits());
    if goleash_source::decode::Codec::sniff(bytes).is_some() {
        if let Ok(dumps) = &plain {
            dumps.iter().for_each(check);
        }
        return;
    }
    let gzipped = gzip(bytes);
    let unzipped = parse_dumps("fuzz", gzipped.as_slice(), limits());
    match (&plain, &unzipped) {
        (Ok(a), Ok(b)) => assert_eq!(totals(a), totals(b), "gzip changed the parse"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "gzip changed the error"),
        (a, b) => panic!(
            "gzip changed whether the input parses: plain {:?}, gzipped {:?}",
            a.as_ref().err().map(|e| e.to_string()),
            b.as_ref().err().map(|e| e.to_string())
        ),
    }
    if let Ok(dumps) = &plain {
        dumps.iter().for_each(check);
    }
}

fn totals(dumps: &[Snapshot]) -> Vec<u64> {
    dumps.iter().map(Snapshot::total).collect()
}

/// Invariants of every snapshot: every id a group holds resolves in its interner.
fn check(snapshot: &Snapshot) {
    for group in &snapshot.groups {
        assert!(group.stats.count > 0, "an empty group");
        let _ = snapshot.frames(group.key.stack).count();
        if let Some(state) = group.key.state {
            let _ = snapshot.interner.state(state);
        }
        if let Some(creator) = group.key.creator {
            let _ = snapshot.interner.frame(creator);
        }
        let _ = snapshot.interner.labels(group.key.labels);
        for stack in snapshot.interner.ancestry(group.key.ancestry) {
            let _ = snapshot.interner.stack(stack);
        }
    }
}

/// Unwraps `bytes` as the source stage does and parses every source it gives. Nothing may
/// panic; input with no transport must come out byte for byte as it went in.
pub fn unwrap_and_parse(bytes: &[u8]) {
    use std::io::Read;
    let opened = goleash_source::Opened {
        name: "fuzz".to_string(),
        reader: Box::new(std::io::Cursor::new(bytes.to_vec())),
        transport: None,
    };
    let Ok(parts) = goleash_source::unwrap(opened, limits().max_bytes) else {
        return;
    };
    for part in parts {
        let plain = part.transport.is_none();
        let mut text = Vec::new();
        // Bounded like the parser's limit: a decompression bomb must not exhaust memory.
        if part
            .reader
            .take(limits().max_bytes)
            .read_to_end(&mut text)
            .is_err()
        {
            continue;
        }
        if plain {
            assert!(text == bytes, "an input with no transport was changed");
        }
        if let Ok(dumps) = parse_dumps(&part.name, text.as_slice(), limits()) {
            dumps.iter().for_each(check);
        }
    }
}

/// Reads `bytes` as an execution trace (with a `go 1.26 trace` header put in front unless it
/// has one), with and without tags: no panic, an error names an offset inside the input, and a
/// trace that reads becomes a snapshot whose ids resolve.
pub fn read_trace(bytes: &[u8]) {
    let input = if bytes.starts_with(b"go 1.") {
        bytes.to_vec()
    } else {
        let mut input = b"go 1.26 trace\0\0\0".to_vec();
        input.extend_from_slice(bytes);
        input
    };
    // With tags (`goleash test --trace`): every tagged goroutine was created in the trace,
    // and each tag's counts add up.
    match goleash_parse::trace::read_trace_tagged("fuzz", input.as_slice(), limits(), "k") {
        Ok(lifecycles) => {
            let tags = lifecycles.tags.unwrap_or_default();
            for churn in &tags.churn {
                assert!(churn.ended + churn.alive <= churn.created, "{churn:?}");
            }
        }
        Err(e) => assert!(matches!(e.location, goleash_parse::Location::Offset(_)), "{e}"),
    }
    match goleash_parse::trace::read_trace("fuzz", input.as_slice(), limits()) {
        Ok(lifecycles) => {
            let snapshot = lifecycles.into_snapshot("fuzz");
            for group in &snapshot.groups {
                for _ in snapshot.frames(group.key.stack) {}
                if let Some(state) = group.key.state {
                    let _ = snapshot.interner.state(state);
                }
                if let Some(creator) = group.key.creator {
                    let _ = snapshot.interner.frame(creator);
                }
            }
        }
        Err(e) => match e.location {
            goleash_parse::Location::Offset(at) => assert!(at <= input.len() as u64, "{e}"),
            goleash_parse::Location::Line(_) => panic!("a trace error names a line: {e}"),
        },
    }
}
