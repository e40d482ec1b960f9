//! The history: one SQLite file in WAL mode. Groups (stacks) are stored once, keyed by the
//! hash of their frames; each scrape is one row, and its counts one row per group. Scrapes
//! are committed together, at most [`BATCH`] after the first of them (and at every cycle's
//! end, before pruning, on close), so a `kill -9` loses at most the last second of scrapes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use goleash_analyze::Verdict;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::fetch::Fault;
use crate::scrape::{GroupInfo, Scraped};
use crate::targets::Target;

/// Version 2 added `scrapes.epoch` (the target's process generation); a version 1 file is
/// migrated in place, its scrapes all in epoch 0.
const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a goleash history ("glsh"), so a file is known as ours before
/// anything is written to it.
const APPLICATION_ID: i64 = 0x676c_7368;

/// One scrape's count of one group.
const INSERT_SAMPLE: &str =
    "INSERT OR REPLACE INTO samples(scrape_id, group_id, count, verdict) VALUES (?1, ?2, ?3, ?4)";

/// Counts written by one statement (see [`insert_samples_sql`]).
const SAMPLES_PER_INSERT: usize = 16;

/// [`INSERT_SAMPLE`] for [`SAMPLES_PER_INSERT`] rows at once.
fn insert_samples_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let row = "(?, ?, ?, ?)";
        format!(
            "INSERT OR REPLACE INTO samples(scrape_id, group_id, count, verdict) VALUES {}",
            vec![row; SAMPLES_PER_INSERT].join(", ")
        )
    })
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets(
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS groups(
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL UNIQUE,
    site TEXT NOT NULL,
    info TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS scrapes(
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets(id),
    ts_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    format TEXT,
    total INTEGER,
    error_kind TEXT,
    error TEXT,
    epoch INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS scrapes_by_target ON scrapes(target_id, ts_ms);
CREATE INDEX IF NOT EXISTS scrapes_by_time ON scrapes(ts_ms);
CREATE TABLE IF NOT EXISTS samples(
    scrape_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    count INTEGER NOT NULL,
    verdict INTEGER NOT NULL,
    PRIMARY KEY(scrape_id, group_id)
) WITHOUT ROWID;
";

/// How long a writer keeps scrapes in one transaction. A commit per scrape (one WAL append
/// of every page it touched) was about 7 % of the watcher's CPU at 500 targets; one per
/// second shares the pages among the ~100 scrapes of that second and bounds what a crash
/// loses to that second.
pub const BATCH: Duration = Duration::from_secs(1);

/// A store failure, already phrased for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

fn explain(path: &Path, doing: &str, e: &rusqlite::Error) -> StoreError {
    let p = path.display();
    let text = match e.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => format!(
            "history DB {p} is read-only ({e}); fix its permissions (and its directory's: WAL mode writes {p}-wal and {p}-shm next to it) or choose another --db"
        ),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "history DB {p} is locked by another process ({e}) while {doing}; is another goleash watch or a long query holding it?"
        ),
        Some(ErrorCode::CannotOpen) => format!(
            "cannot open history DB {p} ({e}); does its directory exist and is it writable?"
        ),
        Some(ErrorCode::NotADatabase) => {
            format!("{p} is not a SQLite database ({e}); choose another --db")
        }
        Some(ErrorCode::DiskFull) => format!("history DB {p}: the disk is full ({e})"),
        _ => format!("history DB {p}: {doing} failed: {e}"),
    };
    StoreError(text)
}

/// Another program's SQLite file is never written into: a file with tables must carry
/// goleash's application id, or (from before the id was set) goleash's `meta` table.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let read = |sql: &str| -> Result<i64, StoreError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| explain(path, "reading", &e))
    };
    let id = read("PRAGMA application_id")?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    let tables = read("SELECT count(*) FROM sqlite_master WHERE type = 'table'")?;
    let ours = read(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'scrapes', 'targets')",
    )?;
    if id == 0 && (tables == 0 || ours == 3) {
        return Ok(());
    }
    Err(StoreError(format!(
        "{} is another program's SQLite database ({tables} tables, application id {id:#x}); goleash watch writes only its own history: choose another --db",
        path.display()
    )))
}

/// Takes the one-writer lock of the history at `path`: a second watcher on the same DB would
/// interleave its rounds with the first's and both would judge half a series.
fn lock_writer(path: &Path) -> Result<std::fs::File, StoreError> {
    use std::io::{Read, Seek, Write};
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| {
            StoreError(format!(
                "history DB {}: cannot create its lock file {}: {e}",
                path.display(),
                lock_path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError(format!(
                "history DB {} is being written by another goleash watch{}; one history has one writer: give this watcher its own --db (or --shard the targets between watchers, each with its DB)",
                path.display(),
                if holder.is_empty() { String::new() } else { format!(" ({holder})") }
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError(format!(
                "history DB {}: cannot lock {}: {e}",
                path.display(),
                lock_path.display()
            )))
        }
    }
    // Who holds it, for the message the next watcher prints.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "pid {}", std::process::id());
    let _ = file.flush();
    Ok(file)
}

/// Whether `<db>-wal` holds frames not yet in the main file.
fn has_pending_wal(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// Copies the history and its `-wal` into a private directory where SQLite can make the
/// `-shm` it needs to read the WAL.
fn copy_with_wal(path: &Path) -> Option<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("goleash-history-")
        .tempdir()
        .ok()?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::copy(path, dir.path().join("history.db")).ok()?;
    std::fs::copy(PathBuf::from(wal), dir.path().join("history.db-wal")).ok()?;
    Some(dir)
}

/// `path` as the path part of an SQLite `file:` URI (`?` and `#` would end it).
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

fn verdict_code(v: Verdict) -> i64 {
    match v {
        Verdict::Expected => 0,
        Verdict::Possible => 1,
        Verdict::Likely => 2,
        Verdict::Proven => 3,
    }
}

pub fn verdict_of(code: i64) -> Verdict {
    match code {
        3 => Verdict::Proven,
        2 => Verdict::Likely,
        1 => Verdict::Possible,
        _ => Verdict::Expected,
    }
}

/// One scrape read back from the history.
#[derive(Clone, Debug)]
pub struct StoredScrape {
    pub ts_ms: i64,
    /// `None` for a failed scrape.
    pub total: Option<u64>,
    pub error: Option<String>,
    /// The fault kind's name (`down`, `timeout`, …) of a failed scrape.
    pub error_kind: Option<String>,
    /// The target's process generation at this scrape.
    pub epoch: u32,
    /// (group hash, count, verdict) for every group seen.
    pub groups: Vec<(u64, u64, Verdict)>,
}

/// A target as the history knows it.
#[derive(Clone, Debug, Serialize)]
pub struct TargetRow {
    pub id: i64,
    pub url: String,
    pub labels: BTreeMap<String, String>,
    pub scrapes: u64,
    pub errors: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub last_total: Option<u64>,
}

/// A group as seen on one target.
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    pub hash: String,
    pub site: String,
    pub samples: u64,
    pub last_count: u64,
    pub max_count: u64,
    pub max_verdict: Verdict,
    pub info: Option<GroupInfo>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The writer's lock on `<db>.lock`, held as long as the store is open (`None` for a
    /// reader). The OS drops it when the process dies, so a crash leaves no stale lock.
    _writer: Option<std::fs::File>,
    /// A reader's private copy of a history it could not read in place, removed on drop.
    _scratch: Option<tempfile::TempDir>,
    group_ids: FxHashMap<u64, i64>,
    /// Groups whose stored info lacks the creator (first seen in a protobuf round).
    thin_groups: FxHashMap<u64, ()>,
    /// The open transaction of a writer: since when, and how many scrapes it holds.
    batch: Option<(Instant, usize)>,
}

impl Drop for Store {
    fn drop(&mut self) {
        // A watcher that exits (end of --rounds, SIGTERM) keeps its last scrapes.
        let _ = self.flush();
    }
}

impl Store {
    /// Opens or creates the history for writing. Fails clearly when the file is read-only,
    /// locked or not a database — before any target is scraped.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| explain(path, "opening", &e))?;
        // Before anything is written, even the switch to WAL mode.
        let writer = lock_writer(path)?;
        conn.busy_timeout(Duration::from_secs(2))
            .map_err(|e| explain(path, "configuring", &e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| explain(path, "switching to WAL mode", &e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "history DB {}: cannot use WAL mode (journal mode stays {mode}); is it on a network file system?",
                path.display()
            )));
        }
        // NORMAL in WAL mode survives a process crash (kill -9); only a power loss can drop
        // the last commits. FULL would fsync every scrape for nothing a watcher needs.
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(|e| explain(path, "configuring", &e))?;
        refuse_foreign(&conn, path)?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| explain(path, "creating the schema", &e))?;
        conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
            .map_err(|e| explain(path, "marking the file", &e))?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| explain(path, "reading the schema version", &e))?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {}
            Some(Ok(SCHEMA_VERSION)) => {}
            Some(Ok(1)) => {
                // CREATE TABLE IF NOT EXISTS kept the old scrapes table as it was. One
                // transaction, so a crash mid-migration leaves version 1 intact.
                conn.execute_batch(
                    "BEGIN IMMEDIATE;
                     ALTER TABLE scrapes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
                     UPDATE meta SET value = '2' WHERE key = 'schema_version';
                     COMMIT;",
                )
                .map_err(|e| explain(path, "migrating the schema from version 1", &e))?;
            }
            Some(other) => {
                return Err(StoreError(format!(
                    "history DB {} has schema version {other:?}; this goleash writes version {SCHEMA_VERSION}",
                    path.display()
                )))
            }
        }
        // A real write now, so a read-only file or a held lock is reported at start-up.
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?1)",
            params![SCHEMA_VERSION.to_string()],
        )
        .map_err(|e| explain(path, "writing", &e))?;
        Self::with(conn, path, Some(writer))
    }

    /// Opens an existing history for queries only.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError(format!(
                "history DB {} does not exist; goleash watch --db {} creates it",
                path.display(),
                path.display()
            )));
        }
        // Outer error: the file is readable but wrong. Inner: SQLite could not read it this
        // way, worth another way.
        let read =
            |conn: rusqlite::Result<Connection>| -> Result<rusqlite::Result<Store>, StoreError> {
                let checked = conn.and_then(|conn| {
                    conn.busy_timeout(Duration::from_secs(5))?;
                    conn.query_row("SELECT count(*) FROM scrapes", [], |r| r.get::<_, i64>(0))?;
                    Ok(conn)
                });
                match checked {
                    Ok(conn) => Self::with(conn, path, None).map(Ok),
                    Err(e) => Ok(Err(e)),
                }
            };
        let error = match read(Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ))? {
            Ok(store) => return Ok(store),
            Err(e) => e,
        };
        // A WAL database read where its `-shm` cannot be made (a read-only directory or
        // mount, a copied-out backup). With no `-wal` left over every row is in the main file,
        // and SQLite's immutable mode reads it without the shared memory. With a `-wal`, its
        // rows are read from a private copy of the two files instead of being left out.
        let immutable = |path: &Path| {
            let uri = format!("file:{}?immutable=1", uri_path(path));
            Connection::open_with_flags(
                &uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
        };
        if !has_pending_wal(path) {
            if let Ok(store) = read(immutable(path))? {
                return Ok(store);
            }
        } else if let Some(copy) = copy_with_wal(path) {
            let conn = Connection::open_with_flags(
                copy.path().join("history.db"),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            );
            if let Ok(mut store) = read(conn)? {
                store.path = path.to_path_buf();
                store._scratch = Some(copy);
                return Ok(store);
            }
        }
        Err(explain(path, "reading", &error))
    }

    fn with(
        conn: Connection,
        path: &Path,
        writer: Option<std::fs::File>,
    ) -> Result<Store, StoreError> {
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            _writer: writer,
            _scratch: None,
            group_ids: FxHashMap::default(),
            thin_groups: FxHashMap::default(),
            batch: None,
        };
        store.load_group_ids()?;
        Ok(store)
    }

    fn err(&self, doing: &str, e: &rusqlite::Error) -> StoreError {
        explain(&self.path, doing, e)
    }

    fn load_group_ids(&mut self) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, id, info FROM groups")
            .map_err(|e| explain(&self.path, "reading groups", &e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| explain(&self.path, "reading groups", &e))?;
        for row in rows {
            let (hash, id, info) = row.map_err(|e| explain(&self.path, "reading groups", &e))?;
            let hash = hash as u64;
            self.group_ids.insert(hash, id);
            if !info.contains("\"creator\":{") {
                self.thin_groups.insert(hash, ());
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target's id, created on first use; its labels are updated when they change.
    pub fn target_id(&mut self, target: &Target) -> Result<i64, StoreError> {
        let labels = serde_json::to_string(&target.labels).unwrap_or_else(|_| "{}".into());
        self.conn
            .execute(
                "INSERT INTO targets(url, labels) VALUES (?1, ?2)
                 ON CONFLICT(url) DO UPDATE SET labels = excluded.labels WHERE labels != excluded.labels",
                params![target.url, labels],
            )
            .map_err(|e| self.err("adding a target", &e))?;
        self.conn
            .query_row(
                "SELECT id FROM targets WHERE url = ?1",
                params![target.url],
                |r| r.get(0),
            )
            .map_err(|e| self.err("reading a target", &e))
    }

    /// Writes one scrape (success or failure): all of it or nothing (a savepoint), in the
    /// batch of the last second (see [`BATCH`]), committed when that is over.
    pub fn record(
        &mut self,
        target_id: i64,
        ts_ms: i64,
        epoch: u32,
        duration: Duration,
        result: &Result<Scraped, Fault>,
    ) -> Result<(), StoreError> {
        let exec = |conn: &Connection, sql: &str| conn.prepare_cached(sql)?.execute([]).map(drop);
        if self.batch.is_none() {
            exec(&self.conn, "BEGIN").map_err(|e| self.err("starting a write", &e))?;
            self.batch = Some((Instant::now(), 0));
        }
        exec(&self.conn, "SAVEPOINT scrape").map_err(|e| self.err("starting a write", &e))?;
        if let Err(e) = self.write_scrape(target_id, ts_ms, epoch, duration, result) {
            // Undo this scrape only; the batch's others stay.
            let _ = exec(&self.conn, "ROLLBACK TO scrape");
            let _ = exec(&self.conn, "RELEASE scrape");
            return Err(e);
        }
        exec(&self.conn, "RELEASE scrape").map_err(|e| self.err("recording a scrape", &e))?;
        if let Some((since, n)) = self.batch.as_mut() {
            *n += 1;
            if since.elapsed() >= BATCH {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Commits the scrapes written since the last commit. On failure they are lost (rolled
    /// back), and the group ids cached are read again, since some of them were in the batch.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let Some((_, n)) = self.batch.take() else {
            return Ok(());
        };
        let committed = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut c| c.execute([]).map(drop));
        if let Err(e) = committed {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.group_ids.clear();
            self.thin_groups.clear();
            let reloaded = self.load_group_ids();
            let mut error = self.err(&format!("committing the last {n} scrape(s)"), &e);
            if let Err(again) = reloaded {
                error.0.push_str(&format!("; then {}", again.0));
            }
            return Err(error);
        }
        Ok(())
    }

    fn write_scrape(
        &mut self,
        target_id: i64,
        ts_ms: i64,
        epoch: u32,
        duration: Duration,
        result: &Result<Scraped, Fault>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let fail = |doing: &str, e: rusqlite::Error| explain(&path, doing, &e);
        let tx = &self.conn;
        let duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        match result {
            Err(fault) => {
                tx.prepare_cached(
                    "INSERT INTO scrapes(target_id, ts_ms, duration_ms, error_kind, error, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        target_id,
                        ts_ms,
                        duration_ms,
                        fault.kind.name(),
                        fault.message,
                        epoch
                    ])
                })
                .map_err(|e| fail("recording a scrape", e))?;
            }
            Ok(scraped) => {
                tx.prepare_cached(
                    "INSERT INTO scrapes(target_id, ts_ms, duration_ms, format, total, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        target_id,
                        ts_ms,
                        duration_ms,
                        scraped.format.name(),
                        scraped.total as i64,
                        epoch
                    ])
                })
                .map_err(|e| fail("recording a scrape", e))?;
                let scrape_id = tx.last_insert_rowid();
                // Statements are prepared once per connection and kept (prepare_cached):
                // compiling them at every scrape was a good part of the watcher's SQLite time.
                let mut rows: Vec<(i64, i64, i64)> = Vec::with_capacity(scraped.groups.len());
                for group in &scraped.groups {
                    let hash = group.info.hash;
                    let known = self.group_ids.get(&hash).copied();
                    let group_id = match known {
                        Some(id) => {
                            // A debug=2 round knows the creator and the wait reason a protobuf
                            // round could not: keep the richer description.
                            if group.info.creator.is_some() && self.thin_groups.contains_key(&hash)
                            {
                                tx.execute(
                                    "UPDATE groups SET info = ?1 WHERE id = ?2",
                                    params![info_json(&group.info), id],
                                )
                                .map_err(|e| fail("updating a group", e))?;
                                self.thin_groups.remove(&hash);
                            }
                            id
                        }
                        None => {
                            let site = group
                                .info
                                .site
                                .as_ref()
                                .map_or_else(String::new, |s| s.short());
                            tx.execute(
                                "INSERT INTO groups(hash, site, info, first_seen_ms) VALUES (?1, ?2, ?3, ?4)
                                 ON CONFLICT(hash) DO NOTHING",
                                params![hash as i64, site, info_json(&group.info), ts_ms],
                            )
                            .map_err(|e| fail("adding a group", e))?;
                            let id: i64 = tx
                                .query_row(
                                    "SELECT id FROM groups WHERE hash = ?1",
                                    params![hash as i64],
                                    |r| r.get(0),
                                )
                                .map_err(|e| fail("adding a group", e))?;
                            self.group_ids.insert(hash, id);
                            if group.info.creator.is_none() {
                                self.thin_groups.insert(hash, ());
                            }
                            id
                        }
                    };
                    rows.push((group_id, group.count as i64, verdict_code(group.verdict)));
                }
                // Many rows a statement: each statement run has a fixed cost (reset, bind,
                // VDBE start) that was most of a row's.
                let mut chunks = rows.chunks_exact(SAMPLES_PER_INSERT);
                if chunks.len() > 0 {
                    let mut insert_many = tx
                        .prepare_cached(insert_samples_sql())
                        .map_err(|e| fail("recording counts", e))?;
                    for chunk in &mut chunks {
                        let mut values: Vec<&dyn rusqlite::ToSql> =
                            Vec::with_capacity(SAMPLES_PER_INSERT * 4);
                        for (group_id, count, verdict) in chunk {
                            values.extend([
                                &scrape_id as &dyn rusqlite::ToSql,
                                group_id,
                                count,
                                verdict,
                            ]);
                        }
                        insert_many
                            .execute(values.as_slice())
                            .map_err(|e| fail("recording counts", e))?;
                    }
                }
                let mut insert_one = tx
                    .prepare_cached(INSERT_SAMPLE)
                    .map_err(|e| fail("recording counts", e))?;
                for (group_id, count, verdict) in chunks.remainder() {
                    insert_one
                        .execute(params![scrape_id, group_id, count, verdict])
                        .map_err(|e| fail("recording counts", e))?;
                }
            }
        }
        Ok(())
    }

    /// Drops scrapes older than `before_ms` and their counts. Returns the scrapes dropped.
    pub fn prune(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| explain(&path, "pruning old history", &e);
        self.flush()?;
        let tx = self.conn.transaction().map_err(fail)?;
        tx.execute(
            "DELETE FROM samples WHERE scrape_id IN (SELECT id FROM scrapes WHERE ts_ms < ?1)",
            params![before_ms],
        )
        .map_err(fail)?;
        let n = tx
            .execute("DELETE FROM scrapes WHERE ts_ms < ?1", params![before_ms])
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(n)
    }

    /// A target's scrapes from `since_ms` on, oldest first, with their counts.
    pub fn load_window(
        &self,
        target_id: i64,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<StoredScrape>, StoreError> {
        let fail = |e: rusqlite::Error| self.err("reading the history", &e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, ts_ms, total, error, error_kind, epoch FROM scrapes
                 WHERE target_id = ?1 AND ts_ms >= ?2 AND ts_ms <= ?3 ORDER BY ts_ms, id",
            )
            .map_err(fail)?;
        let mut scrapes: Vec<(i64, StoredScrape)> = stmt
            .query_map(params![target_id, since_ms, until_ms], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    StoredScrape {
                        ts_ms: r.get(1)?,
                        total: r.get::<_, Option<i64>>(2)?.map(|t| t.max(0) as u64),
                        error: r.get(3)?,
                        error_kind: r.get(4)?,
                        epoch: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                        groups: Vec::new(),
                    },
                ))
            })
            .map_err(fail)?
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        let index: FxHashMap<i64, usize> = scrapes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT sa.scrape_id, g.hash, sa.count, sa.verdict
                 FROM scrapes s JOIN samples sa ON sa.scrape_id = s.id JOIN groups g ON g.id = sa.group_id
                 WHERE s.target_id = ?1 AND s.ts_ms >= ?2 AND s.ts_ms <= ?3",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map(params![target_id, since_ms, until_ms], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)?.max(0) as u64,
                    verdict_of(r.get(3)?),
                ))
            })
            .map_err(fail)?;
        for row in rows {
            let (scrape_id, hash, count, verdict) = row.map_err(fail)?;
            if let Some(&i) = index.get(&scrape_id) {
                scrapes[i].1.groups.push((hash, count, verdict));
            }
        }
        Ok(scrapes.into_iter().map(|(_, s)| s).collect())
    }

    /// The stack of every group seen in `scrapes`.
    pub fn group_infos_of(
        &self,
        scrapes: &[StoredScrape],
    ) -> Result<FxHashMap<u64, GroupInfo>, StoreError> {
        let mut hashes: Vec<u64> = scrapes
            .iter()
            .flat_map(|s| s.groups.iter().map(|g| g.0))
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        self.group_infos(&hashes)
    }

    /// The stored description of each of `hashes` that the history knows.
    pub fn group_infos(&self, hashes: &[u64]) -> Result<FxHashMap<u64, GroupInfo>, StoreError> {
        let fail = |e: rusqlite::Error| self.err("reading groups", &e);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT info FROM groups WHERE hash = ?1")
            .map_err(fail)?;
        let mut out = FxHashMap::default();
        for &hash in hashes {
            let info: Option<String> = stmt
                .query_row(params![hash as i64], |r| r.get(0))
                .optional()
                .map_err(fail)?;
            if let Some(info) = info.and_then(|i| serde_json::from_str::<GroupInfo>(&i).ok()) {
                out.insert(hash, info);
            }
        }
        Ok(out)
    }

    /// Every target with its scrape counts.
    pub fn targets(&self) -> Result<Vec<TargetRow>, StoreError> {
        let fail = |e: rusqlite::Error| self.err("reading targets", &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t.id, t.url, t.labels, count(s.id), count(s.error), min(s.ts_ms), max(s.ts_ms),
                        (SELECT total FROM scrapes x WHERE x.target_id = t.id AND x.total IS NOT NULL ORDER BY ts_ms DESC LIMIT 1)
                 FROM targets t LEFT JOIN scrapes s ON s.target_id = t.id
                 GROUP BY t.id ORDER BY t.url",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TargetRow {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    labels: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                    scrapes: r.get::<_, i64>(3)?.max(0) as u64,
                    errors: r.get::<_, i64>(4)?.max(0) as u64,
                    first_ms: r.get(5)?,
                    last_ms: r.get(6)?,
                    last_total: r.get::<_, Option<i64>>(7)?.map(|t| t.max(0) as u64),
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// The groups seen on a target between two times, largest last count first.
    pub fn groups(
        &self,
        target_id: i64,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<GroupRow>, StoreError> {
        let fail = |e: rusqlite::Error| self.err("reading groups", &e);
        let last_scrape: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM scrapes WHERE target_id = ?1 AND total IS NOT NULL AND ts_ms >= ?2 AND ts_ms <= ?3
                 ORDER BY ts_ms DESC, id DESC LIMIT 1",
                params![target_id, since_ms, until_ms],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT g.hash, g.site, g.info, count(*), max(sa.count), max(sa.verdict),
                        coalesce((SELECT count FROM samples l WHERE l.scrape_id = ?4 AND l.group_id = g.id), 0)
                 FROM scrapes s JOIN samples sa ON sa.scrape_id = s.id JOIN groups g ON g.id = sa.group_id
                 WHERE s.target_id = ?1 AND s.ts_ms >= ?2 AND s.ts_ms <= ?3
                 GROUP BY g.id",
            )
            .map_err(fail)?;
        let mut rows: Vec<GroupRow> = stmt
            .query_map(
                params![target_id, since_ms, until_ms, last_scrape.unwrap_or(-1)],
                |r| {
                    Ok(GroupRow {
                        hash: format!("{:016x}", r.get::<_, i64>(0)? as u64),
                        site: r.get(1)?,
                        info: serde_json::from_str(&r.get::<_, String>(2)?).ok(),
                        samples: r.get::<_, i64>(3)?.max(0) as u64,
                        max_count: r.get::<_, i64>(4)?.max(0) as u64,
                        max_verdict: verdict_of(r.get(5)?),
                        last_count: r.get::<_, i64>(6)?.max(0) as u64,
                    })
                },
            )
            .map_err(fail)?
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        rows.sort_by(|a, b| {
            b.last_count
                .cmp(&a.last_count)
                .then(b.max_count.cmp(&a.max_count))
                .then(a.site.cmp(&b.site))
        });
        Ok(rows)
    }

    /// Counts of all groups of all targets between two times, for export: calls `row` with
    /// (ts_ms, target url, group hash, site, count, verdict) in time order.
    pub fn export(
        &self,
        target_id: Option<i64>,
        since_ms: i64,
        until_ms: i64,
        mut row: impl FnMut(i64, &str, u64, &str, u64, Verdict) -> std::io::Result<()>,
    ) -> Result<u64, StoreError> {
        let fail = |e: rusqlite::Error| self.err("exporting", &e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.ts_ms, t.url, g.hash, g.site, sa.count, sa.verdict
                 FROM scrapes s JOIN targets t ON t.id = s.target_id
                 JOIN samples sa ON sa.scrape_id = s.id JOIN groups g ON g.id = sa.group_id
                 WHERE (?1 IS NULL OR s.target_id = ?1) AND s.ts_ms >= ?2 AND s.ts_ms <= ?3
                 ORDER BY s.ts_ms, s.id, g.hash",
            )
            .map_err(fail)?;
        let mut rows = stmt
            .query(params![target_id, since_ms, until_ms])
            .map_err(fail)?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(fail)? {
            let url: String = r.get(1).map_err(fail)?;
            let site: String = r.get(3).map_err(fail)?;
            row(
                r.get(0).map_err(fail)?,
                &url,
                r.get::<_, i64>(2).map_err(fail)? as u64,
                &site,
                r.get::<_, i64>(4).map_err(fail)?.max(0) as u64,
                verdict_of(r.get(5).map_err(fail)?),
            )
            .map_err(|e| StoreError(format!("writing the export failed: {e}")))?;
            n += 1;
        }
        Ok(n)
    }

    /// The file size of the database and its WAL, for the health metrics.
    pub fn bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        size(&self.path) + size(Path::new(&wal))
    }
}

fn info_json(info: &GroupInfo) -> String {
    serde_json::to_string(info).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FaultKind;
    use crate::scrape::{Frame, GroupSample, ScrapeFormat};

    fn info(hash: u64, creator: bool) -> GroupInfo {
        let frame = Frame {
            function: format!("main.f{hash}").into(),
            file: "/src/main.go".into(),
            line: 7,
        };
        GroupInfo {
            hash,
            site: Some(frame.clone()),
            category: "channel receive".into(),
            state: None,
            creator: creator.then(|| frame.clone()),
            frames: vec![frame],
        }
    }

    fn scraped(counts: &[(u64, u64)], creator: bool) -> Result<Scraped, Fault> {
        Ok(Scraped {
            total: counts.iter().map(|c| c.1).sum(),
            groups: counts
                .iter()
                .map(|&(hash, count)| GroupSample {
                    count,
                    verdict: Verdict::Possible,
                    info: info(hash, creator),
                })
                .collect(),
            format: ScrapeFormat::Proto,
            bytes: 100,
            no_leak_profile: false,
            analyze_time: Duration::ZERO,
            text: crate::scrape::Text::NotAsked,
            text_bytes_per_goroutine: None,
        })
    }

    #[test]
    fn another_programs_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);")
                .unwrap();
        }
        let err = Store::open(&path).err().expect("refused").0;
        assert!(err.contains("another program's SQLite database"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "nothing was created in it");
        // Ours: created, marked, and opened again.
        let ours = dir.path().join("watch.db");
        drop(Store::open(&ours).unwrap());
        let id: i64 = Connection::open(&ours)
            .unwrap()
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        assert!(Store::open(&ours).is_ok());
    }

    #[test]
    fn scrapes_round_trip_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let target = crate::targets::parse_url("127.0.0.1:1").unwrap();
        {
            let mut store = Store::open(&path).unwrap();
            let id = store.target_id(&target).unwrap();
            store
                .record(
                    id,
                    1_000,
                    0,
                    Duration::from_millis(3),
                    &scraped(&[(1, 4), (2, 1)], false),
                )
                .unwrap();
            let fault = Fault::new(FaultKind::Down, "refused");
            store
                .record(id, 2_000, 0, Duration::ZERO, &Err(fault))
                .unwrap();
            store
                .record(
                    id,
                    3_000,
                    1,
                    Duration::from_millis(3),
                    &scraped(&[(1, 6)], true),
                )
                .unwrap();
        }
        // Reopened: same target id, groups stored once, the richer info kept.
        let mut store = Store::open(&path).unwrap();
        let id = store.target_id(&target).unwrap();
        assert_eq!(id, 1);
        let window = store.load_window(id, 0, i64::MAX).unwrap();
        assert_eq!(window.len(), 3);
        assert_eq!(window[0].total, Some(5));
        assert_eq!(window[1].total, None);
        assert_eq!(window[1].error.as_deref(), Some("refused"));
        assert_eq!(window[2].groups, vec![(1, 6, Verdict::Possible)]);
        let infos = store.group_infos(&[1, 2, 3]).unwrap();
        assert_eq!(infos.len(), 2);
        assert!(
            infos[&1].creator.is_some(),
            "the debug=2 description replaced the thin one"
        );
        let groups = store.groups(id, 0, i64::MAX).unwrap();
        assert_eq!(groups[0].last_count, 6);
        assert_eq!(groups[0].max_count, 6);
        assert_eq!(store.prune(2_500).unwrap(), 2);
        assert_eq!(store.load_window(id, 0, i64::MAX).unwrap().len(), 1);
        let mut rows = 0;
        store
            .export(None, 0, i64::MAX, |_, _, _, _, _, _| {
                rows += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(rows, 1);
    }

    /// Counts go in many to a statement: every count of a scrape with more groups than one
    /// statement takes (and a remainder) comes back, and only those.
    #[test]
    fn every_count_of_a_large_scrape_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let target = crate::targets::parse_url("127.0.0.1:1").unwrap();
        let mut store = Store::open(&path).unwrap();
        let id = store.target_id(&target).unwrap();
        for (n, ts) in [
            (2 * SAMPLES_PER_INSERT + 5, 1_000),
            (SAMPLES_PER_INSERT, 2_000),
            (3, 3_000),
        ] {
            let counts: Vec<(u64, u64)> = (0..n as u64).map(|h| (h + 1, 10 * h + 1)).collect();
            store
                .record(
                    id,
                    ts,
                    0,
                    Duration::from_millis(1),
                    &scraped(&counts, false),
                )
                .unwrap();
        }
        store.flush().unwrap();
        let window = store.load_window(id, 0, i64::MAX).unwrap();
        assert_eq!(window.len(), 3);
        for (scrape, n) in window
            .iter()
            .zip([2 * SAMPLES_PER_INSERT + 5, SAMPLES_PER_INSERT, 3])
        {
            let mut groups = scrape.groups.clone();
            groups.sort_by_key(|g| g.0);
            let expected: Vec<(u64, u64, Verdict)> = (0..n as u64)
                .map(|h| (h + 1, 10 * h + 1, Verdict::Possible))
                .collect();
            assert_eq!(groups, expected, "scrape at {}", scrape.ts_ms);
        }
    }

    #[test]
    fn a_locked_db_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        drop(Store::open(&path).unwrap());
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let err = Store::open(&path).err().expect("locked");
        assert!(err.0.contains("is locked by another process"), "{err}");
        holder.execute_batch("COMMIT").unwrap();
        assert!(Store::open(&path).is_ok());
    }

    #[test]
    fn one_history_has_one_writer_and_readers_are_not_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let first = Store::open(&path).unwrap();
        let err = Store::open(&path)
            .err()
            .expect("a second writer is refused")
            .0;
        assert!(err.contains("another goleash watch"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        // `goleash history` reads while the watcher writes.
        assert!(Store::open_read_only(&path).is_ok());
        drop(first);
        assert!(Store::open(&path).is_ok(), "the lock goes with the writer");
    }

    /// `-shm` cannot be opened or made beside `path`: a link into a directory that does not
    /// exist stands for a read-only directory, which would not stop a test running as root.
    fn block_shm(path: &Path) {
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        std::os::unix::fs::symlink("/nonexistent-goleash/shm", PathBuf::from(shm)).unwrap();
    }

    fn plain_read_only(path: &Path) -> rusqlite::Result<i64> {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM scrapes", [], |r| r.get(0)))
    }

    /// Scrapes are committed together: a reader sees them after `flush` (the watcher's
    /// cycle end, or a second after the batch began) and after the writer closes, and a
    /// batch goes on across flushes.
    #[test]
    fn scrapes_are_committed_in_batches_and_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let target = crate::targets::parse_url("127.0.0.1:1").unwrap();
        let mut writer = Store::open(&path).unwrap();
        let id = writer.target_id(&target).unwrap();
        let stored = || plain_read_only(&path).unwrap();
        writer
            .record(id, 1_000, 0, Duration::ZERO, &scraped(&[(1, 4)], true))
            .unwrap();
        assert_eq!(stored(), 0, "not committed yet");
        writer.flush().unwrap();
        assert_eq!(stored(), 1);
        writer
            .record(
                id,
                2_000,
                0,
                Duration::ZERO,
                &scraped(&[(1, 5), (2, 1)], false),
            )
            .unwrap();
        drop(writer);
        assert_eq!(stored(), 2, "closing commits");
        let store = Store::open_read_only(&path).unwrap();
        let window = store.load_window(id, 0, i64::MAX).unwrap();
        let totals: Vec<_> = window.iter().map(|s| s.total).collect();
        assert_eq!(totals, [Some(4), Some(6)]);
    }

    #[test]
    fn a_history_whose_shm_cannot_be_made_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let target = crate::targets::parse_url("127.0.0.1:1").unwrap();
        let mut writer = Store::open(&path).unwrap();
        let id = writer.target_id(&target).unwrap();
        writer
            .record(id, 1_000, 0, Duration::ZERO, &scraped(&[(1, 4)], true))
            .unwrap();
        // Committed, as the watcher does within a second and at every cycle's end.
        writer.flush().unwrap();
        // A copy taken while the watcher runs (a backup, an rsync): its last rows are in the
        // -wal, and the copy has no -shm.
        let copied = dir.path().join("copy");
        std::fs::create_dir(&copied).unwrap();
        let copy = copied.join("w.db");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::copy(dir.path().join("w.db-wal"), copied.join("w.db-wal")).unwrap();
        block_shm(&copy);
        assert!(has_pending_wal(&copy));
        assert!(
            plain_read_only(&copy).is_err(),
            "SQLite alone cannot read it"
        );
        let store = Store::open_read_only(&copy).unwrap();
        let id = store.targets().unwrap()[0].id;
        let window = store.load_window(id, 0, i64::MAX).unwrap();
        assert_eq!(
            window[0].total,
            Some(4),
            "the rows still in the -wal are read"
        );
        drop(writer);

        // Closed cleanly: the WAL is checkpointed into the file, read in place.
        assert!(!has_pending_wal(&path));
        block_shm(&path);
        assert!(
            plain_read_only(&path).is_err(),
            "SQLite alone cannot read it"
        );
        let store = Store::open_read_only(&path).unwrap();
        assert!(store._scratch.is_none(), "read in place");
        assert_eq!(
            store.load_window(id, 0, i64::MAX).unwrap()[0].total,
            Some(4)
        );
    }

    #[test]
    fn a_read_only_db_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        drop(Store::open(&path).unwrap());
        // The read-only case as SQLite reports it, independent of whether the test runs as
        // root (which file permissions would not stop).
        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let e = conn
            .execute("INSERT INTO meta(key, value) VALUES ('x', 'y')", [])
            .unwrap_err();
        let err = explain(&path, "writing", &e);
        assert!(err.0.contains("is read-only"), "{err}");
        assert!(err.0.contains("-wal"), "{err}");
    }

    #[test]
    fn a_version_1_history_is_migrated_with_its_scrapes_in_epoch_0() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            // The version 1 layout, as an older goleash wrote it.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&SCHEMA.replace(",\n    epoch INTEGER NOT NULL DEFAULT 0", ""))
                .unwrap();
            conn.execute_batch(
                "INSERT INTO meta VALUES ('schema_version', '1');
                 INSERT INTO targets(url) VALUES ('http://127.0.0.1:1/debug/pprof');
                 INSERT INTO scrapes(target_id, ts_ms, duration_ms, total) VALUES (1, 1000, 1, 5);",
            )
            .unwrap();
            let cols: i64 = conn
                .query_row(
                    "SELECT count(*) FROM pragma_table_info('scrapes') WHERE name = 'epoch'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(cols, 0, "the fixture must be the old layout");
        }
        let mut store = Store::open(&path).unwrap();
        let window = store.load_window(1, 0, i64::MAX).unwrap();
        assert_eq!((window.len(), window[0].epoch), (1, 0));
        store
            .record(1, 2_000, 3, Duration::ZERO, &scraped(&[(1, 1)], false))
            .unwrap();
        let window = store.load_window(1, 0, i64::MAX).unwrap();
        assert_eq!(window[1].epoch, 3);
        drop(store);
        // Opening again finds version 2 and changes nothing.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.load_window(1, 0, i64::MAX).unwrap().len(), 2);
    }
}
