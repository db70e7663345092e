//! The minimal AWS Directory Service API: Simple AD, Microsoft AD, AD Connector directories
//! (Requested/Creating → Active; Deleting → gone) with `d-` ids.

use super::{Context, Service};
use localspaces_api::ds::{self as ds_api, not_implemented, Error, Operation};

pub fn connect_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::ConnectDirectoryRequest,
) -> Result<ds_api::ConnectDirectoryResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::ConnectDirectory))
}

pub fn create_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::CreateDirectoryRequest,
) -> Result<ds_api::CreateDirectoryResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::CreateDirectory))
}

pub fn create_microsoft_ad(
    svc: &Service,
    cx: &Context,
    input: ds_api::CreateMicrosoftADRequest,
) -> Result<ds_api::CreateMicrosoftADResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::CreateMicrosoftAD))
}

pub fn delete_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::DeleteDirectoryRequest,
) -> Result<ds_api::DeleteDirectoryResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DeleteDirectory))
}

pub fn describe_directories(
    svc: &Service,
    cx: &Context,
    input: ds_api::DescribeDirectoriesRequest,
) -> Result<ds_api::DescribeDirectoriesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeDirectories))
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
