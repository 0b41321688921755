//! Resource limits of one sandboxed call.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Every bound the host enforces on one request. The guest cannot raise any
/// of them: each is checked by wasmtime or by the host's own I/O.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock budget, enforced by epoch interruption (and by the virtual
    /// clock for a guest that sleeps).
    pub timeout: Duration,
    /// Fuel budget: roughly one unit per WebAssembly instruction.
    pub fuel: u64,
    /// Largest linear memory the guest may grow to, in bytes.
    pub memory_bytes: usize,
    /// Largest result document (HTML, post, ...) accepted from the guest.
    pub output_bytes: usize,
    /// Largest stdout plus stderr a call may write; writing more fails the call.
    pub stdout_bytes: usize,
    /// Largest request document sent to the guest.
    pub input_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(1_000),
            fuel: 5_000_000_000,
            memory_bytes: 256 << 20,
            output_bytes: 4 << 20,
            stdout_bytes: 256 << 10,
            input_bytes: Limits::DEFAULT_INPUT_BYTES,
        }
    }
}

impl Limits {
    /// The default, and the largest, request document: a site's ceiling
    /// keeps it, so no call takes an answer larger than this.
    pub const DEFAULT_INPUT_BYTES: usize = 4 << 20;

    /// The tighter of `self` and `ceiling`, field by field: a script may ask
    /// for less than the site allows, never more.
    pub fn capped_by(&self, ceiling: &Limits) -> Limits {
        Limits {
            timeout: self.timeout.min(ceiling.timeout),
            fuel: self.fuel.min(ceiling.fuel),
            memory_bytes: self.memory_bytes.min(ceiling.memory_bytes),
            output_bytes: self.output_bytes.min(ceiling.output_bytes),
            stdout_bytes: self.stdout_bytes.min(ceiling.stdout_bytes),
            input_bytes: self.input_bytes.min(ceiling.input_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capping_takes_the_smaller_of_each_field() {
        let script = Limits {
            timeout: Duration::from_millis(50),
            fuel: u64::MAX,
            ..Limits::default()
        };
        let site = Limits {
            memory_bytes: 1 << 20,
            ..Limits::default()
        };
        let capped = script.capped_by(&site);
        assert_eq!(capped.timeout, Duration::from_millis(50));
        assert_eq!(capped.fuel, Limits::default().fuel);
        assert_eq!(capped.memory_bytes, 1 << 20);
    }
}
