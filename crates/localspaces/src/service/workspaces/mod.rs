//! WorkSpaces: CreateWorkspaces, DescribeWorkspaces, the batch actions (start, stop, reboot,
//! rebuild, terminate), ModifyWorkspaceProperties/State and connection status.
//!
//! States follow WorkSpaces' transition table: a call writes the transitional state and
//! a pending transition in one commit; the engine later writes the end state. Batch actions
//! report per-item failures in `FailedRequests` (codes follow WorkSpaces' `Category.Resource`
//! style; AWS's exact strings for these are unconfirmed).

mod actions;
mod create;
mod desktops;
mod properties;
mod snapshots;
mod standby;
mod transitions;

pub use actions::{
    reboot_workspaces, rebuild_workspaces, start_workspaces, stop_workspaces, terminate_workspaces,
};
pub use create::create_workspaces;
pub(crate) use desktops::applies_here;
pub use properties::{modify_workspace_properties, modify_workspace_state};
pub(crate) use transitions::apply_transition;

pub(crate) use snapshots::apply_transition as apply_migration;
pub use snapshots::{describe_workspace_snapshots, migrate_workspace, restore_workspace};
pub use standby::create_standby_workspaces;

use super::tables::account::is_core_account;
use super::tables::bundles::resolve_bundle;
use super::tables::directories::directory_view;
use super::tables::ids::new_id;
use super::tables::workspaces::{
    arm_auto_stop, auto_stop_at, owner_key, state_changed, state_of, user_key, WorkspaceRec, BUNDLE_INDEX,
    DIRECTORY_INDEX, NAME_INDEX, UNDEFINED_USER, USER_INDEX, WORKSPACE_KIND,
};
use super::tables::{
    invalid, new_tags, not_found, pagination, Conflict, Context, Fault, Service, Stored, Tx,
};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// The lost race of a change to a WorkSpace.
const CHANGED: Conflict = Conflict::Changed("WorkSpace");

/// Checks volume sizes against the allowed (root, user) groups: [80, 10], [80, 50], [80, 100],
/// [175..2000, 100..2000] (doc).
fn volumes_allowed(root: i32, user: i32) -> bool {
    matches!((root, user), (80, 10) | (80, 50) | (80, 100))
        || ((175..=2000).contains(&root) && (100..=2000).contains(&user))
}

/// Running mode MANUAL is for WorkSpaces Core accounts only.
fn check_manual_allowed(svc: &Service, scope: &Scope, mode: ws::RunningMode) -> Result<(), Error> {
    if mode == ws::RunningMode::Manual && !is_core_account(svc, scope)? {
        return Err(invalid(
            "Running mode MANUAL is only available to Amazon WorkSpaces Core accounts.",
        ));
    }
    Ok(())
}

/// Validates running mode and auto-stop timeout; returns the item error code on failure.
fn check_running_mode(
    mode: ws::RunningMode,
    timeout: Option<i32>,
) -> Result<Option<i32>, (&'static str, String)> {
    match mode {
        ws::RunningMode::AlwaysOn => match timeout {
            Some(_) => Err((
                "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to ALWAYS_ON."
                    .to_string(),
            )),
            None => Ok(None),
        },
        ws::RunningMode::Manual => match timeout {
            Some(_) => Err((
                "AutoStopTimeoutIsNotDefaultForManualWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to MANUAL."
                    .to_string(),
            )),
            None => Ok(None),
        },
        ws::RunningMode::AutoStop => {
            let t = timeout.unwrap_or(60);
            if t <= 0 || t % 60 != 0 || t > 48 * 60 {
                return Err((
                    "InvalidParameterValuesException",
                    format!("RunningModeAutoStopTimeoutInMinutes must be a multiple of 60 between 60 and 2880, got {t}."),
                ));
            }
            Ok(Some(t))
        }
    }
}

pub fn describe_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesRequest,
) -> Result<ws::DescribeWorkspacesResult, Error> {
    const OP: &str = "DescribeWorkspaces";
    let limit = input.limit.map_or(25, |n| n as usize);
    let ids = input.workspace_ids.unwrap_or_default();
    let filters = [
        !ids.is_empty(),
        input.directory_id.is_some(),
        input.bundle_id.is_some(),
        input.workspace_name.is_some(),
    ];
    if filters.iter().filter(|f| **f).count() > 1 {
        return Err(invalid(
            "Use only one of WorkspaceIds, DirectoryId (with an optional UserName), BundleId or WorkspaceName.",
        ));
    }
    if input.user_name.is_some() && input.directory_id.is_none() {
        return Err(invalid("UserName can only be used together with DirectoryId."));
    }
    let others: Vec<String> = input
        .directory_id
        .iter()
        .map(|d| format!("d={d}"))
        .chain(input.user_name.iter().map(|u| format!("u={}", u.to_lowercase())))
        .chain(input.bundle_id.iter().map(|b| format!("b={b}")))
        .chain(input.workspace_name.iter().map(|n| format!("n={n}")))
        .collect();
    let filter = pagination::fingerprint(ids.iter().chain(&others).map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let index = match (
        &input.directory_id,
        &input.user_name,
        &input.bundle_id,
        &input.workspace_name,
    ) {
        (Some(d), Some(u), _, _) => Some(IndexEntry {
            name: USER_INDEX.into(),
            key: user_key(d, u),
        }),
        (Some(d), None, _, _) => Some(IndexEntry {
            name: DIRECTORY_INDEX.into(),
            key: d.clone(),
        }),
        (_, _, Some(b), _) => Some(IndexEntry {
            name: BUNDLE_INDEX.into(),
            key: b.clone(),
        }),
        (_, _, _, Some(n)) => Some(IndexEntry {
            name: NAME_INDEX.into(),
            key: n.clone(),
        }),
        _ => None,
    };
    let mut found = if ids.is_empty() {
        svc.scan::<WorkspaceRec>(&cx.scope, index, after, Some(limit + 1))?
            .into_iter()
            .map(|w| Stored {
                rec: std::sync::Arc::new(w.rec),
                rev: w.rev,
                seq: w.seq,
            })
            .collect()
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many_shared::<WorkspaceRec>(&cx.scope, &refs)?;
        got.sort_by_key(|w| w.seq);
        got.dedup_by_key(|w| w.seq);
        got.retain(|w| after.is_none_or(|a| w.seq > a));
        got.truncate(limit + 1);
        got
    };
    let next_token = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|w| pagination::encode(OP, filter, w.seq))
    } else {
        None
    };
    Ok(ws::DescribeWorkspacesResult {
        workspaces: Some(
            found
                .iter()
                .map(|w| standby::with_related_states(svc, &cx.scope, w.rec.to_wire()))
                .collect(),
        ),
        next_token,
    })
}

pub fn describe_workspaces_connection_status(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesConnectionStatusRequest,
) -> Result<ws::DescribeWorkspacesConnectionStatusResult, Error> {
    const OP: &str = "DescribeWorkspacesConnectionStatus";
    const PAGE: usize = 25;
    let ids = input.workspace_ids.unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let mut found = if ids.is_empty() {
        svc.scan::<WorkspaceRec>(&cx.scope, None, after, Some(PAGE + 1))?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many::<WorkspaceRec>(&cx.scope, &refs)?;
        got.sort_by_key(|w| w.seq);
        got.dedup_by_key(|w| w.seq);
        got.retain(|w| after.is_none_or(|a| w.seq > a));
        got
    };
    let next_token = if found.len() > PAGE {
        found.truncate(PAGE);
        found.last().map(|w| pagination::encode(OP, filter, w.seq))
    } else {
        None
    };
    let now = svc.clock.now();
    let list = found
        .iter()
        .map(|w| ws::WorkspaceConnectionStatus {
            workspace_id: Some(w.rec.id.clone()),
            // Only a running WorkSpace has a known connection state (inferred).
            connection_state: Some(match (w.rec.state(), w.rec.connected) {
                (ws::WorkspaceState::Available, true) => ws::ConnectionState::Connected,
                (ws::WorkspaceState::Available, false) => ws::ConnectionState::Disconnected,
                _ => ws::ConnectionState::Unknown,
            }),
            connection_state_check_timestamp: Some(now),
            last_known_user_connection_timestamp: w.rec.last_connection,
        })
        .collect();
    Ok(ws::DescribeWorkspacesConnectionStatusResult {
        workspaces_connection_status: Some(list),
        next_token,
    })
}

// ---------------------------------------------------------------- image capture (images.rs)

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_groups() {
        assert!(
            volumes_allowed(80, 10)
                && volumes_allowed(80, 100)
                && volumes_allowed(175, 100)
                && volumes_allowed(2000, 2000)
        );
        assert!(
            !volumes_allowed(80, 20)
                && !volumes_allowed(100, 100)
                && !volumes_allowed(175, 50)
                && !volumes_allowed(2001, 100)
        );
    }

    #[test]
    fn running_mode_rules() {
        assert!(check_running_mode(ws::RunningMode::AlwaysOn, Some(60)).is_err());
        assert_eq!(
            check_running_mode(ws::RunningMode::AutoStop, None).unwrap(),
            Some(60)
        );
        assert!(check_running_mode(ws::RunningMode::AutoStop, Some(90)).is_err());
        assert!(check_running_mode(ws::RunningMode::Manual, Some(60)).is_err());
    }
}
