//! The data of the last render, kept by `host serve`: a render after an
//! edit elsewhere takes the whole tree as it was, and one after a data edit
//! reads and parses again only the files the edit touched.
//!
//! What changed is what the file watcher reports, as for the kept content
//! ([`crate::content::KeptContent`]): a path under `data/` (a file, or a
//! folder and so everything in it), or the site itself or a path outside
//! it (a watch that lost events), and every file is read again.

use super::{DataTree, FOLDER, Loaded};
use crate::diagnostics::Diagnostic;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Data kept between renders (see the module's documentation).
#[derive(Default)]
pub struct KeptData(Mutex<Kept>);

impl std::fmt::Debug for KeptData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptData(..)")
    }
}

#[derive(Default)]
struct Kept {
    /// The last load: the site it read, the tree and what loading said.
    last: Option<(PathBuf, Arc<DataTree>, Vec<Diagnostic>)>,
    /// Its walk of `data/` and every file it read.
    loaded: Loaded,
    /// What changed since (under `data/`, relative to the site): a set, as
    /// every data file is checked against it (see `touched`).
    changed: BTreeSet<String>,
    /// Whether anything may have changed (a lost watch, the whole site).
    everything: bool,
}

impl Kept {
    /// Whether the files under `data/` are still those the last walk found:
    /// every change the watcher reported was to one of them, and each is
    /// still a file (a file made, removed or replaced by a link or a
    /// folder, a hidden one or a folder changed: walked again).
    fn same_files(&self, root: &Path) -> bool {
        !self.everything
            && self.changed.iter().all(|changed| {
                self.loaded.files.contains_key(changed)
                    && std::fs::symlink_metadata(root.join(changed)).is_ok_and(|m| m.is_file())
            })
    }

    /// Whether `file` (relative to the site) is one of the changed paths
    /// or lies in a changed folder.
    fn touched(&self, file: &str) -> bool {
        self.changed.contains(file)
            || file
                .match_indices('/')
                .any(|(at, _)| self.changed.contains(&file[..at]))
    }
}

impl KeptData {
    /// Note that the files at `paths` (absolute, under the site `root`)
    /// changed.
    pub fn changed(&self, root: &Path, paths: &[PathBuf]) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for path in paths {
            match path.strip_prefix(root) {
                Ok(relative) if relative.starts_with(FOLDER) => match relative.to_str() {
                    Some(relative) => {
                        kept.changed.insert(relative.to_owned());
                    }
                    None => kept.everything = true,
                },
                Ok(relative) if !relative.as_os_str().is_empty() => {}
                _ => kept.everything = true,
            }
        }
    }

    /// The site's data: the kept tree when nothing under `data/` changed
    /// since, else a new load of `root` that reads only the files that
    /// changed (and those it had not read), kept.
    pub fn load(&self, root: &Path) -> (Arc<DataTree>, Vec<Diagnostic>) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let same_site = kept.last.as_ref().is_some_and(|(last, ..)| last == root);
        if !same_site {
            kept.everything = true;
        }
        if !kept.everything
            && kept.changed.is_empty()
            && let Some((_, tree, diagnostics)) = &kept.last
        {
            return (tree.clone(), diagnostics.clone());
        }
        let (tree, diagnostics, loaded) = if kept.everything {
            DataTree::load_reusing(root, None, None, |_| None)
        } else {
            let walked = kept
                .same_files(root)
                .then(|| kept.loaded.walked.clone())
                .flatten();
            let kept = &*kept;
            DataTree::load_reusing(root, walked, None, |file| {
                (!kept.touched(file))
                    .then(|| kept.loaded.files.get(file).cloned())
                    .flatten()
            })
        };
        let tree = Arc::new(tree);
        *kept = Kept {
            last: Some((root.to_path_buf(), tree.clone(), diagnostics.clone())),
            loaded,
            changed: BTreeSet::new(),
            everything: false,
        };
        (tree, diagnostics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/books")).unwrap();
        std::fs::write(dir.path().join("data/books/a.toml"), "title = \"A\"\n").unwrap();
        std::fs::write(dir.path().join("data/books/b.json"), r#"{"title": "B"}"#).unwrap();
        std::fs::write(dir.path().join("data/site.yaml"), "name: S\n").unwrap();
        dir
    }

    fn value(tree: &DataTree, path: &[&str]) -> serde_json::Value {
        match tree.get(path) {
            Some(super::super::Node::File { value, .. }) => value.clone(),
            other => panic!("{path:?}: {other:?}"),
        }
    }

    /// Every load from `kept` is what a fresh load of the site gives.
    fn assert_as_fresh(kept: &KeptData, root: &Path) -> Arc<DataTree> {
        let (tree, diagnostics) = kept.load(root);
        let (fresh, fresh_diagnostics) = DataTree::load(root);
        assert_eq!(tree.digest(), fresh.digest());
        assert_eq!(tree.files(), fresh.files());
        assert_eq!(format!("{:?}", tree.root), format!("{:?}", fresh.root));
        assert_eq!(diagnostics, fresh_diagnostics);
        tree
    }

    #[test]
    fn kept_data_is_reused_until_a_change_under_data_and_then_only_that_is_read_again() {
        let site = site();
        let root = site.path();
        let kept = KeptData::default();
        let first = assert_as_fresh(&kept, root);
        let read = |file: &str| kept.0.lock().unwrap().loaded.files[file].clone();
        let (a, b) = (read("data/books/a.toml"), read("data/books/b.json"));

        // An edit elsewhere: the same tree, not even walked.
        kept.changed(root, &[root.join("content/posts/x.md")]);
        assert!(Arc::ptr_eq(&kept.load(root).0, &first));

        // One file edited: it is read again, the other taken as it was.
        std::fs::write(root.join("data/books/a.toml"), "title = \"A2\"\n").unwrap();
        kept.changed(root, &[root.join("data/books/a.toml")]);
        let second = assert_as_fresh(&kept, root);
        assert_eq!(value(&second, &["books", "a"]), json!({"title": "A2"}));
        assert!(!Arc::ptr_eq(&read("data/books/a.toml"), &a));
        assert!(Arc::ptr_eq(&read("data/books/b.json"), &b));

        // A file broken, then a new one and a folder's change: what a fresh
        // load says, at each step.
        std::fs::write(root.join("data/books/b.json"), "{\"title\": ").unwrap();
        kept.changed(root, &[root.join("data/books/b.json")]);
        let (_, diagnostics) = kept.load(root);
        assert!(diagnostics.iter().any(|d| d.file == "data/books/b.json"));
        assert_as_fresh(&kept, root);
        std::fs::write(root.join("data/books/c.csv"), "k,v\n1,2\n").unwrap();
        std::fs::write(root.join("data/books/b.json"), r#"{"title": "B3"}"#).unwrap();
        kept.changed(root, &[root.join("data/books")]);
        let third = assert_as_fresh(&kept, root);
        assert_eq!(value(&third, &["books", "b"]), json!({"title": "B3"}));
        assert_eq!(
            value(&third, &["books", "c"]),
            json!([{"k": "1", "v": "2"}])
        );

        // A file removed, which a fresh load no longer has.
        std::fs::remove_file(root.join("data/site.yaml")).unwrap();
        kept.changed(root, &[root.join("data/site.yaml")]);
        assert!(assert_as_fresh(&kept, root).get(&["site"]).is_none());
    }

    #[test]
    fn a_lost_watch_or_another_site_reads_everything_again() {
        let site = site();
        let root = site.path();
        let kept = KeptData::default();
        kept.load(root);
        let a = kept.0.lock().unwrap().loaded.files["data/books/a.toml"].clone();
        // Edited without a word from the watcher but the site's own path
        // (how a lost watch is reported).
        std::fs::write(root.join("data/books/a.toml"), "title = \"A4\"\n").unwrap();
        kept.changed(root, &[root.to_path_buf()]);
        let tree = assert_as_fresh(&kept, root);
        assert_eq!(value(&tree, &["books", "a"]), json!({"title": "A4"}));
        assert!(!Arc::ptr_eq(
            &kept.0.lock().unwrap().loaded.files["data/books/a.toml"],
            &a
        ));
        // Another site: nothing of the first is taken.
        let other = self::site();
        std::fs::write(other.path().join("data/books/a.toml"), "title = \"O\"\n").unwrap();
        let tree = assert_as_fresh(&kept, other.path());
        assert_eq!(value(&tree, &["books", "a"]), json!({"title": "O"}));
    }

    #[test]
    fn data_is_walked_again_unless_every_change_was_to_a_file_still_there() {
        let site = site();
        let root = site.path();
        let kept = KeptData::default();
        kept.load(root);
        let same_files = |changed: &[&str]| {
            let mut kept = kept.0.lock().unwrap();
            kept.changed = changed.iter().map(|c| (*c).to_owned()).collect();
            kept.same_files(root)
        };
        assert!(same_files(&["data/books/a.toml", "data/site.yaml"]));
        assert!(!same_files(&["data/books"]), "a folder");
        assert!(
            !same_files(&["data/books/new.toml"]),
            "a file not found before"
        );
        assert!(!same_files(&["data/books/.a.toml.swp"]), "a hidden file");
        std::fs::remove_file(root.join("data/books/a.toml")).unwrap();
        std::os::unix::fs::symlink(root.join("data/site.yaml"), root.join("data/books/a.toml"))
            .unwrap();
        assert!(!same_files(&["data/books/a.toml"]), "now a link");
        std::fs::remove_file(root.join("data/books/a.toml")).unwrap();
        assert!(!same_files(&["data/books/a.toml"]), "gone");

        // Each of those, reported by its own path alone, loads as fresh.
        kept.0.lock().unwrap().changed.clear();
        kept.changed(root, &[root.join("data/books/a.toml")]);
        assert!(assert_as_fresh(&kept, root).get(&["books", "a"]).is_none());
        std::fs::write(root.join("data/books/d.json"), "[1]").unwrap();
        kept.changed(root, &[root.join("data/books/d.json")]);
        assert_eq!(
            value(&assert_as_fresh(&kept, root), &["books", "d"]),
            json!([1])
        );
    }

    #[test]
    fn a_changed_path_touches_itself_and_what_is_under_it_only() {
        let kept = Kept {
            changed: BTreeSet::from(["data/books".into(), "data/x/y.json".into()]),
            ..Kept::default()
        };
        assert!(kept.touched("data/books"));
        assert!(kept.touched("data/books/a.toml"));
        assert!(kept.touched("data/books/deep/er/a.toml"));
        assert!(kept.touched("data/x/y.json"));
        assert!(!kept.touched("data/books.json"));
        assert!(!kept.touched("data/bookshelf/a.toml"));
        assert!(!kept.touched("data/x/y.json.bak"));
        assert!(!kept.touched("data/x"));
        assert!(!kept.touched("data"));
    }
}
