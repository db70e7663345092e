//! WorkSpaces directories (registrations) as stored.
//!
//! A registration stores its settings as the model's own `WorkspaceDirectory` shape (encoded
//! with the generated wire encoder), so DescribeWorkspaceDirectories shows exactly what the
//! Modify* calls wrote, member for member, with no hand-copied field lists.

use super::workspaces::{WorkspaceRec, DIRECTORY_INDEX};
use super::{Fault, Resource, Service, StoredTag, Taggable};
use localspaces_api::shape::{Path, Shape, Violations};
use localspaces_api::value::Value;
use localspaces_api::workspaces as ws;
use localspaces_protocol::json;
use localspaces_store::{IndexEntry, Scope, StoreError};
use serde::{Deserialize, Serialize};

/// Store kind of directories, whose records carry one `ip_group` index entry per associated
/// group (written by the directory family).
pub const DIRECTORY_KIND: &str = "directory";

/// Index name on directory records for their associated IP groups.
pub const IP_GROUP_INDEX: &str = "ip_group";

/// What other families (WorkSpaces, connection aliases, …) need to know about a
/// registered directory.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryView {
    pub state: ws::WorkspaceDirectoryState,
    pub subnet_ids: Vec<String>,
    /// PERSONAL or POOLS.
    pub workspace_type: Option<ws::WorkspaceType>,
}

/// A stored registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WsDirectory {
    pub id: String,
    /// JSON of the `WorkspaceDirectory` wire shape (state and ipGroupIds are kept beside it).
    pub wire: String,
    /// A `WorkspaceDirectoryState` wire value.
    pub state: String,
    #[serde(default)]
    pub ip_groups: Vec<String>,
    /// JSON of the `ClientProperties` wire shape.
    pub client: String,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
}

impl Resource for WsDirectory {
    const KIND: &'static str = DIRECTORY_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        self.ip_groups
            .iter()
            .map(|g| IndexEntry {
                name: IP_GROUP_INDEX.into(),
                key: g.clone(),
            })
            .collect()
    }
}

impl Taggable for WsDirectory {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

pub(crate) fn stored_fault(what: &str) -> Fault {
    Fault(StoreError::Corrupt(format!("stored {what} is not readable")))
}

/// Encodes a model shape as JSON text for storage.
pub(crate) fn to_json<S: Shape + Clone>(s: &S) -> String {
    String::from_utf8(json::encode(&s.encode())).unwrap_or_default()
}

/// Decodes a model shape stored by [`to_json`].
pub(crate) fn from_json<S: Shape>(text: &str, what: &str) -> Result<S, Fault> {
    let v: Value = json::decode(text.as_bytes()).map_err(|_| stored_fault(what))?;
    let mut cx = Violations::default();
    S::decode(&v, &Path::Root, &mut cx).map_err(|_| stored_fault(what))
}

impl WsDirectory {
    pub(crate) fn wire(&self) -> Result<ws::WorkspaceDirectory, Fault> {
        let mut w: ws::WorkspaceDirectory = from_json(&self.wire, "directory")?;
        w.state = ws::WorkspaceDirectoryState::from_wire(&self.state);
        w.ip_group_ids = (!self.ip_groups.is_empty()).then(|| self.ip_groups.clone());
        Ok(w)
    }

    pub(crate) fn set_wire(&mut self, mut w: ws::WorkspaceDirectory) {
        w.state = None;
        w.ip_group_ids = None;
        self.wire = to_json(&w);
    }

    pub(crate) fn state(&self) -> ws::WorkspaceDirectoryState {
        ws::WorkspaceDirectoryState::from_wire(&self.state).unwrap_or(ws::WorkspaceDirectoryState::Error)
    }
}

/// The registration of directory `id` in `scope`, if any (in any state).
pub(crate) fn directory_view(svc: &Service, scope: &Scope, id: &str) -> Result<Option<DirectoryView>, Fault> {
    let Some(d) = svc.load::<WsDirectory>(scope, id)? else {
        return Ok(None);
    };
    let w = d.rec.wire()?;
    Ok(Some(DirectoryView {
        state: d.rec.state(),
        subnet_ids: w.subnet_ids.unwrap_or_default(),
        workspace_type: w.workspace_type,
    }))
}

/// How many WorkSpaces (in any state) the directory `id` has.
pub(crate) fn workspaces_in(svc: &Service, scope: &Scope, id: &str) -> Result<u64, Fault> {
    svc.count::<WorkspaceRec>(
        scope,
        Some(IndexEntry {
            name: DIRECTORY_INDEX.into(),
            key: id.to_string(),
        }),
    )
}
