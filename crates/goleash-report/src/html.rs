//! `--format html`: one self-contained page (inline CSS, JS and SVG; no network) with the
//! summary, a flame graph of every goroutine stack, the sortable group table and source
//! listings. The page holds groups, never goroutines, so its size follows the number of
//! distinct stacks; it carries no time or path of the run, so one input gives one page.

use std::collections::BTreeMap;

use goleash_analyze::{Analysis, Change, Diff, FrameView, Group, Verdict};
use goleash_source::gosrc::Listing;
use rustc_hash::FxHashMap;
use serde::Serialize;

const PAGE: &str = include_str!("html/report.html");

/// Where a frame's source is, when it can be found (`--source`): the report stage only
/// draws what the source stage found.
pub type Listings<'a> = &'a dyn Fn(&FrameView) -> Option<Listing>;

#[derive(Serialize)]
struct Page<'a> {
    kind: &'static str,
    title: String,
    total: u64,
    base_total: Option<u64>,
    verdicts: BTreeMap<&'static str, VerdictCount>,
    sources: Vec<SourceLine>,
    notes: Vec<String>,
    missing: &'a [&'static str],
    /// Every frame once: `[function, file, line, user]`.
    frames: Vec<(&'a str, &'a str, u32, bool)>,
    groups: Vec<PageGroup<'a>>,
    /// Listings by frame index.
    listings: BTreeMap<usize, PageListing>,
}

#[derive(Serialize, Default)]
struct VerdictCount {
    groups: usize,
    goroutines: u64,
}

#[derive(Serialize)]
struct SourceLine {
    name: String,
    format: String,
}

#[derive(Serialize)]
struct PageGroup<'a> {
    verdict: Verdict,
    count: u64,
    category: &'static str,
    state: Option<&'a str>,
    wait: Option<[u32; 2]>,
    site: Option<usize>,
    creator: Option<usize>,
    labels: Vec<String>,
    ids: &'a [u64],
    reason: &'a str,
    hint: &'a str,
    /// Frame indexes, leaf first.
    stack: Vec<usize>,
    leaked: bool,
    findings: &'a [goleash_analyze::StaticFinding],
    /// `test` only: the package and test that left the group, and the test's own line.
    test: Option<String>,
    in_test: Option<usize>,
    /// `diff` only: the change, the base count and the signed difference.
    change: Option<Change>,
    base: Option<u64>,
    delta: Option<i64>,
}

#[derive(Serialize)]
struct PageListing {
    path: String,
    first: u32,
    line: u32,
    lines: Vec<String>,
}

/// Interns frames so each appears once in the page however many stacks hold it.
struct FrameTable<'a> {
    index: FxHashMap<(&'a str, &'a str, u32), usize>,
    frames: Vec<(&'a str, &'a str, u32, bool)>,
    listings: BTreeMap<usize, PageListing>,
}

impl<'a> FrameTable<'a> {
    fn new() -> Self {
        FrameTable {
            index: FxHashMap::default(),
            frames: Vec::new(),
            listings: BTreeMap::new(),
        }
    }

    fn add(&mut self, f: &'a FrameView) -> usize {
        let key = (&*f.function, &*f.file, f.line);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.frames.len();
        self.frames.push((key.0, key.1, key.2, f.user));
        self.index.insert(key, i);
        i
    }

    /// Sites and creators get their source listing: the lines the reader acts on.
    fn add_listed(&mut self, f: &'a FrameView, listings: Listings<'_>) -> usize {
        let i = self.add(f);
        if let std::collections::btree_map::Entry::Vacant(slot) = self.listings.entry(i) {
            if let Some(l) = listings(f) {
                slot.insert(PageListing {
                    path: l.path.display().to_string(),
                    first: l.first,
                    line: l.line,
                    lines: l.lines,
                });
            }
        }
        i
    }
}

fn page_group<'a>(
    g: &'a Group,
    table: &mut FrameTable<'a>,
    listings: Listings<'_>,
) -> PageGroup<'a> {
    PageGroup {
        verdict: g.verdict,
        count: g.count,
        category: g.category.name(),
        state: g.state.as_deref(),
        wait: g.wait_minutes.map(|w| [w.min, w.max]),
        site: g.site.as_ref().map(|f| table.add_listed(f, listings)),
        creator: g.creator.as_ref().map(|f| table.add_listed(f, listings)),
        labels: g.labels.iter().map(crate::labels_text).collect(),
        ids: &g.goroutine_ids,
        reason: &g.reason,
        hint: &g.hint,
        stack: g.frames.iter().map(|f| table.add(f)).collect(),
        leaked: g.leaked,
        findings: &g.findings,
        test: None,
        in_test: None,
        change: None,
        base: None,
        delta: None,
    }
}

fn verdicts<'g>(groups: impl Iterator<Item = &'g Group>) -> BTreeMap<&'static str, VerdictCount> {
    let mut out: BTreeMap<&'static str, VerdictCount> = [
        Verdict::Proven,
        Verdict::Likely,
        Verdict::Possible,
        Verdict::Expected,
    ]
    .iter()
    .map(|v| (v.name(), VerdictCount::default()))
    .collect();
    for g in groups {
        let c = out.entry(g.verdict.name()).or_default();
        c.groups += 1;
        c.goroutines += g.count;
    }
    out
}

pub fn analysis_html(analysis: &Analysis, listings: Listings<'_>) -> String {
    let mut table = FrameTable::new();
    let groups = analysis
        .groups
        .iter()
        .map(|g| page_group(g, &mut table, listings))
        .collect();
    let title = match analysis.sources.as_slice() {
        [one] => format!("goroutines of {}", one.name),
        many => format!("goroutines of {} sources", many.len()),
    };
    render(Page {
        kind: "analysis",
        title,
        total: analysis.total,
        base_total: None,
        verdicts: verdicts(analysis.groups.iter()),
        sources: analysis
            .sources
            .iter()
            .map(|s| SourceLine {
                name: s.name.clone(),
                format: s.format.describe().to_string(),
            })
            .collect(),
        notes: analysis.notes.clone(),
        missing: &analysis.missing,
        frames: table.frames,
        groups,
        listings: table.listings,
    })
}

pub fn diff_html(diff: &Diff, listings: Listings<'_>) -> String {
    let mut table = FrameTable::new();
    let groups = diff
        .groups
        .iter()
        .map(|d| PageGroup {
            change: Some(d.change),
            base: Some(d.base_count),
            delta: Some(d.delta),
            count: d.current_count,
            ..page_group(&d.group, &mut table, listings)
        })
        .collect();
    render(Page {
        kind: "diff",
        title: format!(
            "goroutine diff: {} → {} ({:+})",
            diff.base_total, diff.current_total, diff.delta
        ),
        total: diff.current_total,
        base_total: Some(diff.base_total),
        verdicts: verdicts(diff.groups.iter().map(|d| &d.group)),
        sources: Vec::new(),
        notes: diff.notes.clone(),
        missing: &[],
        frames: table.frames,
        groups,
        listings: table.listings,
    })
}

/// `goleash test --format html`: every leaking test's groups, each with its test and the
/// test's line that led to it.
pub fn test_html(run: &goleash_gotest::TestRun, listings: Listings<'_>) -> String {
    let mut table = FrameTable::new();
    let mut groups = Vec::new();
    let mut all: Vec<&Group> = Vec::new();
    let mut notes = Vec::new();
    for package in &run.packages {
        notes.extend(
            package
                .notes
                .iter()
                .map(|n| format!("{}: {n}", package.import_path)),
        );
        for test in &package.tests {
            for leak in &test.groups {
                all.push(&leak.group);
                let in_test = leak.in_test.as_ref().map(|f| table.add_listed(f, listings));
                groups.push(PageGroup {
                    test: Some(format!("{} {}", package.import_path, test.display_name())),
                    in_test,
                    ..page_group(&leak.group, &mut table, listings)
                });
            }
        }
    }
    let tests: usize = run.packages.iter().map(|p| p.tests.len()).sum();
    render(Page {
        kind: "test",
        title: format!(
            "goleash test: {} leaked goroutine{} in {tests} test{}",
            run.leaked,
            if run.leaked == 1 { "" } else { "s" },
            if tests == 1 { "" } else { "s" }
        ),
        total: all.iter().map(|g| g.count).sum(),
        base_total: None,
        verdicts: verdicts(all.into_iter()),
        sources: Vec::new(),
        notes,
        missing: &[],
        frames: table.frames,
        groups,
        listings: table.listings,
    })
}

fn render(page: Page<'_>) -> String {
    let data = serde_json::to_string(&page).unwrap_or_else(|_| "{}".to_string());
    // Inside <script>, only `</` can end the element early; `<\/` reads the same to JSON.
    let data = data.replace("</", "<\\/");
    PAGE.replacen("{{TITLE}}", &escape_html(&page.title), 1)
        .replacen("{{DATA}}", &data, 1)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
