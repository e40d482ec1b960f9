//! The pprof protobuf and `debug=1` parsers against real Go 1.27.3 profiles: the checked-in
//! fixtures under testdata/dumps/<scenario>/, taken by testdata/scenarios/internal/snap.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use goleash_model::{DumpFormat, Missing, ProfileKind, Snapshot};
use goleash_parse::{parse, Limits, Location, ParseError};
use proptest::prelude::*;

const GOROUTINE_DEBUG1: &str = "goroutine.debug1.txt";
const GOROUTINE_PROTO: &str = "goroutine.pb.gz";
const LEAK_DEBUG1: &str = "goroutineleak.debug1.txt";
const LEAK_PROTO: &str = "goroutineleak.pb.gz";
const PROFILE_FILES: [&str; 4] = [GOROUTINE_DEBUG1, GOROUTINE_PROTO, LEAK_PROTO, LEAK_DEBUG1];

fn dumps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dumps")
}

/// Every scenario directory that holds all four profiles.
fn scenarios() -> Vec<PathBuf> {
    let dir = dumps_dir();
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; the real fixtures should be there", dir.display()));
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| PROFILE_FILES.iter().all(|file| path.join(file).is_file()))
        .collect();
    found.sort();
    assert!(
        !found.is_empty(),
        "no scenario under {} has all of {PROFILE_FILES:?}",
        dir.display()
    );
    found
}

fn scenario(name: &str) -> PathBuf {
    let path = dumps_dir().join(name);
    assert!(path.is_dir(), "{} is missing", path.display());
    path
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&read(path)[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

fn parse_file(path: &Path) -> Snapshot {
    let name = path.display().to_string();
    parse(&name, &read(path)[..], Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_error(name: &str, bytes: &[u8]) -> ParseError {
    parse_error_limited(name, bytes, Limits::default())
}

fn parse_error_limited(name: &str, bytes: &[u8], limits: Limits) -> ParseError {
    match parse(name, bytes, limits) {
        Ok(snapshot) => panic!(
            "{name}: parsed {} goroutines, expected an error",
            snapshot.total()
        ),
        Err(error) => error,
    }
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `total N` of a debug=1 header.
fn header_total(text: &str) -> u64 {
    let first = text.lines().next().unwrap_or_default();
    let (_, total) = first
        .split_once(" profile: total ")
        .unwrap_or_else(|| panic!("not a debug=1 header: {first:?}"));
    total.parse().unwrap()
}

/// A group as plain data: frames as `function file:line`, labels, and the goroutine count.
type Groups = BTreeMap<(Vec<String>, Vec<(String, String)>), u64>;

/// The goroutine that writes a profile is in it, at a different line each time.
fn is_profile_writer(frames: &[String]) -> bool {
    frames
        .iter()
        .any(|f| f.starts_with("runtime/pprof.(*Profile).WriteTo "))
}

fn groups(snapshot: &Snapshot) -> Groups {
    groups_where(snapshot, false)
}

fn groups_where(snapshot: &Snapshot, leaked_only: bool) -> Groups {
    let mut out = Groups::new();
    for group in snapshot
        .groups
        .iter()
        .filter(|g| g.key.leaked || !leaked_only)
    {
        // Protobuf stacks keep the runtime's frames, which the text formats hide.
        let frames: Vec<String> = snapshot
            .frames(group.key.stack)
            .filter(|f| !f.function.starts_with("runtime."))
            .map(|f| format!("{} {}:{}", f.function, f.file, f.line))
            .collect();
        if is_profile_writer(&frames) {
            continue;
        }
        let labels = snapshot
            .interner
            .labels(group.key.labels)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        *out.entry((frames, labels)).or_default() += group.stats.count;
    }
    out
}

#[test]
fn debug1_totals_match_their_headers() {
    for dir in scenarios() {
        for (file, kind) in [
            (GOROUTINE_DEBUG1, ProfileKind::Goroutine),
            (LEAK_DEBUG1, ProfileKind::GoroutineLeak),
        ] {
            let path = dir.join(file);
            let snapshot = parse_file(&path);
            assert_eq!(
                snapshot.total(),
                header_total(&text(&path)),
                "{}",
                path.display()
            );
            let source = &snapshot.sources[0];
            assert_eq!(source.format, DumpFormat::LegacyText);
            assert_eq!(source.profile, kind);
            assert_eq!(source.bytes, read(&path).len() as u64);
            assert_eq!(snapshot.missing, Missing::of(DumpFormat::LegacyText));
        }
    }
}

/// The goroutine count `go tool pprof -raw` reports: the sum of its sample values.
fn pprof_raw_total(path: &Path, output: std::process::Output) -> u64 {
    assert!(
        output.status.success(),
        "go tool pprof -raw {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let raw = String::from_utf8_lossy(&output.stdout);
    let samples = raw
        .split_once("\nSamples:\n")
        .and_then(|(_, rest)| rest.split_once("\nLocations"))
        .map(|(samples, _)| samples)
        .unwrap_or_else(|| panic!("unexpected go tool pprof -raw output:\n{raw}"));
    // Sample lines are `   COUNT: LOCATION-IDS`; label lines under them start with a key.
    samples
        .lines()
        .filter_map(|line| {
            let (count, _) = line.trim_start().split_once(':')?;
            count.parse::<u64>().ok()
        })
        .sum()
}

#[test]
fn proto_totals_match_go_tool_pprof() {
    let mut runs = Vec::new();
    for dir in scenarios() {
        for (file, kind) in [
            (GOROUTINE_PROTO, ProfileKind::Goroutine),
            (LEAK_PROTO, ProfileKind::GoroutineLeak),
        ] {
            let path = dir.join(file);
            let snapshot = parse_file(&path);
            let source = &snapshot.sources[0];
            assert_eq!(source.format, DumpFormat::Proto);
            assert_eq!(source.profile, kind);
            assert_eq!(source.bytes, gunzip(&path).len() as u64);
            assert_eq!(snapshot.missing, Missing::of(DumpFormat::Proto));
            // pprof takes half a second to start: run them all at once.
            let child = Command::new("go")
                .args(["tool", "pprof", "-raw"])
                .arg(&path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            match child {
                Ok(child) => runs.push((path, snapshot.total(), child)),
                // Without a Go toolchain the proto/debug=1 agreement test still checks totals.
                Err(error) => {
                    eprintln!("skipping the go tool pprof comparison: go: {error}");
                    return;
                }
            }
        }
    }
    for (path, total, child) in runs {
        let output = child.wait_with_output().unwrap();
        assert_eq!(total, pprof_raw_total(&path, output), "{}", path.display());
    }
}

#[test]
fn leak_profiles_hold_only_leaked_groups() {
    for dir in scenarios() {
        let all = parse_file(&dir.join(GOROUTINE_PROTO));
        assert!(all.groups.iter().all(|g| !g.key.leaked));
        for file in [LEAK_PROTO, LEAK_DEBUG1] {
            let leak = parse_file(&dir.join(file));
            assert!(
                leak.groups.iter().all(|g| g.key.leaked),
                "{}",
                dir.join(file).display()
            );
            assert!(leak.groups.iter().all(|g| g.key.state.is_none()
                && g.key.creator.is_none()
                && g.stats.ids.is_empty()));
            assert!(leak.total() <= all.total());
        }
    }
}

#[test]
fn proto_and_debug1_of_the_same_moment_give_the_same_groups() {
    for dir in scenarios() {
        // Both leak profiles run their own leak-detecting GC: the same goroutines are leaked.
        let proto = groups(&parse_file(&dir.join(LEAK_PROTO)));
        let debug1 = groups(&parse_file(&dir.join(LEAK_DEBUG1)));
        assert_eq!(proto, debug1, "{}", dir.display());

        let proto = groups(&parse_file(&dir.join(GOROUTINE_PROTO)));
        let debug1 = groups(&parse_file(&dir.join(GOROUTINE_DEBUG1)));
        assert_eq!(proto, debug1, "{}", dir.display());
    }
}

#[test]
fn profiles_and_debug2_tracebacks_give_the_same_groups() {
    // The debug=2 dump after the leak profiles marks the goroutines the last leak GC (the one
    // behind goroutineleak.debug1.txt) found as `(leaked)`; debug=2 and debug=1 of the goroutine
    // profile are taken back to back. Stacks must match frame for frame across the formats.
    for dir in scenarios() {
        let after = dir.join("goroutine-after-leakgc.debug2.txt");
        let leaked = groups_where(&parse_file(&after), true);
        assert_eq!(
            groups(&parse_file(&dir.join(LEAK_DEBUG1))),
            leaked,
            "{}",
            after.display()
        );
        let debug2 = groups(&parse_file(&dir.join("goroutine.debug2.txt")));
        assert_eq!(
            groups(&parse_file(&dir.join(GOROUTINE_DEBUG1))),
            debug2,
            "{}",
            dir.display()
        );
    }
}

#[test]
fn inlined_frames_come_out_innermost_first() {
    // lock_order_deadlock's leaked goroutines wait in sync.(*Mutex).Lock, which the compiler
    // inlined (with internal/sync.(*Mutex).Lock) into main.transfer: one Location, three Lines.
    let dir = scenario("lock_order_deadlock");
    for file in [LEAK_PROTO, LEAK_DEBUG1] {
        let snapshot = parse_file(&dir.join(file));
        assert_eq!(snapshot.groups.len(), 1, "{file}");
        let frames: Vec<String> = snapshot
            .frames(snapshot.groups[0].key.stack)
            .filter(|f| !f.function.starts_with("runtime."))
            .map(|f| f.function.to_string())
            .collect();
        assert_eq!(
            frames,
            [
                "internal/sync.runtime_SemacquireMutex",
                "internal/sync.(*Mutex).lockSlow",
                "internal/sync.(*Mutex).Lock",
                "sync.(*Mutex).Lock",
                "main.transfer",
            ],
            "{file}"
        );
    }
}

#[test]
fn stacks_are_normalised_like_the_text_formats() {
    for dir in scenarios() {
        for file in [GOROUTINE_PROTO, LEAK_PROTO] {
            let snapshot = parse_file(&dir.join(file));
            for group in &snapshot.groups {
                let frames: Vec<_> = snapshot.frames(group.key.stack).collect();
                assert!(!frames.is_empty());
                // Tracebacks never print runtime.goexit; the runtime's leaf frames, which tell
                // what a goroutine waits on, are kept.
                assert!(frames.iter().all(|f| &*f.function != "runtime.goexit"));
                if group.key.leaked {
                    assert_eq!(&*frames[0].function, "runtime.gopark", "{frames:?}");
                }
                // Profiles store linker names (`F[go.shape.int]`); the runtime prints `F[...]`.
                assert!(frames.iter().all(|f| !f.function.contains("go.shape.")));
            }
        }
    }
}

#[test]
fn forgotten_senders_keep_their_labels_in_both_formats() {
    let dir = scenario("forgotten_sender");
    let expected = vec![
        ("req".to_string(), "7".to_string()),
        ("tenant".to_string(), "acme".to_string()),
    ];
    for file in PROFILE_FILES {
        let snapshot = parse_file(&dir.join(file));
        let senders: Vec<_> = snapshot
            .groups
            .iter()
            .filter(|g| {
                snapshot
                    .frames(g.key.stack)
                    .any(|f| &*f.function == "main.fetchResult.func1")
            })
            .collect();
        assert_eq!(senders.len(), 1, "{file}");
        let labels: Vec<_> = snapshot
            .interner
            .labels(senders[0].key.labels)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(labels, expected, "{file}");
        assert_eq!(senders[0].stats.count, 12, "{file}");
    }
}

/// A debug=1 fixture with at least two records, as lines.
fn two_record_debug1() -> (PathBuf, Vec<String>) {
    for dir in scenarios() {
        let path = dir.join(GOROUTINE_DEBUG1);
        let text = text(&path);
        if text.matches(" @ 0x").count() >= 2 {
            return (path, text.lines().map(str::to_string).collect());
        }
    }
    panic!("no goroutine.debug1.txt fixture with two records");
}

fn join(lines: &[String]) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn debug1_cut_between_records_is_truncated() {
    let (_, lines) = two_record_debug1();
    let total = header_total(&lines[0]);
    // Keep the header and the first record, up to and including its blank line.
    let blank = lines.iter().position(String::is_empty).unwrap();
    let cut = join(&lines[..=blank]);
    let error = parse_error("cut.txt", cut.as_bytes());
    assert_eq!(error.location, Location::Line(blank as u64 + 1), "{error}");
    assert!(error.message.contains("looks truncated"), "{error}");
    assert!(
        error.message.contains(&format!("says total {total}")),
        "{error}"
    );
    assert_eq!(error.source, "cut.txt");
}

#[test]
fn debug1_cut_inside_a_frame_line_names_that_line() {
    let (_, lines) = two_record_debug1();
    let frame = lines.iter().position(|l| l.starts_with("#\t")).unwrap();
    let mut cut = lines[..frame].to_vec();
    let colon = lines[frame].rfind(':').unwrap();
    cut.push(lines[frame][..colon].to_string());
    let error = parse_error("cut.txt", join(&cut).as_bytes());
    assert_eq!(error.location, Location::Line(frame as u64 + 1), "{error}");
    assert!(error.message.contains("frame line"), "{error}");
    assert!(error.message.contains("file:line"), "{error}");
}

#[test]
fn debug1_cut_inside_the_last_line_number_is_truncated() {
    // Cutting `…/proc.go:302\n\n` to `…/proc.go:30` leaves a line that still parses, with a
    // wrong number; only the missing newline tells.
    let (_, lines) = two_record_debug1();
    let mut text = lines.join("\n");
    text.pop();
    let error = parse_error("cut.txt", text.as_bytes());
    let last = text.lines().count() as u64;
    assert_eq!(error.location, Location::Line(last), "{error}");
    assert_eq!(
        error.message,
        "the input ends inside this line (no newline after it); the profile looks truncated"
    );
}

#[test]
fn debug1_garbage_line_is_quoted() {
    let (_, mut lines) = two_record_debug1();
    lines.insert(1, "this is not a profile line".to_string());
    let error = parse_error("garbage.txt", join(&lines).as_bytes());
    assert_eq!(error.location, Location::Line(2), "{error}");
    assert_eq!(
        error.message,
        "expected `N @ 0x…` record header or `#` frame line, found \"this is not a profile line\""
    );
}

#[test]
fn debug1_wrong_totals_are_caught() {
    let (_, lines) = two_record_debug1();
    let total = header_total(&lines[0]);
    let (head, _) = lines[0].split_once(" total ").unwrap();

    let mut more = lines.clone();
    more[0] = format!("{head} total {}", total + 1);
    let error = parse_error("more.txt", join(&more).as_bytes());
    assert_eq!(
        error.location,
        Location::Line(lines.len() as u64),
        "{error}"
    );
    assert!(error.message.contains("looks truncated"), "{error}");

    // With one goroutine fewer in the header, the last record header overflows it.
    let mut fewer = lines.clone();
    fewer[0] = format!("{head} total {}", total - 1);
    let last_record = lines.iter().rposition(|l| l.contains(" @ 0x")).unwrap();
    let error = parse_error("fewer.txt", join(&fewer).as_bytes());
    assert_eq!(
        error.location,
        Location::Line(last_record as u64 + 1),
        "{error}"
    );
    assert!(
        error
            .message
            .contains(&format!("more than the header's total {}", total - 1)),
        "{error}"
    );
}

#[test]
fn debug1_bad_record_header_and_orphan_frames() {
    let (_, lines) = two_record_debug1();
    let mut bad = lines.clone();
    bad[1] = bad[1].replacen(" @ ", "x @ ", 1);
    let error = parse_error("bad.txt", join(&bad).as_bytes());
    assert_eq!(error.location, Location::Line(2), "{error}");
    assert!(
        error.message.contains("the count is not a number"),
        "{error}"
    );

    let mut bad = lines.clone();
    bad[1] = bad[1].replacen(" 0x", " 0xzz", 1);
    let error = parse_error("bad.txt", join(&bad).as_bytes());
    assert_eq!(error.location, Location::Line(2), "{error}");
    assert!(error.message.contains("hex"), "{error}");

    // Without its header, the first record's frames belong to nothing.
    let mut orphan = lines.clone();
    orphan.remove(1);
    let error = parse_error("orphan.txt", join(&orphan).as_bytes());
    assert_eq!(error.location, Location::Line(2), "{error}");
    assert!(error.message.contains("record header"), "{error}");

    // A header followed by nothing.
    let error = parse_error("empty-record.txt", join(&lines[..2]).as_bytes());
    assert_eq!(error.location, Location::Line(2), "{error}");
    assert!(
        error
            .message
            .contains("has no frame lines before the input ends"),
        "{error}"
    );
}

#[test]
fn debug1_labels_must_be_well_formed() {
    let dir = scenario("forgotten_sender");
    let lines: Vec<String> = text(&dir.join(LEAK_DEBUG1))
        .lines()
        .map(str::to_string)
        .collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("# labels: "))
        .unwrap();
    let mut bad = lines.clone();
    bad[at] = bad[at].trim_end_matches('}').to_string();
    let error = parse_error("labels.txt", join(&bad).as_bytes());
    assert_eq!(error.location, Location::Line(at as u64 + 1), "{error}");
    assert!(error.message.contains("# labels:"), "{error}");
}

#[test]
fn debug1_limit_is_enforced() {
    let (path, _) = two_record_debug1();
    let error = parse_error_limited("big.txt", &read(&path), Limits { max_bytes: 64 });
    assert!(error.message.contains("limit of 64 bytes"), "{error}");
    assert!(matches!(error.location, Location::Line(_)), "{error}");
}

fn first_proto() -> PathBuf {
    scenarios()[0].join(GOROUTINE_PROTO)
}

#[test]
fn proto_cut_in_half_names_an_offset() {
    let data = gunzip(&first_proto());
    let cut = &data[..data.len() / 2];
    let error = parse_error("cut.pb", cut);
    let Location::Offset(offset) = error.location else {
        panic!("{error}");
    };
    assert!(offset < cut.len() as u64, "{error}");
    assert!(
        error
            .message
            .starts_with("expected a pprof protobuf profile"),
        "{error}"
    );
}

#[test]
fn proto_trailing_garbage_names_its_offset() {
    let mut data = gunzip(&first_proto());
    let end = data.len() as u64;
    // A `sample` field (2, length-delimited) that claims 127 bytes and has none.
    data.extend_from_slice(&[0x12, 0x7f]);
    let error = parse_error("garbage.pb", &data);
    assert_eq!(error.location, Location::Offset(end), "{error}");
    assert_eq!(
        error.message,
        "expected a pprof protobuf profile, but sample (field 2) claims 127 bytes but only 0 \
         remain; the profile looks truncated"
    );
}

#[test]
fn proto_with_broken_gzip_is_an_error() {
    let data = read(&first_proto());
    let error = parse_error("cut.pb.gz", &data[..data.len() / 2]);
    assert!(matches!(error.location, Location::Offset(_)), "{error}");
    assert!(
        error.message.contains("ends early") || error.message.contains("corrupt"),
        "{error}"
    );
}

#[test]
fn proto_limit_is_enforced() {
    let error = parse_error_limited(
        "big.pb.gz",
        &read(&first_proto()),
        Limits { max_bytes: 100 },
    );
    assert_eq!(error.location, Location::Offset(100), "{error}");
    assert!(error.message.contains("limit of 100 bytes"), "{error}");
}

/// The real inputs the fuzz-style tests mutate, decompressed once.
fn fuzz_inputs() -> &'static (Vec<u8>, Vec<u8>) {
    static INPUTS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let dir = scenario("forgotten_sender");
        (
            gunzip(&dir.join(GOROUTINE_PROTO)),
            read(&dir.join(GOROUTINE_DEBUG1)),
        )
    })
}

#[derive(Clone, Debug)]
enum Edit {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        2 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<prop::sample::Index>().prop_map(Edit::Remove),
        1 => any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

/// Applies edits after the first `keep` bytes, which decide the format: the point is to
/// exercise this parser, not the sniffing.
fn mutate(input: &[u8], keep: usize, edits: &[Edit]) -> Vec<u8> {
    let mut data = input.to_vec();
    for edit in edits {
        let room = data.len().saturating_sub(keep);
        if room == 0 {
            break;
        }
        match edit {
            Edit::Set(i, b) => data[keep + i.index(room)] = *b,
            Edit::Insert(i, b) => data.insert(keep + i.index(room), *b),
            Edit::Remove(i) => {
                data.remove(keep + i.index(room));
            }
            Edit::Truncate(i) => data.truncate(keep + i.index(room)),
        }
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_proto_never_panics(edits in prop::collection::vec(edit(), 1..12)) {
        let data = mutate(&fuzz_inputs().0, 3, &edits);
        if let Ok(snapshot) = parse("fuzz.pb", &data[..], Limits::default()) {
            prop_assert_eq!(snapshot.sources[0].format, DumpFormat::Proto);
        }
    }

    #[test]
    fn mutated_debug1_never_panics(edits in prop::collection::vec(edit(), 1..12)) {
        let keep = "goroutine profile: total ".len();
        let data = mutate(&fuzz_inputs().1, keep, &edits);
        match parse("fuzz.txt", &data[..], Limits::default()) {
            Ok(snapshot) => prop_assert_eq!(snapshot.sources[0].format, DumpFormat::LegacyText),
            Err(error) => prop_assert!(matches!(error.location, Location::Line(n) if n >= 1)),
        }
    }
}
