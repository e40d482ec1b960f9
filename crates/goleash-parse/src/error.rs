use std::fmt;

/// Where in a source a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a text input.
    Line(u64),
    /// Byte offset of a binary input (after decompression).
    Offset(u64),
}

/// A parse failure: which source, where, and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub source: String,
    pub location: Location,
    pub message: String,
}

impl ParseError {
    pub fn new(source: &str, location: Location, message: impl Into<String>) -> ParseError {
        ParseError {
            source: source.to_string(),
            location,
            message: message.into(),
        }
    }

    pub fn io(source: &str, offset: u64, error: &std::io::Error) -> ParseError {
        let message = match error.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                format!("corrupt compressed data ({error}); expected a complete gzip stream")
            }
            std::io::ErrorKind::UnexpectedEof => {
                format!("the input ends early ({error}); expected a complete stream")
            }
            _ => format!("read failed: {error}"),
        };
        ParseError::new(source, Location::Offset(offset), message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::Line(line) => write!(f, "{}:{}: {}", self.source, line, self.message),
            Location::Offset(offset) => {
                write!(f, "{}: at byte {}: {}", self.source, offset, self.message)
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Shows a short, printable excerpt of bad input inside an error message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let cut = &bytes[..bytes.len().min(MAX)];
    let mut text: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if bytes.len() > MAX {
        text.push('…');
    }
    format!("{text:?}")
}
