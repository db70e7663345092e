//! The Postgres engine: any number of localspaces processes on one database behave as one
//! store.
//!
//! Driver: the synchronous `postgres` client in an `r2d2` pool. The [`Store`] trait is
//! synchronous and called from blocking threads, so a synchronous client needs no hop to an
//! async runtime per query; each pooled connection keeps its prepared statements, so a
//! read is one round trip.
//!
//! A commit is one round trip: one call of the `ls_commit` function, which runs as its own
//! transaction. It first takes a transaction-scoped advisory lock of the schema (in memory:
//! no row written, no WAL), so writes are serialized across every process; conditions
//! (`Expect`), unique index checks
//! and [`Write::AtMost`] guards are then read under that lock (read committed: each
//! statement sees every earlier commit), so they hold exactly as with SQLite's single
//! writer, and `seq` grows in commit order: a pagination cursor never skips a record
//! committed after the page was read. Each commit also bumps the store-wide `revision` and
//! records the keys it wrote in `ls_changes` under that revision, with a token the caller
//! chose: a call retried after a lost connection finds its token and is not applied twice.
//! Revisions become visible in order (the lock is held until each commit is visible). The
//! function returns each put's new `rev` and `seq`: the writer caches what it wrote (unless
//! a fence has already passed that revision), so a read-modify-write of one record costs
//! one round trip, not two.
//!
//! Reads by key are cached. The cache is current as of a revision `valid`: every commit up
//! to `valid` has dropped the keys it wrote. A [`Store::fence`] moves `valid` to the
//! store's revision with one query (the revision and the keys of the commits since),
//! shared by every fence that arrives while the previous query is in flight; a request
//! awaits one, so it sees every commit that completed before it began, on any replica. A
//! read that misses fills the cache only if it read at a revision no older than `valid`
//! (and than this process's own last commit), so a read racing a commit never leaves a
//! stale record behind. Before the first fence nothing is cached.
//!
//! Outages (connection refused or lost, the server shutting down, no connection within
//! the checkout timeout) are [`StoreError::Unavailable`].
//!
//! Schema (version in `ls_meta.schema_version`, migrated under an advisory lock so that
//! replicas starting together migrate once):
//! - `ls_records(seq PRIMARY KEY, account, region, kind, id, rev, body, indexes,
//!   UNIQUE(account, region, kind, id))`, indexed by (account, region, kind, seq) and
//!   (kind, seq); `indexes` holds the entries as the SQLite engine encodes them;
//! - `ls_record_index(account, region, kind, name, key, seq, id)`, keyed by
//!   (account, region, kind, name, key, seq), plus `seq`;
//! - `ls_record_counts(account, region, kind, n)`: record counts kept by each commit;
//! - `ls_meta(name, value)`: `schema_version`, `next_seq`, (version 3) `revision` and
//!   (version 4) `activity_trimmed`, where the activity log's last trim ended;
//! - `ls_activity(seq, body)` (version 2): the shared activity log, trimmed on append;
//! - `ls_changes(revision, token, account[], region[], kind[], id[])` (version 3): the keys
//!   each recent commit wrote (all arrays `NULL`: every key), trimmed by the commits (every
//!   64th revision drops those 4096 or more behind; a fence further behind drops its whole
//!   cache);
//! - `ls_claims(account, region, kind, id, rev, owner, until)` (version 3): claims of due
//!   jobs with their lease;
//! - the function `ls_commit` (version 3; version 4 takes the advisory lock and returns
//!   what each put wrote).
//!
//! Names (account, region, kind, id, index names and keys) are stored as their UTF-8
//! bytes (`BYTEA`): compared bytewise as SQLite does, and a NUL, which `TEXT` refuses,
//! is just another byte.

use crate::common::closed;
use crate::sqlite::{decode_indexes, encode_indexes};
use crate::{Expect, Fence, Key, Query, Record, Scope, Store, StoreError, Write};
use parking_lot::{Condvar, Mutex};
use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The schema version this build writes.
const SCHEMA_VERSION: usize = 4;

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
    r"
-- Version 3: the store-wide revision and the keys of each commit (read caches), claims of
-- due jobs, and the commit function (one round trip per commit).
INSERT INTO ls_meta (name, value) VALUES ('revision', 0);
CREATE TABLE ls_changes (
    revision BIGINT PRIMARY KEY,
    token    BYTEA,
    account  BYTEA[],
    region   BYTEA[],
    kind     BYTEA[],
    id       BYTEA[]
);
CREATE INDEX ls_changes_by_token ON ls_changes (token);
CREATE TABLE ls_claims (
    account BYTEA NOT NULL,
    region  BYTEA NOT NULL,
    kind    BYTEA NOT NULL,
    id      BYTEA NOT NULL,
    rev     BIGINT NOT NULL,
    owner   BYTEA NOT NULL,
    until   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, region, kind, id, rev)
);
-- One batch of writes, atomically (one call is one transaction). Write i
-- is p_op[i] (0 put, 1 delete, 2 at-most guard) on key (p_account[i], p_region[i],
-- p_kind[i], p_id[i]) with condition p_expect[i] (0 any, 1 absent, 2 revision p_num[i]);
-- a guard allows at most p_num[i] records. Index entry j belongs to write p_ix_of[j]. A
-- condition that does not hold raises SQLSTATE LS409. Returns the commit's revision.
CREATE FUNCTION ls_commit(
    p_token BYTEA, p_op INT[], p_account BYTEA[], p_region BYTEA[], p_kind BYTEA[], p_id BYTEA[],
    p_body BYTEA[], p_indexes BYTEA[], p_expect INT[], p_num BIGINT[],
    p_ix_of INT[], p_ix_name BYTEA[], p_ix_key BYTEA[], p_ix_unique BOOLEAN[]
) RETURNS BIGINT LANGUAGE plpgsql AS $fn$
DECLARE
    v_next BIGINT;
    v_first BIGINT;
    v_revision BIGINT;
    v_present BOOLEAN;
    v_rev BIGINT;
    v_seq BIGINT;
    v_indexes BYTEA;
    v_count BIGINT;
    v_holder BYTEA;
    v_shown TEXT;
BEGIN
    SELECT value INTO v_next FROM ls_meta WHERE name = 'next_seq' FOR UPDATE;
    v_first := v_next;
    -- A retried call whose first attempt committed.
    SELECT revision INTO v_revision FROM ls_changes WHERE token = p_token;
    IF FOUND THEN
        RETURN v_revision;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_op, 1), 0) LOOP
        IF p_op[i] = 2 THEN
            SELECT n INTO v_count FROM ls_record_counts
                WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i];
            IF coalesce(v_count, 0) > p_num[i] THEN
                RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = format(
                    '%s/%s: %s records of kind %s, at most %s allowed',
                    encode(p_account[i], 'escape'), encode(p_region[i], 'escape'),
                    coalesce(v_count, 0), encode(p_kind[i], 'escape'), p_num[i]);
            END IF;
            CONTINUE;
        END IF;
        v_shown := encode(p_account[i], 'escape') || '/' || encode(p_region[i], 'escape') || '/'
            || encode(p_kind[i], 'escape') || '/' || encode(p_id[i], 'escape');
        SELECT rev, seq, indexes INTO v_rev, v_seq, v_indexes FROM ls_records
            WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i] AND id = p_id[i];
        v_present := FOUND;
        IF p_expect[i] = 1 AND v_present THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = v_shown || ' already exists';
        ELSIF p_expect[i] = 2 AND NOT v_present THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409',
                MESSAGE = format('%s does not exist, expected revision %s', v_shown, p_num[i]);
        ELSIF p_expect[i] = 2 AND v_rev <> p_num[i] THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409',
                MESSAGE = format('%s is at revision %s, expected %s', v_shown, v_rev, p_num[i]);
        END IF;
        IF p_op[i] = 1 THEN
            IF v_present THEN
                DELETE FROM ls_records WHERE seq = v_seq;
                DELETE FROM ls_record_index WHERE seq = v_seq;
                UPDATE ls_record_counts SET n = n - 1
                    WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i];
            END IF;
            CONTINUE;
        END IF;
        FOR j IN 1 .. coalesce(array_length(p_ix_of, 1), 0) LOOP
            CONTINUE WHEN p_ix_of[j] <> i OR NOT p_ix_unique[j];
            SELECT id INTO v_holder FROM ls_record_index
                WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i]
                AND name = p_ix_name[j] AND key = p_ix_key[j] AND seq <> coalesce(v_seq, 0) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = format(
                    '%s: index %s key %s is already used by %s', v_shown,
                    encode(p_ix_name[j], 'escape'), quote_literal(encode(p_ix_key[j], 'escape')),
                    encode(v_holder, 'escape'));
            END IF;
        END LOOP;
        IF v_present THEN
            UPDATE ls_records SET rev = v_rev + 1, body = p_body[i], indexes = p_indexes[i]
                WHERE seq = v_seq;
            CONTINUE WHEN v_indexes = p_indexes[i];
            DELETE FROM ls_record_index WHERE seq = v_seq;
        ELSE
            v_seq := v_next;
            v_next := v_next + 1;
            INSERT INTO ls_records (seq, account, region, kind, id, rev, body, indexes)
                VALUES (v_seq, p_account[i], p_region[i], p_kind[i], p_id[i], 1, p_body[i], p_indexes[i]);
            INSERT INTO ls_record_counts AS c (account, region, kind, n)
                VALUES (p_account[i], p_region[i], p_kind[i], 1)
                ON CONFLICT (account, region, kind) DO UPDATE SET n = c.n + 1;
        END IF;
        INSERT INTO ls_record_index (account, region, kind, name, key, seq, id)
            SELECT p_account[i], p_region[i], p_kind[i], p_ix_name[s.sub], p_ix_key[s.sub], v_seq, p_id[i]
            FROM generate_subscripts(p_ix_of, 1) AS s(sub) WHERE p_ix_of[s.sub] = i
            ON CONFLICT DO NOTHING;
    END LOOP;
    IF v_next <> v_first THEN
        UPDATE ls_meta SET value = v_next WHERE name = 'next_seq';
    END IF;
    UPDATE ls_meta SET value = value + 1 WHERE name = 'revision' RETURNING value INTO v_revision;
    INSERT INTO ls_changes (revision, token, account, region, kind, id)
        VALUES (v_revision, p_token, p_account, p_region, p_kind, p_id);
    IF v_revision % 64 = 0 THEN
        DELETE FROM ls_changes WHERE revision <= v_revision - 4096;
    END IF;
    RETURN v_revision;
END
$fn$;
",
    r"
-- Version 4: commits take a lock in memory rather than the next_seq row's (which wrote the
-- row and a WAL record per commit), and ls_commit returns each write's new rev and seq, so
-- the writer keeps what it wrote in its read cache. (Replicas of version 3 must be stopped:
-- the function's result changes.) The activity log's trim starts where the last one ended
-- (from the start, each trim walked every entry deleted since the last vacuum).
INSERT INTO ls_meta (name, value) VALUES ('activity_trimmed', 0);
DROP FUNCTION ls_commit(BYTEA, INT[], BYTEA[], BYTEA[], BYTEA[], BYTEA[], BYTEA[], BYTEA[], INT[],
    BIGINT[], INT[], BYTEA[], BYTEA[], BOOLEAN[]);
-- One batch of writes, atomically (one call is one transaction). Write i
-- is p_op[i] (0 put, 1 delete, 2 at-most guard) on key (p_account[i], p_region[i],
-- p_kind[i], p_id[i]) with condition p_expect[i] (0 any, 1 absent, 2 revision p_num[i]);
-- a guard allows at most p_num[i] records. Index entry j belongs to write p_ix_of[j]. A
-- condition that does not hold raises SQLSTATE LS409. Returns the commit's revision and
-- each put's new rev and seq (NULL for other writes, and all NULL for a retried call).
CREATE FUNCTION ls_commit(
    p_token BYTEA, p_op INT[], p_account BYTEA[], p_region BYTEA[], p_kind BYTEA[], p_id BYTEA[],
    p_body BYTEA[], p_indexes BYTEA[], p_expect INT[], p_num BIGINT[],
    p_ix_of INT[], p_ix_name BYTEA[], p_ix_key BYTEA[], p_ix_unique BOOLEAN[],
    OUT o_revision BIGINT, OUT o_rev BIGINT[], OUT o_seq BIGINT[]
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_next BIGINT;
    v_first BIGINT;
    v_present BOOLEAN;
    v_rev BIGINT;
    v_seq BIGINT;
    v_indexes BYTEA;
    v_count BIGINT;
    v_holder BYTEA;
    v_shown TEXT;
BEGIN
    -- Commits of this schema one at a time: a lock in memory, held to the end of the
    -- transaction (a row lock would write the row and a WAL record per commit).
    PERFORM pg_advisory_xact_lock(1819505517, 'ls_meta'::regclass::oid::int4);
    SELECT value INTO v_next FROM ls_meta WHERE name = 'next_seq';
    v_first := v_next;
    -- A retried call whose first attempt committed (what it wrote is not known here).
    SELECT revision INTO o_revision FROM ls_changes WHERE token = p_token;
    IF FOUND THEN
        RETURN;
    END IF;
    o_rev := array_fill(NULL::BIGINT, ARRAY[coalesce(array_length(p_op, 1), 0)]);
    o_seq := o_rev;
    FOR i IN 1 .. coalesce(array_length(p_op, 1), 0) LOOP
        IF p_op[i] = 2 THEN
            SELECT n INTO v_count FROM ls_record_counts
                WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i];
            IF coalesce(v_count, 0) > p_num[i] THEN
                RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = format(
                    '%s/%s: %s records of kind %s, at most %s allowed',
                    encode(p_account[i], 'escape'), encode(p_region[i], 'escape'),
                    coalesce(v_count, 0), encode(p_kind[i], 'escape'), p_num[i]);
            END IF;
            CONTINUE;
        END IF;
        SELECT rev, seq, indexes INTO v_rev, v_seq, v_indexes FROM ls_records
            WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i] AND id = p_id[i];
        v_present := FOUND;
        IF (p_expect[i] = 1 AND v_present) OR (p_expect[i] = 2 AND v_rev IS DISTINCT FROM p_num[i]) THEN
            v_shown := encode(p_account[i], 'escape') || '/' || encode(p_region[i], 'escape') || '/'
                || encode(p_kind[i], 'escape') || '/' || encode(p_id[i], 'escape');
        END IF;
        IF p_expect[i] = 1 AND v_present THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = v_shown || ' already exists';
        ELSIF p_expect[i] = 2 AND NOT v_present THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409',
                MESSAGE = format('%s does not exist, expected revision %s', v_shown, p_num[i]);
        ELSIF p_expect[i] = 2 AND v_rev <> p_num[i] THEN
            RAISE EXCEPTION USING ERRCODE = 'LS409',
                MESSAGE = format('%s is at revision %s, expected %s', v_shown, v_rev, p_num[i]);
        END IF;
        IF p_op[i] = 1 THEN
            IF v_present THEN
                DELETE FROM ls_records WHERE seq = v_seq;
                DELETE FROM ls_record_index WHERE seq = v_seq;
                UPDATE ls_record_counts SET n = n - 1
                    WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i];
            END IF;
            CONTINUE;
        END IF;
        FOR j IN 1 .. coalesce(array_length(p_ix_of, 1), 0) LOOP
            CONTINUE WHEN p_ix_of[j] <> i OR NOT p_ix_unique[j];
            SELECT id INTO v_holder FROM ls_record_index
                WHERE account = p_account[i] AND region = p_region[i] AND kind = p_kind[i]
                AND name = p_ix_name[j] AND key = p_ix_key[j] AND seq <> coalesce(v_seq, 0) LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LS409', MESSAGE = format(
                    '%s/%s/%s/%s: index %s key %s is already used by %s', encode(p_account[i], 'escape'),
                    encode(p_region[i], 'escape'), encode(p_kind[i], 'escape'), encode(p_id[i], 'escape'),
                    encode(p_ix_name[j], 'escape'), quote_literal(encode(p_ix_key[j], 'escape')),
                    encode(v_holder, 'escape'));
            END IF;
        END LOOP;
        o_rev[i] := coalesce(v_rev + 1, 1);
        o_seq[i] := coalesce(v_seq, v_next);
        IF v_present THEN
            UPDATE ls_records SET rev = v_rev + 1, body = p_body[i], indexes = p_indexes[i]
                WHERE seq = v_seq;
            CONTINUE WHEN v_indexes = p_indexes[i];
            DELETE FROM ls_record_index WHERE seq = v_seq;
        ELSE
            v_seq := v_next;
            v_next := v_next + 1;
            INSERT INTO ls_records (seq, account, region, kind, id, rev, body, indexes)
                VALUES (v_seq, p_account[i], p_region[i], p_kind[i], p_id[i], 1, p_body[i], p_indexes[i]);
            INSERT INTO ls_record_counts AS c (account, region, kind, n)
                VALUES (p_account[i], p_region[i], p_kind[i], 1)
                ON CONFLICT (account, region, kind) DO UPDATE SET n = c.n + 1;
        END IF;
        INSERT INTO ls_record_index (account, region, kind, name, key, seq, id)
            SELECT p_account[i], p_region[i], p_kind[i], p_ix_name[s.sub], p_ix_key[s.sub], v_seq, p_id[i]
            FROM generate_subscripts(p_ix_of, 1) AS s(sub) WHERE p_ix_of[s.sub] = i
            ON CONFLICT DO NOTHING;
    END LOOP;
    IF v_next <> v_first THEN
        UPDATE ls_meta SET value = v_next WHERE name = 'next_seq';
    END IF;
    UPDATE ls_meta SET value = value + 1 WHERE name = 'revision' RETURNING value INTO o_revision;
    INSERT INTO ls_changes (revision, token, account, region, kind, id)
        VALUES (o_revision, p_token, p_account, p_region, p_kind, p_id);
    IF o_revision % 64 = 0 THEN
        DELETE FROM ls_changes WHERE revision <= o_revision - 4096;
    END IF;
END
$fn$;
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
/// How long a fence waits for the store's answer before the store counts as unavailable.
const FENCE_TIMEOUT: Duration = Duration::from_secs(5);
/// Records kept at most in the read cache; when full it starts over.
const CACHE_CAPACITY: usize = 4096;
/// Most commits' keys one fence reads; further behind, the cache starts over.
const CHANGES_PER_CHECK: i64 = 1024;

/// The revision of the store, as the last column of a read (the revision it read at).
const GET: &str = "SELECT id, rev, seq, body, indexes, (SELECT value FROM ls_meta WHERE name = 'revision') \
                   FROM ls_records WHERE account = $1 AND region = $2 AND kind = $3 AND id = $4";
const GET_MANY: &str =
    "SELECT id, rev, seq, body, indexes, (SELECT value FROM ls_meta WHERE name = 'revision') \
                        FROM ls_records WHERE account = $1 AND region = $2 AND kind = $3 AND id = ANY($4)";
/// The store's revision and the keys of the commits after `$1` up to `$2`, in order.
const CHANGES: &str = "SELECT m.value, c.revision, c.account, c.region, c.kind, c.id \
                       FROM ls_meta AS m LEFT JOIN ls_changes AS c ON c.revision > $1 AND c.revision <= $2 \
                       WHERE m.name = 'revision' ORDER BY c.revision";
const COMMIT: &str = "SELECT * FROM ls_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
const BUMP: &str = "UPDATE ls_meta SET value = value + 1 WHERE name = 'revision' RETURNING value";
const CHANGED_ALL: &str = "INSERT INTO ls_changes (revision) VALUES ($1)";
const CLAIM: &str = "INSERT INTO ls_claims AS c (account, region, kind, id, rev, owner, until) \
                     VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp() + make_interval(secs => $7)) \
                     ON CONFLICT (account, region, kind, id, rev) DO UPDATE \
                     SET owner = EXCLUDED.owner, until = EXCLUDED.until \
                     WHERE c.until < clock_timestamp() OR c.owner = EXCLUDED.owner RETURNING 1";
const CLAIMS_TRIM: &str = "DELETE FROM ls_claims WHERE until < clock_timestamp() - interval '1 minute'";
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
const CLEAR_INDEX: &str = "DELETE FROM ls_record_index WHERE account = $1 AND region = $2";
const CLEAR: &str = "DELETE FROM ls_records WHERE account = $1 AND region = $2";
const CLEAR_COUNTS: &str = "DELETE FROM ls_record_counts WHERE account = $1 AND region = $2";
const LOG_APPEND: &str = "INSERT INTO ls_activity (body) SELECT unnest($1::bytea[])";
/// Deletes the entries older than the newest `$1`, from where the last trim ended: an index
/// scan from the first entry would walk every entry deleted since the last vacuum.
const LOG_TRIM: &str = "WITH lo AS (SELECT value FROM ls_meta WHERE name = 'activity_trimmed'), \
                        hi AS (SELECT max(seq) - $1 AS v FROM ls_activity), \
                        gone AS (DELETE FROM ls_activity \
                        WHERE seq > (SELECT value FROM lo) AND seq <= (SELECT v FROM hi)) \
                        UPDATE ls_meta SET value = (SELECT v FROM hi) \
                        WHERE name = 'activity_trimmed' AND value < (SELECT v FROM hi)";
const LOG_RECENT: &str = "SELECT body FROM ls_activity ORDER BY seq DESC LIMIT $1";
/// The lock every commit of this schema holds to its end (as `ls_commit` takes it); then
/// `NEXT_SEQ`, in a statement of its own (one that starts after the lock is held).
const LOCK: &str = "SELECT pg_advisory_xact_lock(1819505517, 'ls_meta'::regclass::oid::int4)";
const NEXT_SEQ: &str = "SELECT value FROM ls_meta WHERE name = 'next_seq'";
const SET_SEQ: &str = "UPDATE ls_meta SET value = $1 WHERE name = 'next_seq'";

/// A [`Store`] on a PostgreSQL database shared by any number of processes.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    closed: AtomicBool,
    desc: String,
    /// The read cache and its fences (shared with the thread that checks the store).
    shared: Arc<Shared>,
    /// This process's name in claims (random).
    owner: Vec<u8>,
    /// Claims made, to trim expired ones now and then.
    claims: AtomicU64,
}

/// What the fence thread shares with the store.
struct Shared {
    config: postgres::Config,
    cache: Cache,
    gate: Mutex<Gate>,
    /// Wakes the fence thread.
    wake: Condvar,
    /// Wakes blocking fences when a check ends.
    finished: Condvar,
    /// The number of the last check that ended and its failure, for async fences.
    done: tokio::sync::watch::Sender<(u64, Option<String>)>,
}

/// The fence thread's bookkeeping: checks are numbered; a fence waits for the first check
/// that starts after it was asked for.
#[derive(Default)]
struct Gate {
    started: u64,
    done: u64,
    /// The failure of check `done`.
    error: Option<String>,
    /// A fence waits for a check not started yet.
    wanted: bool,
    spawned: bool,
    stop: bool,
}

/// Records read by key, current as of a store revision (see the module docs).
#[derive(Default)]
struct Cache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// Every commit up to this revision has dropped the keys it wrote; `None` until the
    /// first fence, and nothing is cached until then.
    valid: Option<i64>,
    /// This process's newest commit: a read at an older revision is not cached.
    floor: i64,
    map: crate::KeyMap<Record>,
}

/// The keys of one commit (`None`: every key).
type Changed = (i64, Option<Vec<Key>>);

impl Cache {
    fn lookup(&self, key: &Key) -> Option<Record> {
        let s = self.state.lock();
        s.valid?;
        s.map.get(key).cloned()
    }

    /// Caches `rec`, read at revision `at`, unless a commit after `at` may have changed it.
    fn fill(&self, rec: &Record, at: i64) {
        let mut s = self.state.lock();
        match s.valid {
            Some(valid) if at >= valid && at >= s.floor => {}
            _ => return,
        }
        if s.map.len() >= CACHE_CAPACITY && !s.map.contains_key(&rec.key) {
            s.map.clear();
        }
        s.map.insert(rec.key.clone(), rec.clone());
    }

    /// Drops `keys`; `committed`: this process's commit that wrote them.
    fn forget<'a>(&self, keys: impl Iterator<Item = &'a Key>, committed: Option<i64>) {
        let mut s = self.state.lock();
        for k in keys {
            s.map.remove(k);
        }
        if let Some(rev) = committed {
            s.floor = s.floor.max(rev);
        }
    }

    /// After this process's commit at `revision`: each put's record (its new `revs[i]` and
    /// `seqs[i]`) is cached if no later commit can have changed it unseen (no fence has
    /// passed `revision` and no newer commit of this process exists), else dropped; deleted
    /// keys are dropped.
    fn committed(&self, writes: Vec<Write>, revision: i64, revs: &[Option<i64>], seqs: &[Option<i64>]) {
        let mut s = self.state.lock();
        s.floor = s.floor.max(revision);
        let keep = s.valid.is_some_and(|v| revision >= v) && revision >= s.floor;
        for (i, w) in writes.into_iter().enumerate() {
            match w {
                Write::Put(p) => match (keep, revs[i], seqs[i]) {
                    (true, Some(rev), Some(seq)) => {
                        if s.map.len() >= CACHE_CAPACITY && !s.map.contains_key(&p.key) {
                            s.map.clear();
                        }
                        let rec = Record {
                            key: p.key.clone(),
                            rev: uint(rev),
                            seq: uint(seq),
                            body: p.body,
                            indexes: p.indexes,
                        };
                        s.map.insert(p.key, rec);
                    }
                    _ => {
                        s.map.remove(&p.key);
                    }
                },
                Write::Delete { key, .. } => {
                    s.map.remove(&key);
                }
                Write::AtMost { .. } => {}
            }
        }
    }

    fn clear(&self, committed: i64) {
        let mut s = self.state.lock();
        s.map.clear();
        s.floor = s.floor.max(committed);
    }

    fn valid(&self) -> Option<i64> {
        self.state.lock().valid
    }

    /// Applies a check that read the store at revision `current` and the commits after
    /// `from`: their keys are dropped, or everything when some are missing.
    fn advance(&self, from: Option<i64>, current: i64, changes: Vec<Changed>) {
        let mut s = self.state.lock();
        let complete = from.is_some_and(|v| {
            current >= v
                && i64::try_from(changes.len()).is_ok_and(|n| n == current - v)
                && changes.iter().zip(v + 1..).all(|((rev, _), want)| *rev == want)
        });
        if complete {
            for (_, keys) in changes {
                match keys {
                    Some(keys) => keys.iter().for_each(|k| {
                        s.map.remove(k);
                    }),
                    None => s.map.clear(),
                }
            }
        } else {
            s.map.clear();
        }
        s.valid = Some(current);
    }
}

/// The keys of a `ls_changes` row from column `at` (`None`: every key).
fn changed_keys(row: &postgres::Row, at: usize) -> Result<Option<Vec<Key>>, StoreError> {
    let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
    let col = |i: usize| row.try_get::<_, Option<Vec<Vec<u8>>>>(at + i).map_err(get);
    let (Some(account), Some(region), Some(kind), Some(id)) = (col(0)?, col(1)?, col(2)?, col(3)?) else {
        return Ok(None);
    };
    let mut keys = Vec::with_capacity(id.len());
    for (((a, r), k), i) in account.into_iter().zip(region).zip(kind).zip(id) {
        keys.push(Key {
            scope: Scope::new(text(a)?, text(r)?),
            kind: text(k)?,
            id: text(i)?,
        });
    }
    Ok(Some(keys))
}

impl Shared {
    /// The fence thread: one check of the store per round, for every fence asked for
    /// before the round began.
    fn run(self: Arc<Self>) {
        let mut conn: Option<(Client, Statement)> = None;
        loop {
            let n = {
                let mut g = self.gate.lock();
                while !g.wanted && !g.stop {
                    self.wake.wait(&mut g);
                }
                if g.stop {
                    break;
                }
                g.wanted = false;
                g.started += 1;
                g.started
            };
            // A connection found broken (the database restarted) is replaced once.
            let mut result = self.check(&mut conn);
            if result.is_err() {
                conn = None;
                result = self.check(&mut conn);
                if result.is_err() {
                    conn = None;
                }
            }
            let error = result.err().map(|e| e.to_string());
            {
                let mut g = self.gate.lock();
                g.done = n;
                g.error.clone_from(&error);
            }
            self.finished.notify_all();
            self.done.send_replace((n, error));
        }
    }

    /// Reads the store's revision and the keys changed since the cache's, and applies them.
    fn check(&self, conn: &mut Option<(Client, Statement)>) -> Result<(), StoreError> {
        if conn.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            let mut client = self.config.connect(NoTls).map_err(backend)?;
            let statement = client.prepare(CHANGES).map_err(backend)?;
            *conn = Some((client, statement));
        }
        let Some((client, statement)) = conn.as_mut() else {
            return Err(closed());
        };
        let from = self.cache.valid();
        let (after, upto) = from.map_or((0, 0), |v| (v, v.saturating_add(CHANGES_PER_CHECK)));
        let rows = client.query(&*statement, &[&after, &upto]).map_err(backend)?;
        let get = |e: postgres::Error| StoreError::Corrupt(e.to_string());
        let current: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(get)?,
            None => return Err(StoreError::Corrupt("the store has no revision".into())),
        };
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(rev) = row.try_get::<_, Option<i64>>(1).map_err(get)? {
                // An undecodable name: drop everything rather than guess.
                changes.push((rev, changed_keys(row, 2).unwrap_or(None)));
            }
        }
        self.cache.advance(from, current, changes);
        Ok(())
    }
}

/// The writes of a batch as the parallel arrays `ls_commit` takes.
#[derive(Default)]
struct Batch<'a> {
    op: Vec<i32>,
    account: Vec<&'a [u8]>,
    region: Vec<&'a [u8]>,
    kind: Vec<&'a [u8]>,
    id: Vec<&'a [u8]>,
    body: Vec<&'a [u8]>,
    indexes: Vec<Vec<u8>>,
    expect: Vec<i32>,
    num: Vec<i64>,
    ix_of: Vec<i32>,
    ix_name: Vec<&'a [u8]>,
    ix_key: Vec<&'a [u8]>,
    ix_unique: Vec<bool>,
}

impl<'a> Batch<'a> {
    fn of(writes: &'a [Write]) -> Result<Self, StoreError> {
        let mut b = Batch::default();
        for w in writes {
            let (op, key, expect) = match w {
                Write::Put(p) => (0, &p.key, p.expect),
                Write::Delete { key, expect } => (1, key, *expect),
                Write::AtMost { scope, kind, max } => {
                    b.push(2, scope, kind, "", 0, int(*max));
                    b.body.push(&[]);
                    b.indexes.push(Vec::new());
                    continue;
                }
            };
            let (code, num) = match expect {
                Expect::Any => (0, 0),
                Expect::Absent => (1, 0),
                Expect::Rev(rev) => (2, int(rev)),
            };
            b.push(op, &key.scope, &key.kind, &key.id, code, num);
            match w {
                Write::Put(p) => {
                    b.body.push(&p.body);
                    b.indexes.push(encode_indexes(&p.indexes)?);
                    let at = i32::try_from(b.op.len())
                        .map_err(|_| StoreError::Backend("too many writes in one batch".into()))?;
                    for e in &p.indexes {
                        b.ix_of.push(at);
                        b.ix_name.push(e.name.as_bytes());
                        b.ix_key.push(e.key.as_bytes());
                        b.ix_unique.push(p.unique.contains(&e.name));
                    }
                }
                _ => {
                    b.body.push(&[]);
                    b.indexes.push(Vec::new());
                }
            }
        }
        Ok(b)
    }

    fn push(&mut self, op: i32, scope: &'a Scope, kind: &'a str, id: &'a str, expect: i32, num: i64) {
        self.op.push(op);
        self.account.push(scope.account.as_bytes());
        self.region.push(scope.region.as_bytes());
        self.kind.push(kind.as_bytes());
        self.id.push(id.as_bytes());
        self.expect.push(expect);
        self.num.push(num);
    }
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

/// A driver error as a store error: a condition of `ls_commit` or a unique violation
/// (another process won a race the lock did not cover) is a conflict; a lost or refused
/// connection, a server shutting down or out of connections is an outage; anything else
/// a backend fault with the server's message.
fn backend(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code == "LS409" || *db.code() == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(db.message().to_string());
        }
        // Class 08: connection exception; 57P0x: shutting down or starting; 53300: too
        // many connections.
        if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
            return StoreError::Unavailable(format!("postgres: {}", db.message()));
        }
        return StoreError::Backend(format!("postgres: {}", db.message()));
    }
    let text = match std::error::Error::source(&e) {
        Some(src) => format!("postgres: {e}: {src}"),
        None => format!("postgres: {e}"),
    };
    if connection_lost(&e) {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(text)
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
            .build_unchecked(Manager {
                config: config.clone(),
            });
        let store = PostgresStore {
            pool,
            closed: AtomicBool::new(false),
            desc,
            shared: Arc::new(Shared {
                config,
                cache: Cache::default(),
                gate: Mutex::new(Gate::default()),
                wake: Condvar::new(),
                finished: Condvar::new(),
                done: tokio::sync::watch::Sender::new((0, None)),
            }),
            owner: uuid::Uuid::new_v4().as_bytes().to_vec(),
            claims: AtomicU64::new(0),
        };
        let start = Instant::now();
        loop {
            match off_runtime(|| store.migrate()) {
                Ok(()) => return Ok(store),
                Err(e)
                    if start.elapsed() < wait
                        && matches!(e, StoreError::Backend(_) | StoreError::Unavailable(_)) =>
                {
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
            .map_err(|e| StoreError::Unavailable(format!("database {} unreachable: {e}", self.desc)))
    }

    /// Asks for a check of the store (starting the fence thread on first use); returns the
    /// number of the check that answers this fence.
    fn ask_fence(&self) -> Result<u64, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let mut g = self.shared.gate.lock();
        if !g.spawned {
            let shared = Arc::clone(&self.shared);
            std::thread::Builder::new()
                .name("localspaces-pg-fence".into())
                .spawn(move || shared.run())
                .map_err(|e| StoreError::Backend(format!("cannot start the fence thread: {e}")))?;
            g.spawned = true;
        }
        g.wanted = true;
        let target = g.started + 1;
        drop(g);
        self.shared.wake.notify_one();
        Ok(target)
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

    /// Runs `f` in a write transaction that holds the commit lock, committing if it
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
                let lock = stmt(tx, statements, LOCK)?;
                tx.execute(&lock, &[])?;
                let next = stmt(tx, statements, NEXT_SEQ)?;
                let mut next_seq: i64 = tx.query_one(&next, &[])?.try_get(0)?;
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

impl Store for PostgresStore {
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        if let Some(r) = self.shared.cache.lookup(key) {
            return Ok(Some(r));
        }
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
        let Some(row) = row else { return Ok(None) };
        let r = record(&row, 0, s.clone(), &key.kind)?;
        let at: i64 = row.try_get(5).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.shared.cache.fill(&r, at);
        Ok(Some(r))
    }

    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError> {
        let mut found: HashMap<&str, Record> = HashMap::with_capacity(ids.len());
        let mut missing: Vec<&[u8]> = Vec::new();
        for id in ids {
            let key = Key {
                scope: scope.clone(),
                kind: kind.to_string(),
                id: (*id).to_string(),
            };
            match self.shared.cache.lookup(&key) {
                Some(r) => {
                    found.insert(id, r);
                }
                None => missing.push(id.as_bytes()),
            }
        }
        if !missing.is_empty() {
            let rows = self.read(|c, st| {
                let q = stmt(c, st, GET_MANY)?;
                c.query(
                    &q,
                    &[
                        &scope.account.as_bytes(),
                        &scope.region.as_bytes(),
                        &kind.as_bytes(),
                        &missing,
                    ],
                )
            })?;
            for row in &rows {
                let r = record(row, 0, scope.clone(), kind)?;
                let at: i64 = row.try_get(5).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.shared.cache.fill(&r, at);
                if let Some(id) = ids.iter().find(|id| **id == r.key.id) {
                    found.insert(id, r);
                }
            }
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
        if writes.is_empty() {
            return Ok(());
        }
        let keys = || {
            writes.iter().filter_map(|w| match w {
                Write::Put(p) => Some(&p.key),
                Write::Delete { key, .. } => Some(key),
                Write::AtMost { .. } => None,
            })
        };
        let b = Batch::of(&writes)?;
        // Names this call: a retry after a lost connection finds a first attempt that
        // committed instead of applying the batch twice.
        let token = uuid::Uuid::new_v4();
        let token = token.as_bytes().as_slice();
        let done = self.read(|c, st| {
            let q = stmt(c, st, COMMIT)?;
            let row = c.query_one(
                &q,
                &[
                    &token,
                    &b.op,
                    &b.account,
                    &b.region,
                    &b.kind,
                    &b.id,
                    &b.body,
                    &b.indexes,
                    &b.expect,
                    &b.num,
                    &b.ix_of,
                    &b.ix_name,
                    &b.ix_key,
                    &b.ix_unique,
                ],
            )?;
            let revision: i64 = row.try_get(0)?;
            let revs: Option<Vec<Option<i64>>> = row.try_get(1)?;
            let seqs: Option<Vec<Option<i64>>> = row.try_get(2)?;
            Ok((revision, revs.zip(seqs)))
        });
        drop(b);
        match done {
            Ok((revision, Some((revs, seqs))))
                if revs.len() == writes.len() && seqs.len() == writes.len() =>
            {
                self.shared.cache.committed(writes, revision, &revs, &seqs);
                Ok(())
            }
            Ok((revision, _)) => {
                // A retried call: what the first attempt wrote is not known here.
                self.shared.cache.forget(keys(), Some(revision));
                Ok(())
            }
            Err(e) => {
                // A failed condition means this process read an old revision of some key.
                self.shared.cache.forget(keys(), None);
                Err(e)
            }
        }
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
        self.stop_fences();
        Ok(())
    }

    fn fence(&self) -> Option<Fence> {
        let target = match self.ask_fence() {
            Ok(t) => t,
            Err(e) => return Some(Box::pin(std::future::ready(Err(e)))),
        };
        let mut done = self.shared.done.subscribe();
        Some(Box::pin(async move {
            let wait = done.wait_for(|(n, _)| *n >= target);
            match tokio::time::timeout(FENCE_TIMEOUT, wait).await {
                Ok(Ok(v)) => match &v.1 {
                    None => Ok(()),
                    Some(e) => Err(StoreError::Unavailable(e.clone())),
                },
                Ok(Err(_)) => Err(closed()),
                Err(_) => Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                )),
            }
        }))
    }

    fn fence_blocking(&self) -> Result<(), StoreError> {
        let target = self.ask_fence()?;
        let deadline = Instant::now() + FENCE_TIMEOUT;
        let mut g = self.shared.gate.lock();
        while g.done < target {
            if self.shared.finished.wait_until(&mut g, deadline).timed_out() {
                return Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ));
            }
        }
        match &g.error {
            None => Ok(()),
            Some(e) => Err(StoreError::Unavailable(e.clone())),
        }
    }

    fn claim(&self, key: &Key, rev: u64, lease: Duration) -> Result<bool, StoreError> {
        let s = &key.scope;
        let (rev, secs) = (int(rev), lease.as_secs_f64());
        let trim = self.claims.fetch_add(1, Ordering::Relaxed) % 256 == 255;
        self.read(|c, st| {
            let q = stmt(c, st, CLAIM)?;
            let won = c
                .query_opt(
                    &q,
                    &[
                        &s.account.as_bytes(),
                        &s.region.as_bytes(),
                        &key.kind.as_bytes(),
                        &key.id.as_bytes(),
                        &rev,
                        &self.owner,
                        &secs,
                    ],
                )?
                .is_some();
            if trim {
                let q = stmt(c, st, CLAIMS_TRIM)?;
                c.execute(&q, &[])?;
            }
            Ok(won)
        })
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
        let (n, rev) = self.write(|tx, st, _| {
            let (account, region) = (scope.account.as_bytes(), scope.region.as_bytes());
            let args: [&(dyn postgres::types::ToSql + Sync); 2] = [&account, &region];
            let q = stmt(tx, st, CLEAR_INDEX)?;
            tx.execute(&q, &args)?;
            let q = stmt(tx, st, CLEAR_COUNTS)?;
            tx.execute(&q, &args)?;
            let q = stmt(tx, st, CLEAR)?;
            let n = tx.execute(&q, &args)?;
            // Every reader's cache starts over (a change with no keys).
            let q = stmt(tx, st, BUMP)?;
            let rev: i64 = tx.query_one(&q, &[])?.try_get(0)?;
            let q = stmt(tx, st, CHANGED_ALL)?;
            tx.execute(&q, &[&rev])?;
            Ok((n, rev))
        })?;
        self.shared.cache.clear(rev);
        Ok(n)
    }

    /// Ends the fence thread (it holds its own connection).
    fn stop_fences(&self) {
        self.shared.gate.lock().stop = true;
        self.shared.wake.notify_all();
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.stop_fences();
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

    /// A fresh schema at an older schema `version`, as that build left it.
    pub fn schema_at(base: &str, version: usize) -> String {
        let url = fresh_url(base);
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("test database");
        c.batch_execute(
            "CREATE TABLE ls_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
             INSERT INTO ls_meta (name, value) VALUES ('schema_version', 0);",
        )
        .expect("meta");
        for step in &super::MIGRATIONS[..version] {
            c.batch_execute(step).expect("migration");
        }
        c.execute(
            "UPDATE ls_meta SET value = $1 WHERE name = 'schema_version'",
            &[&i64::try_from(version).expect("version")],
        )
        .expect("version");
        url
    }

    /// A store on a fresh schema, or `None` when no test database is configured.
    pub fn store() -> Option<PostgresStore> {
        let url = fresh_url(&url()?);
        Some(PostgresStore::connect(&url, Duration::ZERO).expect("connect to the test database"))
    }
}
