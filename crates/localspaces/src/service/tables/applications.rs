//! Managed applications' associations with WorkSpaces as stored.

use super::Resource;
use localspaces_api::workspaces as ws;
use localspaces_store::IndexEntry;
use serde::{Deserialize, Serialize};

/// Transition resource kind: the deployment running on one WorkSpace (id = WorkSpace id).
pub const DEPLOYMENT_KIND: &str = "app_deployment";

/// One application's association with one WorkSpace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssociationRec {
    /// `<workspace id>/<application id>`.
    pub id: String,
    pub workspace: String,
    pub application: String,
    pub state: String,
    pub created: f64,
    pub updated: f64,
}

impl Resource for AssociationRec {
    const KIND: &'static str = "app_association";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry {
                name: "workspace".into(),
                key: self.workspace.clone(),
            },
            IndexEntry {
                name: "application".into(),
                key: self.application.clone(),
            },
        ]
    }
}

impl AssociationRec {
    pub(crate) fn wire_state(&self) -> Option<ws::AssociationState> {
        ws::AssociationState::from_wire(&self.state)
    }

    pub(crate) fn to_workspace_wire(&self) -> ws::WorkspaceResourceAssociation {
        ws::WorkspaceResourceAssociation {
            associated_resource_id: Some(self.application.clone()),
            associated_resource_type: Some(ws::WorkSpaceAssociatedResourceType::Application),
            created: Some(self.created),
            last_updated_time: Some(self.updated),
            state: self.wire_state(),
            state_reason: None,
            workspace_id: Some(self.workspace.clone()),
        }
    }

    pub(crate) fn to_application_wire(&self) -> ws::ApplicationResourceAssociation {
        ws::ApplicationResourceAssociation {
            application_id: Some(self.application.clone()),
            associated_resource_id: Some(self.workspace.clone()),
            associated_resource_type: Some(ws::ApplicationAssociatedResourceType::Workspace),
            created: Some(self.created),
            last_updated_time: Some(self.updated),
            state: self.wire_state(),
            state_reason: None,
        }
    }

    /// Still holds (or is about to hold) the application.
    pub(crate) fn live(&self) -> bool {
        self.state != "REMOVED"
    }

    /// A deployment is working on it.
    pub(crate) fn in_flight(&self) -> bool {
        matches!(
            self.state.as_str(),
            "PENDING_INSTALL" | "PENDING_UNINSTALL" | "INSTALLING" | "UNINSTALLING"
        )
    }
}
