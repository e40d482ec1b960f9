//! `goleash history`'s listings of the store, in each of its formats: targets, groups, and the
//! series of one group or total.

use std::fmt::Write as _;
use std::io::Write;

use goleash_watch::clock::rfc3339;
use goleash_watch::history::{ExportRow, SeriesPoint};
use goleash_watch::report::{GroupReport, WatchReport};
use goleash_watch::scrape::Frame;
use goleash_watch::state::State;
use goleash_watch::store::{GroupRow, TargetRow};

use super::pretty;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Terminal,
    Json,
    Csv,
}

pub fn targets(rows: &[TargetRow], table: Table) -> String {
    let mut out = String::new();
    match table {
        Table::Json => return pretty(&rows),
        Table::Csv => {
            out.push_str("id,url,scrapes,errors,first,last,last_total\n");
            for r in rows {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    r.id,
                    csv_field(&r.url),
                    r.scrapes,
                    r.errors,
                    r.first_ms.map(rfc3339).unwrap_or_default(),
                    r.last_ms.map(rfc3339).unwrap_or_default(),
                    r.last_total.map(|t| t.to_string()).unwrap_or_default()
                );
            }
        }
        Table::Terminal => {
            let _ = writeln!(
                out,
                "{:>3}  {:<44} {:>8} {:>7} {:>10}  {:<24} {:<24}",
                "ID", "TARGET", "SCRAPES", "ERRORS", "GOROUTINES", "FIRST", "LAST"
            );
            for r in rows {
                let _ = writeln!(
                    out,
                    "{:>3}  {:<44} {:>8} {:>7} {:>10}  {:<24} {:<24}",
                    r.id,
                    r.url,
                    r.scrapes,
                    r.errors,
                    r.last_total.map_or("-".into(), |t| t.to_string()),
                    r.first_ms.map_or("-".into(), rfc3339),
                    r.last_ms.map_or("-".into(), rfc3339)
                );
            }
        }
    }
    out
}

pub fn groups(url: &str, rows: &[GroupRow], table: Table) -> String {
    let mut out = String::new();
    match table {
        Table::Json => return pretty(&rows),
        Table::Csv => {
            out.push_str("hash,site,last_count,max_count,samples,max_verdict\n");
            for r in rows {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    r.hash,
                    csv_field(&r.site),
                    r.last_count,
                    r.max_count,
                    r.samples,
                    r.max_verdict.name()
                );
            }
        }
        Table::Terminal => {
            let _ = writeln!(out, "{url}");
            let _ = writeln!(
                out,
                "{:<16}  {:>6} {:>6} {:>7}  {:<8}  SITE",
                "GROUP", "LAST", "MAX", "SAMPLES", "VERDICT"
            );
            for r in rows {
                let _ = writeln!(
                    out,
                    "{:<16}  {:>6} {:>6} {:>7}  {:<8}  {}",
                    r.hash,
                    r.last_count,
                    r.max_count,
                    r.samples,
                    r.max_verdict.name(),
                    r.site
                );
            }
        }
    }
    out
}

/// CSV for people and tools alike (the terminal shows the CSV too: one row per scrape).
pub fn series(points: &[SeriesPoint], table: Table) -> String {
    if table == Table::Json {
        return pretty(&points);
    }
    let mut out = String::from("time,count,error\n");
    for p in points {
        let _ = writeln!(
            out,
            "{},{},{}",
            p.time,
            p.count.map(|c| c.to_string()).unwrap_or_default(),
            csv_field(p.error.as_deref().unwrap_or(""))
        );
    }
    out
}

/// `history export`'s rows as they stream out of the store: a JSON array or CSV, written
/// row by row so an export of months of history never sits in memory.
pub struct ExportWriter<W: Write> {
    out: W,
    json: bool,
    first: bool,
}

impl<W: Write> ExportWriter<W> {
    /// Writes the opening (`[` or the CSV header). JSON for `Table::Json`, CSV otherwise.
    pub fn start(mut out: W, table: Table) -> std::io::Result<ExportWriter<W>> {
        let json = table == Table::Json;
        if json {
            writeln!(out, "[")?;
        } else {
            writeln!(out, "time,ts_ms,target,group,site,count,verdict")?;
        }
        Ok(ExportWriter {
            out,
            json,
            first: true,
        })
    }

    pub fn row(&mut self, row: &ExportRow<'_>) -> std::io::Result<()> {
        if self.json {
            let text = serde_json::to_string(row).map_err(std::io::Error::other)?;
            let sep = if self.first { "  " } else { ",\n  " };
            write!(self.out, "{sep}{text}")?;
        } else {
            writeln!(
                self.out,
                "{},{},{},{},{},{},{}",
                rfc3339(row.ts_ms),
                row.ts_ms,
                csv_field(row.target),
                row.group,
                csv_field(row.site),
                row.count,
                row.verdict.name()
            )?;
        }
        self.first = false;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        if self.json {
            writeln!(self.out, "\n]")?;
        }
        self.out.flush()
    }
}

/// `history trend`: the re-run judged as the watcher would have, in each format.
pub fn trend(report: &WatchReport, state: &State, table: Table) -> String {
    match table {
        Table::Json => pretty(report),
        Table::Terminal => super::live::table(state, false),
        Table::Csv => {
            let mut out =
                String::from("target,group,site,count,slope_per_min,trend,verdict,suspect\n");
            for target in &report.targets {
                for g in &target.groups {
                    let _ = writeln!(out, "{},{}", csv_field(&target.url), trend_row(g));
                }
            }
            out
        }
    }
}

fn trend_row(g: &GroupReport) -> String {
    format!(
        "{},{},{},{},{},{},{}",
        g.hash,
        csv_field(&site_text(g.site.as_ref())),
        g.count,
        g.slope_per_min,
        g.trend.name(),
        g.verdict.name(),
        g.suspect
    )
}

fn site_text(site: Option<&Frame>) -> String {
    match site {
        Some(s) => format!("{} ({}:{})", s.function, s.file, s.line),
        None => "? (?:0)".to_string(),
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
