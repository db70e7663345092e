//! Custom images (spec §7.4): CreateWorkspaceImage (capture from a WorkSpace, which shows
//! SUSPENDED meanwhile), CreateUpdatedWorkspaceImage, CopyWorkspaceImage (into the caller's
//! Region from `SourceRegion`), ImportWorkspaceImage and ImportCustomWorkspaceImage (BYOL),
//! DescribeCustomWorkspaceImageImport, DescribeWorkspaceImages, DeleteWorkspaceImage,
//! UpdateWorkspaceImagePermission / DescribeWorkspaceImagePermissions (sharing with other
//! accounts of the same Region) and DescribeImageAssociations.
//!
//! An image lives in its owner's (account, Region). Sharing writes a pointer record into the
//! shared account's scope, so that account finds the image (as `SHARED`) without scanning
//! others. States on the engine: PENDING → AVAILABLE; a custom import also walks its own
//! workflow states (PENDING → IN_PROGRESS → COMPLETED).

use super::ids::new_id;
use super::lifecycle::Applied;
use super::pagination;
use super::records::{merge_tags, Resource, Stored, StoredTag, Taggable};
use super::{Context, Service};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope, StoreError, Write};
use serde::{Deserialize, Serialize};

/// Store kind of images (in the owner's scope).
pub(crate) const IMAGE_KIND: &str = "workspace_image";
const NAME_INDEX: &str = "name";
/// Images per account and Region (commonly cited; unconfirmed, spec §3).
const IMAGE_QUOTA: u64 = 40;
/// Accounts an image can be shared with (inferred: the docs give no number).
const SHARE_QUOTA: usize = 100;

const NO_UPDATES: &str = "This WorkSpace image does not have updates available";
const HAS_UPDATES: &str = "WorkSpace image has updates available";

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
    /// ImportCustomWorkspaceImage: the import workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_import: Option<CustomImport>,
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
struct SharePointer {
    id: String,
    owner: String,
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

    fn to_wire(&self) -> ws::WorkspaceImage {
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

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

fn image_not_found(id: &str) -> Error {
    Error::new(
        ErrorCode::ResourceNotFoundException,
        format!("The image {id} could not be found. Confirm that the image exists in this Region of your AWS account, and try again."),
    )
    .with_resource(id)
}

fn changed() -> Error {
    Error::new(
        ErrorCode::InvalidParameterValuesException,
        "The image was modified by another request. Try again.",
    )
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorCode::ResourceAlreadyExistsException,
        format!("A WorkSpace image with the name {name} already exists in this Region. Provide a unique image name, and try again."),
    )
}

fn internal_store(e: Error) -> StoreError {
    StoreError::Backend(e.message)
}

/// The image `id` as the caller may see it: its own, or one shared with it (in `scope`'s
/// Region). Returns the owner's scope with the record.
fn find(svc: &Service, scope: &Scope, id: &str) -> Result<Option<(Scope, Stored<ImageRec>)>, Error> {
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
pub(crate) fn load_owned(svc: &Service, scope: &Scope, id: &str) -> Result<Option<Stored<ImageRec>>, Error> {
    svc.load::<ImageRec>(scope, id)
}

/// Whether `name` is taken among the images of `scope`.
fn name_in_use(svc: &Service, scope: &Scope, name: &str) -> Result<bool, Error> {
    Ok(svc.count::<ImageRec>(
        scope,
        Some(IndexEntry {
            name: NAME_INDEX.into(),
            key: name.to_string(),
        }),
    )? > 0)
}

/// Name uniqueness and the image quota, checked before creating an image in `scope`.
fn check_new(svc: &Service, scope: &Scope, name: &str) -> Result<(), Error> {
    if name_in_use(svc, scope, name)? {
        return Err(name_taken(name));
    }
    if svc.count::<ImageRec>(scope, None)? >= IMAGE_QUOTA {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!("An account can have at most {IMAGE_QUOTA} images per Region."),
        ));
    }
    Ok(())
}

fn tags_of(svc: &Service, tags: Option<&[ws::Tag]>) -> Result<Vec<StoredTag>, Error> {
    let mut out = Vec::new();
    merge_tags(&mut out, tags.unwrap_or_default(), svc.limits.tags_per_resource)?;
    Ok(out)
}

/// Whether BYOL (dedicated tenancy) is enabled for the account in this Region.
fn byol_enabled(svc: &Service, scope: &Scope) -> Result<bool, Error> {
    Ok(svc
        .load::<super::account::AccountRec>(scope, super::account::SETTINGS_ID)?
        .is_some_and(|a| a.rec.enabled))
}

fn byol_required() -> Error {
    Error::new(
        ErrorCode::AccessDeniedException,
        "This account is not enabled for Bring Your Own License (BYOL) in this Region. Enable BYOL with ModifyAccount first.",
    )
}

/// A new PENDING image owned by the caller.
impl ImageRec {
    /// Takes the platform of the image it is made from (updated images and copies).
    fn inherit_platform(&mut self, src: &ImageRec) {
        self.os_type = src.os_type.clone();
        self.os_name = src.os_name.clone();
        self.protocol = src.protocol.clone();
        self.gpu = src.gpu;
        self.tenancy = src.tenancy.clone();
    }
}

fn pending_image(svc: &Service, cx: &Context, name: String, description: Option<String>) -> ImageRec {
    ImageRec {
        id: new_id("wsi-", 9),
        name,
        description,
        owner: cx.scope.account.clone(),
        os_type: ws::OperatingSystemType::Windows.as_str().to_string(),
        os_name: ws::OperatingSystemName::Windows10.as_str().to_string(),
        protocol: ws::Protocol::Pcoip.as_str().to_string(),
        gpu: false,
        state: ws::WorkspaceImageState::Pending.as_str().to_string(),
        tenancy: ws::WorkspaceImageRequiredTenancy::Default.as_str().to_string(),
        created: svc.clock.now(),
        update_available: false,
        shares: Vec::new(),
        tags: Vec::new(),
        source_workspace: None,
        custom_import: None,
    }
}

/// Stores a new image with its pending transition (plus `extra` writes), then schedules it.
fn store_new(
    svc: &Service,
    cx: &Context,
    rec: &ImageRec,
    kind: TransitionKind,
    extra: Vec<Write>,
) -> Result<PendingTransition, Error> {
    let mut writes = vec![Service::put(&cx.scope, rec, Expect::Absent)?];
    let (tw, t) = svc.transition(&cx.scope, kind, IMAGE_KIND, &rec.id)?;
    writes.push(tw);
    writes.extend(extra);
    svc.commit(writes, || name_taken(&rec.name))?;
    Ok(t)
}

fn is_gpu_compute(c: &str) -> bool {
    c.starts_with("GRAPHICS")
}

fn os_type_of(os_name: &str) -> ws::OperatingSystemType {
    if os_name.starts_with("WINDOWS") {
        ws::OperatingSystemType::Windows
    } else {
        ws::OperatingSystemType::Linux
    }
}

pub fn create_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspaceImageRequest,
) -> Result<ws::CreateWorkspaceImageResult, Error> {
    let tags = tags_of(svc, input.tags.as_deref())?;
    let (rec, pending) = {
        let _w = svc.write.lock();
        let Some(src) = super::workspaces::capture_source(svc, &cx.scope, &input.workspace_id)? else {
            return Err(Error::new(
                ErrorCode::ResourceNotFoundException,
                "The specified WorkSpace cannot be found. Confirm that the workspace exists in your AWS account, and try again.",
            )
            .with_resource(&input.workspace_id));
        };
        if src.state != ws::WorkspaceState::Available {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The WorkSpace {} is {}; an image can only be created from an AVAILABLE WorkSpace.",
                    input.workspace_id,
                    src.state.as_str()
                ),
            ));
        }
        if src.encrypted {
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!(
                    "The WorkSpace {} has encrypted volumes; images cannot be created from encrypted WorkSpaces.",
                    input.workspace_id
                ),
            ));
        }
        check_new(svc, &cx.scope, &input.name)?;
        let mut rec = pending_image(svc, cx, input.name, Some(input.description));
        rec.os_type = os_type_of(&src.os).as_str().to_string();
        rec.os_name = src.os.clone();
        rec.protocol = src.protocol.clone();
        rec.gpu = is_gpu_compute(&src.compute);
        if byol_enabled(svc, &cx.scope)? {
            rec.tenancy = ws::WorkspaceImageRequiredTenancy::Dedicated.as_str().to_string();
        }
        rec.tags = tags;
        rec.source_workspace = Some(input.workspace_id.clone());
        let t = store_new(svc, cx, &rec, TransitionKind::ImageCreate, vec![src.suspend])?;
        (rec, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    tracing::debug!(image = %rec.id, workspace = ?rec.source_workspace, "image capture started");
    let w = rec.to_wire();
    Ok(ws::CreateWorkspaceImageResult {
        created: w.created,
        description: w.description,
        image_id: w.image_id,
        name: w.name,
        operating_system: w.operating_system,
        owner_account_id: w.owner_account_id,
        required_tenancy: w.required_tenancy,
        state: w.state,
    })
}

pub fn create_updated_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::CreateUpdatedWorkspaceImageRequest,
) -> Result<ws::CreateUpdatedWorkspaceImageResult, Error> {
    let tags = tags_of(svc, input.tags.as_deref())?;
    let (id, pending) = {
        let _w = svc.write.lock();
        let src = load_owned(svc, &cx.scope, &input.source_image_id)?
            .ok_or_else(|| image_not_found(&input.source_image_id))?;
        if !src.rec.is_available() {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The image {} is {}; it must be AVAILABLE.",
                    src.rec.id, src.rec.state
                ),
            ));
        }
        if !src.rec.update_available {
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!("The image {} has no updates available.", src.rec.id),
            ));
        }
        check_new(svc, &cx.scope, &input.name)?;
        let mut rec = pending_image(svc, cx, input.name, Some(input.description));
        rec.inherit_platform(&src.rec);
        rec.tags = tags;
        let t = store_new(svc, cx, &rec, TransitionKind::ImageUpdate, Vec::new())?;
        (rec.id, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::CreateUpdatedWorkspaceImageResult { image_id: Some(id) })
}

pub fn copy_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::CopyWorkspaceImageRequest,
) -> Result<ws::CopyWorkspaceImageResult, Error> {
    let (src_region, dst_region) = (input.source_region.as_str(), cx.scope.region.as_str());
    let partition = |r: &str| {
        if r.starts_with("cn-") {
            "aws-cn"
        } else if r.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    };
    if src_region != dst_region && (partition(src_region) != "aws" || partition(dst_region) != "aws") {
        // China Regions copy within the Region only; GovCloud cross-Region needs support (doc).
        return Err(Error::new(
            ErrorCode::OperationNotSupportedException,
            format!("Copying images from {src_region} to {dst_region} is not supported."),
        ));
    }
    let tags = tags_of(svc, input.tags.as_deref())?;
    let source_scope = Scope::new(cx.scope.account.clone(), input.source_region.clone());
    let (id, pending) = {
        let _w = svc.write.lock();
        let (_, src) = find(svc, &source_scope, &input.source_image_id)?
            .ok_or_else(|| image_not_found(&input.source_image_id))?;
        if !src.rec.is_available() {
            return Err(Error::new(
                ErrorCode::ResourceUnavailableException,
                format!(
                    "The image {} is {}; only AVAILABLE images can be copied.",
                    src.rec.id, src.rec.state
                ),
            )
            .with_resource(&src.rec.id));
        }
        if name_in_use(svc, &cx.scope, &input.name)? {
            return Err(Error::new(
                ErrorCode::ResourceAlreadyExistsException,
                "A WorkSpace image with the same name exists in the destination Region. Provide a unique destination image name, and try again.",
            ));
        }
        check_new(svc, &cx.scope, &input.name)?;
        let mut rec = pending_image(svc, cx, input.name, input.description);
        rec.inherit_platform(&src.rec);
        rec.update_available = src.rec.update_available;
        rec.tags = tags;
        let t = store_new(svc, cx, &rec, TransitionKind::ImageCopy, Vec::new())?;
        (rec.id, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::CopyWorkspaceImageResult { image_id: Some(id) })
}

pub fn import_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::ImportWorkspaceImageRequest,
) -> Result<ws::ImportWorkspaceImageResult, Error> {
    use ws::WorkspaceImageIngestionProcess as P;
    if input.applications.as_ref().is_some_and(|a| a.len() > 1) {
        return Err(invalid("Only one application can be specified in Applications."));
    }
    let tags = tags_of(svc, input.tags.as_deref())?;
    let (id, pending) = {
        let _w = svc.write.lock();
        if !byol_enabled(svc, &cx.scope)? {
            return Err(byol_required());
        }
        check_new(svc, &cx.scope, &input.image_name)?;
        let mut rec = pending_image(svc, cx, input.image_name, Some(input.image_description));
        let p = input.ingestion_process;
        rec.gpu = !matches!(p, P::ByolRegular | P::ByolRegularWsp | P::ByolRegularByop);
        // _WSP is DCV; BYOP images also run the DCV host agent (inferred).
        rec.protocol = if matches!(
            p,
            P::ByolRegular | P::ByolGraphics | P::ByolGraphicspro | P::ByolGraphicsG4dn
        ) {
            ws::Protocol::Pcoip
        } else {
            ws::Protocol::Wsp
        }
        .as_str()
        .to_string();
        rec.tenancy = ws::WorkspaceImageRequiredTenancy::Dedicated.as_str().to_string();
        // Imported BYOL images carry the agent of their import; updates are offered (inferred).
        rec.update_available = true;
        rec.tags = tags;
        tracing::debug!(ami = %input.ec2_image_id, image = %rec.id, "BYOL image import");
        let t = store_new(svc, cx, &rec, TransitionKind::ImageImport, Vec::new())?;
        (rec.id, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::ImportWorkspaceImageResult { image_id: Some(id) })
}

pub fn import_custom_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::ImportCustomWorkspaceImageRequest,
) -> Result<ws::ImportCustomWorkspaceImageResult, Error> {
    let src = &input.image_source;
    let set = [
        &src.ec2_image_id,
        &src.ec2_import_task_id,
        &src.image_build_version_arn,
    ]
    .iter()
    .filter(|s| s.is_some())
    .count();
    if set != 1 {
        return Err(invalid(
            "ImageSource must have exactly one of Ec2ImageId, Ec2ImportTaskId or ImageBuildVersionArn.",
        ));
    }
    if input.os_version == ws::OSVersion::Windows11 && input.protocol == ws::CustomImageProtocol::Pcoip {
        return Err(invalid(
            "Windows 11 images cannot use the PCOIP protocol; use DCV or BYOP.",
        ));
    }
    let tags = tags_of(svc, input.tags.as_deref())?;
    let (id, pending) = {
        let _w = svc.write.lock();
        if !byol_enabled(svc, &cx.scope)? {
            return Err(byol_required());
        }
        check_new(svc, &cx.scope, &input.image_name)?;
        let mut rec = pending_image(svc, cx, input.image_name, Some(input.image_description));
        rec.os_name = match input.os_version {
            ws::OSVersion::Windows10 => ws::OperatingSystemName::Windows10,
            ws::OSVersion::Windows11 => ws::OperatingSystemName::Windows11,
        }
        .as_str()
        .to_string();
        rec.protocol = match input.protocol {
            ws::CustomImageProtocol::Pcoip => ws::Protocol::Pcoip,
            ws::CustomImageProtocol::Dcv | ws::CustomImageProtocol::Byop => ws::Protocol::Wsp,
        }
        .as_str()
        .to_string();
        rec.gpu = input.compute_type != ws::ImageComputeType::Base;
        rec.tenancy = ws::WorkspaceImageRequiredTenancy::Dedicated.as_str().to_string();
        rec.tags = tags;
        rec.custom_import = Some(CustomImport {
            state: ws::CustomWorkspaceImageImportState::Pending.as_str().to_string(),
            infrastructure_arn: input.infrastructure_configuration_arn,
            ec2_image_id: src.ec2_image_id.clone(),
            ec2_import_task_id: src.ec2_import_task_id.clone(),
            image_build_version_arn: src.image_build_version_arn.clone(),
            builder_instance: None,
            updated: rec.created,
        });
        let t = store_new(svc, cx, &rec, TransitionKind::ImageCustomImport, Vec::new())?;
        (rec.id, t)
    };
    svc.scheduled(&cx.scope, &[pending]);
    // Instant timing may have moved on already; the import starts PENDING either way.
    Ok(ws::ImportCustomWorkspaceImageResult {
        image_id: Some(id),
        state: Some(ws::CustomWorkspaceImageImportState::Pending),
    })
}

pub fn describe_custom_workspace_image_import(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeCustomWorkspaceImageImportRequest,
) -> Result<ws::DescribeCustomWorkspaceImageImportResult, Error> {
    let i = load_owned(svc, &cx.scope, &input.image_id)?
        .filter(|i| i.rec.custom_import.is_some())
        .ok_or_else(|| image_not_found(&input.image_id))?;
    let Some(c) = &i.rec.custom_import else {
        return Err(image_not_found(&input.image_id));
    };
    use ws::CustomWorkspaceImageImportState as S;
    let state = S::from_wire(&c.state).unwrap_or(S::Error);
    let (progress, message) = match state {
        S::Pending => (0, "The import request was received."),
        S::Completed => (100, "The image was imported."),
        S::Error => (100, "The import failed."),
        _ => (50, "The image is being processed."),
    };
    Ok(ws::DescribeCustomWorkspaceImageImportResult {
        created: Some(i.rec.created),
        error_details: None,
        image_builder_instance_id: c.builder_instance.clone(),
        image_id: Some(i.rec.id.clone()),
        image_source: Some(ws::ImageSourceIdentifier {
            ec2_image_id: c.ec2_image_id.clone(),
            ec2_import_task_id: c.ec2_import_task_id.clone(),
            image_build_version_arn: c.image_build_version_arn.clone(),
        }),
        infrastructure_configuration_arn: Some(c.infrastructure_arn.clone()),
        last_updated_time: Some(c.updated),
        progress_percentage: Some(progress),
        state: Some(state),
        state_message: Some(message.to_string()),
    })
}

pub fn describe_workspace_images(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceImagesRequest,
) -> Result<ws::DescribeWorkspaceImagesResult, Error> {
    const OP: &str = "DescribeWorkspaceImages";
    let ids = input.image_ids.unwrap_or_default();
    let kind = input.image_type;
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint(
        ids.iter()
            .map(String::as_str)
            .chain([kind.map_or("", |k| k.as_str())]),
    );
    // DescribeWorkspaceImages models no InvalidParameterValuesException.
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(ErrorCode::ValidationException, "The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let me = &cx.scope.account;
    let mut all: Vec<ImageRec> = Vec::new();
    if ids.is_empty() {
        if kind != Some(ws::ImageType::Shared) {
            all.extend(
                svc.scan::<ImageRec>(&cx.scope, None, None, None)?
                    .into_iter()
                    .map(|i| i.rec),
            );
        }
        if kind != Some(ws::ImageType::Owned) {
            for p in svc.scan::<SharePointer>(&cx.scope, None, None, None)? {
                let owner = Scope::new(p.rec.owner, cx.scope.region.clone());
                if let Some(i) = svc.load::<ImageRec>(&owner, &p.rec.id)? {
                    if i.rec.shares.contains(me) {
                        all.push(i.rec);
                    }
                }
            }
        }
        all.sort_by(|a, b| a.created.total_cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    } else {
        for id in &ids {
            if let Some((_, i)) = find(svc, &cx.scope, id)? {
                let owned = &i.rec.owner == me;
                let wanted = match kind {
                    Some(ws::ImageType::Owned) => owned,
                    Some(ws::ImageType::Shared) => !owned,
                    None => true,
                };
                if wanted && !all.iter().any(|x| x.id == i.rec.id) {
                    all.push(i.rec);
                }
            }
        }
    }
    let page: Vec<ws::WorkspaceImage> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(ImageRec::to_wire)
        .collect();
    let next_token =
        (start + limit < all.len()).then(|| pagination::encode(OP, filter, (start + limit) as u64));
    Ok(ws::DescribeWorkspaceImagesResult {
        images: Some(page),
        next_token,
    })
}

pub fn delete_workspace_image(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteWorkspaceImageRequest,
) -> Result<ws::DeleteWorkspaceImageResult, Error> {
    let _w = svc.write.lock();
    let Some(i) = load_owned(svc, &cx.scope, &input.image_id)? else {
        if find(svc, &cx.scope, &input.image_id)?.is_some() {
            return Err(Error::new(
                ErrorCode::AccessDeniedException,
                format!("Only the owner of the image {} can delete it.", input.image_id),
            ));
        }
        // ResourceNotFoundException is not modeled for DeleteWorkspaceImage: deleting an
        // image that does not exist succeeds (spec §12, inferred).
        tracing::debug!(image = %input.image_id, "delete of an unknown image");
        return Ok(ws::DeleteWorkspaceImageResult {});
    };
    if super::bundles::image_in_use(svc, &cx.scope, &i.rec.id)? {
        return Err(Error::new(
            ErrorCode::ResourceAssociatedException,
            format!(
                "The image {} is used by a bundle; delete the bundle or update it to another image first.",
                i.rec.id
            ),
        ));
    }
    if !i.rec.shares.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidResourceStateException,
            format!(
                "The image {} is shared with other accounts; stop sharing it first.",
                i.rec.id
            ),
        ));
    }
    if i.rec.state == ws::WorkspaceImageState::Pending.as_str() {
        return Err(Error::new(
            ErrorCode::InvalidResourceStateException,
            format!(
                "The image {} is PENDING; try again when it is AVAILABLE.",
                i.rec.id
            ),
        ));
    }
    svc.commit(
        vec![Service::delete::<ImageRec>(&cx.scope, &i.rec.id, i.rev)],
        || {
            Error::new(
                ErrorCode::InvalidResourceStateException,
                "The image was modified by another request. Try again.",
            )
        },
    )?;
    Ok(ws::DeleteWorkspaceImageResult {})
}

/// Loads an image the caller owns; one only shared with it is not found.
fn find_owned(svc: &Service, cx: &Context, id: &str) -> Result<Stored<ImageRec>, Error> {
    match find(svc, &cx.scope, id)? {
        Some((scope, i)) if scope == cx.scope => Ok(i),
        // Owner-only operations do not find an image shared with the caller (inferred code).
        Some(_) | None => Err(image_not_found(id)),
    }
}

pub fn update_workspace_image_permission(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateWorkspaceImagePermissionRequest,
) -> Result<ws::UpdateWorkspaceImagePermissionResult, Error> {
    let other = input.shared_account_id;
    if other == cx.scope.account {
        return Err(invalid("An image cannot be shared with its owner."));
    }
    let _w = svc.write.lock();
    let mut i = find_owned(svc, cx, &input.image_id)?;
    if !i.rec.is_available() {
        return Err(Error::new(
            ErrorCode::ResourceUnavailableException,
            format!(
                "The image {} is {}; only AVAILABLE images can be shared.",
                i.rec.id, i.rec.state
            ),
        )
        .with_resource(&i.rec.id));
    }
    let shared_scope = Scope::new(other.clone(), cx.scope.region.clone());
    let mut writes = Vec::new();
    if input.allow_copy_image {
        if i.rec.shares.contains(&other) {
            return Ok(ws::UpdateWorkspaceImagePermissionResult {});
        }
        if i.rec.shares.len() >= SHARE_QUOTA {
            return Err(invalid(format!(
                "An image can be shared with at most {SHARE_QUOTA} accounts."
            )));
        }
        i.rec.shares.push(other.clone());
        writes.push(Service::put(
            &shared_scope,
            &SharePointer {
                id: i.rec.id.clone(),
                owner: cx.scope.account.clone(),
            },
            Expect::Any,
        )?);
    } else {
        if !i.rec.shares.contains(&other) {
            // Revoking a share that does not exist changes nothing (unconfirmed).
            return Ok(ws::UpdateWorkspaceImagePermissionResult {});
        }
        i.rec.shares.retain(|s| s != &other);
        writes.push(Write::Delete {
            key: Service::key::<SharePointer>(&shared_scope, &i.rec.id),
            expect: Expect::Any,
        });
    }
    writes.push(Service::put(&cx.scope, &i.rec, Expect::Rev(i.rev))?);
    svc.commit(writes, changed)?;
    tracing::debug!(image = %i.rec.id, account = %other, share = input.allow_copy_image, "image permission updated");
    Ok(ws::UpdateWorkspaceImagePermissionResult {})
}

pub fn describe_workspace_image_permissions(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceImagePermissionsRequest,
) -> Result<ws::DescribeWorkspaceImagePermissionsResult, Error> {
    const OP: &str = "DescribeWorkspaceImagePermissions";
    let i = find_owned(svc, cx, &input.image_id)?;
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint([input.image_id.as_str()]);
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?
    .map_or(0, |s| s as usize);
    let shares = &i.rec.shares;
    let page = shares
        .iter()
        .skip(start)
        .take(limit)
        .map(|a| ws::ImagePermission {
            shared_account_id: Some(a.clone()),
        })
        .collect();
    Ok(ws::DescribeWorkspaceImagePermissionsResult {
        image_id: Some(i.rec.id.clone()),
        image_permissions: Some(page),
        next_token: (start + limit < shares.len())
            .then(|| pagination::encode(OP, filter, (start + limit) as u64)),
    })
}

pub fn describe_image_associations(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeImageAssociationsRequest,
) -> Result<ws::DescribeImageAssociationsResult, Error> {
    if input.associated_resource_types.is_empty() {
        return Err(invalid(
            "AssociatedResourceTypes must name at least one resource type.",
        ));
    }
    find(svc, &cx.scope, &input.image_id)?.ok_or_else(|| image_not_found(&input.image_id))?;
    // Applications are the only associated resource type, and no application can be
    // associated with an image in this build: the list is truthfully empty.
    Ok(ws::DescribeImageAssociationsResult {
        associations: Some(Vec::new()),
    })
}

/// Applies one due transition of an image (called by the engine).
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Applied, StoreError> {
    use ws::CustomWorkspaceImageImportState as C;
    let nothing = || Applied {
        writes: Vec::new(),
        next: None,
    };
    let Some(mut i) = svc
        .load::<ImageRec>(scope, &t.resource_id)
        .map_err(internal_store)?
    else {
        return Ok(nothing());
    };
    if i.rec.state != ws::WorkspaceImageState::Pending.as_str() {
        return Ok(nothing());
    }
    let mut writes = Vec::new();
    let mut next = None;
    match t.kind {
        TransitionKind::ImageCustomImport => {
            let Some(c) = i.rec.custom_import.as_mut() else {
                return Ok(nothing());
            };
            c.updated = now;
            if c.state == C::Pending.as_str() {
                c.state = C::InProgress.as_str().to_string();
                let hex: String = new_id("", 17)
                    .bytes()
                    .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
                    .collect();
                c.builder_instance = Some(format!("i-{hex}"));
                next = Some(PendingTransition {
                    kind: t.kind,
                    due: now + svc.engine.timing().duration(t.kind),
                    resource_kind: IMAGE_KIND.to_string(),
                    resource_id: i.rec.id.clone(),
                });
            } else {
                c.state = C::Completed.as_str().to_string();
                i.rec.state = ws::WorkspaceImageState::Available.as_str().to_string();
            }
        }
        TransitionKind::ImageCreate => {
            i.rec.state = ws::WorkspaceImageState::Available.as_str().to_string();
            if let Some(wid) = i.rec.source_workspace.take() {
                writes.extend(super::workspaces::end_capture(svc, scope, &wid, now).map_err(internal_store)?);
            }
        }
        _ => i.rec.state = ws::WorkspaceImageState::Available.as_str().to_string(),
    }
    writes.push(Service::put(scope, &i.rec, Expect::Rev(i.rev)).map_err(internal_store)?);
    Ok(Applied { writes, next })
}
