//! The Postgres engine: any number of localspaces processes on one database behave as one
//! store.
//!
//! Driver: the synchronous `postgres` client in an `r2d2` pool. The [`Store`] trait is
//! synchronous and called from blocking threads, so a synchronous client needs no hop to an
//! async runtime per query; each pooled connection keeps its prepared statements, so a
//! read is one round trip.
//!
//! Writes are serialized across every process: a write transaction first locks the
//! `next_seq` row of `ls_meta` (`SELECT … FOR UPDATE`). Conditions (`Expect`), unique index
//! checks and [`Write::AtMost`] guards are then read under that lock (read committed: each
//! statement sees every earlier commit), so they hold exactly as with SQLite's single
//! writer, and `seq` grows in commit order: a pagination cursor never skips a record
//! committed after the page was read. Reads take no lock and see the latest commit of any
//! process; there is no record cache (a cache could serve a record another process changed).
//!
//! Schema (version in `ls_meta.schema_version`, migrated under an advisory lock so that
//! replicas starting together migrate once):
//! - `ls_records(seq PRIMARY KEY, account, region, kind, id, rev, body, indexes,
//!   UNIQUE(account, region, kind, id))`, indexed by (account, region, kind, seq) and
//!   (kind, seq); `indexes` holds the entries as the SQLite engine encodes them;
//! - `ls_record_index(account, region, kind, name, key, seq, id)`, keyed by
//!   (account, region, kind, name, key, seq), plus `seq`;
//! - `ls_record_counts(account, region, kind, n)`: record counts kept by each commit;
//! - `ls_meta(name, value)`: `schema_version` and `next_seq`;
//! - `ls_activity(seq, body)` (version 2): the shared activity log, trimmed on append.
//!
//! Names (account, region, kind, id, index names and keys) are stored as their UTF-8
//! bytes (`BYTEA`): compared bytewise as SQLite does, and a NUL, which `TEXT` refuses,
//! is just another byte.

use crate::common::{check_expect, closed, too_many, unique_conflict};
use crate::sqlite::{decode_indexes, encode_indexes};
use crate::{Key, Put, Query, Record, Scope, Store, StoreError, Write};
use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The schema version this build writes.
const SCHEMA_VERSION: usize = 2;

/// `MIGRATIONS[v]` brings a database from version `v` to `v + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION] = [
    r"
INSERT INTO ls_meta (name, value) VALUES ('next_seq', 1);
CREATE TABLE ls_records (
    seq     BIGINT PRIMARY KEY,
    account BYTEA NOT NULL,
    region  BYTEA NOT NULL,
    kind    BYTEA NOT NULL,
    id      BYTEA NOT NULL,
    rev     BIGINT NOT NULL,
    body    BYTEA NOT NULL,
    indexes BYTEA NOT NULL,
    UNIQUE (account, region, kind, id)
);
CREATE INDEX ls_records_by_scope_seq ON ls_records (account, region, kind, seq);
CREATE INDEX ls_records_by_kind ON ls_records (kind, seq);
CREATE TABLE ls_record_index (
    account BYTEA NOT NULL,
    region  BYTEA NOT NULL,
    kind    BYTEA NOT NULL,
    name    BYTEA NOT NULL,
    key     BYTEA NOT NULL,
    seq     BIGINT NOT NULL,
    id      BYTEA NOT NULL,
    PRIMARY KEY (account, region, kind, name, key, seq)
);
CREATE INDEX ls_record_index_by_seq ON ls_record_index (seq);
CREATE TABLE ls_record_counts (
    account BYTEA NOT NULL,
    region  BYTEA NOT NULL,
    kind    BYTEA NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (account, region, kind)
);
",
    r"
-- Version 2: the activity log shared by the replicas (bounded by the writers).
CREATE TABLE ls_activity (
    seq  BIGSERIAL PRIMARY KEY,
    body BYTEA NOT NULL
);
",
];

/// Key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x6c6f_6361_6c73_7063;

/// Connections kept open at most by one process.
const POOL_SIZE: u32 = 16;
/// How long a call waits for a connection before failing (the database is down).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts of a write transaction that lost a serialization race.
const WRITE_ATTEMPTS: usize = 5;

const GET: &str = "SELECT id, rev, seq, body, indexes FROM ls_records \
                   WHERE account = $1 AND region = $2 AND kind = $3 AND id = $4";
const GET_MANY: &str = "SELECT id, rev, seq, body, indexes FROM ls_records \
                        WHERE account = $1 AND region = $2 AND kind = $3 AND id = ANY($4)";
const CURRENT: &str = "SELECT rev, seq, indexes FROM ls_records \
                       WHERE account = $1 AND region = $2 AND kind = $3 AND id = $4";
const SCAN: &str = "SELECT id, rev, seq, body, indexes FROM ls_records \
                    WHERE account = $1 AND region = $2 AND kind = $3 AND seq > $4 ORDER BY seq LIMIT $5";
const SCAN_INDEX: &str = "SELECT r.id, r.rev, r.seq, r.body, r.indexes \
                          FROM ls_record_index AS i JOIN ls_records AS r ON r.seq = i.seq \
                          WHERE i.account = $1 AND i.region = $2 AND i.kind = $3 AND i.name = $4 \
                          AND i.key = $5 AND i.seq > $6 ORDER BY i.seq LIMIT $7";
const COUNT: &str = "SELECT n FROM ls_record_counts WHERE account = $1 AND region = $2 AND kind = $3";
const COUNT_INDEX: &str = "SELECT count(*) FROM ls_record_index \
                           WHERE account = $1 AND region = $2 AND kind = $3 AND name = $4 AND key = $5";
const SCAN_KIND: &str = "SELECT account, region, id, rev, seq, body, indexes FROM ls_records \
                         WHERE kind = $1 ORDER BY seq";
const UNIQUE_HOLDER: &str = "SELECT id FROM ls_record_index WHERE account = $1 AND region = $2 \
                             AND kind = $3 AND name = $4 AND key = $5 AND seq <> $6 LIMIT 1";
const INSERT: &str = "INSERT INTO ls_records (seq, account, region, kind, id, rev, body, indexes) \
                      VALUES ($1, $2, $3, $4, $5, 1, $6, $7)";
const UPDATE: &str = "UPDATE ls_records SET rev = $2, body = $3, indexes = $4 WHERE seq = $1";
const DELETE: &str = "DELETE FROM ls_records WHERE seq = $1";
const INSERT_INDEX: &str = "INSERT INTO ls_record_index (account, region, kind, name, key, seq, id) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
const DELETE_INDEX: &str = "DELETE FROM ls_record_index WHERE seq = $1";
const COUNT_UP: &str = "INSERT INTO ls_record_counts (account, region, kind, n) VALUES ($1, $2, $3, 1) \
                        ON CONFLICT (account, region, kind) DO UPDATE SET n = ls_record_counts.n + 1";
const COUNT_DOWN: &str = "UPDATE ls_record_counts SET n = n - 1 \
                          WHERE account = $1 AND region = $2 AND kind = $3";
const CLEAR_INDEX: &str = "DELETE FROM ls_record_index WHERE account = $1 AND region = $2";
const CLEAR: &str = "DELETE FROM ls_records WHERE account = $1 AND region = $2";
const CLEAR_COUNTS: &str = "DELETE FROM ls_record_counts WHERE account = $1 AND region = $2";
const LOG_APPEND: &str = "INSERT INTO ls_activity (body) SELECT unnest($1::bytea[])";
const LOG_TRIM: &str = "DELETE FROM ls_activity WHERE seq <= (SELECT max(seq) FROM ls_activity) - $1";
const LOG_RECENT: &str = "SELECT body FROM ls_activity ORDER BY seq DESC LIMIT $1";
const LOCK_SEQ: &str = "SELECT value FROM ls_meta WHERE name = 'next_seq' FOR UPDATE";
const SET_SEQ: &str = "UPDATE ls_meta SET value = $1 WHERE name = 'next_seq'";

/// A [`Store`] on a PostgreSQL database shared by any number of processes.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    closed: AtomicBool,
    desc: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.desc)
            .field("closed", &self.closed.load(Ordering::Acquire))
            .finish()
    }
}

/// Opens pooled connections.
struct Manager {
    config: postgres::Config,
}

/// A pooled connection with the statements it has prepared.
struct Conn {
    /// Always `Some` until dropped.
    client: Option<Client>,
    statements: HashMap<&'static str, Statement>,
}

impl Drop for Conn {
    /// Closing sends a goodbye through the driver's own runtime: not on a runtime worker.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: Some(self.config.connect(NoTls)?),
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        match conn.client.as_mut() {
            Some(c) => off_runtime(|| c.simple_query("").map(|_| ())),
            None => Ok(()),
        }
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.as_ref().is_none_or(Client::is_closed)
    }
}

/// The prepared statement for `sql` on this connection (prepared on first use).
fn stmt(
    client: &mut impl GenericClient,
    cache: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    cache.insert(sql, s.clone());
    Ok(s)
}

/// A driver error as a store error: a unique violation is a conflict (another process
/// won a race the lock did not cover), anything else a backend fault with the server's
/// message.
fn backend(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(db.message().to_string());
        }
        return StoreError::Backend(format!("postgres: {}", db.message()));
    }
    match std::error::Error::source(&e) {
        Some(src) => StoreError::Backend(format!("postgres: {e}: {src}")),
        None => StoreError::Backend(format!("postgres: {e}")),
    }
}

/// Whether a transaction failed only because a concurrent one won (retry it).
fn retryable(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// Runs `f`, which blocks on the database, where blocking is allowed. The driver runs
/// each connection's I/O on a runtime of its own, which must not start inside another
/// runtime's worker: there `f` runs under `block_in_place` (a multi-thread runtime) or on a
/// scoped thread (a current-thread runtime, e.g. a test's); elsewhere (blocking threads,
/// plain threads) it runs as is.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// Whether the connection broke (closed or an I/O error): nothing more can be sent on it.
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A stored name as a string.
fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt("a stored name is not UTF-8".into()))
}

/// A row `id, rev, seq, body, indexes` (from column `at`) as a record of `scope`/`kind`.
fn record(row: &postgres::Row, at: usize, scope: Scope, kind: &str) -> Result<Record, StoreError> {
    let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
    let indexes: Vec<u8> = row.try_get(at + 4).map_err(get)?;
    Ok(Record {
        key: Key {
            scope,
            kind: kind.to_string(),
            id: text(row.try_get(at).map_err(get)?)?,
        },
        rev: uint(row.try_get(at + 1).map_err(get)?),
        seq: uint(row.try_get(at + 2).map_err(get)?),
        body: row.try_get(at + 3).map_err(get)?,
        indexes: decode_indexes(&indexes)?,
    })
}

/// What a write transaction failed on.
enum TxError {
    /// The driver: retry when the connection was stale (before anything was sent) or a
    /// concurrent transaction won.
    Driver(postgres::Error),
    /// A condition that did not hold, or undecodable data.
    Store(StoreError),
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        TxError::Driver(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/db`,
    /// libpq-style options allowed) and migrates its schema, retrying for up to `wait`
    /// while the database is unreachable.
    pub fn connect(url: &str, wait: Duration) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid store URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("localspaces");
        }
        let desc = describe(&config);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A stale connection fails its first statement and is then dropped (see
            // `has_broken`); reads retry once, so no round trip is spent per checkout.
            .test_on_check_out(false)
            .build_unchecked(Manager { config });
        let store = PostgresStore {
            pool,
            closed: AtomicBool::new(false),
            desc,
        };
        let start = Instant::now();
        loop {
            match off_runtime(|| store.migrate()) {
                Ok(()) => return Ok(store),
                Err(e) if start.elapsed() < wait && matches!(e, StoreError::Backend(_)) => {
                    tracing::warn!(database = %store.desc, error = %e, "database not ready; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `user@host:port/db` (no password), for the ready line and logs.
    pub fn description(&self) -> &str {
        &self.desc
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        self.pool
            .get()
            .map_err(|e| StoreError::Backend(format!("database {} unreachable: {e}", self.desc)))
    }

    /// Brings the schema to [`SCHEMA_VERSION`]; refuses a database written by a newer build.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let client = conn.client.as_mut().ok_or_else(closed)?;
        let mut tx = client.transaction().map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(backend)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS ls_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
             INSERT INTO ls_meta (name, value) VALUES ('schema_version', 0) ON CONFLICT DO NOTHING;",
        )
        .map_err(backend)?;
        let version: i64 = tx
            .query_one("SELECT value FROM ls_meta WHERE name = 'schema_version'", &[])
            .and_then(|r| r.try_get(0))
            .map_err(backend)?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "database schema version {version} is newer than this build supports ({SCHEMA_VERSION})"
            )));
        }
        for step in &MIGRATIONS[version..] {
            tx.batch_execute(step).map_err(backend)?;
        }
        tx.execute(
            "UPDATE ls_meta SET value = $1 WHERE name = 'schema_version'",
            &[&int(SCHEMA_VERSION as u64)],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    /// Runs a read on a pooled connection; a connection found closed (the database
    /// restarted since it was opened) is dropped and the read tried once more on a new one.
    fn read<T: Send>(
        &self,
        f: impl Fn(&mut Client, &mut HashMap<&'static str, Statement>) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.read_now(f))
    }

    fn read_now<T>(
        &self,
        f: impl Fn(&mut Client, &mut HashMap<&'static str, Statement>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut last = None;
        for _ in 0..2 {
            let mut conn = self.conn()?;
            let Conn { client, statements } = &mut *conn;
            let client = client.as_mut().ok_or_else(closed)?;
            match f(client, statements) {
                Ok(v) => return Ok(v),
                Err(e) if connection_lost(&e) || client.is_closed() => last = Some(e),
                Err(e) => return Err(backend(e)),
            }
        }
        Err(last.map_or_else(closed, backend))
    }

    /// Runs `f` in a write transaction that holds the `next_seq` lock, committing if it
    /// succeeds. Retried when a stale connection failed before sending anything, or a
    /// concurrent transaction won a serialization race.
    fn write<T>(
        &self,
        f: impl Fn(
            &mut postgres::Transaction<'_>,
            &mut HashMap<&'static str, Statement>,
            &mut i64,
        ) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.conn()?;
            let Conn { client, statements } = &mut *conn;
            let client = client.as_mut().ok_or_else(closed)?;
            let mut tx = match client.transaction() {
                Ok(tx) => tx,
                Err(e) if attempt < WRITE_ATTEMPTS && connection_lost(&e) => {
                    tracing::debug!(error = %e, "dropping a closed database connection");
                    continue;
                }
                Err(e) => return Err(backend(e)),
            };
            let mut run = |tx: &mut postgres::Transaction<'_>| -> Result<T, TxError> {
                let lock = stmt(tx, statements, LOCK_SEQ)?;
                let mut next_seq: i64 = tx.query_one(&lock, &[])?.try_get(0)?;
                let start = next_seq;
                let out = f(tx, statements, &mut next_seq)?;
                if next_seq != start {
                    let set = stmt(tx, statements, SET_SEQ)?;
                    tx.execute(&set, &[&next_seq])?;
                }
                Ok(out)
            };
            match run(&mut tx) {
                Ok(out) => return tx.commit().map(|()| out).map_err(backend),
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Driver(e)) if attempt < WRITE_ATTEMPTS && retryable(&e) => {
                    tracing::debug!(error = %e, "write transaction lost a race; retrying");
                }
                Err(TxError::Driver(e)) => return Err(backend(e)),
            }
        }
    }
}

/// `user@host:port/db` of a connection configuration.
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or_default(),
        config.get_dbname().or(config.get_user()).unwrap_or_default()
    )
}

type Statements = HashMap<&'static str, Statement>;

/// The revision, `seq` and encoded index entries of a record, if present.
fn current(
    tx: &mut postgres::Transaction<'_>,
    st: &mut Statements,
    key: &Key,
) -> Result<Option<(u64, i64, Vec<u8>)>, TxError> {
    let s = &key.scope;
    let q = stmt(tx, st, CURRENT)?;
    let row = tx.query_opt(
        &q,
        &[
            &s.account.as_bytes(),
            &s.region.as_bytes(),
            &key.kind.as_bytes(),
            &key.id.as_bytes(),
        ],
    )?;
    Ok(match row {
        Some(r) => Some((uint(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?)),
        None => None,
    })
}

fn put(
    tx: &mut postgres::Transaction<'_>,
    st: &mut Statements,
    put: &Put,
    next_seq: &mut i64,
) -> Result<(), TxError> {
    let (k, s) = (&put.key, &put.key.scope);
    let existing = current(tx, st, k)?;
    check_expect(k, existing.as_ref().map(|e| e.0), put.expect)?;
    let own_seq = existing.as_ref().map_or(0, |e| e.1);
    for e in put.indexes.iter().filter(|e| put.unique.contains(&e.name)) {
        let q = stmt(tx, st, UNIQUE_HOLDER)?;
        let holder = tx.query_opt(
            &q,
            &[
                &s.account.as_bytes(),
                &s.region.as_bytes(),
                &k.kind.as_bytes(),
                &e.name.as_bytes(),
                &e.key.as_bytes(),
                &own_seq,
            ],
        )?;
        if let Some(row) = holder {
            let holder = text(row.try_get(0)?)?;
            return Err(unique_conflict(k, &e.name, &e.key, &holder).into());
        }
    }
    let indexes = encode_indexes(&put.indexes)?;
    let seq = match existing {
        Some((rev, seq, old)) => {
            let q = stmt(tx, st, UPDATE)?;
            tx.execute(&q, &[&seq, &int(rev + 1), &put.body, &indexes])?;
            if old == indexes {
                return Ok(());
            }
            let q = stmt(tx, st, DELETE_INDEX)?;
            tx.execute(&q, &[&seq])?;
            seq
        }
        None => {
            let seq = *next_seq;
            *next_seq += 1;
            let q = stmt(tx, st, INSERT)?;
            tx.execute(
                &q,
                &[
                    &seq,
                    &s.account.as_bytes(),
                    &s.region.as_bytes(),
                    &k.kind.as_bytes(),
                    &k.id.as_bytes(),
                    &put.body,
                    &indexes,
                ],
            )?;
            let q = stmt(tx, st, COUNT_UP)?;
            tx.execute(
                &q,
                &[&s.account.as_bytes(), &s.region.as_bytes(), &k.kind.as_bytes()],
            )?;
            seq
        }
    };
    let q = stmt(tx, st, INSERT_INDEX)?;
    for e in &put.indexes {
        tx.execute(
            &q,
            &[
                &s.account.as_bytes(),
                &s.region.as_bytes(),
                &k.kind.as_bytes(),
                &e.name.as_bytes(),
                &e.key.as_bytes(),
                &seq,
                &k.id.as_bytes(),
            ],
        )?;
    }
    Ok(())
}

fn apply(
    tx: &mut postgres::Transaction<'_>,
    st: &mut Statements,
    write: &Write,
    next_seq: &mut i64,
) -> Result<(), TxError> {
    match write {
        Write::Put(p) => put(tx, st, p, next_seq),
        Write::Delete { key, expect } => {
            let existing = current(tx, st, key)?;
            check_expect(key, existing.as_ref().map(|e| e.0), *expect)?;
            if let Some((_, seq, _)) = existing {
                let s = &key.scope;
                let q = stmt(tx, st, DELETE)?;
                tx.execute(&q, &[&seq])?;
                let q = stmt(tx, st, DELETE_INDEX)?;
                tx.execute(&q, &[&seq])?;
                let q = stmt(tx, st, COUNT_DOWN)?;
                tx.execute(
                    &q,
                    &[&s.account.as_bytes(), &s.region.as_bytes(), &key.kind.as_bytes()],
                )?;
            }
            Ok(())
        }
        Write::AtMost { scope, kind, max } => {
            let q = stmt(tx, st, COUNT)?;
            let n = match tx.query_opt(
                &q,
                &[
                    &scope.account.as_bytes(),
                    &scope.region.as_bytes(),
                    &kind.as_bytes(),
                ],
            )? {
                Some(row) => uint(row.try_get(0)?),
                None => 0,
            };
            if n > *max {
                return Err(too_many(scope, kind, n, *max).into());
            }
            Ok(())
        }
    }
}

impl Store for PostgresStore {
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        let s = &key.scope;
        let row = self.read(|c, st| {
            let q = stmt(c, st, GET)?;
            c.query_opt(
                &q,
                &[
                    &s.account.as_bytes(),
                    &s.region.as_bytes(),
                    &key.kind.as_bytes(),
                    &key.id.as_bytes(),
                ],
            )
        })?;
        row.map(|r| record(&r, 0, s.clone(), &key.kind)).transpose()
    }

    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.read(|c, st| {
            let q = stmt(c, st, GET_MANY)?;
            let ids: Vec<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
            c.query(
                &q,
                &[
                    &scope.account.as_bytes(),
                    &scope.region.as_bytes(),
                    &kind.as_bytes(),
                    &ids,
                ],
            )
        })?;
        let mut found: HashMap<String, Record> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let r = record(row, 0, scope.clone(), kind)?;
            found.insert(r.key.id.clone(), r);
        }
        // In the order asked; an id asked twice is answered twice, as the other engines do.
        Ok(ids.iter().filter_map(|id| found.get(*id).cloned()).collect())
    }

    fn scan(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        let (s, kind) = (&query.scope, query.kind.as_str());
        let after = query.after_seq.map_or(0, int);
        let limit: Option<i64> = query.limit.map(|n| int(n as u64));
        let rows = self.read(|c, st| match &query.index {
            None => {
                let q = stmt(c, st, SCAN)?;
                c.query(
                    &q,
                    &[
                        &s.account.as_bytes(),
                        &s.region.as_bytes(),
                        &kind.as_bytes(),
                        &after,
                        &limit,
                    ],
                )
            }
            Some(e) => {
                let q = stmt(c, st, SCAN_INDEX)?;
                c.query(
                    &q,
                    &[
                        &s.account.as_bytes(),
                        &s.region.as_bytes(),
                        &kind.as_bytes(),
                        &e.name.as_bytes(),
                        &e.key.as_bytes(),
                        &after,
                        &limit,
                    ],
                )
            }
        })?;
        rows.iter().map(|r| record(r, 0, s.clone(), kind)).collect()
    }

    fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let (s, kind) = (&query.scope, query.kind.as_str());
        let n = self.read(|c, st| match &query.index {
            None => {
                let q = stmt(c, st, COUNT)?;
                c.query_opt(
                    &q,
                    &[&s.account.as_bytes(), &s.region.as_bytes(), &kind.as_bytes()],
                )?
                .map_or(Ok(0), |r| r.try_get::<_, i64>(0))
            }
            Some(e) => {
                let q = stmt(c, st, COUNT_INDEX)?;
                c.query_one(
                    &q,
                    &[
                        &s.account.as_bytes(),
                        &s.region.as_bytes(),
                        &kind.as_bytes(),
                        &e.name.as_bytes(),
                        &e.key.as_bytes(),
                    ],
                )?
                .try_get::<_, i64>(0)
            }
        })?;
        Ok(uint(n))
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.write(|tx, st, next_seq| writes.iter().try_for_each(|w| apply(tx, st, w, next_seq)))
    }

    fn scan_all_scopes(&self, kind: &str) -> Result<Vec<Record>, StoreError> {
        let rows = self.read(|c, st| {
            let q = stmt(c, st, SCAN_KIND)?;
            c.query(&q, &[&kind.as_bytes()])
        })?;
        rows.iter()
            .map(|r| {
                let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
                let scope = Scope::new(
                    text(r.try_get(0).map_err(get)?)?,
                    text(r.try_get(1).map_err(get)?)?,
                );
                record(r, 2, scope, kind)
            })
            .collect()
    }

    fn clear_scope(&self, scope: &Scope) -> Result<u64, StoreError> {
        off_runtime(|| self.clear_scope_now(scope))
    }

    fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    fn log_append(&self, entries: &[Vec<u8>], keep: u64) -> Result<bool, StoreError> {
        if entries.is_empty() {
            return Ok(true);
        }
        let keep = int(keep);
        self.read(|c, st| {
            let append = stmt(c, st, LOG_APPEND)?;
            let trim = stmt(c, st, LOG_TRIM)?;
            c.execute(&append, &[&entries])?;
            c.execute(&trim, &[&keep])
        })?;
        Ok(true)
    }

    fn log_recent(&self, limit: usize) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let limit = int(limit as u64);
        let rows = self.read(|c, st| {
            let q = stmt(c, st, LOG_RECENT)?;
            c.query(&q, &[&limit])
        })?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<Vec<Vec<u8>>, _>>()
            .map(Some)
    }
}

impl PostgresStore {
    fn clear_scope_now(&self, scope: &Scope) -> Result<u64, StoreError> {
        self.write(|tx, st, _| {
            let (account, region) = (scope.account.as_bytes(), scope.region.as_bytes());
            let args: [&(dyn postgres::types::ToSql + Sync); 2] = [&account, &region];
            let q = stmt(tx, st, CLEAR_INDEX)?;
            tx.execute(&q, &args)?;
            let q = stmt(tx, st, CLEAR_COUNTS)?;
            tx.execute(&q, &args)?;
            let q = stmt(tx, st, CLEAR)?;
            Ok(tx.execute(&q, &args)?)
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A fresh schema per test on the database of `LOCALSPACES_TEST_PG_URL`.

    use super::PostgresStore;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// The test database's URL, or `None` (with the reason printed) when unset.
    pub fn url() -> Option<String> {
        match std::env::var("LOCALSPACES_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => Some(u),
            _ => {
                println!("skipped: LOCALSPACES_TEST_PG_URL is not set (no test PostgreSQL)");
                None
            }
        }
    }

    /// A URL whose connections use a new, empty schema of the test database.
    pub fn fresh_url(base: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let schema = format!(
            "t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let mut admin = postgres::Client::connect(base, postgres::NoTls).expect("test database");
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}")
    }

    /// A store on a fresh schema, or `None` when no test database is configured.
    pub fn store() -> Option<PostgresStore> {
        let url = fresh_url(&url()?);
        Some(PostgresStore::connect(&url, Duration::ZERO).expect("connect to the test database"))
    }
}
