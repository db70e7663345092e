//! The directory settings operations: IP group association, creation, access and
//! self-service properties, SAML, certificate-based auth, streaming, client properties and
//! endpoint encryption.

use super::*;

/// Copies every member `src` sets onto `dst`.
macro_rules! merge {
    ($dst:expr, $src:expr, $($f:ident),+ $(,)?) => {
        $( if $src.$f.is_some() { $dst.$f = $src.$f.clone(); } )+
    };
}

/// IP access control groups per directory.
const MAX_IP_GROUPS: usize = 25;

/// Loads a registration, applies `change` and stores it.
fn modify(
    svc: &Service,
    cx: &Context,
    id: &str,
    change: impl FnOnce(&mut WsDirectory) -> Result<(), Error>,
) -> Result<(), Error> {
    svc.write(CHANGED, |tx| {
        let mut d = svc
            .load::<WsDirectory>(&cx.scope, id)?
            .ok_or_else(|| dir_not_found(id))?;
        change(&mut d.rec)?;
        tx.put(&cx.scope, &d.rec, Expect::Rev(d.rev))?;
        Ok(())
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

/// ModifyEndpointEncryptionMode: FIPS_VALIDATED only in US Regions (doc: FedRAMP /
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
