//! `goleash history`'s listings of the store, in each of its formats: targets, groups, and the
//! series of one group or total.

use std::fmt::Write as _;

use serde::Serialize;

use crate::clock::rfc3339;
use crate::store::{GroupRow, TargetRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Terminal,
    Json,
    Csv,
}

/// One point of a series: a scrape's count of the group (or the total), or why it failed.
#[derive(Debug, Serialize)]
pub struct SeriesPoint {
    pub ts_ms: i64,
    pub time: String,
    pub epoch: u32,
    pub count: Option<u64>,
    pub error: Option<String>,
}

pub fn targets(rows: &[TargetRow], table: Table) -> String {
    let mut out = String::new();
    match table {
        Table::Json => return crate::history::pretty(&rows),
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
        Table::Json => return crate::history::pretty(&rows),
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
        return crate::history::pretty(&points);
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

/// One row of `history export`'s JSON: a group's count at one scrape.
#[derive(Debug, Serialize)]
pub struct ExportRow<'a> {
    pub ts_ms: i64,
    pub target: &'a str,
    pub group: String,
    pub site: &'a str,
    pub count: u64,
    pub verdict: goleash_analyze::Verdict,
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
