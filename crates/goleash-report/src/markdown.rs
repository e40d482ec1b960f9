use std::fmt::Write;

use goleash_analyze::{Analysis, Diff};

use crate::{folded_frames, labels_text, wait_text};

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

pub fn analysis_markdown(analysis: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# goleash analysis\n");
    let sources: Vec<String> = analysis
        .sources
        .iter()
        .map(|s| match &s.transport {
            Some(t) => format!("`{}` (inside {})", s.name, cell(t)),
            None => format!("`{}`", s.name),
        })
        .collect();
    let _ = writeln!(
        out,
        "{} goroutines in {} groups from {}.\n",
        analysis.total,
        analysis.groups.len(),
        sources.join(", ")
    );
    if !analysis.missing.is_empty() {
        let _ = writeln!(out, "> The input has no {}.\n", analysis.missing.join(", "));
    }
    table_head(
        &mut out,
        &analysis.notes,
        &[
            "#",
            "verdict",
            "count",
            "wait",
            "blocked at",
            "created by",
            "waiting",
        ],
    );
    for (i, g) in analysis.groups.iter().enumerate() {
        let site = site_cell(g.site.as_ref());
        let creator = g
            .creator
            .as_ref()
            .map_or(String::new(), |c| format!("`{}`", c.function));
        let _ = writeln!(
            out,
            "| {} | **{}** | {} | {} | {} | {} | {} |",
            i + 1,
            g.verdict.name(),
            g.count,
            wait_text(g).unwrap_or_default(),
            cell(&site),
            cell(&creator),
            g.category.name()
        );
    }
    out.push('\n');
    // The table's rows above, then one section per group worth reading: the two loops write
    // the same groups in two layouts.
    for (i, g) in analysis.groups.iter().enumerate() {
        if g.verdict < goleash_analyze::Verdict::Possible {
            continue;
        }
        let _ = writeln!(
            out,
            "## {}. {} — {} × {}\n",
            i + 1,
            g.verdict.name(),
            g.count,
            g.category.name()
        );
        let _ = writeln!(out, "- **Why:** {}", g.reason);
        let _ = writeln!(out, "- **Fix:** {}", g.hint);
        for f in &g.findings {
            let _ = writeln!(
                out,
                "- **Lint {} ({})** at `{}:{}`: {}; fix: {}",
                f.code, f.name, f.file, f.line, f.message, f.fix
            );
        }
        for labels in &g.labels {
            let _ = writeln!(out, "- **Labels:** `{}`", labels_text(labels));
        }
        let _ = writeln!(out, "\n```");
        for (_, f) in folded_frames(g) {
            let _ = writeln!(out, "{}\n\t{}:{}", f.function, f.file, f.line);
        }
        if let Some(c) = &g.creator {
            let _ = writeln!(out, "created by {}\n\t{}:{}", c.function, c.file, c.line);
        }
        let _ = writeln!(out, "```\n");
    }
    out
}

pub fn diff_markdown(diff: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# goleash diff\n");
    let _ = writeln!(
        out,
        "{} → {} goroutines ({:+}).\n",
        diff.base_total, diff.current_total, diff.delta
    );
    table_head(
        &mut out,
        &diff.notes,
        &[
            "delta",
            "base",
            "current",
            "change",
            "verdict",
            "blocked at",
        ],
    );
    for g in &diff.groups {
        let site = site_cell(g.group.site.as_ref());
        let _ = writeln!(
            out,
            "| {:+} | {} | {} | {:?} | {} | {} |",
            g.delta,
            g.base_count,
            g.current_count,
            g.change,
            g.group.verdict.name(),
            cell(&site)
        );
    }
    out
}

/// The notes as quotes, then a table's header row and its separator.
fn table_head(out: &mut String, notes: &[String], columns: &[&str]) {
    for note in notes {
        let _ = writeln!(out, "> {note}\n");
    }
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(columns.len()));
}

fn site_cell(site: Option<&goleash_analyze::FrameView>) -> String {
    site.map_or(String::new(), |s| {
        format!("`{}` {}:{}", s.function, s.file, s.line)
    })
}
