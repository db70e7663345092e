//! Custom images: CreateWorkspaceImage (capture from a WorkSpace, which shows
//! SUSPENDED meanwhile), CreateUpdatedWorkspaceImage, CopyWorkspaceImage (into the caller's
//! Region from `SourceRegion`), ImportWorkspaceImage and ImportCustomWorkspaceImage (BYOL),
//! DescribeCustomWorkspaceImageImport, DescribeWorkspaceImages, DeleteWorkspaceImage,
//! UpdateWorkspaceImagePermission / DescribeWorkspaceImagePermissions (sharing with other
//! accounts of the same Region) and DescribeImageAssociations.
//!
//! With desktops (`--desktops local`) an image has files: CreateWorkspaceImage captures the
//! WorkSpace's root volume, CopyWorkspaceImage copies the source's files, and the image stays
//! PENDING until the driver is done (the transition is gated on it, as WorkSpaces' are);
//! DeleteWorkspaceImage deletes them.
//!
//! An image lives in its owner's (account, Region). Sharing writes a pointer record into the
//! shared account's scope, so that account finds the image (as `SHARED`) without scanning
//! others. States on the engine: PENDING → AVAILABLE; a custom import also walks its own
//! workflow states (PENDING → IN_PROGRESS → COMPLETED).

use super::tables::account::byol_enabled;
use super::tables::bundles::image_in_use;
use super::tables::ids::new_id;
use super::tables::images::{
    find, load_owned, CustomImport, ImageOrigin, ImageRec, SharePointer, IMAGE_KIND, NAME_INDEX,
};
use super::tables::workspaces::{capture_source, end_capture};
use super::tables::{invalid, new_tags, pagination, Conflict, Context, Fault, Service, Stored, Tx};
use crate::desktop::{DesktopKey, ImageKey, Progress};
use crate::engine::{transition_key, PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// Images per account and Region (commonly cited; unconfirmed).
const IMAGE_QUOTA: u64 = 40;
/// Accounts an image can be shared with (inferred: the docs give no number).
const SHARE_QUOTA: usize = 100;

fn image_not_found(id: &str) -> Error {
    Error::new(
        ErrorCode::ResourceNotFoundException,
        format!("The image {id} could not be found. Confirm that the image exists in this Region of your AWS account, and try again."),
    )
    .with_resource(id)
}

/// The lost race of a change to an image.
const CHANGED: Conflict = Conflict::Changed("image");

fn name_taken_message(name: &str) -> String {
    format!("A WorkSpace image with the name {name} already exists in this Region. Provide a unique image name, and try again.")
}

fn name_taken(name: &str) -> Error {
    Error::new(
        ErrorCode::ResourceAlreadyExistsException,
        name_taken_message(name),
    )
}

/// The lost race of creating an image named `name`: another request took the name.
fn name_race(name: &str) -> Conflict {
    Conflict::Exists(name_taken_message(name))
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

fn byol_required() -> Error {
    Error::new(
        ErrorCode::AccessDeniedException,
        "This account is not enabled for Bring Your Own License (BYOL) in this Region. Enable BYOL with ModifyAccount first.",
    )
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
        copied_from: None,
        custom_import: None,
    }
}

/// How soon an image waiting on its files is looked at again, in seconds.
const RECHECK: f64 = 0.1;

/// The driver's progress on the files of a PENDING captured or copied image (polling starts
/// the work): `None` without desktops or for an image that has no files to make.
fn files_progress(svc: &Service, scope: &Scope, i: &ImageRec) -> Option<Progress> {
    let driver = svc.desktops()?;
    let key = ImageKey::new(&scope.account, &scope.region, &i.id)?;
    if let Some(wid) = &i.source_workspace {
        let ws = DesktopKey::new(&scope.account, &scope.region, wid)?;
        return Some(driver.capture_image(&ws, &key));
    }
    let o = i.copied_from.as_ref()?;
    let from = ImageKey::new(&o.account, &o.region, &o.id)?;
    Some(driver.copy_image(&from, &key))
}

/// Starts the files of an image just committed PENDING, so the work runs while the
/// transition's time passes. Under the write lock, as the gate polls (a result is reported
/// once).
fn kickoff(svc: &Service, scope: &Scope, id: &str) {
    if svc.desktops().is_none() {
        return;
    }
    svc.locked(|| {
        let pending = matches!(
            svc.load_transition(&transition_key(scope, IMAGE_KIND, id)),
            Ok(Some(_))
        );
        if let (true, Ok(Some(i))) = (pending, svc.load::<ImageRec>(scope, id)) {
            if i.rec.state == ws::WorkspaceImageState::Pending.as_str() {
                files_progress(svc, scope, &i.rec);
            }
        }
    });
}

/// Stages a new image with its pending transition.
fn store_new(tx: &mut Tx<'_>, cx: &Context, rec: &ImageRec, kind: TransitionKind) -> Result<(), Fault> {
    tx.put(&cx.scope, rec, Expect::Absent)?;
    tx.transition(&cx.scope, kind, IMAGE_KIND, &rec.id)
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let rec = svc.write(name_race(&input.name), |tx| {
        let Some(src) = capture_source(svc, &cx.scope, &input.workspace_id)? else {
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
        src.suspend(tx, &cx.scope)?;
        store_new(tx, cx, &rec, TransitionKind::ImageCreate)?;
        Ok::<_, Error>(rec)
    })?;
    tracing::debug!(image = %rec.id, workspace = ?rec.source_workspace, "image capture started");
    kickoff(svc, &cx.scope, &rec.id); // desktop seam
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let id = svc.write(name_race(&input.name), |tx| {
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
        store_new(tx, cx, &rec, TransitionKind::ImageUpdate)?;
        Ok::<_, Error>(rec.id)
    })?;
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let source_scope = Scope::new(cx.scope.account.clone(), input.source_region.clone());
    let id = svc.write(name_race(&input.name), |tx| {
        let (owner, src) = find(svc, &source_scope, &input.source_image_id)?
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
        rec.copied_from = Some(ImageOrigin {
            account: owner.account.clone(),
            region: owner.region.clone(),
            id: src.rec.id.clone(),
        });
        store_new(tx, cx, &rec, TransitionKind::ImageCopy)?;
        Ok::<_, Error>(rec.id)
    })?;
    kickoff(svc, &cx.scope, &id); // desktop seam
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let id = svc.write(name_race(&input.image_name), |tx| {
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
        store_new(tx, cx, &rec, TransitionKind::ImageImport)?;
        Ok::<_, Error>(rec.id)
    })?;
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
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    let id = svc.write(name_race(&input.image_name), |tx| {
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
        store_new(tx, cx, &rec, TransitionKind::ImageCustomImport)?;
        Ok::<_, Error>(rec.id)
    })?;
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
    svc.write(CHANGED, |tx| {
        let Some(i) = load_owned(svc, &cx.scope, &input.image_id)? else {
            if find(svc, &cx.scope, &input.image_id)?.is_some() {
                return Err(Error::new(
                    ErrorCode::AccessDeniedException,
                    format!("Only the owner of the image {} can delete it.", input.image_id),
                ));
            }
            // ResourceNotFoundException is not modeled for DeleteWorkspaceImage: deleting an
            // image that does not exist succeeds (inferred).
            tracing::debug!(image = %input.image_id, "delete of an unknown image");
            return Ok(());
        };
        if image_in_use(svc, &cx.scope, &i.rec.id)? {
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
        tx.delete::<ImageRec>(&cx.scope, &i.rec.id, i.rev);
        Ok(())
    })?;
    // desktop seam: the image's files go with it.
    if let (Some(driver), Some(key)) = (
        svc.desktops(),
        ImageKey::new(&cx.scope.account, &cx.scope.region, &input.image_id),
    ) {
        driver.delete_image(&key);
    }
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
    svc.write(CHANGED, |tx| {
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
    if input.allow_copy_image {
        if i.rec.shares.contains(&other) {
            return Ok(());
        }
        if i.rec.shares.len() >= SHARE_QUOTA {
            return Err(invalid(format!(
                "An image can be shared with at most {SHARE_QUOTA} accounts."
            )));
        }
        i.rec.shares.push(other.clone());
        tx.put(
            &shared_scope,
            &SharePointer {
                id: i.rec.id.clone(),
                owner: cx.scope.account.clone(),
            },
            Expect::Any,
        )?;
    } else {
        if !i.rec.shares.contains(&other) {
            // Revoking a share that does not exist changes nothing (unconfirmed).
            return Ok(());
        }
        i.rec.shares.retain(|s| s != &other);
        tx.delete_any::<SharePointer>(&shared_scope, &i.rec.id);
    }
    tx.put(&cx.scope, &i.rec, Expect::Rev(i.rev))?;
    tracing::debug!(image = %i.rec.id, account = %other, share = input.allow_copy_image, "image permission updated");
    Ok(())
    })?;
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
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    use ws::CustomWorkspaceImageImportState as C;
    let Some(mut i) = svc.load::<ImageRec>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    if i.rec.state != ws::WorkspaceImageState::Pending.as_str() {
        return Ok(None);
    }
    // desktop seam: a captured or copied image is AVAILABLE once its files are made.
    if matches!(t.kind, TransitionKind::ImageCreate | TransitionKind::ImageCopy) {
        match files_progress(svc, scope, &i.rec) {
            None | Some(Progress::Done) => {}
            Some(Progress::Working) => {
                return Ok(Some(PendingTransition {
                    kind: t.kind,
                    due: now + RECHECK,
                    resource_kind: IMAGE_KIND.to_string(),
                    resource_id: i.rec.id.clone(),
                }))
            }
            Some(Progress::Failed(msg)) => {
                tracing::warn!(image = %i.rec.id, error = %msg, "image files failed: the image is in ERROR");
                i.rec.state = ws::WorkspaceImageState::Error.as_str().to_string();
                if let Some(wid) = i.rec.source_workspace.take() {
                    end_capture(svc, tx, scope, &wid, now)?;
                }
                tx.put(scope, &i.rec, Expect::Rev(i.rev))?;
                return Ok(None);
            }
        }
    }
    let mut next = None;
    match t.kind {
        TransitionKind::ImageCustomImport => {
            let Some(c) = i.rec.custom_import.as_mut() else {
                return Ok(None);
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
                end_capture(svc, tx, scope, &wid, now)?;
            }
        }
        _ => i.rec.state = ws::WorkspaceImageState::Available.as_str().to_string(),
    }
    tx.put(scope, &i.rec, Expect::Rev(i.rev))?;
    Ok(next)
}
