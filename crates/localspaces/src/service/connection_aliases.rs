//! Connection aliases (cross-Region redirection, spec §9.4): CreateConnectionAlias,
//! DescribeConnectionAliases, DeleteConnectionAlias, AssociateConnectionAlias,
//! DisassociateConnectionAlias, DescribeConnectionAliasPermissions,
//! UpdateConnectionAliasPermission.
//!
//! An alias lives in its owner's (account, Region) with its associations and shares. A
//! share also writes a pointer record into the shared account's scope, so that account
//! finds the alias without scanning others. Connection strings are reserved to the first
//! account that creates them, forever (a record in a global scope). States on the engine:
//! CREATING → CREATED, DELETING → gone; associations PENDING_ASSOCIATION →
//! ASSOCIATED_WITH_OWNER_ACCOUNT / ASSOCIATED_WITH_SHARED_ACCOUNT, PENDING_DISASSOCIATION →
//! gone.

use super::directories::directory_view;
use super::ids::new_id;
use super::lifecycle::Applied;
use super::pagination;
use super::records::{merge_tags, not_found, Resource, StoredTag, Taggable};
use super::{Context, Service};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope, StoreError};
use serde::{Deserialize, Serialize};

/// Store kind of aliases (in the owner's scope).
pub const ALIAS_KIND: &str = "connection_alias";
/// Transition resource kind of one account's association of an alias (id `alias/account`).
pub const ASSOCIATION_KIND: &str = "connection_alias_association";
/// Aliases per account and Region (spec §9.4).
const ALIAS_QUOTA: u64 = 20;
/// Accounts an alias can be shared with (inferred: the docs give no number).
const SHARE_QUOTA: usize = 25;

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
    id: String,
    owner: String,
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
    id: String,
    owner: String,
}

impl Resource for SharePointer {
    const KIND: &'static str = "connection_alias_share";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

fn global() -> Scope {
    Scope::new("global", "global")
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

fn alias_not_found(id: &str) -> Error {
    not_found("connection alias", id)
}

fn bad_state(a: &AliasRec) -> Error {
    Error::new(
        ErrorCode::InvalidResourceStateException,
        format!(
            "The connection alias {} is {}; it must be CREATED.",
            a.id, a.state
        ),
    )
}

fn changed() -> Error {
    Error::new(
        ErrorCode::InvalidResourceStateException,
        "The connection alias was modified by another request. Try again.",
    )
}

fn internal_store(e: Error) -> StoreError {
    StoreError::Backend(e.message)
}

/// The alias `id` as the caller may see it: its own, or one shared with it. Returns the
/// owner's scope with the record.
fn find(
    svc: &Service,
    cx: &Context,
    id: &str,
) -> Result<Option<(Scope, super::records::Stored<AliasRec>)>, Error> {
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

/// Loads an alias the caller owns; a shared one is `AccessDeniedException`.
fn find_owned(svc: &Service, cx: &Context, id: &str) -> Result<super::records::Stored<AliasRec>, Error> {
    match find(svc, cx, id)? {
        Some((scope, a)) if scope == cx.scope => Ok(a),
        Some(_) => Err(Error::new(
            ErrorCode::AccessDeniedException,
            format!("Only the owner of the connection alias {id} can do this."),
        )),
        None => Err(alias_not_found(id)),
    }
}

/// The caller's view: the owner sees every association, a shared account its own.
fn to_wire(a: &AliasRec, viewer: &str) -> ws::ConnectionAlias {
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

pub fn create_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::CreateConnectionAliasRequest,
) -> Result<ws::CreateConnectionAliasResult, Error> {
    let string = input.connection_string;
    let lower = string.to_ascii_lowercase();
    if string.starts_with('.') || string.ends_with('.') || string.contains("..") || !string.contains('.') {
        return Err(invalid(format!(
            "The connection string {string} is not a fully qualified domain name."
        )));
    }
    let mut tags = Vec::new();
    merge_tags(
        &mut tags,
        input.tags.as_deref().unwrap_or_default(),
        svc.limits.tags_per_resource,
    )?;
    let exists = || {
        Error::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("The connection string {string} is already in use."),
        )
    };
    let (id, pending) = {
        let _w = svc.write.lock();
        let reservation = svc.load::<Reservation>(&global(), &lower)?;
        if let Some(r) = &reservation {
            if r.rec.owner != cx.scope.account {
                return Err(exists());
            }
        }
        if svc.count::<AliasRec>(
            &cx.scope,
            Some(IndexEntry {
                name: "connection_string".into(),
                key: lower.clone(),
            }),
        )? > 0
        {
            return Err(exists());
        }
        if svc.count::<AliasRec>(&cx.scope, None)? >= ALIAS_QUOTA {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("An account can have at most {ALIAS_QUOTA} connection aliases per Region."),
            ));
        }
        let rec = AliasRec {
            id: new_id("wsca-", 9),
            connection_string: string.clone(),
            owner: cx.scope.account.clone(),
            state: "CREATING".into(),
            associations: Vec::new(),
            shares: Vec::new(),
            tags,
            created: svc.clock.now(),
        };
        let mut writes = vec![Service::put(&cx.scope, &rec, Expect::Absent)?];
        if reservation.is_none() {
            writes.push(Service::put(
                &global(),
                &Reservation {
                    id: lower.clone(),
                    owner: cx.scope.account.clone(),
                },
                Expect::Absent,
            )?);
        }
        let (tw, t) = svc.transition(&cx.scope, TransitionKind::AliasCreate, ALIAS_KIND, &rec.id)?;
        writes.push(tw);
        svc.commit(writes, exists)?;
        (rec.id, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::CreateConnectionAliasResult { alias_id: Some(id) })
}

pub fn describe_connection_aliases(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeConnectionAliasesRequest,
) -> Result<ws::DescribeConnectionAliasesResult, Error> {
    const OP: &str = "DescribeConnectionAliases";
    let ids = input.alias_ids.unwrap_or_default();
    if !ids.is_empty() && input.resource_id.is_some() {
        return Err(invalid("Use either AliasIds or ResourceId, not both."));
    }
    let limit = input.limit.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint(
        ids.iter()
            .map(String::as_str)
            .chain(input.resource_id.as_deref().map(|_| "resource"))
            .chain(input.resource_id.as_deref()),
    );
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let mut all: Vec<AliasRec> = Vec::new();
    if ids.is_empty() {
        all.extend(
            svc.scan::<AliasRec>(&cx.scope, None, None, None)?
                .into_iter()
                .map(|a| a.rec),
        );
        for p in svc.scan::<SharePointer>(&cx.scope, None, None, None)? {
            let owner = Scope::new(p.rec.owner, cx.scope.region.clone());
            if let Some(a) = svc.load::<AliasRec>(&owner, &p.rec.id)? {
                if a.rec.shares.contains(&cx.scope.account) {
                    all.push(a.rec);
                }
            }
        }
        all.sort_by(|a, b| a.created.total_cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    } else {
        for id in &ids {
            if let Some((_, a)) = find(svc, cx, id)? {
                if !all.iter().any(|x| x.id == a.rec.id) {
                    all.push(a.rec);
                }
            }
        }
    }
    if let Some(r) = &input.resource_id {
        all.retain(|a| {
            a.associations
                .iter()
                .any(|x| &x.resource_id == r && x.account == cx.scope.account)
        });
    }
    let page: Vec<ws::ConnectionAlias> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|a| to_wire(a, &cx.scope.account))
        .collect();
    let next_token =
        (start + limit < all.len()).then(|| pagination::encode(OP, filter, (start + limit) as u64));
    Ok(ws::DescribeConnectionAliasesResult {
        connection_aliases: Some(page),
        next_token,
    })
}

pub fn delete_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteConnectionAliasRequest,
) -> Result<ws::DeleteConnectionAliasResult, Error> {
    let pending = {
        let _w = svc.write.lock();
        let mut a = find_owned(svc, cx, &input.alias_id)?;
        if a.rec.state != "CREATED" {
            return Err(bad_state(&a.rec));
        }
        if !a.rec.associations.is_empty() {
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!(
                    "The connection alias {} is associated with a directory; disassociate it first.",
                    a.rec.id
                ),
            ));
        }
        if !a.rec.shares.is_empty() {
            // Documented order: unshare before deleting; the code is unconfirmed.
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The connection alias {} is shared with other accounts; stop sharing it first.",
                    a.rec.id
                ),
            ));
        }
        a.rec.state = "DELETING".into();
        let (tw, t) = svc.transition(&cx.scope, TransitionKind::AliasDelete, ALIAS_KIND, &a.rec.id)?;
        svc.commit(
            vec![Service::put(&cx.scope, &a.rec, Expect::Rev(a.rev))?, tw],
            changed,
        )?;
        t
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::DeleteConnectionAliasResult {})
}

pub fn associate_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::AssociateConnectionAliasRequest,
) -> Result<ws::AssociateConnectionAliasResult, Error> {
    let (owner, identifier, pending) = {
        let _w = svc.write.lock();
        let (owner, mut a) =
            find(svc, cx, &input.alias_id)?.ok_or_else(|| alias_not_found(&input.alias_id))?;
        if a.rec.state != "CREATED" {
            return Err(bad_state(&a.rec));
        }
        let dir = directory_view(svc, &cx.scope, &input.resource_id)?
            .ok_or_else(|| not_found("directory", &input.resource_id))?;
        if dir.state != ws::WorkspaceDirectoryState::Registered {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!("The directory {} must be REGISTERED.", input.resource_id),
            ));
        }
        if let Some(x) = a.rec.associations.iter().find(|x| x.account == cx.scope.account) {
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!(
                    "The connection alias {} is already associated with {} in this account.",
                    a.rec.id, x.resource_id
                ),
            ));
        }
        let identifier = new_id("", 13);
        a.rec.associations.push(Association {
            account: cx.scope.account.clone(),
            resource_id: input.resource_id.clone(),
            connection_identifier: identifier.clone(),
            status: "PENDING_ASSOCIATION".into(),
        });
        let (tw, t) = svc.transition(
            &owner,
            TransitionKind::AliasAssociate,
            ASSOCIATION_KIND,
            &format!("{}/{}", a.rec.id, cx.scope.account),
        )?;
        svc.commit(
            vec![Service::put(&owner, &a.rec, Expect::Rev(a.rev))?, tw],
            changed,
        )?;
        (owner, identifier, t)
    };
    svc.scheduled(&owner, &[pending]);
    Ok(ws::AssociateConnectionAliasResult {
        connection_identifier: Some(identifier),
    })
}

pub fn disassociate_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::DisassociateConnectionAliasRequest,
) -> Result<ws::DisassociateConnectionAliasResult, Error> {
    let (owner, pending) = {
        let _w = svc.write.lock();
        let (owner, mut a) =
            find(svc, cx, &input.alias_id)?.ok_or_else(|| alias_not_found(&input.alias_id))?;
        if a.rec.state != "CREATED" {
            return Err(bad_state(&a.rec));
        }
        let Some(x) = a
            .rec
            .associations
            .iter_mut()
            .find(|x| x.account == cx.scope.account)
        else {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The connection alias {} is not associated with a directory of this account.",
                    input.alias_id
                ),
            ));
        };
        if x.status.starts_with("PENDING") {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The association of {} is {}; try again when it completes.",
                    input.alias_id, x.status
                ),
            ));
        }
        x.status = "PENDING_DISASSOCIATION".into();
        let (tw, t) = svc.transition(
            &owner,
            TransitionKind::AliasDisassociate,
            ASSOCIATION_KIND,
            &format!("{}/{}", a.rec.id, cx.scope.account),
        )?;
        svc.commit(
            vec![Service::put(&owner, &a.rec, Expect::Rev(a.rev))?, tw],
            changed,
        )?;
        (owner, t)
    };
    svc.scheduled(&owner, &[pending]);
    Ok(ws::DisassociateConnectionAliasResult {})
}

pub fn describe_connection_alias_permissions(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeConnectionAliasPermissionsRequest,
) -> Result<ws::DescribeConnectionAliasPermissionsResult, Error> {
    const OP: &str = "DescribeConnectionAliasPermissions";
    let a = find_owned(svc, cx, &input.alias_id)?;
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint([input.alias_id.as_str()]);
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let shares = &a.rec.shares;
    let page = shares
        .iter()
        .skip(start)
        .take(limit)
        .map(|acct| ws::ConnectionAliasPermission {
            allow_association: true,
            shared_account_id: acct.clone(),
        })
        .collect();
    Ok(ws::DescribeConnectionAliasPermissionsResult {
        alias_id: Some(a.rec.id.clone()),
        connection_alias_permissions: Some(page),
        next_token: (start + limit < shares.len())
            .then(|| pagination::encode(OP, filter, (start + limit) as u64)),
    })
}

pub fn update_connection_alias_permission(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateConnectionAliasPermissionRequest,
) -> Result<ws::UpdateConnectionAliasPermissionResult, Error> {
    let p = input.connection_alias_permission;
    let other = p.shared_account_id;
    if other == cx.scope.account {
        return Err(invalid("A connection alias cannot be shared with its owner."));
    }
    let _w = svc.write.lock();
    let mut a = find_owned(svc, cx, &input.alias_id)?;
    if a.rec.state != "CREATED" {
        return Err(bad_state(&a.rec));
    }
    let shared_scope = Scope::new(other.clone(), cx.scope.region.clone());
    let mut writes = Vec::new();
    if p.allow_association {
        if a.rec.shares.contains(&other) {
            return Ok(ws::UpdateConnectionAliasPermissionResult {});
        }
        if a.rec.shares.len() >= SHARE_QUOTA {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("A connection alias can be shared with at most {SHARE_QUOTA} accounts."),
            ));
        }
        a.rec.shares.push(other.clone());
        writes.push(Service::put(
            &shared_scope,
            &SharePointer {
                id: a.rec.id.clone(),
                owner: cx.scope.account.clone(),
            },
            Expect::Any,
        )?);
    } else {
        if !a.rec.shares.contains(&other) {
            return Ok(ws::UpdateConnectionAliasPermissionResult {});
        }
        if a.rec.associations.iter().any(|x| x.account == other) {
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!(
                    "The account {other} has the connection alias {} associated; it must disassociate it first.",
                    a.rec.id
                ),
            ));
        }
        a.rec.shares.retain(|s| s != &other);
        writes.push(localspaces_store::Write::Delete {
            key: Service::key::<SharePointer>(&shared_scope, &a.rec.id),
            expect: Expect::Any,
        });
    }
    writes.push(Service::put(&cx.scope, &a.rec, Expect::Rev(a.rev))?);
    svc.commit(writes, changed)?;
    Ok(ws::UpdateConnectionAliasPermissionResult {})
}

/// Applies one due transition of an alias or of one account's association.
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    _now: f64,
) -> Result<Applied, StoreError> {
    let nothing = || Applied {
        writes: Vec::new(),
        next: None,
    };
    let (alias_id, account) = match t.resource_id.split_once('/') {
        Some((a, acct)) => (a, Some(acct)),
        None => (t.resource_id.as_str(), None),
    };
    let Some(mut a) = svc.load::<AliasRec>(scope, alias_id).map_err(internal_store)? else {
        return Ok(nothing());
    };
    let put = |rec: &AliasRec, rev| Service::put(scope, rec, Expect::Rev(rev)).map_err(internal_store);
    match (t.kind, account) {
        (TransitionKind::AliasCreate, None) if a.rec.state == "CREATING" => {
            a.rec.state = "CREATED".into();
            Ok(Applied {
                writes: vec![put(&a.rec, a.rev)?],
                next: None,
            })
        }
        (TransitionKind::AliasDelete, None) if a.rec.state == "DELETING" => Ok(Applied {
            writes: vec![Service::delete::<AliasRec>(scope, alias_id, a.rev)],
            next: None,
        }),
        (TransitionKind::AliasAssociate, Some(acct)) => {
            let owner = a.rec.owner.clone();
            let Some(x) = a
                .rec
                .associations
                .iter_mut()
                .find(|x| x.account == acct && x.status == "PENDING_ASSOCIATION")
            else {
                return Ok(nothing());
            };
            x.status = if acct == owner {
                "ASSOCIATED_WITH_OWNER_ACCOUNT".into()
            } else {
                "ASSOCIATED_WITH_SHARED_ACCOUNT".into()
            };
            Ok(Applied {
                writes: vec![put(&a.rec, a.rev)?],
                next: None,
            })
        }
        (TransitionKind::AliasDisassociate, Some(acct)) => {
            let before = a.rec.associations.len();
            a.rec
                .associations
                .retain(|x| !(x.account == acct && x.status == "PENDING_DISASSOCIATION"));
            if a.rec.associations.len() == before {
                return Ok(nothing());
            }
            Ok(Applied {
                writes: vec![put(&a.rec, a.rev)?],
                next: None,
            })
        }
        _ => Ok(nothing()),
    }
}
