//! Connection aliases (cross-Region redirection): CreateConnectionAlias,
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

use super::tables::connection_aliases::{
    find, to_wire, AliasRec, Association, Reservation, SharePointer, ALIAS_KIND, ASSOCIATION_KIND,
};
use super::tables::directories::directory_view;
use super::tables::ids::new_id;
use super::tables::{
    global, invalid, new_tags, not_found, pagination, Conflict, Context, Fault, Service, Stored, Tx,
};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// Aliases per account and Region.
const ALIAS_QUOTA: u64 = 20;
/// Accounts an alias can be shared with (inferred: the docs give no number).
const SHARE_QUOTA: usize = 25;

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

/// The lost race of a change to an alias.
const CHANGED: Conflict = Conflict::Changed("connection alias");

/// Loads an alias the caller owns; a shared one is `AccessDeniedException`.
fn find_owned(svc: &Service, cx: &Context, id: &str) -> Result<Stored<AliasRec>, Error> {
    match find(svc, cx, id)? {
        Some((scope, a)) if scope == cx.scope => Ok(a),
        Some(_) => Err(Error::new(
            ErrorCode::AccessDeniedException,
            format!("Only the owner of the connection alias {id} can do this."),
        )),
        None => Err(alias_not_found(id)),
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let exists = || Conflict::Exists(format!("The connection string {string} is already in use."));
    let id = svc.write(exists, |tx| {
        let reservation = svc.load::<Reservation>(&global(), &lower)?;
        if let Some(r) = &reservation {
            if r.rec.owner != cx.scope.account {
                return Err(exists().into());
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
            return Err(exists().into());
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
        tx.put(&cx.scope, &rec, Expect::Absent)?;
        if reservation.is_none() {
            tx.put(
                &global(),
                &Reservation {
                    id: lower.clone(),
                    owner: cx.scope.account.clone(),
                },
                Expect::Absent,
            )?;
        }
        tx.transition(&cx.scope, TransitionKind::AliasCreate, ALIAS_KIND, &rec.id)?;
        Ok(rec.id)
    })?;
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
    svc.write(CHANGED, |tx| {
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
        tx.transition(&cx.scope, TransitionKind::AliasDelete, ALIAS_KIND, &a.rec.id)?;
        tx.put(&cx.scope, &a.rec, Expect::Rev(a.rev))?;
        Ok(())
    })?;
    Ok(ws::DeleteConnectionAliasResult {})
}

pub fn associate_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::AssociateConnectionAliasRequest,
) -> Result<ws::AssociateConnectionAliasResult, Error> {
    let identifier = svc.write(CHANGED, |tx| {
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
        tx.transition(
            &owner,
            TransitionKind::AliasAssociate,
            ASSOCIATION_KIND,
            &format!("{}/{}", a.rec.id, cx.scope.account),
        )?;
        tx.put(&owner, &a.rec, Expect::Rev(a.rev))?;
        Ok(identifier)
    })?;
    Ok(ws::AssociateConnectionAliasResult {
        connection_identifier: Some(identifier),
    })
}

pub fn disassociate_connection_alias(
    svc: &Service,
    cx: &Context,
    input: ws::DisassociateConnectionAliasRequest,
) -> Result<ws::DisassociateConnectionAliasResult, Error> {
    svc.write(CHANGED, |tx| {
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
        tx.transition(
            &owner,
            TransitionKind::AliasDisassociate,
            ASSOCIATION_KIND,
            &format!("{}/{}", a.rec.id, cx.scope.account),
        )?;
        tx.put(&owner, &a.rec, Expect::Rev(a.rev))?;
        Ok(())
    })?;
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
    svc.write(CHANGED, |tx| {
    let mut a = find_owned(svc, cx, &input.alias_id)?;
    if a.rec.state != "CREATED" {
        return Err(bad_state(&a.rec));
    }
    let shared_scope = Scope::new(other.clone(), cx.scope.region.clone());
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
        tx.put(&shared_scope,
            &SharePointer {
                id: a.rec.id.clone(),
                owner: cx.scope.account.clone(),
            },
            Expect::Any,
        )?;
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
        tx.delete_any::<SharePointer>(&shared_scope, &a.rec.id);
    }
    tx.put(&cx.scope, &a.rec, Expect::Rev(a.rev))?;
    Ok(ws::UpdateConnectionAliasPermissionResult {})
    })
}

/// Applies one due transition of an alias or of one account's association.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    _now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let (alias_id, account) = match t.resource_id.split_once('/') {
        Some((a, acct)) => (a, Some(acct)),
        None => (t.resource_id.as_str(), None),
    };
    let Some(mut a) = svc.load::<AliasRec>(scope, alias_id)? else {
        return Ok(None);
    };
    match (t.kind, account) {
        (TransitionKind::AliasCreate, None) if a.rec.state == "CREATING" => {
            a.rec.state = "CREATED".into();
            {
                tx.put(scope, &a.rec, Expect::Rev(a.rev))?;
                Ok(None)
            }
        }
        (TransitionKind::AliasDelete, None) if a.rec.state == "DELETING" => {
            tx.delete::<AliasRec>(scope, alias_id, a.rev);
            Ok(None)
        }
        (TransitionKind::AliasAssociate, Some(acct)) => {
            let owner = a.rec.owner.clone();
            let Some(x) = a
                .rec
                .associations
                .iter_mut()
                .find(|x| x.account == acct && x.status == "PENDING_ASSOCIATION")
            else {
                return Ok(None);
            };
            x.status = if acct == owner {
                "ASSOCIATED_WITH_OWNER_ACCOUNT".into()
            } else {
                "ASSOCIATED_WITH_SHARED_ACCOUNT".into()
            };
            {
                tx.put(scope, &a.rec, Expect::Rev(a.rev))?;
                Ok(None)
            }
        }
        (TransitionKind::AliasDisassociate, Some(acct)) => {
            let before = a.rec.associations.len();
            a.rec
                .associations
                .retain(|x| !(x.account == acct && x.status == "PENDING_DISASSOCIATION"));
            if a.rec.associations.len() == before {
                return Ok(None);
            }
            {
                tx.put(scope, &a.rec, Expect::Rev(a.rev))?;
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}
