//! What saved environments (`crate::state`) need from the service: every stored record
//! kind with a typed codec (body ⇄ readable JSON, indexes re-derived from the record), and
//! one atomic commit of an import with its pending transitions handed to the engine.

use super::records::{decode, encode, Resource};
use super::{Conflict, Fault, Service};
use crate::engine::{PendingTransition, TRANSITION_KIND};
use localspaces_store::{Expect, Key, Scope, StoreError, Write};

/// Builds the put of one document record: `(scope, record version, record)` → `(id, put)`.
pub(crate) type ToPut = fn(&Scope, u32, serde_json::Value) -> Result<(String, Write), String>;

/// One stored kind: how its bodies become document JSON and back.
pub(crate) struct KindCodec {
    /// Store kind name (also the document's key for it).
    pub kind: &'static str,
    /// Current body version (written into the document beside the records).
    pub version: u32,
    /// A stored body as the record's JSON object (older versions migrated).
    pub to_json: fn(&[u8]) -> Result<serde_json::Value, String>,
    /// A record of the given version, as JSON, to a put that creates it (`Expect::Absent`,
    /// indexes and unique names from the typed record), and its id.
    pub to_put: ToPut,
    /// A member holding the store creation order (`seq`) of the record of another kind with
    /// the same id (the registration it belongs to): `(member, kind)`. Documents hold 0 there
    /// ("the current one"); imports fill in the new creation order.
    pub seq_ref: Option<(&'static str, &'static str)>,
}

fn codec<R: Resource>() -> KindCodec {
    KindCodec {
        kind: R::KIND,
        version: R::VERSION,
        to_json: |body| {
            let rec: R = decode(body).map_err(|e| e.0.to_string())?;
            serde_json::to_value(&rec).map_err(|e| e.to_string())
        },
        to_put: |scope, version, value| {
            let rec: R = if version == R::VERSION {
                serde_json::from_value(value).map_err(|e| e.to_string())?
            } else {
                R::migrate(version, value)?
            };
            let put = Write::Put(localspaces_store::Put {
                key: Service::key::<R>(scope, rec.id()),
                body: encode(&rec).map_err(|e| e.0.to_string())?,
                indexes: rec.indexes(),
                unique: R::unique(),
                expect: Expect::Absent,
            });
            Ok((rec.id().to_string(), put))
        },
        seq_ref: None,
    }
}

/// Client branding and Connect add-ins belong to one registration of their directory.
fn of_registration(mut c: KindCodec) -> KindCodec {
    c.seq_ref = Some(("directory_seq", super::directories::DIRECTORY_KIND));
    c
}

/// Every kind of resource record the service stores (pending transitions, stored as
/// `transition`, are handled apart). A kind missing here would be left out of exports.
pub(crate) fn stored_kinds() -> Vec<KindCodec> {
    vec![
        codec::<super::account::AccountRec>(),
        codec::<super::account::LinkRec>(),
        codec::<super::applications::AssociationRec>(),
        codec::<super::bundles::BundleRec>(),
        of_registration(codec::<super::client::Branding>()),
        of_registration(codec::<super::client::AddIn>()),
        codec::<super::connection_aliases::AliasRec>(),
        codec::<super::connection_aliases::Reservation>(),
        codec::<super::connection_aliases::SharePointer>(),
        codec::<super::directories::WsDirectory>(),
        codec::<super::ds::DsDirectory>(),
        codec::<super::images::ImageRec>(),
        codec::<super::images::SharePointer>(),
        codec::<super::ip_groups::IpGroup>(),
        codec::<super::pools::PoolRec>(),
        codec::<super::pools::SessionRec>(),
        codec::<super::pools::SettingsBucket>(),
        codec::<super::workspaces::WorkspaceRec>(),
    ]
}

/// Why an import did not apply.
#[derive(Debug)]
pub(crate) enum ImportRefused {
    /// These keys (`account/region/kind/id`) already exist, or a unique name is taken.
    Conflicts(Vec<String>),
    /// The store failed.
    Store(StoreError),
}

impl From<Fault> for ImportRefused {
    fn from(f: Fault) -> Self {
        ImportRefused::Store(f.0)
    }
}

impl From<Conflict> for ImportRefused {
    fn from(c: Conflict) -> Self {
        ImportRefused::Conflicts(vec![format!("{c:?}")])
    }
}

impl Service {
    /// The service clock, in epoch seconds.
    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Which of `keys` exist now, shown as `account/region/kind/id`.
    fn existing(&self, keys: &[Key]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for k in keys {
            if self.store.get(k)?.is_some() {
                found.push(format!(
                    "{}/{}/{}/{}",
                    k.scope.account, k.scope.region, k.kind, k.id
                ));
            }
        }
        Ok(found)
    }

    /// Commits an import through the write path (every put expects its key absent), then
    /// hands its transitions to the engine. With `skip_if_all_exist`, an import whose keys
    /// all exist already is a no-op (`Ok(false)`): a restart with the same seed.
    pub(crate) fn commit_import(
        &self,
        writes: Vec<Write>,
        transitions: Vec<(Scope, PendingTransition)>,
        skip_if_all_exist: bool,
    ) -> Result<bool, ImportRefused> {
        let codecs = stored_kinds();
        let keys: Vec<Key> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put(p) => Some(p.key.clone()),
                Write::Delete { .. } | Write::AtMost { .. } => None,
            })
            .collect();
        let race = Conflict::Exists("A resource of the import was created meanwhile.".into());
        self.write_as(race, |tx| {
            let existing = self.existing(&keys).map_err(ImportRefused::Store)?;
            if skip_if_all_exist && !keys.is_empty() && existing.len() == keys.len() {
                return Ok(false);
            }
            if !existing.is_empty() {
                return Err(ImportRefused::Conflicts(existing));
            }
            let refs: Vec<(Key, &'static str, &'static str)> = keys
                .iter()
                .filter_map(|k| {
                    let c = codecs.iter().find(|c| c.kind == k.kind)?;
                    c.seq_ref.map(|(member, target)| (k.clone(), member, target))
                })
                .collect();
            for w in writes {
                tx.push(w);
            }
            if !refs.is_empty() {
                // Creation orders exist only once committed: records that name their
                // registration's get it in a second commit, with every other writer still
                // held off.
                tx.commit_now().map_err(|e| match e {
                    StoreError::Conflict(m) => ImportRefused::Conflicts(vec![m]),
                    e => ImportRefused::Store(e),
                })?;
                for fix in self.seq_ref_fixes(&refs).map_err(ImportRefused::Store)? {
                    tx.push(fix);
                }
            }
            for (scope, t) in transitions {
                debug_assert_eq!(t.key(&scope).kind, TRANSITION_KIND);
                tx.resume(scope, t);
            }
            Ok(true)
        })
    }
}

impl Service {
    /// Rewrites each `(key, member, target kind)` record's member to the creation order of
    /// the record of the target kind with the same id (0 when there is none).
    fn seq_ref_fixes(&self, refs: &[(Key, &'static str, &'static str)]) -> Result<Vec<Write>, StoreError> {
        let mut out = Vec::new();
        for (key, member, target) in refs {
            let Some(rec) = self.store.get(key)? else { continue };
            let target_key = Key {
                scope: key.scope.clone(),
                kind: (*target).to_string(),
                id: key.id.clone(),
            };
            let seq = self.store.get(&target_key)?.map_or(0, |r| r.seq);
            let mut body: serde_json::Value =
                serde_json::from_slice(&rec.body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            body["r"][*member] = serde_json::Value::from(seq);
            out.push(Write::Put(localspaces_store::Put {
                key: key.clone(),
                body: serde_json::to_vec(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                indexes: rec.indexes.clone(),
                unique: Vec::new(),
                expect: Expect::Rev(rec.rev),
            }));
        }
        Ok(out)
    }

    /// For export: the record in `json` (of a kind with a [`KindCodec::seq_ref`]) with its
    /// member set to 0 when it belongs to the target's current registration; `None` when it
    /// belongs to an earlier one (the service reads such a record as absent).
    pub(crate) fn seq_ref_export(
        &self,
        scope: &Scope,
        id: &str,
        (member, target): (&'static str, &'static str),
        mut json: serde_json::Value,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let key = Key {
            scope: scope.clone(),
            kind: target.to_string(),
            id: id.to_string(),
        };
        let current = self.store.get(&key)?.map(|r| r.seq);
        if current.is_none() || json.get(member).and_then(|v| v.as_u64()) != current {
            return Ok(None);
        }
        json[member] = serde_json::Value::from(0u64);
        Ok(Some(json))
    }
}
