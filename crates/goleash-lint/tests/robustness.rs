//! No input makes the linter panic: broken syntax, deep nesting, arbitrary bytes.

use goleash_lint::{lint_source, RuleSelection};
use proptest::prelude::*;

fn all_rules() -> RuleSelection {
    RuleSelection {
        select: Some(vec!["ALL".to_string()]),
        ..RuleSelection::default()
    }
}

#[test]
fn parse_error_is_reported_and_the_rest_still_linted() {
    let src = "package p\n\nimport \"context\"\n\nfunc broken() {\n\tx := := 1\n}\n\nfunc ok(parent context.Context) {\n\tctx, _ := context.WithCancel(parent)\n\t_ = ctx\n}\n";
    let diagnostics = lint_source("broken.go", src, false, None, &RuleSelection::default());
    assert!(
        diagnostics.iter().any(|d| d.code == "GL900"),
        "{diagnostics:?}"
    );
    assert!(
        diagnostics.iter().any(|d| d.code == "GL013"),
        "{diagnostics:?}"
    );
}

/// GL900 lines of `src` (each line once per finding on it).
fn syntax_error_lines(src: &str) -> Vec<usize> {
    lint_source("new.go", src, false, None, &RuleSelection::default())
        .iter()
        .filter(|d| d.code == "GL900")
        .map(|d| d.span.line)
        .collect()
}

#[test]
fn go_1_26_new_expr_is_not_a_syntax_error() {
    // `new(expr)` in the expression positions real code uses; `new(T)` must keep parsing too.
    // The channel parameter gets the file past the prefilter.
    let src = r#"package p

var K = new("key")

func a(ch chan int) *int64 {
	p := new(int64(300))
	_ = p
	return new(int64(len(ch)))
}

func b(s S, x int) *int {
	f(new(x+1), &M{ID: new(uint64(s.ID)), T: new(w[0].Term())})
	return new(s.field)
}

func c() *map[string]int { return new(map[string]int) }
"#;
    assert_eq!(syntax_error_lines(src), Vec::<usize>::new());
}

#[test]
fn real_syntax_error_on_a_new_expr_line_is_still_reported() {
    let src = r#"package p

func a(ch chan int) {
	p := new(int64(300)) := 1
	_ = p
}
"#;
    assert_eq!(syntax_error_lines(src), vec![4]);
    let mixed = r#"package p

func a(ch chan int) {
	p := new(int64(300))
	q := := new(x+1)
	_, _ = p, q
}
"#;
    assert_eq!(syntax_error_lines(mixed), vec![5]);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 1000;
    let mut src = String::from("package p\nfunc f() {\n");
    for _ in 0..depth {
        src.push_str("if x {\n");
    }
    src.push_str("mu.Lock()\nreturn\n");
    for _ in 0..depth {
        src.push_str("}\n");
    }
    src.push_str("mu.Unlock()\n}\n");
    let handle = std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || lint_source("deep.go", &src, false, None, &all_rules()).len())
        .expect("thread");
    handle.join().expect("no panic on deep nesting");
}

#[test]
fn weird_fragments_do_not_panic() {
    let fragments = [
        "",
        "package",
        "package p\nfunc",
        "package p\nfunc f() { go }",
        "package p\nfunc f() { x := make(chan int); go func() { x <- }() }",
        "package p\nfunc f() { var c chan; close() }",
        "package p\nfunc f() { select { case <-: } }",
        "package p\nfunc f() { for { select { default: } } }",
        "package p\n//goleash:ignore\n//goleash:ignore GL00é\n//nolint:goleash //",
        "package p\nfunc f() { if !t.Stop() { <-t.C } }",
        "package p\nfunc f() { ctx, cancel := context.WithCancel(); if { return } }",
        "\u{feff}package p\nfunc f() { \"\u{1F600}\" }",
    ];
    for src in fragments {
        let _ = lint_source("frag.go", src, false, None, &all_rules());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_does_not_panic(body in "\\PC{0,300}") {
        let src = format!("package p\nfunc f() {{\n{body}\n}}\n");
        let _ = lint_source("any.go", &src, false, None, &all_rules());
    }

    #[test]
    fn go_like_tokens_do_not_panic(tokens in proptest::collection::vec(
        prop_oneof![
            Just("go"), Just("func()"), Just("{"), Just("}"), Just("for"), Just("select"),
            Just("case"), Just("<-ch"), Just("ch <- 1"), Just("return"), Just("defer"),
            Just("mu.Lock()"), Just("mu.Unlock()"), Just(":="), Just("make(chan int)"),
            Just("ctx, cancel := context.WithCancel(p)"), Just(";"), Just("\n"), Just("if x"),
            Just("break"), Just("wg.Done()"), Just("wg.Add(1)"), Just("range"),
        ],
        0..80,
    )) {
        let src = format!("package p\nimport \"context\"\nfunc f() {{\n{}\n}}\n", tokens.join(" "));
        let _ = lint_source("tok.go", &src, false, None, &all_rules());
    }
}
