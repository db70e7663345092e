//! Account-level records: BYOL settings (one record per account and Region) and account
//! links (in the global scope, indexed by both parties, so either account finds them).

use super::{Fault, Resource, Service};
use localspaces_api::workspaces as ws;
use localspaces_store::{IndexEntry, Scope};
use serde::{Deserialize, Serialize};

/// Store kind of the per-(account, Region) settings record.
pub const ACCOUNT_KIND: &str = "account";

pub(crate) const SETTINGS_ID: &str = "settings";

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
pub(crate) struct LinkRec {
    pub id: String,
    pub source: String,
    pub target: String,
    pub status: String,
    #[serde(default)]
    pub client_token: Option<String>,
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
    pub(crate) fn to_wire(&self) -> ws::AccountLink {
        ws::AccountLink {
            account_link_id: Some(self.id.clone()),
            account_link_status: ws::AccountLinkStatusEnum::from_wire(&self.status),
            source_account_id: Some(self.source.clone()),
            target_account_id: Some(self.target.clone()),
        }
    }
}

/// The BYOL settings of `scope` and their revision (defaults, with no revision, before the
/// first change).
pub(crate) fn account_settings(svc: &Service, scope: &Scope) -> Result<(AccountRec, Option<u64>), Fault> {
    Ok(match svc.load::<AccountRec>(scope, SETTINGS_ID)? {
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

/// Whether the account may use BYOL: the admin override, else the server's default.
pub(crate) fn byol_eligible(svc: &Service, rec: &AccountRec) -> bool {
    rec.byol_eligible.unwrap_or(svc.limits.byol_eligible)
}

/// Whether BYOL (dedicated tenancy) is enabled for the account in this Region.
pub(crate) fn byol_enabled(svc: &Service, scope: &Scope) -> Result<bool, Fault> {
    Ok(svc
        .load::<AccountRec>(scope, SETTINGS_ID)?
        .is_some_and(|a| a.rec.enabled))
}

/// Whether the account is a new customer of WorkSpaces Pools (admin route `pools-new-customer`).
pub(crate) fn is_pools_new_customer(svc: &Service, scope: &Scope) -> Result<bool, Fault> {
    Ok(account_settings(svc, scope)?.0.pools_new_customer)
}

/// Whether the account is a WorkSpaces Core account (admin route `core`).
pub(crate) fn is_core_account(svc: &Service, scope: &Scope) -> Result<bool, Fault> {
    Ok(account_settings(svc, scope)?.0.core)
}
