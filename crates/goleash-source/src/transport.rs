//! Line transports: the wrappers that logs and pastes put around every line of a dump.
//!
//! The first lines of the input decide which wrappers are there, layer by layer (a CRI line
//! may carry a kubectl timestamp, a compose line ANSI colour); the rest of the input is then
//! unwrapped line by line as it streams. Per-line prefixes change every line (timestamps), so
//! the matchers recognise the prefix's shape, never a fixed string. A line a layer does not
//! recognise passes through that layer as it is: a log may mix wrapped and bare lines.
//!
//! An input with no transport is handed on untouched (same bytes, same reader), and binary
//! input (a protobuf profile) is never split into lines.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use crate::decode::hand_out;

/// How much of the input is looked at to decide the transports.
const SAMPLE_BYTES: usize = 64 << 10;
/// At most this many lines of it: enough to see past a log's opening chatter.
const SAMPLE_LINES: usize = 400;

/// One wrapper around lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// ANSI escape sequences (colour, cursor), wherever they are in the line.
    Ansi,
    /// Kubelet's CRI log files: `<RFC3339Nano> <stdout|stderr> <P|F> <message>`; `P` parts
    /// are joined until the `F` part.
    Cri,
    /// Docker's json-file driver: `{"log":"…\n","stream":"stderr","time":"…"}`; a `log`
    /// without a final newline is a part of a longer line.
    DockerJson,
    /// `go test -json` (test2json) events; the `Output` of `output` events, by package.
    GoTestJson,
    /// `kubectl logs --prefix`: `[pod/<name>/<container>] `, one dump per container.
    KubectlPrefix,
    /// `docker compose logs` / `up`: `<service>  | `, one dump per service.
    Compose,
    /// journalctl's short and short-iso formats and syslog files (RFC 3164, with or without
    /// `<PRI>`): `Dec 04 13:00:00 host prog[123]: `, one dump per process.
    Syslog,
    /// rsyslog's `#011` octal escapes of control characters (a tab is `#011`).
    SyslogEscapes,
    /// An RFC 3339 timestamp and a space: `kubectl logs --timestamps`, GitHub Actions.
    Timestamp { ci: bool },
    /// Markdown quoting, `> ` (nested quotes too).
    Quote,
    /// Markdown code fences (```` ``` ````, `~~~`) around a paste.
    Fence,
    /// The same number of spaces before every line (an indented paste, a code block).
    Indent(usize),
    /// Leading tabs of frame lines turned into spaces by an editor or a chat client.
    TabDamage,
    /// Spaces and tabs at the ends of lines.
    Trailing,
    /// Lines before a debug=1 profile's header (a shell prompt, a note).
    Preamble,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Ansi => "ANSI escapes",
            Layer::Cri => "CRI log",
            Layer::DockerJson => "Docker json-file",
            Layer::GoTestJson => "go test -json",
            Layer::KubectlPrefix => "kubectl --prefix",
            Layer::Compose => "compose",
            Layer::Syslog => "journald/syslog",
            Layer::SyslogEscapes => "syslog #011 escapes",
            Layer::Timestamp { ci: false } => "kubectl --timestamps",
            Layer::Timestamp { ci: true } => "CI timestamps",
            Layer::Quote => "Markdown quote",
            Layer::Fence => "Markdown fence",
            Layer::Indent(_) => "indentation",
            Layer::TabDamage => "tabs turned to spaces",
            Layer::Trailing => "trailing blanks",
            Layer::Preamble => "text before the profile",
        }
    }

    /// Layers that tell sources apart: their lines are grouped by the key.
    fn keyed(self) -> bool {
        matches!(
            self,
            Layer::KubectlPrefix | Layer::Compose | Layer::Syslog | Layer::GoTestJson
        )
    }
}

/// What one layer made of one line.
enum Step {
    /// The line's content without this wrapper (and the source it names, for keyed layers).
    Line(Vec<u8>, Option<String>),
    /// A part of a longer line, kept until its end arrives.
    Partial,
    /// Not part of the text (a fence, a test2json `run` event).
    Drop,
}

/// Runs lines through the layers, keeping each layer's partial lines.
pub struct Pipeline {
    layers: Vec<Layer>,
    /// Partial lines by layer and key.
    partial: HashMap<(usize, Option<String>), Vec<u8>>,
    /// The source of the last keyed line: bare lines in between belong to it.
    key: Option<String>,
    seen_header: bool,
}

impl Pipeline {
    pub fn new(layers: Vec<Layer>) -> Self {
        Pipeline {
            layers,
            partial: HashMap::new(),
            key: None,
            seen_header: false,
        }
    }

    /// Unwraps one line (without its newline) and hands each finished line to `emit`.
    pub fn push(&mut self, line: &[u8], emit: &mut dyn FnMut(Option<&str>, &[u8])) {
        self.run(0, line.to_vec(), emit);
    }

    /// Hands on partial lines still waiting at the end of input.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Option<&str>, &[u8])) {
        let mut waiting: Vec<_> = self.partial.drain().collect();
        waiting.sort_by(|a, b| a.0.cmp(&b.0));
        for ((layer, key), text) in waiting {
            if key.is_some() {
                self.key = key;
            }
            self.run(layer + 1, text, emit);
        }
    }

    fn run(&mut self, from: usize, mut line: Vec<u8>, emit: &mut dyn FnMut(Option<&str>, &[u8])) {
        for index in from..self.layers.len() {
            match self.step(index, line) {
                Step::Line(next, key) => {
                    if key.is_some() {
                        self.key = key;
                    }
                    line = next;
                }
                Step::Partial | Step::Drop => return,
            }
        }
        emit(self.key.as_deref(), &line);
    }

    fn step(&mut self, index: usize, line: Vec<u8>) -> Step {
        let layer = self.layers[index];
        match layer {
            Layer::Ansi => Step::Line(strip_ansi(&line), None),
            Layer::Cri => match cri(&line) {
                Some((true, message)) => self.part(index, None, message, false),
                Some((false, message)) => self.part(index, None, message, true),
                None => Step::Line(line, None),
            },
            Layer::DockerJson => match docker_json(&line) {
                Some(mut log) => {
                    let whole = log.ends_with('\n');
                    if whole {
                        log.pop();
                        if log.ends_with('\r') {
                            log.pop();
                        }
                    }
                    self.part(index, None, log.as_bytes(), whole)
                }
                None => Step::Line(line, None),
            },
            Layer::GoTestJson => match go_test_json(&line) {
                Some(TestEvent::Output(package, mut text)) => {
                    let whole = text.ends_with('\n');
                    if whole {
                        text.pop();
                    }
                    self.part(index, package, text.as_bytes(), whole)
                }
                Some(TestEvent::Other) => Step::Drop,
                None => Step::Line(line, None),
            },
            Layer::KubectlPrefix => match kubectl_prefix(&line) {
                Some((key, rest)) => Step::Line(rest.to_vec(), Some(key)),
                None => Step::Line(line, None),
            },
            Layer::Compose => match compose(&line) {
                Some((key, rest)) => Step::Line(rest.to_vec(), Some(key)),
                None => Step::Line(line, None),
            },
            Layer::Syslog => match syslog(&line) {
                Some((key, rest)) => Step::Line(rest.to_vec(), Some(key)),
                None => Step::Line(line, None),
            },
            Layer::SyslogEscapes => Step::Line(unescape_syslog(&line), None),
            Layer::Timestamp { .. } => match timestamp(&line) {
                Some((_, rest)) => Step::Line(rest.to_vec(), None),
                None => Step::Line(line, None),
            },
            Layer::Quote => Step::Line(unquote(&line).to_vec(), None),
            Layer::Fence => {
                if is_fence(&line) {
                    Step::Drop
                } else {
                    Step::Line(line, None)
                }
            }
            Layer::Indent(n) => {
                let spaces = line.iter().take(n).take_while(|&&b| b == b' ').count();
                Step::Line(line[spaces..].to_vec(), None)
            }
            Layer::TabDamage => Step::Line(retab(line), None),
            Layer::Trailing => {
                let end = line
                    .iter()
                    .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
                    .map_or(0, |i| i + 1);
                let mut line = line;
                line.truncate(end);
                Step::Line(line, None)
            }
            Layer::Preamble => {
                if !self.seen_header && is_legacy_header(&line) {
                    self.seen_header = true;
                }
                if self.seen_header {
                    Step::Line(line, None)
                } else {
                    Step::Drop
                }
            }
        }
    }

    /// Adds a part of a line; with the last part, the whole line goes on.
    fn part(&mut self, index: usize, key: Option<String>, text: &[u8], last: bool) -> Step {
        let slot = (index, key.clone());
        if !last {
            self.partial
                .entry(slot)
                .or_default()
                .extend_from_slice(text);
            return Step::Partial;
        }
        match self.partial.remove(&slot) {
            Some(mut joined) => {
                joined.extend_from_slice(text);
                Step::Line(joined, key)
            }
            None => Step::Line(text.to_vec(), key),
        }
    }
}

/// Decides the layers from the first lines of the input (without their newlines).
pub fn detect(sample: &[&[u8]]) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut lines: Vec<Vec<u8>> = sample.iter().map(|l| l.to_vec()).collect();
    // Log wrappers first, outermost first; each found layer is undone on the sample before
    // looking for the next one inside it.
    for _ in 0..8 {
        let Some(layer) = detect_wrapper(&lines, &layers) else {
            break;
        };
        layers.push(layer);
        lines = unwrap_sample(sample, &layers);
    }
    // Then the damage a paste does to the dump itself.
    let nonblank = || lines.iter().filter(|l| !is_blank(l));
    if nonblank().any(|l| is_fence(l)) {
        layers.push(Layer::Fence);
        lines = unwrap_sample(sample, &layers);
    }
    let indent = lines
        .iter()
        .filter(|l| !is_blank(l))
        .map(|l| l.iter().take_while(|&&b| b == b' ').count())
        .min()
        .unwrap_or(0);
    if indent > 0 {
        layers.push(Layer::Indent(indent));
        lines = unwrap_sample(sample, &layers);
    }
    if lines.iter().any(|l| is_damaged_frame(l)) {
        layers.push(Layer::TabDamage);
    }
    if lines
        .iter()
        .any(|l| !is_blank(l) && matches!(l.last(), Some(b' ' | b'\t')))
    {
        layers.push(Layer::Trailing);
    }
    let first = lines.iter().find(|l| !is_blank(l));
    if first.is_some_and(|l| !is_legacy_header(l.trim_ascii()))
        && lines.iter().any(|l| is_legacy_header(l.trim_ascii()))
    {
        layers.push(Layer::Preamble);
    }
    layers
}

fn unwrap_sample(sample: &[&[u8]], layers: &[Layer]) -> Vec<Vec<u8>> {
    let mut pipeline = Pipeline::new(layers.to_vec());
    let mut out = Vec::new();
    for line in sample {
        pipeline.push(line, &mut |_, l| out.push(l.to_vec()));
    }
    // Partial lines left at the sample's end are not part of the sample's evidence.
    out
}

fn detect_wrapper(lines: &[Vec<u8>], found: &[Layer]) -> Option<Layer> {
    let nonblank: Vec<&[u8]> = lines
        .iter()
        .map(Vec::as_slice)
        .filter(|l| !is_blank(l))
        .collect();
    if nonblank.is_empty() {
        return None;
    }
    let most = |matcher: &dyn Fn(&[u8]) -> bool| {
        let hits = nonblank.iter().filter(|l| matcher(l)).count();
        // Most lines, not all: a log may hold lines a wrapper did not write (a rotated file's
        // torn first line, kubectl's own warnings).
        hits * 2 > nonblank.len()
    };
    let not_yet = |layer: Layer| !found.contains(&layer);
    if not_yet(Layer::Ansi) && nonblank.iter().any(|l| has_escape(l)) {
        return Some(Layer::Ansi);
    }
    if not_yet(Layer::Cri) && most(&|l| cri(l).is_some()) {
        return Some(Layer::Cri);
    }
    if not_yet(Layer::DockerJson) && most(&|l| docker_json(l).is_some()) {
        return Some(Layer::DockerJson);
    }
    if not_yet(Layer::GoTestJson) && most(&|l| go_test_json(l).is_some()) {
        return Some(Layer::GoTestJson);
    }
    if not_yet(Layer::KubectlPrefix) && most(&|l| kubectl_prefix(l).is_some()) {
        return Some(Layer::KubectlPrefix);
    }
    if not_yet(Layer::Compose) && most(&|l| compose(l).is_some()) {
        return Some(Layer::Compose);
    }
    if not_yet(Layer::Syslog) && most(&|l| syslog(l).is_some()) {
        return Some(Layer::Syslog);
    }
    if not_yet(Layer::SyslogEscapes)
        && found.contains(&Layer::Syslog)
        && nonblank.iter().any(|l| has_syslog_escape(l))
    {
        return Some(Layer::SyslogEscapes);
    }
    let stamped = |l: &[u8]| timestamp(l).is_some();
    if !found.iter().any(|l| matches!(l, Layer::Timestamp { .. })) && most(&stamped) {
        // GitHub Actions writes seven fractional digits; kubectl's RFC3339Nano trims zeros.
        let ci = nonblank
            .iter()
            .filter_map(|l| timestamp(l).map(|(fraction, _)| fraction))
            .all(|digits| digits == 7);
        return Some(Layer::Timestamp { ci });
    }
    if not_yet(Layer::Quote) && most(&|l| l.first() == Some(&b'>')) {
        return Some(Layer::Quote);
    }
    None
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn has_escape(line: &[u8]) -> bool {
    line.contains(&0x1b)
}

/// Removes CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC \`) and two-byte escapes.
fn strip_ansi(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != 0x1b {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(b'[') => {
                i += 2;
                while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                    i += 1;
                }
                i += 1;
            }
            Some(b']') => {
                i += 2;
                while i < line.len() {
                    if line[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if line[i] == 0x1b && line.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    out
}

/// `2026-12-04T13:00:00.123456789Z ` or with an offset: the number of fractional digits and
/// the rest of the line.
fn timestamp(line: &[u8]) -> Option<(usize, &[u8])> {
    let space = line.iter().position(|&b| b == b' ')?;
    let token = &line[..space];
    let digits = |r: std::ops::Range<usize>| {
        token
            .get(r)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let shaped = token.len() >= 20
        && digits(0..4)
        && token[4] == b'-'
        && digits(5..7)
        && token[7] == b'-'
        && digits(8..10)
        && (token[10] == b'T' || token[10] == b't')
        && digits(11..13)
        && token[13] == b':'
        && digits(14..16)
        && token[16] == b':'
        && digits(17..19);
    if !shaped {
        return None;
    }
    let fraction = if token[19] == b'.' {
        token[20..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    } else {
        0
    };
    let zone = &token[19 + usize::from(fraction > 0) + fraction..];
    let zoned = zone == b"Z"
        || zone == b"z"
        || (zone.len() >= 5
            && (zone[0] == b'+' || zone[0] == b'-')
            && zone[1..].iter().all(|b| b.is_ascii_digit() || *b == b':'));
    zoned.then(|| (fraction, &line[space + 1..]))
}

/// A CRI log line: whether it is a partial (`P`) part, and its message.
fn cri(line: &[u8]) -> Option<(bool, &[u8])> {
    let (_, rest) = timestamp(line)?;
    let rest = rest
        .strip_prefix(b"stdout ")
        .or_else(|| rest.strip_prefix(b"stderr "))?;
    let partial = match rest.first()? {
        b'P' => true,
        b'F' => false,
        _ => return None,
    };
    match rest.get(1) {
        None => Some((partial, &[])),
        Some(b' ') => Some((partial, &rest[2..])),
        Some(_) => None,
    }
}

#[derive(serde::Deserialize)]
struct DockerLine {
    log: String,
}

fn docker_json(line: &[u8]) -> Option<String> {
    if !line.starts_with(b"{\"log\":") {
        return None;
    }
    serde_json::from_slice::<DockerLine>(line.trim_ascii_end())
        .ok()
        .map(|l| l.log)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TestJsonLine {
    action: String,
    package: Option<String>,
    output: Option<String>,
}

enum TestEvent {
    Output(Option<String>, String),
    Other,
}

fn go_test_json(line: &[u8]) -> Option<TestEvent> {
    if !line.starts_with(b"{\"Time\":") && !line.starts_with(b"{\"Action\":") {
        return None;
    }
    let event: TestJsonLine = serde_json::from_slice(line.trim_ascii_end()).ok()?;
    Some(match (event.action.as_str(), event.output) {
        ("output", Some(text)) => TestEvent::Output(event.package, text),
        _ => TestEvent::Other,
    })
}

/// `[pod/api-7d9c/app] rest`: the bracketed name and the rest.
fn kubectl_prefix(line: &[u8]) -> Option<(String, &[u8])> {
    let inner = line.strip_prefix(b"[")?;
    let end = inner.iter().position(|&b| b == b']')?;
    let name = &inner[..end];
    let rest = inner[end + 1..].strip_prefix(b" ")?;
    let shaped =
        name.contains(&b'/') && !name.is_empty() && name.iter().all(|b| b.is_ascii_graphic());
    shaped.then(|| (String::from_utf8_lossy(name).into_owned(), rest))
}

/// `api-1  | rest` (compose pads names to one width; `|` alone ends an empty line).
fn compose(line: &[u8]) -> Option<(String, &[u8])> {
    let name_end = line
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))?;
    if name_end == 0 || line[name_end] != b' ' {
        return None;
    }
    let after = &line[name_end..];
    let spaces = after.iter().take_while(|&&b| b == b' ').count();
    let rest = after[spaces..].strip_prefix(b"|")?;
    let rest = match rest.first() {
        None => rest,
        Some(b' ') => &rest[1..],
        Some(_) => return None,
    };
    Some((
        String::from_utf8_lossy(&line[..name_end]).into_owned(),
        rest,
    ))
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `[<PRI>]Dec  4 13:00:00 host prog[123]: rest` or with an ISO timestamp: the program (with
/// its pid) and the rest.
fn syslog(line: &[u8]) -> Option<(String, &[u8])> {
    let mut rest = line;
    if let Some(after) = rest.strip_prefix(b"<") {
        let end = after.iter().position(|&b| b == b'>')?;
        if end == 0 || end > 3 || !after[..end].iter().all(u8::is_ascii_digit) {
            return None;
        }
        rest = &after[end + 1..];
    }
    rest = if rest.len() >= 16 && MONTHS.contains(&&rest[..3]) && rest[3] == b' ' {
        // `Dec 04 13:00:00 ` or `Dec  4 13:00:00 `.
        let clock = &rest[7..15];
        let day_ok = (rest[4] == b' ' || rest[4].is_ascii_digit()) && rest[5].is_ascii_digit();
        let clock_ok = clock[2] == b':'
            && clock[5] == b':'
            && clock
                .iter()
                .enumerate()
                .all(|(i, b)| i == 2 || i == 5 || b.is_ascii_digit());
        // journalctl -o short-precise adds microseconds: `13:00:00.123456`.
        let fraction = match rest[15] {
            b'.' => 1 + rest[16..].iter().take_while(|b| b.is_ascii_digit()).count(),
            _ => 0,
        };
        if !(day_ok && rest[6] == b' ' && clock_ok && rest.get(15 + fraction) == Some(&b' ')) {
            return None;
        }
        &rest[16 + fraction..]
    } else {
        // short-iso and rsyslog's RFC 3339 files: `2026-12-04T13:00:00+0000 `.
        let (_, after) = timestamp(rest)?;
        after
    };
    let host_end = rest.iter().position(|&b| b == b' ')?;
    if host_end == 0 || !rest[..host_end].iter().all(u8::is_ascii_graphic) {
        return None;
    }
    let rest = &rest[host_end + 1..];
    let ident_end = rest.iter().position(|&b| b == b':')?;
    let ident = &rest[..ident_end];
    let shaped = !ident.is_empty()
        && ident.iter().all(|&b| b.is_ascii_graphic())
        && match ident.iter().position(|&b| b == b'[') {
            Some(open) => {
                open > 0
                    && ident.ends_with(b"]")
                    && ident[open + 1..ident.len() - 1]
                        .iter()
                        .all(u8::is_ascii_digit)
            }
            None => !ident.contains(&b']'),
        };
    if !shaped {
        return None;
    }
    let message = &rest[ident_end + 1..];
    let message = message.strip_prefix(b" ").unwrap_or(message);
    Some((String::from_utf8_lossy(ident).into_owned(), message))
}

fn has_syslog_escape(line: &[u8]) -> bool {
    line.windows(4).any(|w| octal_escape(w).is_some())
}

/// `#011` and the like: rsyslog writes a control character as `#` and three octal digits.
fn octal_escape(w: &[u8]) -> Option<u8> {
    if w.len() < 4 || w[0] != b'#' || !w[1..4].iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let value = (w[1] - b'0') as u32 * 64 + (w[2] - b'0') as u32 * 8 + (w[3] - b'0') as u32;
    (value < 0x20 || value == 0x7f).then_some(value as u8)
}

fn unescape_syslog(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if let Some(byte) = octal_escape(&line[i..line.len().min(i + 4)]) {
            out.push(byte);
            i += 4;
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

/// A Markdown quote's content: every `>` and the space after it.
fn unquote(line: &[u8]) -> &[u8] {
    let mut rest = line;
    while let Some(after) = rest.strip_prefix(b">") {
        rest = after.strip_prefix(b" ").unwrap_or(after);
    }
    rest
}

fn is_fence(line: &[u8]) -> bool {
    let trimmed = line.trim_ascii_start();
    trimmed.starts_with(b"```") || trimmed.starts_with(b"~~~")
}

fn is_legacy_header(line: &[u8]) -> bool {
    line.starts_with(b"goroutine profile: total ")
        || line.starts_with(b"goroutineleak profile: total ")
}

/// A frame's location line whose leading tab became spaces: `    main.go:12 +0x1d`; or a
/// debug=1 frame `#  0x4711ab  main.f+0x1d  main.go:12`.
fn is_damaged_frame(line: &[u8]) -> bool {
    if line.first() == Some(&b' ') {
        return is_location(line.trim_ascii());
    }
    if let Some(rest) = line.strip_prefix(b"# ") {
        return rest.trim_ascii_start().starts_with(b"0x");
    }
    false
}

/// `path/file.go:12` optionally followed by ` +0x1d`.
fn is_location(text: &[u8]) -> bool {
    let path = match text.windows(4).rposition(|w| w == b" +0x") {
        Some(at) => &text[..at],
        None => text,
    };
    let Some(colon) = path.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let line_digits = &path[colon + 1..];
    !line_digits.is_empty()
        && line_digits.iter().all(u8::is_ascii_digit)
        && path[..colon].contains(&b'.')
        && !path[..colon].contains(&b'(')
}

fn retab(line: Vec<u8>) -> Vec<u8> {
    if line.first() == Some(&b' ') && is_location(line.trim_ascii()) {
        let mut out = Vec::with_capacity(line.len());
        out.push(b'\t');
        out.extend_from_slice(line.trim_ascii());
        return out;
    }
    if let Some(rest) = line.strip_prefix(b"# ") {
        // `#\t0xPC\tfunction+0xOFF\tfile:line`: three fields after `#`; the file may hold
        // spaces, so only the first two gaps are taken as separators.
        let rest = rest.trim_ascii();
        if rest.starts_with(b"0x") {
            let mut fields = rest.splitn(2, |b| b.is_ascii_whitespace());
            let pc = fields.next().unwrap_or_default();
            let rest = fields.next().unwrap_or_default().trim_ascii_start();
            let mut fields = rest.splitn(2, |b| b.is_ascii_whitespace());
            let function = fields.next().unwrap_or_default();
            let location = fields.next().unwrap_or_default().trim_ascii_start();
            let mut out = b"#\t".to_vec();
            out.extend_from_slice(pc);
            out.push(b'\t');
            out.extend_from_slice(function);
            out.push(b'\t');
            out.extend_from_slice(location);
            return out;
        }
    }
    line
}

/// The input after its transports are undone: one stream, or one per source for keyed
/// transports that held several.
pub enum Unwrapped<'a> {
    Plain(Box<dyn Read + Send + 'a>),
    Lines(Vec<Layer>, Box<dyn Read + Send + 'a>),
    Sources(Vec<Layer>, Vec<(String, Vec<u8>)>),
}

/// Looks at the start of `reader` and undoes the line transports found there. Sources of a
/// keyed transport are held in memory until the end, at most `max_bytes` of them in all.
pub fn unwrap<'a>(
    name: &str,
    reader: impl Read + Send + 'a,
    max_bytes: u64,
) -> io::Result<Unwrapped<'a>> {
    let (head, reader) = crate::decode::peek(reader, SAMPLE_BYTES)?;
    if looks_binary(&head) {
        return Ok(Unwrapped::Plain(Box::new(reader)));
    }
    let complete = head.len() < SAMPLE_BYTES;
    let mut sample: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    if !complete || sample.last().is_some_and(|l| l.is_empty()) {
        // A torn last line (or the empty piece after the final newline) is no evidence.
        sample.pop();
    }
    sample.truncate(SAMPLE_LINES);
    let layers = detect(&sample);
    if layers.is_empty() {
        return Ok(Unwrapped::Plain(Box::new(reader)));
    }
    let lines = LineReader {
        name: name.to_string(),
        inner: BufReader::with_capacity(1 << 16, reader),
        pipeline: Pipeline::new(layers.clone()),
        line: Vec::new(),
        out: Vec::new(),
        at: 0,
        done: false,
    };
    if !layers.iter().any(|l| l.keyed()) {
        return Ok(Unwrapped::Lines(layers, Box::new(lines)));
    }
    Ok(Unwrapped::Sources(layers, split_sources(lines, max_bytes)?))
}

/// Binary input (a protobuf profile) is never split into lines.
fn looks_binary(head: &[u8]) -> bool {
    head.contains(&0)
        || ((head.first() == Some(&0x0a) || head.first() == Some(&0x5a))
            && head.get(2) == Some(&0x08))
}

/// Reads every line, grouped by the source its keyed layer names, in order of first
/// appearance. Lines before the first keyed line belong to the first source.
fn split_sources(
    mut lines: LineReader<impl BufRead>,
    max_bytes: u64,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut order: Vec<(String, Vec<u8>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut before: Vec<u8> = Vec::new();
    let mut line = Vec::new();
    let mut failure = None;
    // Read by the loop between calls of `add`, which counts into it.
    let held = std::cell::Cell::new(0u64);
    let mut add = |key: Option<&str>, text: &[u8]| {
        held.set(held.get() + text.len() as u64 + 1);
        let Some(key) = key else {
            before.extend_from_slice(text);
            before.push(b'\n');
            return;
        };
        let slot = *index.entry(key.to_string()).or_insert_with(|| {
            order.push((key.to_string(), std::mem::take(&mut before)));
            order.len() - 1
        });
        order[slot].1.extend_from_slice(text);
        order[slot].1.push(b'\n');
    };
    loop {
        line.clear();
        match lines.inner.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        lines.pipeline.push(text, &mut add);
        if held.get() > max_bytes {
            failure = Some(io::Error::other(format!(
                "the sources in this log hold more than {max_bytes} bytes (--max-bytes)"
            )));
            break;
        }
    }
    lines.pipeline.finish(&mut add);
    if let Some(e) = failure {
        return Err(io::Error::new(e.kind(), format!("{}: {e}", lines.name)));
    }
    if order.is_empty() {
        order.push((String::new(), before));
    }
    // A source that printed no goroutine header holds no dump (a database beside the
    // service): it is left out unless no source has one.
    if order.len() > 1 {
        let with_dump: Vec<_> = order
            .iter()
            .filter(|(_, text)| text.windows(10).any(|w| w == b"goroutine "))
            .cloned()
            .collect();
        if !with_dump.is_empty() {
            return Ok(with_dump);
        }
    }
    Ok(order)
}

struct LineReader<R> {
    name: String,
    inner: R,
    pipeline: Pipeline,
    line: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: BufRead> Read for LineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            // Unwrap a batch of lines per refill, so that small reads stay cheap.
            while self.out.len() < 1 << 16 {
                let out = &mut self.out;
                let mut emit = |_: Option<&str>, text: &[u8]| {
                    out.extend_from_slice(text);
                    out.push(b'\n');
                };
                self.line.clear();
                let got = self
                    .inner
                    .read_until(b'\n', &mut self.line)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.name)))?;
                if got == 0 {
                    self.pipeline.finish(&mut emit);
                    self.done = true;
                    break;
                }
                let text = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
                self.pipeline.push(text, &mut emit);
            }
        }
        Ok(hand_out(&self.out, &mut self.at, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(path: &str) -> Vec<u8> {
        let path = format!("{}/../../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read_all(mut reader: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    }

    fn layers_of(unwrapped: &Unwrapped<'_>) -> Vec<Layer> {
        match unwrapped {
            Unwrapped::Plain(_) => Vec::new(),
            Unwrapped::Lines(layers, _) | Unwrapped::Sources(layers, _) => layers.clone(),
        }
    }

    /// The one stream an input unwraps to.
    fn unwrap_one(bytes: &[u8]) -> (Vec<Layer>, Vec<u8>) {
        let unwrapped = unwrap("test", bytes, u64::MAX).unwrap();
        let layers = layers_of(&unwrapped);
        let text = match unwrapped {
            Unwrapped::Plain(r) | Unwrapped::Lines(_, r) => read_all(r),
            Unwrapped::Sources(_, mut sources) => {
                assert_eq!(sources.len(), 1);
                sources.pop().unwrap().1
            }
        };
        (layers, text)
    }

    #[test]
    fn plain_dumps_and_profiles_pass_byte_identical() {
        for path in [
            "dumps/forgotten_sender/goroutine.debug2.txt",
            "dumps/forgotten_sender/goroutine.debug1.txt",
            "dumps/formats/embedded_log.txt",
            "dumps/formats/sigquit_crash.txt",
            "dumps/formats/test_timeout.txt",
            "dumps/formats/labels.txt",
        ] {
            let bytes = testdata(path);
            let (layers, text) = unwrap_one(&bytes);
            assert_eq!(layers, [], "{path}");
            assert!(text == bytes, "{path} changed");
        }
        // A decompressed protobuf profile is binary: never split into lines.
        let gz = testdata("dumps/forgotten_sender/goroutine.pb.gz");
        let proto = read_all(flate2::read::MultiGzDecoder::new(&gz[..]));
        assert!(matches!(
            unwrap("p", &proto[..], u64::MAX).unwrap(),
            Unwrapped::Plain(_)
        ));
    }

    #[test]
    fn each_wrapped_capture_unwraps_to_the_capture() {
        let debug2 = testdata("dumps/forgotten_sender/goroutine.debug2.txt");
        let debug1 = testdata("dumps/forgotten_sender/goroutine.debug1.txt");
        for (file, want, layers) in [
            ("debug2.cri.log", &debug2, vec![Layer::Cri]),
            ("debug2.docker.json.log", &debug2, vec![Layer::DockerJson]),
            (
                "debug2.kubectl-timestamps.log",
                &debug2,
                vec![Layer::Timestamp { ci: false }],
            ),
            ("debug2.journald.log", &debug2, vec![Layer::Syslog]),
            (
                "debug2.syslog.log",
                &debug2,
                vec![Layer::Syslog, Layer::SyslogEscapes],
            ),
            ("debug2.ansi.txt", &debug2, vec![Layer::Ansi]),
            ("debug2.tabs-expanded.txt", &debug2, vec![Layer::TabDamage]),
            (
                "debug2.indented.md",
                &debug2,
                vec![Layer::Indent(4), Layer::TabDamage, Layer::Trailing],
            ),
            (
                "debug1.tabs-expanded.txt",
                &debug1,
                vec![Layer::TabDamage, Layer::Trailing],
            ),
        ] {
            let (got_layers, text) = unwrap_one(&testdata(&format!("transports/{file}")));
            assert_eq!(got_layers, layers, "{file}");
            // debug=1 aligns its columns with runs of tabs; one tab restored is what the
            // profile's reader needs.
            let collapse = |text: &[u8]| {
                let mut out = text.to_vec();
                out.dedup_by(|a, b| *a == b'\t' && *b == b'\t');
                out
            };
            assert!(
                collapse(&text) == collapse(want),
                "{file}: unwrapped text differs from the capture"
            );
        }
    }

    #[test]
    fn github_actions_log_keeps_its_markers_as_text() {
        let (layers, text) = unwrap_one(&testdata("transports/debug2.github-actions.log"));
        assert_eq!(layers, [Layer::Timestamp { ci: true }]);
        let debug2 = testdata("dumps/forgotten_sender/goroutine.debug2.txt");
        assert!(text.starts_with(b"##[group]Run go run ./cmd/api\n##[endgroup]\n"));
        assert!(text.ends_with(&debug2));
    }

    #[test]
    fn go_test_json_gives_the_output_of_the_run() {
        let (layers, text) = unwrap_one(&testdata("transports/go-test.json"));
        assert_eq!(layers, [Layer::GoTestJson]);
        assert!(text == testdata("transports/go-test.plain.txt"));
    }

    #[test]
    fn keyed_logs_split_by_source_in_order_of_appearance() {
        let debug2 = testdata("dumps/forgotten_sender/goroutine.debug2.txt");
        let other = testdata("dumps/nil_channel/goroutine.debug2.txt");
        for (file, keys) in [
            (
                "two-pods.kubectl-prefix.log",
                ["pod/api-7d9c5-x2k4q/api", "pod/api-7d9c5-m8r2z/api"],
            ),
            ("two-services.compose.log", ["api-1", "worker-1"]),
        ] {
            let bytes = testdata(&format!("transports/{file}"));
            let Unwrapped::Sources(_, sources) = unwrap("t", &bytes[..], u64::MAX).unwrap() else {
                panic!("{file}: not split");
            };
            let got: Vec<&str> = sources.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(got, keys, "{file}");
            // The database's one line held no dump: it is left out.
            assert!(sources[0].1.ends_with(&debug2), "{file}");
            assert!(sources[1].1 == other, "{file}");
        }
    }

    #[test]
    fn keyed_logs_held_in_memory_stop_at_max_bytes() {
        let bytes = testdata("transports/two-pods.kubectl-prefix.log");
        let Err(e) = unwrap("pods.log", &bytes[..], 4096) else {
            panic!("a log over --max-bytes was read");
        };
        let message = e.to_string();
        assert!(message.starts_with("pods.log: "), "{message}");
        assert!(
            message.contains("more than 4096 bytes (--max-bytes)"),
            "{message}"
        );
    }

    #[test]
    fn cri_partial_lines_join_even_across_the_sample_and_at_the_end() {
        let debug2 = testdata("dumps/forgotten_sender/goroutine.debug2.txt");
        let cri = testdata("transports/debug2.cri.log");
        // Repeat the log past the 64 KiB sample so that P parts straddle the sample's end.
        let mut big = Vec::new();
        let mut want = Vec::new();
        while big.len() < 3 * SAMPLE_BYTES {
            big.extend_from_slice(&cri);
            want.extend_from_slice(&debug2);
        }
        let (_, text) = unwrap_one(&big);
        assert!(text == want);
        // A log cut after a P part hands the part on at the end instead of dropping it.
        let cut = b"2026-12-04T13:00:00.1Z stderr F goroutine 1 [running]:\n2026-12-04T13:00:00.2Z stderr P main.ma\n2026-12-04T13:00:00.3Z stderr P in()";
        let (_, text) = unwrap_one(cut);
        assert_eq!(text, b"goroutine 1 [running]:\nmain.main()\n");
    }

    #[test]
    fn matchers_recognise_shapes_and_refuse_near_misses() {
        assert!(cri(b"2026-12-04T13:00:00.123456789Z stdout F hi").is_some());
        assert!(cri(b"2026-12-04T13:00:00Z stdout X hi").is_none());
        assert!(timestamp(b"2026-12-04T13:00:00.1234567Z x").is_some());
        assert!(timestamp(b"2026-12-04T13:00:00+01:00 x").is_some());
        assert!(timestamp(b"2026/12/04 13:00:00 log.Printf line").is_none());
        assert_eq!(
            compose(b"api-1  | text"),
            Some(("api-1".to_string(), &b"text"[..]))
        );
        assert!(compose(b"goroutine 1 [running]:").is_none());
        assert!(kubectl_prefix(b"[pod/a/b] x").is_some());
        assert!(kubectl_prefix(b"[originating from goroutine 1]:").is_none());
        assert_eq!(
            syslog(b"<27>Dec  4 13:00:00 host api[1]: x").map(|(k, _)| k),
            Some("api[1]".to_string())
        );
        assert_eq!(
            syslog(b"2026-12-04T13:00:00+0000 host api[7]: x").map(|(k, r)| (k, r.to_vec())),
            Some(("api[7]".to_string(), b"x".to_vec()))
        );
        assert_eq!(
            syslog(b"Dec 04 13:00:00.123456 host api[7]: x").map(|(k, _)| k),
            Some("api[7]".to_string())
        );
        assert!(syslog(b"2026-12-04T13:00:00Z goroutine 1 [running]:").is_none());
        assert!(syslog(b"2026-12-04T13:00:00Z created by main.f in goroutine 1").is_none());
        assert_eq!(
            unescape_syslog(b"##0110x4e8d2a#011main"),
            b"#\t0x4e8d2a\tmain"
        );
        assert_eq!(
            strip_ansi(b"\x1b[1;33mgoroutine 1\x1b[0m \x1b]0;title\x07x"),
            b"goroutine 1 x"
        );
        assert_eq!(unquote(b"> > > text"), b"text");
        assert!(is_damaged_frame(b"        main.go:12 +0x1d"));
        assert!(!is_damaged_frame(b"    main.f(0x1)"));
    }

    /// A pipe that hands over one byte per read.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn a_slow_pipe_unwraps_the_same() {
        let debug2 = testdata("dumps/forgotten_sender/goroutine.debug2.txt");
        for file in [
            "debug2.cri.log",
            "debug2.docker.json.log",
            "debug2.ansi.txt",
        ] {
            let bytes = testdata(&format!("transports/{file}"));
            let Unwrapped::Lines(_, reader) = unwrap("pipe", OneByte(&bytes), u64::MAX).unwrap()
            else {
                panic!("{file}: not unwrapped line by line");
            };
            assert!(read_all(reader) == debug2, "{file}");
        }
        let Unwrapped::Plain(reader) = unwrap("pipe", OneByte(&debug2), u64::MAX).unwrap() else {
            panic!("a plain dump was unwrapped");
        };
        assert!(read_all(reader) == debug2);
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 6] = [
            b"\x1b",
            b"{\"log\":",
            b"{\"log\":\"x\"}\n{\"log\":\"y\"}\n",
            b"2026-12-04T13:00:00Z stderr P \n2026-12-04T13:00:00Z stderr P",
            b"<1>Dec  4 13:00:00 h p[",
            b"> \n>\n>>\n```\n",
        ];
        for bytes in inputs {
            let unwrapped = unwrap("g", bytes, u64::MAX).unwrap();
            match unwrapped {
                Unwrapped::Plain(r) | Unwrapped::Lines(_, r) => {
                    read_all(r);
                }
                Unwrapped::Sources(..) => {}
            }
        }
    }
}
