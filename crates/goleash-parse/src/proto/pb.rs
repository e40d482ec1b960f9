//! The messages of github.com/google/pprof/proto/profile.proto, written by hand because the
//! build has no protoc, plus a small wire scanner that finds *where* a message went wrong.
//!
//! Field numbers are those of profile.proto (and of the `tag*` constants in Go's
//! runtime/pprof/proto.go, which writes these profiles). Strings are kept as bytes: the format
//! does not promise UTF-8, and a stray byte in a function name should not fail a whole profile.

/// A whole profile. All strings are indices into `string_table`, whose entry 0 is "".
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_table: Vec<Vec<u8>>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
    #[prost(int64, tag = "15")]
    pub doc_url: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// One distinct (stack, labels) of a goroutine profile; `value[0]` counts its goroutines.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Sample {
    /// Leaf first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// One PC. Several `line`s mean inlining: `line[0]` is the innermost (leaf-most) function and
/// the last line is the real function the others were inlined into.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
    #[prost(int64, tag = "3")]
    pub column: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// Field numbers of `Profile`, for error messages and offsets.
pub(crate) const TAG_SAMPLE_TYPE: u32 = 1;
pub(crate) const TAG_SAMPLE: u32 = 2;
pub(crate) const TAG_LOCATION: u32 = 4;
pub(crate) const TAG_FUNCTION: u32 = 5;

/// What a top-level `Profile` field holds, by field number.
pub(crate) fn field_name(tag: u32) -> &'static str {
    match tag {
        1 => "sample_type",
        2 => "sample",
        3 => "mapping",
        4 => "location",
        5 => "function",
        6 => "string_table",
        7 => "drop_frames",
        8 => "keep_frames",
        9 => "time_nanos",
        10 => "duration_nanos",
        11 => "period_type",
        12 => "period",
        13 => "comment",
        14 => "default_sample_type",
        15 => "doc_url",
        _ => "unknown field",
    }
}

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_FIXED32: u8 = 5;

/// One top-level field of an encoded `Profile`.
pub(crate) struct Field<'a> {
    pub tag: u32,
    pub wire: u8,
    /// Byte offset of the field's key.
    pub offset: usize,
    /// The bytes of a length-delimited field; empty for the other wire types.
    pub payload: &'a [u8],
}

/// Where and why the top-level framing of a `Profile` is broken.
pub(crate) struct Broken {
    pub offset: usize,
    pub why: String,
}

/// Walks the top-level fields of an encoded `Profile` without decoding them. prost says what
/// failed but not where; this walk is only run on the error path, to name a byte offset.
pub(crate) struct TopLevel<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

pub(crate) fn top_level(data: &[u8]) -> TopLevel<'_> {
    TopLevel {
        data,
        pos: 0,
        done: false,
    }
}

impl<'a> Iterator for TopLevel<'a> {
    type Item = Result<Field<'a>, Broken>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.data.len() {
            return None;
        }
        let result = self.step();
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

impl<'a> TopLevel<'a> {
    fn step(&mut self) -> Result<Field<'a>, Broken> {
        let offset = self.pos;
        let broken = |why: String| Broken { offset, why };
        let key = read_varint(self.data, &mut self.pos)
            .ok_or_else(|| broken("truncated or overlong field key".to_string()))?;
        let wire = (key & 7) as u8;
        let tag = u32::try_from(key >> 3).unwrap_or(u32::MAX);
        if tag == 0 {
            return Err(broken("field number 0 is not valid".to_string()));
        }
        let mut payload: &'a [u8] = &[];
        match wire {
            WIRE_VARINT => {
                read_varint(self.data, &mut self.pos).ok_or_else(|| {
                    broken(format!(
                        "{} (field {tag}): truncated varint",
                        field_name(tag)
                    ))
                })?;
            }
            WIRE_FIXED64 | WIRE_FIXED32 => {
                let width = if wire == WIRE_FIXED64 { 8 } else { 4 };
                self.pos = self
                    .pos
                    .checked_add(width)
                    .filter(|&end| end <= self.data.len())
                    .ok_or_else(|| {
                        broken(format!("{} (field {tag}): truncated", field_name(tag)))
                    })?;
            }
            WIRE_LEN => {
                let len = read_varint(self.data, &mut self.pos).ok_or_else(|| {
                    broken(format!(
                        "{} (field {tag}): truncated length",
                        field_name(tag)
                    ))
                })?;
                let start = self.pos;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| start.checked_add(len))
                    .filter(|&end| end <= self.data.len())
                    .ok_or_else(|| {
                        broken(format!(
                            "{} (field {tag}) claims {len} bytes but only {} remain; the \
                             profile looks truncated",
                            field_name(tag),
                            self.data.len() - start
                        ))
                    })?;
                payload = &self.data[start..end];
                self.pos = end;
            }
            other => {
                return Err(broken(format!(
                    "{} (field {tag}) has wire type {other}, which profile.proto never uses",
                    field_name(tag)
                )))
            }
        }
        Ok(Field {
            tag,
            wire,
            offset,
            payload,
        })
    }
}

/// The wire type profile.proto gives a top-level field, if the field is known.
pub(crate) fn expected_wire(tag: u32) -> Option<u8> {
    match tag {
        1..=6 | 11 => Some(WIRE_LEN),
        7..=10 | 12 | 14 | 15 => Some(WIRE_VARINT),
        _ => None,
    }
}

/// Whether `wire` is acceptable for `tag`: `comment` may be packed (LEN) or not (VARINT).
pub(crate) fn wire_fits(tag: u32, wire: u8) -> bool {
    match (tag, expected_wire(tag)) {
        (13, _) => wire == WIRE_LEN || wire == WIRE_VARINT,
        (_, Some(expected)) => wire == expected,
        (_, None) => true,
    }
}

/// Decodes a base-128 varint at `*pos`, advancing it; `None` if truncated or longer than 10 bytes.
fn read_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let byte = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The byte offset of the `n`-th (0-based) occurrence of top-level field `tag`, or 0 if the
/// walk cannot find it.
pub(crate) fn nth_field_offset(data: &[u8], tag: u32, n: usize) -> u64 {
    top_level(data)
        .map_while(Result::ok)
        .filter(|field| field.tag == tag)
        .nth(n)
        .map_or(0, |field| field.offset as u64)
}
