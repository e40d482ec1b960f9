//! Package rules see every file of a package: partners in other files (test files included,
//! even when tests are not linted), and labels pointing into other files.

use std::path::PathBuf;

use goleash_lint::{lint_paths, LintOptions};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write fixture file");
}

const WATCHER: &str = "package w\n\ntype watcher struct{ events chan int }\n\nfunc newWatcher() *watcher { return &watcher{events: make(chan int)} }\n\nfunc (w *watcher) emit(v int) {\n\tw.events <- v\n}\n";

fn codes(dir: &std::path::Path, include_tests: bool) -> Vec<(String, String, usize)> {
    let options = LintOptions {
        include_tests,
        threads: 1,
        ..LintOptions::default()
    };
    let run = lint_paths(&[PathBuf::from(dir)], &options);
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    run.diagnostics
        .iter()
        .map(|d| {
            let file = d.path.rsplit('/').next().unwrap_or("").to_string();
            (d.code.to_string(), file, d.span.line)
        })
        .collect()
}

#[test]
fn a_send_without_any_receiver_in_the_package_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "watcher.go", WATCHER);
    assert_eq!(
        codes(dir.path(), false),
        vec![("GL033".to_string(), "watcher.go".to_string(), 8)]
    );
}

#[test]
fn a_receiver_in_a_test_file_counts_even_when_tests_are_not_linted() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "watcher.go", WATCHER);
    write(
        dir.path(),
        "watcher_test.go",
        "package w\n\nimport \"testing\"\n\nfunc TestEmit(t *testing.T) {\n\tw := newWatcher()\n\tgo w.emit(1)\n\tif <-w.events != 1 {\n\t\tt.Fatal(\"lost\")\n\t}\n}\n",
    );
    assert!(codes(dir.path(), false).is_empty());
    assert!(codes(dir.path(), true).is_empty());
}

#[test]
fn a_double_lock_through_a_call_in_another_file_names_both_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.go",
        "package m\n\nimport \"sync\"\n\ntype M struct{ mu sync.Mutex }\n\nfunc (m *M) Clear() {\n\tm.mu.Lock()\n\tdefer m.mu.Unlock()\n\tm.notify()\n}\n",
    );
    write(
        dir.path(),
        "b.go",
        "package m\n\nfunc (m *M) notify() {\n\tm.mu.Lock()\n\tm.mu.Unlock()\n}\n",
    );
    let options = LintOptions {
        threads: 1,
        ..LintOptions::default()
    };
    let run = lint_paths(&[dir.path().to_path_buf()], &options);
    let d = run
        .diagnostics
        .iter()
        .find(|d| d.code == "GL030")
        .expect("GL030 reported");
    assert!(d.path.ends_with("b.go"), "{}", d.path);
    assert_eq!(d.span.line, 4);
    let other: Vec<_> = d.labels.iter().filter_map(|l| l.path.as_deref()).collect();
    assert!(other.iter().all(|p| p.ends_with("a.go")), "{other:?}");
    assert_eq!(other.len(), 2, "{:?}", d.labels);
}

#[test]
fn a_call_cycle_and_deep_call_chains_terminate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut src =
        String::from("package c\n\nimport \"sync\"\n\ntype T struct{ mu sync.Mutex }\n\n");
    // A 2,000-function chain ending in a cycle back to its start.
    for i in 0..2000 {
        let next = (i + 1) % 2000;
        src.push_str(&format!("func (t *T) f{i}() {{ t.f{next}() }}\n"));
    }
    src.push_str("func (t *T) g() {\n\tt.mu.Lock()\n\tdefer t.mu.Unlock()\n\tt.f0()\n}\n");
    write(dir.path(), "cycle.go", &src);
    let found = codes(dir.path(), false);
    assert!(
        found.iter().all(|(code, _, _)| code != "GL030"),
        "{found:?}"
    );
}

#[test]
fn a_ten_thousand_file_package_is_one_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "types.go",
        "package big\n\nimport \"sync\"\n\ntype S struct {\n\tmu sync.Mutex\n\tch chan int\n}\n\nfunc New() *S { return &S{ch: make(chan int)} }\n",
    );
    for i in 0..10_000 {
        write(
            dir.path(),
            &format!("f{i}.go"),
            &format!("package big\n\nfunc (s *S) m{i}() {{\n\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\ts.m{}()\n}}\n", (i + 1) % 10_000),
        );
    }
    // The only receive is in the last file: every send in between has its partner.
    write(dir.path(), "recv.go", "package big\n\nfunc (s *S) recv() int { return <-s.ch }\n\nfunc (s *S) send() { s.ch <- 1 }\n");
    let found = codes(dir.path(), false);
    // Each method locks s.mu and calls the next, which locks it again. The call chain closes
    // a cycle through 10,000 files: summaries cut at the cycle and at the depth limit, so not
    // every call is judged, but every report is that double lock, once per file at most.
    assert!(found.len() > 9_000, "{}", found.len());
    assert!(found
        .iter()
        .all(|(c, f, line)| c == "GL030" && f.starts_with('f') && *line == 4));
    let mut files: Vec<&String> = found.iter().map(|(_, f, _)| f).collect();
    files.dedup();
    assert_eq!(files.len(), found.len());
}

#[test]
fn deeply_nested_anonymous_structs_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let depth = 5_000;
    let mut src = String::from("package d\n\nimport \"sync\"\n\ntype T struct {\n");
    for i in 0..depth {
        src.push_str(&format!("f{i} struct {{\n"));
    }
    src.push_str("mu sync.Mutex\n");
    for _ in 0..depth {
        src.push_str("}\n");
    }
    src.push_str("}\n\nfunc (t *T) m() {\n\tt.f0.f1.mu.Lock()\n\tt.f0.f1.mu.Unlock()\n}\n");
    write(dir.path(), "deep.go", &src);
    let handle = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn({
            let path = dir.path().to_path_buf();
            move || codes(&path, false)
        })
        .expect("thread");
    let found = handle.join().expect("no panic on deep anonymous structs");
    assert!(found.iter().all(|(c, _, _)| c == "GL900"), "{found:?}");
}
