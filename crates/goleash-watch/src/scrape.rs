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
    /// TLS, bearer token and headers for reaching the targets.
    pub access: goleash_source::http::Access,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions {
            timeout: Duration::from_secs(5),
            max_bytes: 64 << 20,
            full_every: 10,
            leak_profile: false,
            config: Config::default(),
            access: goleash_source::http::Access::default(),
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
    pub function: std::sync::Arc<str>,
    pub file: std::sync::Arc<str>,
    pub line: u32,
}

impl From<FrameView> for Frame {
    fn from(view: FrameView) -> Frame {
        Frame {
            function: view.function,
            file: view.file,
            line: view.line,
        }
    }
}

impl Frame {
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
/// round and a protobuf round count the same goroutines under the same key. It is the FNV-1a
/// ([`stable_hash`]) of `function\0file\0line\n` for each frame, fed piece by piece instead
/// of through a joined string (one allocation per group per scrape less); the stored hashes
/// stay what they were.
pub fn frames_hash(frames: &[FrameView]) -> u64 {
    let mut hash = Fnv::new();
    let mut digits = [0u8; 10];
    for f in frames {
        hash.write(f.function.as_bytes());
        hash.write(b"\0");
        hash.write(f.file.as_bytes());
        hash.write(b"\0");
        hash.write(decimal(f.line, &mut digits));
        hash.write(b"\n");
    }
    hash.0
}

/// FNV-1a as [`stable_hash`] computes it, over bytes given in pieces.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(stable_hash(&[]))
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// `n` in decimal, as `to_string` writes it, in `buf`.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
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
    /// What became of the debug=2 text in this round.
    pub text: Text,
    /// Measured on this round's dump (or its lower bound when the dump was cut).
    pub text_bytes_per_goroutine: Option<f64>,
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

/// Go's own cap on a debug=2 dump (`runtime/pprof.writeGoroutineStacks`): a dump that would
/// be larger is cut at exactly this size, silently, in the middle of a goroutine.
pub const GO_TEXT_CAP: u64 = 64 << 20;

/// A debug=2 dump predicted above this share of the cap is not requested.
const TEXT_MARGIN: f64 = 0.8;

/// How long a heavy request (debug=2, goroutineleak) that overran `--timeout` is still
/// awaited in the background: the target keeps producing it whether or not anyone waits,
/// so it gets no new request until it is done. The leak profile of 5·10⁵ goroutines took
/// minutes: at least 10 minutes, a hundred timeouts if longer.
pub fn heavy_limit(timeout: Duration) -> Duration {
    (timeout * 100).max(Duration::from_secs(600))
}

/// What one scrape asks of its target, decided by the scheduler from what it knows.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Also take the debug=2 text (wait times, creators) when it fits under the cap.
    pub full: bool,
    /// Ask for /debug/pprof/goroutineleak first.
    pub leak_profile: bool,
    /// This target's debug=2 bytes per goroutine, measured on an earlier dump (the first
    /// prediction uses the stacks of the protobuf).
    pub text_bytes_per_goroutine: Option<f64>,
}

/// What a scrape did besides its result.
pub struct Run {
    pub result: Result<Scraped, Fault>,
    /// A heavy request overran `--timeout` and the target is still producing it: the
    /// release callback runs when it is done (or given up after [`heavy_limit`]).
    pub still_running: bool,
    /// The goroutineleak request overran `--timeout`.
    pub leak_overrun: bool,
}

/// A successful scrape's debug=2 story: taken, skipped, or fallen back to the protobuf.
#[derive(Clone, Debug, PartialEq)]
pub enum Text {
    /// Not asked for this round.
    NotAsked,
    /// Taken and complete: its counts are the round's.
    Taken,
    /// Not requested: the protobuf's total predicted a dump of this many bytes, over the cap.
    Skipped { predicted: u64, cap: u64 },
    /// Requested, but unusable (cut by Go's 64 MiB cap or by --max-bytes, too slow, …): the
    /// round counts the protobuf taken just before instead, never the partial dump.
    FellBack(String),
}

/// Scrapes one target: the goroutineleak profile when the plan asks for it, the protobuf
/// (cheap, complete at any size), then, in a full round, the debug=2 text unless the protobuf
/// predicts it over Go's 64 MiB cap or `--max-bytes`. A round's counts come from one complete
/// profile: the text when it arrived whole, else the protobuf; never from a cut dump.
/// Heavy requests (goroutineleak, debug=2) that overrun the timeout are awaited in the
/// background and `release` runs when they are done; until then the target must get no new
/// request (see [`Run::still_running`]).
pub fn scrape(
    agent: &ureq::Agent,
    target: &Target,
    plan: &Plan,
    options: &ScrapeOptions,
    release: Release,
) -> Run {
    let mut run = Run {
        result: Err(Fault::new(FaultKind::Down, "not scraped")),
        still_running: false,
        leak_overrun: false,
    };
    let started = Instant::now();
    let remaining = || options.timeout.saturating_sub(started.elapsed());
    let mut leak_body: Option<(String, Vec<u8>)> = None;
    let mut no_leak_profile = false;
    if plan.leak_profile && options.leak_profile {
        // The leak profile first: its GC marks proven leaks, which the dump then shows.
        let url = target.endpoint("goroutineleak?debug=0");
        match heavy_get(agent, &url, remaining(), options, &release) {
            Heavy::Done(Ok(Got::Body(body))) => leak_body = Some((url, body)),
            Heavy::Done(Ok(Got::NotFound)) => no_leak_profile = true,
            Heavy::Done(Err(f)) => {
                run.result = Err(f);
                return run;
            }
            Heavy::Overran(f) => {
                // Still running in the target: no other request now.
                run.result = Err(f);
                run.still_running = true;
                run.leak_overrun = true;
                return run;
            }
        }
    }
    let proto_url = target.endpoint("goroutine?debug=0");
    let proto = match fetch::get(agent, &proto_url, remaining(), options.max_bytes) {
        Ok(Got::Body(body)) => body,
        Ok(Got::NotFound) => {
            run.result = Err(Fault::new(
                FaultKind::Status,
                format!(
                    "{proto_url}: HTTP status 404; is net/http/pprof registered at {}?",
                    target.url
                ),
            ));
            return run;
        }
        Err(f) => {
            run.result = Err(f);
            return run;
        }
    };
    let analyzing = Instant::now();
    let mut analyze_time = Duration::ZERO;
    let leak_snapshot = match &leak_body {
        Some((url, body)) => match parse(url, body, options) {
            Ok(s) => Some(s),
            Err(f) => {
                run.result = Err(f);
                return run;
            }
        },
        None => None,
    };
    let proto_snapshot = match parse(&proto_url, &proto, options) {
        Ok(s) => s,
        Err(f) => {
            run.result = Err(f);
            return run;
        }
    };
    // Judged only when its groups are what the round counts, or when they must predict the
    // size of a first debug=2 dump; its total is the snapshot's.
    let mut proto_analysis = None;
    analyze_time += analyzing.elapsed();
    let total = proto_snapshot.total();
    let mut bytes = proto.len() as u64 + leak_body.as_ref().map_or(0, |(_, b)| b.len() as u64);
    drop(proto);
    let mut text = Text::NotAsked;
    let mut text_bytes_per_goroutine = None;
    let mut chosen: Option<goleash_model::Snapshot> = None;
    if plan.full {
        let cap = options.max_bytes.min(GO_TEXT_CAP);
        let per = plan.text_bytes_per_goroutine.unwrap_or_else(|| {
            let started = Instant::now();
            let judged = analyze(&proto_snapshot, &options.config);
            let per = text_bytes_estimate(&judged.groups, total);
            proto_analysis = Some(judged);
            analyze_time += started.elapsed();
            per
        });
        let predicted = (per * total as f64) as u64;
        if predicted as f64 > cap as f64 * TEXT_MARGIN {
            text = Text::Skipped { predicted, cap };
        } else {
            let url = target.endpoint("goroutine?debug=2");
            let got = match heavy_get(agent, &url, remaining(), options, &release) {
                Heavy::Done(got) => got,
                Heavy::Overran(f) => {
                    // The protobuf answered: this round still counts. The target is busy
                    // with the dump until it is done.
                    run.still_running = true;
                    Err(f)
                }
            };
            text = match got {
                Ok(Got::Body(body)) if body.len() as u64 >= GO_TEXT_CAP => {
                    text_bytes_per_goroutine = Some(body.len() as f64 / total.max(1) as f64);
                    Text::FellBack(format!(
                        "{url}: the dump is cut at Go's 64 MiB cap ({total} goroutines by the protobuf); counting the protobuf"
                    ))
                }
                Ok(Got::Body(body)) => {
                    let started = Instant::now();
                    let parsed = {
                        let _pass = text_gate().enter();
                        parse(&url, &body, options)
                    };
                    analyze_time += started.elapsed();
                    match parsed {
                        Ok(snapshot) => {
                            text_bytes_per_goroutine =
                                Some(body.len() as f64 / total.max(1) as f64);
                            bytes += body.len() as u64;
                            chosen = Some(snapshot);
                            Text::Taken
                        }
                        Err(f) => Text::FellBack(f.message),
                    }
                }
                Ok(Got::NotFound) => Text::FellBack(format!("{url}: HTTP status 404")),
                Err(f) => {
                    if f.kind == FaultKind::TooLarge {
                        // At least this large: remember it, so the next full round is
                        // predicted over the cap instead of fetched and cut again.
                        text_bytes_per_goroutine =
                            Some(options.max_bytes as f64 / total.max(1) as f64 * 1.25);
                    }
                    Text::FellBack(f.message)
                }
            };
        }
    }
    let judging = Instant::now();
    let format = if chosen.is_some() {
        ScrapeFormat::Text
    } else {
        ScrapeFormat::Proto
    };
    let analysis = match (leak_snapshot, chosen) {
        (None, None) => proto_analysis.unwrap_or_else(|| analyze(&proto_snapshot, &options.config)),
        (None, Some(text)) => analyze(&text, &options.config),
        (Some(leak), chosen) => analyze(
            &merge_snapshots(vec![leak, chosen.unwrap_or(proto_snapshot)]),
            &options.config,
        ),
    };
    let total = analysis.total;
    let groups = reduce(analysis.groups);
    analyze_time += judging.elapsed();
    run.result = Ok(Scraped {
        total,
        groups,
        format,
        bytes,
        no_leak_profile,
        analyze_time,
        text,
        text_bytes_per_goroutine,
    });
    run
}

/// Runs when a heavy request that overran the timeout is finally done in the target: with
/// `true` when it was answered, `false` when it was given up after [`heavy_limit`].
pub type Release = std::sync::Arc<dyn Fn(bool) + Send + Sync>;

enum Heavy {
    Done(Result<Got, Fault>),
    /// Not answered within the timeout; still awaited in the background.
    Overran(Fault),
}

/// A GET that the target keeps working on if we stop waiting (debug=2 formats every
/// goroutine's stack; goroutineleak runs a full GC): it runs on a spare thread ([`crate::spare`]), bounded by
/// [`heavy_limit`]; the caller waits `timeout` for it, and when that passes the thread keeps
/// reading the answer to its end, then calls `release`.
fn heavy_get(
    agent: &ureq::Agent,
    url: &str,
    timeout: Duration,
    options: &ScrapeOptions,
    release: &Release,
) -> Heavy {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Got, Fault>>(1);
    let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (owned_agent, owned_url, max_bytes, limit) = (
        agent.clone(),
        url.to_string(),
        options.max_bytes,
        heavy_limit(options.timeout),
    );
    let (still_waited, release) = (
        std::sync::Arc::clone(&waited),
        std::sync::Arc::clone(release),
    );
    let started = crate::spare::run(Box::new(move || {
        let got = fetch::get(&owned_agent, &owned_url, limit, max_bytes);
        let answered = !matches!(&got, Err(f) if f.kind == FaultKind::Timeout);
        let abandoned = !still_waited.load(std::sync::atomic::Ordering::SeqCst);
        if abandoned || tx.send(got).is_err() {
            release(answered);
        }
    }));
    if !started {
        // No thread to spare: fetch in line, bounded by the timeout as any request.
        return Heavy::Done(fetch::get(agent, url, timeout, options.max_bytes));
    }
    match rx.recv_timeout(timeout) {
        Ok(got) => Heavy::Done(got),
        Err(_) => {
            waited.store(false, std::sync::atomic::Ordering::SeqCst);
            // The answer may have come in between: then nothing is running any more.
            if let Ok(got) = rx.try_recv() {
                return Heavy::Done(got);
            }
            Heavy::Overran(Fault::new(
                FaultKind::Timeout,
                format!(
                    "{url}: no complete answer within {timeout:?} (--timeout); the target is still producing it, so it gets no new request until that is done (awaited up to {limit:?})"
                ),
            ))
        }
    }
}

fn parse(
    url: &str,
    body: &[u8],
    options: &ScrapeOptions,
) -> Result<goleash_model::Snapshot, Fault> {
    goleash_parse::parse_bytes(
        url,
        body,
        Limits {
            max_bytes: options.max_bytes,
        },
    )
    .map_err(|e| Fault::new(FaultKind::Garbage, format!("not a goroutine profile: {e}")))
}

/// Bytes per goroutine of a debug=2 dump of these groups, from their stacks: a header line,
/// each frame's function with its arguments and its file line, the `created by` lines. Runtime
/// frames the analyzer hides are not counted, which the margin under the cap absorbs; a later
/// dump of the same target replaces this estimate with the measured figure.
pub fn text_bytes_estimate(groups: &[Group], total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for g in groups {
        let frames: usize = g
            .frames
            .iter()
            .map(|f| f.function.len() + f.file.len() + 28)
            .sum();
        // "goroutine 123456 [chan receive, 12 minutes]:\n", the creator's two lines, blank.
        let per = 40 + frames + 90;
        sum += per as f64 * g.count as f64;
    }
    sum / total as f64
}

/// Folds the analyzer's groups into one per stack: the analyzer splits a stack by wait
/// kind, creator and leak mark, which protobuf rounds cannot see, and the history must count
/// the same goroutines under the same key in every round. Takes the groups by value: their
/// frames move into the samples instead of being copied string by string at every scrape.
pub fn reduce(groups: Vec<Group>) -> Vec<GroupSample> {
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    let mut out: Vec<GroupSample> = Vec::with_capacity(groups.len());
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
                    sample.info.creator = group.creator.map(Frame::from);
                }
                if sample.info.state.is_none() {
                    sample.info.state = group.state;
                }
            }
            None => {
                index.insert(hash, out.len());
                out.push(GroupSample {
                    count: group.count,
                    verdict: group.verdict,
                    info: GroupInfo {
                        hash,
                        site: group.site.map(Frame::from),
                        category: group.category.name().to_string(),
                        state: group.state,
                        creator: group.creator.map(Frame::from),
                        frames: group.frames.into_iter().map(Frame::from).collect(),
                    },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(function: &str, file: &str, line: u32) -> FrameView {
        FrameView {
            function: function.into(),
            file: file.into(),
            line,
            user: true,
        }
    }

    /// The history keys groups by this hash: it must stay the FNV-1a of the joined text it
    /// was defined as, or a watcher would start new series for every stack of an old history.
    #[test]
    fn frames_hash_is_the_hash_of_the_joined_frames() {
        let frames = vec![
            view("main.worker", "/src/app/main.go", 42),
            view("main.main.func1", "/src/app/main.go", 0),
            view(
                "net/http.(*conn).serve",
                "/go/src/net/http/server.go",
                4_294_967_295,
            ),
        ];
        let mut text = String::new();
        for f in &frames {
            text.push_str(&format!("{}\0{}\0{}\n", f.function, f.file, f.line));
        }
        assert_eq!(frames_hash(&frames), stable_hash(text.as_bytes()));
        assert_eq!(frames_hash(&[]), stable_hash(b""));
        assert_ne!(frames_hash(&frames[..1]), frames_hash(&frames[1..2]));
    }
}
