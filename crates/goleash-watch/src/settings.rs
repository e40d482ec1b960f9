//! The `[watch]` table of `goleash.toml`: the same settings as `goleash watch`'s flags, under
//! the same names, so a watcher's setup lives in a file next to the other commands' settings.
//! A flag given on the command line wins over the table; the table wins over the defaults.

use std::path::PathBuf;
use std::time::Duration;

use goleash_model::units::config;
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WatchSettings {
    /// A file_sd target file; relative to the directory of `goleash.toml`.
    pub targets: Option<PathBuf>,
    #[serde(default, deserialize_with = "config::positive_duration")]
    pub interval: Option<Duration>,
    #[serde(default, deserialize_with = "config::positive_duration")]
    pub timeout: Option<Duration>,
    #[serde(default, deserialize_with = "config::size")]
    pub max_bytes: Option<u64>,
    pub concurrency: Option<usize>,
    pub full_every: Option<u64>,
    pub leak_profile: Option<bool>,
    /// The history file; relative to the directory of `goleash.toml`.
    pub db: Option<PathBuf>,
    #[serde(default, deserialize_with = "config::duration")]
    pub retention: Option<Duration>,
    #[serde(default)]
    pub webhooks: Vec<String>,
    #[serde(default, deserialize_with = "config::positive_duration")]
    pub webhook_resend: Option<Duration>,
    #[serde(default, deserialize_with = "config::duration")]
    pub refresh: Option<Duration>,
    pub listen: Option<std::net::SocketAddr>,
    #[serde(default, deserialize_with = "config::positive_duration")]
    pub window: Option<Duration>,
    pub min_samples: Option<usize>,
    #[serde(default, deserialize_with = "config::duration")]
    pub min_span: Option<Duration>,
    pub min_rise: Option<f64>,
    pub alpha: Option<f64>,
    pub max_giveback: Option<f64>,
    pub alert_growth: Option<f64>,
    pub alert_for: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_watch_table_with_the_flags_units() {
        let s: WatchSettings = toml::from_str(
            "interval = \"2s\"\nmax-bytes = \"8M\"\nwebhooks = [\"http://127.0.0.1:9093/api/v2/alerts\"]\n\
             listen = \"127.0.0.1:9102\"\nmin-samples = 6\nalert-growth = 50.0\n",
        )
        .unwrap();
        assert_eq!(s.interval, Some(Duration::from_secs(2)));
        assert_eq!(s.max_bytes, Some(8 << 20));
        assert_eq!(s.webhooks.len(), 1);
        assert_eq!(s.min_samples, Some(6));
        let zero = toml::from_str::<WatchSettings>("\n\ninterval = \"0s\"\n").unwrap_err();
        assert!(zero.to_string().contains("line 3"), "{zero}");
        let key = toml::from_str::<WatchSettings>("intervals = \"1s\"\n").unwrap_err();
        assert!(key.to_string().contains("interval"), "{key}");
    }
}
