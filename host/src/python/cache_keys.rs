//! The keys a result is stored under in the persistent cache.
//!
//! A call is deterministic: its result depends only on the script's
//! source, the guest build, its limits and the request document (the
//! guest's clock reads the build timestamp, its randomness is seeded from
//! the request, it has no files or network), plus the call's position and
//! the build clock when the guest asked for them (they reach the guest by
//! no other way, and the runtime records the asking). A key hashes exactly
//! those.

use super::Limits;
use blogmark_runtime::CallSite;
use sha2::{Digest, Sha256};

/// The keys one request's result may be stored under: the request alone,
/// or with the call's position, the build clock, or both, whichever the run
/// asked for.
pub(super) struct CacheKeys<'a> {
    request: Sha256,
    site: Option<&'a CallSite>,
    clock: u64,
}

/// What a key is made of, besides what the run asked for.
pub(super) struct KeyParts<'a> {
    /// The script's content hash.
    pub script_hash: &'a str,
    /// The guest build id.
    pub build_id: &'a str,
    /// The limits the request runs under.
    pub limits: &'a Limits,
    /// The request document, as sent.
    pub request_json: &'a str,
    /// The build clock, in seconds since the epoch.
    pub clock_secs: u64,
}

impl<'a> CacheKeys<'a> {
    pub(super) fn new(parts: &KeyParts<'_>, site: Option<&'a CallSite>) -> Self {
        let limits = parts.limits;
        // A result that needed more than a tighter limit allows must not be
        // reused under that limit.
        let limits: Vec<u8> = [
            u64::try_from(limits.timeout.as_micros()).unwrap_or(u64::MAX),
            limits.fuel,
            limits.memory_bytes as u64,
            limits.output_bytes as u64,
            limits.stdout_bytes as u64,
            limits.input_bytes as u64,
        ]
        .iter()
        .flat_map(|n| n.to_le_bytes())
        .collect();
        let mut hasher = Sha256::new();
        for part in [
            parts.script_hash.as_bytes(),
            parts.build_id.as_bytes(),
            &limits,
            parts.request_json.as_bytes(),
        ] {
            update(&mut hasher, part);
        }
        CacheKeys {
            request: hasher,
            site,
            clock: parts.clock_secs,
        }
    }

    /// The key of a run that read the position (when the call has one) and
    /// the clock, as said.
    pub(super) fn key(&self, position: bool, clock: bool) -> String {
        let mut hasher = self.request.clone();
        match self.site.filter(|_| position) {
            Some(site) => {
                update(&mut hasher, b"position");
                update(&mut hasher, site.file.as_bytes());
                update(&mut hasher, &site.line.to_le_bytes());
                update(&mut hasher, &site.column.to_le_bytes());
            }
            None => update(&mut hasher, b"-"),
        }
        if clock {
            update(&mut hasher, b"clock");
            update(&mut hasher, &self.clock.to_le_bytes());
        } else {
            update(&mut hasher, b"-");
        }
        hex::encode(hasher.finalize())
    }

    /// Every key a stored result of this request may have.
    pub(super) fn all(&self) -> impl Iterator<Item = String> + '_ {
        let positions: &[bool] = if self.site.is_some() {
            &[false, true]
        } else {
            &[false]
        };
        positions
            .iter()
            .flat_map(move |&p| [(p, false), (p, true)])
            .map(|(p, c)| self.key(p, c))
    }
}

/// Length-prefixed, so that no two sequences of parts hash alike.
fn update(hasher: &mut Sha256, part: &[u8]) {
    hasher.update((part.len() as u64).to_le_bytes());
    hasher.update(part);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    fn site(line: u32) -> CallSite {
        CallSite {
            file: "content/posts/a.md".into(),
            line,
            column: 3,
        }
    }

    fn parts<'a>(limits: &'a Limits, request_json: &'a str) -> KeyParts<'a> {
        KeyParts {
            script_hash: "script-hash",
            build_id: "guest-build",
            limits,
            request_json,
            clock_secs: 1_700_000_000,
        }
    }

    fn key_of(parts: &KeyParts<'_>) -> String {
        CacheKeys::new(parts, None).key(false, false)
    }

    #[test]
    fn equal_inputs_give_equal_keys() {
        let limits = Limits::default();
        let (one, same) = (site(1), site(1));
        let a = CacheKeys::new(&parts(&limits, "{}"), Some(&one));
        let b = CacheKeys::new(&parts(&limits, "{}"), Some(&same));
        for (p, c) in [(false, false), (true, false), (false, true), (true, true)] {
            assert_eq!(a.key(p, c), b.key(p, c));
        }
    }

    #[test]
    fn every_part_of_the_request_changes_the_key() {
        let limits = Limits::default();
        let base = key_of(&parts(&limits, "{}"));
        let other_script = KeyParts {
            script_hash: "other",
            ..parts(&limits, "{}")
        };
        let other_build = KeyParts {
            build_id: "other",
            ..parts(&limits, "{}")
        };
        let tighter = Limits {
            timeout: Duration::from_millis(5),
            ..Limits::default()
        };
        let less_fuel = Limits {
            fuel: 1,
            ..Limits::default()
        };
        let keys = [
            base.clone(),
            key_of(&other_script),
            key_of(&other_build),
            key_of(&parts(&tighter, "{}")),
            key_of(&parts(&less_fuel, "{}")),
            key_of(&parts(&limits, "{\"a\":1}")),
        ];
        let distinct: HashSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn parts_do_not_run_into_each_other() {
        let limits = Limits::default();
        let a = KeyParts {
            script_hash: "ab",
            build_id: "c",
            ..parts(&limits, "{}")
        };
        let b = KeyParts {
            script_hash: "a",
            build_id: "bc",
            ..parts(&limits, "{}")
        };
        assert_ne!(key_of(&a), key_of(&b));
    }

    #[test]
    fn the_position_counts_only_for_runs_that_read_it() {
        let limits = Limits::default();
        let json = "{}";
        let (one, two) = (site(1), site(2));
        let line_1 = CacheKeys::new(&parts(&limits, json), Some(&one));
        let line_2 = CacheKeys::new(&parts(&limits, json), Some(&two));
        assert_eq!(line_1.key(false, false), line_2.key(false, false));
        assert_ne!(line_1.key(true, false), line_2.key(true, false));
        assert_ne!(line_1.key(true, false), line_1.key(false, false));
    }

    #[test]
    fn the_clock_counts_only_for_runs_that_read_it() {
        let limits = Limits::default();
        let json = "{}";
        let now = CacheKeys::new(&parts(&limits, json), None);
        let later = CacheKeys::new(
            &KeyParts {
                clock_secs: 1_800_000_000,
                ..parts(&limits, json)
            },
            None,
        );
        assert_eq!(now.key(false, false), later.key(false, false));
        assert_ne!(now.key(false, true), later.key(false, true));
    }

    #[test]
    fn a_call_without_a_position_has_two_keys_and_one_with_it_four() {
        let limits = Limits::default();
        let without = CacheKeys::new(&parts(&limits, "{}"), None);
        let one = site(1);
        let with = CacheKeys::new(&parts(&limits, "{}"), Some(&one));
        let without: HashSet<String> = without.all().collect();
        let with: HashSet<String> = with.all().collect();
        assert_eq!((without.len(), with.len()), (2, 4));
        assert!(without.is_subset(&with), "position-free keys are shared");
    }
}
