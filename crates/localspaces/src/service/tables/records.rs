//! Typed, versioned records over the store, and the quotas.
//!
//! A record body is JSON `{"v": <version>, "r": <record>}`. Reading a body written by an
//! older version goes through the record type's `migrate`, so stored data survives schema
//! changes (Garage's versioned-record habit).

use super::errors::Fault;
use super::Service;
use localspaces_store::{IndexEntry, Key, Query, Record, Scope, StoreError};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::sync::Arc;

/// A kind of stored resource.
pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Store kind name.
    const KIND: &'static str;
    /// Current body version.
    const VERSION: u32;
    /// The resource id.
    fn id(&self) -> &str;
    /// Secondary index entries.
    fn indexes(&self) -> Vec<IndexEntry> {
        Vec::new()
    }
    /// Index names whose keys are unique per (scope, kind).
    fn unique() -> Vec<String> {
        Vec::new()
    }
    /// Reads a body of an older `version`.
    fn migrate(version: u32, body: serde_json::Value) -> Result<Self, String> {
        let _ = body;
        Err(format!(
            "{} record version {version} is not readable by this build",
            Self::KIND
        ))
    }
}

/// A record read from the store with its revision and creation order.
#[derive(Debug, Clone)]
pub struct Stored<R> {
    pub rec: R,
    pub rev: u64,
    pub seq: u64,
}

#[derive(Serialize)]
struct EnvelopeOut<'a, R> {
    v: u32,
    r: &'a R,
}

/// The stored envelope; the record stays raw until its version is known, so that the
/// current version decodes straight into its type (no intermediate JSON tree).
#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    v: u32,
    #[serde(borrow)]
    r: &'a serde_json::value::RawValue,
}

pub(crate) fn encode<R: Resource>(rec: &R) -> Result<Vec<u8>, Fault> {
    serde_json::to_vec(&EnvelopeOut {
        v: R::VERSION,
        r: rec,
    })
    .map_err(|e| Fault(StoreError::Corrupt(e.to_string())))
}

/// The `…` of `{"v":<version>,"r":…}`, if `body` is exactly that.
fn current_version_body(body: &[u8], version: u32) -> Option<&[u8]> {
    let rest = body.strip_prefix(b"{\"v\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let v: u32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if v != version {
        return None;
    }
    rest[digits..].strip_prefix(b",\"r\":")?.strip_suffix(b"}")
}

pub(crate) fn decode<R: Resource>(body: &[u8]) -> Result<R, Fault> {
    // Fast path: a record of the current version, exactly as `encode` wrote it
    // (`{"v":N,"r":…}`), is parsed once, straight into its type. Anything else (an older
    // version, other spacing) takes the general path below.
    if let Some(inner) = current_version_body(body, R::VERSION) {
        if let Ok(rec) = serde_json::from_slice(inner) {
            return Ok(rec);
        }
    }
    let env: EnvelopeIn =
        serde_json::from_slice(body).map_err(|e| Fault(StoreError::Corrupt(e.to_string())))?;
    let rec = if env.v == R::VERSION {
        serde_json::from_str(env.r.get()).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(env.r.get())
            .map_err(|e| e.to_string())
            .and_then(|old| R::migrate(env.v, old))
    };
    rec.map_err(|e| Fault(StoreError::Corrupt(e)))
}

/// Records already decoded, by store key, with the creation order and revision of the
/// body they came from (a key's `(seq, rev)` names one body: `rev` alone restarts when
/// a resource is deleted and created again under the same id). Reading a record the
/// store has not changed since costs a clone instead of a JSON parse (a WorkSpace parse
/// was about a tenth of a DescribeWorkspaces call). Bounded: when full it starts over.
#[derive(Default)]
pub(crate) struct DecodedCache {
    map: Mutex<localspaces_store::KeyMap<Decoded>>,
}

type Decoded = (u64, u64, Arc<dyn Any + Send + Sync>);

/// Entries kept at most in the [`DecodedCache`].
const DECODED_CAPACITY: usize = 4096;

impl DecodedCache {
    fn get<R: Resource>(&self, r: &Record) -> Option<Arc<R>> {
        let map = self.map.lock();
        let (seq, rev, any) = map.get(&r.key)?;
        if (*seq, *rev) != (r.seq, r.rev) {
            return None;
        }
        Arc::clone(any).downcast::<R>().ok()
    }

    fn put<R: Resource>(&self, r: &Record, rec: Arc<R>) {
        let entry: Decoded = (r.seq, r.rev, rec);
        let mut map = self.map.lock();
        if map.len() >= DECODED_CAPACITY && !map.contains_key(&r.key) {
            map.clear();
        }
        map.insert(r.key.clone(), entry);
    }
}

impl Service {
    pub(crate) fn key<R: Resource>(scope: &Scope, id: &str) -> Key {
        Key {
            scope: scope.clone(),
            kind: R::KIND.to_string(),
            id: id.to_string(),
        }
    }

    /// The record in `r`, from the decoded cache when `r` is the body it was decoded from.
    fn decode_record<R: Resource>(&self, r: &Record) -> Result<R, Fault> {
        self.decode_shared(r).map(Arc::unwrap_or_clone)
    }

    /// Like [`Service::decode_record`], shared with the decoded cache instead of copied.
    fn decode_shared<R: Resource>(&self, r: &Record) -> Result<Arc<R>, Fault> {
        if let Some(rec) = self.decoded.get::<R>(r) {
            return Ok(rec);
        }
        let rec = Arc::new(decode::<R>(&r.body)?);
        self.decoded.put(r, Arc::clone(&rec));
        Ok(rec)
    }

    /// Records by id, in the order given, unknown ids skipped; shared with the store's and
    /// the decoded caches (no copy of an unchanged record), for reads that only look.
    pub(crate) fn load_many_shared<R: Resource>(
        &self,
        scope: &Scope,
        ids: &[&str],
    ) -> Result<Vec<Stored<Arc<R>>>, Fault> {
        let recs = self.store.get_many_shared(scope, R::KIND, ids)?;
        recs.iter()
            .map(|r| {
                Ok(Stored {
                    rec: self.decode_shared(r)?,
                    rev: r.rev,
                    seq: r.seq,
                })
            })
            .collect()
    }

    /// One record by id.
    pub(crate) fn load<R: Resource>(&self, scope: &Scope, id: &str) -> Result<Option<Stored<R>>, Fault> {
        match self.store.get(&Self::key::<R>(scope, id))? {
            Some(r) => Ok(Some(Stored {
                rec: self.decode_record(&r)?,
                rev: r.rev,
                seq: r.seq,
            })),
            None => Ok(None),
        }
    }

    /// Records by id, in the order given, unknown ids skipped.
    pub(crate) fn load_many<R: Resource>(
        &self,
        scope: &Scope,
        ids: &[&str],
    ) -> Result<Vec<Stored<R>>, Fault> {
        let recs = self.store.get_many(scope, R::KIND, ids)?;
        recs.into_iter()
            .map(|r| {
                Ok(Stored {
                    rec: self.decode_record(&r)?,
                    rev: r.rev,
                    seq: r.seq,
                })
            })
            .collect()
    }

    /// A page of records in creation order.
    pub(crate) fn scan<R: Resource>(
        &self,
        scope: &Scope,
        index: Option<IndexEntry>,
        after_seq: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Vec<Stored<R>>, Fault> {
        let q = Query {
            scope: scope.clone(),
            kind: R::KIND.to_string(),
            index,
            after_seq,
            limit,
        };
        let recs = self.store.scan(&q)?;
        recs.into_iter()
            .map(|r| {
                Ok(Stored {
                    rec: self.decode_record(&r)?,
                    rev: r.rev,
                    seq: r.seq,
                })
            })
            .collect()
    }

    /// How many records of a kind (optionally with an index key) exist.
    pub(crate) fn count<R: Resource>(&self, scope: &Scope, index: Option<IndexEntry>) -> Result<u64, Fault> {
        let q = Query {
            scope: scope.clone(),
            kind: R::KIND.to_string(),
            index,
            after_seq: None,
            limit: None,
        };
        Ok(self.store.count(&q)?)
    }
}

#[cfg(test)]
mod tests {
    use super::{current_version_body, DecodedCache, Resource};
    use localspaces_store::{Key, Record, Scope};
    use serde::{Deserialize, Serialize};
    use std::sync::Arc;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Thing(String);

    impl Resource for Thing {
        const KIND: &'static str = "thing";
        const VERSION: u32 = 1;
        fn id(&self) -> &str {
            &self.0
        }
    }

    #[test]
    fn the_decoded_cache_answers_only_for_the_body_it_was_decoded_from() {
        let record = |seq, rev| Record {
            key: Key {
                scope: Scope::new("111122223333", "us-east-1"),
                kind: "thing".into(),
                id: "t-1".into(),
            },
            rev,
            seq,
            body: Vec::new(),
            indexes: Vec::new(),
        };
        let cache = DecodedCache::default();
        assert_eq!(cache.get::<Thing>(&record(5, 1)), None);
        cache.put(&record(5, 1), Arc::new(Thing("first".into())));
        assert_eq!(
            cache.get::<Thing>(&record(5, 1)),
            Some(Arc::new(Thing("first".into())))
        );
        // An update (next revision) and a new resource under the same id (new creation
        // order, revision 1 again) are both misses.
        assert_eq!(cache.get::<Thing>(&record(5, 2)), None);
        assert_eq!(cache.get::<Thing>(&record(9, 1)), None);
    }

    #[test]
    fn the_fast_path_takes_only_an_envelope_of_the_current_version() {
        assert_eq!(
            current_version_body(br#"{"v":3,"r":{"a":1}}"#, 3),
            Some(&br#"{"a":1}"#[..])
        );
        assert_eq!(current_version_body(br#"{"v":12,"r":[]}"#, 12), Some(&b"[]"[..]));
        assert_eq!(current_version_body(br#"{"v":2,"r":{"a":1}}"#, 3), None);
        assert_eq!(current_version_body(br#"{"v":31,"r":{}}"#, 3), None);
        assert_eq!(current_version_body(br#"{"v": 3,"r":{}}"#, 3), None);
        assert_eq!(current_version_body(br#"{"r":{},"v":3}"#, 3), None);
        assert_eq!(current_version_body(br#"{"v":,"r":{}}"#, 3), None);
        assert_eq!(current_version_body(b"", 3), None);
    }
}
