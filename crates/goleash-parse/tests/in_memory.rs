//! `parse_dumps_bytes` (a fetched body, parsed where it lies) reads every real capture exactly
//! as the streaming `parse_dumps` does: the same snapshots, the same errors, compressed or not,
//! whole or cut short, within its limit or over it.
//!
//! The captures are those of real Go 1.27.3 programs under `testdata/dumps/`
//! (`scripts/gen-fixtures.sh` makes them).

use std::io::Write;
use std::path::PathBuf;

use goleash_parse::{parse_dumps, parse_dumps_bytes, Limits};

fn captures() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dumps");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("testdata/dumps is readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).expect("readable capture")));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 80, "expected the real captures under {root:?}");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Both readers' answer, as text: snapshots by their debug form, errors by their message.
fn both(name: &str, bytes: &[u8], limits: Limits) -> (String, String) {
    let show = |r: Result<Vec<goleash_model::Snapshot>, goleash_parse::ParseError>| match r {
        Ok(dumps) => format!("{dumps:#?}"),
        Err(e) => format!("error: {e}"),
    };
    (
        show(parse_dumps(name, bytes, limits)),
        show(parse_dumps_bytes(name, bytes, limits)),
    )
}

#[test]
fn every_capture_reads_the_same_from_memory() {
    let mut compared = 0;
    let mut errors = 0;
    for (name, bytes) in captures() {
        let zipped = gzip(&bytes);
        let cut = &bytes[..bytes.len() * 2 / 3];
        for (variant, input) in [
            ("as captured", &bytes[..]),
            ("gzipped", &zipped[..]),
            ("cut at two thirds", cut),
        ] {
            let (streamed, in_memory) = both(&name, input, Limits::default());
            assert_eq!(streamed, in_memory, "{name} {variant}");
            errors += usize::from(streamed.starts_with("error: "));
            compared += 1;
        }
        // Over the limit: both refuse, with the same message.
        let limits = Limits {
            max_bytes: (bytes.len() / 2) as u64,
        };
        let (streamed, in_memory) = both(&name, &bytes, limits);
        assert!(streamed.starts_with("error: "), "{name}: {streamed}");
        assert_eq!(streamed, in_memory, "{name} over its limit");
        let (streamed, in_memory) = both(&name, &zipped, limits);
        assert!(
            streamed.starts_with("error: "),
            "{name} gzipped: {streamed}"
        );
        assert_eq!(streamed, in_memory, "{name} gzipped over its limit");
    }
    // The cut protobufs are refused; every text capture reads whole and cut.
    assert!(
        compared > 250 && errors > 0,
        "{compared} compared, {errors} refused"
    );
}

#[test]
fn garbage_and_corrupt_compression_read_the_same_from_memory() {
    let bad_gzip = {
        let mut z = gzip(b"goroutine 1 [running]:\nmain.main()\n\t/a/main.go:3 +0x1\n");
        let n = z.len();
        z[n / 2] ^= 0xff;
        z
    };
    for (what, input) in [
        ("empty", &b""[..]),
        ("binary garbage", &b"\x00\x01\x02\xff\xfe"[..]),
        ("gzip magic alone", &b"\x1f\x8b"[..]),
        ("corrupt gzip", &bad_gzip[..]),
    ] {
        let (streamed, in_memory) = both(what, input, Limits::default());
        assert_eq!(streamed, in_memory, "{what}");
    }
}
