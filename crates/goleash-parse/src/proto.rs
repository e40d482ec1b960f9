//! pprof protobuf goroutine profiles: `/debug/pprof/goroutine?debug=0` and `goroutineleak`.
//!
//! Stacks are normalised to what the text formats print, so that one program's goroutines
//! compare equal whichever format they were read from:
//! - function names are the *print* names (`main.Map[...]`): the runtime writes linker symbol
//!   names into profiles (`main.Map[go.shape.string,go.shape.int]`) but prints `[...]` in
//!   tracebacks and `debug=1`;
//! - leading `runtime.*` frames (`runtime.gopark`, `runtime.chanrecv1`, …) are dropped exactly as
//!   `debug=1` drops them, and `runtime.goexit` is dropped as every text format does.

mod pb;

use std::borrow::Cow;
use std::io::{BufRead, Read};

use goleash_model::{
    AncestryId, DumpFormat, Frame, FrameId, GroupKey, GroupStats, Interner, LabelsId, Missing,
    ProfileKind, RawGroup, Snapshot, SourceInfo,
};
use prost::Message;
use rustc_hash::FxHashMap;

use crate::legacy::{is_hidden_runtime_frame, unknown_frame, GOEXIT};
use crate::{Limits, Location as At, ParseError};

pub(crate) fn parse(
    name: &str,
    reader: impl BufRead,
    limits: Limits,
) -> Result<Snapshot, ParseError> {
    let data = read_all(name, reader, limits)?;
    let profile =
        pb::Profile::decode(data.as_slice()).map_err(|e| decode_error(name, &data, &e))?;
    Converter {
        name,
        data: &data,
        profile: &profile,
    }
    .run()
}

/// Reads the whole input: protobuf cannot be decoded as a stream, and a goroutine profile is
/// small anyway (one sample per distinct stack, not per goroutine).
fn read_all(name: &str, reader: impl BufRead, limits: Limits) -> Result<Vec<u8>, ParseError> {
    let mut data = Vec::new();
    let read = reader
        .take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut data);
    if let Err(error) = read {
        return Err(ParseError::io(name, data.len() as u64, &error));
    }
    if data.len() as u64 > limits.max_bytes {
        return Err(ParseError::new(
            name,
            At::Offset(limits.max_bytes),
            format!(
                "the profile is larger than the input limit of {} bytes; expected a goroutine \
                 profile within the limit",
                limits.max_bytes
            ),
        ));
    }
    Ok(data)
}

/// Turns prost's error (which says what failed but not where) into one with a byte offset, by
/// walking the top-level fields and decoding each embedded message on its own.
fn decode_error(name: &str, data: &[u8], error: &prost::DecodeError) -> ParseError {
    let at = |offset: usize, what: String| {
        ParseError::new(
            name,
            At::Offset(offset as u64),
            format!("expected a pprof protobuf profile, but {what}"),
        )
    };
    let mut seen = [0usize; 16];
    for field in pb::top_level(data) {
        let field = match field {
            Ok(field) => field,
            Err(broken) => return at(broken.offset, broken.why),
        };
        let what = pb::field_name(field.tag);
        let n = seen.get(field.tag as usize).copied().unwrap_or(0);
        if let Some(count) = seen.get_mut(field.tag as usize) {
            *count += 1;
        }
        if !pb::wire_fits(field.tag, field.wire) {
            return at(
                field.offset,
                format!(
                    "{what} (field {}) has wire type {}, which does not fit it",
                    field.tag, field.wire
                ),
            );
        }
        let nested = match field.tag {
            1 | 11 => pb::ValueType::decode(field.payload).err(),
            2 => pb::Sample::decode(field.payload).err(),
            3 => pb::Mapping::decode(field.payload).err(),
            4 => pb::Location::decode(field.payload).err(),
            5 => pb::Function::decode(field.payload).err(),
            _ => None,
        };
        if let Some(nested) = nested {
            return at(
                field.offset,
                format!(
                    "{what} #{n} (field {}) does not decode: {nested}",
                    field.tag
                ),
            );
        }
    }
    at(0, format!("it does not decode: {error}"))
}

/// How a frame takes part in the `debug=1` rule for which frames are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    Yes,
    /// A `runtime.*` frame, hidden while it is at the leaf end of the stack.
    LeadingRuntime,
    /// `runtime.goexit`, never printed.
    Never,
}

#[derive(Clone, Copy)]
struct StackFrame {
    id: FrameId,
    shown: Shown,
}

/// A `Function`, resolved once: its print name and file.
struct Func {
    name: std::sync::Arc<str>,
    file: std::sync::Arc<str>,
}

struct Converter<'a> {
    name: &'a str,
    data: &'a [u8],
    profile: &'a pb::Profile,
}

impl Converter<'_> {
    fn run(self) -> Result<Snapshot, ParseError> {
        self.check_string_table()?;
        let kind = self.kind()?;
        let funcs = self.functions()?;
        let locations = self.location_index()?;

        let mut interner = Interner::default();
        // Each Location's frames are interned once, on first use: a profile of a million
        // goroutines has a few dozen samples that share most of their locations.
        let mut cache: Vec<Option<Box<[StackFrame]>>> = vec![None; self.profile.location.len()];
        let samples = self.profile.sample.len();
        let mut groups: Vec<RawGroup> = Vec::with_capacity(samples);
        let mut index: FxHashMap<GroupKey, usize> =
            FxHashMap::with_capacity_and_hasher(samples, Default::default());
        let mut frames: Vec<StackFrame> = Vec::new();
        let mut visible: Vec<FrameId> = Vec::new();

        for (k, sample) in self.profile.sample.iter().enumerate() {
            let count = match sample.value.first() {
                None => {
                    return Err(self.sample_error(
                        k,
                        "it has no value; expected value[0] to be the goroutine count".into(),
                    ))
                }
                Some(&v) if v < 0 => {
                    return Err(self.sample_error(
                        k,
                        format!(
                            "its goroutine count is negative ({v}), as in a delta profile \
                             (?seconds=N); expected a plain snapshot"
                        ),
                    ))
                }
                // pprof tools drop empty samples too: they stand for no goroutine.
                Some(&0) => continue,
                Some(&v) => v as u64,
            };

            frames.clear();
            for &location_id in &sample.location_id {
                let Some(&li) = locations.get(&location_id) else {
                    return Err(self.sample_error(
                        k,
                        format!(
                            "it refers to location id {location_id}, which the profile does not \
                             define"
                        ),
                    ));
                };
                if let Some(slot) = cache.get_mut(li) {
                    if slot.is_none() {
                        *slot = Some(self.expand_location(li, &funcs, &mut interner)?.into());
                    }
                    frames.extend_from_slice(slot.as_deref().unwrap_or_default());
                }
            }
            visible_frames(&frames, &mut visible);
            let stack = interner.intern_stack(&visible);
            let labels = self.labels(k, &sample.label, &mut interner)?;

            let key = GroupKey {
                stack,
                state: None,
                creator: None,
                labels,
                ancestry: AncestryId(0),
                leaked: kind == ProfileKind::GoroutineLeak,
                locked_to_thread: false,
            };
            match index.get(&key) {
                Some(&gi) => {
                    let stats = &mut groups[gi].stats;
                    stats.count = stats.count.checked_add(count).ok_or_else(|| {
                        self.sample_error(k, "the goroutine counts overflow 64 bits".into())
                    })?;
                }
                None => {
                    index.insert(key, groups.len());
                    groups.push(RawGroup {
                        key,
                        stats: GroupStats {
                            count,
                            ..GroupStats::default()
                        },
                    });
                }
            }
        }

        Ok(Snapshot {
            interner,
            groups,
            sources: vec![SourceInfo {
                name: self.name.to_string(),
                format: DumpFormat::Proto,
                profile: kind,
                bytes: self.data.len() as u64,
                dumps: 1,
                skipped: Vec::new(),
                transport: None,
            }],
            missing: Missing::of(DumpFormat::Proto),
            notes: Vec::new(),
            proof: None,
        })
    }

    fn error(&self, tag: u32, n: usize, message: String) -> ParseError {
        ParseError::new(
            self.name,
            At::Offset(pb::nth_field_offset(self.data, tag, n)),
            message,
        )
    }

    fn sample_error(&self, k: usize, why: String) -> ParseError {
        self.error(pb::TAG_SAMPLE, k, format!("sample #{k} is invalid: {why}"))
    }

    /// Every string index is checked against the table on use; entry 0 must be "" because
    /// index 0 is how the format spells "no string".
    fn check_string_table(&self) -> Result<(), ParseError> {
        match self.profile.string_table.first() {
            None => Err(ParseError::new(
                self.name,
                At::Offset(0),
                "the profile has no string table; expected a pprof protobuf profile with one",
            )),
            Some(first) if !first.is_empty() => Err(self.error(
                6,
                0,
                format!(
                    "the string table starts with {} instead of \"\"; expected a pprof \
                     protobuf profile",
                    crate::error::excerpt(first)
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Looks up a string index; `what` names the field for the error message.
    fn string(
        &self,
        index: i64,
        what: impl FnOnce() -> (u32, usize, String),
    ) -> Result<&[u8], ParseError> {
        let table = &self.profile.string_table;
        match usize::try_from(index).ok().and_then(|i| table.get(i)) {
            Some(s) => Ok(s),
            None => {
                let (tag, n, what) = what();
                Err(self.error(
                    tag,
                    n,
                    format!(
                        "{what} names string #{index}, but the string table has {} entries",
                        table.len()
                    ),
                ))
            }
        }
    }

    fn kind(&self) -> Result<ProfileKind, ParseError> {
        let mut types = Vec::with_capacity(self.profile.sample_type.len());
        for (n, value_type) in self.profile.sample_type.iter().enumerate() {
            let ty = self.string(value_type.r#type, || {
                (pb::TAG_SAMPLE_TYPE, n, format!("sample_type #{n}"))
            })?;
            types.push(String::from_utf8_lossy(ty));
        }
        // value[0] is the count the runtime writes, so the first sample type names the profile.
        match types.first().map(|ty| ty.as_ref()) {
            None => Err(ParseError::new(
                self.name,
                At::Offset(0),
                "the profile has no sample type; expected a goroutine or goroutineleak profile",
            )),
            Some("goroutine") => Ok(ProfileKind::Goroutine),
            Some("goroutineleak") => Ok(ProfileKind::GoroutineLeak),
            Some(_) => Err(self.error(
                pb::TAG_SAMPLE_TYPE,
                0,
                format!(
                    "this is a {} profile, expected a goroutine or goroutineleak profile",
                    types.join("/")
                ),
            )),
        }
    }

    /// Resolves every Function to its print name and file, keyed by id.
    fn functions(&self) -> Result<FxHashMap<u64, Func>, ParseError> {
        let mut funcs =
            FxHashMap::with_capacity_and_hasher(self.profile.function.len(), Default::default());
        // Functions of one file share its name: one copy of the text per string-table entry.
        let mut files: FxHashMap<i64, std::sync::Arc<str>> = FxHashMap::default();
        for (n, function) in self.profile.function.iter().enumerate() {
            let what = |field: &'static str| {
                move || {
                    (
                        pb::TAG_FUNCTION,
                        n,
                        format!("function #{n} (id {}) {field}", function.id),
                    )
                }
            };
            let mut name = self.string(function.name, what("name"))?;
            // Some producers fill only system_name; Go writes the same symbol into both.
            if name.is_empty() {
                name = self.string(function.system_name, what("system_name"))?;
            }
            let file = match files.get(&function.filename) {
                Some(file) => std::sync::Arc::clone(file),
                None => {
                    let text = self.string(function.filename, what("filename"))?;
                    let file: std::sync::Arc<str> = String::from_utf8_lossy(text).into();
                    files.insert(function.filename, std::sync::Arc::clone(&file));
                    file
                }
            };
            let func = Func {
                name: print_name(&String::from_utf8_lossy(name)).into(),
                file,
            };
            if funcs.insert(function.id, func).is_some() {
                return Err(self.error(
                    pb::TAG_FUNCTION,
                    n,
                    format!(
                        "function #{n} reuses id {}; expected unique function ids",
                        function.id
                    ),
                ));
            }
        }
        Ok(funcs)
    }

    fn location_index(&self) -> Result<FxHashMap<u64, usize>, ParseError> {
        let mut index =
            FxHashMap::with_capacity_and_hasher(self.profile.location.len(), Default::default());
        for (n, location) in self.profile.location.iter().enumerate() {
            if index.insert(location.id, n).is_some() {
                return Err(self.error(
                    pb::TAG_LOCATION,
                    n,
                    format!(
                        "location #{n} reuses id {}; expected unique location ids",
                        location.id
                    ),
                ));
            }
        }
        Ok(index)
    }

    /// The frames of one Location, leaf first: its Lines in order, since line[0] is the
    /// innermost inlined call and the last line the function it was inlined into.
    fn expand_location(
        &self,
        n: usize,
        funcs: &FxHashMap<u64, Func>,
        interner: &mut Interner,
    ) -> Result<Vec<StackFrame>, ParseError> {
        let Some(location) = self.profile.location.get(n) else {
            return Ok(Vec::new());
        };
        if location.line.is_empty() {
            // Unsymbolized: only the address is known, which is what debug=1 prints too.
            let id = interner.intern_frame(unknown_frame(location.address));
            return Ok(vec![StackFrame {
                id,
                shown: Shown::Yes,
            }]);
        }
        let mut frames = Vec::with_capacity(location.line.len());
        for line in &location.line {
            let Some(func) = funcs.get(&line.function_id) else {
                return Err(self.error(
                    pb::TAG_LOCATION,
                    n,
                    format!(
                        "location #{n} (id {}) refers to function id {}, which the profile does \
                         not define",
                        location.id, line.function_id
                    ),
                ));
            };
            let Ok(line_number) = u32::try_from(line.line) else {
                return Err(self.error(
                    pb::TAG_LOCATION,
                    n,
                    format!(
                        "location #{n} (id {}) has line number {}; expected 0 to {}",
                        location.id,
                        line.line,
                        u32::MAX
                    ),
                ));
            };
            let (frame, shown) = if func.name.is_empty() {
                (unknown_frame(location.address), Shown::Yes)
            } else {
                let shown = if &*func.name == GOEXIT {
                    Shown::Never
                } else if is_hidden_runtime_frame(&func.name) {
                    Shown::LeadingRuntime
                } else {
                    Shown::Yes
                };
                let frame = Frame {
                    function: func.name.clone(),
                    file: func.file.clone(),
                    line: line_number,
                };
                (frame, shown)
            };
            frames.push(StackFrame {
                id: interner.intern_frame(frame),
                shown,
            });
        }
        Ok(frames)
    }

    fn labels(
        &self,
        k: usize,
        labels: &[pb::Label],
        interner: &mut Interner,
    ) -> Result<LabelsId, ParseError> {
        if labels.is_empty() {
            return Ok(LabelsId(0));
        }
        let mut pairs = Vec::with_capacity(labels.len());
        for (j, label) in labels.iter().enumerate() {
            // Numeric labels have no place in the model, and pprof.Do only sets string labels.
            // An empty string value is written as str = 0, so only num/num_unit mark a number.
            if label.str == 0 && (label.num != 0 || label.num_unit != 0) {
                continue;
            }
            let what = |field: &'static str| {
                move || (pb::TAG_SAMPLE, k, format!("sample #{k} label #{j} {field}"))
            };
            let key = self.string(label.key, what("key"))?;
            let value = self.string(label.str, what("value"))?;
            pairs.push((
                String::from_utf8_lossy(key).into(),
                String::from_utf8_lossy(value).into(),
            ));
        }
        Ok(interner.intern_labels(pairs))
    }
}

/// Keeps every frame but `runtime.goexit`, which no text format prints. The leading runtime
/// frames (`runtime.gopark`, `runtime.chansend1`, `runtime.selectgo`…) that debug=1 and debug=2
/// hide are kept: they are the only record of what the goroutine waits on in a format without
/// wait reasons, and the analysis leaves them out wherever stacks of formats are compared.
fn visible_frames(frames: &[StackFrame], visible: &mut Vec<FrameId>) {
    visible.clear();
    visible.extend(
        frames
            .iter()
            .filter(|f| f.shown != Shown::Never)
            .map(|f| f.id),
    );
}

/// The name the runtime prints for a function (runtime `funcNameForPrint`): type arguments of
/// generic functions and of generic receivers become `[...]`. Other names pass unchanged.
fn print_name(name: &str) -> Cow<'_, str> {
    let (Some(i), Some(j)) = (name.find('['), name.rfind(']')) else {
        return Cow::Borrowed(name);
    };
    if j <= i {
        return Cow::Borrowed(name);
    }
    let (head, interior, tail) = (&name[..i], &name[i + 1..j], &name[j + 1..]);
    if !interior.contains('[') {
        return Cow::Owned(format!("{head}[...]{tail}"));
    }
    // A generic method of a generic type: "T[args]).M[args]" – find the "]" that closes the
    // first list and the "[" that opens the second, at depth zero.
    let mut depth = 1i32;
    let (mut close, mut open) = (None, None);
    for (k, c) in interior.bytes().enumerate() {
        if c == b'[' {
            depth += 1;
            if depth == 1 {
                open = Some(k);
                break;
            }
        } else if c == b']' {
            depth -= 1;
            if depth < 0 {
                break;
            }
            if depth == 0 {
                close = Some(k);
            }
        }
    }
    if depth == 1 {
        match (close, open) {
            (Some(close), Some(open)) if open > close => {
                let middle = &interior[close + 1..open];
                return Cow::Owned(format!("{head}[...]{middle}[...]{tail}"));
            }
            (None, None) => return Cow::Owned(format!("{head}[...]{tail}")),
            _ => {}
        }
    }
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real goroutine profile (Go 1.27.3), decoded so that a test can break one thing in it.
    fn fixture() -> pb::Profile {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/dumps/forgotten_sender/goroutine.pb.gz"
        );
        let gz = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut data = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut data)
            .unwrap();
        pb::Profile::decode(&data[..]).unwrap()
    }

    fn run(profile: &pb::Profile) -> Result<Snapshot, ParseError> {
        parse("t.pb", &profile.encode_to_vec()[..], Limits::default())
    }

    fn fails(profile: &pb::Profile, tag: u32, n: usize) -> String {
        let error = run(profile).map(|s| s.total()).unwrap_err();
        let offset = pb::nth_field_offset(&profile.encode_to_vec(), tag, n);
        assert_eq!(error.location, At::Offset(offset), "{error}");
        error.message
    }

    fn string_index(profile: &mut pb::Profile, s: &str) -> i64 {
        profile.string_table.push(s.as_bytes().to_vec());
        profile.string_table.len() as i64 - 1
    }

    fn function_named(profile: &pb::Profile, name: &str) -> u64 {
        let table = &profile.string_table;
        let f = profile
            .function
            .iter()
            .find(|f| table[f.name as usize] == name.as_bytes());
        f.unwrap_or_else(|| panic!("no function {name}")).id
    }

    /// The frames of the group whose stack holds `function`.
    fn stack_with(snapshot: &Snapshot, function: &str) -> Vec<String> {
        let group = snapshot.groups.iter().find(|g| {
            snapshot
                .frames(g.key.stack)
                .any(|f| &*f.function == function)
        });
        let group = group.unwrap_or_else(|| panic!("no stack with {function}"));
        // The runtime's leaf frames are kept; these tests are about the user's frames.
        snapshot
            .frames(group.key.stack)
            .filter(|f| !f.function.starts_with("runtime."))
            .map(|f| f.function.to_string())
            .collect()
    }

    #[test]
    fn the_fixture_parses() {
        let snapshot = run(&fixture()).unwrap();
        assert_eq!(
            stack_with(&snapshot, "main.fetchResult.func1"),
            ["main.fetchResult.func1"]
        );
        // What the sender waits on survives in the runtime's frames: a channel send.
        let sender = snapshot
            .groups
            .iter()
            .find(|g| {
                snapshot
                    .frames(g.key.stack)
                    .any(|f| &*f.function == "main.fetchResult.func1")
            })
            .unwrap();
        let leaf: Vec<&str> = snapshot
            .frames(sender.key.stack)
            .take(3)
            .map(|f| &*f.function)
            .collect();
        assert_eq!(
            leaf,
            ["runtime.gopark", "runtime.chansend", "runtime.chansend1"]
        );
    }

    #[test]
    fn dangling_location_id() {
        let mut profile = fixture();
        profile.sample[1].location_id[0] = 9999;
        assert_eq!(
            fails(&profile, pb::TAG_SAMPLE, 1),
            "sample #1 is invalid: it refers to location id 9999, which the profile does not \
             define"
        );
    }

    #[test]
    fn dangling_function_id() {
        let mut profile = fixture();
        let first = profile.sample[0].location_id[0];
        let n = profile.location.iter().position(|l| l.id == first).unwrap();
        profile.location[n].line[0].function_id = 9999;
        let message = fails(&profile, pb::TAG_LOCATION, n);
        assert!(
            message.ends_with("refers to function id 9999, which the profile does not define"),
            "{message}"
        );
    }

    #[test]
    fn string_index_out_of_range() {
        let mut profile = fixture();
        profile.function[2].filename = 100_000;
        let message = fails(&profile, pb::TAG_FUNCTION, 2);
        let strings = profile.string_table.len();
        assert!(
            message.ends_with(&format!(
                "filename names string #100000, but the string table has {strings} entries"
            )),
            "{message}"
        );

        let mut profile = fixture();
        profile.sample[0].label.push(pb::Label {
            key: -1,
            ..pb::Label::default()
        });
        let message = fails(&profile, pb::TAG_SAMPLE, 0);
        assert!(message.contains("key names string #-1"), "{message}");
    }

    #[test]
    fn other_profiles_are_named() {
        let mut profile = fixture();
        let samples = string_index(&mut profile, "samples");
        let cpu = string_index(&mut profile, "cpu");
        profile.sample_type = vec![
            pb::ValueType {
                r#type: samples,
                unit: 0,
            },
            pb::ValueType {
                r#type: cpu,
                unit: 0,
            },
        ];
        assert_eq!(
            fails(&profile, pb::TAG_SAMPLE_TYPE, 0),
            "this is a samples/cpu profile, expected a goroutine or goroutineleak profile"
        );
    }

    #[test]
    fn negative_and_missing_counts() {
        let mut profile = fixture();
        profile.sample[1].value = vec![-3];
        let message = fails(&profile, pb::TAG_SAMPLE, 1);
        assert!(message.contains("negative (-3)"), "{message}");

        let mut profile = fixture();
        profile.sample[0].value.clear();
        let message = fails(&profile, pb::TAG_SAMPLE, 0);
        assert!(message.contains("no value"), "{message}");
    }

    #[test]
    fn duplicate_ids_and_bad_string_table() {
        let mut profile = fixture();
        profile.location[3].id = profile.location[2].id;
        let message = fails(&profile, pb::TAG_LOCATION, 3);
        assert!(message.contains("reuses id"), "{message}");

        let mut profile = fixture();
        profile.string_table[0] = b"x".to_vec();
        let message = fails(&profile, 6, 0);
        assert!(message.contains("starts with \"x\""), "{message}");
    }

    #[test]
    fn inlined_lines_expand_leaf_first() {
        // Turn the sender's Location into one where another function of the profile was
        // inlined into main.fetchResult.func1, as the compiler records it: innermost Line first.
        let mut profile = fixture();
        let inlined = function_named(&profile, "goleash.test/scenarios/internal/snap.write");
        let sender = function_named(&profile, "main.fetchResult.func1");
        let n = profile
            .location
            .iter()
            .position(|l| l.line.iter().any(|line| line.function_id == sender))
            .unwrap();
        let outer = profile.location[n].line[0].clone();
        profile.location[n].line = vec![
            pb::Line {
                function_id: inlined,
                line: 25,
                column: 0,
            },
            outer,
        ];
        let snapshot = run(&profile).unwrap();
        assert_eq!(
            stack_with(&snapshot, "main.fetchResult.func1"),
            [
                "goleash.test/scenarios/internal/snap.write",
                "main.fetchResult.func1"
            ]
        );
    }

    #[test]
    fn goexit_is_dropped_and_unknown_pcs_are_kept() {
        let mut profile = fixture();
        let goexit_name = string_index(&mut profile, "runtime.goexit");
        profile.function.push(pb::Function {
            id: 9000,
            name: goexit_name,
            system_name: goexit_name,
            ..pb::Function::default()
        });
        profile.location.push(pb::Location {
            id: 9000,
            address: 0x4711,
            line: vec![pb::Line {
                function_id: 9000,
                line: 1700,
                column: 0,
            }],
            ..pb::Location::default()
        });
        profile.location.push(pb::Location {
            id: 9001,
            address: 0xdead,
            ..pb::Location::default()
        });
        let before = stack_with(&run(&profile).unwrap(), "main.fetchResult.func1");
        for sample in &mut profile.sample {
            sample.location_id.push(9000);
        }
        let snapshot = run(&profile).unwrap();
        assert_eq!(stack_with(&snapshot, "main.fetchResult.func1"), before);

        // An unsymbolized leaf is kept as its PC, in front of the runtime's frames.
        let sender = profile
            .sample
            .iter_mut()
            .find(|s| s.value[0] == 12)
            .unwrap();
        sender.location_id.insert(0, 9001);
        let snapshot = run(&profile).unwrap();
        let group = snapshot
            .groups
            .iter()
            .find(|g| g.stats.count == 12)
            .unwrap();
        let stack: Vec<&str> = snapshot
            .frames(group.key.stack)
            .map(|f| &*f.function)
            .collect();
        assert_eq!(stack[0], "0xdead");
        assert_eq!(stack[1], "runtime.gopark");
    }

    #[test]
    fn print_names_match_the_runtime() {
        for (symbol, printed) in [
            ("main.worker", "main.worker"),
            ("main.(*T).Wait", "main.(*T).Wait"),
            ("main.Map[go.shape.string,go.shape.int]", "main.Map[...]"),
            ("main.Map[...]", "main.Map[...]"),
            ("main.(*Box[go.shape.int]).Get", "main.(*Box[...]).Get"),
            ("main.Pair[go.shape.[]int,go.shape.int]", "main.Pair[...]"),
            ("main.F[go.shape.int].func1", "main.F[...].func1"),
            ("weird[", "weird["),
            ("weird]x[", "weird]x["),
        ] {
            assert_eq!(print_name(symbol), printed, "{symbol}");
        }
    }
}
