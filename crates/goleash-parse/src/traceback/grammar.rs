//! The line grammar: goroutine headers, frame and location lines, labels.

use super::*;

/// A parsed goroutine header line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header<'a> {
    pub(super) id: u64,
    /// `gp=… m=…` words: a SIGQUIT or crash traceback, which may print a goroutine twice.
    pub(super) thread_words: bool,
    pub(super) state: &'a [u8],
    pub(super) leaked: bool,
    pub(super) locked: bool,
    pub(super) wait_minutes: Option<u32>,
    pub(super) labels: Option<&'a [u8]>,
}

/// Parses `goroutine 7 [chan send, 3 minutes]:`, with the optional `gp=… m=…` words of
/// GOTRACEBACK=system|crash, `(leaked)`, `locked to thread` and a `{k: v}` label set.
pub(super) fn parse_header(line: &[u8]) -> Option<Header<'_>> {
    let rest = line.strip_prefix(b"goroutine ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let id = parse_u64(&rest[..digits])?;
    let rest = &rest[digits..];
    let open = memchr(b'[', rest)?;
    // Between the id and `[` only the `gp=0x… m=… mp=0x…` words may stand.
    if !rest[..open]
        .split(|&b| b == b' ')
        .all(|word| word.is_empty() || memchr(b'=', word).is_some())
    {
        return None;
    }
    let thread_words = memchr(b'=', &rest[..open]).is_some();
    let inside_and_after = &rest[open + 1..];
    let close = memchr(b']', inside_and_after)?;
    let status = &inside_and_after[..close];
    let after = &inside_and_after[close + 1..];
    let labels = if after == b":" {
        None
    } else {
        let labels = after.strip_prefix(b" {")?.strip_suffix(b"}:")?;
        Some(labels)
    };

    let mut parts = status.split_str(b", ");
    let mut state = parts.next()?;
    let mut leaked = false;
    loop {
        if let Some(s) = state.strip_suffix(b" (leaked)") {
            leaked = true;
            state = s;
        } else if let Some(s) = state.strip_suffix(b" (scan)") {
            state = s;
        } else {
            break;
        }
    }
    if state.is_empty() {
        return None;
    }
    let mut locked = false;
    let mut wait_minutes = None;
    for part in parts {
        if part == b"locked to thread" {
            locked = true;
        } else if let Some(n) = part.strip_suffix(b" minutes") {
            wait_minutes = Some(u32::try_from(parse_u64(n)?).unwrap_or(u32::MAX));
        }
        // Other parts (`synctest bubble N`, future additions) do not change grouping.
    }
    Some(Header {
        thread_words,
        id,
        state,
        leaked,
        locked,
        wait_minutes,
        labels,
    })
}

pub(super) trait SplitStr {
    fn split_str<'a>(&'a self, sep: &'a [u8]) -> SplitStrIter<'a>;
}

impl SplitStr for [u8] {
    fn split_str<'a>(&'a self, sep: &'a [u8]) -> SplitStrIter<'a> {
        SplitStrIter {
            rest: Some(self),
            sep,
        }
    }
}

pub(super) struct SplitStrIter<'a> {
    pub(super) rest: Option<&'a [u8]>,
    pub(super) sep: &'a [u8],
}

impl<'a> Iterator for SplitStrIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match find_short(rest, self.sep) {
            Some(i) => {
                self.rest = Some(&rest[i + self.sep.len()..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The first occurrence of `needle` in a short haystack such as one line. `memmem::find`
/// builds a searcher on every call, which costs more than the search itself on a line; this
/// jumps between occurrences of the needle's first byte instead.
pub(super) fn find_short(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    memchr::memchr_iter(first, haystack).find(|&i| haystack[i + 1..].starts_with(rest))
}

/// The last occurrence of `needle` in a short haystack; see [`find_short`].
pub(super) fn rfind_short(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(haystack.len());
    };
    memchr::memrchr_iter(first, haystack).find(|&i| haystack[i + 1..].starts_with(rest))
}

pub(super) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// The function of a frame line `pkg.Func(args)`: the text before the argument list.
/// Function names hold no spaces, which tells frames from log lines that end in `)`.
pub(super) fn function_of_call(line: &[u8]) -> Option<&[u8]> {
    if !line.ends_with(b")") {
        return None;
    }
    let open = memchr::memrchr(b'(', line)?;
    let function = &line[..open];
    if function.is_empty() || memchr(b' ', function).is_some() || function.starts_with(b"\t") {
        return None;
    }
    Some(function)
}

/// Splits `main.f in goroutine 7` into the function and the creator's id.
pub(super) fn split_creator(text: &[u8]) -> (&[u8], Option<u64>) {
    match rfind_short(text, b" in goroutine ") {
        Some(i) => (&text[..i], parse_u64(&text[i + b" in goroutine ".len()..])),
        None => (text, None),
    }
}

/// Parses `path/file.go:123 +0x1d` (the `+0x…` part and any ` fp=… sp=… pc=…` are optional).
pub(super) fn parse_location(text: &[u8]) -> Option<(&[u8], u32)> {
    let end = find_short(text, b" +0x")
        .or_else(|| find_short(text, b" fp="))
        .unwrap_or(text.len());
    let text = &text[..end];
    let colon = memchr::memrchr(b':', text)?;
    let line = parse_u64(&text[colon + 1..])?;
    let file = &text[..colon];
    if file.is_empty() {
        return None;
    }
    Some((file, u32::try_from(line).ok()?))
}

/// Parses the inside of `{tenant: a, req: "x y"}`: values are Go-quoted only when needed.
pub(super) fn parse_labels(raw: &[u8]) -> Result<Vec<Label>, String> {
    let text = String::from_utf8_lossy(raw);
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    let bad = || {
        format!(
            "malformed pprof labels {}; expected `{{key: value, …}}`",
            excerpt(raw)
        )
    };
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key = read_label_token(&mut chars, ':').ok_or_else(bad)?;
        if chars.next() != Some(':') {
            return Err(bad());
        }
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let value = read_label_token(&mut chars, ',').ok_or_else(bad)?;
        pairs.push((key.into_boxed_str(), value.into_boxed_str()));
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(bad()),
        }
    }
    Ok(pairs)
}

pub(super) fn read_label_token(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    stop: char,
) -> Option<String> {
    let mut out = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        loop {
            match chars.next()? {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'x' => {
                        let hex: String = [chars.next()?, chars.next()?].iter().collect();
                        out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                    }
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    'U' => {
                        let hex: String = (0..8).filter_map(|_| chars.next()).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
    }
    while let Some(&c) = chars.peek() {
        if c == stop {
            break;
        }
        out.push(c);
        chars.next();
    }
    // An empty key is legal: pprof.Labels("", "v") prints `{: v}`.
    Some(out.trim_end().to_string())
}
