//! `--format html`: one self-contained page per report. The page's groups agree with
//! `--format json` for every format of one moment, it fetches nothing, it is the same for the
//! same input, and in headless Chromium its flame graph, table and source listings draw
//! without a script error.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;
use support::root;

fn goleash() -> Command {
    Command::cargo_bin("goleash").unwrap()
}

fn dump(path: &str) -> PathBuf {
    root().join("testdata/dumps").join(path)
}

fn run(args: &[&str]) -> String {
    let out = goleash().current_dir(root()).args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON the page draws from, as embedded in it.
fn page_data(html: &str) -> Value {
    let open = "<script id=\"data\" type=\"application/json\">";
    let start = html.find(open).expect("embedded data") + open.len();
    let end = start + html[start..].find("</script>").expect("end of data");
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).unwrap()
}

fn site(frames: &Value, index: &Value) -> String {
    match index.as_u64() {
        Some(i) => frames[i as usize][0].as_str().unwrap().to_string(),
        None => String::new(),
    }
}

#[test]
fn every_format_of_one_moment_gives_the_groups_and_counts_of_json() {
    for file in [
        "forgotten_sender/goroutine.debug2.txt",
        "forgotten_sender/goroutine.debug1.txt",
        "forgotten_sender/goroutine.pb.gz",
        "forgotten_sender/goroutineleak.pb.gz",
    ] {
        let path = dump(file);
        let path = path.to_str().unwrap();
        let json: Value =
            serde_json::from_str(&run(&["analyze", path, "--format", "json"])).unwrap();
        let html = run(&["analyze", path, "--format", "html"]);
        let page = page_data(&html);
        assert_eq!(page["total"], json["total"], "{file}");
        let from_json: Vec<(String, u64, String)> = json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["verdict"].as_str().unwrap().to_string(),
                    g["count"].as_u64().unwrap(),
                    g["site"]["function"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let from_page: Vec<(String, u64, String)> = page["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["verdict"].as_str().unwrap().to_string(),
                    g["count"].as_u64().unwrap(),
                    site(&page["frames"], &g["site"]),
                )
            })
            .collect();
        assert_eq!(from_page, from_json, "{file}");
        // Self-contained: nothing to fetch.
        for fetch in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "fetch(",
            "XMLHttpRequest",
            "@import",
        ] {
            assert!(
                !html.contains(fetch),
                "{file}: the page would fetch ({fetch})"
            );
        }
        // One input, one page: nothing of the moment of the run goes in.
        assert_eq!(html, run(&["analyze", path, "--format", "html"]), "{file}");
    }
}

#[test]
fn source_listings_resolve_trimpath_frames_through_the_module() {
    let path = dump("forgotten_sender/goroutine.debug2.txt");
    let html = run(&[
        "analyze",
        path.to_str().unwrap(),
        "--format",
        "html",
        "--source",
        "testdata/scenarios",
    ]);
    let page = page_data(&html);
    let listings = page["listings"].as_object().unwrap();
    let site = listings
        .values()
        .find(|l| l["line"] == 27)
        .unwrap_or_else(|| panic!("{listings:#?}"));
    assert_eq!(site["path"], "testdata/scenarios/forgotten_sender/main.go");
    let line = &site["lines"][(27 - site["first"].as_u64().unwrap()) as usize];
    assert!(
        line.as_str().unwrap().contains("ch <- query(backend)"),
        "{line}"
    );
    // The terminal shows the same lines with --list, the blocking one with its count.
    let text = run(&[
        "analyze",
        path.to_str().unwrap(),
        "--source",
        "testdata/scenarios",
        "--list",
        "--color",
        "never",
    ]);
    let hot = text
        .lines()
        .find(|l| l.contains("ch <- query(backend)") && l.trim_start().starts_with("12 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(hot.contains(" 27 "), "{hot}");
}

#[test]
fn diff_pages_carry_base_counts_and_changes() {
    let base = dump("forgotten_sender/goroutine.debug1.txt");
    let current = dump("worker_pool_ctx/goroutine.debug2.txt");
    let html = run(&[
        "diff",
        base.to_str().unwrap(),
        current.to_str().unwrap(),
        "--format",
        "html",
    ]);
    let page = page_data(&html);
    assert_eq!(page["kind"], "diff");
    let groups = page["groups"].as_array().unwrap();
    assert!(groups
        .iter()
        .any(|g| g["change"] == "vanished" && g["delta"].as_i64() < Some(0)));
    assert!(groups
        .iter()
        .any(|g| g["change"] == "new" && g["base"] == 0));
    let sum: i64 = groups.iter().map(|g| g["delta"].as_i64().unwrap()).sum();
    assert_eq!(
        sum,
        page["total"].as_i64().unwrap() - page["base_total"].as_i64().unwrap()
    );
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            StdCommand::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn render(chromium: &str, page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = StdCommand::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page in a real browser: the flame graph and the table draw, a zoom (what a click on
/// a frame does: it sets the #fragment) narrows the table, a search marks frames, an opened
/// group shows its source listing, and no script error is raised.
#[test]
fn the_page_draws_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!("SKIPPED: no chromium on PATH (scripts/test.sh installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    // Relative to the repository (run() works there): the page names its input as given.
    let html = run(&[
        "analyze",
        "testdata/dumps/forgotten_sender/goroutine.debug2.txt",
        "--format",
        "html",
        "--source",
        "testdata/scenarios",
    ]);
    std::fs::write(&page, &html).unwrap();
    let data = page_data(&html);
    let leak = data["groups"]
        .as_array()
        .unwrap()
        .iter()
        .position(|g| g["count"] == 12)
        .unwrap();

    let dom = render(chromium, &page, "");
    insta::assert_snapshot!("forgotten_sender_page_text", visible_text(&dom));
    assert!(
        dom.contains("<pre id=\"errors\" hidden=\"\"></pre>"),
        "script error: {dom}"
    );
    assert!(dom.matches("class=\"node").count() >= 3, "{dom}");
    assert!(dom.contains("2 of 2 groups"), "{dom}");
    assert!(dom.contains("main.fetchResult.func1"), "{dom}");

    // Zoomed into the leaking frame: the table keeps the groups under it.
    let site = data["groups"][leak]["site"].as_u64().unwrap();
    let dom = render(
        chromium,
        &page,
        &format!("#zoom=%2F{site}&search=fetchResult"),
    );
    assert!(
        dom.contains("<pre id=\"errors\" hidden=\"\"></pre>"),
        "script error: {dom}"
    );
    assert!(dom.contains("1 of 2 groups"), "{dom}");
    assert!(dom.contains("class=\"node match\""), "{dom}");
    assert!(dom.contains("matched 12 of 12 goroutines"), "{dom}");

    // An opened group: reason, fix, and the listing with the count at the blocking line.
    let dom = render(chromium, &page, &format!("#open={leak}"));
    assert!(
        dom.contains("<pre id=\"errors\" hidden=\"\"></pre>"),
        "script error: {dom}"
    );
    assert!(dom.contains("class=\"detail\""), "{dom}");
    assert!(dom.contains("Where it blocks"), "{dom}");
    assert!(
        dom.contains("<tr class=\"hot\"><td class=\"count\">12</td><td class=\"gutter\">27</td>"),
        "{dom}"
    );
}

/// The page's text as a reader sees it (tags dropped, one line per table row or block), from
/// the title to the end of the group table: what the DOM snapshot pins.
fn visible_text(dom: &str) -> String {
    let body = &dom[dom.find("<h1").unwrap_or(0)..];
    let body = &body[..body.find("<div id=\"tip\"").unwrap_or(body.len())];
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                if matches!(name, "tr" | "p" | "h1" | "h2" | "div" | "pre") && tag.starts_with('/')
                {
                    out.push('\n');
                } else if matches!(name, "td" | "th" | "span" | "option") {
                    out.push(' ');
                }
            }
            _ if in_tag => tag.push(c),
            _ => out.push(c),
        }
    }
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The page used as a person uses it, in headless Chromium driven over the DevTools protocol
/// (tests/browser/drive.js): real clicks on a flame-graph frame, a column header and a group
/// row; the page fetches nothing but itself and raises no script or console error.
#[test]
fn clicks_zoom_sort_and_open_without_errors_or_requests() {
    let Some(chromium) = chromium() else {
        println!("SKIPPED: no chromium on PATH (scripts/test.sh installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let html = run(&[
        "analyze",
        "testdata/dumps/http_no_timeout/goroutine.debug2.txt",
        "--format",
        "html",
        "--source",
        "testdata/scenarios",
    ]);
    std::fs::write(&page, &html).unwrap();
    let click = |selector: &str| {
        format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return 'missing {selector}'; e.click(); return 'clicked'; }})()"
        )
    };
    let steps = [
        "document.querySelectorAll('#groups tbody tr.group').length".to_string(),
        // A click on the frame where the HTTP client goroutines block: the flame graph zooms
        // and the table keeps the groups under it.
        "(() => { const n = [...document.querySelectorAll('#flame .node')].find(d => d.textContent === 'main.fetchStatus'); if (!n) return 'no node'; n.click(); return location.hash; })()".to_string(),
        "document.getElementById('shown').textContent".to_string(),
        click("#reset"),
        "document.getElementById('shown').textContent".to_string(),
        // Sort by goroutines, ascending after a second click.
        click("#groups th[data-key=count]"),
        click("#groups th[data-key=count]"),
        "[...document.querySelectorAll('#groups tbody tr.group td:nth-child(2)')].map(td => Number(td.textContent))".to_string(),
        // Open the first group: its listing and fix appear.
        click("#groups tbody tr.group"),
        "document.querySelectorAll('tr.detail .listing').length".to_string(),
        "document.getElementById('errors').hidden".to_string(),
    ];
    let out = StdCommand::new("node")
        .arg(root().join("crates/goleash/tests/browser/drive.js"))
        .arg(chromium)
        .arg(format!("file://{}", page.display()))
        .arg(serde_json::to_string(&steps).unwrap())
        .output()
        .expect("node runs the browser driver (the machine's Node.js)");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    let requests: Vec<&str> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        requests.iter().all(|r| r.starts_with("file://")),
        "the page fetched {requests:?}"
    );
    let steps = report["steps"].as_array().unwrap();
    let all = steps[0].as_u64().unwrap();
    assert!(all >= 3, "{report:#}");
    assert!(steps[1].as_str().unwrap().contains("zoom="), "{report:#}");
    let zoomed = steps[2].as_str().unwrap();
    assert!(
        !zoomed.starts_with(&format!("{all} of")),
        "zoom kept every group: {zoomed}"
    );
    assert_eq!(steps[4].as_str().unwrap(), format!("{all} of {all} groups"));
    let counts: Vec<u64> = steps[7]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "ascending: {counts:?}"
    );
    assert!(steps[9].as_u64().unwrap() >= 1, "{report:#}");
    assert_eq!(steps[10], true, "{report:#}");
}
