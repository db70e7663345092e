//! The AMAZON bundle catalog, custom bundles (CreateWorkspaceBundle,
//! UpdateWorkspaceBundle, DeleteWorkspaceBundle, DescribeBundleAssociations) and
//! DescribeWorkspaceBundles, which lists either.
//!
//! Public bundles are data, not records: the same for every account and Region (the catalog
//! lives on the tables floor: generated ids, the ids AWS publishes, or `--bundle-catalog`).

use super::tables::bundles::{catalog, find_bundle, resolve_bundle, BundleRec, CatalogBundle, NAME_INDEX};
use super::tables::ids::new_id;
use super::tables::images::{load_owned, ImageRec};
use super::tables::pools::pools_on_bundle;
use super::tables::workspaces::{WorkspaceRec, BUNDLE_INDEX};
use super::tables::{invalid, new_tags, not_found, pagination, Conflict, Context, Service};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// Server page size of DescribeWorkspaceBundles (no page-size member in the model).
const PAGE: usize = 25;

/// Whether a `DescribeWorkspaceBundles` `Owner` names the Amazon catalog (any case).
fn is_amazon(owner: &str) -> bool {
    owner.eq_ignore_ascii_case("AMAZON")
}

pub fn describe_workspace_bundles(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceBundlesRequest,
) -> Result<ws::DescribeWorkspaceBundlesResult, Error> {
    const OP: &str = "DescribeWorkspaceBundles";
    if input.bundle_ids.is_some() && input.owner.is_some() {
        return Err(Error::new(
            ErrorCode::InvalidParameterValuesException,
            "You can filter bundles by BundleIds or by Owner, not both.",
        ));
    }
    let ids = input.bundle_ids.unwrap_or_default();
    let owner = input.owner.clone().unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str).chain([owner.as_str()]));
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(
            ErrorCode::InvalidParameterValuesException,
            "The pagination token is invalid.",
        )
    })?
    .map_or(0, |s| s as usize);
    // Public bundles are visible to everyone; custom bundles to their owner. No Owner (or
    // the caller's own account id, inferred) lists the caller's custom bundles; another
    // account's id lists none (inferred: bundles are not shared).
    let matching: Vec<ws::WorkspaceBundle> = if !ids.is_empty() {
        let mut out: Vec<ws::WorkspaceBundle> = catalog(svc)
            .bundles()
            .iter()
            .filter(|b| ids.contains(&b.id))
            .map(CatalogBundle::to_wire)
            .collect();
        let custom: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| find_bundle(svc, id).is_none())
            .collect();
        out.extend(
            svc.load_many::<BundleRec>(&cx.scope, &custom)?
                .iter()
                .map(|b| b.rec.to_wire()),
        );
        out
    } else if is_amazon(&owner) {
        catalog(svc)
            .bundles()
            .iter()
            .map(CatalogBundle::to_wire)
            .collect()
    } else if owner.is_empty() || owner == cx.scope.account {
        svc.scan::<BundleRec>(&cx.scope, None, None, None)?
            .iter()
            .map(|b| b.rec.to_wire())
            .collect()
    } else {
        Vec::new()
    };
    let page: Vec<ws::WorkspaceBundle> = matching.iter().skip(start).take(PAGE).cloned().collect();
    let next = start + page.len();
    let next_token = (next < matching.len()).then(|| pagination::encode(OP, filter, next as u64));
    Ok(ws::DescribeWorkspaceBundlesResult {
        bundles: Some(page),
        next_token,
    })
}

// ---------------------------------------------------------------- custom bundles

/// Custom bundles per account and Region (doc; public bundles do not count).
const BUNDLE_QUOTA: u64 = 50;

/// The lost race of a change to a custom bundle.
const CHANGED: Conflict = Conflict::Changed("bundle");

fn bundle_not_found(id: &str) -> Error {
    not_found("bundle", id)
}

/// Deleting a public bundle: a value the operation cannot take (inferred code).
fn public_bundle(id: &str) -> Error {
    invalid(format!(
        "The bundle {id} is a public (AMAZON) bundle; only custom bundles can be deleted."
    ))
}

fn image_unusable(image: &ImageRec) -> Error {
    Error::new(
        ErrorCode::ResourceUnavailableException,
        format!(
            "The image {} is {}; bundles need an AVAILABLE image.",
            image.id, image.state
        ),
    )
    .with_resource(&image.id)
}

/// The image `id` as a bundle may use it: owned by the caller and AVAILABLE.
fn usable_image(svc: &Service, scope: &Scope, id: &str) -> Result<ImageRec, Error> {
    let image = load_owned(svc, scope, id)?
        .ok_or_else(|| not_found("image", id))?
        .rec;
    if !image.is_available() {
        return Err(image_unusable(&image));
    }
    Ok(image)
}

/// GPU images need a Graphics compute type and the others need a non-GPU one.
fn check_compute(image: &ImageRec, compute: ws::Compute) -> Result<(), Error> {
    let gpu = compute.as_str().starts_with("GRAPHICS");
    if gpu != image.gpu {
        return Err(invalid(format!(
            "The compute type {} does not suit the image {} ({}).",
            compute.as_str(),
            image.id,
            if image.gpu {
                "a GPU image"
            } else {
                "a non-GPU image"
            }
        )));
    }
    Ok(())
}

fn capacity(what: &str, s: &str) -> Result<i32, Error> {
    s.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(format!("{what} capacity '{s}' is not a number of GiB.")))
}

pub fn create_workspace_bundle(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspaceBundleRequest,
) -> Result<ws::CreateWorkspaceBundleResult, Error> {
    let Some(compute) = input.compute_type.name else {
        return Err(invalid("ComputeType.Name is required."));
    };
    let user = capacity("UserStorage", &input.user_storage.capacity)?;
    let root = match &input.root_storage {
        Some(r) => capacity("RootStorage", &r.capacity)?,
        // Without RootStorage: the root volume of the storage group (inferred).
        None if matches!(user, 10 | 50 | 100) => 80,
        None => 175,
    };
    // The root/user groups WorkSpaces accept (by for custom bundles).
    if !(matches!((root, user), (80, 10) | (80, 50) | (80, 100))
        || ((175..=2000).contains(&root) && (100..=2000).contains(&user)))
    {
        return Err(invalid(format!(
            "The storage root {root} GiB / user {user} GiB is not supported: use 80/10, 80/50, 80/100 \
             or a root of 175-2000 GiB with a user volume of 100-2000 GiB."
        )));
    }
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    // A `Copy` closure: the lost race and the check inside the closure answer the same.
    let exists = || {
        Conflict::Exists(format!(
            "A bundle named {} already exists in this Region.",
            input.bundle_name
        ))
    };
    svc.write(exists, |tx| {
        let image = usable_image(svc, &cx.scope, &input.image_id)?;
        check_compute(&image, compute)?;
        if svc.count::<BundleRec>(
            &cx.scope,
            Some(IndexEntry {
                name: NAME_INDEX.into(),
                key: input.bundle_name.clone(),
            }),
        )? > 0
        {
            return Err(exists().into());
        }
        if svc.count::<BundleRec>(&cx.scope, None)? >= BUNDLE_QUOTA {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("An account can have at most {BUNDLE_QUOTA} custom bundles per Region."),
            ));
        }
        let now = svc.clock.now();
        let rec = BundleRec {
            id: new_id("wsb-", 9),
            name: input.bundle_name.clone(),
            description: input.bundle_description,
            owner: cx.scope.account.clone(),
            image_id: image.id,
            compute: compute.as_str().to_string(),
            root_gib: root,
            user_gib: user,
            created: now,
            updated: now,
            tags,
        };
        tx.put(&cx.scope, &rec, Expect::Absent)?;
        tracing::debug!(bundle = %rec.id, image = %rec.image_id, "custom bundle created");
        Ok(ws::CreateWorkspaceBundleResult {
            workspace_bundle: Some(rec.to_wire()),
        })
    })
}

pub fn update_workspace_bundle(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateWorkspaceBundleRequest,
) -> Result<ws::UpdateWorkspaceBundleResult, Error> {
    let (Some(bundle_id), Some(image_id)) = (input.bundle_id, input.image_id) else {
        return Err(invalid("BundleId and ImageId are required."));
    };
    // A public bundle is not one of the caller's bundles (inferred code).
    if find_bundle(svc, &bundle_id).is_some() {
        return Err(bundle_not_found(&bundle_id));
    }
    svc.write(CHANGED, |tx| {
        let mut b = svc
            .load::<BundleRec>(&cx.scope, &bundle_id)?
            .ok_or_else(|| bundle_not_found(&bundle_id))?;
        let image = usable_image(svc, &cx.scope, &image_id)?;
        let compute = ws::Compute::from_wire(&b.rec.compute).unwrap_or_default();
        check_compute(&image, compute)?;
        if let Some(old) = load_owned(svc, &cx.scope, &b.rec.image_id)? {
            if old.rec.os_type != image.os_type {
                return Err(invalid(format!(
                "The image {} runs {}, the bundle's image {}; a bundle keeps its operating system family.",
                image.id, image.os_type, old.rec.os_type
            )));
            }
        }
        // Existing WorkSpaces keep their image until rebuilt (doc); only the bundle changes.
        b.rec.image_id = image.id;
        b.rec.updated = svc.clock.now();
        tx.put(&cx.scope, &b.rec, Expect::Rev(b.rev))?;
        Ok(ws::UpdateWorkspaceBundleResult {})
    })
}

pub fn delete_workspace_bundle(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteWorkspaceBundleRequest,
) -> Result<ws::DeleteWorkspaceBundleResult, Error> {
    let Some(bundle_id) = input.bundle_id else {
        return Err(invalid("BundleId is required."));
    };
    if find_bundle(svc, &bundle_id).is_some() {
        return Err(public_bundle(&bundle_id));
    }
    svc.write(CHANGED, |tx| {
        let b = svc
            .load::<BundleRec>(&cx.scope, &bundle_id)?
            .ok_or_else(|| bundle_not_found(&bundle_id))?;
        let in_use = svc.count::<WorkspaceRec>(
            &cx.scope,
            Some(IndexEntry {
                name: BUNDLE_INDEX.into(),
                key: bundle_id.clone(),
            }),
        )?;
        if in_use > 0 {
            // Whether AWS refuses this is unconfirmed; refusing keeps every
            // WorkSpace's bundle describable and rebuildable.
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!("The bundle {bundle_id} is used by {in_use} WorkSpace(s); terminate them first."),
            ));
        }
        let pools = pools_on_bundle(svc, &cx.scope, &bundle_id)?;
        if pools > 0 {
            // The modeled case ("still referenced, e.g. by a pool").
            return Err(Error::new(
                ErrorCode::ResourceAssociatedException,
                format!(
                "The bundle {bundle_id} is used by {pools} WorkSpaces Pool(s); change or delete them first."
            ),
            ));
        }
        tx.delete::<BundleRec>(&cx.scope, &bundle_id, b.rev);
        Ok(ws::DeleteWorkspaceBundleResult {})
    })
}

pub fn describe_bundle_associations(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeBundleAssociationsRequest,
) -> Result<ws::DescribeBundleAssociationsResult, Error> {
    if input.associated_resource_types.is_empty() {
        return Err(invalid(
            "AssociatedResourceTypes must name at least one resource type.",
        ));
    }
    if resolve_bundle(svc, &cx.scope, &input.bundle_id)?.is_none()
        && svc.load::<BundleRec>(&cx.scope, &input.bundle_id)?.is_none()
    {
        return Err(bundle_not_found(&input.bundle_id));
    }
    // Applications are the only associated resource type, and no application can be
    // associated with a bundle in this build: the list is truthfully empty.
    Ok(ws::DescribeBundleAssociationsResult {
        associations: Some(Vec::new()),
    })
}
