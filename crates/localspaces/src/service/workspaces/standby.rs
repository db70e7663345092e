//! Standby WorkSpaces (Multi-Region Resilience): CreateStandbyWorkspaces, called
//! in the secondary Region for primaries in `PrimaryRegion` of the same account. Each standby
//! is created through the same path as CreateWorkspaces (same user, a directory registered in
//! this Region, the primary's bundle — AWS uses a STANDBY variant of it, inferred), then both
//! WorkSpaces record the relationship, shown in DescribeWorkspaces as `RelatedWorkspaces`
//! (with the other WorkSpace's current state), `DataReplicationSettings` and, on the primary,
//! `StandbyWorkspacesProperties`.

use crate::service::tables::workspaces::{Related, WorkspaceRec, STANDBY_INDEX};
use crate::service::tables::{not_found, Conflict, Context, Service, Stored};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// Standby WorkSpaces per account and Region (newer docs: 5).
const STANDBY_QUOTA: u64 = 5;

/// Fills in the current state of each related WorkSpace (it lives in another Region).
pub(crate) fn with_related_states(svc: &Service, scope: &Scope, mut w: ws::Workspace) -> ws::Workspace {
    if let Some(list) = w.related_workspaces.as_mut() {
        for r in list.iter_mut() {
            let (Some(region), Some(id)) = (&r.region, &r.workspace_id) else {
                continue;
            };
            let other = Scope::new(scope.account.clone(), region.clone());
            r.state = svc
                .load::<WorkspaceRec>(&other, id)
                .ok()
                .flatten()
                .map(|o| ws::Workspace::from_rec_state(&o.rec));
        }
    }
    w
}

/// The wire state of a stored WorkSpace.
trait FromRecState {
    fn from_rec_state(w: &WorkspaceRec) -> ws::WorkspaceState;
}

impl FromRecState for ws::Workspace {
    fn from_rec_state(w: &WorkspaceRec) -> ws::WorkspaceState {
        ws::WorkspaceState::from_wire(&w.state).unwrap_or(ws::WorkspaceState::Error)
    }
}

fn failed(
    item: &ws::StandbyWorkspace,
    code: &str,
    message: String,
) -> ws::FailedCreateStandbyWorkspacesRequest {
    ws::FailedCreateStandbyWorkspacesRequest {
        error_code: Some(code.to_string()),
        error_message: Some(message),
        standby_workspace_request: Some(item.clone()),
    }
}

pub fn create_standby_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::CreateStandbyWorkspacesRequest,
) -> Result<ws::CreateStandbyWorkspacesResult, Error> {
    let primary_region = input.primary_region;
    if primary_region == cx.scope.region {
        return Err(Error::new(
            ErrorCode::InvalidParameterValuesException,
            "The standby Region must differ from PrimaryRegion: call CreateStandbyWorkspaces in the standby Region.",
        ));
    }
    if input.standby_workspaces.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidParameterValuesException,
            "StandbyWorkspaces must list at least one WorkSpace.",
        ));
    }
    let standby_index = || IndexEntry {
        name: STANDBY_INDEX.into(),
        key: "standby".into(),
    };
    let existing = svc.count::<WorkspaceRec>(&cx.scope, Some(standby_index()))?;
    if existing + input.standby_workspaces.len() as u64 > STANDBY_QUOTA {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!("An account can have at most {STANDBY_QUOTA} standby WorkSpaces per Region."),
        ));
    }
    let primary_scope = Scope::new(cx.scope.account.clone(), primary_region.clone());
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for item in &input.standby_workspaces {
        let Some(primary) = svc.load::<WorkspaceRec>(&primary_scope, &item.primary_workspace_id)? else {
            failures.push(failed(
                item,
                "ResourceNotFound.Workspace",
                format!(
                    "The primary WorkSpace {} could not be found in {primary_region}.",
                    item.primary_workspace_id
                ),
            ));
            continue;
        };
        if primary.rec.related.iter().any(|r| r.kind == "STANDBY") {
            failures.push(failed(
                item,
                "ResourceExists.StandbyWorkspace",
                format!(
                    "The WorkSpace {} already has a standby WorkSpace.",
                    primary.rec.id
                ),
            ));
            continue;
        }
        // Created like any WorkSpace of this Region: the same per-item checks and codes.
        let out = super::create_workspaces(
            svc,
            cx,
            ws::CreateWorkspacesRequest {
                workspaces: vec![ws::WorkspaceRequest {
                    bundle_id: primary.rec.bundle_id.clone(),
                    directory_id: item.directory_id.clone(),
                    user_name: primary.rec.user_name.clone(),
                    tags: item.tags.clone(),
                    volume_encryption_key: item.volume_encryption_key.clone(),
                    root_volume_encryption_enabled: item.volume_encryption_key.as_ref().map(|_| true),
                    user_volume_encryption_enabled: item.volume_encryption_key.as_ref().map(|_| true),
                    workspace_properties: Some(ws::WorkspaceProperties {
                        running_mode: ws::RunningMode::from_wire(&primary.rec.running_mode),
                        running_mode_auto_stop_timeout_in_minutes: primary.rec.auto_stop_minutes,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            },
        )?;
        if let Some(f) = out.failed_requests.unwrap_or_default().into_iter().next() {
            failures.push(failed(
                item,
                f.error_code
                    .as_deref()
                    .unwrap_or("InvalidParameterValuesException"),
                f.error_message.unwrap_or_default(),
            ));
            continue;
        }
        let Some(created) = out.pending_requests.unwrap_or_default().into_iter().next() else {
            continue;
        };
        let standby_id = created.workspace_id.clone().unwrap_or_default();
        link(
            svc,
            cx,
            &primary_scope,
            &primary,
            &standby_id,
            item.data_replication,
        )?;
        pending.push(ws::PendingCreateStandbyWorkspacesRequest {
            directory_id: Some(item.directory_id.clone()),
            state: created.state,
            user_name: created.user_name,
            workspace_id: Some(standby_id),
        });
    }
    Ok(ws::CreateStandbyWorkspacesResult {
        failed_standby_requests: Some(failures),
        pending_standby_requests: Some(pending),
    })
}

/// Records the relationship on both WorkSpaces in one commit.
fn link(
    svc: &Service,
    cx: &Context,
    primary_scope: &Scope,
    primary: &Stored<WorkspaceRec>,
    standby_id: &str,
    replication: Option<ws::DataReplication>,
) -> Result<(), Error> {
    let replication = replication
        .unwrap_or(ws::DataReplication::NoReplication)
        .as_str()
        .to_string();
    svc.write(Conflict::Changed("WorkSpace"), |tx| {
        let mut p = svc
            .load::<WorkspaceRec>(primary_scope, &primary.rec.id)?
            .ok_or_else(|| not_found("WorkSpace", &primary.rec.id))?;
        let mut s = svc
            .load::<WorkspaceRec>(&cx.scope, standby_id)?
            .ok_or_else(|| not_found("WorkSpace", standby_id))?;
        p.rec.related.push(Related {
            id: standby_id.to_string(),
            region: cx.scope.region.clone(),
            kind: "STANDBY".into(),
        });
        p.rec.data_replication = Some(replication.clone());
        s.rec.related.push(Related {
            id: p.rec.id.clone(),
            region: primary_scope.region.clone(),
            kind: "PRIMARY".into(),
        });
        s.rec.data_replication = Some(replication);
        tx.put(primary_scope, &p.rec, Expect::Rev(p.rev))?;
        tx.put(&cx.scope, &s.rec, Expect::Rev(s.rev))?;
        Ok(())
    })
}

/// ModifyWorkspaceProperties with `DataReplication` (and no other property): changes the
/// setting of a primary that has a standby, on both WorkSpaces.
pub(crate) fn set_data_replication(
    svc: &Service,
    cx: &Context,
    id: &str,
    d: ws::DataReplication,
) -> Result<(), Error> {
    svc.write(Conflict::Changed("WorkSpace"), |tx| {
        let mut p = svc
            .load::<WorkspaceRec>(&cx.scope, id)?
            .ok_or_else(|| not_found("WorkSpace", id))?;
        let Some(rel) = p.rec.related.iter().find(|r| r.kind == "STANDBY").cloned() else {
            // The model's errors for ModifyWorkspaceProperties: this configuration is unsupported.
            return Err(Error::new(
                ErrorCode::UnsupportedWorkspaceConfigurationException,
                format!("Data replication applies to a primary WorkSpace with a standby; {id} has none."),
            ));
        };
        let value = d.as_str().to_string();
        p.rec.data_replication = Some(value.clone());
        tx.put(&cx.scope, &p.rec, Expect::Rev(p.rev))?;
        let other = Scope::new(cx.scope.account.clone(), rel.region);
        if let Some(mut s) = svc.load::<WorkspaceRec>(&other, &rel.id)? {
            s.rec.data_replication = Some(value);
            tx.put(&other, &s.rec, Expect::Rev(s.rev))?;
        }
        Ok(())
    })
}
