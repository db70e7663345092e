//! Account-level features: BYOL / dedicated tenancy — DescribeAccount,
//! ModifyAccount (PENDING → COMPLETED on the engine), DescribeAccountModifications,
//! ListAvailableManagementCidrRanges — and account links between two accounts of this
//! server — Create/Accept/Reject/DeleteAccountLinkInvitation, GetAccountLink,
//! ListAccountLinks.
//!
//! BYOL settings live in one record per (account, Region). Account links live in a global
//! scope, indexed by both parties, so either account finds them.

use super::tables::account::{
    account_settings, byol_eligible, AccountRec, LinkRec, Modification, ACCOUNT_KIND, SETTINGS_ID,
};
use super::tables::ids::new_id;
use super::tables::{global, invalid, not_found, pagination, Conflict, Context, Fault, Service, Stored, Tx};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};
use std::net::Ipv4Addr;

/// Page size of DescribeAccountModifications (server-chosen; the model has no member).
const MODIFICATIONS_PAGE: usize = 25;
/// Where BYOL management ranges may come from (AWS admin guide).
const MANAGEMENT_SPACE: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
];

fn validation(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::ValidationException, msg)
}

/// The lost race of a change to an account link.
const CHANGED: Conflict = Conflict::Concurrent("account link");

impl Service {
    /// Admin hook: makes an account BYOL-eligible (or not) in one Region.
    pub fn admin_set_byol_eligible(&self, scope: &Scope, eligible: bool) -> Result<(), Error> {
        self.write(Conflict::Changed("account"), |tx| {
            let (mut rec, rev) = account_settings(self, scope)?;
            rec.byol_eligible = Some(eligible);
            tx.put(scope, &rec, rev.map_or(Expect::Absent, Expect::Rev))?;
            Ok(())
        })
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
        self.write(Conflict::Changed("account"), |tx| {
            let (mut rec, rev) = account_settings(self, scope)?;
            set(&mut rec);
            tx.put(scope, &rec, rev.map_or(Expect::Absent, Expect::Rev))?;
            Ok(())
        })
    }
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
    let (rec, _) = account_settings(svc, &cx.scope)?;
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
    svc.write(Conflict::Changed("account"), |tx| {
        let (mut rec, rev) = account_settings(svc, &cx.scope)?;
        if !byol_eligible(svc, &rec) {
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
        tx.put(&cx.scope, &rec, rev.map_or(Expect::Absent, Expect::Rev))?;
        tx.transition(
            &cx.scope,
            TransitionKind::AccountModify,
            ACCOUNT_KIND,
            SETTINGS_ID,
        )?;
        Ok(())
    })?;
    Ok(ws::ModifyAccountResult { message: None })
}

pub fn describe_account_modifications(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeAccountModificationsRequest,
) -> Result<ws::DescribeAccountModificationsResult, Error> {
    const OP: &str = "DescribeAccountModifications";
    let (rec, _) = account_settings(svc, &cx.scope)?;
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
    let (rec, _) = account_settings(svc, &cx.scope)?;
    if !byol_eligible(svc, &rec) {
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
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    _now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let Some(mut s) = svc.load::<AccountRec>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    if let Some(m) = s.rec.modifications.first_mut().filter(|m| m.state == "PENDING") {
        m.state = "COMPLETED".into();
        let cidr = m.cidr.clone();
        s.rec.enabled = true;
        s.rec.cidr = cidr;
        tx.put(scope, &s.rec, Expect::Rev(s.rev))?;
    }
    Ok(None)
}

// ---------------------------------------------------------------- account links

fn links_of(svc: &Service, account: &str) -> Result<Vec<Stored<LinkRec>>, Fault> {
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
fn visible_link(svc: &Service, cx: &Context, id: &str) -> Result<Stored<LinkRec>, Error> {
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
    svc.write(CHANGED, |tx| {
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
        tx.put(&global(), &rec, Expect::Absent)?;
        Ok(ws::CreateAccountLinkInvitationResult {
            account_link: Some(rec.to_wire()),
        })
    })
}

/// Accept or reject: the target moves a pending link to `to`.
fn answer(svc: &Service, cx: &Context, id: &str, to: &str) -> Result<ws::AccountLink, Error> {
    svc.write(CHANGED, |tx| {
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
        tx.put(&global(), &l.rec, Expect::Rev(l.rev))?;
        Ok(l.rec.to_wire())
    })
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
    svc.write(CHANGED, |tx| {
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
        tx.delete::<LinkRec>(&global(), &l.rec.id, l.rev);
        Ok(ws::DeleteAccountLinkInvitationResult {
            account_link: Some(l.rec.to_wire()),
        })
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
