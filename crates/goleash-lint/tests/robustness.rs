//! No input makes the linter panic: broken syntax, deep nesting, arbitrary bytes.

use goleash_lint::{lint_source, Diagnostic, RuleSelection};
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

/// Runs the lint on a thread with the stack the engine's workers get (16 MiB).
fn lint_on_worker_stack(name: &str, src: String) -> Vec<Diagnostic> {
    let name = name.to_string();
    std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(move || lint_source(&name, &src, false, None, &all_rules()))
        .expect("thread")
        .join()
        .expect("no panic")
}

fn line_of(src: &str, needle: &str) -> usize {
    let at = src.find(needle).expect("needle in source");
    src[..at].matches('\n').count() + 1
}

const DEPTH: usize = 5000;

/// A function whose local channel is received from at every one of `DEPTH` levels of one
/// nesting shape, followed by a function with a lost cancel: the nesting must neither crash
/// the lint nor hide the finding after it. (bench/lintgen writes the same shapes.)
fn nested(open: &str, middle: &str, close: &str, expression: bool) -> String {
    let mut src = String::from(
        "package p\n\nimport (\n\t\"context\"\n\t\"sync\"\n)\n\nfunc g(args ...any) any { return nil }\n\n\
         func f(ctx context.Context, mu *sync.Mutex, x bool) {\n\
         ch := make(chan int)\nctx, cancel := context.WithCancel(ctx)\ndefer cancel()\n",
    );
    if expression {
        src.push_str("_ = ");
    }
    src.push_str(&open.repeat(DEPTH));
    src.push_str(middle);
    src.push_str(&close.repeat(DEPTH));
    // Composite and call levels each end in `,`: the outermost one needs a last element.
    if close.ends_with(",\n") {
        src.push_str("nil\n");
    } else if expression {
        src.push('\n');
    }
    src.push_str("}\n\nfunc after(parent context.Context) {\n\tctx, _ := context.WithCancel(parent)\n\t_ = ctx\n}\n");
    src
}

fn codes_and_lines(diagnostics: &[Diagnostic]) -> Vec<(&'static str, usize)> {
    diagnostics.iter().map(|d| (d.code, d.span.line)).collect()
}

#[test]
fn deep_nesting_of_every_shape_is_linted() {
    // (shape, open, middle, close, nested in an expression, the channel is only received from)
    let shapes = [
        (
            "go",
            "go func() {\n<-ch\n",
            "mu.Lock()\nch <- 1\n",
            "}()\n",
            false,
            false,
        ),
        (
            "if",
            "if x {\n<-ch\n",
            "mu.Lock()\nreturn\n",
            "}\n",
            false,
            true,
        ),
        ("for", "for {\n<-ch\n", "mu.Lock()\n", "}\n", false, true),
        (
            "for-select",
            "for {\nselect {\ncase <-ch:\n",
            "mu.Lock()\nreturn\n",
            "}\n}\n",
            false,
            false,
        ),
        (
            "func literal",
            "f := func() {\n<-ch\n",
            "mu.Lock()\n",
            "}\n_ = f\n",
            false,
            false,
        ),
        ("block", "{\n<-ch\n", "mu.Lock()\n", "}\n", false, true),
        (
            "composite literal",
            "[]any{\n<-ch,\n",
            "func() { mu.Lock() },\n",
            "},\n",
            true,
            true,
        ),
        (
            "call",
            "g(\n<-ch,\n",
            "func() { mu.Lock() },\n",
            "),\n",
            true,
            true,
        ),
        ("parentheses", "(", "<-ch", ")", true, true),
        (
            "switch",
            "switch {\ncase x:\n<-ch\n",
            "mu.Lock()\n",
            "}\n",
            false,
            true,
        ),
    ];
    for (shape, open, middle, close, expression, receive_only) in shapes {
        let src = nested(open, middle, close, expression);
        let diagnostics = lint_on_worker_stack(shape, src.clone());
        let found = codes_and_lines(&diagnostics);
        let lost_cancel = line_of(&src, "ctx, _ := context.WithCancel(parent)");
        assert!(
            found.contains(&("GL013", lost_cancel)),
            "{shape}: {found:?}"
        );
        assert!(
            !found.iter().any(|(code, _)| *code == "GL900"),
            "{shape}: {found:?}"
        );
        // The first receive is the one reported; in the for-select shape every receive is a
        // select case, and in the others something sends or the channel leaves sight.
        let first_receive = line_of(&src, "<-ch");
        assert_eq!(
            found.contains(&("GL005", first_receive)),
            receive_only,
            "{shape}: {found:?}"
        );
        assert_eq!(
            found.len(),
            1 + usize::from(receive_only),
            "{shape}: {found:?}"
        );
    }
}

#[test]
fn unclosed_brace_is_reported_at_its_line() {
    // No trigger token: the prefilter does not parse this file, the bracket scan still runs.
    let plain =
        "package p\n\nfunc f() int {\n\tif true {\n\t\treturn 1\n\t}\n\treturn 2\n\nfunc g() {}\n";
    // With trigger tokens: parsed, and the scan names the brace tree-sitter closes at the end.
    let busy = "package p\n\nfunc f(ch chan int) {\n\tif true {\n\t\tch <- 1\n\n}\n\nfunc g() {}\n";
    // Input that stops inside a loop: the innermost open brace.
    let cut = "package p\n\nfunc f(ch chan int) {\n\tfor {\n\t\t<-ch\n";
    for (src, line) in [(plain, 3), (busy, 3), (cut, 4)] {
        let diagnostics = lint_source("open.go", src, false, None, &RuleSelection::default());
        let unclosed: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.code == "GL900" && d.message.contains("never closed"))
            .collect();
        assert_eq!(unclosed.len(), 1, "{src}: {diagnostics:?}");
        assert_eq!(unclosed[0].span.line, line, "{src}: {diagnostics:?}");
    }
    let stray = "package p\n\nfunc f() {\n}\n}\n";
    let diagnostics = lint_source("stray.go", stray, false, None, &RuleSelection::default());
    assert_eq!(codes_and_lines(&diagnostics), vec![("GL900", 5)]);
    let fine = "package p\n\nvar s = \"{\"\nvar r = '('\n\n// }\nfunc f() {}\n";
    assert!(lint_source("fine.go", fine, false, None, &RuleSelection::default()).is_empty());
}

#[test]
fn a_file_too_large_to_parse_is_reported_not_skipped_silently() {
    let function = "func f(ch chan int) {\n\tgo func() { ch <- 1 }()\n}\n\n";
    let mut src = String::from("package p\n\n");
    while src.len() <= goleash_lint::engine::MAX_PARSED_BYTES {
        src.push_str(function);
    }
    let diagnostics = lint_source("huge.go", &src, false, None, &RuleSelection::default());
    assert_eq!(codes_and_lines(&diagnostics), vec![("GL903", 1)]);
    assert!(
        diagnostics[0].message.contains("MiB limit"),
        "{diagnostics:?}"
    );
    src.push_str("func g() {\n");
    let diagnostics = lint_source("huge.go", &src, false, None, &RuleSelection::default());
    let last_line = src.lines().count();
    assert_eq!(
        codes_and_lines(&diagnostics),
        vec![("GL903", 1), ("GL900", last_line)]
    );
}

#[test]
fn ten_thousand_functions_are_all_linted() {
    let mut src = String::from("package p\n\nimport \"context\"\n\n");
    for i in 0..10_000 {
        if i % 2 == 0 {
            src.push_str(&format!(
                "func leak{i}(parent context.Context) {{\n\tctx, _ := context.WithCancel(parent)\n\t_ = ctx\n}}\n\n"
            ));
        } else {
            src.push_str(&format!(
                "func ok{i}(parent context.Context) {{\n\tctx, cancel := context.WithCancel(parent)\n\tdefer cancel()\n\t_ = ctx\n}}\n\n"
            ));
        }
    }
    let diagnostics = lint_on_worker_stack("many.go", src);
    assert_eq!(diagnostics.len(), 5_000);
    assert!(diagnostics.iter().all(|d| d.code == "GL013"));
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
    fn arbitrary_bytes_give_spans_inside_the_file(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let src = String::from_utf8_lossy(&bytes).into_owned();
        for d in lint_source("bytes.go", &src, false, None, &all_rules()) {
            prop_assert!(d.span.start <= d.span.end && d.span.end <= src.len(), "{d:?}");
            prop_assert!(d.span.line >= 1 && d.span.line <= src.lines().count().max(1) + 1, "{d:?}");
        }
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
