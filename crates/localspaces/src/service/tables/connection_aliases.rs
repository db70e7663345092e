//! Connection aliases as stored. An alias lives in its owner's (account, Region) with its
//! associations and shares; a share also writes a pointer record into the shared account's
//! scope, so that account finds the alias without scanning others. Connection strings are
//! reserved to the first account that creates them, forever (a record in a global scope).

use super::{Context, Fault, Resource, Service, Stored, StoredTag, Taggable};
use localspaces_api::workspaces as ws;
use localspaces_store::{IndexEntry, Scope};
use serde::{Deserialize, Serialize};

/// Store kind of aliases (in the owner's scope).
pub const ALIAS_KIND: &str = "connection_alias";

/// Transition resource kind of one account's association of an alias (id `alias/account`).
pub const ASSOCIATION_KIND: &str = "connection_alias_association";

/// A stored connection alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasRec {
    pub id: String,
    pub connection_string: String,
    pub owner: String,
    pub state: String,
    #[serde(default)]
    pub associations: Vec<Association>,
    #[serde(default)]
    pub shares: Vec<String>,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
    pub created: f64,
}

/// One account's association of an alias with one of its directories.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Association {
    pub account: String,
    pub resource_id: String,
    pub connection_identifier: String,
    pub status: String,
}

impl Resource for AliasRec {
    const KIND: &'static str = ALIAS_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry {
            name: "connection_string".into(),
            key: self.connection_string.to_ascii_lowercase(),
        }]
    }
    fn unique() -> Vec<String> {
        vec!["connection_string".into()]
    }
}

impl Taggable for AliasRec {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

/// The reservation of a connection string (global scope, id = lowercase string).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Reservation {
    pub id: String,
    pub owner: String,
}

impl Resource for Reservation {
    const KIND: &'static str = "connection_string";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

/// In a shared account's scope: "alias `id` of `owner` is shared with me".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SharePointer {
    pub id: String,
    pub owner: String,
}

impl Resource for SharePointer {
    const KIND: &'static str = "connection_alias_share";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

/// The alias `id` as the caller may see it: its own, or one shared with it. Returns the
/// owner's scope with the record.
pub(crate) fn find(
    svc: &Service,
    cx: &Context,
    id: &str,
) -> Result<Option<(Scope, Stored<AliasRec>)>, Fault> {
    if let Some(a) = svc.load::<AliasRec>(&cx.scope, id)? {
        return Ok(Some((cx.scope.clone(), a)));
    }
    let Some(p) = svc.load::<SharePointer>(&cx.scope, id)? else {
        return Ok(None);
    };
    let owner = Scope::new(p.rec.owner, cx.scope.region.clone());
    Ok(svc
        .load::<AliasRec>(&owner, id)?
        .filter(|a| a.rec.shares.contains(&cx.scope.account))
        .map(|a| (owner, a)))
}

/// The caller's view: the owner sees every association, a shared account its own.
pub(crate) fn to_wire(a: &AliasRec, viewer: &str) -> ws::ConnectionAlias {
    let associations: Vec<ws::ConnectionAliasAssociation> = a
        .associations
        .iter()
        .filter(|x| viewer == a.owner || x.account == viewer)
        .map(|x| ws::ConnectionAliasAssociation {
            associated_account_id: Some(x.account.clone()),
            association_status: ws::AssociationStatus::from_wire(&x.status),
            connection_identifier: Some(x.connection_identifier.clone()),
            resource_id: Some(x.resource_id.clone()),
        })
        .collect();
    ws::ConnectionAlias {
        alias_id: Some(a.id.clone()),
        associations: (!associations.is_empty()).then_some(associations),
        connection_string: Some(a.connection_string.clone()),
        owner_account_id: Some(a.owner.clone()),
        state: ws::ConnectionAliasState::from_wire(&a.state),
    }
}
