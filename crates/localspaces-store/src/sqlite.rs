//! The SQLite engine: durable (WAL, `synchronous=FULL`: a commit survives a crash once
//! `commit` returns), one writer connection behind a mutex, a small pool of read-only
//! connections so reads never wait for a writer's fsync.
//!
//! Schema (version 2, in `PRAGMA user_version`, migrated by [`migrate`]):
//! - `records(seq INTEGER PRIMARY KEY, account, region, kind, id, rev, body, indexes,
//!   UNIQUE(account, region, kind, id))`: `seq` (creation order) is the rowid; `indexes`
//!   holds the record's index entries as given (see [`encode_indexes`]);
//!   `records_by_scope_seq(account, region, kind, seq)` serves ordered scans,
//!   `records_by_kind(kind, seq)` serves [`Store::scan_all_scopes`].
//! - `record_counts(account, region, kind, n)`: record counts kept by triggers on `records`
//!   (version 2), so an unfiltered [`Store::count`] is one lookup;
//! - `record_index(account, region, kind, name, key, seq, id)`, keyed by
//!   (account, region, kind, name, key, seq): filtered scans, counts and unique checks;
//!   `record_index_by_seq(seq)` finds a record's rows on update and delete.
//! - `meta(name, value)`: `next_seq`, the persisted monotonic `seq` counter (a deleted
//!   newest record never has its `seq` reused, so pagination cursors stay valid).

use crate::common::{check_expect, closed, too_many, unique_conflict};
use crate::{IndexEntry, Key, KeyRef, Put, Query, Record, Scope, Store, StoreError, Write};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The schema version this build writes.
const SCHEMA_VERSION: usize = 2;

/// `MIGRATIONS[v]` brings a database from version `v` to `v + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION] = [
    r"
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (name, value) VALUES ('next_seq', 1);
CREATE TABLE records (
    seq     INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    rev     INTEGER NOT NULL,
    body    BLOB NOT NULL,
    indexes BLOB NOT NULL,
    UNIQUE (account, region, kind, id)
);
CREATE INDEX records_by_scope_seq ON records (account, region, kind, seq);
CREATE INDEX records_by_kind ON records (kind, seq);
CREATE TABLE record_index (
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    id      TEXT NOT NULL,
    PRIMARY KEY (account, region, kind, name, key, seq)
) WITHOUT ROWID;
CREATE INDEX record_index_by_seq ON record_index (seq);
",
    r"
-- Version 2: per (scope, kind) record counts kept by triggers, so that quota checks
-- (e.g. WorkSpaces per account) cost the same at 10 records and at 100,000.
CREATE TABLE record_counts (
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (account, region, kind)
) WITHOUT ROWID;
INSERT INTO record_counts (account, region, kind, n)
    SELECT account, region, kind, count(*) FROM records GROUP BY account, region, kind;
CREATE TRIGGER records_counted_insert AFTER INSERT ON records BEGIN
    INSERT INTO record_counts (account, region, kind, n) VALUES (NEW.account, NEW.region, NEW.kind, 1)
        ON CONFLICT (account, region, kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER records_counted_delete AFTER DELETE ON records BEGIN
    UPDATE record_counts SET n = n - 1
        WHERE account = OLD.account AND region = OLD.region AND kind = OLD.kind;
END;
",
];

/// How long a connection waits for a lock held by another process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

const GET: &str = "SELECT id, rev, seq, body, indexes FROM records \
                   WHERE account = ?1 AND region = ?2 AND kind = ?3 AND id = ?4";
const CURRENT: &str = "SELECT rev, seq, indexes FROM records \
                       WHERE account = ?1 AND region = ?2 AND kind = ?3 AND id = ?4";
const SCAN: &str = "SELECT id, rev, seq, body, indexes FROM records \
                    WHERE account = ?1 AND region = ?2 AND kind = ?3 AND seq > ?4 ORDER BY seq LIMIT ?5";
const SCAN_INDEX: &str = "SELECT r.id, r.rev, r.seq, r.body, r.indexes \
                          FROM record_index AS i CROSS JOIN records AS r ON r.seq = i.seq \
                          WHERE i.account = ?1 AND i.region = ?2 AND i.kind = ?3 AND i.name = ?4 \
                          AND i.key = ?5 AND i.seq > ?6 ORDER BY i.seq LIMIT ?7";
const COUNT: &str = "SELECT n FROM record_counts WHERE account = ?1 AND region = ?2 AND kind = ?3";
const COUNT_INDEX: &str = "SELECT count(*) FROM record_index \
                           WHERE account = ?1 AND region = ?2 AND kind = ?3 AND name = ?4 AND key = ?5";
const SCAN_KIND: &str = "SELECT account, region, id, rev, seq, body, indexes FROM records \
                         WHERE kind = ?1 ORDER BY seq";
const UNIQUE_HOLDER: &str = "SELECT id FROM record_index WHERE account = ?1 AND region = ?2 AND kind = ?3 \
                             AND name = ?4 AND key = ?5 AND seq <> ?6 LIMIT 1";
const INSERT: &str = "INSERT INTO records (seq, account, region, kind, id, rev, body, indexes) \
                      VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)";
const UPDATE: &str = "UPDATE records SET rev = ?2, body = ?3, indexes = ?4 WHERE seq = ?1";
const DELETE: &str = "DELETE FROM records WHERE seq = ?1";
const INSERT_INDEX: &str = "INSERT OR IGNORE INTO record_index (account, region, kind, name, key, seq, id) \
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const DELETE_INDEX: &str = "DELETE FROM record_index WHERE seq = ?1";
const CLEAR_INDEX: &str = "DELETE FROM record_index WHERE account = ?1 AND region = ?2";
const CLEAR: &str = "DELETE FROM records WHERE account = ?1 AND region = ?2";
const GET_NEXT_SEQ: &str = "SELECT max((SELECT value FROM meta WHERE name = 'next_seq'), \
                            (SELECT coalesce(max(seq), 0) + 1 FROM records))";
const SET_NEXT_SEQ: &str = "UPDATE meta SET value = ?1 WHERE name = 'next_seq'";

/// A durable [`Store`] in one SQLite database file.
pub struct SqliteStore {
    /// Read-only connections; `None` for an in-memory database (reads use the writer).
    /// Declared first so that, dropped without `close`, the writer closes last and
    /// checkpoints the write-ahead log.
    readers: Option<Readers>,
    /// The only connection that writes; `None` once closed.
    writer: Mutex<Option<Writer>>,
    closed: AtomicBool,
    /// Records recently read by key (the hot path of Describe-by-id calls): a hit costs a
    /// hash lookup instead of a SQLite read transaction (several fcntl lock syscalls).
    cache: RecordCache,
}

/// A bounded read cache of records by key, kept coherent with commits: every commit
/// removes the keys it wrote and bumps an epoch under the cache lock, and a reader only
/// fills an entry if no commit happened since its lookup missed (so a read that raced a
/// write can never put a stale record back).
#[derive(Default)]
struct RecordCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    epoch: u64,
    /// Shared, so that [`Store::get_many_shared`] hands out entries without copying them.
    map: crate::KeyMap<Arc<Record>>,
}

/// Entries kept at most; when full the cache starts over (cheap, and bounded memory).
const CACHE_CAPACITY: usize = 4096;

impl RecordCache {
    /// The cached record, or the epoch to pass to [`RecordCache::fill`] after a miss.
    fn lookup(&self, key: KeyRef<'_>) -> Result<Arc<Record>, u64> {
        let inner = self.inner.lock();
        inner.map.get(&key).cloned().ok_or(inner.epoch)
    }

    fn fill(&self, key: &Key, record: &Arc<Record>, epoch: u64) {
        let mut inner = self.inner.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.map.len() >= CACHE_CAPACITY {
            inner.map.clear();
        }
        inner.map.insert(key.clone(), Arc::clone(record));
    }

    fn invalidate<'a>(&self, keys: impl Iterator<Item = &'a Key>) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        for k in keys {
            inner.map.remove(k);
        }
    }

    fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        inner.map.clear();
    }
}

struct Writer {
    conn: Connection,
    /// The next `seq` to assign (persisted in `meta` by each commit that inserts).
    next_seq: u64,
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.readers.as_ref().map(|r| &r.path))
            .field("closed", &self.closed.load(Ordering::Acquire))
            .finish()
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed, with its parent directory) the database at `path` and
    /// migrates its schema to the current version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "cannot enable WAL journal mode (got {mode})"
            )));
        }
        // SQLite silently opens a file it may not write read-only; every write would fail.
        if conn.is_readonly(rusqlite::DatabaseName::Main).map_err(backend)? {
            return Err(StoreError::Backend(format!(
                "{} is read-only: localspaces needs to write its database",
                path.display()
            )));
        }
        let store = Self::with_writer(conn, Some(path.to_path_buf()))?;
        // Fail now rather than on the first read if read connections cannot be opened.
        if let Some(readers) = &store.readers {
            let conn = open_reader(&readers.path)?;
            readers.idle.lock().push(conn);
        }
        Ok(store)
    }

    /// A private, volatile database (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::with_writer(Connection::open_in_memory().map_err(backend)?, None)
    }

    fn with_writer(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        conn.set_prepared_statement_cache_capacity(32);
        migrate(&mut conn)?;
        let next_seq = conn.query_row(GET_NEXT_SEQ, [], |r| r.get(0)).map_err(backend)?;
        Ok(SqliteStore {
            writer: Mutex::new(Some(Writer { conn, next_seq })),
            readers: path.map(|path| Readers {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            closed: AtomicBool::new(false),
            cache: RecordCache::default(),
        })
    }

    /// Runs `f` on a read connection: a pooled read-only one, or the writer in memory.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let Some(readers) = &self.readers else {
            let mut writer = self.writer.lock();
            return f(&mut writer.as_mut().ok_or_else(closed)?.conn);
        };
        let idle = readers.idle.lock().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_reader(&readers.path)?,
        };
        let out = f(&mut conn);
        let mut idle = readers.idle.lock();
        if !self.closed.load(Ordering::Acquire) && idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer, committing if it
    /// succeeds and rolling back otherwise.
    /// `committed` runs after a successful commit, still under the writer lock (cache
    /// invalidation).
    fn write<T>(
        &self,
        f: impl FnOnce(&Connection, &mut u64) -> Result<T, StoreError>,
        committed: impl FnOnce(),
    ) -> Result<T, StoreError> {
        let mut guard = self.writer.lock();
        let w = guard.as_mut().ok_or_else(closed)?;
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut next_seq = w.next_seq;
        let out = f(&tx, &mut next_seq)?;
        if next_seq != w.next_seq {
            tx.prepare_cached(SET_NEXT_SEQ)
                .map_err(backend)?
                .execute([next_seq])
                .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        w.next_seq = next_seq;
        committed();
        Ok(out)
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// Brings the schema to [`SCHEMA_VERSION`], one step per transaction; refuses a database
/// written by a newer build.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let version: usize = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this build supports ({SCHEMA_VERSION})"
            )));
        }
        let Some(step) = MIGRATIONS.get(version) else {
            return Ok(());
        };
        tx.execute_batch(step).map_err(backend)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
}

/// Index entries as stored in `records.indexes`: per entry, the name then the key, each
/// as a little-endian `u32` byte length followed by UTF-8 bytes.
pub(crate) fn encode_indexes(entries: &[IndexEntry]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for s in entries.iter().flat_map(|e| [&e.name, &e.key]) {
        let len = u32::try_from(s.len()).map_err(|_| StoreError::Backend("index entry too long".into()))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    Ok(out)
}

pub(crate) fn decode_indexes(mut bytes: &[u8]) -> Result<Vec<IndexEntry>, StoreError> {
    fn take(bytes: &mut &[u8]) -> Result<String, StoreError> {
        let corrupt = || StoreError::Corrupt("malformed index entries".into());
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| corrupt())?;
        if rest.len() < len {
            return Err(corrupt());
        }
        let (s, rest) = rest.split_at(len);
        *bytes = rest;
        String::from_utf8(s.to_vec()).map_err(|_| corrupt())
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let name = take(&mut bytes)?;
        out.push(IndexEntry {
            name,
            key: take(&mut bytes)?,
        });
    }
    Ok(out)
}

/// A row of `records` before its index entries are decoded.
struct Raw {
    id: String,
    rev: u64,
    seq: u64,
    body: Vec<u8>,
    indexes: Vec<u8>,
}

impl Raw {
    /// Reads columns `id, rev, seq, body, indexes` starting at `at`.
    fn from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Raw> {
        Ok(Raw {
            id: row.get(at)?,
            rev: row.get(at + 1)?,
            seq: row.get(at + 2)?,
            body: row.get(at + 3)?,
            indexes: row.get(at + 4)?,
        })
    }

    fn into_record(self, scope: Scope, kind: &str) -> Result<Record, StoreError> {
        Ok(Record {
            key: Key {
                scope,
                kind: kind.to_string(),
                id: self.id,
            },
            rev: self.rev,
            seq: self.seq,
            body: self.body,
            indexes: decode_indexes(&self.indexes)?,
        })
    }
}

/// A `seq` or `limit` as an SQLite integer (saturating; a negative limit means none).
fn sql_int(n: Option<impl TryInto<i64>>, none: i64) -> i64 {
    n.map_or(none, |n| n.try_into().unwrap_or(i64::MAX))
}

fn get_one(conn: &Connection, key: &Key) -> Result<Option<Record>, StoreError> {
    let s = &key.scope;
    let raw = conn
        .prepare_cached(GET)
        .map_err(backend)?
        .query_row(params![s.account, s.region, key.kind, key.id], |r| {
            Raw::from_row(r, 0)
        })
        .optional()
        .map_err(backend)?;
    raw.map(|raw| raw.into_record(s.clone(), &key.kind)).transpose()
}

/// The revision, `seq` and encoded index entries of a record, if present.
fn current(conn: &Connection, key: &Key) -> Result<Option<(u64, u64, Vec<u8>)>, StoreError> {
    let s = &key.scope;
    conn.prepare_cached(CURRENT)
        .map_err(backend)?
        .query_row(params![s.account, s.region, key.kind, key.id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()
        .map_err(backend)
}

fn put(conn: &Connection, put: &Put, next_seq: &mut u64) -> Result<(), StoreError> {
    let (k, s) = (&put.key, &put.key.scope);
    let existing = current(conn, k)?;
    check_expect(k, existing.as_ref().map(|e| e.0), put.expect)?;
    let own_seq = existing.as_ref().map_or(0, |e| e.1);
    for e in put.indexes.iter().filter(|e| put.unique.contains(&e.name)) {
        let holder: Option<String> = conn
            .prepare_cached(UNIQUE_HOLDER)
            .map_err(backend)?
            .query_row(
                params![s.account, s.region, k.kind, e.name, e.key, own_seq],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        if let Some(holder) = holder {
            return Err(unique_conflict(k, &e.name, &e.key, &holder));
        }
    }
    let indexes = encode_indexes(&put.indexes)?;
    let seq = match existing {
        Some((rev, seq, old)) => {
            conn.prepare_cached(UPDATE)
                .map_err(backend)?
                .execute(params![seq, rev + 1, put.body, indexes])
                .map_err(backend)?;
            if old == indexes {
                return Ok(());
            }
            conn.prepare_cached(DELETE_INDEX)
                .map_err(backend)?
                .execute([seq])
                .map_err(backend)?;
            seq
        }
        None => {
            let seq = *next_seq;
            *next_seq += 1;
            conn.prepare_cached(INSERT)
                .map_err(backend)?
                .execute(params![seq, s.account, s.region, k.kind, k.id, put.body, indexes])
                .map_err(backend)?;
            seq
        }
    };
    let mut insert = conn.prepare_cached(INSERT_INDEX).map_err(backend)?;
    for e in &put.indexes {
        insert
            .execute(params![s.account, s.region, k.kind, e.name, e.key, seq, k.id])
            .map_err(backend)?;
    }
    Ok(())
}

fn apply(conn: &Connection, write: &Write, next_seq: &mut u64) -> Result<(), StoreError> {
    match write {
        Write::Put(p) => put(conn, p, next_seq),
        Write::Delete { key, expect } => {
            let existing = current(conn, key)?;
            check_expect(key, existing.as_ref().map(|e| e.0), *expect)?;
            if let Some((_, seq, _)) = existing {
                conn.prepare_cached(DELETE)
                    .map_err(backend)?
                    .execute([seq])
                    .map_err(backend)?;
                conn.prepare_cached(DELETE_INDEX)
                    .map_err(backend)?
                    .execute([seq])
                    .map_err(backend)?;
            }
            Ok(())
        }
        Write::AtMost { scope, kind, max } => {
            let n: u64 = conn
                .prepare_cached(COUNT)
                .map_err(backend)?
                .query_row(params![scope.account, scope.region, kind], |r| r.get(0))
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if n > *max {
                return Err(too_many(scope, kind, n, *max));
            }
            Ok(())
        }
    }
}

impl SqliteStore {
    /// One record by key, from the read cache when it holds it.
    fn get_shared(&self, key: KeyRef<'_>) -> Result<Option<Arc<Record>>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        match self.cache.lookup(key) {
            Ok(r) => Ok(Some(r)),
            Err(epoch) => {
                let key = key.to_key();
                let found = self.read(|conn| get_one(conn, &key))?.map(Arc::new);
                if let Some(r) = &found {
                    self.cache.fill(&key, r, epoch);
                }
                Ok(found)
            }
        }
    }
}

impl Store for SqliteStore {
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        let key = KeyRef::new(&key.scope, &key.kind, &key.id);
        Ok(self.get_shared(key)?.map(Arc::unwrap_or_clone))
    }

    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .get_many_shared(scope, kind, ids)?
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect())
    }

    fn get_many_shared(
        &self,
        scope: &Scope,
        kind: &str,
        ids: &[&str],
    ) -> Result<Vec<Arc<Record>>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.get_shared(KeyRef::new(scope, kind, id))?);
        }
        Ok(out)
    }

    fn scan(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        let (s, kind) = (&query.scope, query.kind.as_str());
        let after = sql_int(query.after_seq, 0);
        let limit = sql_int(query.limit, -1);
        self.read(|conn| {
            let raws = match &query.index {
                None => conn
                    .prepare_cached(SCAN)
                    .map_err(backend)?
                    .query_map(params![s.account, s.region, kind, after, limit], |r| {
                        Raw::from_row(r, 0)
                    })
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>(),
                Some(e) => conn
                    .prepare_cached(SCAN_INDEX)
                    .map_err(backend)?
                    .query_map(
                        params![s.account, s.region, kind, e.name, e.key, after, limit],
                        |r| Raw::from_row(r, 0),
                    )
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>(),
            };
            raws.map_err(backend)?
                .into_iter()
                .map(|raw| raw.into_record(s.clone(), kind))
                .collect()
        })
    }

    fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let (s, kind) = (&query.scope, query.kind.as_str());
        self.read(|conn| {
            let n = match &query.index {
                None => conn
                    .prepare_cached(COUNT)
                    .map_err(backend)?
                    .query_row(params![s.account, s.region, kind], |r| r.get(0))
                    .optional()
                    .map(|n| n.unwrap_or(0)),
                Some(e) => conn
                    .prepare_cached(COUNT_INDEX)
                    .map_err(backend)?
                    .query_row(params![s.account, s.region, kind, e.name, e.key], |r| r.get(0)),
            };
            n.map_err(backend)
        })
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let keys = || {
            writes.iter().filter_map(|w| match w {
                Write::Put(p) => Some(&p.key),
                Write::Delete { key, .. } => Some(key),
                Write::AtMost { .. } => None,
            })
        };
        self.write(
            |conn, next_seq| writes.iter().try_for_each(|w| apply(conn, w, next_seq)),
            || self.cache.invalidate(keys()),
        )
    }

    fn scan_all_scopes(&self, kind: &str) -> Result<Vec<Record>, StoreError> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(SCAN_KIND)
                .map_err(backend)?
                .query_map([kind], |r| {
                    Ok((
                        Scope::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                        Raw::from_row(r, 2)?,
                    ))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            rows.into_iter()
                .map(|(scope, raw)| raw.into_record(scope, kind))
                .collect()
        })
    }

    fn clear_scope(&self, scope: &Scope) -> Result<u64, StoreError> {
        self.write(
            |conn, _| {
                let args = params![scope.account, scope.region];
                conn.prepare_cached(CLEAR_INDEX)
                    .map_err(backend)?
                    .execute(args)
                    .map_err(backend)?;
                let n = conn
                    .prepare_cached(CLEAR)
                    .map_err(backend)?
                    .execute(args)
                    .map_err(backend)?;
                Ok(n as u64)
            },
            || self.cache.clear(),
        )
    }

    fn close(&self) -> Result<(), StoreError> {
        if let Some(readers) = &self.readers {
            let mut idle = readers.idle.lock();
            self.closed.store(true, Ordering::Release);
            idle.clear();
        } else {
            self.closed.store(true, Ordering::Release);
        }
        let Some(w) = self.writer.lock().take() else {
            return Ok(());
        };
        if self.readers.is_some() {
            w.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(backend)?;
        }
        w.conn.close().map_err(|(_, e)| backend(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expect;

    fn store(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&dir.path().join("store.db")).unwrap()
    }

    fn query_plan(store: &SqliteStore, sql: &str) -> Vec<String> {
        let guard = store.writer.lock();
        let conn = &guard.as_ref().unwrap().conn;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let mut rows = stmt.raw_query();
        let mut plan = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            plan.push(row.get::<_, String>(3).unwrap());
        }
        plan
    }

    /// Every statement, including the filtered scans and counts, searches an index:
    /// no full scan of a table, no sort.
    #[test]
    fn every_statement_uses_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        for sql in [
            GET,
            CURRENT,
            SCAN,
            SCAN_INDEX,
            COUNT,
            COUNT_INDEX,
            SCAN_KIND,
            UNIQUE_HOLDER,
            UPDATE,
            DELETE,
            DELETE_INDEX,
            CLEAR_INDEX,
            CLEAR,
        ] {
            let plan = query_plan(&s, sql);
            println!("{plan:?}");
            assert!(!plan.is_empty(), "{sql}");
            for step in &plan {
                let indexed = step.starts_with("SEARCH ") && step.contains(" USING ");
                assert!(indexed && !step.contains("TEMP B-TREE"), "{sql}\n  => {plan:?}");
            }
        }
        let plan = query_plan(&s, SCAN_INDEX);
        assert!(plan[0].starts_with("SEARCH i USING PRIMARY KEY"), "{plan:?}");
        assert!(
            plan[1].starts_with("SEARCH r USING INTEGER PRIMARY KEY"),
            "{plan:?}"
        );
        let plan = query_plan(&s, SCAN);
        assert!(plan[0].contains("records_by_scope_seq"), "{plan:?}");
        let plan = query_plan(&s, COUNT_INDEX);
        assert!(
            plan[0].contains("PRIMARY KEY (account=? AND region=? AND kind=? AND name=? AND key=?)"),
            "{plan:?}"
        );
    }

    #[test]
    fn schema_version_is_recorded_and_newer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let s = SqliteStore::open(&path).unwrap();
        s.close().unwrap();
        let conn = Connection::open(&path).unwrap();
        let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn version_1_databases_gain_record_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            for (seq, id) in [(1, "a"), (2, "b"), (3, "c")] {
                conn.execute(
                    "INSERT INTO records (seq, account, region, kind, id, rev, body, indexes) \
                     VALUES (?1, '111122223333', 'us-east-1', 'thing', ?2, 1, x'7b7d', x'')",
                    params![seq, id],
                )
                .unwrap();
            }
            conn.execute("UPDATE meta SET value = 4 WHERE name = 'next_seq'", [])
                .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let q = Query {
            scope: Scope::new("111122223333", "us-east-1"),
            kind: "thing".to_string(),
            index: None,
            after_seq: None,
            limit: None,
        };
        assert_eq!(s.count(&q).unwrap(), 3);
        s.commit(vec![Write::Delete {
            key: Key {
                scope: q.scope.clone(),
                kind: "thing".to_string(),
                id: "b".to_string(),
            },
            expect: Expect::Any,
        }])
        .unwrap();
        assert_eq!(s.count(&q).unwrap(), 2);
        let plan = query_plan(&s, COUNT);
        assert!(
            plan[0].starts_with("SEARCH record_counts USING PRIMARY KEY"),
            "{plan:?}"
        );
    }

    #[test]
    fn writer_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let guard = s.writer.lock();
        let conn = &guard.as_ref().unwrap().conn;
        let pragma = |name: &str| {
            conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(pragma("synchronous"), 2, "FULL");
        assert_eq!(pragma("foreign_keys"), 1);
        assert_eq!(pragma("busy_timeout"), 5000);
    }

    /// A reader neither waits for the writer nor sees its uncommitted transaction.
    #[test]
    fn reads_do_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let key = Key {
            scope: Scope::new("1", "r"),
            kind: "k".into(),
            id: "a".into(),
        };
        let put = |body: &str| {
            Write::Put(Put {
                key: key.clone(),
                body: body.into(),
                indexes: vec![],
                unique: vec![],
                expect: Expect::Any,
            })
        };
        s.commit(vec![put("old")]).unwrap();
        let mut guard = s.writer.lock();
        let tx = guard
            .as_mut()
            .unwrap()
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("UPDATE records SET body = x'00'", []).unwrap();
        assert_eq!(s.get(&key).unwrap().unwrap().body, b"old");
        drop(tx);
        drop(guard);
        s.commit(vec![put("new")]).unwrap();
        assert_eq!(s.get(&key).unwrap().unwrap().body, b"new");
    }

    #[test]
    fn index_encoding() {
        let entries = vec![
            IndexEntry {
                name: "n".into(),
                key: "k".into(),
            },
            IndexEntry {
                name: String::new(),
                key: "é".into(),
            },
        ];
        let bytes = encode_indexes(&entries).unwrap();
        assert_eq!(decode_indexes(&bytes).unwrap(), entries);
        assert!(decode_indexes(&[]).unwrap().is_empty());
        for bad in [
            &bytes[..bytes.len() - 1],
            &bytes[..3],
            &[1, 0, 0, 0, 0xff, 0, 0, 0, 0][..],
        ] {
            assert!(
                matches!(decode_indexes(bad), Err(StoreError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }
}
