//! Inline suppressions: `//goleash:ignore GL001[,GL002] reason` and golangci-lint's
//! `//nolint:goleash // reason`, on the finding's line or on the line above it.

use tree_sitter::Node;

use crate::syntax::LineIndex;

#[derive(Debug)]
pub(crate) struct Suppression {
    /// Empty means every goleash code (the `nolint` form).
    pub codes: Vec<String>,
    pub has_reason: bool,
    /// Lines (1-based) the suppression covers.
    pub lines: (usize, usize),
    pub comment: (usize, usize),
    pub used: bool,
}

impl Suppression {
    pub(crate) fn covers(&self, code: &str, line: usize) -> bool {
        (line == self.lines.0 || line == self.lines.1)
            && (self.codes.is_empty() || self.codes.iter().any(|c| c.eq_ignore_ascii_case(code)))
    }
}

pub(crate) fn collect(comments: &[Node<'_>], src: &str, lines: &LineIndex) -> Vec<Suppression> {
    let mut out = Vec::new();
    for &node in comments {
        let Some(comment) = src.get(node.start_byte()..node.end_byte()) else {
            continue;
        };
        let Some(body) = comment.strip_prefix("//") else {
            continue;
        };
        let Some((codes, has_reason)) = parse(body) else {
            continue;
        };
        let (line, column) = lines.line_col(node.start_byte());
        let line_text = lines.line_text(src, line);
        let trailing = line_text
            .get(..column.saturating_sub(1))
            .map(|before| !before.trim().is_empty())
            .unwrap_or(false);
        // A trailing comment speaks for its own line; a comment on a line of its own speaks
        // for the next line.
        let covered = if trailing {
            (line, line)
        } else {
            (line, line + 1)
        };
        out.push(Suppression {
            codes,
            has_reason,
            lines: covered,
            comment: (node.start_byte(), node.end_byte()),
            used: false,
        });
    }
    out
}

/// `Some((codes, has_reason))` when the comment body is a goleash suppression.
fn parse(body: &str) -> Option<(Vec<String>, bool)> {
    let trimmed = body.trim_start();
    if let Some(rest) = trimmed.strip_prefix("goleash:ignore") {
        let rest = rest.trim_start();
        let mut codes = Vec::new();
        let mut remainder = rest;
        // Codes come first, separated by commas or spaces; the reason is whatever follows.
        loop {
            let token_end = remainder
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(remainder.len());
            let token = &remainder[..token_end];
            if is_code(token) {
                codes.push(token.to_ascii_uppercase());
                remainder = remainder[token_end..]
                    .trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            } else {
                break;
            }
        }
        let reason = remainder.trim().trim_start_matches(['-', ':']).trim();
        return Some((codes, !reason.is_empty()));
    }
    if let Some(rest) = trimmed.strip_prefix("nolint:") {
        let (list, reason) = match rest.find("//") {
            Some(i) => (&rest[..i], rest[i + 2..].trim()),
            None => (rest, ""),
        };
        let names_goleash = list
            .split([',', ' '])
            .map(str::trim)
            .any(|name| name.eq_ignore_ascii_case("goleash"));
        if names_goleash {
            return Some((Vec::new(), !reason.is_empty()));
        }
    }
    None
}

fn is_code(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes.len() == 5
        && bytes[..2].eq_ignore_ascii_case(b"GL")
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_forms() {
        assert_eq!(
            parse("goleash:ignore GL001 started once"),
            Some((vec!["GL001".into()], true))
        );
        assert_eq!(
            parse("goleash:ignore GL001,GL007"),
            Some((vec!["GL001".into(), "GL007".into()], false))
        );
        assert_eq!(parse("nolint:goleash // daemon"), Some((vec![], true)));
        assert_eq!(parse("nolint:errcheck,goleash"), Some((vec![], false)));
        assert_eq!(parse("nolint:errcheck"), None);
        assert_eq!(parse(" plain comment"), None);
    }
}
