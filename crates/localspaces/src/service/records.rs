//! Typed, versioned records over the store, and the quotas.
//!
//! A record body is JSON `{"v": <version>, "r": <record>}`. Reading a body written by an
//! older version goes through the record type's `migrate`, so stored data survives schema
//! changes (Garage's versioned-record habit).

use super::{internal, Service};
use localspaces_api::workspaces::{Error, ErrorCode, Tag};
use localspaces_store::{Expect, IndexEntry, Key, Put, Query, Record, Scope, StoreError, Write};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
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

/// A tag as stored (the model's `Tag`: value optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl StoredTag {
    /// To the wire shape.
    pub fn to_wire(&self) -> Tag {
        Tag {
            key: self.key.clone(),
            value: self.value.clone(),
        }
    }
    /// From the wire shape.
    pub fn from_wire(t: &Tag) -> Self {
        StoredTag {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

/// A resource that carries tags.
pub trait Taggable: Resource {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag>;
    fn tags(&self) -> &[StoredTag];
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

fn encode<R: Resource>(rec: &R) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&EnvelopeOut {
        v: R::VERSION,
        r: rec,
    })
    .map_err(|e| internal(StoreError::Corrupt(e.to_string())))
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

fn decode<R: Resource>(body: &[u8]) -> Result<R, Error> {
    // Fast path: a record of the current version, exactly as `encode` wrote it
    // (`{"v":N,"r":…}`), is parsed once, straight into its type. Anything else (an older
    // version, other spacing) takes the general path below.
    if let Some(inner) = current_version_body(body, R::VERSION) {
        if let Ok(rec) = serde_json::from_slice(inner) {
            return Ok(rec);
        }
    }
    let env: EnvelopeIn =
        serde_json::from_slice(body).map_err(|e| internal(StoreError::Corrupt(e.to_string())))?;
    let rec = if env.v == R::VERSION {
        serde_json::from_str(env.r.get()).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(env.r.get())
            .map_err(|e| e.to_string())
            .and_then(|old| R::migrate(env.v, old))
    };
    rec.map_err(|e| internal(StoreError::Corrupt(e)))
}

/// Records already decoded, by store key, with the creation order and revision of the
/// body they came from (a key's `(seq, rev)` names one body: `rev` alone restarts when
/// a resource is deleted and created again under the same id). Reading a record the
/// store has not changed since costs a clone instead of a JSON parse (a WorkSpace parse
/// was about a tenth of a DescribeWorkspaces call). Bounded: when full it starts over.
#[derive(Default)]
pub(crate) struct DecodedCache {
    map: Mutex<HashMap<Key, Decoded>>,
}

type Decoded = (u64, u64, Arc<dyn Any + Send + Sync>);

/// Entries kept at most in the [`DecodedCache`].
const DECODED_CAPACITY: usize = 4096;

impl DecodedCache {
    fn get<R: Resource>(&self, r: &Record) -> Option<R> {
        let map = self.map.lock();
        let (seq, rev, any) = map.get(&r.key)?;
        if (*seq, *rev) != (r.seq, r.rev) {
            return None;
        }
        any.downcast_ref::<R>().cloned()
    }

    fn put<R: Resource>(&self, r: &Record, rec: &R) {
        let entry: Decoded = (r.seq, r.rev, Arc::new(rec.clone()));
        let mut map = self.map.lock();
        if map.len() >= DECODED_CAPACITY && !map.contains_key(&r.key) {
            map.clear();
        }
        map.insert(r.key.clone(), entry);
    }
}

/// Configurable quotas (per account and Region), defaulting to AWS's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// IP access control groups (`ip_groups`).
    pub ip_groups: u64,
    /// Rules per IP access control group (`rules_per_ip_group`).
    pub rules_per_ip_group: usize,
    /// Tags per resource (`tags_per_resource`).
    pub tags_per_resource: usize,
    /// WorkSpaces (`workspaces`). AWS gives new accounts 1 and raises it on request; the
    /// default here is a raised one so that test suites can create several.
    pub workspaces: u64,
    /// Whether accounts are BYOL-eligible unless the admin route says otherwise (not a
    /// quota: `--byol-eligible`).
    pub byol_eligible: bool,
    /// Directory Service Simple AD directories (`simple_ad`).
    pub simple_ad: u64,
    /// Directory Service AD Connectors (`ad_connector`).
    pub ad_connector: u64,
    /// Directory Service AWS Managed Microsoft AD directories (`microsoft_ad`).
    pub microsoft_ad: u64,
    /// The AMAZON bundle catalog loaded with `--bundle-catalog` (not a quota); `None` serves
    /// the built-in catalog.
    pub bundle_catalog: Option<std::sync::Arc<super::catalog::BundleCatalog>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ip_groups: 100,
            rules_per_ip_group: 10,
            tags_per_resource: 50,
            workspaces: 1000,
            byol_eligible: false,
            simple_ad: 10,
            ad_connector: 10,
            microsoft_ad: 20,
            bundle_catalog: None,
        }
    }
}

impl Limits {
    /// Applies `name=value` overrides.
    pub fn with_overrides(mut self, overrides: &[String]) -> Result<Self, String> {
        for o in overrides {
            let (name, value) = o
                .split_once('=')
                .ok_or_else(|| format!("quota '{o}' is not name=value"))?;
            let n: u64 = value
                .trim()
                .parse()
                .map_err(|_| format!("quota '{o}': value is not a number"))?;
            let small = usize::try_from(n).map_err(|_| format!("quota '{o}' is too large"))?;
            match name.trim() {
                "ip_groups" => self.ip_groups = n,
                "rules_per_ip_group" => self.rules_per_ip_group = small,
                "tags_per_resource" => self.tags_per_resource = small,
                "workspaces" => self.workspaces = n,
                "simple_ad" => self.simple_ad = n,
                "ad_connector" => self.ad_connector = n,
                "microsoft_ad" => self.microsoft_ad = n,
                other => return Err(format!("unknown quota '{other}'")),
            }
        }
        Ok(self)
    }

    /// The per-Region quota of Directory Service directories of type `dtype`
    /// (`SimpleAD`, `MicrosoftAD` or `ADConnector`).
    pub fn ds_quota(&self, dtype: &str) -> u64 {
        match dtype {
            "SimpleAD" => self.simple_ad,
            "MicrosoftAD" => self.microsoft_ad,
            _ => self.ad_connector,
        }
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

    /// One record by id.
    /// The record in `r`, from the decoded cache when `r` is the body it was decoded from.
    fn decode_record<R: Resource>(&self, r: &Record) -> Result<R, Error> {
        if let Some(rec) = self.decoded.get::<R>(r) {
            return Ok(rec);
        }
        let rec: R = decode(&r.body)?;
        self.decoded.put(r, &rec);
        Ok(rec)
    }

    pub(crate) fn load<R: Resource>(&self, scope: &Scope, id: &str) -> Result<Option<Stored<R>>, Error> {
        match self.store.get(&Self::key::<R>(scope, id)).map_err(internal)? {
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
    ) -> Result<Vec<Stored<R>>, Error> {
        let recs = self.store.get_many(scope, R::KIND, ids).map_err(internal)?;
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
    ) -> Result<Vec<Stored<R>>, Error> {
        let q = Query {
            scope: scope.clone(),
            kind: R::KIND.to_string(),
            index,
            after_seq,
            limit,
        };
        let recs = self.store.scan(&q).map_err(internal)?;
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
    pub(crate) fn count<R: Resource>(&self, scope: &Scope, index: Option<IndexEntry>) -> Result<u64, Error> {
        let q = Query {
            scope: scope.clone(),
            kind: R::KIND.to_string(),
            index,
            after_seq: None,
            limit: None,
        };
        self.store.count(&q).map_err(internal)
    }

    /// A put of `rec` under the given condition.
    pub(crate) fn put<R: Resource>(scope: &Scope, rec: &R, expect: Expect) -> Result<Write, Error> {
        Ok(Write::Put(Put {
            key: Self::key::<R>(scope, rec.id()),
            body: encode(rec)?,
            indexes: rec.indexes(),
            unique: R::unique(),
            expect,
        }))
    }

    /// A delete of the record `id` at revision `rev`.
    pub(crate) fn delete<R: Resource>(scope: &Scope, id: &str, rev: u64) -> Write {
        Write::Delete {
            key: Self::key::<R>(scope, id),
            expect: Expect::Rev(rev),
        }
    }

    /// Commits writes; a failed condition is `on_conflict`.
    pub(crate) fn commit(
        &self,
        writes: Vec<Write>,
        on_conflict: impl FnOnce() -> Error,
    ) -> Result<(), Error> {
        match self.store.commit(writes) {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(on_conflict()),
            Err(e) => Err(internal(e)),
        }
    }
}

/// `ResourceNotFoundException` for a missing resource.
pub fn not_found(what: &str, id: &str) -> Error {
    Error::new(
        ErrorCode::ResourceNotFoundException,
        format!("The specified {what} {id} could not be found."),
    )
    .with_resource(id)
}

/// Merges `add` into `tags` (upsert by key, case-sensitive), enforcing the per-resource limit.
pub fn merge_tags(tags: &mut Vec<StoredTag>, add: &[Tag], limit: usize) -> Result<(), Error> {
    check_tag_keys(add)?;
    let mut merged = tags.clone();
    for t in add {
        match merged.iter_mut().find(|x| x.key == t.key) {
            Some(x) => x.value = t.value.clone(),
            None => merged.push(StoredTag::from_wire(t)),
        }
    }
    if merged.len() > limit {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!(
                "A resource can have at most {limit} tags; this request would give it {}.",
                merged.len()
            ),
        ));
    }
    *tags = merged;
    Ok(())
}

/// Rejects reserved `aws:` keys (general AWS rule; error code inferred).
pub fn check_tag_keys(tags: &[Tag]) -> Result<(), Error> {
    if let Some(t) = tags
        .iter()
        .find(|t| t.key.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(Error::new(
            ErrorCode::InvalidParameterValuesException,
            format!(
                "The tag key '{}' is reserved: keys beginning with 'aws:' are for AWS use.",
                t.key
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{current_version_body, DecodedCache, Resource};
    use localspaces_store::{Key, Record, Scope};
    use serde::{Deserialize, Serialize};

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
        cache.put(&record(5, 1), &Thing("first".into()));
        assert_eq!(cache.get::<Thing>(&record(5, 1)), Some(Thing("first".into())));
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
