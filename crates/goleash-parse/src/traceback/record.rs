//! Parsing one block: goroutine records, their frames and the text around them.

use super::*;

#[derive(Clone, Copy)]
pub(super) struct RawFrame<'a> {
    pub(super) function: &'a [u8],
    pub(super) file: &'a [u8],
    pub(super) line: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Stack,
    Creator,
    Ancestor,
    /// The `created by` line inside an ancestor block: the next ancestor already says it.
    AncestorCreator,
}

/// One goroutine being read; slices borrow from the block.
pub(super) struct Record<'a> {
    pub(super) header_line: u64,
    pub(super) id: u64,
    /// `gp=… m=…` on the header: a SIGQUIT or crash traceback.
    pub(super) thread_words: bool,
    /// A compiler wrapper of user code was dropped from the stack.
    pub(super) user_wrapper: bool,
    pub(super) state: &'a [u8],
    pub(super) leaked: bool,
    pub(super) locked: bool,
    pub(super) wait_minutes: Option<u32>,
    pub(super) labels: Option<&'a [u8]>,
    pub(super) frames: Vec<RawFrame<'a>>,
    pub(super) creator: Option<RawFrame<'a>>,
    pub(super) creator_id: Option<u64>,
    pub(super) ancestor_frames: Vec<RawFrame<'a>>,
    pub(super) ancestor_ends: Vec<usize>,
    pub(super) elided: bool,
    pub(super) stack_unavailable: bool,
    pub(super) section: Section,
    /// A function line whose `file:line` line has not been read yet.
    pub(super) pending: Option<(&'a [u8], u64)>,
}

impl<'a> Record<'a> {
    /// A goroutine running on another thread (`stack unavailable`), or a thread's system
    /// goroutine (`goroutine 0`, printed by SIGQUIT and crash dumps, often with no frames).
    pub(super) fn may_lack_frames(&self) -> bool {
        self.stack_unavailable || self.id == 0
    }

    /// `frames` is an empty vector to reuse, so that a goroutine does not allocate.
    pub(super) fn new(header: Header<'a>, line: u64, frames: Vec<RawFrame<'a>>) -> Self {
        debug_assert!(frames.is_empty());
        Record {
            header_line: line,
            id: header.id,
            thread_words: header.thread_words,
            user_wrapper: false,
            state: header.state,
            leaked: header.leaked,
            locked: header.locked,
            wait_minutes: header.wait_minutes,
            labels: header.labels,
            frames,
            creator: None,
            creator_id: None,
            ancestor_frames: Vec::new(),
            ancestor_ends: Vec::new(),
            elided: false,
            stack_unavailable: false,
            section: Section::Stack,
            pending: None,
        }
    }

    pub(super) fn push_frame(&mut self, frame: RawFrame<'a>) {
        // debug=2 and the profiles hide the compiler's wrappers; SIGQUIT and crash tracebacks
        // print every frame. Dropping them lets one stack group alike in every format.
        if is_wrapper(frame.function, frame.file) {
            // `main.main.gowrap1` is the start function of a user goroutine that has not run
            // yet: with the wrapper gone only runtime frames remain, yet it is no system one.
            self.user_wrapper |= !frame.function.starts_with(b"runtime.");
            return;
        }
        match self.section {
            Section::Stack => self.frames.push(frame),
            Section::Creator => self.creator = Some(frame),
            Section::Ancestor => self.ancestor_frames.push(frame),
            Section::AncestorCreator => {}
        }
    }

    /// A goroutine the runtime runs for itself: every frame is the runtime's (`runtime.main`
    /// aside, which becomes the main goroutine). Only SIGQUIT and crash tracebacks print them.
    pub(super) fn is_system(&self) -> bool {
        self.thread_words
            && !self.user_wrapper
            && !self.frames.is_empty()
            && self
                .frames
                .iter()
                .all(|f| f.function.starts_with(b"runtime.") && f.function != b"runtime.main")
    }

    pub(super) fn start_ancestor(&mut self) {
        self.close_ancestor();
        self.section = Section::Ancestor;
    }

    pub(super) fn close_ancestor(&mut self) {
        if matches!(self.section, Section::Ancestor | Section::AncestorCreator) {
            self.ancestor_ends.push(self.ancestor_frames.len());
        }
    }

    /// Writes everything that decides the goroutine's group into `out`.
    pub(super) fn signature(&self, out: &mut Vec<u8>) {
        fn frame(out: &mut Vec<u8>, f: &RawFrame<'_>) {
            out.extend_from_slice(f.function);
            out.push(0);
            out.extend_from_slice(f.file);
            out.push(0);
            out.extend_from_slice(&f.line.to_le_bytes());
        }
        out.clear();
        out.extend_from_slice(self.state);
        out.push(0xff);
        out.push(u8::from(self.leaked) | (u8::from(self.locked) << 1));
        if let Some(labels) = self.labels {
            out.extend_from_slice(labels);
        }
        out.push(0xff);
        for f in &self.frames {
            frame(out, f);
        }
        out.push(0xfe);
        if let Some(c) = &self.creator {
            frame(out, c);
        }
        out.push(0xfe);
        let mut start = 0;
        for &end in &self.ancestor_ends {
            for f in &self.ancestor_frames[start..end] {
                frame(out, f);
            }
            out.push(0xfd);
            start = end;
        }
    }
}

/// Parses one block. Errors stop the block and carry a block-relative line number.
pub(super) fn parse_block(data: &[u8], is_last: bool) -> BlockResult {
    let mut result = BlockResult {
        lines: 0,
        runs: Vec::new(),
        skipped: Vec::new(),
        starts_with_goroutine: false,
        ends_in_dump: false,
        has_content: false,
        trailing_separator: false,
        truncated: None,
        error: None,
    };
    let mut separator_seen = false;
    let mut signature = Vec::with_capacity(1024);
    let mut record: Option<Record<'_>> = None;
    let mut spare_frames: Vec<RawFrame<'_>> = Vec::new();
    let mut run: Option<Run> = None;
    let mut seen_content = false;
    let mut pos = 0;
    let mut line_no = 0u64;
    // The runtime's deadlock message, waiting for the dump it introduces.
    let mut pending_proof: Option<RuntimeProof> = None;
    // Goroutines of the current crash dump (`gp=… m=…` headers) by id: where each was counted
    // and whether without frames, so that a second printing replaces a `stack unavailable`
    // one. A crash dump split across blocks (over 4 MiB) may still count a goroutine twice.
    let mut crash_ids: CrashIds = FxHashMap::default();
    let mut garbage_tail: Option<u64> = None;

    macro_rules! fail {
        ($line:expr, $msg:expr) => {{
            result.error = Some(($line, $msg));
            result.lines = line_no;
            return result;
        }};
    }
    macro_rules! finish {
        () => {
            if let Some(mut done) = record.take() {
                let header_line = done.header_line;
                let finished = finish_record(
                    &mut done,
                    &mut signature,
                    &mut run,
                    &mut result.runs,
                    &mut crash_ids,
                );
                spare_frames = std::mem::take(&mut done.frames);
                spare_frames.clear();
                if let Err(message) = finished {
                    fail!(header_line, message);
                }
            }
        };
    }

    // Goroutine ids of the current run: one seen again starts a new dump (`curl … >> g.txt`
    // appends a whole second dump right after the first). `goroutine 0` is every thread's
    // system goroutine and repeats within one dump.
    let mut run_ids: rustc_hash::FxHashSet<u64> = rustc_hash::FxHashSet::default();
    macro_rules! repeats {
        ($header:expr) => {{
            if run.is_none() {
                run_ids.clear();
            }
            let id = $header.id;
            // Crash and SIGQUIT tracebacks (`gp=… m=…` headers) may print a goroutine twice
            // within one dump; only the plain format of `?debug=2` and runtime.Stack repeats
            // an id because a second dump was appended.
            if id != 0 && !$header.thread_words && !run_ids.insert(id) {
                run_ids.clear();
                run_ids.insert(id);
                true
            } else {
                false
            }
        }};
    }

    while pos < data.len() {
        let end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let mut line = &data[pos..end];
        pos = end + 1;
        line_no += 1;
        if end == data.len() && is_last && !data.ends_with(b"\n") && !is_complete_file_line(line) {
            if !could_be_cut_dump_line(line) && record.as_ref().is_none_or(|r| r.pending.is_none())
            {
                // Other text after the dump (a log line cut short), not a cut goroutine.
                finish!();
                garbage_tail = Some(line_no);
                push_skipped(&mut result.skipped, line_no);
                seen_content = true;
                result.ends_in_dump = false;
                close_run(&mut run, &mut result);
                break;
            }
            // A final line without its newline was cut: judged below, never interpreted.
            break;
        }
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }

        if let Some(current) = record.as_mut() {
            if let Some((function, function_line)) = current.pending {
                let Some(location) = line.strip_prefix(b"\t") else {
                    fail!(
                        line_no,
                        format!(
                            "expected the tab-indented `file.go:LINE` line of `{}` (line {}), found {}",
                            String::from_utf8_lossy(function),
                            function_line,
                            excerpt(line)
                        )
                    );
                };
                let Some((file, file_line)) = parse_location(location) else {
                    fail!(
                        line_no,
                        format!(
                            "expected `file.go:LINE` after `{}`, found {}",
                            String::from_utf8_lossy(function),
                            excerpt(line)
                        )
                    );
                };
                current.pending = None;
                current.push_frame(RawFrame {
                    function,
                    file,
                    line: file_line,
                });
                continue;
            }
            if line.is_empty() {
                finish!();
                continue;
            }
            if let Some(function) = line.strip_prefix(b"created by ") {
                let (function, creator_id) = split_creator(function);
                match current.section {
                    Section::Stack => {
                        current.section = Section::Creator;
                        current.creator_id = creator_id;
                    }
                    Section::Ancestor => current.section = Section::AncestorCreator,
                    Section::Creator | Section::AncestorCreator => fail!(
                        line_no,
                        format!(
                            "a second `created by` line in goroutine {}; expected a blank line or `[originating from goroutine N]:`",
                            current.id
                        )
                    ),
                }
                current.pending = Some((function, line_no));
                continue;
            }
            if line.starts_with(b"[originating from goroutine ") && line.ends_with(b"]:") {
                current.start_ancestor();
                continue;
            }
            if line.starts_with(b"...") && line.ends_with(b"...") {
                // `...N frames elided...` or `...additional frames elided...`
                if current.section == Section::Stack {
                    current.elided = true;
                }
                continue;
            }
            // The runtime prints it indented (`\tgoroutine running on other thread; …`).
            if line.strip_prefix(b"\t").unwrap_or(line)
                == b"goroutine running on other thread; stack unavailable"
            {
                current.stack_unavailable = true;
                continue;
            }
            if let Some(function) = function_of_call(line) {
                if matches!(current.section, Section::Creator | Section::AncestorCreator) {
                    fail!(
                        line_no,
                        format!(
                            "expected a blank line after the `created by` lines of goroutine {}, found {}",
                            current.id,
                            excerpt(line)
                        )
                    );
                }
                current.pending = Some((function, line_no));
                continue;
            }
            if let Some(header) = parse_header(line) {
                finish!();
                if repeats!(header) {
                    close_run(&mut run, &mut result);
                    crash_ids.clear();
                    run = Some(Run {
                        continues: false,
                        proof: pending_proof.take(),
                        first_line: line_no,
                        last_line: line_no,
                        groups: Aggregator::default(),
                    });
                }
                record = Some(Record::new(
                    header,
                    line_no,
                    std::mem::take(&mut spare_frames),
                ));
                continue;
            }
            // A line that is not part of a goroutine ends the dump it follows.
            finish!();
            result.ends_in_dump = false;
            close_run(&mut run, &mut result);
            push_skipped(&mut result.skipped, line_no);
            pending_proof = runtime_proof(line).or(pending_proof);
            separator_seen |= line == b"-----";
            seen_content = true;
            continue;
        }

        if line.is_empty() {
            continue;
        }
        if let Some(header) = parse_header(line) {
            if !seen_content {
                result.starts_with_goroutine = true;
            }
            seen_content = true;
            if repeats!(header) {
                close_run(&mut run, &mut result);
            }
            if run.is_none() {
                let continues = std::mem::take(&mut separator_seen);
                if !continues {
                    crash_ids.clear();
                }
                run = Some(Run {
                    continues,
                    proof: pending_proof.take(),
                    first_line: line_no,
                    last_line: line_no,
                    groups: Aggregator::default(),
                });
            }
            result.ends_in_dump = true;
            record = Some(Record::new(
                header,
                line_no,
                std::mem::take(&mut spare_frames),
            ));
            continue;
        }
        seen_content = true;
        if result.ends_in_dump {
            result.ends_in_dump = false;
            close_run(&mut run, &mut result);
        }
        push_skipped(&mut result.skipped, line_no);
        separator_seen |= line == b"-----";
        pending_proof = runtime_proof(line).or(pending_proof);
    }

    // Go's own /debug/pprof/goroutine?debug=2 stops writing at 64 MiB, mid-goroutine: a cut
    // at the very end is reported and the cut goroutine left out, so the rest is still read.
    // A dump saved or pasted without its final newline ends in a complete `\tfile.go:LINE
    // +0xOFF` line: that is not a cut.
    let partial_last_line = garbage_tail.is_none()
        && is_last
        && !data.ends_with(b"\n")
        && !data.is_empty()
        && !is_complete_file_line(data.rsplit(|b| *b == b'\n').next().unwrap_or(b""));
    if let Some(current) = record.take() {
        let cut = current.pending.is_some()
            || partial_last_line
            || (current.frames.is_empty() && !current.may_lack_frames());
        if cut && is_last {
            result.truncated = Some(Truncation {
                line: current.header_line,
                goroutine: Some(current.id),
            });
        } else if let Some((function, function_line)) = current.pending {
            fail!(
                function_line,
                format!(
                    "the input ends after `{}`; expected its tab-indented `file.go:LINE` line (truncated dump?)",
                    String::from_utf8_lossy(function)
                )
            );
        } else {
            record = Some(current);
        }
    } else if partial_last_line {
        result.truncated = Some(Truncation {
            line: line_no,
            goroutine: None,
        });
    }
    finish!();
    close_run(&mut run, &mut result);
    if let (Some(line), Some(last)) = (garbage_tail, result.runs.last_mut()) {
        last.groups.uncounted.garbage_tail = Some(line);
    }
    result.lines = line_no;
    result.has_content = seen_content;
    result.trailing_separator = separator_seen;
    result
}

/// A function the compiler generated around another: `go f(x)` and `defer f(x)` wrappers
/// (`main.main.gowrap1`, `….deferwrap2`), method values (`(*T).run-fm`), and promoted or
/// interface-method wrappers (file `<autogenerated>`).
pub(super) fn is_wrapper(function: &[u8], file: &[u8]) -> bool {
    if function.ends_with(b"-fm") || file == b"<autogenerated>" {
        return true;
    }
    let last = match memchr::memrchr(b'.', function) {
        Some(dot) => &function[dot + 1..],
        None => return false,
    };
    [&b"gowrap"[..], &b"deferwrap"[..]].iter().any(|prefix| {
        last.strip_prefix(*prefix)
            .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
    })
}

/// The runtime's messages that prove every goroutine of the dump that follows is blocked for
/// good (proc.go checkdead, synctest.go).
pub(super) fn runtime_proof(line: &[u8]) -> Option<RuntimeProof> {
    if line.starts_with(b"fatal error: all goroutines are asleep - deadlock!") {
        return Some(RuntimeProof::AllAsleep);
    }
    let bubble = [
        &b"deadlock: main bubble goroutine has exited but blocked goroutines remain"[..],
        &b"deadlock: all goroutines in bubble are blocked"[..],
    ];
    bubble
        .iter()
        .any(|message| memmem::find(line, message).is_some())
        .then_some(RuntimeProof::BubbleBlocked)
}

/// Whether a last line cut without its newline can be the start of a dump line (a header, a
/// frame, its location, `created by`, an elision or ancestry marker). Anything else is other
/// text after the dump, not a cut goroutine.
pub(super) fn could_be_cut_dump_line(line: &[u8]) -> bool {
    if line.starts_with(b"\t") || line.starts_with(b"...") || line.starts_with(b"[") {
        return true;
    }
    for word in [&b"goroutine "[..], &b"created by "[..]] {
        let n = line.len().min(word.len());
        if line[..n] == word[..n] {
            return true;
        }
    }
    // A frame's function: no space before its argument list.
    let name_end = memchr(b'(', line).unwrap_or(line.len());
    !line.is_empty() && memchr(b' ', &line[..name_end]).is_none()
}

/// `\t/path/file.go:123 +0x1d`, whole.
pub(super) fn is_complete_file_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(rest) = line.strip_prefix(b"\t") else {
        return false;
    };
    let (place, offset) = match rest.iter().rposition(|b| *b == b' ') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    // Go prints ` +0xOFF` after every frame's place: without it the line may be cut short.
    let offset_ok = offset.is_some_and(|o| {
        o.strip_prefix(b"+0x")
            .is_some_and(|hex| !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit))
    });
    let Some(colon) = place.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (file, number) = (&place[..colon], &place[colon + 1..]);
    offset_ok
        && (file.ends_with(b".go") || file.ends_with(b".s"))
        && !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
}

pub(super) fn close_run(run: &mut Option<Run>, result: &mut BlockResult) {
    if let Some(done) = run.take() {
        // A crash dump's thread section may hold only uncounted stacks (`goroutine 0`); it
        // still belongs to the dump for its notes.
        let uncounted = done.groups.uncounted;
        let noted = uncounted.threads + uncounted.system + uncounted.duplicates > 0;
        if !done.groups.groups.is_empty() || (done.continues && noted) {
            result.runs.push(done);
        }
    }
}

pub(super) fn push_skipped(skipped: &mut Vec<(u64, u64)>, line: u64) {
    match skipped.last_mut() {
        Some(last) if last.1 + 1 == line => last.1 = line,
        _ => skipped.push((line, line)),
    }
}

/// Where a crash dump's goroutine was counted: the run (its index in the block's runs once
/// closed), its group, and whether it had no frames.
pub(super) type CrashIds = FxHashMap<u64, (usize, usize, bool)>;

pub(super) fn finish_record(
    record: &mut Record<'_>,
    signature: &mut Vec<u8>,
    run: &mut Option<Run>,
    closed: &mut [Run],
    crash_ids: &mut CrashIds,
) -> Result<(), String> {
    if record.frames.is_empty() && !record.may_lack_frames() {
        return Err(format!(
            "goroutine {} has no stack frames; expected `function(args)` and `\tfile.go:LINE` lines after its header (truncated dump?)",
            record.id
        ));
    }
    let Some(current) = run.as_mut() else {
        return Err("internal: goroutine outside a dump run".to_string());
    };
    current.last_line = record.header_line;
    if record.id == 0 {
        current.groups.uncounted.threads += 1;
        return Ok(());
    }
    if record.is_system() {
        current.groups.uncounted.system += 1;
        return Ok(());
    }
    let frameless = record.frames.is_empty();
    let here = closed.len();
    if record.thread_words {
        if let Some(&(at, group, was_frameless)) = crash_ids.get(&record.id) {
            current.groups.uncounted.duplicates += 1;
            // Only a stack where the first printing had none is worth the swap.
            if !was_frameless || frameless {
                return Ok(());
            }
            // The second printing has the stack the first could not show: count that one.
            match closed.get_mut(at) {
                Some(earlier) => earlier.groups.remove_one(group, record.id),
                None => current.groups.remove_one(group, record.id),
            }
        }
    }
    // The last ancestor block has no following marker to close it.
    record.close_ancestor();
    record.signature(signature);
    let group = current.groups.add(record, signature)?;
    if record.thread_words {
        crash_ids.insert(record.id, (here, group, frameless));
    }
    Ok(())
}
