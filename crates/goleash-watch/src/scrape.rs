//! One scrape of one target: fetch its goroutine profile (and the leak profile when asked),
//! parse, judge, and reduce to counts per stack — the unit the history and the trends use.

use std::time::{Duration, Instant};

use goleash_analyze::{analyze, merge_snapshots, Config, FrameView, Group, Verdict};
use goleash_parse::Limits;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::fetch::{self, Fault, FaultKind, Got};
use crate::targets::{stable_hash, Target};

/// How every target is scraped.
#[derive(Clone, Debug)]
pub struct ScrapeOptions {
    /// The whole exchange with one target, all of its requests together.
    pub timeout: Duration,
    /// The most bytes of one response body.
    pub max_bytes: u64,
    /// Take the debug=2 text instead of the protobuf every this many rounds (0: never).
    pub full_every: u64,
    /// Also request /debug/pprof/goroutineleak (each request runs a full GC in the target).
    pub leak_profile: bool,
    pub config: Config,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions {
            timeout: Duration::from_secs(5),
            max_bytes: 64 << 20,
            full_every: 10,
            leak_profile: false,
            config: Config::default(),
        }
    }
}

/// Which dump a scrape read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScrapeFormat {
    /// `goroutine?debug=0`: cheap, no wait times or creators.
    Proto,
    /// `goroutine?debug=2`: wait times and creators.
    Text,
}

impl ScrapeFormat {
    pub fn name(self) -> &'static str {
        match self {
            ScrapeFormat::Proto => "proto",
            ScrapeFormat::Text => "debug2",
        }
    }
}

/// What identifies a group across scrapes and formats, and what is shown about it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct GroupInfo {
    /// Stable hash of the frames (leaf first, runtime frames left out).
    pub hash: u64,
    pub site: Option<Frame>,
    pub category: String,
    /// The wait reason; only debug=2 rounds know it.
    pub state: Option<String>,
    /// The `go` statement; only debug=2 rounds know it.
    pub creator: Option<Frame>,
    pub frames: Vec<Frame>,
}

/// A frame as stored: what [`FrameView`] says, without the view-only flags.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: u32,
}

impl Frame {
    fn of(view: &FrameView) -> Frame {
        Frame {
            function: view.function.clone(),
            file: view.file.clone(),
            line: view.line,
        }
    }

    /// `function (file:line)` with the file shortened to its last two path elements.
    pub fn short(&self) -> String {
        let mut parts = self.file.rsplit('/');
        let file = match (parts.next(), parts.next()) {
            (Some(f), Some(dir)) => format!("{dir}/{f}"),
            (Some(f), None) => f.to_string(),
            _ => String::new(),
        };
        format!("{} ({file}:{})", self.function, self.line)
    }
}

/// The hash that names a group in the history: it depends on the frames only, so a debug=2
/// round and a protobuf round count the same goroutines under the same key.
pub fn frames_hash(frames: &[FrameView]) -> u64 {
    let mut text = String::new();
    for f in frames {
        text.push_str(&f.function);
        text.push('\0');
        text.push_str(&f.file);
        text.push('\0');
        text.push_str(&f.line.to_string());
        text.push('\n');
    }
    stable_hash(text.as_bytes())
}

/// One group's count at one scrape.
#[derive(Clone, Debug)]
pub struct GroupSample {
    pub count: u64,
    /// The analyzer's verdict for these goroutines at this scrape (the surest of the
    /// analyzer groups that share the frames).
    pub verdict: Verdict,
    pub info: GroupInfo,
}

/// A successful scrape.
#[derive(Clone, Debug)]
pub struct Scraped {
    pub total: u64,
    pub groups: Vec<GroupSample>,
    pub format: ScrapeFormat,
    pub bytes: u64,
    /// The leak profile was requested and the process has none (Go before 1.26): do not ask
    /// again.
    pub no_leak_profile: bool,
    /// Time spent parsing and judging, without the network.
    pub analyze_time: Duration,
}

/// Whether target number `index` takes the debug=2 text in `round`: every target in the
/// first round (creators and wait reasons from the start), then each in a different round
/// of every `full_every`, so the heavy text rounds are spread instead of all at once.
pub fn full_round(round: u64, index: usize, full_every: u64) -> bool {
    full_every > 0 && (round == 0 || (round + index as u64).is_multiple_of(full_every))
}

/// Bounds how many debug=2 dumps are parsed at once: the text parser works on blocks of
/// megabytes, and sixteen workers parsing at once would multiply the watcher's peak memory
/// for no gain in throughput on a few cores.
struct Gate {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    limit: usize,
}

static TEXT_PARSES: std::sync::OnceLock<Gate> = std::sync::OnceLock::new();

fn text_gate() -> &'static Gate {
    TEXT_PARSES.get_or_init(|| Gate {
        busy: std::sync::Mutex::new(0),
        freed: std::sync::Condvar::new(),
        limit: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4)),
    })
}

struct Pass(&'static Gate);

impl Gate {
    fn enter(&'static self) -> Pass {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.limit {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        Pass(self)
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// Scrapes one target. `full` takes the debug=2 text instead of the protobuf;
/// `leak_profile` is false once the target is known to lack the goroutineleak profile.
pub fn scrape(
    agent: &ureq::Agent,
    target: &Target,
    full: bool,
    options: &ScrapeOptions,
    leak_profile: bool,
) -> Result<Scraped, Fault> {
    let format = if full {
        ScrapeFormat::Text
    } else {
        ScrapeFormat::Proto
    };
    let started = Instant::now();
    let remaining = || options.timeout.saturating_sub(started.elapsed());
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let mut no_leak_profile = false;
    if leak_profile && options.leak_profile {
        // The leak profile first: its GC marks proven leaks, which the dump then shows.
        let url = target.endpoint("goroutineleak?debug=0");
        match fetch::get(agent, &url, remaining(), options.max_bytes)? {
            Got::Body(body) => bodies.push((url, body)),
            Got::NotFound => no_leak_profile = true,
        }
    }
    let url = target.endpoint(match format {
        ScrapeFormat::Proto => "goroutine?debug=0",
        ScrapeFormat::Text => "goroutine?debug=2",
    });
    match fetch::get(agent, &url, remaining(), options.max_bytes)? {
        Got::Body(body) => bodies.push((url, body)),
        Got::NotFound => {
            return Err(Fault::new(
                FaultKind::Status,
                format!(
                    "{url}: HTTP status 404; is net/http/pprof registered at {}?",
                    target.url
                ),
            ))
        }
    }
    let _pass = (format == ScrapeFormat::Text).then(|| text_gate().enter());
    let analyzing = Instant::now();
    let bytes = bodies.iter().map(|(_, b)| b.len() as u64).sum();
    let mut snapshots = Vec::new();
    for (url, body) in &bodies {
        let snapshot = goleash_parse::parse(
            url,
            body.as_slice(),
            Limits {
                max_bytes: options.max_bytes,
            },
        )
        .map_err(|e| Fault::new(FaultKind::Garbage, format!("not a goroutine profile: {e}")))?;
        snapshots.push(snapshot);
    }
    let snapshot = merge_snapshots(snapshots);
    let analysis = analyze(&snapshot, &options.config);
    let groups = reduce(&analysis.groups);
    Ok(Scraped {
        total: analysis.total,
        groups,
        format,
        bytes,
        no_leak_profile,
        analyze_time: analyzing.elapsed(),
    })
}

/// Folds the analyzer's groups into one per stack: the analyzer splits a stack by wait
/// kind, creator and leak mark, which protobuf rounds cannot see, and the history must count
/// the same goroutines under the same key in every round.
pub fn reduce(groups: &[Group]) -> Vec<GroupSample> {
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    let mut out: Vec<GroupSample> = Vec::new();
    for group in groups {
        let hash = frames_hash(&group.frames);
        match index.get(&hash) {
            Some(&i) => {
                let sample = &mut out[i];
                sample.count += group.count;
                if group.verdict > sample.verdict {
                    sample.verdict = group.verdict;
                }
                if sample.info.creator.is_none() {
                    sample.info.creator = group.creator.as_ref().map(Frame::of);
                }
                if sample.info.state.is_none() {
                    sample.info.state.clone_from(&group.state);
                }
            }
            None => {
                index.insert(hash, out.len());
                out.push(GroupSample {
                    count: group.count,
                    verdict: group.verdict,
                    info: GroupInfo {
                        hash,
                        site: group.site.as_ref().map(Frame::of),
                        category: group.category.name().to_string(),
                        state: group.state.clone(),
                        creator: group.creator.as_ref().map(Frame::of),
                        frames: group.frames.iter().map(Frame::of).collect(),
                    },
                });
            }
        }
    }
    out
}
