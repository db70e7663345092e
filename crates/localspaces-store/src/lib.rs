//! The store: versioned records keyed by (account, region, kind, id), with secondary
//! indexes, creation-ordered cursors and atomic conditional batches.
//!
//! The trait is deliberately narrow so that engines are small: SQLite (durable, the
//! default), in-memory (tests), and Postgres (several replicas on one database). The store knows
//! nothing about WorkSpaces: bodies are opaque bytes the service encodes (with a version
//! marker) and decodes (migrating older versions).

mod common;
mod memory;
mod postgres;
mod sqlite;
#[cfg(test)]
mod suite;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Who owns a record. Global records (e.g. pending transitions) use an empty account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    /// A scope from an account id and a region.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }
}

/// The full key of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub scope: Scope,
    /// Resource kind, e.g. `ipgroup`, `workspace`, `directory`.
    pub kind: String,
    pub id: String,
}

/// A hash map by store key for the read caches: foldhash, seeded per process, instead of
/// SipHash (a key is four short strings, hashed on every cached read; SipHash took about
/// 1,200 instructions of a by-id read of ~43,000). It is looked up by [`KeyRef`] too.
pub type KeyMap<V> = hashbrown::HashMap<Key, V, foldhash::fast::RandomState>;

/// A [`Key`] by reference: looks a record up in a [`KeyMap`] without building the owned
/// key (three allocations). It hashes exactly as the `Key` it names (the same strings in
/// the same order: account, region, kind, id).
#[derive(Debug, Clone, Copy, Hash)]
pub struct KeyRef<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
}

impl<'a> KeyRef<'a> {
    /// The key of `id` of `kind` in `scope`.
    pub fn new(scope: &'a Scope, kind: &'a str, id: &'a str) -> Self {
        KeyRef {
            account: &scope.account,
            region: &scope.region,
            kind,
            id,
        }
    }

    /// The owned key.
    pub fn to_key(self) -> Key {
        Key {
            scope: Scope::new(self.account, self.region),
            kind: self.kind.to_string(),
            id: self.id.to_string(),
        }
    }
}

impl hashbrown::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.id == key.id
            && self.kind == key.kind
            && self.account == key.scope.account
            && self.region == key.scope.region
    }
}

/// A secondary index entry carried by a record: (index name, key). An index named in
/// [`Put::unique`] must not hold the same key for two records of one scope and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexEntry {
    pub name: String,
    pub key: String,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: Key,
    /// Revision, incremented by the store on every write (1 after the first insert).
    pub rev: u64,
    /// Creation order, assigned by the store on insert and kept on update. Strictly
    /// increasing within the whole store; used for stable pagination.
    pub seq: u64,
    /// Opaque encoded body (the service adds its own version marker).
    pub body: Vec<u8>,
    pub indexes: Vec<IndexEntry>,
}

/// What must hold for a write to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No condition.
    Any,
    /// The record must not exist.
    Absent,
    /// The record must exist with exactly this revision.
    Rev(u64),
}

/// Insert or replace a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Put {
    pub key: Key,
    pub body: Vec<u8>,
    pub indexes: Vec<IndexEntry>,
    /// Index names whose keys must be unique within (scope, kind).
    pub unique: Vec<String>,
    pub expect: Expect,
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put(Put),
    /// Delete a record (absent is not an error unless `expect` says so).
    Delete {
        key: Key,
        expect: Expect,
    },
    /// A guard, not a change: after the writes before it in the batch, at most `max`
    /// records of (`scope`, `kind`) exist, or the whole batch fails with a conflict.
    /// Count quotas put it in the batch that creates records, so that the quota holds
    /// even when several processes create at once.
    AtMost {
        scope: Scope,
        kind: String,
        max: u64,
    },
}

/// Which records a scan returns, always in creation (`seq`) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub scope: Scope,
    pub kind: String,
    /// Only records carrying this index entry.
    pub index: Option<IndexEntry>,
    /// Only records with `seq` greater than this (a pagination cursor).
    pub after_seq: Option<u64>,
    /// At most this many records.
    pub limit: Option<usize>,
}

/// Store failures. `Conflict` is expected (a condition did not hold); `Unavailable` is
/// an outage worth retrying later (the database cannot be reached); the others are
/// internal faults.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conditional write failed: {0}")]
    Conflict(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("storage failure: {0}")]
    Backend(String),
    #[error("record could not be decoded: {0}")]
    Corrupt(String),
}

/// A wait for [`Store::fence`].
pub type Fence = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;

/// Rewrites one record from what is stored: `next` sees the stored record (or none) and
/// gives the new body, or `None` to leave the record as it is. A write that loses a race
/// with another writer is redone on the new state, at most `attempts` times in all; after
/// that the other writers' value stands and this returns `Ok`.
pub fn update_record(
    store: &dyn Store,
    key: &Key,
    attempts: usize,
    mut next: impl FnMut(Option<&Record>) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<(), StoreError> {
    for _ in 0..attempts {
        let stored = store.get(key)?;
        let Some(body) = next(stored.as_ref())? else {
            return Ok(());
        };
        let put = Write::Put(Put {
            key: key.clone(),
            body,
            indexes: Vec::new(),
            unique: Vec::new(),
            expect: stored.map_or(Expect::Absent, |r| Expect::Rev(r.rev)),
        });
        match store.commit(vec![put]) {
            Err(StoreError::Conflict(_)) => continue,
            other => return other,
        }
    }
    Ok(())
}

/// The storage engine contract. All methods are synchronous and short; a `commit` is
/// durable when it returns (for durable engines) and atomic: all writes or none.
///
/// Reads see every commit of this process. An engine shared by several processes may
/// answer `get` and `get_many` from a cache that is current as of the last completed
/// [`Store::fence`]: a caller that must see other processes' commits (a request) awaits a
/// fence first. A conditional write that fails drops the keys it named from such a cache,
/// so a read-modify-write retried after a conflict reads the stored record.
pub trait Store: Send + Sync + 'static {
    /// One record by key.
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError>;
    /// Several records of one scope and kind by id, in the order of `ids` (missing skipped).
    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError>;
    /// Like [`Store::get_many`], with records shared instead of copied: an engine with a
    /// read cache hands out its cached records without cloning their bodies.
    fn get_many_shared(
        &self,
        scope: &Scope,
        kind: &str,
        ids: &[&str],
    ) -> Result<Vec<std::sync::Arc<Record>>, StoreError> {
        Ok(self
            .get_many(scope, kind, ids)?
            .into_iter()
            .map(std::sync::Arc::new)
            .collect())
    }
    /// Records matching a query, in creation order.
    fn scan(&self, query: &Query) -> Result<Vec<Record>, StoreError>;
    /// How many records match a query (`after_seq` and `limit` ignored).
    fn count(&self, query: &Query) -> Result<u64, StoreError>;
    /// Applies all writes atomically, or none if any condition fails.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Every record of a kind across all scopes, in creation order (start-up recovery,
    /// e.g. pending lifecycle transitions).
    fn scan_all_scopes(&self, kind: &str) -> Result<Vec<Record>, StoreError>;
    /// Removes every record of one scope (admin reset).
    fn clear_scope(&self, scope: &Scope) -> Result<u64, StoreError>;
    /// Flushes and closes; later calls may fail.
    fn close(&self) -> Result<(), StoreError>;

    /// A wait after which reads see every commit that any process completed before the call
    /// (`None`: reads always do). Concurrent fences share one check of the store.
    fn fence(&self) -> Option<Fence> {
        None
    }

    /// [`Store::fence`] for a blocking thread.
    fn fence_blocking(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Claims record `key` at revision `rev` (a due job several processes may try at once)
    /// for this process for `lease`: `true` when this process holds the claim (it was free,
    /// had expired, or was already its own). Engines of one process always answer `true`.
    fn claim(&self, key: &Key, rev: u64, lease: std::time::Duration) -> Result<bool, StoreError> {
        let _ = (key, rev, lease);
        Ok(true)
    }

    /// Appends entries (opaque bytes, oldest first) to the log that every process on this
    /// store shares (the console's activity log), then keeps only its newest `keep`.
    /// `Ok(false)`: the engine has no shared log (one process per store: each keeps its own).
    fn log_append(&self, entries: &[Vec<u8>], keep: u64) -> Result<bool, StoreError> {
        let _ = (entries, keep);
        Ok(false)
    }

    /// The newest `limit` entries of the shared log, newest first; `None` when the engine
    /// has none (see [`Store::log_append`]).
    fn log_recent(&self, limit: usize) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let _ = limit;
        Ok(None)
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use std::hash::BuildHasher;

    /// A borrowed key finds what its owned key was stored under, and nothing else.
    #[test]
    fn a_key_ref_hashes_and_compares_as_its_key() {
        let scope = Scope::new("123456789012", "us-east-1");
        let mut map: KeyMap<u32> = KeyMap::default();
        map.insert(KeyRef::new(&scope, "workspace", "ws-1").to_key(), 1);
        map.insert(KeyRef::new(&scope, "workspace", "ws-2").to_key(), 2);
        let hasher = map.hasher();
        for id in ["ws-1", "ws-2", "ws-3", ""] {
            let r = KeyRef::new(&scope, "workspace", id);
            assert_eq!(hasher.hash_one(r), hasher.hash_one(r.to_key()), "{id}");
        }
        assert_eq!(map.get(&KeyRef::new(&scope, "workspace", "ws-2")), Some(&2));
        assert_eq!(map.get(&KeyRef::new(&scope, "workspace", "ws-3")), None);
        assert_eq!(map.get(&KeyRef::new(&scope, "bundle", "ws-1")), None);
        let other = Scope::new("123456789012", "eu-west-1");
        assert_eq!(map.get(&KeyRef::new(&other, "workspace", "ws-1")), None);
    }
}
