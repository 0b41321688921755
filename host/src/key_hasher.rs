//! Keys and digests made of several parts.

use sha2::{Digest, Sha256};

/// A SHA-256 of length-prefixed parts, so that no two sequences of parts
/// hash alike.
#[derive(Clone)]
pub(crate) struct KeyHasher(Sha256);

impl KeyHasher {
    /// An empty hasher.
    pub(crate) fn new() -> Self {
        KeyHasher(Sha256::new())
    }

    /// Add `bytes` as one part.
    pub(crate) fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The hash, in hex.
    pub(crate) fn finish(self) -> String {
        hex::encode(self.digest())
    }

    /// The hash as bytes.
    pub(crate) fn digest(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}
