//! WorkSpaces directories: registration (REGISTERING → REGISTERED, DEREGISTERING → gone),
//! DescribeWorkspaceDirectories, IP group association and the directory settings operations.
//!
//! A registration stores its settings as the model's own `WorkspaceDirectory` shape (encoded
//! with the generated wire encoder), so DescribeWorkspaceDirectories shows exactly what the
//! Modify* calls wrote, member for member, with no hand-copied field lists.

mod settings;

pub use settings::*;

use super::tables::account::byol_enabled;
use super::tables::directories::{from_json, to_json, workspaces_in, WsDirectory, DIRECTORY_KIND};
use super::tables::ds::{ds_directory, DsDirectory};
use super::tables::ids::new_id;
use super::tables::ip_groups::IpGroup;
use super::tables::pools::pools_on_directory;
use super::tables::{invalid, new_tags, not_found, pagination, Conflict, Context, Fault, Service, Tx};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, Scope};

/// Registered directories per account and Region.
const MAX_DIRECTORIES: u64 = 50;

fn dir_not_found(id: &str) -> Error {
    not_found("directory", id)
}

/// The lost race of a change to a registration.
const CHANGED: Conflict = Conflict::Changed("directory");

/// `SLiad+ABC123`-style code: two letters, the Region's airport-like code, six upper-case
/// alphanumerics (format observed; prefix letters unconfirmed).
fn registration_code(region: &str) -> String {
    let code = match region {
        "us-east-1" => "iad",
        "us-west-2" => "pdx",
        "eu-west-1" => "dub",
        "eu-central-1" => "fra",
        "ap-southeast-2" => "syd",
        "ap-northeast-1" => "nrt",
        _ => "reg",
    };
    format!("SL{code}+{}", new_id("", 6).to_ascii_uppercase())
}

fn default_access(ad_connector: bool) -> ws::WorkspaceAccessProperties {
    use ws::AccessPropertyValue::{Allow, Deny};
    // Defaults as moto shows them (unconfirmed against AWS).
    ws::WorkspaceAccessProperties {
        device_type_windows: Some(if ad_connector { Deny } else { Allow }),
        device_type_osx: Some(Allow),
        device_type_web: Some(Deny),
        device_type_ios: Some(Allow),
        device_type_android: Some(Allow),
        device_type_chrome_os: Some(Allow),
        device_type_zero_client: Some(if ad_connector { Deny } else { Allow }),
        device_type_linux: Some(Deny),
        ..Default::default()
    }
}

fn selfservice(enable: bool) -> ws::SelfservicePermissions {
    use ws::ReconnectEnum::{Disabled, Enabled};
    let on = if enable { Enabled } else { Disabled };
    ws::SelfservicePermissions {
        restart_workspace: Some(Enabled),
        increase_volume_size: Some(on),
        change_compute_type: Some(on),
        switch_running_mode: Some(on),
        rebuild_workspace: Some(on),
        nested_virtualization: Some(Disabled),
        enable_end_user_advisor: Some(Enabled),
    }
}

fn default_client() -> ws::ClientProperties {
    ws::ClientProperties {
        reconnect_enabled: Some(ws::ReconnectEnum::Enabled),
        log_upload_enabled: Some(ws::LogUploadEnum::Enabled),
        client_experience_policy: None,
    }
}

/// The wire view of a Directory Service-backed PERSONAL registration, with AWS's defaults.
fn ds_backed(
    scope: &Scope,
    ds: &DsDirectory,
    subnets: Vec<String>,
    tenancy: ws::Tenancy,
    self_service: bool,
) -> ws::WorkspaceDirectory {
    let ad_connector = ds.dtype == "ADConnector";
    ws::WorkspaceDirectory {
        directory_id: Some(ds.id.clone()),
        alias: Some(ds.id.clone()),
        directory_name: Some(ds.name.clone()),
        registration_code: Some(registration_code(&scope.region)),
        subnet_ids: Some(subnets),
        dns_ip_addresses: Some(ds.dns_ips()),
        // The connector's service account; Microsoft AD's administrator is `Admin`, Simple AD's
        // `Administrator`.
        customer_user_name: Some(ds.customer_user_name.clone().unwrap_or_else(|| {
            if ds.dtype == "MicrosoftAD" {
                "Admin"
            } else {
                "Administrator"
            }
            .to_string()
        })),
        iam_role_id: Some(format!(
            "arn:aws:iam::{}:role/workspaces_DefaultRole",
            scope.account
        )),
        // The model has no Microsoft AD value; AD_CONNECTOR is the closest (unconfirmed).
        directory_type: Some(if ds.dtype == "SimpleAD" {
            ws::WorkspaceDirectoryType::SimpleAd
        } else {
            ws::WorkspaceDirectoryType::AdConnector
        }),
        workspace_security_group_id: Some(format!(
            "sg-0{:016x}",
            pagination::fingerprint([ds.id.as_str(), "members"])
        )),
        workspace_creation_properties: Some(ws::DefaultWorkspaceCreationProperties {
            enable_internet_access: Some(false),
            user_enabled_as_local_administrator: Some(true),
            enable_maintenance_mode: Some(true),
            ..Default::default()
        }),
        workspace_access_properties: Some(default_access(ad_connector)),
        tenancy: Some(tenancy),
        selfservice_permissions: Some(selfservice(self_service)),
        saml_properties: Some(ws::SamlProperties {
            status: Some(ws::SamlStatusEnum::Disabled),
            relay_state_parameter_name: Some("RelayState".to_string()),
            user_access_url: None,
        }),
        certificate_based_auth_properties: Some(ws::CertificateBasedAuthProperties {
            status: Some(ws::CertificateBasedAuthStatusEnum::Disabled),
            certificate_authority_arn: None,
        }),
        endpoint_encryption_mode: Some(ws::EndpointEncryptionMode::StandardTls),
        workspace_type: Some(ws::WorkspaceType::Personal),
        user_identity_type: Some(ws::UserIdentityType::AwsDirectoryService),
        ..Default::default()
    }
}

pub fn register_workspace_directory(
    svc: &Service,
    cx: &Context,
    input: ws::RegisterWorkspaceDirectoryRequest,
) -> Result<ws::RegisterWorkspaceDirectoryResult, Error> {
    let tenancy = input.tenancy.unwrap_or(ws::Tenancy::Shared);
    if tenancy == ws::Tenancy::Dedicated && !byol_enabled(svc, &cx.scope)? {
        return Err(invalid(
            "Dedicated tenancy requires an account enabled for BYOL (ModifyAccount).",
        ));
    }
    let stored_tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    if let Some(s) = &input.subnet_ids {
        if s.len() != 2 || s[0] == s[1] {
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                "You must specify two subnets in different Availability Zones.",
            ));
        }
    }
    let wire = match &input.directory_id {
        Some(id) => {
            // A DirectoryId registers a Directory Service directory for personal WorkSpaces.
            let pools = input.workspace_type == Some(ws::WorkspaceType::Pools);
            let identity = input
                .user_identity_type
                .is_some_and(|t| t != ws::UserIdentityType::AwsDirectoryService);
            if id.starts_with("wsd-") || pools || identity {
                return Err(invalid(
                    "A DirectoryId names a Directory Service directory for PERSONAL WorkSpaces with UserIdentityType AWS_DIRECTORY_SERVICE; WorkspaceType POOLS and other identity types are registered without one.",
                ));
            }
            let ds = ds_directory(svc, &cx.scope, id)?.ok_or_else(|| dir_not_found(id))?;
            if ds.stage != "Active" {
                return Err(Error::new(
                    ErrorCode::InvalidResourceStateException,
                    "The specified directory is not in a valid state. Confirm that the directory has a status of Active, and try again.",
                ));
            }
            let subnets = input.subnet_ids.clone().unwrap_or_else(|| ds.subnet_ids.clone());
            ds_backed(
                &cx.scope,
                &ds,
                subnets,
                tenancy,
                input.enable_self_service.unwrap_or(false),
            )
        }
        None => wsd_backed(cx, &input, tenancy)?,
    };
    let id = wire.directory_id.clone().unwrap_or_default();
    let mut dir = WsDirectory {
        id: id.clone(),
        wire: String::new(),
        state: ws::WorkspaceDirectoryState::Registering.as_str().to_string(),
        ip_groups: Vec::new(),
        client: to_json(&default_client()),
        tags: stored_tags,
    };
    dir.set_wire(wire);
    svc.write(CHANGED, |tx| {
        // A registration shown as DEREGISTERED is on its way out: registering the directory
        // again replaces it (Terraform's replace does exactly this, as it reads DEREGISTERED
        // as gone).
        let expect = match svc.load::<WsDirectory>(&cx.scope, &id)? {
            Some(old) if old.rec.state() == ws::WorkspaceDirectoryState::Deregistered => Expect::Rev(old.rev),
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::ResourceAlreadyExistsException,
                    format!("The directory {id} is already registered with Amazon WorkSpaces."),
                ))
            }
            None => Expect::Absent,
        };
        if expect == Expect::Absent && svc.count::<WsDirectory>(&cx.scope, None)? >= MAX_DIRECTORIES {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("You can register at most {MAX_DIRECTORIES} directories in this Region."),
            ));
        }
        tx.put(&cx.scope, &dir, expect)?;
        tx.transition(&cx.scope, TransitionKind::DirectoryRegister, DIRECTORY_KIND, &id)?;
        Ok(())
    })?;
    Ok(ws::RegisterWorkspaceDirectoryResult {
        directory_id: Some(id),
        state: Some(ws::WorkspaceDirectoryState::Registering),
    })
}

/// A WorkSpaces-managed (`wsd-`) registration: Pools (SAML, CUSTOMER_MANAGED) or IAM
/// Identity Center personal directories.
fn wsd_backed(
    cx: &Context,
    input: &ws::RegisterWorkspaceDirectoryRequest,
    tenancy: ws::Tenancy,
) -> Result<ws::WorkspaceDirectory, Error> {
    let (Some(name), Some(desc)) = (
        &input.workspace_directory_name,
        &input.workspace_directory_description,
    ) else {
        if input.workspace_type.is_none() && input.user_identity_type.is_none() {
            return Err(Error::new(
                ErrorCode::ValidationException,
                "The following arguments are required - DirectoryId.",
            ));
        }
        return Err(invalid(
            "WorkspaceDirectoryName and WorkspaceDirectoryDescription are required without a DirectoryId.",
        ));
    };
    let identity = input
        .user_identity_type
        .unwrap_or(ws::UserIdentityType::CustomerManaged);
    let wtype = input.workspace_type.unwrap_or(ws::WorkspaceType::Personal);
    let directory_type = match identity {
        ws::UserIdentityType::AwsIamIdentityCenter => {
            if input.idc_instance_arn.is_none() {
                return Err(invalid(
                    "IdcInstanceArn is required for an IAM Identity Center directory.",
                ));
            }
            ws::WorkspaceDirectoryType::AwsIamIdentityCenter
        }
        ws::UserIdentityType::CustomerManaged => {
            if wtype != ws::WorkspaceType::Pools {
                return Err(invalid(
                    "A CUSTOMER_MANAGED directory without a DirectoryId must have WorkspaceType POOLS.",
                ));
            }
            ws::WorkspaceDirectoryType::CustomerManaged
        }
        ws::UserIdentityType::AwsDirectoryService => {
            return Err(Error::new(
                ErrorCode::ValidationException,
                "The following arguments are required - DirectoryId.",
            ));
        }
    };
    let id = new_id("wsd-", 9);
    Ok(ws::WorkspaceDirectory {
        directory_id: Some(id.clone()),
        alias: Some(id),
        workspace_directory_name: Some(name.clone()),
        workspace_directory_description: Some(desc.clone()),
        registration_code: Some(registration_code(&cx.scope.region)),
        subnet_ids: input.subnet_ids.clone(),
        iam_role_id: Some(format!(
            "arn:aws:iam::{}:role/workspaces_DefaultRole",
            cx.scope.account
        )),
        directory_type: Some(directory_type),
        workspace_type: Some(wtype),
        user_identity_type: Some(identity),
        tenancy: Some(tenancy),
        active_directory_config: input.active_directory_config.clone(),
        microsoft_entra_config: input.microsoft_entra_config.clone(),
        workspace_os_user_mode: input.workspace_os_user_mode,
        idc_config: input.idc_instance_arn.as_ref().map(|arn| ws::IDCConfig {
            instance_arn: Some(arn.clone()),
            application_arn: None,
        }),
        workspace_access_properties: Some(default_access(false)),
        selfservice_permissions: Some(selfservice(input.enable_self_service.unwrap_or(false))),
        endpoint_encryption_mode: Some(ws::EndpointEncryptionMode::StandardTls),
        ..Default::default()
    })
}

pub fn deregister_workspace_directory(
    svc: &Service,
    cx: &Context,
    input: ws::DeregisterWorkspaceDirectoryRequest,
) -> Result<ws::DeregisterWorkspaceDirectoryResult, Error> {
    let id = input.directory_id;
    svc.write(CHANGED, |tx| {
        let mut d = svc
            .load::<WsDirectory>(&cx.scope, &id)?
            .ok_or_else(|| dir_not_found(&id))?;
        match d.rec.state() {
            ws::WorkspaceDirectoryState::Registered | ws::WorkspaceDirectoryState::Error => {}
            // DEREGISTERED is what clients read as gone.
            ws::WorkspaceDirectoryState::Deregistered => return Err(dir_not_found(&id)),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidResourceStateException,
                    format!(
                        "The directory {id} is {}; try again when it is REGISTERED.",
                        d.rec.state
                    ),
                ))
            }
        }
        let workspaces = workspaces_in(svc, &cx.scope, &id)?;
        if workspaces > 0 {
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!("The directory {id} still has {workspaces} WorkSpaces. Terminate them before deregistering it."),
            ));
        }
        let pools = pools_on_directory(svc, &cx.scope, &id)?;
        if pools > 0 {
            // no pools may use it (inferred, like WorkSpaces).
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!("The directory {id} still has {pools} WorkSpaces Pools. Terminate them before deregistering it."),
            ));
        }
        d.rec.state = ws::WorkspaceDirectoryState::Deregistering.as_str().to_string();
        // The registration lets go of its IP groups at once, so that they can be deleted
        // while it finishes (Terraform deletes them right after the directory).
        d.rec.ip_groups.clear();
        tx.put(&cx.scope, &d.rec, Expect::Rev(d.rev))?;
        tx.transition(&cx.scope, TransitionKind::DirectoryDeregister, DIRECTORY_KIND, &id)?;
        Ok(())
    })?;
    Ok(ws::DeregisterWorkspaceDirectoryResult {})
}

fn filter_matches(w: &ws::WorkspaceDirectory, filters: &[ws::DescribeWorkspaceDirectoriesFilter]) -> bool {
    filters.iter().all(|f| {
        let value = match f.name {
            ws::DescribeWorkspaceDirectoriesFilterName::UserIdentityType => {
                w.user_identity_type.map(|v| v.as_str())
            }
            ws::DescribeWorkspaceDirectoriesFilterName::WorkspaceType => w.workspace_type.map(|v| v.as_str()),
        };
        value.is_some_and(|v| f.values.iter().any(|x| x == v))
    })
}

pub fn describe_workspace_directories(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceDirectoriesRequest,
) -> Result<ws::DescribeWorkspaceDirectoriesResult, Error> {
    const OP: &str = "DescribeWorkspaceDirectories";
    let limit = input.limit.map_or(25, |n| n as usize);
    let ids = input.directory_ids.unwrap_or_default();
    let names = input.workspace_directory_names.unwrap_or_default();
    let filters = input.filters.unwrap_or_default();
    let fp_parts: Vec<String> = ids
        .iter()
        .cloned()
        .chain(names.iter().map(|n| format!("name={n}")))
        .chain(
            filters
                .iter()
                .map(|f| format!("{}={}", f.name, f.values.join(","))),
        )
        .collect();
    let filter = pagination::fingerprint(fp_parts.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let found = if ids.is_empty() {
        // At most MAX_DIRECTORIES per account and Region: filtering the page source is bounded.
        svc.scan::<WsDirectory>(&cx.scope, None, after, None)?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        pagination::in_order(svc.load_many::<WsDirectory>(&cx.scope, &refs)?, after)
    };
    let (out, next_token) = pagination::page(found, limit, OP, filter, |d| {
        let w = d.rec.wire()?;
        let named = names.is_empty()
            || w.workspace_directory_name
                .as_ref()
                .is_some_and(|n| names.contains(n));
        Ok::<_, Error>((named && filter_matches(&w, &filters)).then_some(w))
    })?;
    Ok(ws::DescribeWorkspaceDirectoriesResult {
        directories: Some(out),
        next_token,
    })
}

/// Applies one due transition of this family's resources (called by the engine); returns
/// the follow-up transition, if any.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let Some(mut d) = svc.load::<WsDirectory>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    match (t.kind, d.rec.state()) {
        (TransitionKind::DirectoryRegister, ws::WorkspaceDirectoryState::Registering) => {
            d.rec.state = ws::WorkspaceDirectoryState::Registered.as_str().to_string();
            tx.put(scope, &d.rec, Expect::Rev(d.rev))?;
            Ok(None)
        }
        // DEREGISTERED is shown briefly, then the registration is gone.
        (TransitionKind::DirectoryDeregister, ws::WorkspaceDirectoryState::Deregistering) => {
            d.rec.state = ws::WorkspaceDirectoryState::Deregistered.as_str().to_string();
            tx.put(scope, &d.rec, Expect::Rev(d.rev))?;
            let remove = TransitionKind::DirectoryRemove;
            Ok(Some(PendingTransition {
                kind: remove,
                due: now + svc.engine.timing().duration(remove),
                ..t.clone()
            }))
        }
        (TransitionKind::DirectoryRemove, ws::WorkspaceDirectoryState::Deregistered) => {
            tx.delete::<WsDirectory>(scope, &d.rec.id, d.rev);
            Ok(None)
        }
        _ => Ok(None),
    }
}
