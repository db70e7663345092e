//! CreateWorkspaces: per-item validation and failures, the quota, one commit for the batch.

use super::*;
use localspaces_store::Write;

pub fn create_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspacesRequest,
) -> Result<ws::CreateWorkspacesResult, Error> {
    let now = svc.clock.now();
    let mut failed_requests = Vec::new();
    let mut created: Vec<WorkspaceRec> = Vec::new();
    // Another process may take a user or the last slots of the quota between the checks and
    // the commit.
    let race = || match svc.count::<WorkspaceRec>(&cx.scope, None) {
        Ok(n) if n >= svc.limits.workspaces => Conflict::Quota(format!(
            "Your request would exceed the WorkSpaces quota of {} in this Region.",
            svc.limits.workspaces
        )),
        _ => Conflict::Exists("A WorkSpace for one of these users was created meanwhile.".into()),
    };
    let committed = svc.write(race, |tx| {
        for req in input.workspaces {
            // desktop seam: each new WorkSpace needs a desktop slot.
            let built =
                build_workspace(svc, cx, &req, &created, now).and_then(|w| desktops::hold(svc, &cx.scope, w));
            match built {
                Ok(w) => created.push(w),
                Err((code, message)) => failed_requests.push(ws::FailedCreateWorkspaceRequest {
                    workspace_request: Some(req),
                    error_code: Some(code.to_string()),
                    error_message: Some(message),
                }),
            }
        }
        let existing = svc.count::<WorkspaceRec>(&cx.scope, None)?;
        if existing + created.len() as u64 > svc.limits.workspaces {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!(
                    "Your request would exceed the WorkSpaces quota of {} in this Region ({existing} exist).",
                    svc.limits.workspaces
                ),
            ));
        }
        for w in &created {
            tx.put(&cx.scope, w, Expect::Absent)?;
            tx.transition(&cx.scope, TransitionKind::WorkspaceCreate, WORKSPACE_KIND, &w.id)?;
        }
        if !created.is_empty() {
            // The quota is checked again in the commit: another process may create meanwhile.
            tx.push(Write::AtMost {
                scope: cx.scope.clone(),
                kind: WORKSPACE_KIND.to_string(),
                max: svc.limits.workspaces,
            });
        }
        Ok::<_, Error>(())
    });
    // desktop seam: slots held for WorkSpaces not created go back; the others start work.
    let ids = created.iter().map(|w| w.id.as_str());
    match committed {
        Ok(()) => desktops::kickoff(svc, &cx.scope, ids),
        Err(e) => {
            desktops::release(svc, &cx.scope, ids);
            return Err(e);
        }
    }
    let pending_requests = created.iter().map(WorkspaceRec::to_wire).collect();
    Ok(ws::CreateWorkspacesResult {
        failed_requests: Some(failed_requests),
        pending_requests: Some(pending_requests),
    })
}

/// Validates one WorkspaceRequest and builds the PENDING record, or the item's error.
fn build_workspace(
    svc: &Service,
    cx: &Context,
    req: &ws::WorkspaceRequest,
    batch: &[WorkspaceRec],
    now: f64,
) -> Result<WorkspaceRec, (&'static str, String)> {
    let internal = |f: Fault| ("InternalFailure", Error::from(f).message);
    let dir = directory_view(svc, &cx.scope, &req.directory_id).map_err(internal)?;
    let Some(dir) = dir.filter(|d| d.state == ws::WorkspaceDirectoryState::Registered) else {
        return Err((
            "ResourceNotFound.Directory",
            "The specified directory could not be found in the specified region.".into(),
        ));
    };
    // Personal WorkSpaces need a PERSONAL directory; POOLS directories serve pools only.
    if dir.workspace_type == Some(ws::WorkspaceType::Pools) {
        return Err((
            "InvalidResourceState.Directory",
            "The specified directory is a WorkSpaces Pools directory; WorkSpaces can only be created in a PERSONAL directory."
                .into(),
        ));
    }
    // A WorkSpace without a user (UserName [UNDEFINED]) is known by its WorkspaceName; a
    // WorkSpace with a user has none.
    let decoupled = req.user_name == UNDEFINED_USER;
    match (&req.workspace_name, decoupled) {
        (None, true) => {
            return Err((
                "InvalidParameterValuesException",
                "WorkspaceName is required when UserName is [UNDEFINED].".into(),
            ))
        }
        (Some(_), false) => {
            return Err((
                "InvalidParameterValuesException",
                "WorkspaceName can only be given for a WorkSpace without a user (UserName [UNDEFINED])."
                    .into(),
            ))
        }
        _ => {}
    }
    // Public bundles and the account's custom bundles.
    let Some(bundle) = resolve_bundle(svc, &cx.scope, &req.bundle_id).map_err(internal)? else {
        return Err((
            "ResourceNotFound.Bundle",
            "The specified bundle could not be found in the specified region.".into(),
        ));
    };
    let key = owner_key(&req.directory_id, &req.user_name, req.workspace_name.as_deref());
    let exists = svc
        .count::<WorkspaceRec>(
            &cx.scope,
            Some(IndexEntry {
                name: USER_INDEX.into(),
                key: key.clone(),
            }),
        )
        .map_err(internal)?;
    if exists > 0
        || batch
            .iter()
            .any(|w| owner_key(&w.directory_id, &w.user_name, w.workspace_name.as_deref()) == key)
    {
        return Err((
            "ResourceExists.WorkSpace",
            if decoupled {
                "A WorkSpace with the specified WorkspaceName already exists in this directory.".into()
            } else {
                "A WorkSpace already exists for the specified user.".into()
            },
        ));
    }
    let props = req.workspace_properties.clone().unwrap_or_default();
    let mode = props.running_mode.unwrap_or(ws::RunningMode::AlwaysOn);
    let auto_stop = check_running_mode(mode, props.running_mode_auto_stop_timeout_in_minutes)?;
    check_manual_allowed(svc, &cx.scope, mode).map_err(|e| ("InvalidParameterValuesException", e.message))?;
    let root = props.root_volume_size_gib.unwrap_or(bundle.root_gib);
    let user = props.user_volume_size_gib.unwrap_or(bundle.user_gib);
    // The bundle gives the defaults; any allowed group may be chosen at launch (Terraform's
    // provider sends 80/10 unless told otherwise).
    if !volumes_allowed(root, user) {
        return Err((
            "InvalidParameterValuesException",
            format!("The volume sizes root {root} GiB / user {user} GiB are not supported for this bundle."),
        ));
    }
    let tags = new_tags(req.tags.as_deref(), svc.limits.tags_per_resource)
        .map_err(|e| (localspaces_api::error::ErrorTable::name(e.code), e.message))?;
    let protocols = match &props.protocols {
        Some(p) if !p.is_empty() => p.iter().map(|x| x.as_str().to_string()).collect(),
        _ => vec![bundle.protocol.as_str().to_string()],
    };
    let id = new_id("ws-", 9);
    let subnets = &dir.subnet_ids;
    let subnet_id = if subnets.is_empty() {
        String::new()
    } else {
        subnets[(pagination::fingerprint([id.as_str()]) as usize) % subnets.len()].clone()
    };
    Ok(WorkspaceRec {
        id,
        directory_id: req.directory_id.clone(),
        user_name: req.user_name.clone(),
        bundle_id: req.bundle_id.clone(),
        state: ws::WorkspaceState::Pending.as_str().to_string(),
        running_mode: mode.as_str().to_string(),
        auto_stop_minutes: auto_stop,
        root_gib: root,
        user_gib: user,
        compute: props
            .compute_type_name
            .unwrap_or(bundle.compute)
            .as_str()
            .to_string(),
        protocols,
        os: bundle.os.as_str().to_string(),
        subnet_id,
        ip_address: None,
        computer_name: None,
        workspace_name: req.workspace_name.clone(),
        volume_encryption_key: req.volume_encryption_key.clone(),
        root_encrypted: req.root_volume_encryption_enabled.unwrap_or(false),
        user_encrypted: req.user_volume_encryption_enabled.unwrap_or(false),
        tags,
        created: now,
        last_volume_change: None,
        last_compute_change: None,
        prior_state: None,
        modifying: None,
        connected: false,
        last_connection: None,
        error_code: None,
        error_message: None,
        snapshots: Vec::new(),
        healthy_since: None,
        migrating_to: None,
        related: Vec::new(),
        data_replication: None,
        desktop_replica: None,
    })
}
