//! Round trip: goroutines rendered the way the Go runtime prints them parse back into the
//! same groups, whatever the ids, states, labels, creators, ancestors and interleaved log text.

use std::collections::BTreeMap;

use goleash_parse::{parse_dumps, Limits};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Goroutine {
    shape: usize,
    state: &'static str,
    leaked: bool,
    minutes: Option<u32>,
    labels: Vec<(String, String)>,
    creator: Option<(usize, u64)>,
    ancestors: usize,
}

const FUNCTIONS: &[&str] = &[
    "main.worker",
    "main.(*T).Run",
    "example.com/app/db.(*Pool).get.func1",
    "main.Map[...]",
    "net/http.(*conn).serve",
    "sync.(*WaitGroup).Wait",
];
const STATES: &[&str] = &[
    "chan receive",
    "chan send",
    "select",
    "select (no cases)",
    "chan receive (nil chan)",
    "sync.Mutex.Lock",
    "IO wait",
    "sleep",
    "running",
];

fn goroutine() -> impl Strategy<Value = Goroutine> {
    (
        0..6usize,
        prop::sample::select(STATES),
        any::<bool>(),
        prop::option::of(1..200u32),
        prop::collection::vec(("[a-z]{1,6}", "[a-zA-Z0-9 \"-]{0,8}"), 0..3),
        prop::option::of((0..6usize, 1..1000u64)),
        0..3usize,
    )
        .prop_map(
            |(shape, state, leaked, minutes, labels, creator, ancestors)| Goroutine {
                shape,
                state,
                leaked,
                minutes,
                labels,
                creator,
                ancestors,
            },
        )
}

/// Go's strconv.Quote, for the characters the strategy produces.
fn quote(value: &str) -> String {
    let needs = value.is_empty()
        || value
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'));
    if !needs {
        return value.to_string();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn frames(shape: usize, out: &mut String) {
    for depth in 0..=shape {
        let function = FUNCTIONS[(shape + depth) % FUNCTIONS.len()];
        out.push_str(&format!(
            "{function}(0xc000{depth:03x}, 0x1?)\n\t/src/app/f{shape}.go:{} +0x{depth:x}\n",
            10 + depth
        ));
    }
}

fn render(goroutines: &[Goroutine], noise: &[bool]) -> String {
    let mut out = String::from("2026/11/23 12:00:00 service starting\n");
    for (i, g) in goroutines.iter().enumerate() {
        let mut status = g.state.to_string();
        if g.leaked {
            status.push_str(" (leaked)");
        } else if let Some(m) = g.minutes {
            status.push_str(&format!(", {m} minutes"));
        }
        let mut labels: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in &g.labels {
            labels.insert(k, v);
        }
        let labels = if labels.is_empty() {
            String::new()
        } else {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}: {}", quote(v)))
                .collect();
            format!(" {{{}}}", inner.join(", "))
        };
        out.push_str(&format!("goroutine {} [{status}]{labels}:\n", i + 1));
        frames(g.shape, &mut out);
        if let Some((creator, id)) = g.creator {
            out.push_str(&format!(
                "created by {} in goroutine {id}\n\t/src/app/main.go:{} +0x1f\n",
                FUNCTIONS[creator],
                100 + creator
            ));
            for a in 0..g.ancestors {
                out.push_str(&format!(
                    "[originating from goroutine {}]:\n",
                    id + a as u64
                ));
                frames(a, &mut out);
            }
        }
        out.push('\n');
        if noise.get(i).copied().unwrap_or(false) {
            out.push_str("-----\n\n");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn rendered_goroutines_parse_back(
        goroutines in prop::collection::vec(goroutine(), 1..60),
        noise in prop::collection::vec(any::<bool>(), 0..60),
    ) {
        let text = render(&goroutines, &noise);
        let dumps = parse_dumps("gen.txt", text.as_bytes(), Limits::default()).unwrap();
        // `-----` separators keep one dump (GOTRACEBACK=crash thread sections).
        prop_assert_eq!(dumps.len(), 1);
        let snapshot = &dumps[0];
        prop_assert_eq!(snapshot.total(), goroutines.len() as u64);
        prop_assert_eq!(snapshot.sources[0].skipped.first().copied(), Some((1, 1)));

        // Every goroutine's id lands in a group with its state, leak mark and labels.
        for (i, g) in goroutines.iter().enumerate() {
            let id = i as u64 + 1;
            let group = snapshot.groups.iter().find(|r| r.stats.ids.contains(&id));
            let Some(group) = group else { continue }; // ids beyond the sample of 8
            let state = group.key.state.map(|s| snapshot.interner.state(s));
            prop_assert_eq!(state, Some(g.state));
            prop_assert_eq!(group.key.leaked, g.leaked);
            let labels: BTreeMap<String, String> = snapshot
                .interner
                .labels(group.key.labels)
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let want: BTreeMap<String, String> = g.labels.iter().cloned().collect();
            prop_assert_eq!(labels, want);
            let stack_len = snapshot.interner.stack(group.key.stack).len();
            prop_assert_eq!(stack_len, g.shape + 1);
            let ancestry = snapshot.interner.ancestry(group.key.ancestry).count();
            let want_ancestry = if g.creator.is_some() { g.ancestors } else { 0 };
            prop_assert_eq!(ancestry, want_ancestry);
        }

        // Wait times: the group ranges cover exactly the goroutines' minutes.
        let with_wait = goroutines.iter().filter(|g| !g.leaked && g.minutes.is_some()).count();
        let counted: u64 = snapshot.groups.iter().map(|r| r.stats.with_wait).sum();
        prop_assert_eq!(counted, with_wait as u64);
    }
}
