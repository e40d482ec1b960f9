//! Real dumps, damaged the way files get damaged (a record dropped, duplicated, cut short, a log
//! line pushed in between, the tail truncated): the reader never panics, and either reads with
//! every undamaged goroutine kept, or refuses naming the line.
//!
//! The dumps are the captures of real Go 1.27.3 programs under `testdata/dumps/*/`
//! (`scripts/gen-fixtures.sh` makes them).

use std::path::PathBuf;

use goleash_parse::{parse_dumps, Limits, Location};
use proptest::prelude::*;

fn real_dumps() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dumps");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).expect("testdata/dumps exists") {
        let dir = entry.expect("dir entry").path();
        for name in ["goroutine.debug2.txt", "goroutine-after-leakgc.debug2.txt"] {
            let path = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path.display().to_string(), text));
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the real captures under {}",
        root.display()
    );
    out
}

/// The dump cut at blank lines into its goroutine records, with each record's id.
fn records(text: &str) -> Vec<(u64, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let block = block.trim_matches('\n');
            let id = block
                .strip_prefix("goroutine ")?
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            Some((id, format!("{block}\n")))
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Damage {
    Drop(usize),
    Duplicate(usize),
    /// Keep only the first `keep` lines of the record.
    CutShort(usize, usize),
    LogLineBefore(usize),
    /// Truncate the whole text at this fraction (per mille) of its length.
    Truncate(u16),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Drop),
        any::<usize>().prop_map(Damage::Duplicate),
        (any::<usize>(), 1usize..4).prop_map(|(i, k)| Damage::CutShort(i, k)),
        any::<usize>().prop_map(Damage::LogLineBefore),
        (1u16..1000).prop_map(Damage::Truncate),
    ]
}

/// The damaged text, how many goroutine records it left whole, and how many records (whole or
/// not) it holds.
fn apply(records: &[(u64, String)], damage: &Damage) -> (String, usize, usize) {
    let n = records.len();
    let mut parts: Vec<(Option<u64>, String)> = records
        .iter()
        .map(|(id, text)| (Some(*id), text.clone()))
        .collect();
    match *damage {
        Damage::Drop(i) => {
            parts.remove(i % n);
        }
        Damage::Duplicate(i) => {
            let copy = parts[i % n].clone();
            parts.insert(i % n + 1, copy);
        }
        Damage::CutShort(i, keep) => {
            let (_, text) = &parts[i % n];
            let short: String = text.lines().take(keep).map(|l| format!("{l}\n")).collect();
            parts[i % n] = (None, short);
        }
        Damage::LogLineBefore(i) => {
            parts.insert(
                i % n,
                (
                    None,
                    "2026/12/04 13:00:00 worker: retrying in 1s\n".to_string(),
                ),
            );
        }
        Damage::Truncate(_) => {}
    }
    let mut text = String::new();
    let mut ends = Vec::new();
    for (id, part) in &parts {
        text.push_str(part);
        text.push('\n');
        ends.push((*id, text.len()));
    }
    let whole = if let Damage::Truncate(per_mille) = *damage {
        let mut cut = text.len() * usize::from(per_mille) / 1000;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        // A record is whole when its final line (and the newline after it) survived.
        ends.iter()
            .filter(|(id, end)| id.is_some() && end - 1 <= cut)
            .count()
    } else {
        parts.iter().filter(|(id, _)| id.is_some()).count()
    };
    let held = text.matches("\ngoroutine ").count() + usize::from(text.starts_with("goroutine "));
    (text, whole, held)
}

/// Goroutines read over every dump the text holds (groups keep only a sample of their ids, so
/// counts are what can be compared).
fn read_total(name: &str, text: &str) -> Result<u64, goleash_parse::ParseError> {
    let dumps = parse_dumps(name, text.as_bytes(), Limits::default())?;
    Ok(dumps.iter().map(|d| d.total()).sum())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_real_dumps_keep_every_whole_record(pick in any::<usize>(), damage in damage()) {
        let dumps = real_dumps();
        let (name, original) = &dumps[pick % dumps.len()];
        let records = records(original);
        prop_assume!(records.len() >= 2);
        let (text, whole, held) = apply(&records, &damage);
        match read_total(name, &text) {
            Ok(total) => {
                prop_assert!(
                    total as usize >= whole && total as usize <= held,
                    "{name} with {damage:?}: read {total} goroutines; {whole} records were whole, {held} in the text"
                );
            }
            Err(e) => {
                prop_assert!(
                    matches!(e.location, Location::Line(_)),
                    "{name} with {damage:?}: refused without a line: {e}"
                );
            }
        }
    }
}

#[test]
fn every_real_dump_reads_whole_before_damage() {
    for (name, text) in real_dumps() {
        let expected = records(&text).len() as u64;
        let total = read_total(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(total, expected, "{name}");
    }
}
