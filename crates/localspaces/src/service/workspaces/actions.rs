//! The batch actions (StartWorkspaces, StopWorkspaces, RebootWorkspaces, RebuildWorkspaces,
//! TerminateWorkspaces): per-item failures, one commit for the rest.

use super::*;

fn failed(id: &str, code: &str, message: &str) -> ws::FailedWorkspaceChangeRequest {
    ws::FailedWorkspaceChangeRequest {
        workspace_id: Some(id.to_string()),
        error_code: Some(code.to_string()),
        error_message: Some(message.to_string()),
    }
}

fn not_found_item(id: &str) -> ws::FailedWorkspaceChangeRequest {
    failed(
        id,
        "ResourceNotFound.Workspace",
        "The specified WorkSpace cannot be found. Confirm that the workspace exists in your AWS account, and try again.",
    )
}

fn bad_state_item(id: &str) -> ws::FailedWorkspaceChangeRequest {
    failed(
        id,
        "InvalidResourceState.Workspace",
        "The specified WorkSpace has an invalid state for this operation.",
    )
}

/// What a batch action does to one WorkSpace: the transitional state and its transition, or
/// `None` when the WorkSpace's state does not allow the action.
type Action = fn(&WorkspaceRec) -> Option<(ws::WorkspaceState, TransitionKind)>;

/// Runs a batch action over `ids`: per-item failures, one commit for the rest.
fn batch(
    svc: &Service,
    cx: &Context,
    ids: Vec<String>,
    action: Action,
) -> Result<Vec<ws::FailedWorkspaceChangeRequest>, Error> {
    let mut failures = Vec::new();
    let mut moved: Vec<&str> = Vec::new();
    svc.write(CHANGED, |tx| {
        let mut seen: Vec<&str> = Vec::new();
        for id in &ids {
            if seen.contains(&id.as_str()) {
                // The same WorkSpace twice in one call: the repeat fails.
                failures.push(bad_state_item(id));
                continue;
            }
            seen.push(id);
            let Some(mut w) = svc.load::<WorkspaceRec>(&cx.scope, id)? else {
                failures.push(not_found_item(id));
                continue;
            };
            if let Some(replica) = desktops::lost_owner(svc, &w.rec) {
                let terminate = action(&w.rec).is_some_and(|(_, k)| k == TransitionKind::WorkspaceTerminate);
                if !terminate {
                    // Its volumes are on a dead replica's disk: nothing can act on them here.
                    failures.push(failed(
                        id,
                        "ResourceUnavailableException",
                        &desktops::lost_message(id, &replica),
                    ));
                    continue;
                }
                // Terminating needs no volume: this replica takes the WorkSpace and ends it;
                // the dead replica deletes the volumes when it is back (the record is gone).
                w.rec.desktop_replica = svc.replica_id().map(str::to_string);
            }
            let Some((state, kind)) = action(&w.rec) else {
                failures.push(bad_state_item(id));
                continue;
            };
            if kind == TransitionKind::WorkspaceTerminate
                && matches!(
                    w.rec.state(),
                    ws::WorkspaceState::Terminating | ws::WorkspaceState::Terminated
                )
            {
                // Already on its way out: terminating again succeeds and changes nothing
                // (terminate is allowed in every state but SUSPENDED).
                continue;
            }
            w.rec.set_state(state);
            if kind == TransitionKind::WorkspaceTerminate {
                w.rec.modifying = None;
            }
            tx.put(&cx.scope, &w.rec, Expect::Rev(w.rev))?;
            tx.transition(&cx.scope, kind, WORKSPACE_KIND, id)?;
            moved.push(id);
        }
        Ok::<_, Error>(())
    })?;
    desktops::kickoff(svc, &cx.scope, moved); // desktop seam
    Ok(failures)
}

/// The ids of batch items, and a failure for each item that has none (the model makes
/// `WorkspaceId` optional there; such an item is reported, never dropped).
fn with_ids(
    items: impl Iterator<Item = Option<String>>,
) -> (Vec<String>, Vec<ws::FailedWorkspaceChangeRequest>) {
    let mut ids = Vec::new();
    let mut failed = Vec::new();
    for id in items {
        match id {
            Some(id) => ids.push(id),
            None => failed.push(ws::FailedWorkspaceChangeRequest {
                workspace_id: None,
                error_code: Some("InvalidParameterValuesException".to_string()),
                error_message: Some("WorkspaceId is required.".to_string()),
            }),
        }
    }
    (ids, failed)
}

fn stoppable_mode(w: &WorkspaceRec) -> bool {
    matches!(
        w.running_mode(),
        ws::RunningMode::AutoStop | ws::RunningMode::Manual
    )
}

pub fn start_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StartWorkspacesRequest,
) -> Result<ws::StartWorkspacesResult, Error> {
    let (ids, mut failed) = with_ids(input.start_workspace_requests.into_iter().map(|r| r.workspace_id));
    // desktop seam: a WorkSpace starts only with a desktop slot.
    let (ids, slots) = desktops::reserve_starts(svc, &cx.scope, ids)?;
    let started = batch(svc, cx, ids, |w| {
        (w.state() == ws::WorkspaceState::Stopped && stoppable_mode(w))
            .then_some((ws::WorkspaceState::Starting, TransitionKind::WorkspaceStart))
    });
    failed.extend(slots.end(svc, &cx.scope, started)?);
    Ok(ws::StartWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn stop_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StopWorkspacesRequest,
) -> Result<ws::StopWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let (ids, mut failed) = with_ids(input.stop_workspace_requests.into_iter().map(|r| r.workspace_id));
    failed.extend(batch(svc, cx, ids, |w| {
        (matches!(w.state(), S::Available | S::Impaired | S::Unhealthy | S::Error) && stoppable_mode(w))
            .then_some((S::Stopping, TransitionKind::WorkspaceStop))
    })?);
    Ok(ws::StopWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn reboot_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebootWorkspacesRequest,
) -> Result<ws::RebootWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .reboot_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        matches!(
            w.state(),
            S::Available | S::Unhealthy | S::Impaired | S::Rebooting
        )
        .then_some((S::Rebooting, TransitionKind::WorkspaceReboot))
    })?;
    Ok(ws::RebootWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn rebuild_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebuildWorkspacesRequest,
) -> Result<ws::RebuildWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .rebuild_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        matches!(
            w.state(),
            S::Available | S::Error | S::Unhealthy | S::Stopped | S::Rebooting
        )
        .then_some((S::Rebuilding, TransitionKind::WorkspaceRebuild))
    })?;
    Ok(ws::RebuildWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn terminate_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::TerminateWorkspacesRequest,
) -> Result<ws::TerminateWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .terminate_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        (w.state() != S::Suspended).then_some((S::Terminating, TransitionKind::WorkspaceTerminate))
    })?;
    Ok(ws::TerminateWorkspacesResult {
        failed_requests: Some(failed),
    })
}
