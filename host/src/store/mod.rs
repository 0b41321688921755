//! `.blogmark/site.db`: SQLite with derived data only. Deleting it is always
//! safe; `host rebuild` recreates it from the files.

mod mirror;
mod remote;
mod runs;
mod schema;

pub use mirror::Changes;
pub use runs::{RunRecord, StoredRun};

use crate::content::Page;
use crate::machine_key::MachineKey;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where the database lives in a site.
pub const DB_PATH: &str = ".blogmark/site.db";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The directory could not be made.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `.blogmark/` or the database file is a symbolic link.
    #[error(transparent)]
    Link(#[from] crate::state_dir::LinkedState),
}

/// The site's database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One row of the `posts` table, for comparisons and tests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PostRow {
    /// Path relative to the site.
    pub path: String,
    /// `post` or `page`.
    pub kind: String,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// RFC 3339 date.
    pub date: Option<String>,
    /// Draft flag.
    pub draft: bool,
    /// SHA-256 of the file.
    pub content_hash: String,
    /// Front matter as JSON.
    pub front_matter: String,
}

/// A new result to store in the persistent cache.
pub struct NewResult {
    /// Cache key.
    pub key: String,
    /// The script's slug.
    pub script_slug: String,
    /// The script's content hash.
    pub script_hash: String,
    /// The HTML.
    pub html: String,
}

impl Store {
    /// Open (creating and migrating as needed) the database of the site at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        // SQLite follows links, for the database and its journal files.
        crate::state_dir::check(
            root,
            &[DB_PATH, ".blogmark/site.db-wal", ".blogmark/site.db-shm"],
        )?;
        Self::open_file(&root.join(DB_PATH))
    }

    /// Open the database at `path`.
    pub fn open_file(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let err = sqlite_error(path);
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        schema::migrate(&mut conn).map_err(err)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        sqlite_error(&self.path)(source)
    }

    /// Make the `posts` table mirror `pages`: insert new, update changed,
    /// delete gone. Returns how many rows changed.
    pub fn sync_posts(&mut self, pages: &[Page]) -> Result<usize, StoreError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        let changes = {
            let known: HashMap<String, String> = tx
                .prepare("SELECT path, content_hash FROM posts")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(&err)?;
            let mut upsert = tx
                .prepare(
                    "INSERT INTO posts (path, kind, slug, title, date, draft, content_hash, front_matter)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT(path) DO UPDATE SET kind = ?2, slug = ?3, title = ?4, date = ?5,
                       draft = ?6, content_hash = ?7, front_matter = ?8",
                )
                .map_err(&err)?;
            let mut delete = tx
                .prepare("DELETE FROM posts WHERE path = ?1")
                .map_err(&err)?;
            mirror::mirror(
                &known,
                pages,
                |page| &page.path,
                |hash, page| *hash == page.content_hash,
                |page| {
                    upsert
                        .execute(params![
                            page.path,
                            kind_name(page),
                            page.slug,
                            page.title,
                            page.date.map(|d| d.to_rfc3339()),
                            page.draft,
                            page.content_hash,
                            serde_json::Value::Object(page.front_matter.clone()).to_string(),
                        ])
                        .map(drop)
                },
                |path| delete.execute([path]).map(drop),
            )
            .map_err(&err)?
        };
        tx.commit().map_err(&err)?;
        Ok(changes.len())
    }

    /// Every row of `posts`, sorted by path.
    pub fn posts(&self) -> Result<Vec<PostRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, kind, slug, title, date, draft, content_hash, front_matter FROM posts ORDER BY path")
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(PostRow {
                path: r.get(0)?,
                kind: r.get(1)?,
                slug: r.get(2)?,
                title: r.get(3)?,
                date: r.get(4)?,
                draft: r.get(5)?,
                content_hash: r.get(6)?,
                front_matter: r.get(7)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }
}

/// Turns SQLite's errors into errors that name the database file.
fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn kind_name(page: &Page) -> &'static str {
    match page.kind {
        crate::content::Kind::Post => "post",
        crate::content::Kind::Page => "page",
    }
}

impl Store {
    /// Every stored macro result, by key.
    /// Rows this machine did not write (their tag fails) are left out, and
    /// so are run again.
    pub fn macro_results(&self) -> Result<HashMap<String, String>, StoreError> {
        let key = MachineKey::get();
        let mut stmt = self
            .conn
            .prepare("SELECT key, html, tag FROM macro_results")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut results = HashMap::new();
        let mut foreign = Vec::new();
        for row in rows {
            let (k, html, tag) = row.map_err(|e| self.err(e))?;
            let parts = [k.as_bytes(), html.as_bytes()];
            if tag.is_some_and(|tag| key.verify(MACRO_RESULT, &parts, &tag)) {
                results.insert(k, html);
            } else {
                foreign.push(k);
            }
        }
        drop(stmt);
        self.drop_foreign(&foreign)?;
        Ok(results)
    }

    /// Drop the results under `keys`, which this machine did not tag, and
    /// say so.
    fn drop_foreign(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            "{}: {} cached macro result(s) not tagged by this machine (written elsewhere, \
             or by an older host) dropped; those macros run again",
            self.path.display(),
            keys.len()
        );
        let mut delete = self
            .conn
            .prepare("DELETE FROM macro_results WHERE key = ?1")
            .map_err(|e| self.err(e))?;
        for k in keys {
            delete.execute([k]).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The macro result stored under `key`, if this machine tagged it (a
    /// row it did not is dropped, as [`Store::macro_results`] does).
    pub fn macro_result(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT html, tag FROM macro_results WHERE key = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([key], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((html, tag)) = row else {
            return Ok(None);
        };
        let parts = [key.as_bytes(), html.as_bytes()];
        if tag.is_some_and(|tag| MachineKey::get().verify(MACRO_RESULT, &parts, &tag)) {
            return Ok(Some(html));
        }
        self.drop_foreign(&[key.to_owned()])?;
        Ok(None)
    }

    /// Store new macro results of the guest build `guest_build` and drop
    /// those of scripts that are gone or changed (`live`: slug and content
    /// hash of every current script) and of any other guest build.
    ///
    /// Dropping them reads every stored result (7 ms of 10,000), so it is
    /// done only when it can find something: when `live` or `guest_build`
    /// differ from what the last pruning kept, or a new result is not one
    /// of them. Otherwise every stored row was live at that pruning, and
    /// every row stored since was too.
    pub fn update_macro_results(
        &mut self,
        new: &[NewResult],
        live: &[(String, String)],
        guest_build: &str,
    ) -> Result<(), StoreError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO macro_results (key, script_slug, script_hash, html, created_at, guest_build, tag)
                     VALUES (?1, ?2, ?3, ?4, datetime('now'), ?5, ?6)",
                )
                .map_err(&err)?;
            let key = MachineKey::get();
            for r in new {
                let tag = key.tag(MACRO_RESULT, &[r.key.as_bytes(), r.html.as_bytes()]);
                insert
                    .execute(params![
                        r.key,
                        r.script_slug,
                        r.script_hash,
                        r.html,
                        guest_build,
                        &tag[..]
                    ])
                    .map_err(&err)?;
            }
            let pruned_for = pruning_note(live, guest_build);
            let all_live = new.iter().all(|r| {
                live.iter()
                    .any(|(slug, hash)| *slug == r.script_slug && *hash == r.script_hash)
            });
            let last: Option<String> = tx
                .query_row(
                    "SELECT value FROM notes WHERE name = ?1",
                    [PRUNED_FOR],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&err)?;
            if !all_live || last.as_deref() != Some(pruned_for.as_str()) {
                refill_temp_table(
                    &tx,
                    ("live_scripts", "slug TEXT, hash TEXT"),
                    "INSERT INTO live_scripts (slug, hash) VALUES (?1, ?2)",
                    live.iter().map(|(slug, hash)| (slug, hash)),
                )
                .map_err(&err)?;
                tx.execute(
                    "DELETE FROM macro_results WHERE guest_build != ?1 OR NOT EXISTS (SELECT 1 FROM live_scripts l
                       WHERE l.slug = macro_results.script_slug AND l.hash = macro_results.script_hash)",
                    [guest_build],
                )
                .map_err(&err)?;
                tx.execute(
                    "INSERT OR REPLACE INTO notes (name, value) VALUES (?1, ?2)",
                    [PRUNED_FOR, pruned_for.as_str()],
                )
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)
    }

    /// Keep only the `keep` results of each script of `slugs` stored last.
    /// For generators: each of their results holds every page they made,
    /// and each edit of what they read stores another, which no render asks
    /// for again once that edit is undone or superseded. A few are kept so
    /// that renders taking turns (`host serve` and `host render` with
    /// other options) do not push each other's out. Returns how many went.
    pub fn keep_latest_results(
        &mut self,
        slugs: &[&str],
        keep: usize,
    ) -> Result<usize, StoreError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        let mut removed = 0;
        {
            // `INSERT OR REPLACE` gives a replaced row a new rowid: the
            // highest are the ones stored last. The records of which
            // questions a run asked (one per request: another site title or
            // base URL makes another) are counted apart from the results.
            let mut delete = tx
                .prepare(
                    "DELETE FROM macro_results WHERE script_slug = ?1 AND (
                       (key NOT LIKE ?3 AND rowid NOT IN (SELECT rowid FROM macro_results
                          WHERE script_slug = ?1 AND key NOT LIKE ?3
                          ORDER BY rowid DESC LIMIT ?2))
                       OR (key LIKE ?3 AND rowid NOT IN (SELECT rowid FROM macro_results
                          WHERE script_slug = ?1 AND key LIKE ?3
                          ORDER BY rowid DESC LIMIT ?2)))",
                )
                .map_err(&err)?;
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            for slug in slugs {
                removed += delete
                    .execute(params![slug, keep, format!("%{QUESTIONS_SUFFIX}")])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(removed)
    }

    /// The rowid of the newest stored result (0: none).
    pub fn last_result_rowid(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT coalesce(max(rowid), 0) FROM macro_results",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Remove every stored result up to row `up_to_rowid` whose key is not
    /// in `keep`: after a render that looked up every call (`host render
    /// --gc`), the results no page, hook or generator of the site asks for
    /// any more (rows stored since it began, by another process, stay).
    /// Returns how many went.
    pub fn keep_only_results(
        &mut self,
        keep: &HashSet<String>,
        up_to_rowid: i64,
    ) -> Result<usize, StoreError> {
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        let removed = {
            refill_temp_table(
                &tx,
                ("kept_results", "key TEXT PRIMARY KEY"),
                "INSERT OR IGNORE INTO kept_results (key) VALUES (?1)",
                keep.iter().map(|key| [key]),
            )
            .map_err(&err)?;
            tx.execute(
                "DELETE FROM macro_results WHERE rowid <= ?1
                   AND key NOT IN (SELECT key FROM kept_results)",
                [up_to_rowid],
            )
            .map_err(&err)?
        };
        tx.execute("DELETE FROM kept_results", []).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(removed)
    }

    /// How many macro results are stored.
    pub fn macro_result_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM macro_results", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }
}

/// Make the temporary table `name` (made with `columns` if missing) of
/// `tx`'s connection hold exactly the `rows` that `insert` adds.
fn refill_temp_table<P: rusqlite::Params>(
    tx: &rusqlite::Transaction<'_>,
    (name, columns): (&str, &str),
    insert: &str,
    rows: impl IntoIterator<Item = P>,
) -> rusqlite::Result<()> {
    tx.execute(
        &format!("CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})"),
        [],
    )?;
    tx.execute(&format!("DELETE FROM {name}"), [])?;
    let mut insert = tx.prepare(insert)?;
    for row in rows {
        insert.execute(row)?;
    }
    Ok(())
}

/// The note naming the live scripts and guest build the result cache was
/// last pruned for.
const PRUNED_FOR: &str = "results pruned for";

/// What [`PRUNED_FOR`] holds for `live` and `guest_build`: a digest, the
/// same whatever the order of `live`.
fn pruning_note(live: &[(String, String)], guest_build: &str) -> String {
    let mut sorted: Vec<&(String, String)> = live.iter().collect();
    sorted.sort();
    let mut hasher = crate::key_hasher::KeyHasher::new();
    hasher.part(guest_build.as_bytes());
    for (slug, hash) in sorted {
        hasher.part(slug.as_bytes()).part(hash.as_bytes());
    }
    hasher.finish()
}

/// What ends the key of the row that records which questions a result
/// asked of the site (the result itself is stored under a key made with
/// their answers).
pub const QUESTIONS_SUFFIX: &str = "/questions";

/// One row of the `scripts` table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScriptRow {
    /// File stem.
    pub slug: String,
    /// Path relative to the site.
    pub path: String,
    /// `macro` or `transform`.
    pub kind: String,
    /// Macro name.
    pub name: String,
    /// Function called.
    pub entrypoint: String,
    /// Enabled flag.
    pub enabled: bool,
    /// Author's version.
    pub version: i64,
    /// Description.
    pub description: String,
    /// Own limits as JSON.
    pub limits: String,
    /// SHA-256 of the file.
    pub content_hash: String,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
}

impl Store {
    /// Make the `scripts` table mirror `rows` (the files are the truth).
    pub fn sync_scripts(&mut self, rows: &[ScriptRow]) -> Result<Changes, StoreError> {
        let known: HashMap<String, ScriptRow> = self
            .scripts()?
            .into_iter()
            .map(|r| (r.slug.clone(), r))
            .collect();
        let err = sqlite_error(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        let changes = {
            let mut upsert = tx
                .prepare(
                    "INSERT INTO scripts (slug, path, kind, name, entrypoint, enabled, version, description, limits, content_hash, mtime)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(slug) DO UPDATE SET path = ?2, kind = ?3, name = ?4, entrypoint = ?5, enabled = ?6,
                       version = ?7, description = ?8, limits = ?9, content_hash = ?10, mtime = ?11",
                )
                .map_err(&err)?;
            let mut delete = tx
                .prepare("DELETE FROM scripts WHERE slug = ?1")
                .map_err(&err)?;
            mirror::mirror(
                &known,
                rows,
                |row| &row.slug,
                |old, row| old == row,
                |row| {
                    upsert
                        .execute(params![
                            row.slug,
                            row.path,
                            row.kind,
                            row.name,
                            row.entrypoint,
                            row.enabled,
                            row.version,
                            row.description,
                            row.limits,
                            row.content_hash,
                            row.mtime
                        ])
                        .map(drop)
                },
                |slug| delete.execute([slug]).map(drop),
            )
            .map_err(&err)?
        };
        tx.commit().map_err(&err)?;
        Ok(changes)
    }

    /// Every row of `scripts`, by slug.
    pub fn scripts(&self) -> Result<Vec<ScriptRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT slug, path, kind, name, entrypoint, enabled, version, description, limits, content_hash, mtime
                 FROM scripts ORDER BY slug",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(ScriptRow {
                slug: r.get(0)?,
                path: r.get(1)?,
                kind: r.get(2)?,
                name: r.get(3)?,
                entrypoint: r.get(4)?,
                enabled: r.get(5)?,
                version: r.get(6)?,
                description: r.get(7)?,
                limits: r.get(8)?,
                content_hash: r.get(9)?,
                mtime: r.get(10)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Drop every script row and import `rows` again.
    pub fn rebuild_scripts(&mut self, rows: &[ScriptRow]) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM scripts", [])
            .map_err(|e| self.err(e))?;
        self.sync_scripts(rows)?;
        Ok(())
    }
}

/// Delete the database of the site at `root` and build it again from files.
pub fn rebuild(root: &Path, pages: &[Page]) -> Result<Store, StoreError> {
    // Deleting through a linked `.blogmark/` would delete elsewhere.
    crate::state_dir::check(root, &[])?;
    let path = root.join(DB_PATH);
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path: file, source }),
        }
    }
    let mut store = Store::open(root)?;
    store.sync_posts(pages)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(key: &str, slug: &str, hash: &str) -> NewResult {
        NewResult {
            key: key.into(),
            script_slug: slug.into(),
            script_hash: hash.into(),
            html: format!("<{key}>"),
        }
    }

    fn temporary_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    /// Scripts `a` (content hash `h1`) and `b` (`h2`), as live scripts.
    fn live_a_and_b() -> [(String, String); 2] {
        [("a".into(), "h1".into()), ("b".into(), "h2".into())]
    }

    #[test]
    fn results_of_another_guest_build_or_a_changed_script_are_pruned() {
        let (_dir, mut store) = temporary_store();
        let live = live_a_and_b();
        let first = [result("k1", "a", "h1"), result("k2", "b", "h2")];
        store
            .update_macro_results(&first, &live, "guest-1")
            .unwrap();
        assert_eq!(store.macro_result_count().unwrap(), 2);

        // Same guest, script b edited: only its result goes.
        let edited = [
            ("a".to_string(), "h1".to_string()),
            ("b".into(), "h3".into()),
        ];
        store.update_macro_results(&[], &edited, "guest-1").unwrap();
        assert_eq!(
            store.macro_results().unwrap().keys().collect::<Vec<_>>(),
            ["k1"]
        );

        // A new guest: results of the old one can never be hit again.
        let fresh = [result("k3", "a", "h1")];
        store
            .update_macro_results(&fresh, &edited, "guest-2")
            .unwrap();
        assert_eq!(
            store.macro_results().unwrap().keys().collect::<Vec<_>>(),
            ["k3"]
        );
    }

    #[test]
    fn pruning_is_skipped_only_while_it_could_find_nothing() {
        let (_dir, mut store) = temporary_store();
        let live = live_a_and_b();
        store
            .update_macro_results(&[result("k1", "a", "h1")], &live, "guest")
            .unwrap();
        let note = |store: &Store| -> String {
            store
                .conn
                .query_row(
                    "SELECT value FROM notes WHERE name = ?1",
                    [PRUNED_FOR],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let first = note(&store);
        // The same scripts listed in another order: the same note.
        let reordered = [live[1].clone(), live[0].clone()];
        assert_eq!(pruning_note(&reordered, "guest"), first);
        assert_ne!(pruning_note(&live, "guest-2"), first);

        // A new result of a script that is not live goes at once, though the
        // live scripts are those of the last pruning.
        store
            .update_macro_results(
                &[result("k2", "a", "h1"), result("gone", "c", "h9")],
                &live,
                "guest",
            )
            .unwrap();
        let mut kept: Vec<String> = store.macro_results().unwrap().into_keys().collect();
        kept.sort();
        assert_eq!(kept, ["k1", "k2"]);
        assert_eq!(note(&store), first);

        // Script a edited: its results go, and the note follows.
        let edited = [("a".to_string(), "h3".to_string()), live[1].clone()];
        store.update_macro_results(&[], &edited, "guest").unwrap();
        assert_eq!(store.macro_result_count().unwrap(), 0);
        assert_eq!(note(&store), pruning_note(&edited, "guest"));
    }

    #[test]
    fn a_generator_keeps_only_its_last_results_and_other_scripts_keep_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let live = [
            ("gen".to_string(), "h".to_string()),
            ("mac".into(), "h".into()),
        ];
        // Records of the questions its runs asked (one per request), stored
        // first: counted apart from the results, the newest four kept.
        for i in 0..6 {
            let record = result(&format!("q{i}/questions"), "gen", "h");
            store
                .update_macro_results(&[record], &live, "guest")
                .unwrap();
        }
        for i in 1..=6 {
            let new = [
                result(&format!("g{i}"), "gen", "h"),
                result(&format!("m{i}"), "mac", "h"),
            ];
            store.update_macro_results(&new, &live, "guest").unwrap();
        }
        // The oldest stored again is the newest now.
        store
            .update_macro_results(&[result("g1", "gen", "h")], &live, "guest")
            .unwrap();
        assert_eq!(store.keep_latest_results(&["gen"], 4).unwrap(), 4);
        let kept = store.macro_results().unwrap();
        let mut gen_keys: Vec<&str> = kept
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with(['g', 'q']))
            .collect();
        gen_keys.sort_unstable();
        assert_eq!(
            gen_keys,
            [
                "g1",
                "g4",
                "g5",
                "g6",
                "q2/questions",
                "q3/questions",
                "q4/questions",
                "q5/questions"
            ]
        );
        assert_eq!(kept.keys().filter(|k| k.starts_with('m')).count(), 6);
        assert_eq!(store.keep_latest_results(&["gen"], 4).unwrap(), 0);
    }

    #[test]
    fn keeping_only_the_results_in_use_removes_every_other_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let live = [("mac".to_string(), "h".to_string())];
        let new: Vec<NewResult> = (0..5)
            .map(|i| result(&format!("m{i}"), "mac", "h"))
            .collect();
        store.update_macro_results(&new, &live, "guest").unwrap();
        let used: HashSet<String> = ["m1", "m3", "gone"].map(String::from).into();
        let up_to = store.last_result_rowid().unwrap();
        // A row stored since the render began is not its to judge.
        store
            .update_macro_results(&[result("later", "mac", "h")], &live, "guest")
            .unwrap();
        assert_eq!(store.keep_only_results(&used, up_to).unwrap(), 3);
        let mut kept: Vec<String> = store.macro_results().unwrap().into_keys().collect();
        kept.sort_unstable();
        assert_eq!(kept, ["later", "m1", "m3"]);
        // Nothing more to remove; an empty set removes all up to the row.
        assert_eq!(store.keep_only_results(&used, up_to).unwrap(), 0);
        assert_eq!(store.keep_only_results(&HashSet::new(), up_to).unwrap(), 2);
        assert_eq!(store.macro_result_count().unwrap(), 1);
    }
}

/// The tag domain of a cached macro result (its key and HTML).
const MACRO_RESULT: &str = "blogmark macro result v1";

/// The tag domain of a remembered external link check.
const EXTERNAL_LINK: &str = "blogmark external link v1";

/// What a remembered link check's tag covers.
fn link_parts(url: &str, result: &LinkResult, checked_at: i64) -> [Vec<u8>; 4] {
    [
        url.as_bytes().to_vec(),
        vec![u8::from(result.ok)],
        result.detail.as_bytes().to_vec(),
        checked_at.to_le_bytes().to_vec(),
    ]
}

/// What checking an external link found, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkResult {
    /// Whether the link answered with a success (after redirects).
    pub ok: bool,
    /// The status or error, for the message.
    pub detail: String,
}

impl Store {
    /// Results of external links checked at or after `since` (Unix seconds).
    pub fn external_links(&self, since: i64) -> Result<HashMap<String, LinkResult>, StoreError> {
        let key = MachineKey::get();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, ok, detail, checked_at, tag FROM external_links WHERE checked_at >= ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? != 0,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut found = HashMap::new();
        for row in rows {
            let (url, ok, detail, checked_at, tag) = row.map_err(|e| self.err(e))?;
            let result = LinkResult { ok, detail };
            if tag.is_some_and(|tag| {
                key.verify(
                    EXTERNAL_LINK,
                    &link_parts(&url, &result, checked_at)
                        .each_ref()
                        .map(Vec::as_slice),
                    &tag,
                )
            }) {
                found.insert(url, result);
            }
        }
        Ok(found)
    }

    /// Record what checking each link found, at `now` (Unix seconds).
    pub fn record_external_links(
        &mut self,
        results: &[(String, LinkResult)],
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sqlite_error(&self.path)(e))?;
        for (url, result) in results {
            tx.execute(
                "INSERT INTO external_links (url, ok, detail, checked_at, tag) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(url) DO UPDATE SET ok = ?2, detail = ?3, checked_at = ?4, tag = ?5",
                rusqlite::params![
                    url,
                    i64::from(result.ok),
                    result.detail,
                    now,
                    &MachineKey::get().tag(
                        EXTERNAL_LINK,
                        &link_parts(url, result, now).each_ref().map(Vec::as_slice)
                    )[..]
                ],
            )
            .map_err(|e| sqlite_error(&self.path)(e))?;
        }
        tx.commit().map_err(|e| sqlite_error(&self.path)(e))
    }
}
