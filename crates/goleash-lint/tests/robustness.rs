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
