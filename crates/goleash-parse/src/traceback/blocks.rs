//! Cutting the input into blocks at goroutine headers, so that no goroutine spans two.

use super::*;

pub(super) struct Block {
    pub(super) index: usize,
    /// The block's bytes are `data[..len]`; the rest is left over from an earlier block
    /// (buffers are reused so that their pages are not faulted in and zeroed again).
    pub(super) data: Vec<u8>,
    pub(super) len: usize,
    pub(super) last: bool,
}

impl Block {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

pub(super) struct BlockReader<'n> {
    pub(super) name: &'n str,
    pub(super) limits: Limits,
    /// The block being filled: `current[..filled]` is read input.
    pub(super) current: Vec<u8>,
    pub(super) filled: usize,
    /// Buffers of parsed blocks, to be filled again.
    pub(super) spare: Vec<Vec<u8>>,
    pub(super) returned: Option<mpsc::Receiver<Vec<u8>>>,
    pub(super) total: u64,
    pub(super) index: usize,
    pub(super) done: bool,
}

impl<'n> BlockReader<'n> {
    pub(super) fn new(name: &'n str, limits: Limits) -> Self {
        BlockReader {
            name,
            limits,
            current: Vec::new(),
            filled: 0,
            spare: Vec::new(),
            returned: None,
            total: 0,
            index: 0,
            done: false,
        }
    }

    /// Takes back the buffer of a parsed block.
    pub(super) fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare.push(buffer);
    }

    pub(super) fn fresh_buffer(&mut self) -> Vec<u8> {
        if let Some(returned) = &self.returned {
            self.spare.extend(returned.try_iter());
        }
        self.spare.pop().unwrap_or_default()
    }

    /// Reads into `current` until `filled` reaches `target` or the input ends; true at the end.
    pub(super) fn fill_to(
        &mut self,
        reader: &mut impl BufRead,
        target: usize,
    ) -> Result<bool, ParseError> {
        while self.filled < target {
            if self.filled == self.current.len() {
                // Grows (and zeroes) only what this buffer never held, so reused buffers cost
                // nothing; a new one doubles from 64 KiB so a small input zeroes little.
                let grown = (self.filled * 2).max(64 << 10).min(target);
                self.current.resize(grown, 0);
            }
            let end = self.current.len().min(target);
            let n = match reader.read(&mut self.current[self.filled..end]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ParseError::io(self.name, self.total, &e)),
            };
            if n == 0 {
                return Ok(true);
            }
            self.filled += n;
            self.total += n as u64;
            if self.total > self.limits.max_bytes {
                return Err(ParseError::new(
                    self.name,
                    Location::Offset(self.limits.max_bytes),
                    format!(
                        "the input is larger than the {}-byte limit; raise --max-bytes to read it",
                        self.limits.max_bytes
                    ),
                ));
            }
        }
        Ok(false)
    }

    /// Reads the next block, cut just before a goroutine header so that no goroutine is split.
    pub(super) fn next_block(
        &mut self,
        reader: &mut impl BufRead,
    ) -> Result<Option<Block>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let mut eof = self.filled < BLOCK && self.fill_to(reader, BLOCK)?;
        let mut cut = self.filled;
        while !eof {
            let data = &self.current[..self.filled];
            if let Some(at) = last_header_start(data) {
                cut = at;
                break;
            }
            if data.len() >= MAX_BLOCK {
                // No header in 64 MiB: either one enormous goroutine or text that is not a dump.
                // Cutting at a blank line keeps goroutine records (which end with one) whole.
                cut = memmem::rfind(data, b"\n\n")
                    .map(|i| i + 2)
                    .or_else(|| memchr::memrchr(b'\n', data).map(|i| i + 1))
                    .unwrap_or(data.len());
                break;
            }
            // Grow the block: read another BLOCK bytes before looking for a cut again.
            eof = self.fill_to(reader, self.filled + BLOCK)?;
            cut = self.filled;
        }
        if eof {
            self.done = true;
        }
        if cut == 0 && eof && self.index > 0 {
            return Ok(None);
        }
        // What follows the cut starts the next block.
        let mut next = self.fresh_buffer();
        let carry = self.filled - cut;
        if next.len() < carry {
            next.resize(carry, 0);
        }
        next[..carry].copy_from_slice(&self.current[cut..self.filled]);
        let data = std::mem::replace(&mut self.current, next);
        self.filled = carry;
        let block = Block {
            index: self.index,
            data,
            len: cut,
            last: eof,
        };
        self.index += 1;
        Ok(Some(block))
    }
}

/// The offset of the last line that starts with `goroutine ` (not counting offset 0).
pub(super) fn last_header_start(data: &[u8]) -> Option<usize> {
    memmem::rfind(data, b"\ngoroutine ").map(|i| i + 1)
}
