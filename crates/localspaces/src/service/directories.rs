//! WorkSpaces directories: registration (REGISTERING → REGISTERED, DEREGISTERING → gone),
//! DescribeWorkspaceDirectories, IP group association and the directory settings operations.

use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, not_implemented, Error, Operation};
use localspaces_store::Scope;

/// Store kind of WorkSpaces directory registrations (records carry one
/// [`super::ip_groups::IP_GROUP_INDEX`] entry per associated IP group).
#[allow(dead_code)] // used by the WorkSpaces family (issue 4)
pub(crate) const DIRECTORY_KIND: &str = super::ip_groups::DIRECTORY_KIND;

/// What other families (WorkSpaces, connection aliases, …) need to know about a
/// registered directory.
#[allow(dead_code)] // used by the WorkSpaces family (issue 4)
#[derive(Debug, Clone)]
pub(crate) struct DirectoryView {
    pub directory_id: String,
    pub state: ws::WorkspaceDirectoryState,
    pub directory_type: ws::WorkspaceDirectoryType,
    pub subnet_ids: Vec<String>,
    /// The directory's WorkSpace creation properties (ModifyWorkspaceCreationProperties).
    pub creation: ws::DefaultWorkspaceCreationProperties,
    /// DNS name of the directory, e.g. `corp.example.com`.
    pub directory_name: String,
}

/// The registration of directory `id` in `scope`, if any (in any state).
#[allow(dead_code)] // used by the WorkSpaces family (issue 4)
pub(crate) fn directory_view(svc: &Service, scope: &Scope, id: &str) -> Result<Option<DirectoryView>, Error> {
    let _ = (svc, scope, id);
    Ok(None)
}

pub fn register_workspace_directory(
    svc: &Service,
    cx: &Context,
    input: ws::RegisterWorkspaceDirectoryRequest,
) -> Result<ws::RegisterWorkspaceDirectoryResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::RegisterWorkspaceDirectory))
}

pub fn deregister_workspace_directory(
    svc: &Service,
    cx: &Context,
    input: ws::DeregisterWorkspaceDirectoryRequest,
) -> Result<ws::DeregisterWorkspaceDirectoryResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DeregisterWorkspaceDirectory))
}

pub fn describe_workspace_directories(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceDirectoriesRequest,
) -> Result<ws::DescribeWorkspaceDirectoriesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeWorkspaceDirectories))
}

pub fn associate_ip_groups(
    svc: &Service,
    cx: &Context,
    input: ws::AssociateIpGroupsRequest,
) -> Result<ws::AssociateIpGroupsResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::AssociateIpGroups))
}

pub fn disassociate_ip_groups(
    svc: &Service,
    cx: &Context,
    input: ws::DisassociateIpGroupsRequest,
) -> Result<ws::DisassociateIpGroupsResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DisassociateIpGroups))
}

pub fn modify_workspace_creation_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceCreationPropertiesRequest,
) -> Result<ws::ModifyWorkspaceCreationPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyWorkspaceCreationProperties))
}

pub fn modify_workspace_access_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceAccessPropertiesRequest,
) -> Result<ws::ModifyWorkspaceAccessPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyWorkspaceAccessProperties))
}

pub fn modify_selfservice_permissions(
    svc: &Service,
    cx: &Context,
    input: ws::ModifySelfservicePermissionsRequest,
) -> Result<ws::ModifySelfservicePermissionsResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifySelfservicePermissions))
}

pub fn modify_saml_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifySamlPropertiesRequest,
) -> Result<ws::ModifySamlPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifySamlProperties))
}

pub fn modify_certificate_based_auth_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyCertificateBasedAuthPropertiesRequest,
) -> Result<ws::ModifyCertificateBasedAuthPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyCertificateBasedAuthProperties))
}

pub fn modify_streaming_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyStreamingPropertiesRequest,
) -> Result<ws::ModifyStreamingPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyStreamingProperties))
}

pub fn modify_client_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyClientPropertiesRequest,
) -> Result<ws::ModifyClientPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ModifyClientProperties))
}

pub fn describe_client_properties(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeClientPropertiesRequest,
) -> Result<ws::DescribeClientPropertiesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeClientProperties))
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
