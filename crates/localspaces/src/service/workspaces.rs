//! WorkSpaces: CreateWorkspaces, DescribeWorkspaces, the batch actions (start, stop, reboot,
//! rebuild, terminate), ModifyWorkspaceProperties/State and connection status.

use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, not_implemented, Error, Operation};

/// Store kind of WorkSpaces.
#[allow(dead_code)] // used by the directory family (issue 4)
pub(crate) const WORKSPACE_KIND: &str = "workspace";
/// Index on WorkSpace records: the directory id (DescribeWorkspaces by directory, and the
/// directory family's "no WorkSpaces left" check before deregistration).
#[allow(dead_code)] // used by the directory family (issue 4)
pub(crate) const DIRECTORY_INDEX: &str = "directory";

pub fn create_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspacesRequest,
) -> Result<ws::CreateWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::CreateWorkspaces))
}

pub fn describe_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesRequest,
) -> Result<ws::DescribeWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeWorkspaces))
}

pub fn start_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StartWorkspacesRequest,
) -> Result<ws::StartWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::StartWorkspaces))
}

pub fn stop_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StopWorkspacesRequest,
) -> Result<ws::StopWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::StopWorkspaces))
}

pub fn reboot_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebootWorkspacesRequest,
) -> Result<ws::RebootWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::RebootWorkspaces))
}

pub fn rebuild_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebuildWorkspacesRequest,
) -> Result<ws::RebuildWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::RebuildWorkspaces))
}

pub fn terminate_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::TerminateWorkspacesRequest,
) -> Result<ws::TerminateWorkspacesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::TerminateWorkspaces))
}

pub fn modify_workspace_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspacePropertiesRequest,
) -> Result<ws::ModifyWorkspacePropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyWorkspaceProperties))
}

pub fn modify_workspace_state(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceStateRequest,
) -> Result<ws::ModifyWorkspaceStateResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyWorkspaceState))
}

pub fn describe_workspaces_connection_status(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesConnectionStatusRequest,
) -> Result<ws::DescribeWorkspacesConnectionStatusResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeWorkspacesConnectionStatus))
}

/// Applies one due transition of this family's resources (called by the engine).
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &localspaces_store::Scope,
    t: &crate::engine::PendingTransition,
    now: f64,
) -> Result<super::lifecycle::Applied, localspaces_store::StoreError> {
    let _ = (svc, scope, now);
    tracing::warn!(kind = t.kind.name(), id = %t.resource_id, "transition not applied: family not implemented yet");
    Ok(super::lifecycle::Applied {
        writes: Vec::new(),
        next: None,
    })
}
