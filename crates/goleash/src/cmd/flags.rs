//! Flags and value parsers that more than one command takes, defined once.

use std::time::Duration;

use clap::{Args, ValueEnum};
use goleash_watch::state::SloRule;
use goleash_watch::trend::TrendParams;

pub use goleash_model::units::{parse_duration, parse_positive_duration, parse_size};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--color`, the same for every command.
#[derive(Args, Debug, Clone, Copy)]
pub struct ColorFlag {
    /// Colour: `auto` (only when the report goes to a terminal and NO_COLOR is unset),
    /// `always`, `never`. Example: `--color never`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

impl ColorFlag {
    /// Whether to colour a report written to a stream that is (or is not) a terminal.
    pub fn enabled(self, to_terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// How growth is judged: the same flags for `watch` and `history trend`.
#[derive(Args, Debug, Clone)]
pub struct TrendFlags {
    /// The sliding window the trends are judged over, e.g. `--window 30m`.
    #[arg(long, default_value = "30m", value_parser = parse_positive_duration, value_name = "DURATION")]
    pub window: Duration,

    /// Scrapes needed in the window before a trend is judged, e.g. `--min-samples 10`.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub min_samples: usize,

    /// Time the window must span before a trend is judged, e.g. `--min-span 5m`: growth seen
    /// over a shorter span cannot be told from a load ramp.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub min_span: Duration,

    /// Goroutines a group must gain over the window to count as growing, e.g. `--min-rise 5`.
    #[arg(long, default_value_t = 5.0, value_name = "N")]
    pub min_rise: f64,

    /// Significance of the Mann–Kendall growth test, e.g. `--alpha 0.01`.
    #[arg(long, default_value_t = 0.01, value_name = "P")]
    pub alpha: f64,

    /// The largest share of its rise a growing group may give back and still be a leak,
    /// e.g. `--max-giveback 0.1`; more means it follows load.
    #[arg(long, default_value_t = 0.1, value_name = "FRACTION")]
    pub max_giveback: f64,

    /// SLO rule: alert when a target's goroutine total grows faster than N per minute over
    /// --alert-for minutes and some stack of it is a leak suspect (a load ramp, whose stacks
    /// rise and fall, does not fire), e.g. `--alert-growth 50`.
    #[arg(long, value_name = "N")]
    pub alert_growth: Option<f64>,

    /// The span of the --alert-growth rule in minutes, e.g. `--alert-for 10`.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "MINUTES",
        requires = "alert_growth"
    )]
    pub alert_for: f64,
}

impl TrendFlags {
    /// Rejects settings under which no trend could ever be judged.
    pub fn check(&self) -> Result<(), String> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(format!("--alpha {} must be between 0 and 1", self.alpha));
        }
        if self.window < self.min_span {
            return Err(format!(
                "--window {:?} is shorter than --min-span {:?}: no trend could ever be judged",
                self.window, self.min_span
            ));
        }
        if !(0.0..=1.0).contains(&self.max_giveback) {
            return Err(format!(
                "--max-giveback {} must be between 0 and 1",
                self.max_giveback
            ));
        }
        if !(self.alert_for > 0.0 && self.alert_for.is_finite()) {
            return Err(format!(
                "--alert-for {} must be more than zero",
                self.alert_for
            ));
        }
        Ok(())
    }

    pub fn params(&self) -> TrendParams {
        TrendParams {
            min_samples: self.min_samples.max(3),
            min_span_ms: i64::try_from(self.min_span.as_millis()).unwrap_or(i64::MAX),
            alpha: self.alpha,
            min_rise: self.min_rise,
            max_giveback: self.max_giveback,
        }
    }

    pub fn slo(&self) -> Option<SloRule> {
        self.alert_growth.map(|per_minute| SloRule {
            per_minute,
            minutes: self.alert_for,
        })
    }
}

/// How targets are reached when they are not plain HTTP on a trusted network.
#[derive(Args, Debug, Clone, Default)]
pub struct AccessFlags {
    /// Trust the server certificates signed by these CAs (PEM), e.g. `--ca-file ca.pem`.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,

    /// Client certificate (PEM chain) for mutual TLS, with --key-file, e.g.
    /// `--cert-file client.pem --key-file client.key`.
    #[arg(long, value_name = "FILE", requires = "key_file")]
    pub cert_file: Option<std::path::PathBuf>,

    /// The client certificate's private key (PEM), e.g. `--key-file client.key`.
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    pub key_file: Option<std::path::PathBuf>,

    /// Do not verify the targets' certificates (self-signed test setups only).
    #[arg(long)]
    pub insecure_skip_verify: bool,

    /// Send `Authorization: Bearer <the file's content>` to every target; the file is read on
    /// every request, so a rotated token is picked up, e.g. `--bearer-token-file /var/run/token`.
    #[arg(long, value_name = "FILE")]
    pub bearer_token_file: Option<std::path::PathBuf>,

    /// An extra request header (repeatable), e.g. `--header 'X-Scope-OrgID: team-a'`.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
}

impl AccessFlags {
    pub fn options(&self) -> goleash_source::http::AccessOptions {
        goleash_source::http::AccessOptions {
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            bearer_token_file: self.bearer_token_file.clone(),
            headers: self.headers.clone(),
        }
    }
}

/// `Name: value` (or `Name=value`).
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .or_else(|| text.split_once('='))
        .ok_or_else(|| format!("`{text}`: expected `Name: value`"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("`{text}`: `{name}` is not a header name"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}
