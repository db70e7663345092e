//! Custom images as stored. An image lives in its owner's (account, Region); sharing writes
//! a pointer record into the shared account's scope, so that account finds the image (as
//! `SHARED`) without scanning others.

use super::{Fault, Resource, Service, Stored, StoredTag, Taggable};
use localspaces_api::workspaces as ws;
use localspaces_store::{IndexEntry, Scope};
use serde::{Deserialize, Serialize};

/// Store kind of images (in the owner's scope).
pub(crate) const IMAGE_KIND: &str = "workspace_image";

pub(crate) const NAME_INDEX: &str = "name";

pub(crate) const NO_UPDATES: &str = "This WorkSpace image does not have updates available";

pub(crate) const HAS_UPDATES: &str = "WorkSpace image has updates available";

/// A stored image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageRec {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub owner: String,
    /// `OperatingSystemType` wire value (WINDOWS | LINUX).
    pub os_type: String,
    /// `OperatingSystemName` wire value (what WorkSpaces launched from it run).
    pub os_name: String,
    /// `Protocol` wire value of WorkSpaces launched from it.
    pub protocol: String,
    /// A GPU image: bundles need a Graphics compute type.
    #[serde(default)]
    pub gpu: bool,
    /// `WorkspaceImageState` wire value.
    pub state: String,
    /// `WorkspaceImageRequiredTenancy` wire value.
    pub tenancy: String,
    pub created: f64,
    #[serde(default)]
    pub update_available: bool,
    /// Accounts the image is shared with (same Region).
    #[serde(default)]
    pub shares: Vec<String>,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
    /// CreateWorkspaceImage: the WorkSpace shown SUSPENDED while this image is captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_workspace: Option<String>,
    /// CopyWorkspaceImage: the image copied, whose files (with desktops) are copied too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<ImageOrigin>,
    /// ImportCustomWorkspaceImage: the import workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_import: Option<CustomImport>,
}

/// Where a copied image came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageOrigin {
    /// The owner of the source image (the caller, or the account that shared it).
    pub account: String,
    pub region: String,
    pub id: String,
}

/// The workflow of an ImportCustomWorkspaceImage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CustomImport {
    /// `CustomWorkspaceImageImportState` wire value.
    pub state: String,
    pub infrastructure_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_import_task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_build_version_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_instance: Option<String>,
    pub updated: f64,
}

impl Resource for ImageRec {
    const KIND: &'static str = IMAGE_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry {
            name: NAME_INDEX.into(),
            key: self.name.clone(),
        }]
    }
    fn unique() -> Vec<String> {
        vec![NAME_INDEX.into()]
    }
}

impl Taggable for ImageRec {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

/// In a shared account's scope: "image `id` of `owner` is shared with me".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SharePointer {
    pub id: String,
    pub owner: String,
}

impl Resource for SharePointer {
    const KIND: &'static str = "workspace_image_share";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

impl ImageRec {
    pub(crate) fn is_available(&self) -> bool {
        self.state == ws::WorkspaceImageState::Available.as_str()
    }

    pub(crate) fn to_wire(&self) -> ws::WorkspaceImage {
        ws::WorkspaceImage {
            created: Some(self.created),
            description: self.description.clone(),
            error_code: None,
            error_details: None,
            error_message: None,
            image_id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            operating_system: Some(ws::OperatingSystem {
                r#type: ws::OperatingSystemType::from_wire(&self.os_type),
            }),
            owner_account_id: Some(self.owner.clone()),
            required_tenancy: ws::WorkspaceImageRequiredTenancy::from_wire(&self.tenancy),
            state: ws::WorkspaceImageState::from_wire(&self.state),
            updates: Some(ws::UpdateResult {
                description: Some(
                    if self.update_available {
                        HAS_UPDATES
                    } else {
                        NO_UPDATES
                    }
                    .to_string(),
                ),
                update_available: Some(self.update_available),
            }),
        }
    }
}

/// The image `id` as the caller may see it: its own, or one shared with it (in `scope`'s
/// Region). Returns the owner's scope with the record.
pub(crate) fn find(
    svc: &Service,
    scope: &Scope,
    id: &str,
) -> Result<Option<(Scope, Stored<ImageRec>)>, Fault> {
    if let Some(i) = svc.load::<ImageRec>(scope, id)? {
        return Ok(Some((scope.clone(), i)));
    }
    let Some(p) = svc.load::<SharePointer>(scope, id)? else {
        return Ok(None);
    };
    let owner = Scope::new(p.rec.owner, scope.region.clone());
    Ok(svc
        .load::<ImageRec>(&owner, id)?
        .filter(|i| i.rec.shares.contains(&scope.account))
        .map(|i| (owner, i)))
}

/// An image the caller owns in its scope (bundles are made only of owned images).
pub(crate) fn load_owned(svc: &Service, scope: &Scope, id: &str) -> Result<Option<Stored<ImageRec>>, Fault> {
    svc.load::<ImageRec>(scope, id)
}

impl ImageRec {
    /// Takes the platform of the image it is made from (updated images and copies).
    pub(crate) fn inherit_platform(&mut self, src: &ImageRec) {
        self.os_type = src.os_type.clone();
        self.os_name = src.os_name.clone();
        self.protocol = src.protocol.clone();
        self.gpu = src.gpu;
        self.tenancy = src.tenancy.clone();
    }
}
