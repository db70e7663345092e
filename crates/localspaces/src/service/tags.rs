//! Tags on any taggable resource: CreateTags (upsert by key), DeleteTags, DescribeTags.
//!
//! The resource kind comes from the id's prefix; an id of no known kind, or of a resource
//! that does not exist, is answered `ResourceNotFoundException`.

use super::tables::bundles::BundleRec;
use super::tables::connection_aliases::AliasRec;
use super::tables::directories::WsDirectory;
use super::tables::images::ImageRec;
use super::tables::ip_groups::IpGroup;
use super::tables::pools::PoolRec;
use super::tables::workspaces::WorkspaceRec;
use super::tables::{merge_tags, not_found, Conflict, Context, Service, StoredTag, Taggable};
use localspaces_api::workspaces::{self as ws, Error, Tag};
use localspaces_store::Expect;

/// Loads the taggable resource `id`, applies `f` to its tags and stores it when `write`.
fn with_tags<R: Taggable>(
    svc: &Service,
    cx: &Context,
    id: &str,
    write: bool,
    f: impl Fn(&mut Vec<StoredTag>) -> Result<(), Error>,
) -> Result<Vec<Tag>, Error> {
    let load = || {
        svc.load::<R>(&cx.scope, id)?
            .ok_or_else(|| not_found("resource", id))
    };
    if !write {
        let mut r = load()?;
        f(r.rec.tags_mut())?;
        return Ok(r.rec.tags().iter().map(|t| t.to_wire()).collect());
    }
    // Another replica on the same store may write the resource between the read and the
    // commit: the change is redone on the new state.
    svc.write_retrying(Conflict::Changed("resource"), |tx| {
        let mut r = load()?;
        f(r.rec.tags_mut())?;
        tx.put(&cx.scope, &r.rec, Expect::Rev(r.rev))?;
        Ok(r.rec.tags().iter().map(|t| t.to_wire()).collect())
    })
}

fn dispatch(
    svc: &Service,
    cx: &Context,
    id: &str,
    write: bool,
    f: impl Fn(&mut Vec<StoredTag>) -> Result<(), Error>,
) -> Result<Vec<Tag>, Error> {
    if id.starts_with("wsipg-") {
        with_tags::<IpGroup>(svc, cx, id, write, f)
    } else if id.starts_with("wspool-") {
        with_tags::<PoolRec>(svc, cx, id, write, f)
    } else if id.starts_with("ws-") {
        with_tags::<WorkspaceRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsca-") {
        with_tags::<AliasRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsi-") {
        with_tags::<ImageRec>(svc, cx, id, write, f)
    } else if id.starts_with("wsb-") {
        // Public (AMAZON) bundles are not records: they cannot be tagged (inferred).
        with_tags::<BundleRec>(svc, cx, id, write, f)
    } else if id.starts_with("d-") || id.starts_with("wsd-") {
        with_tags::<WsDirectory>(svc, cx, id, write, f)
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
