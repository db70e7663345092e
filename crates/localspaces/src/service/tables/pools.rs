//! WorkSpaces Pools and their user sessions as stored.

use super::{Fault, Resource, Service, StoredTag, Taggable};
use localspaces_api::workspaces as ws;
use localspaces_store::{IndexEntry, Scope};
use serde::{Deserialize, Serialize};

/// Store kind of pools.
pub(crate) const POOL_KIND: &str = "workspaces_pool";

/// Store kind of pool sessions.
pub(crate) const SESSION_KIND: &str = "workspaces_pool_session";

/// Index of pools by directory id (DeregisterWorkspaceDirectory refuses while one is there).
pub(crate) const POOL_DIRECTORY_INDEX: &str = "directory";

/// Index of pools by bundle id.
pub(crate) const POOL_BUNDLE_INDEX: &str = "bundle";

/// Index of sessions by pool id.
pub(crate) const SESSION_POOL_INDEX: &str = "pool";

/// A stored pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolRec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub bundle_id: String,
    pub directory_id: String,
    /// A `WorkspacesPoolState` wire value.
    pub state: String,
    /// The state an UPDATING pool returns to.
    #[serde(default)]
    pub resume: Option<String>,
    /// Set when TerminateWorkspacesPool stops a running pool on its way to DELETING.
    #[serde(default)]
    pub terminating: bool,
    pub desired: i32,
    /// Provisioned session capacity (ActualUserSessions).
    #[serde(default)]
    pub actual: i32,
    /// A `PoolsRunningMode` wire value.
    pub running_mode: String,
    /// An `ApplicationSettingsStatusEnum` wire value.
    pub app_status: String,
    #[serde(default)]
    pub settings_group: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    pub disconnect_timeout: i32,
    pub idle_timeout: i32,
    pub max_duration: i32,
    pub created: f64,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
}

impl Resource for PoolRec {
    const KIND: &'static str = POOL_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry {
                name: "name".into(),
                key: self.name.clone(),
            },
            IndexEntry {
                name: POOL_DIRECTORY_INDEX.into(),
                key: self.directory_id.clone(),
            },
            IndexEntry {
                name: POOL_BUNDLE_INDEX.into(),
                key: self.bundle_id.clone(),
            },
        ]
    }
    fn unique() -> Vec<String> {
        vec!["name".into()]
    }
}

impl Taggable for PoolRec {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

impl PoolRec {
    pub(crate) fn state(&self) -> ws::WorkspacesPoolState {
        ws::WorkspacesPoolState::from_wire(&self.state).unwrap_or(ws::WorkspacesPoolState::Stopped)
    }
    pub(crate) fn set_state(&mut self, s: ws::WorkspacesPoolState) {
        self.state = s.as_str().to_string();
    }
}

/// One streaming session of a pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRec {
    pub id: String,
    pub pool_id: String,
    pub user_id: String,
    pub instance_id: String,
    pub eni_id: String,
    pub private_ip: String,
    pub start: f64,
    pub expiration: f64,
    /// Set by TerminateWorkspacesPoolSession until the session is gone.
    #[serde(default)]
    pub ending: bool,
}

impl Resource for SessionRec {
    const KIND: &'static str = SESSION_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry {
            name: SESSION_POOL_INDEX.into(),
            key: self.pool_id.clone(),
        }]
    }
}

/// The account's application-settings bucket (created once per account and Region).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SettingsBucket {
    pub id: String,
    pub name: String,
}

impl Resource for SettingsBucket {
    const KIND: &'static str = "workspaces_pool_settings_bucket";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

pub(crate) fn session_index(pool_id: &str) -> IndexEntry {
    IndexEntry {
        name: SESSION_POOL_INDEX.into(),
        key: pool_id.to_string(),
    }
}

/// Pools of `scope` on directory `directory_id` (DeregisterWorkspaceDirectory refuses while
/// there are any).
pub(crate) fn pools_on_directory(svc: &Service, scope: &Scope, directory_id: &str) -> Result<u64, Fault> {
    svc.count::<PoolRec>(
        scope,
        Some(IndexEntry {
            name: POOL_DIRECTORY_INDEX.into(),
            key: directory_id.to_string(),
        }),
    )
}

/// Pools of `scope` using bundle `bundle_id`.
pub(crate) fn pools_on_bundle(svc: &Service, scope: &Scope, bundle_id: &str) -> Result<u64, Fault> {
    svc.count::<PoolRec>(
        scope,
        Some(IndexEntry {
            name: POOL_BUNDLE_INDEX.into(),
            key: bundle_id.to_string(),
        }),
    )
}
