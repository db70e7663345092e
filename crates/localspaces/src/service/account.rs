//! Account-level features (spec §9.1–9.2): BYOL / dedicated tenancy — DescribeAccount,
//! ModifyAccount (PENDING → COMPLETED on the engine), DescribeAccountModifications,
//! ListAvailableManagementCidrRanges — and account links between two accounts of this
//! server — Create/Accept/Reject/DeleteAccountLinkInvitation, GetAccountLink,
//! ListAccountLinks.
//!
//! BYOL settings live in one record per (account, Region). Account links live in a global
//! scope, indexed by both parties, so either account finds them.

use super::ids::new_id;
use super::lifecycle::Applied;
use super::pagination;
use super::records::{not_found, Resource};
use super::{Context, Service};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope, StoreError};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Store kind of the per-(account, Region) settings record.
pub const ACCOUNT_KIND: &str = "account";
pub(crate) const SETTINGS_ID: &str = "settings";
/// Page size of DescribeAccountModifications (server-chosen; the model has no member).
const MODIFICATIONS_PAGE: usize = 25;
/// Where BYOL management ranges may come from (AWS admin guide).
const MANAGEMENT_SPACE: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

/// BYOL settings and history of one account in one Region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountRec {
    pub id: String,
    /// Admin override of the server's default eligibility.
    #[serde(default)]
    pub byol_eligible: Option<bool>,
    #[serde(default)]
    pub enabled: bool,
    /// A WorkSpaces Core account (admin setting): only these may use running mode MANUAL.
    #[serde(default)]
    pub core: bool,
    /// Treated as a new customer of WorkSpaces Pools (admin setting): CreateWorkspacesPool is
    /// refused, as AWS refuses new customers since 2026-07-30.
    #[serde(default)]
    pub pools_new_customer: bool,
    #[serde(default)]
    pub cidr: Option<String>,
    /// Newest first.
    #[serde(default)]
    pub modifications: Vec<Modification>,
}

/// One ModifyAccount request and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Modification {
    pub state: String,
    pub support: String,
    pub cidr: Option<String>,
    pub start: f64,
}

impl Resource for AccountRec {
    const KIND: &'static str = ACCOUNT_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

/// An account link (global scope).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinkRec {
    id: String,
    source: String,
    target: String,
    status: String,
    #[serde(default)]
    client_token: Option<String>,
}

impl Resource for LinkRec {
    const KIND: &'static str = "account_link";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry {
                name: "party".into(),
                key: self.source.clone(),
            },
            IndexEntry {
                name: "party".into(),
                key: self.target.clone(),
            },
        ]
    }
}

impl LinkRec {
    fn to_wire(&self) -> ws::AccountLink {
        ws::AccountLink {
            account_link_id: Some(self.id.clone()),
            account_link_status: ws::AccountLinkStatusEnum::from_wire(&self.status),
            source_account_id: Some(self.source.clone()),
            target_account_id: Some(self.target.clone()),
        }
    }
}

fn global() -> Scope {
    Scope::new("global", "global")
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

fn validation(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::ValidationException, msg)
}

fn changed() -> Error {
    Error::new(
        ErrorCode::ConflictException,
        "The resource was modified by another request. Try again.",
    )
}

impl Service {
    fn account_settings(&self, scope: &Scope) -> Result<(AccountRec, Option<u64>), Error> {
        Ok(match self.load::<AccountRec>(scope, SETTINGS_ID)? {
            Some(s) => (s.rec, Some(s.rev)),
            None => (
                AccountRec {
                    id: SETTINGS_ID.into(),
                    ..Default::default()
                },
                None,
            ),
        })
    }

    fn byol_eligible(&self, rec: &AccountRec) -> bool {
        rec.byol_eligible.unwrap_or(self.limits.byol_eligible)
    }

    /// Admin hook: makes an account BYOL-eligible (or not) in one Region.
    pub fn admin_set_byol_eligible(&self, scope: &Scope, eligible: bool) -> Result<(), Error> {
        let _w = self.write.lock();
        let (mut rec, rev) = self.account_settings(scope)?;
        rec.byol_eligible = Some(eligible);
        let expect = rev.map_or(Expect::Absent, Expect::Rev);
        self.commit(vec![Service::put(scope, &rec, expect)?], changed)
    }

    /// Admin hook: marks an account as a WorkSpaces Core account (or not) in one Region.
    pub fn admin_set_core(&self, scope: &Scope, core: bool) -> Result<(), Error> {
        self.admin_set_flag(scope, |rec| rec.core = core)
    }

    /// Admin hook: makes an account a new customer of WorkSpaces Pools (or not) in one Region.
    pub fn admin_set_pools_new_customer(&self, scope: &Scope, new_customer: bool) -> Result<(), Error> {
        self.admin_set_flag(scope, |rec| rec.pools_new_customer = new_customer)
    }

    fn admin_set_flag(&self, scope: &Scope, set: impl FnOnce(&mut AccountRec)) -> Result<(), Error> {
        let _w = self.write.lock();
        let (mut rec, rev) = self.account_settings(scope)?;
        set(&mut rec);
        let expect = rev.map_or(Expect::Absent, Expect::Rev);
        self.commit(vec![Service::put(scope, &rec, expect)?], changed)
    }
}

/// Whether the account's BYOL status (DescribeAccount's `DedicatedTenancySupport`) is ENABLED.
pub(crate) fn byol_enabled(svc: &Service, scope: &Scope) -> Result<bool, Error> {
    Ok(svc.account_settings(scope)?.0.enabled)
}

/// Whether the account is a new customer of WorkSpaces Pools (admin route `pools-new-customer`).
pub(crate) fn is_pools_new_customer(svc: &Service, scope: &Scope) -> Result<bool, Error> {
    Ok(svc.account_settings(scope)?.0.pools_new_customer)
}

/// Whether the account is a WorkSpaces Core account (admin route `core`).
pub(crate) fn is_core_account(svc: &Service, scope: &Scope) -> Result<bool, Error> {
    Ok(svc.account_settings(scope)?.0.core)
}

fn not_eligible() -> Error {
    Error::new(
        ErrorCode::AccessDeniedException,
        "This account is not enabled for Bring Your Own License (BYOL). Contact AWS to enable it.",
    )
}

/// Parses `a.b.c.d/n` (the model's patterns have checked the syntax).
fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (a, p) = s.split_once('/')?;
    let addr: Ipv4Addr = a.parse().ok()?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 32)?;
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    Some((u32::from(addr) & mask, prefix))
}

/// Every /16 block inside `constraint` that lies in the management space, ascending.
fn candidate_blocks(constraint: (u32, u8)) -> Vec<u32> {
    let (base, prefix) = constraint;
    if prefix > 16 {
        return Vec::new();
    }
    let size = 1u64 << (32 - u32::from(prefix));
    let (lo, hi) = (u64::from(base), u64::from(base) + size);
    let mut out = Vec::new();
    for (net, p) in MANAGEMENT_SPACE {
        let s = u64::from(u32::from(net));
        let e = s + (1u64 << (32 - u32::from(p)));
        let (from, to) = (lo.max(s), hi.min(e));
        let mut b = from;
        while b < to {
            out.push(b as u32);
            b += 1 << 16;
        }
    }
    out.sort_unstable();
    out
}

fn block_str(b: u32) -> String {
    format!("{}/16", Ipv4Addr::from(b))
}

pub fn describe_account(
    svc: &Service,
    cx: &Context,
    _input: ws::DescribeAccountRequest,
) -> Result<ws::DescribeAccountResult, Error> {
    let (rec, _) = svc.account_settings(&cx.scope)?;
    let links = svc.scan::<LinkRec>(
        &global(),
        Some(IndexEntry {
            name: "party".into(),
            key: cx.scope.account.clone(),
        }),
        None,
        None,
    )?;
    let account_type = links.iter().find(|l| l.rec.status == "LINKED").map(|l| {
        if l.rec.source == cx.scope.account {
            ws::DedicatedTenancyAccountType::SourceAccount
        } else {
            ws::DedicatedTenancyAccountType::TargetAccount
        }
    });
    Ok(ws::DescribeAccountResult {
        dedicated_tenancy_account_type: account_type,
        dedicated_tenancy_management_cidr_range: rec.cidr.clone().filter(|_| rec.enabled),
        dedicated_tenancy_support: Some(if rec.enabled {
            ws::DedicatedTenancySupportResultEnum::Enabled
        } else {
            ws::DedicatedTenancySupportResultEnum::Disabled
        }),
        message: None,
    })
}

pub fn modify_account(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyAccountRequest,
) -> Result<ws::ModifyAccountResult, Error> {
    let pending = {
        let _w = svc.write.lock();
        let (mut rec, rev) = svc.account_settings(&cx.scope)?;
        if !svc.byol_eligible(&rec) {
            return Err(not_eligible());
        }
        let Some(cidr) = input.dedicated_tenancy_management_cidr_range else {
            return Err(invalid(
                "DedicatedTenancyManagementCidrRange is required to enable dedicated tenancy.",
            ));
        };
        if input.dedicated_tenancy_support.is_none() {
            return Err(invalid("DedicatedTenancySupport must be ENABLED."));
        }
        if rec.modifications.first().is_some_and(|m| m.state == "PENDING") {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                "A modification of this account is already in progress.",
            ));
        }
        // BYOL cannot be switched off or moved to another management range once enabled.
        if rec.enabled {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                "Dedicated tenancy is already enabled for this account.",
            ));
        }
        let block = parse_cidr(&cidr).ok_or_else(|| invalid(format!("{cidr} is not a valid CIDR block.")))?;
        if block.1 != 16 || !candidate_blocks(block).contains(&block.0) {
            return Err(invalid(format!(
                "The management CIDR range {cidr} is not available: it must be a /16 from 10.0.0.0/8, \
                 100.64.0.0/10, 172.16.0.0/12 or 192.168.0.0/16 (see ListAvailableManagementCidrRanges)."
            )));
        }
        rec.modifications.insert(
            0,
            Modification {
                state: "PENDING".into(),
                support: "ENABLED".into(),
                cidr: Some(cidr),
                start: svc.clock.now(),
            },
        );
        let (tw, t) = svc.transition(
            &cx.scope,
            TransitionKind::AccountModify,
            ACCOUNT_KIND,
            SETTINGS_ID,
        )?;
        let expect = rev.map_or(Expect::Absent, Expect::Rev);
        svc.commit(vec![Service::put(&cx.scope, &rec, expect)?, tw], || {
            Error::new(
                ErrorCode::InvalidResourceStateException,
                "A modification of this account is already in progress.",
            )
        })?;
        t
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::ModifyAccountResult { message: None })
}

pub fn describe_account_modifications(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeAccountModificationsRequest,
) -> Result<ws::DescribeAccountModificationsResult, Error> {
    const OP: &str = "DescribeAccountModifications";
    let (rec, _) = svc.account_settings(&cx.scope)?;
    let filter = pagination::fingerprint([]);
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        validation("The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let page = rec
        .modifications
        .iter()
        .skip(start)
        .take(MODIFICATIONS_PAGE)
        .map(|m| ws::AccountModification {
            dedicated_tenancy_management_cidr_range: m.cidr.clone(),
            dedicated_tenancy_support: ws::DedicatedTenancySupportResultEnum::from_wire(&m.support),
            error_code: None,
            error_message: None,
            modification_state: ws::DedicatedTenancyModificationStateEnum::from_wire(&m.state),
            start_time: Some(m.start),
        })
        .collect();
    let end = start + MODIFICATIONS_PAGE;
    Ok(ws::DescribeAccountModificationsResult {
        account_modifications: Some(page),
        next_token: (end < rec.modifications.len()).then(|| pagination::encode(OP, filter, end as u64)),
    })
}

pub fn list_available_management_cidr_ranges(
    svc: &Service,
    cx: &Context,
    input: ws::ListAvailableManagementCidrRangesRequest,
) -> Result<ws::ListAvailableManagementCidrRangesResult, Error> {
    const OP: &str = "ListAvailableManagementCidrRanges";
    let (rec, _) = svc.account_settings(&cx.scope)?;
    if !svc.byol_eligible(&rec) {
        return Err(not_eligible());
    }
    let constraint = &input.management_cidr_range_constraint;
    let block =
        parse_cidr(constraint).ok_or_else(|| invalid(format!("{constraint} is not a valid CIDR block.")))?;
    let limit = input.max_results.map_or(5, |n| n.clamp(1, 5) as usize);
    let filter = pagination::fingerprint([constraint.as_str()]);
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let in_use = rec.cidr.as_deref().filter(|_| rec.enabled).and_then(parse_cidr);
    let all: Vec<u32> = candidate_blocks(block)
        .into_iter()
        .filter(|b| in_use.is_none_or(|(u, _)| u != *b))
        .collect();
    let end = start + limit;
    Ok(ws::ListAvailableManagementCidrRangesResult {
        management_cidr_ranges: Some(
            all.iter()
                .skip(start)
                .take(limit)
                .map(|b| block_str(*b))
                .collect(),
        ),
        next_token: (end < all.len()).then(|| pagination::encode(OP, filter, end as u64)),
    })
}

/// Applies a due BYOL modification (PENDING → COMPLETED).
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    _now: f64,
) -> Result<Applied, StoreError> {
    let fault = |e: Error| StoreError::Backend(e.message);
    let Some(mut s) = svc.load::<AccountRec>(scope, &t.resource_id).map_err(fault)? else {
        return Ok(Applied {
            writes: Vec::new(),
            next: None,
        });
    };
    let mut writes = Vec::new();
    if let Some(m) = s.rec.modifications.first_mut().filter(|m| m.state == "PENDING") {
        m.state = "COMPLETED".into();
        let cidr = m.cidr.clone();
        s.rec.enabled = true;
        s.rec.cidr = cidr;
        writes.push(Service::put(scope, &s.rec, Expect::Rev(s.rev)).map_err(fault)?);
    }
    Ok(Applied { writes, next: None })
}

// ---------------------------------------------------------------- account links

fn links_of(svc: &Service, account: &str) -> Result<Vec<super::records::Stored<LinkRec>>, Error> {
    svc.scan::<LinkRec>(
        &global(),
        Some(IndexEntry {
            name: "party".into(),
            key: account.to_string(),
        }),
        None,
        None,
    )
}

fn link_not_found(id: &str) -> Error {
    not_found("account link", id)
}

/// The link `id` if the caller is one of its parties.
fn visible_link(svc: &Service, cx: &Context, id: &str) -> Result<super::records::Stored<LinkRec>, Error> {
    svc.load::<LinkRec>(&global(), id)?
        .filter(|l| l.rec.source == cx.scope.account || l.rec.target == cx.scope.account)
        .ok_or_else(|| link_not_found(id))
}

pub fn create_account_link_invitation(
    svc: &Service,
    cx: &Context,
    input: ws::CreateAccountLinkInvitationRequest,
) -> Result<ws::CreateAccountLinkInvitationResult, Error> {
    let me = &cx.scope.account;
    let target = input.target_account_id;
    if &target == me {
        return Err(validation("An account cannot invite itself to link."));
    }
    let _w = svc.write.lock();
    let mine = links_of(svc, me)?;
    if let Some(token) = &input.client_token {
        if let Some(l) = mine
            .iter()
            .find(|l| l.rec.source == *me && l.rec.client_token.as_deref() == Some(token.as_str()))
        {
            return Ok(ws::CreateAccountLinkInvitationResult {
                account_link: Some(l.rec.to_wire()),
            });
        }
    }
    let live = |l: &LinkRec| {
        matches!(
            l.status.as_str(),
            "LINKED" | "PENDING_ACCEPTANCE_BY_TARGET_ACCOUNT"
        )
    };
    if let Some(l) = mine
        .iter()
        .find(|l| (l.rec.source == target || l.rec.target == target) && live(&l.rec))
    {
        return Err(Error::new(
            ErrorCode::ConflictException,
            format!(
                "The account {target} is already linked or invited ({}, {}).",
                l.rec.id, l.rec.status
            ),
        ));
    }
    let rec = LinkRec {
        id: new_id("link-", 12),
        source: me.clone(),
        target,
        status: "PENDING_ACCEPTANCE_BY_TARGET_ACCOUNT".into(),
        client_token: input.client_token,
    };
    svc.commit(vec![Service::put(&global(), &rec, Expect::Absent)?], changed)?;
    Ok(ws::CreateAccountLinkInvitationResult {
        account_link: Some(rec.to_wire()),
    })
}

/// Accept or reject: the target moves a pending link to `to`.
fn answer(svc: &Service, cx: &Context, id: &str, to: &str) -> Result<ws::AccountLink, Error> {
    let _w = svc.write.lock();
    let mut l = visible_link(svc, cx, id)?;
    if l.rec.target != cx.scope.account {
        return Err(Error::new(
            ErrorCode::AccessDeniedException,
            format!(
                "Only the invited account {} can answer the invitation {id}.",
                l.rec.target
            ),
        ));
    }
    if l.rec.status == to {
        // A retry of the same answer returns the link as it is.
        return Ok(l.rec.to_wire());
    }
    if l.rec.status != "PENDING_ACCEPTANCE_BY_TARGET_ACCOUNT" {
        return Err(Error::new(
            ErrorCode::ConflictException,
            format!(
                "The account link {id} is {}; it is no longer pending.",
                l.rec.status
            ),
        ));
    }
    l.rec.status = to.to_string();
    svc.commit(
        vec![Service::put(&global(), &l.rec, Expect::Rev(l.rev))?],
        changed,
    )?;
    Ok(l.rec.to_wire())
}

pub fn accept_account_link_invitation(
    svc: &Service,
    cx: &Context,
    input: ws::AcceptAccountLinkInvitationRequest,
) -> Result<ws::AcceptAccountLinkInvitationResult, Error> {
    Ok(ws::AcceptAccountLinkInvitationResult {
        account_link: Some(answer(svc, cx, &input.link_id, "LINKED")?),
    })
}

pub fn reject_account_link_invitation(
    svc: &Service,
    cx: &Context,
    input: ws::RejectAccountLinkInvitationRequest,
) -> Result<ws::RejectAccountLinkInvitationResult, Error> {
    Ok(ws::RejectAccountLinkInvitationResult {
        account_link: Some(answer(svc, cx, &input.link_id, "REJECTED")?),
    })
}

pub fn delete_account_link_invitation(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteAccountLinkInvitationRequest,
) -> Result<ws::DeleteAccountLinkInvitationResult, Error> {
    let _w = svc.write.lock();
    let l = visible_link(svc, cx, &input.link_id)?;
    if l.rec.source != cx.scope.account {
        return Err(Error::new(
            ErrorCode::AccessDeniedException,
            format!(
                "Only the inviting account {} can delete the invitation.",
                l.rec.source
            ),
        ));
    }
    if l.rec.status == "LINKED" {
        return Err(Error::new(
            ErrorCode::ConflictException,
            format!("The account link {} is LINKED and cannot be undone.", l.rec.id),
        ));
    }
    svc.commit(
        vec![Service::delete::<LinkRec>(&global(), &l.rec.id, l.rev)],
        changed,
    )?;
    Ok(ws::DeleteAccountLinkInvitationResult {
        account_link: Some(l.rec.to_wire()),
    })
}

pub fn get_account_link(
    svc: &Service,
    cx: &Context,
    input: ws::GetAccountLinkRequest,
) -> Result<ws::GetAccountLinkResult, Error> {
    let link = match (&input.link_id, &input.linked_account_id) {
        (Some(id), None) => visible_link(svc, cx, id)?.rec,
        (None, Some(other)) => links_of(svc, &cx.scope.account)?
            .into_iter()
            .rev()
            .map(|l| l.rec)
            .find(|l| &l.source == other || &l.target == other)
            .ok_or_else(|| link_not_found(other))?,
        _ => return Err(validation("Specify exactly one of LinkId and LinkedAccountId.")),
    };
    Ok(ws::GetAccountLinkResult {
        account_link: Some(link.to_wire()),
    })
}

pub fn list_account_links(
    svc: &Service,
    cx: &Context,
    input: ws::ListAccountLinksRequest,
) -> Result<ws::ListAccountLinksResult, Error> {
    const OP: &str = "ListAccountLinks";
    let statuses: Vec<&str> = input
        .link_status_filter
        .iter()
        .flatten()
        .map(|s| s.as_str())
        .collect();
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint(statuses.iter().copied());
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        validation("The pagination token is invalid.")
    })?;
    let mut all: Vec<_> = links_of(svc, &cx.scope.account)?
        .into_iter()
        .filter(|l| statuses.is_empty() || statuses.contains(&l.rec.status.as_str()))
        .filter(|l| after.is_none_or(|a| l.seq > a))
        .collect();
    all.sort_by_key(|l| l.seq);
    all.dedup_by_key(|l| l.seq);
    let next_token = (all.len() > limit).then(|| pagination::encode(OP, filter, all[limit - 1].seq));
    all.truncate(limit);
    Ok(ws::ListAccountLinksResult {
        account_links: Some(all.iter().map(|l| l.rec.to_wire()).collect()),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_blocks() {
        let all = |c: &str| candidate_blocks(parse_cidr(c).unwrap());
        assert_eq!(all("10.0.0.0/8").len(), 256);
        assert_eq!(block_str(all("10.0.0.0/8")[0]), "10.0.0.0/16");
        assert_eq!(
            all("10.5.0.0/16")
                .iter()
                .map(|b| block_str(*b))
                .collect::<Vec<_>>(),
            ["10.5.0.0/16"]
        );
        assert!(all("10.5.0.0/20").is_empty(), "a /20 holds no /16");
        assert_eq!(all("172.0.0.0/8").len(), 16, "172.16.0.0/12 inside 172/8");
        assert_eq!(all("192.168.0.0/16").len(), 1);
        assert_eq!(all("100.64.0.0/10").len(), 64);
        assert!(all("8.8.0.0/16").is_empty());
        assert_eq!(all("0.0.0.0/0").len(), 256 + 64 + 16 + 1);
    }
}
