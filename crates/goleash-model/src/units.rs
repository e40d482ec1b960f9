//! The units people write in flags and in `goleash.toml`: durations (`500ms`, `10s`, `7d`)
//! and sizes (`64M`, `4G`), one grammar each for every command and every config table.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// `500ms`, `10s`, `5m`, `2h`, `7d`; a bare number is seconds. Zero is allowed (`--retry 0`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; expected e.g. 500ms, 10s, 5m, 2h, 7d"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`; expected ms, s, m, h or d"
            ))
        }
    };
    if !seconds.is_finite() || seconds > 1e9 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration that must not be zero (an interval, a timeout, a window).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!("`{text}` must be more than zero"));
    }
    Ok(d)
}

/// `4096`, `500K`, `64M`, `4G`, `1T` (powers of 1024; `MB`, `MiB` read the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size; expected a number like 500M or 4G"))?;
    let shift = match scale
        .to_ascii_uppercase()
        .trim_end_matches("B")
        .trim_end_matches('I')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; expected K, M, G or T"
            ))
        }
    };
    value
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// `deserialize_with` helpers, so a bad value in `goleash.toml` is refused with its line by
/// the same grammar the flags use.
pub mod config {
    use super::*;

    fn with<'de, D, T>(
        deserializer: D,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
    {
        let text = String::deserialize(deserializer)?;
        parse(&text).map(Some).map_err(serde::de::Error::custom)
    }

    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        with(d, parse_duration)
    }

    pub fn positive_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        with(d, parse_positive_duration)
    }

    pub fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        with(d, parse_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_duration_grammar() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e99s").is_err());
    }

    #[test]
    fn one_size_grammar() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert!(parse_size("4X").is_err());
        assert!(parse_size("99999999T").is_err());
    }
}
