//! `[capabilities]` in site.toml: what the site's owner lets scripts reach
//! beyond their inputs (DESIGN §11). Nothing is granted by default, a
//! script declares what it uses (`needs: [fetch]`), and the host does the
//! work: a script never holds a socket.

pub mod allow_list;
pub mod fetch;
pub mod images;
mod known_sources;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[capabilities]`: what the site grants its scripts.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Capabilities {
    /// URL patterns `ctx.fetch` may read (see [`allow_list`]); empty: none.
    pub fetch: Vec<String>,
    /// How old a stored response may be before a render fetches it again,
    /// e.g. `"30m"`, `"12h"`, `"7d"`; unset: until `--refresh-remote`.
    pub fetch_max_age: Option<String>,
    /// Most time per request, redirects included, in milliseconds.
    pub fetch_timeout_ms: u64,
    /// Largest response body, in KiB.
    pub fetch_max_kb: u64,
    /// Let scripts resize, crop and convert images (`ctx.resource(...)`).
    pub images: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            fetch: Vec::new(),
            fetch_max_age: None,
            fetch_timeout_ms: 10_000,
            fetch_max_kb: 4 << 10,
            images: false,
        }
    }
}

impl Capabilities {
    /// Why these settings cannot work, if they cannot: the first pattern
    /// that is not one, an age that is not a duration, a limit out of range.
    pub fn problem(&self) -> Option<String> {
        if let Err(why) = allow_list::AllowList::new(&self.fetch) {
            return Some(format!("[capabilities] fetch: {why}"));
        }
        if let Some(Err(why)) = self.fetch_max_age.as_deref().map(parse_age) {
            return Some(format!("[capabilities] fetch_max_age: {why}"));
        }
        if !(1..=600_000).contains(&self.fetch_timeout_ms) {
            return Some(format!(
                "[capabilities] fetch_timeout_ms must be from 1 to 600000 (10 minutes), found {}",
                self.fetch_timeout_ms
            ));
        }
        if !(1..=(1 << 20)).contains(&self.fetch_max_kb) {
            return Some(format!(
                "[capabilities] fetch_max_kb must be from 1 to 1048576 (1 GiB), found {}",
                self.fetch_max_kb
            ));
        }
        None
    }

    /// `fetch_max_age` as a duration (`None`: no age limit, or unreadable,
    /// which [`Capabilities::problem`] reports).
    pub fn max_age(&self) -> Option<Duration> {
        self.fetch_max_age
            .as_deref()
            .and_then(|a| parse_age(a).ok())
    }

    /// The limits of one fetch.
    pub fn fetch_limits(&self) -> fetch::Limits {
        fetch::Limits {
            timeout: Duration::from_millis(self.fetch_timeout_ms),
            max_bytes: self.fetch_max_kb.saturating_mul(1024),
            max_age: self.max_age(),
        }
    }
}

/// A duration written as a number and a unit: `90s`, `30m`, `12h`, `7d`.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if seconds > 0 => Ok(Duration::from_secs(n.saturating_mul(seconds))),
        _ => Err(format!(
            "`{text}` is not a duration such as \"90s\", \"30m\", \"12h\" or \"7d\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_have_a_unit() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_age("7").is_err());
        assert!(parse_age("h").is_err());
        assert!(parse_age("-1h").is_err());
    }

    #[test]
    fn problems_name_the_setting() {
        let bad = Capabilities {
            fetch: vec!["example.org".into()],
            ..Capabilities::default()
        };
        assert!(bad.problem().unwrap().starts_with("[capabilities] fetch:"));
        let bad = Capabilities {
            fetch_max_age: Some("soon".into()),
            ..Capabilities::default()
        };
        assert!(bad.problem().unwrap().contains("fetch_max_age"));
        assert_eq!(Capabilities::default().problem(), None);
    }
}
