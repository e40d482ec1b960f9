//! Byte-level layers under the text: compression recognised by magic bytes, then text
//! encodings recognised by their byte-order mark.
//!
//! Both are decided from the first bytes alone, so a plain input costs one look at its first
//! buffer and is handed on unchanged.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// `BZh` and a block size digit, then either a block or the end-of-stream magic: "BZh" alone
/// could start a line of text.
const BZIP2_BLOCK: &[u8] = &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const BZIP2_END: &[u8] = &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

const BUFFER: usize = 1 << 16;

/// A compression format recognised by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
            Codec::Bzip2 => "bzip2",
        }
    }

    /// The codec whose magic bytes start `head`, if any.
    pub fn sniff(head: &[u8]) -> Option<Codec> {
        if head.starts_with(GZIP) {
            Some(Codec::Gzip)
        } else if head.starts_with(ZSTD) {
            Some(Codec::Zstd)
        } else if head.starts_with(XZ) {
            Some(Codec::Xz)
        } else if head.len() >= 10
            && head.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && (head[4..10] == *BZIP2_BLOCK || head[4..10] == *BZIP2_END)
        {
            Some(Codec::Bzip2)
        } else {
            None
        }
    }
}

/// Reads up to `n` bytes (fewer only at the end of input) and returns them with a reader
/// that yields them again followed by the rest: a pipe may hand over magic bytes in pieces.
pub fn peek<R: Read>(mut reader: R, n: usize) -> io::Result<(Vec<u8>, Peek<R>)> {
    let mut head = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(got) => filled += got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    let copy = head.clone();
    Ok((
        copy,
        Peek {
            head,
            at: 0,
            inner: reader,
        },
    ))
}

/// The peeked bytes, then the rest of the input. Unlike `Cursor::chain`, the read that
/// returns the last peeked bytes also fills the rest of the buffer from the input, so that a
/// reader's first `fill_buf` sees a whole buffer and not the few bytes a magic check took.
pub struct Peek<R> {
    head: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: Read> Read for Peek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.head.len() {
            return self.inner.read(buf);
        }
        let n = buf.len().min(self.head.len() - self.at);
        buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
        self.at += n;
        if n < buf.len() {
            // An error here is left for the next read to report again.
            if let Ok(more) = self.inner.read(&mut buf[n..]) {
                return Ok(n + more);
            }
        }
        Ok(n)
    }
}

/// Undoes the compression the first bytes announce (every member or frame of a concatenated
/// stream, as `cat a.gz b.gz` gives), or hands the input on unchanged.
pub fn decompress<R: Read>(reader: R) -> io::Result<(Decompressed<R>, Option<Codec>)> {
    let (head, reader) = peek(reader, 10)?;
    let codec = Codec::sniff(&head);
    let buffered = BufReader::with_capacity(BUFFER, reader);
    let decoded = match codec {
        None => Decompressed::Plain(buffered),
        Some(Codec::Gzip) => {
            Decompressed::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
        }
        Some(Codec::Zstd) => Decompressed::Zstd(ZstdFrames::new(buffered)),
        Some(Codec::Xz) => Decompressed::Xz(Box::new(lzma_rust2::XzReader::new(buffered, true))),
        Some(Codec::Bzip2) => Decompressed::Bzip2(bzip2::bufread::MultiBzDecoder::new(buffered)),
    };
    Ok((decoded, codec))
}

/// An input already in memory, decompressed: borrowed as it is when it is not compressed,
/// else decoded whole, at most `max` bytes and one more (so that the caller can tell an input
/// over its limit). Skips the streaming path's buffers, which cost more than the parse itself
/// for the small profiles a watcher fetches many times a second. A corrupt input's error comes
/// with the number of bytes decoded before it, where a streaming reader would have stopped.
pub fn decompress_bytes(bytes: &[u8], max: u64) -> Result<Cow<'_, [u8]>, (io::Error, u64)> {
    let Some(codec) = Codec::sniff(bytes) else {
        return Ok(Cow::Borrowed(bytes));
    };
    let limit = max.saturating_add(1);
    // Profiles and dumps compress 4–20×; growing from four times the input copies little.
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit as usize));
    let read = match codec {
        Codec::Gzip => flate2::bufread::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out),
        _ => match decompress(bytes) {
            Ok((decoded, _)) => decoded.take(limit).read_to_end(&mut out),
            Err(e) => Err(e),
        },
    };
    match read {
        Ok(_) => Ok(Cow::Owned(out)),
        Err(e) => Err((
            io::Error::new(e.kind(), format!("corrupt {} data: {e}", codec.name())),
            out.len() as u64,
        )),
    }
}

type Peeked<R> = BufReader<Peek<R>>;

/// A decompressing reader; `Send` when the input is.
pub enum Decompressed<R: Read> {
    Plain(Peeked<R>),
    Gzip(Box<flate2::bufread::MultiGzDecoder<Peeked<R>>>),
    Zstd(ZstdFrames<Peeked<R>>),
    Xz(Box<lzma_rust2::XzReader<Peeked<R>>>),
    Bzip2(bzip2::bufread::MultiBzDecoder<Peeked<R>>),
}

impl<R: Read> Read for Decompressed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (codec, result) = match self {
            Decompressed::Plain(r) => return r.read(buf),
            Decompressed::Gzip(r) => (Codec::Gzip, r.read(buf)),
            Decompressed::Zstd(r) => (Codec::Zstd, r.read(buf)),
            Decompressed::Xz(r) => (Codec::Xz, r.read(buf)),
            Decompressed::Bzip2(r) => (Codec::Bzip2, r.read(buf)),
        };
        // Name the codec: a decoder's own message ("invalid magic") does not say which.
        result.map_err(|e| io::Error::new(e.kind(), format!("corrupt {} data: {e}", codec.name())))
    }
}

/// Every frame of a zstd stream in turn: the streaming decoder stops after one.
pub struct ZstdFrames<R: BufRead> {
    state: ZstdState<R>,
}

enum ZstdState<R: BufRead> {
    Between(R),
    Frame(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Done,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(reader: R) -> Self {
        ZstdFrames {
            state: ZstdState::Between(reader),
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, ZstdState::Done) {
                ZstdState::Done => return Ok(0),
                ZstdState::Between(mut reader) => {
                    if reader.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    let decoder = ruzstd::decoding::StreamingDecoder::new(reader)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                    self.state = ZstdState::Frame(Box::new(decoder));
                }
                ZstdState::Frame(mut decoder) => {
                    let got = decoder.read(buf)?;
                    if got > 0 || buf.is_empty() {
                        self.state = ZstdState::Frame(decoder);
                        return Ok(got);
                    }
                    self.state = ZstdState::Between(decoder.into_inner());
                }
            }
        }
    }
}

/// A text encoding recognised by its byte-order mark (or, for UTF-16 without one, by the
/// zero bytes of ASCII text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8Bom => "UTF-8 byte-order mark",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }

    /// The encoding `head` is in, if it is not plain UTF-8 (or binary). Also returns how many
    /// bytes of mark to drop.
    pub fn sniff(head: &[u8]) -> Option<(Encoding, usize)> {
        match head {
            [0xef, 0xbb, 0xbf, ..] => Some((Encoding::Utf8Bom, 3)),
            [0xff, 0xfe, ..] => Some((Encoding::Utf16Le, 2)),
            [0xfe, 0xff, ..] => Some((Encoding::Utf16Be, 2)),
            // ASCII text with a zero byte after (or before) each character and no mark, as
            // `iconv -t UTF-16LE` and .NET's `Encoding.Unicode.GetBytes` write it.
            [a, 0, b, 0, ..] if a.is_ascii_graphic() && is_text(*b) => Some((Encoding::Utf16Le, 0)),
            [0, a, 0, b, ..] if a.is_ascii_graphic() && is_text(*b) => Some((Encoding::Utf16Be, 0)),
            _ => None,
        }
    }
}

/// A byte of ASCII text. Control bytes are left out so that binary input (a protobuf profile
/// whose first field is empty) is not taken for UTF-16.
/// Copies what `buf` takes of `out[*at..]` and moves `at` past it: the `read` of a decoder
/// that fills `out` a block at a time.
pub(crate) fn hand_out(out: &[u8], at: &mut usize, buf: &mut [u8]) -> usize {
    let n = buf.len().min(out.len() - *at);
    buf[..n].copy_from_slice(&out[*at..*at + n]);
    *at += n;
    n
}

fn is_text(b: u8) -> bool {
    b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Converts to UTF-8 whatever encoding the first bytes announce, dropping a byte-order mark.
pub fn decode_text<'a>(
    reader: impl Read + Send + 'a,
) -> io::Result<(Box<dyn Read + Send + 'a>, Option<Encoding>)> {
    let (head, mut reader) = peek(reader, 4)?;
    let Some((encoding, mark)) = Encoding::sniff(&head) else {
        return Ok((Box::new(reader), None));
    };
    io::copy(&mut (&mut reader).take(mark as u64), &mut io::sink())?;
    let decoded: Box<dyn Read + Send + 'a> = match encoding {
        Encoding::Utf8Bom => Box::new(reader),
        Encoding::Utf16Le => Box::new(Utf16::new(reader, false)),
        Encoding::Utf16Be => Box::new(Utf16::new(reader, true)),
    };
    Ok((decoded, Some(encoding)))
}

/// Streams UTF-16 as UTF-8; an unpaired surrogate becomes U+FFFD rather than an error, as a
/// garbled character in a log line should not refuse the dump around it.
struct Utf16<R> {
    inner: BufReader<R>,
    big_endian: bool,
    /// A high surrogate waiting for its pair.
    pending: Option<u16>,
    out: Vec<u8>,
    at: usize,
}

impl<R: Read> Utf16<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Utf16 {
            inner: BufReader::with_capacity(BUFFER, inner),
            big_endian,
            pending: None,
            out: Vec::with_capacity(BUFFER),
            at: 0,
        }
    }

    fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    /// Decodes the next buffer of input; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.at = 0;
        let units: Vec<u16> = {
            let data = self.inner.fill_buf()?;
            if data.is_empty() {
                if self.pending.take().is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                    return Ok(true);
                }
                return Ok(false);
            }
            if data.len() == 1 {
                // A code unit split across reads: fetch its second byte.
                let first = data[0];
                self.inner.consume(1);
                let mut second = [0u8; 1];
                if self.inner.read(&mut second)? == 0 {
                    self.push(char::REPLACEMENT_CHARACTER);
                    return Ok(true);
                }
                let pair = [first, second[0]];
                let unit = if self.big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                };
                vec![unit]
            } else {
                let even = data.len() & !1;
                let units = data[..even]
                    .chunks_exact(2)
                    .map(|p| {
                        if self.big_endian {
                            u16::from_be_bytes([p[0], p[1]])
                        } else {
                            u16::from_le_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                self.inner.consume(even);
                units
            }
        };
        let mut all = Vec::with_capacity(units.len() + 1);
        all.extend(self.pending.take());
        all.extend(units);
        // Keep a trailing high surrogate for the next buffer, where its pair may be.
        if all.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
            self.pending = all.pop();
        }
        for c in char::decode_utf16(all) {
            self.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        Ok(hand_out(&self.out, &mut self.at, buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(reader: &mut dyn Read) -> Vec<u8> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn plain_input_passes_unchanged() {
        let text = b"goroutine 1 [running]:\nmain.main()\n";
        let (mut reader, codec) = decompress(&text[..]).unwrap();
        assert_eq!(codec, None);
        assert_eq!(read_all(&mut reader), text);
        let (mut reader, encoding) = decode_text(&text[..]).unwrap();
        assert_eq!(encoding, None);
        assert_eq!(read_all(&mut reader), text);
    }

    #[test]
    fn utf16_with_and_without_mark_and_split_surrogates() {
        let text = "goroutine 1 [running]:\n\u{1F600} ok\n";
        let mut le: Vec<u8> = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be: Vec<u8> = vec![0xfe, 0xff];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for (bytes, want) in [
            (le, Encoding::Utf16Le),
            (be, Encoding::Utf16Be),
            (bare, Encoding::Utf16Le),
        ] {
            // One byte per read splits code units and surrogate pairs across refills.
            let slow = OneByte(&bytes[..]);
            let (mut reader, encoding) = decode_text(slow).unwrap();
            assert_eq!(encoding, Some(want));
            assert_eq!(String::from_utf8(read_all(&mut reader)).unwrap(), text);
        }
    }

    #[test]
    fn binary_with_zero_bytes_is_not_utf16() {
        // An empty period_type, then a varint field: protobuf, not text.
        let proto = [0x5a, 0x00, 0x08, 0x00, 0x10, 0x01];
        let (mut reader, encoding) = decode_text(&proto[..]).unwrap();
        assert_eq!(encoding, None);
        assert_eq!(read_all(&mut reader), proto);
    }

    #[test]
    fn odd_utf16_tail_is_replaced_not_refused() {
        let bytes = [0xff, 0xfe, b'g', 0, b'o', 0, 0x3d, 0xd8, b'x'];
        let (mut reader, _) = decode_text(&bytes[..]).unwrap();
        let text = String::from_utf8(read_all(&mut reader)).unwrap();
        assert!(text.starts_with("go\u{FFFD}"), "{text:?}");
    }

    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
}
