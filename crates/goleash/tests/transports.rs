//! Dumps as they arrive in logs, pastes, archives and other encodings (testdata/transports,
//! made from real captures by scripts/gen-transports.sh): each reads with the same totals,
//! groups and sites as the capture inside it, and the report names the transport undone.

mod support;

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;
use support::root;

fn goleash() -> Command {
    Command::cargo_bin("goleash").unwrap()
}

struct Row {
    file: String,
    captures: Vec<String>,
    transport: String,
}

fn manifest() -> Vec<Row> {
    let path = root().join("testdata/transports/MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "MANIFEST.tsv: {line:?}");
            Row {
                file: fields[0].to_string(),
                captures: fields[1].split(' ').map(str::to_string).collect(),
                transport: fields[2].to_string(),
            }
        })
        .collect()
}

fn analyze_json(paths: &[PathBuf]) -> Value {
    let out = goleash()
        .args([
            "analyze",
            "--format",
            "json",
            "--show",
            "all",
            "--fail-on",
            "proven",
        ])
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "goleash analyze {paths:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must not change when a dump is carried: counts, states, sites and verdicts of groups.
fn groups(analysis: &Value) -> Vec<String> {
    let mut groups: Vec<String> = analysis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {} {} {} {}",
                g["count"], g["state"], g["verdict"], g["site"], g["frames"]
            )
        })
        .collect();
    groups.sort();
    groups
}

fn sites(analysis: &Value) -> Vec<String> {
    let mut sites: Vec<String> = analysis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["site"].to_string())
        .collect();
    sites.sort();
    sites.dedup();
    sites
}

#[test]
fn every_transport_reads_like_the_capture_inside_it() {
    let rows = manifest();
    assert!(rows.len() >= 20, "MANIFEST.tsv has {} rows", rows.len());
    for row in rows {
        let wrapped = analyze_json(&[root().join("testdata/transports").join(&row.file)]);
        let captures: Vec<PathBuf> = row
            .captures
            .iter()
            .map(|c| root().join("testdata").join(c))
            .collect();
        if let [capture] = &captures[..] {
            let plain = analyze_json(std::slice::from_ref(capture));
            assert!(plain["total"].as_u64().unwrap() > 0, "{}", row.file);
            assert_eq!(wrapped["total"], plain["total"], "{}: total", row.file);
            assert_eq!(groups(&wrapped), groups(&plain), "{}: groups", row.file);
        } else {
            // Several programs counted together: the sum of their totals, all their sites.
            let mut total = 0;
            let mut want_sites = Vec::new();
            for capture in &captures {
                let plain = analyze_json(std::slice::from_ref(capture));
                total += plain["total"].as_u64().unwrap();
                want_sites.extend(sites(&plain));
            }
            want_sites.sort();
            want_sites.dedup();
            assert_eq!(wrapped["total"], total, "{}: total", row.file);
            assert_eq!(sites(&wrapped), want_sites, "{}: sites", row.file);
        }
        let sources = wrapped["sources"].as_array().unwrap();
        assert_eq!(
            sources.len(),
            row.captures.len(),
            "{}: one source per capture",
            row.file
        );
        for source in sources {
            assert_eq!(source["transport"], row.transport.as_str(), "{}", row.file);
        }
    }
}

#[test]
fn mixed_prefix_logs_keep_one_dump_per_source() {
    for (file, names) in [
        (
            "two-pods.kubectl-prefix.log",
            ["[pod/api-7d9c5-x2k4q/api]", "[pod/api-7d9c5-m8r2z/api]"],
        ),
        ("two-services.compose.log", ["[api-1]", "[worker-1]"]),
    ] {
        let path = root().join("testdata/transports").join(file);
        let wrapped = analyze_json(std::slice::from_ref(&path));
        let sources = wrapped["sources"].as_array().unwrap();
        for (source, name) in sources.iter().zip(names) {
            let source_name = source["name"].as_str().unwrap();
            assert!(
                source_name.ends_with(&format!("{file} {name}")),
                "{source_name}"
            );
            assert_eq!(source["dumps"], 1, "{source_name}: its own dump");
        }
        // Different programs: added up, each source's count in a note.
        assert_eq!(wrapped["total"], 13 + 9, "{file}");
        let note = format!("2 sources in {}", path.display());
        let notes = wrapped["notes"].as_array().unwrap();
        let note = notes
            .iter()
            .filter_map(Value::as_str)
            .find(|n| n.starts_with(&note))
            .unwrap_or_else(|| panic!("{file}: {notes:?}"));
        assert!(
            note.ends_with(&format!(
                "counted together: {} 13, {} 9",
                names[0], names[1]
            )),
            "{note}"
        );
    }
}

#[test]
fn terminal_and_markdown_reports_name_the_transport() {
    let path = root().join("testdata/transports/debug2.cri.log.zst");
    let out = goleash()
        .args(["analyze", "--color", "never"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(goroutine traceback text (debug=2), inside zstd, CRI log)"),
        "{text}"
    );
    let out = goleash()
        .args(["analyze", "--format", "markdown"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("debug2.cri.log.zst` (inside zstd, CRI log)"),
        "{text}"
    );
}

#[test]
fn plain_dumps_name_no_transport() {
    let plain =
        analyze_json(&[root().join("testdata/dumps/forgotten_sender/goroutine.debug2.txt")]);
    assert_eq!(plain["sources"][0]["transport"], Value::Null);
    let proto = analyze_json(&[root().join("testdata/dumps/forgotten_sender/goroutine.pb.gz")]);
    assert_eq!(proto["sources"][0]["transport"], "gzip");
    assert_eq!(proto["sources"][0]["format"], "proto");
}

#[test]
fn a_corrupt_compressed_stream_names_the_file_and_codec() {
    let good = std::fs::read(root().join("testdata/transports/debug2.txt.zst")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("cut.zst", good[..good.len() / 2].to_vec()),
        (
            "garbage.xz",
            [&[0xfd, b'7', b'z', b'X', b'Z', 0][..], &[0x55; 64]].concat(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = goleash().arg("analyze").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{stderr}");
        let codec = if name.ends_with("zst") { "zstd" } else { "xz" };
        assert!(
            stderr.contains(&format!("corrupt {codec} data")),
            "{stderr}"
        );
    }
}

#[test]
fn diff_of_a_capture_against_its_wrapped_self_shows_no_change() {
    let plain = root().join("testdata/dumps/forgotten_sender/goroutine.debug2.txt");
    for file in [
        "debug2.docker.json.log",
        "debug2.utf16le.txt",
        "debug2.quoted.md",
    ] {
        let wrapped = root().join("testdata/transports").join(file);
        let out = goleash()
            .args(["diff", "--format", "json"])
            .arg(&plain)
            .arg(&wrapped)
            .output()
            .unwrap();
        let diff: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{file}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(diff["delta"], 0, "{file}");
        assert_eq!(diff["base_total"], 13, "{file}");
        let changes: Vec<&Value> = diff["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| &g["change"])
            .collect();
        assert!(!changes.is_empty(), "{file}");
        assert!(changes.iter().all(|c| *c == "same"), "{file}: {changes:?}");
    }
}
