//! Schema migrations, tracked by SQLite's `user_version`.

use rusqlite::Connection;

/// Each entry moves the schema one version up; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: posts, scripts, the macro result cache and render runs.
    "CREATE TABLE posts (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('post', 'page')),
        slug TEXT NOT NULL,
        title TEXT NOT NULL,
        date TEXT,
        draft INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL,
        front_matter TEXT NOT NULL
    );
    CREATE TABLE scripts (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        description TEXT NOT NULL DEFAULT '',
        limits TEXT NOT NULL DEFAULT '{}',
        content_hash TEXT NOT NULL,
        mtime INTEGER NOT NULL
    );
    CREATE TABLE macro_results (
        key TEXT PRIMARY KEY,
        script_slug TEXT NOT NULL,
        script_hash TEXT NOT NULL,
        html TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX macro_results_by_script ON macro_results (script_slug);
    CREATE TABLE render_runs (
        id INTEGER PRIMARY KEY,
        finished_at TEXT NOT NULL,
        pages INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL
    );",
    // 2: what each render run's macros did, for `host stats`.
    "ALTER TABLE render_runs ADD COLUMN macro_calls INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE render_runs ADD COLUMN sandbox_runs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE render_runs ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE render_run_macros (
        run_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('builtin', 'python', 'transform')),
        name TEXT NOT NULL,
        calls INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL,
        sandbox_runs INTEGER NOT NULL,
        fail_timeout INTEGER NOT NULL,
        fail_fuel INTEGER NOT NULL,
        fail_memory INTEGER NOT NULL,
        fail_error INTEGER NOT NULL,
        fail_abi INTEGER NOT NULL,
        fail_other INTEGER NOT NULL,
        p50_us INTEGER NOT NULL,
        p95_us INTEGER NOT NULL,
        max_us INTEGER NOT NULL,
        PRIMARY KEY (run_id, kind, name)
    );",
    // 3: the guest build each cached result came from, so that results of
    // an older guest are pruned rather than kept forever.
    "ALTER TABLE macro_results ADD COLUMN guest_build TEXT NOT NULL DEFAULT '';",
    // 4: what `host check --external` found of each external link, kept a day.
    "CREATE TABLE external_links (
        url TEXT PRIMARY KEY,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL,
        checked_at INTEGER NOT NULL
    );",
    // 5: a tag (a MAC under the machine's key) on every row whose content
    // reaches output, so a committed database's rows are never used: rows
    // from before have none and are ignored, then replaced.
    "ALTER TABLE macro_results ADD COLUMN tag BLOB;
    ALTER TABLE external_links ADD COLUMN tag BLOB;",
    // 6: render hooks and generators are counted too (SQLite cannot widen
    // a CHECK in place: the table is made again with its rows).
    "CREATE TABLE render_run_macros_new (
        run_id INTEGER NOT NULL,
        kind TEXT NOT NULL
            CHECK (kind IN ('builtin', 'python', 'transform', 'hook', 'generator')),
        name TEXT NOT NULL,
        calls INTEGER NOT NULL,
        cache_hits INTEGER NOT NULL,
        sandbox_runs INTEGER NOT NULL,
        fail_timeout INTEGER NOT NULL,
        fail_fuel INTEGER NOT NULL,
        fail_memory INTEGER NOT NULL,
        fail_error INTEGER NOT NULL,
        fail_abi INTEGER NOT NULL,
        fail_other INTEGER NOT NULL,
        p50_us INTEGER NOT NULL,
        p95_us INTEGER NOT NULL,
        max_us INTEGER NOT NULL,
        PRIMARY KEY (run_id, kind, name)
    );
    INSERT INTO render_run_macros_new SELECT * FROM render_run_macros;
    DROP TABLE render_run_macros;
    ALTER TABLE render_run_macros_new RENAME TO render_run_macros;",
    // 7: what `ctx.fetch` got, replayed by later renders; tagged like every
    // row whose content reaches output.
    "CREATE TABLE remote_responses (
        url TEXT PRIMARY KEY,
        final_url TEXT NOT NULL,
        status INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL,
        fetched_at INTEGER NOT NULL,
        tag BLOB NOT NULL
    );",
    // 8: what the store last did that need not be done again while it
    // holds (which live scripts and guest build the result cache was last
    // pruned for).
    "CREATE TABLE notes (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
];

/// Bring the database up to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the database has schema version {version}, newer than this host ({}); run `host rebuild`",
                MIGRATIONS.len()
            )),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
