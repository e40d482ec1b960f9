use std::fmt::Write;

use goleash_analyze::{Analysis, Change, Diff, FrameView, Group, Verdict};

use crate::{folded_frames, labels_text, plural, wait_text, Style};

#[derive(Clone, Copy, Default)]
pub struct TerminalOptions<'a> {
    pub style: Style,
    /// Show every frame instead of the folded stack.
    pub full: bool,
    /// Show groups below this verdict only as a count.
    pub min_verdict: Option<Verdict>,
    /// `--list`: the source lines around the site and the creator, where found.
    pub listings: Option<crate::Listings<'a>>,
}

/// `pprof list` style: the lines around `frame`'s line, the line itself marked with the
/// group's goroutine count.
fn write_listing(out: &mut String, frame: &FrameView, count: u64, options: TerminalOptions<'_>) {
    let Some(listing) = options.listings.and_then(|find| find(frame)) else {
        return;
    };
    let _ = writeln!(
        out,
        "           {}",
        options.style.dim(&listing.path.display().to_string())
    );
    for (k, text) in listing.lines.iter().enumerate() {
        let n = listing.first + k as u32;
        if n == listing.line {
            let line = format!("{count:>8} {n:>6}  {text}");
            let _ = writeln!(out, "  {}", options.style.bold(&line));
        } else {
            let _ = writeln!(out, "  {:>8} {n:>6}  {}", "", options.style.dim(text));
        }
    }
}

fn frame_line(out: &mut String, frame: &FrameView, style: Style) {
    let location = format!("{}:{}", frame.file, frame.line);
    if frame.user {
        let _ = writeln!(out, "      {}  {}", style.bold(&frame.function), location);
    } else {
        let _ = writeln!(
            out,
            "      {}",
            style.dim(&format!("{}  {}", frame.function, location))
        );
    }
}

fn write_group(out: &mut String, index: usize, group: &Group, options: TerminalOptions<'_>) {
    let style = options.style;
    let verdict = group.verdict.name().to_uppercase();
    let mut title = format!(
        "{}  {} ×{}  {}",
        style.dim(&format!("#{index}")),
        style.verdict(group.verdict, &verdict),
        group.count,
        group.category.name()
    );
    if let Some(state) = &group.state {
        if state != group.category.name() {
            let _ = write!(title, " [{state}]");
        }
    }
    if let Some(wait) = wait_text(group) {
        let _ = write!(title, ", blocked {wait}");
    }
    if group.leaked {
        let _ = write!(title, " {}", style.verdict(Verdict::Proven, "(leaked)"));
    }
    if group.locked_to_thread {
        title.push_str(", locked to thread");
    }
    let _ = writeln!(out, "{title}");
    if let Some(site) = &group.site {
        let _ = writeln!(
            out,
            "  site     {}  {}:{}",
            style.bold(&site.function),
            site.file,
            site.line
        );
        write_listing(out, site, group.count, options);
    }
    if let Some(creator) = &group.creator {
        let mut by = format!("{}  {}:{}", creator.function, creator.file, creator.line);
        if !group.creator_ids.is_empty() {
            let ids: Vec<String> = group.creator_ids.iter().map(u64::to_string).collect();
            let _ = write!(by, "  (in goroutine {})", ids.join(", "));
        }
        let _ = writeln!(out, "  created  {by}");
        write_listing(out, creator, group.count, options);
    }
    if !group.goroutine_ids.is_empty() {
        let ids: Vec<String> = group.goroutine_ids.iter().map(u64::to_string).collect();
        let more = if group.count > group.goroutine_ids.len() as u64 {
            ", …"
        } else {
            ""
        };
        let _ = writeln!(out, "  ids      {}{more}", ids.join(", "));
    }
    for labels in &group.labels {
        let _ = writeln!(out, "  labels   {}", labels_text(labels));
    }
    for finding in &group.findings {
        let _ = writeln!(
            out,
            "  lint     {} {} at {}:{}: {}; fix: {}",
            style.bold(&finding.code),
            finding.name,
            finding.file,
            finding.line,
            finding.message,
            finding.fix
        );
    }
    let _ = writeln!(out, "  why      {}", group.reason);
    if group.verdict >= Verdict::Possible {
        let _ = writeln!(out, "  fix      {}", group.hint);
    }
    let _ = writeln!(out, "  stack");
    if options.full {
        for frame in &group.frames {
            frame_line(out, frame, style);
        }
    } else {
        let shown = folded_frames(group);
        for (_, frame) in &shown {
            frame_line(out, frame, style);
        }
        let hidden = group.frames.len() - shown.len();
        if hidden > 0 {
            let _ = writeln!(
                out,
                "      {}",
                style.dim(&format!(
                    "… {} more (--full)",
                    plural(hidden as u64, "frame", "frames")
                ))
            );
        }
    }
    if group.elided {
        let _ = writeln!(out, "      {}", style.dim("… frames elided by the runtime"));
    }
    for (depth, ancestor) in group.ancestors.iter().enumerate() {
        let _ = writeln!(out, "  ancestor {}", depth + 1);
        for frame in ancestor.iter().filter(|f| f.user || options.full) {
            frame_line(out, frame, style);
        }
    }
    out.push('\n');
}

fn write_summary(out: &mut String, analysis: &Analysis, style: Style) {
    let parts: Vec<String> = [
        Verdict::Proven,
        Verdict::Likely,
        Verdict::Possible,
        Verdict::Expected,
    ]
    .iter()
    .map(|&v| {
        let groups: Vec<&Group> = analysis.groups.iter().filter(|g| g.verdict == v).collect();
        let goroutines: u64 = groups.iter().map(|g| g.count).sum();
        style.verdict(
            v,
            &format!("{} {} ({} goroutines)", groups.len(), v.name(), goroutines),
        )
    })
    .collect();
    let _ = writeln!(out, "{}", parts.join(" · "));
}

pub fn analysis_terminal(analysis: &Analysis, options: TerminalOptions<'_>) -> String {
    let style = options.style;
    let mut out = String::new();
    let sources: Vec<String> = analysis
        .sources
        .iter()
        .map(|s| match &s.transport {
            Some(t) => format!("{} ({}, inside {t})", s.name, s.format.describe()),
            None => format!("{} ({})", s.name, s.format.describe()),
        })
        .collect();
    let _ = writeln!(
        out,
        "{} in {} from {}",
        style.bold(&plural(analysis.total, "goroutine", "goroutines")),
        plural(analysis.groups.len() as u64, "group", "groups"),
        sources.join(" + ")
    );
    write_summary(&mut out, analysis, style);
    if !analysis.missing.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "note: the input has no {}; verdicts rest on stacks alone (a debug=2 dump and the goroutineleak profile give more)",
                analysis.missing.join(", ")
            ))
        );
    }
    for source in &analysis.sources {
        if !source.skipped.is_empty() {
            let lines: u64 = source.skipped.iter().map(|(a, b)| b - a + 1).sum();
            let ranges: Vec<String> = source
                .skipped
                .iter()
                .take(6)
                .map(|(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            let more = if source.skipped.len() > 6 {
                ", …"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{}",
                style.dim(&format!(
                    "note: skipped {} of other text in {} (lines {}{more})",
                    plural(lines, "line", "lines"),
                    source.name,
                    ranges.join(", ")
                ))
            );
        }
    }
    for note in &analysis.notes {
        let _ = writeln!(out, "{}", style.dim(&format!("note: {note}")));
    }
    out.push('\n');
    let mut hidden = (0usize, 0u64);
    for (i, group) in analysis.groups.iter().enumerate() {
        if options.min_verdict.is_some_and(|min| group.verdict < min) {
            hidden.0 += 1;
            hidden.1 += group.count;
            continue;
        }
        write_group(&mut out, i + 1, group, options);
    }
    if hidden.0 > 0 {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} ({}) below the shown verdict; --show all lists them",
                plural(hidden.0 as u64, "group", "groups"),
                plural(hidden.1, "goroutine", "goroutines")
            ))
        );
    }
    out
}

pub fn diff_terminal(diff: &Diff, options: TerminalOptions<'_>) -> String {
    let style = options.style;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} → {} goroutines ({:+})",
        diff.base_total, diff.current_total, diff.delta
    );
    for note in &diff.notes {
        let _ = writeln!(out, "{}", style.dim(&format!("note: {note}")));
    }
    out.push('\n');
    for (i, entry) in diff.groups.iter().enumerate() {
        if entry.change == Change::Same && !options.full {
            continue;
        }
        let change = match entry.change {
            Change::New => "new",
            Change::Grew => "grew",
            Change::Same => "same",
            Change::Shrank => "shrank",
            Change::Vanished => "vanished",
        };
        let _ = writeln!(
            out,
            "{}  {:+}  {} → {}  {}  {}",
            style.dim(&format!("#{}", i + 1)),
            entry.delta,
            entry.base_count,
            entry.current_count,
            change,
            style.verdict(
                entry.group.verdict,
                &entry.group.verdict.name().to_uppercase()
            ),
        );
        let group = &entry.group;
        // Laid out like an analysis group's site line, with the category added: a diff row
        // has no title line of its own to carry it.
        if let Some(site) = &group.site {
            let _ = writeln!(
                out,
                "  site     {}  {}:{}  ({})",
                style.bold(&site.function),
                site.file,
                site.line,
                group.category.name()
            );
        }
        if let Some(creator) = &group.creator {
            let _ = writeln!(
                out,
                "  created  {}  {}:{}",
                creator.function, creator.file, creator.line
            );
        }
        let _ = writeln!(out, "  why      {}", group.reason);
        out.push('\n');
    }
    let unchanged = diff
        .groups
        .iter()
        .filter(|g| g.change == Change::Same)
        .count();
    if unchanged > 0 && !options.full {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} unchanged (--full lists them)",
                plural(unchanged as u64, "group", "groups")
            ))
        );
    }
    out
}
