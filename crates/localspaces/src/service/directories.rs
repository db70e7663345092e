//! WorkSpaces directories: registration (REGISTERING → REGISTERED, DEREGISTERING → gone),
//! DescribeWorkspaceDirectories, IP group association and the directory settings operations.
//!
//! A registration stores its settings as the model's own `WorkspaceDirectory` shape (encoded
//! with the generated wire encoder), so DescribeWorkspaceDirectories shows exactly what the
//! Modify* calls wrote, member for member, with no hand-copied field lists.

use super::ds::DsDirectory;
use super::ids::new_id;
use super::ip_groups::{IpGroup, IP_GROUP_INDEX};
use super::lifecycle::Applied;
use super::pagination;
use super::records::{check_tag_keys, merge_tags, not_found, Resource, StoredTag, Taggable};
use super::{Context, Service};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::shape::{Path, Shape, Violations};
use localspaces_api::value::Value;
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_protocol::json;
use localspaces_store::{Expect, IndexEntry, Scope, StoreError};
use serde::{Deserialize, Serialize};

/// Store kind of WorkSpaces directory registrations (records carry one
/// [`IP_GROUP_INDEX`] entry per associated IP group).
pub(crate) const DIRECTORY_KIND: &str = super::ip_groups::DIRECTORY_KIND;

/// Registered directories per account and Region.
const MAX_DIRECTORIES: u64 = 50;
/// IP access control groups per directory.
const MAX_IP_GROUPS: usize = 25;

/// What other families (WorkSpaces, connection aliases, …) need to know about a
/// registered directory.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryView {
    pub state: ws::WorkspaceDirectoryState,
    pub subnet_ids: Vec<String>,
    /// PERSONAL or POOLS.
    pub workspace_type: Option<ws::WorkspaceType>,
}

/// A stored registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WsDirectory {
    pub id: String,
    /// JSON of the `WorkspaceDirectory` wire shape (state and ipGroupIds are kept beside it).
    pub wire: String,
    /// A `WorkspaceDirectoryState` wire value.
    pub state: String,
    #[serde(default)]
    pub ip_groups: Vec<String>,
    /// JSON of the `ClientProperties` wire shape.
    pub client: String,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
}

impl Resource for WsDirectory {
    const KIND: &'static str = DIRECTORY_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        self.ip_groups
            .iter()
            .map(|g| IndexEntry {
                name: IP_GROUP_INDEX.into(),
                key: g.clone(),
            })
            .collect()
    }
}

impl Taggable for WsDirectory {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

fn stored_fault(what: &str) -> Error {
    super::internal(StoreError::Corrupt(format!("stored {what} is not readable")))
}

/// Encodes a model shape as JSON text for storage.
fn to_json<S: Shape + Clone>(s: &S) -> String {
    String::from_utf8(json::encode(&s.encode())).unwrap_or_default()
}

/// Decodes a model shape stored by [`to_json`].
fn from_json<S: Shape>(text: &str, what: &str) -> Result<S, Error> {
    let v: Value = json::decode(text.as_bytes()).map_err(|_| stored_fault(what))?;
    let mut cx = Violations::default();
    S::decode(&v, &Path::Root, &mut cx).map_err(|_| stored_fault(what))
}

impl WsDirectory {
    fn wire(&self) -> Result<ws::WorkspaceDirectory, Error> {
        let mut w: ws::WorkspaceDirectory = from_json(&self.wire, "directory")?;
        w.state = ws::WorkspaceDirectoryState::from_wire(&self.state);
        w.ip_group_ids = (!self.ip_groups.is_empty()).then(|| self.ip_groups.clone());
        Ok(w)
    }

    fn set_wire(&mut self, mut w: ws::WorkspaceDirectory) {
        w.state = None;
        w.ip_group_ids = None;
        self.wire = to_json(&w);
    }

    fn state(&self) -> ws::WorkspaceDirectoryState {
        ws::WorkspaceDirectoryState::from_wire(&self.state).unwrap_or(ws::WorkspaceDirectoryState::Error)
    }
}

/// The registration of directory `id` in `scope`, if any (in any state).
pub(crate) fn directory_view(svc: &Service, scope: &Scope, id: &str) -> Result<Option<DirectoryView>, Error> {
    let Some(d) = svc.load::<WsDirectory>(scope, id)? else {
        return Ok(None);
    };
    let w = d.rec.wire()?;
    Ok(Some(DirectoryView {
        state: d.rec.state(),
        subnet_ids: w.subnet_ids.unwrap_or_default(),
        workspace_type: w.workspace_type,
    }))
}

/// How many WorkSpaces (in any state) the directory `id` has.
fn workspaces_in(svc: &Service, scope: &Scope, id: &str) -> Result<u64, Error> {
    svc.store
        .count(&localspaces_store::Query {
            scope: scope.clone(),
            kind: super::workspaces::WORKSPACE_KIND.to_string(),
            index: Some(IndexEntry {
                name: super::workspaces::DIRECTORY_INDEX.into(),
                key: id.to_string(),
            }),
            after_seq: None,
            limit: None,
        })
        .map_err(super::internal)
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

fn dir_not_found(id: &str) -> Error {
    not_found("directory", id)
}

fn changed_meanwhile() -> Error {
    Error::new(
        ErrorCode::InvalidResourceStateException,
        "The directory was modified by another request. Try again.",
    )
}

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
    if tenancy == ws::Tenancy::Dedicated && !super::account::byol_enabled(svc, &cx.scope)? {
        return Err(invalid(
            "Dedicated tenancy requires an account enabled for BYOL (ModifyAccount).",
        ));
    }
    let tags = input.tags.clone().unwrap_or_default();
    check_tag_keys(&tags)?;
    let mut stored_tags = Vec::new();
    merge_tags(&mut stored_tags, &tags, svc.limits.tags_per_resource)?;
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
            let ds = super::ds::ds_directory(svc, &cx.scope, id)?.ok_or_else(|| dir_not_found(id))?;
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
    let pending = {
        let _w = svc.write.lock();
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
        let (tw, t) = svc.transition(&cx.scope, TransitionKind::DirectoryRegister, DIRECTORY_KIND, &id)?;
        svc.commit(
            vec![Service::put(&cx.scope, &dir, expect)?, tw],
            changed_meanwhile,
        )?;
        t
    };
    svc.scheduled(&cx.scope, &[pending]);
    Ok(ws::RegisterWorkspaceDirectoryResult {
        directory_id: Some(id),
        state: Some(ws::WorkspaceDirectoryState::Registering),
    })
}

/// A WorkSpaces-managed (`wsd-`) registration: Pools (SAML, CUSTOMER_MANAGED) or IAM
/// Identity Center personal directories (spec §6.1).
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
    let pending = {
        let _w = svc.write.lock();
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
        let pools = super::pools::pools_on_directory(svc, &cx.scope, &id)?;
        if pools > 0 {
            // Spec §6.2: no pools may use it (inferred, like WorkSpaces).
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!("The directory {id} still has {pools} WorkSpaces Pools. Terminate them before deregistering it."),
            ));
        }
        d.rec.state = ws::WorkspaceDirectoryState::Deregistering.as_str().to_string();
        // The registration lets go of its IP groups at once, so that they can be deleted
        // while it finishes (Terraform deletes them right after the directory).
        d.rec.ip_groups.clear();
        let (tw, t) = svc.transition(
            &cx.scope,
            TransitionKind::DirectoryDeregister,
            DIRECTORY_KIND,
            &id,
        )?;
        svc.commit(
            vec![Service::put(&cx.scope, &d.rec, Expect::Rev(d.rev))?, tw],
            changed_meanwhile,
        )?;
        t
    };
    svc.scheduled(&cx.scope, &[pending]);
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
    let mut found = if ids.is_empty() {
        // At most MAX_DIRECTORIES per account and Region: filtering the page source is bounded.
        svc.scan::<WsDirectory>(&cx.scope, None, after, None)?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many::<WsDirectory>(&cx.scope, &refs)?;
        got.sort_by_key(|d| d.seq);
        got.dedup_by_key(|d| d.seq);
        got.retain(|d| after.is_none_or(|a| d.seq > a));
        got
    };
    let mut out = Vec::new();
    let mut last_seq = None;
    let mut more = false;
    for d in found.drain(..) {
        let w = d.rec.wire()?;
        if !names.is_empty()
            && !w
                .workspace_directory_name
                .as_ref()
                .is_some_and(|n| names.contains(n))
        {
            continue;
        }
        if !filter_matches(&w, &filters) {
            continue;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        last_seq = Some(d.seq);
        out.push(w);
    }
    let next_token = if more {
        last_seq.map(|s| pagination::encode(OP, filter, s))
    } else {
        None
    };
    Ok(ws::DescribeWorkspaceDirectoriesResult {
        directories: Some(out),
        next_token,
    })
}

/// The directory-setting operations do not find a registration on its way out.
fn present(d: &WsDirectory) -> Result<(), Error> {
    match d.state() {
        ws::WorkspaceDirectoryState::Deregistering | ws::WorkspaceDirectoryState::Deregistered => {
            Err(dir_not_found(&d.id))
        }
        _ => Ok(()),
    }
}

/// Loads a registration, applies `change` and stores it.
fn modify(
    svc: &Service,
    cx: &Context,
    id: &str,
    change: impl FnOnce(&mut WsDirectory) -> Result<(), Error>,
) -> Result<(), Error> {
    let _w = svc.write.lock();
    let mut d = svc
        .load::<WsDirectory>(&cx.scope, id)?
        .ok_or_else(|| dir_not_found(id))?;
    change(&mut d.rec)?;
    svc.commit(
        vec![Service::put(&cx.scope, &d.rec, Expect::Rev(d.rev))?],
        changed_meanwhile,
    )
}

/// Loads a registration's wire settings, applies `change` and stores them.
fn modify_wire(
    svc: &Service,
    cx: &Context,
    id: &str,
    change: impl FnOnce(&mut ws::WorkspaceDirectory) -> Result<(), Error>,
) -> Result<(), Error> {
    modify(svc, cx, id, |d| {
        present(d)?;
        let mut w = d.wire()?;
        change(&mut w)?;
        d.set_wire(w);
        Ok(())
    })
}

/// Copies every member `src` sets onto `dst`.
macro_rules! merge {
    ($dst:expr, $src:expr, $($f:ident),+ $(,)?) => {
        $( if $src.$f.is_some() { $dst.$f = $src.$f.clone(); } )+
    };
}

fn require_registered(d: &WsDirectory) -> Result<(), Error> {
    if d.state() != ws::WorkspaceDirectoryState::Registered {
        return Err(Error::new(
            ErrorCode::InvalidResourceStateException,
            format!("The directory {} is {}; it must be REGISTERED.", d.id, d.state),
        ));
    }
    Ok(())
}

pub fn associate_ip_groups(
    svc: &Service,
    cx: &Context,
    input: ws::AssociateIpGroupsRequest,
) -> Result<ws::AssociateIpGroupsResult, Error> {
    let ids: Vec<&str> = input.group_ids.iter().map(String::as_str).collect();
    modify(svc, cx, &input.directory_id, |d| {
        require_registered(d)?;
        let found = svc.load_many::<IpGroup>(&cx.scope, &ids)?;
        if let Some(missing) = ids.iter().find(|id| found.iter().all(|g| g.rec.id != **id)) {
            return Err(not_found("IP access control group", missing));
        }
        for id in &ids {
            if !d.ip_groups.iter().any(|g| g == id) {
                d.ip_groups.push((*id).to_string());
            }
        }
        if d.ip_groups.len() > MAX_IP_GROUPS {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("A directory can have at most {MAX_IP_GROUPS} IP access control groups."),
            ));
        }
        Ok(())
    })?;
    Ok(ws::AssociateIpGroupsResult {})
}

pub fn disassociate_ip_groups(
    svc: &Service,
    cx: &Context,
    input: ws::DisassociateIpGroupsRequest,
) -> Result<ws::DisassociateIpGroupsResult, Error> {
    let ids: Vec<&str> = input.group_ids.iter().map(String::as_str).collect();
    modify(svc, cx, &input.directory_id, |d| {
        require_registered(d)?;
        // A group that no longer exists is not associated: nothing to remove for it. Terraform
        // deletes a group removed from the configuration before it updates the directory.
        d.ip_groups.retain(|g| !ids.contains(&g.as_str()));
        Ok(())
    })?;
    Ok(ws::DisassociateIpGroupsResult {})
}

fn not_for_pools(msg: &str) -> Error {
    Error::new(ErrorCode::OperationNotSupportedException, msg)
}

/// A full LDAP distinguished name such as `OU=Desks,DC=corp,DC=example,DC=com`: `OU`/`CN`
/// parts, then at least two `DC` parts, each with a value.
fn is_distinguished_name(dn: &str) -> bool {
    let mut dcs = 0;
    for rdn in dn.split(',') {
        let Some((attr, value)) = rdn.split_once('=') else {
            return false;
        };
        if value.trim().is_empty() {
            return false;
        }
        match attr.trim().to_ascii_uppercase().as_str() {
            "DC" => dcs += 1,
            "OU" | "CN" if dcs == 0 => {}
            _ => return false,
        }
    }
    dcs >= 2
}

pub fn modify_workspace_creation_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceCreationPropertiesRequest,
) -> Result<ws::ModifyWorkspaceCreationPropertiesResult, Error> {
    let p = input.workspace_creation_properties;
    if p.default_ou
        .as_deref()
        .is_some_and(|ou| !is_distinguished_name(ou))
    {
        // AWS's answer for an empty DefaultOu; a DefaultOu that is no DN gets the same.
        return Err(invalid(
            "An invalid or out-of-range value was supplied for the input parameter.",
        ));
    }
    modify_wire(svc, cx, &input.resource_id, |w| {
        if w.workspace_type == Some(ws::WorkspaceType::Pools) {
            if p.enable_maintenance_mode.is_some() || p.user_enabled_as_local_administrator.is_some() {
                return Err(not_for_pools(
                    "EnableMaintenanceMode and UserEnabledAsLocalAdministrator do not apply to a WorkSpaces Pools directory.",
                ));
            }
            if p.default_ou.is_some() && w.active_directory_config.is_none() {
                return Err(not_for_pools(
                    "DefaultOu needs a WorkSpaces Pools directory joined to Active Directory (ActiveDirectoryConfig).",
                ));
            }
        }
        let dst = w
            .workspace_creation_properties
            .get_or_insert_with(Default::default);
        merge!(
            dst,
            p,
            custom_security_group_id,
            default_ou,
            enable_internet_access,
            enable_maintenance_mode,
            instance_iam_role_arn,
            user_enabled_as_local_administrator
        );
        Ok(())
    })?;
    Ok(ws::ModifyWorkspaceCreationPropertiesResult {})
}

pub fn modify_workspace_access_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceAccessPropertiesRequest,
) -> Result<ws::ModifyWorkspaceAccessPropertiesResult, Error> {
    let p = input.workspace_access_properties;
    modify_wire(svc, cx, &input.resource_id, |w| {
        let dst = w.workspace_access_properties.get_or_insert_with(Default::default);
        merge!(
            dst,
            p,
            access_endpoint_config,
            device_type_android,
            device_type_chrome_os,
            device_type_ios,
            device_type_linux,
            device_type_osx,
            device_type_web,
            device_type_windows,
            device_type_work_spaces_thin_client,
            device_type_zero_client
        );
        Ok(())
    })?;
    Ok(ws::ModifyWorkspaceAccessPropertiesResult {})
}

pub fn modify_selfservice_permissions(
    svc: &Service,
    cx: &Context,
    input: ws::ModifySelfservicePermissionsRequest,
) -> Result<ws::ModifySelfservicePermissionsResult, Error> {
    let p = input.selfservice_permissions;
    modify_wire(svc, cx, &input.resource_id, |w| {
        if w.workspace_type == Some(ws::WorkspaceType::Pools) {
            return Err(not_for_pools(
                "Self-service permissions do not apply to a WorkSpaces Pools directory.",
            ));
        }
        let dst = w.selfservice_permissions.get_or_insert_with(Default::default);
        merge!(
            dst,
            p,
            change_compute_type,
            enable_end_user_advisor,
            increase_volume_size,
            nested_virtualization,
            rebuild_workspace,
            restart_workspace,
            switch_running_mode
        );
        Ok(())
    })?;
    Ok(ws::ModifySelfservicePermissionsResult {})
}

pub fn modify_saml_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifySamlPropertiesRequest,
) -> Result<ws::ModifySamlPropertiesResult, Error> {
    let delete = input.properties_to_delete.unwrap_or_default();
    modify_wire(svc, cx, &input.resource_id, |w| {
        let dst = w.saml_properties.get_or_insert_with(Default::default);
        if let Some(p) = &input.saml_properties {
            merge!(dst, p, relay_state_parameter_name, status, user_access_url);
        }
        for d in &delete {
            match d {
                ws::DeletableSamlProperty::SamlPropertiesUserAccessUrl => dst.user_access_url = None,
                ws::DeletableSamlProperty::SamlPropertiesRelayStateParameterName => {
                    dst.relay_state_parameter_name = None
                }
            }
        }
        let enabled = matches!(
            dst.status,
            Some(ws::SamlStatusEnum::Enabled | ws::SamlStatusEnum::EnabledWithDirectoryLoginFallback)
        );
        if enabled && dst.user_access_url.is_none() {
            return Err(invalid("SAML authentication needs a UserAccessUrl."));
        }
        Ok(())
    })?;
    Ok(ws::ModifySamlPropertiesResult {})
}

pub fn modify_certificate_based_auth_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyCertificateBasedAuthPropertiesRequest,
) -> Result<ws::ModifyCertificateBasedAuthPropertiesResult, Error> {
    let delete = input.properties_to_delete.unwrap_or_default();
    modify_wire(svc, cx, &input.resource_id, |w| {
        let dst = w
            .certificate_based_auth_properties
            .get_or_insert_with(Default::default);
        if let Some(p) = &input.certificate_based_auth_properties {
            merge!(dst, p, certificate_authority_arn, status);
        }
        if !delete.is_empty() {
            dst.certificate_authority_arn = None;
        }
        if dst.status == Some(ws::CertificateBasedAuthStatusEnum::Enabled)
            && dst.certificate_authority_arn.is_none()
        {
            return Err(invalid(
                "Certificate-based authentication needs a CertificateAuthorityArn.",
            ));
        }
        Ok(())
    })?;
    Ok(ws::ModifyCertificateBasedAuthPropertiesResult {})
}

pub fn modify_streaming_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyStreamingPropertiesRequest,
) -> Result<ws::ModifyStreamingPropertiesResult, Error> {
    modify_wire(svc, cx, &input.resource_id, |w| {
        let dst = w.streaming_properties.get_or_insert_with(Default::default);
        if let Some(p) = &input.streaming_properties {
            merge!(
                dst,
                p,
                global_accelerator,
                storage_connectors,
                streaming_experience_preferred_protocol,
                user_settings
            );
        }
        Ok(())
    })?;
    Ok(ws::ModifyStreamingPropertiesResult {})
}

/// The documented values of `ClientExperiencePolicy` (the model only gives a pattern).
const CLIENT_EXPERIENCE_POLICIES: &[&str] = &["FORCE_CLASSIC", "FORCE_UI_2026", "USER_CHOICE"];

pub fn modify_client_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyClientPropertiesRequest,
) -> Result<ws::ModifyClientPropertiesResult, Error> {
    let p = input.client_properties;
    if let Some(policy) = &p.client_experience_policy {
        if !CLIENT_EXPERIENCE_POLICIES.contains(&policy.as_str()) {
            return Err(invalid(format!(
                "ClientExperiencePolicy {policy} is not one of {}.",
                CLIENT_EXPERIENCE_POLICIES.join(", ")
            )));
        }
    }
    modify(svc, cx, &input.resource_id, |d| {
        present(d)?;
        let mut c: ws::ClientProperties = from_json(&d.client, "client properties")?;
        merge!(
            c,
            p,
            client_experience_policy,
            log_upload_enabled,
            reconnect_enabled
        );
        d.client = to_json(&c);
        Ok(())
    })?;
    Ok(ws::ModifyClientPropertiesResult {})
}

/// ModifyEndpointEncryptionMode (spec §12): FIPS_VALIDATED only in US Regions (doc: FedRAMP /
/// DoD SRG Regions) and only while the directory is new or already FIPS (doc: "the directory
/// must either be new, or all existing WorkSpaces ... using FIPS"); refusals and a directory
/// that is not REGISTERED are `OperationNotSupportedException` (the only modeled fit, inferred).
pub fn modify_endpoint_encryption_mode(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyEndpointEncryptionModeRequest,
) -> Result<ws::ModifyEndpointEncryptionModeResponse, Error> {
    let mode = input.endpoint_encryption_mode;
    let fips = mode == ws::EndpointEncryptionMode::FipsValidated;
    let unsupported = |msg: String| Error::new(ErrorCode::OperationNotSupportedException, msg);
    if fips && !cx.scope.region.starts_with("us-") {
        return Err(unsupported(format!(
            "FIPS 140-2 validated endpoint encryption is not available in {}; use a US Region.",
            cx.scope.region
        )));
    }
    let id = input.directory_id;
    modify_wire(svc, cx, &id, |w| {
        let state = w.state.map_or("UNKNOWN", |s| s.as_str());
        if w.state != Some(ws::WorkspaceDirectoryState::Registered) {
            return Err(unsupported(format!(
                "The directory {id} is {state}; it must be REGISTERED."
            )));
        }
        if fips && w.endpoint_encryption_mode != Some(mode) {
            let workspaces = workspaces_in(svc, &cx.scope, &id)?;
            if workspaces > 0 {
                return Err(unsupported(format!(
                    "The directory {id} has {workspaces} WorkSpaces using standard TLS; FIPS 140-2 validated mode needs a new directory."
                )));
            }
        }
        w.endpoint_encryption_mode = Some(mode);
        Ok(())
    })?;
    Ok(ws::ModifyEndpointEncryptionModeResponse {})
}

pub fn describe_client_properties(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeClientPropertiesRequest,
) -> Result<ws::DescribeClientPropertiesResult, Error> {
    let refs: Vec<&str> = input.resource_ids.iter().map(String::as_str).collect();
    let found = svc.load_many::<WsDirectory>(&cx.scope, &refs)?;
    if let Some(missing) = refs.iter().find(|id| found.iter().all(|d| d.rec.id != **id)) {
        return Err(dir_not_found(missing));
    }
    let list = found
        .iter()
        .map(|d| {
            Ok(ws::ClientPropertiesResult {
                resource_id: Some(d.rec.id.clone()),
                client_properties: Some(from_json(&d.rec.client, "client properties")?),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ws::DescribeClientPropertiesResult {
        client_properties_list: Some(list),
    })
}

/// Applies one due transition of this family's resources (called by the engine).
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Applied, StoreError> {
    let backend = |e: Error| StoreError::Backend(e.message);
    let Some(mut d) = svc.load::<WsDirectory>(scope, &t.resource_id).map_err(backend)? else {
        return Ok(Applied {
            writes: Vec::new(),
            next: None,
        });
    };
    match (t.kind, d.rec.state()) {
        (TransitionKind::DirectoryRegister, ws::WorkspaceDirectoryState::Registering) => {
            d.rec.state = ws::WorkspaceDirectoryState::Registered.as_str().to_string();
            Ok(Applied {
                writes: vec![Service::put(scope, &d.rec, Expect::Rev(d.rev)).map_err(backend)?],
                next: None,
            })
        }
        // DEREGISTERED is shown briefly, then the registration is gone (spec §6.2).
        (TransitionKind::DirectoryDeregister, ws::WorkspaceDirectoryState::Deregistering) => {
            d.rec.state = ws::WorkspaceDirectoryState::Deregistered.as_str().to_string();
            let remove = TransitionKind::DirectoryRemove;
            Ok(Applied {
                writes: vec![Service::put(scope, &d.rec, Expect::Rev(d.rev)).map_err(backend)?],
                next: Some(PendingTransition {
                    kind: remove,
                    due: now + svc.engine.timing().duration(remove),
                    ..t.clone()
                }),
            })
        }
        (TransitionKind::DirectoryRemove, ws::WorkspaceDirectoryState::Deregistered) => Ok(Applied {
            writes: vec![Service::delete::<WsDirectory>(scope, &d.rec.id, d.rev)],
            next: None,
        }),
        _ => Ok(Applied {
            writes: Vec::new(),
            next: None,
        }),
    }
}
