//! A secret of this machine's user, so that what the host keeps in a site's
//! `.blogmark/` is used again only if this machine wrote it.
//!
//! A site folder may come from someone else's commit, `.blogmark/site.db`
//! and `.blogmark/pages.cache` included. Their rows are HTML the host would
//! put into pages as they are: a committed database whose cached macro
//! result says `<script>…` would land in the page and the feed. Everything
//! the host reuses from there carries a tag, a keyed BLAKE3 hash under a key
//! kept in the user's cache folder (never in the site), and whatever fails
//! its tag is treated as missing: the page is rendered, the macro run, again.
//!
//! BLAKE3's keyed mode is a MAC by design. It replaced HMAC-SHA256, which
//! checked and tagged the 3 MB of pages a 1,000-post site keeps at about
//! 1.2 GB/s on one core; BLAKE3 does it at about 6 GB/s. A tag of the
//! older kind fails like any other: what it tagged is made again, once.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file holding the key, in the user's cache folder.
pub const FILE: &str = "machine.key";

/// The length of a tag, in bytes.
pub const TAG_LEN: usize = 32;

/// A tag: the keyed hash of a record under the machine's key.
pub type Tag = [u8; TAG_LEN];

/// The key that tags what the host keeps in sites' `.blogmark/` folders.
pub struct MachineKey {
    key: [u8; 32],
    /// The hasher keyed, copied for every tag: a warm render tags and
    /// checks thousands of small records.
    keyed: blake3::Hasher,
}

impl std::fmt::Debug for MachineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MachineKey(…)")
    }
}

impl MachineKey {
    /// The key of this machine's user, loaded (or made) once per process
    /// from the cache folder. Without a usable cache folder the process
    /// gets a key of its own: nothing kept is trusted, and nothing breaks.
    pub fn get() -> &'static MachineKey {
        static KEY: OnceLock<MachineKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let dir = blogmark_runtime::cache_root();
            match dir.as_deref().map(MachineKey::load_or_create) {
                Some(Ok(key)) => key,
                Some(Err(e)) => {
                    tracing::warn!(
                        "cannot keep a key in the cache folder ({e}): what this render keeps in \
                         .blogmark/ will not be reused by the next one"
                    );
                    MachineKey::random()
                }
                None => MachineKey::random(),
            }
        })
    }

    /// The key in `dir`, made there (readable by the user only) if missing.
    /// Two processes making it at once agree: the second reads the first's.
    pub fn load_or_create(dir: &Path) -> std::io::Result<MachineKey> {
        let path: PathBuf = dir.join(FILE);
        if let Some(key) = read_key(&path)? {
            return Ok(key);
        }
        std::fs::create_dir_all(dir)?;
        let key = MachineKey::random();
        let mut tmp = tempfile::Builder::new().tempfile_in(dir)?;
        tmp.write_all(&key.key)?;
        tmp.as_file().sync_all()?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(key),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path)?
                .ok_or_else(|| std::io::Error::other(format!("{} is not a key", path.display()))),
            Err(e) => Err(e.error),
        }
    }

    /// A key of this process alone.
    pub fn random() -> MachineKey {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system gives random bytes");
        MachineKey::from_bytes(key)
    }

    fn from_bytes(key: [u8; 32]) -> MachineKey {
        MachineKey {
            key,
            keyed: blake3::Hasher::new_keyed(&key),
        }
    }

    /// The tag of a record made of `parts`, in the domain `domain` (what
    /// kind of record it is, so a tag of one kind never passes for another).
    /// Each part is length-prefixed, so parts cannot be shifted into one
    /// another.
    pub fn tag(&self, domain: &str, parts: &[&[u8]]) -> Tag {
        self.mac(domain, parts).finalize().into()
    }

    /// Whether `tag` is the tag of `parts` in `domain`, compared in
    /// constant time.
    pub fn verify(&self, domain: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
        // `blake3::Hash` compares in constant time.
        <Tag>::try_from(tag)
            .is_ok_and(|tag| self.mac(domain, parts).finalize() == blake3::Hash::from_bytes(tag))
    }

    fn mac(&self, domain: &str, parts: &[&[u8]]) -> blake3::Hasher {
        let mut mac = self.keyed.clone();
        for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac
    }
}

/// The key at `path`; `None` if there is no file. A file that is not a
/// key (a link, a wrong length) is an error rather than silently replaced.
fn read_key(path: &Path) -> std::io::Result<Option<MachineKey>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(std::io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        Ok(_) => {}
    }
    let bytes = std::fs::read(path)?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| {
        std::io::Error::other(format!("{} does not hold a 32-byte key", path.display()))
    })?;
    Ok(Some(MachineKey::from_bytes(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_holds_only_for_its_domain_parts_and_key() {
        let key = MachineKey::random();
        let tag = key.tag("macro-result", &[b"k", b"<b>x</b>"]);
        assert!(key.verify("macro-result", &[b"k", b"<b>x</b>"], &tag));
        assert!(!key.verify("macro-result", &[b"k", b"<script>"], &tag));
        assert!(!key.verify("external-link", &[b"k", b"<b>x</b>"], &tag));
        // Shifting bytes from one part to the next changes the tag.
        assert!(!key.verify("macro-result", &[b"k<", b"b>x</b>"], &tag));
        assert!(!MachineKey::random().verify("macro-result", &[b"k", b"<b>x</b>"], &tag));
        assert!(!key.verify("macro-result", &[b"k", b"<b>x</b>"], &tag[..31]));
    }

    #[test]
    fn a_tag_is_the_keyed_blake3_of_its_length_prefixed_parts_and_repeats() {
        let key = MachineKey::random();
        let mut plain = Vec::new();
        for part in [&b"d"[..], b"one", b""] {
            plain.extend_from_slice(&(part.len() as u64).to_le_bytes());
            plain.extend_from_slice(part);
        }
        let expected: Tag = blake3::keyed_hash(&key.key, &plain).into();
        // The keyed state is copied, never used up: the same tag twice.
        assert_eq!(key.tag("d", &[b"one", b""]), expected);
        assert_eq!(key.tag("d", &[b"one", b""]), expected);
        assert!(key.verify("d", &[b"one", b""], &expected));
    }

    #[test]
    fn the_key_is_made_once_private_and_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = MachineKey::load_or_create(dir.path()).unwrap();
        let again = MachineKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.key, again.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn a_link_in_place_of_the_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("k"), [7u8; 32]).unwrap();
        std::os::unix::fs::symlink(other.path().join("k"), dir.path().join(FILE)).unwrap();
        assert!(MachineKey::load_or_create(dir.path()).is_err());
    }
}
