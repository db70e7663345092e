//! Tags on any taggable resource: CreateTags (upsert by key), DeleteTags, DescribeTags.
//!
//! The resource kind comes from the id's prefix. Kinds that this build does not store yet
//! (WorkSpaces, directories, images, bundles, aliases, pools) cannot exist, so their ids
//! are answered like any other missing resource: `ResourceNotFoundException`.

use super::ip_groups::IpGroup;
use super::records::{merge_tags, not_found, Taggable};
use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, Error, Tag};
use localspaces_store::Expect;

/// Loads the taggable resource `id`, applies `f` to its tags and stores it when `write`.
fn with_tags<R: Taggable>(
    svc: &Service,
    cx: &Context,
    id: &str,
    write: bool,
    f: impl Fn(&mut Vec<super::records::StoredTag>) -> Result<(), Error>,
) -> Result<Vec<Tag>, Error> {
    // Another process (a replica on the same store) may write the resource between the
    // read and the commit: read again and retry a few times before giving up.
    const ATTEMPTS: u64 = 16;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            // Let the winner's commit through before reading again (jitter-free is enough:
            // the store serializes commits).
            std::thread::sleep(std::time::Duration::from_micros(200 * attempt));
        }
        let _w = if write { Some(svc.write.lock()) } else { None };
        let mut r = svc
            .load::<R>(&cx.scope, id)?
            .ok_or_else(|| not_found("resource", id))?;
        f(r.rec.tags_mut())?;
        if write {
            let mut raced = false;
            svc.commit(vec![Service::put(&cx.scope, &r.rec, Expect::Rev(r.rev))?], || {
                raced = true;
                Error::new(
                    ws::ErrorCode::InvalidParameterValuesException,
                    "The resource was modified meanwhile. Try again.",
                )
            })
            .or_else(|e| {
                if raced && attempt < ATTEMPTS {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            if raced {
                continue;
            }
        }
        return Ok(r.rec.tags().iter().map(|t| t.to_wire()).collect());
    }
}

fn dispatch(
    svc: &Service,
    cx: &Context,
    id: &str,
    write: bool,
    f: impl Fn(&mut Vec<super::records::StoredTag>) -> Result<(), Error>,
) -> Result<Vec<Tag>, Error> {
    if id.starts_with("wsipg-") {
        with_tags::<IpGroup>(svc, cx, id, write, f)
    } else if id.starts_with("wspool-") {
        with_tags::<super::pools::PoolRec>(svc, cx, id, write, f)
    } else if id.starts_with("ws-") {
        with_tags::<super::workspaces::WorkspaceRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsca-") {
        with_tags::<super::connection_aliases::AliasRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsi-") {
        with_tags::<super::images::ImageRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsb-") {
        // Public (AMAZON) bundles are not records: they cannot be tagged (spec §4, inferred).
        with_tags::<super::bundles::BundleRec>(svc, cx, id, write, f)
    } else if id.starts_with("d-") || id.starts_with("wsd-") {
        with_tags::<super::directories::WsDirectory>(svc, cx, id, write, f)
    } else {
        Err(not_found("resource", id))
    }
}

pub fn create_tags(
    svc: &Service,
    cx: &Context,
    input: ws::CreateTagsRequest,
) -> Result<ws::CreateTagsResult, Error> {
    let limit = svc.limits.tags_per_resource;
    dispatch(svc, cx, &input.resource_id, true, |tags| {
        merge_tags(tags, &input.tags, limit)
    })?;
    Ok(ws::CreateTagsResult {})
}

pub fn delete_tags(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteTagsRequest,
) -> Result<ws::DeleteTagsResult, Error> {
    dispatch(svc, cx, &input.resource_id, true, |tags| {
        tags.retain(|t| !input.tag_keys.contains(&t.key));
        Ok(())
    })?;
    Ok(ws::DeleteTagsResult {})
}

pub fn describe_tags(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeTagsRequest,
) -> Result<ws::DescribeTagsResult, Error> {
    let tags = dispatch(svc, cx, &input.resource_id, false, |_| Ok(()))?;
    Ok(ws::DescribeTagsResult { tag_list: Some(tags) })
}
