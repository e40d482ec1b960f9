//! Where the time goes, single-threaded: parse only, parse + facts, full lint.
//!
//! `cargo run --release -p goleash-lint --example throughput -- "$(go env GOROOT)/src"`

use std::path::PathBuf;
use std::time::Instant;

use goleash_lint::facts::FileCx;
use goleash_lint::{lint_source, RuleSelection};

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".to_string());
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for entry in ignore::WalkBuilder::new(&root).build().flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        if name.ends_with(".go")
            && !name.ends_with("_test.go")
            && !name.contains("/testdata/")
            && !name.contains("/vendor/")
        {
            if let Ok(text) = std::fs::read_to_string(path) {
                files.push((path.to_path_buf(), text));
            }
        }
    }
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let mb = bytes as f64 / 1e6;
    println!("{} files, {:.1} MB", files.len(), mb);

    let mut parser = tree_sitter::Parser::new();
    if parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .is_err()
    {
        eprintln!("tree-sitter-go is not ABI-compatible with this tree-sitter");
        return;
    }
    let started = Instant::now();
    let mut trees = Vec::new();
    for (_, text) in &files {
        trees.push(parser.parse(text, None));
    }
    let parse = started.elapsed().as_secs_f64();
    println!("parse only: {parse:.2}s ({:.1} MB/s)", mb / parse);

    let started = Instant::now();
    let mut functions = 0;
    for ((_, text), tree) in files.iter().zip(&trees) {
        if let Some(tree) = tree {
            functions += FileCx::new(text, tree.root_node(), false, None)
                .functions
                .len();
        }
    }
    let facts = started.elapsed().as_secs_f64();
    println!("facts only: {facts:.2}s ({functions} functions)");
    drop(trees);

    let selection = RuleSelection::default();
    let started = Instant::now();
    let mut findings = 0;
    for (path, text) in &files {
        findings += lint_source(&path.to_string_lossy(), text, false, None, &selection).len();
    }
    let full = started.elapsed().as_secs_f64();
    println!(
        "full lint, 1 thread: {full:.2}s ({:.0} files/s, {:.1} MB/s), {findings} findings",
        files.len() as f64 / full,
        mb / full
    );
}
