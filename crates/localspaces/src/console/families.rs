//! The console's actions for images, custom bundles, connection aliases, WorkSpaces Pools,
//! directory settings, the account (BYOL and account links) and bulk WorkSpace actions.
//! Like the others, each builds the operation's input from the form and calls the service
//! through the generated dispatcher, then redirects back with what happened or AWS's error
//! in plain words.

use super::actions::{batch, required, Outcome};
use super::{call, CallError, Op, Req};
use localspaces_api::workspaces as ws;
use serde_json::{json, Value as J};

/// Actions of these families that destroy something, with the question asked first.
pub(crate) const DESTRUCTIVE: &[(&str, &str)] = &[
    (
        "delete-image",
        "Delete this image? Bundles made from it can no longer launch WorkSpaces; this cannot be undone.",
    ),
    (
        "delete-bundle",
        "Delete this custom bundle? It must have no WorkSpaces left.",
    ),
    (
        "delete-alias",
        "Delete this connection alias? It must not be associated with a directory.",
    ),
    (
        "disassociate-alias",
        "Disassociate this connection alias? Clients that connect through it stop reaching the directory.",
    ),
    (
        "terminate-pool",
        "Terminate this WorkSpaces Pool? Its user sessions end; this cannot be undone.",
    ),
    (
        "terminate-pool-session",
        "End this user's pool session? Unsaved work in it is lost.",
    ),
    ("delete-account-link", "Delete this account link?"),
];

/// Bulk WorkSpace operations that ask for confirmation (the others run at once).
pub(crate) const DESTRUCTIVE_BULK: &[(&str, &str)] = &[
    (
        "terminate",
        "Terminate the selected WorkSpaces? Their volumes are deleted; this cannot be undone.",
    ),
    (
        "rebuild",
        "Rebuild the selected WorkSpaces? Their system volumes are recreated from the bundle image.",
    ),
];

async fn api(req: &Req<'_>, op: ws::Operation, input: J) -> Result<J, String> {
    call(req, Op::Ws(op), input)
        .await
        .map_err(|e: CallError| e.plain())
}

fn int(req: &Req<'_>, name: &str, label: &str) -> Result<Option<i64>, String> {
    match req.f(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{label} must be a whole number, not {v:?}.")),
    }
}

fn s(v: &J, key: &str) -> String {
    v.get(key).and_then(|x| x.as_str()).unwrap_or("").to_string()
}

/// The optional tag of a create form.
fn tags(req: &Req<'_>) -> Option<J> {
    req.f("tag_key")
        .map(|k| json!([{"Key": k, "Value": req.f("tag_value").unwrap_or("")}]))
}

/// Runs one of this module's actions; `None` when `action` is not one of them.
pub(crate) async fn perform(req: &Req<'_>, action: &str, back: &str, q: &str) -> Option<(Outcome, String)> {
    let back = back.to_string();
    let to = |slug: &str| format!("/console/{slug}?{q}");
    let r = match action {
        // ---------------------------------------------------------------- images
        "create-image" => {
            let r = async {
                let wsid = required(req, "workspace_id", "the WorkSpace")?;
                let name = required(req, "name", "the image name")?;
                let desc = required(req, "description", "a description")?;
                let mut input = json!({"WorkspaceId": wsid, "Name": name, "Description": desc});
                if let Some(t) = tags(req) {
                    input["Tags"] = t;
                }
                let out = api(req, ws::Operation::CreateWorkspaceImage, input).await?;
                Ok(format!(
                    "Creating image {} ({name}) from WorkSpace {wsid}; the WorkSpace is SUSPENDED until it is captured.",
                    s(&out, "ImageId")
                ))
            }
            .await;
            (r, to("images"))
        }
        "copy-image" => {
            // The form's Region is the destination: the copy is made there, from the source.
            let r = async {
                let src = required(req, "source_image_id", "the image to copy")?;
                let src_region = required(req, "source_region", "the source Region")?;
                let name = required(req, "name", "the new image's name")?;
                let mut input = json!({"SourceImageId": src, "SourceRegion": src_region, "Name": name});
                if let Some(d) = req.f("description") {
                    input["Description"] = json!(d);
                }
                let out = api(req, ws::Operation::CopyWorkspaceImage, input).await?;
                Ok(format!(
                    "Copying image {src} from {src_region} into {} as {}.",
                    req.scope.region,
                    s(&out, "ImageId")
                ))
            }
            .await;
            (r, to("images"))
        }
        "share-image" | "unshare-image" => {
            let r = async {
                let id = required(req, "image_id", "the image")?;
                let acct = required(req, "shared_account_id", "the account to share with")?;
                let allow = action == "share-image";
                api(
                    req,
                    ws::Operation::UpdateWorkspaceImagePermission,
                    json!({"ImageId": id, "SharedAccountId": acct, "AllowCopyImage": allow}),
                )
                .await?;
                Ok(if allow {
                    format!("Image {id} is shared with account {acct}.")
                } else {
                    format!("Image {id} is no longer shared with account {acct}.")
                })
            }
            .await;
            (r, back)
        }
        "delete-image" => {
            let id = req.f("image_id").unwrap_or("").to_string();
            let r = api(req, ws::Operation::DeleteWorkspaceImage, json!({"ImageId": id}))
                .await
                .map(|_| format!("Deleted image {id}."));
            let loc = if r.is_ok() { to("images") } else { back };
            (r, loc)
        }
        // ---------------------------------------------------------------- bundles
        "create-bundle" => {
            let r = async {
                let image = required(req, "image_id", "the image")?;
                let name = required(req, "name", "the bundle name")?;
                let desc = required(req, "description", "a description")?;
                let compute = required(req, "compute_type", "the compute type")?;
                let user = required(req, "user_storage", "the user volume size")?;
                let mut input = json!({
                    "ImageId": image, "BundleName": name, "BundleDescription": desc,
                    "ComputeType": {"Name": compute}, "UserStorage": {"Capacity": user},
                });
                if let Some(root) = req.f("root_storage") {
                    input["RootStorage"] = json!({"Capacity": root});
                }
                if let Some(t) = tags(req) {
                    input["Tags"] = t;
                }
                let out = api(req, ws::Operation::CreateWorkspaceBundle, input).await?;
                Ok(format!(
                    "Created bundle {} ({name}) from image {image}.",
                    out.get("WorkspaceBundle")
                        .map(|b| s(b, "BundleId"))
                        .unwrap_or_default()
                ))
            }
            .await;
            (r, to("bundles"))
        }
        "update-bundle" => {
            let r = async {
                let id = required(req, "bundle_id", "the bundle")?;
                let image = required(req, "image_id", "the new image")?;
                api(
                    req,
                    ws::Operation::UpdateWorkspaceBundle,
                    json!({"BundleId": id, "ImageId": image}),
                )
                .await?;
                Ok(format!("Bundle {id} now launches from image {image}."))
            }
            .await;
            (r, back)
        }
        "delete-bundle" => {
            let id = req.f("bundle_id").unwrap_or("").to_string();
            let r = api(req, ws::Operation::DeleteWorkspaceBundle, json!({"BundleId": id}))
                .await
                .map(|_| format!("Deleted bundle {id}."));
            let loc = if r.is_ok() { to("bundles") } else { back };
            (r, loc)
        }
        // ---------------------------------------------------------------- aliases
        "create-alias" => {
            let r = async {
                let cs = required(req, "connection_string", "the connection string")?;
                let mut input = json!({"ConnectionString": cs});
                if let Some(t) = tags(req) {
                    input["Tags"] = t;
                }
                let out = api(req, ws::Operation::CreateConnectionAlias, input).await?;
                Ok(format!(
                    "Created connection alias {} for {cs}.",
                    s(&out, "AliasId")
                ))
            }
            .await;
            (r, to("aliases"))
        }
        "share-alias" | "unshare-alias" => {
            let r = async {
                let id = required(req, "alias_id", "the alias")?;
                let acct = required(req, "shared_account_id", "the account to share with")?;
                let allow = action == "share-alias";
                api(
                    req,
                    ws::Operation::UpdateConnectionAliasPermission,
                    json!({"AliasId": id, "ConnectionAliasPermission": {"SharedAccountId": acct, "AllowAssociation": allow}}),
                )
                .await?;
                Ok(if allow {
                    format!("Account {acct} may now associate alias {id}.")
                } else {
                    format!("Account {acct} may no longer associate alias {id}.")
                })
            }
            .await;
            (r, back)
        }
        "associate-alias" => {
            let r = async {
                let id = required(req, "alias_id", "the alias")?;
                let dir = required(req, "resource_id", "the directory")?;
                let out = api(
                    req,
                    ws::Operation::AssociateConnectionAlias,
                    json!({"AliasId": id, "ResourceId": dir}),
                )
                .await?;
                Ok(format!(
                    "Associating alias {id} with directory {dir} (connection identifier {}).",
                    s(&out, "ConnectionIdentifier")
                ))
            }
            .await;
            (r, back)
        }
        "disassociate-alias" => {
            let id = req.f("alias_id").unwrap_or("").to_string();
            let r = api(
                req,
                ws::Operation::DisassociateConnectionAlias,
                json!({"AliasId": id}),
            )
            .await
            .map(|_| format!("Disassociating alias {id}."));
            (r, back)
        }
        "delete-alias" => {
            let id = req.f("alias_id").unwrap_or("").to_string();
            let r = api(req, ws::Operation::DeleteConnectionAlias, json!({"AliasId": id}))
                .await
                .map(|_| format!("Deleting connection alias {id}."));
            let loc = if r.is_ok() { to("aliases") } else { back };
            (r, loc)
        }
        // ---------------------------------------------------------------- pools
        "register-pools-directory" => {
            let r = async {
                let name = required(req, "name", "the directory name")?;
                let desc = required(req, "description", "a description")?;
                let out = api(
                    req,
                    ws::Operation::RegisterWorkspaceDirectory,
                    json!({
                        "WorkspaceDirectoryName": name, "WorkspaceDirectoryDescription": desc,
                        "UserIdentityType": "CUSTOMER_MANAGED", "WorkspaceType": "POOLS",
                    }),
                )
                .await?;
                Ok(format!(
                    "Registering pools directory {} ({name}).",
                    s(&out, "DirectoryId")
                ))
            }
            .await;
            (r, to("directories"))
        }
        "create-pool" => {
            let r = async {
                let name = required(req, "name", "the pool name")?;
                let desc = required(req, "description", "a description")?;
                let dir = required(req, "directory_id", "the directory")?;
                let bundle = required(req, "bundle_id", "the bundle")?;
                let sessions = int(req, "desired_sessions", "Desired user sessions")?
                    .ok_or("Please fill in the desired user sessions.")?;
                let mut input = json!({
                    "PoolName": name, "Description": desc, "DirectoryId": dir, "BundleId": bundle,
                    "Capacity": {"DesiredUserSessions": sessions},
                });
                if let Some(m) = req.f("running_mode") {
                    input["RunningMode"] = json!(m);
                }
                if let Some(t) = tags(req) {
                    input["Tags"] = t;
                }
                let out = api(req, ws::Operation::CreateWorkspacesPool, input).await?;
                Ok(format!(
                    "Creating pool {} ({name}).",
                    out.get("WorkspacesPool")
                        .map(|p| s(p, "PoolId"))
                        .unwrap_or_default()
                ))
            }
            .await;
            (r, to("pools"))
        }
        "start-pool" | "stop-pool" | "terminate-pool" => {
            let id = req.f("pool_id").unwrap_or("").to_string();
            let (op, verb) = match action {
                "start-pool" => (ws::Operation::StartWorkspacesPool, "Starting"),
                "stop-pool" => (ws::Operation::StopWorkspacesPool, "Stopping"),
                _ => (ws::Operation::TerminateWorkspacesPool, "Terminating"),
            };
            let r = api(req, op, json!({"PoolId": id}))
                .await
                .map(|_| format!("{verb} pool {id}."));
            (r, back)
        }
        "update-pool" => {
            let r = async {
                let id = required(req, "pool_id", "the pool")?;
                let mut input = json!({"PoolId": id});
                if let Some(d) = req.f("description") {
                    input["Description"] = json!(d);
                }
                if let Some(n) = int(req, "desired_sessions", "Desired user sessions")? {
                    input["Capacity"] = json!({"DesiredUserSessions": n});
                }
                if let Some(b) = req.f("bundle_id") {
                    input["BundleId"] = json!(b);
                }
                if let Some(m) = req.f("running_mode") {
                    input["RunningMode"] = json!(m);
                }
                api(req, ws::Operation::UpdateWorkspacesPool, input).await?;
                Ok(format!("Updating pool {id}."))
            }
            .await;
            (r, back)
        }
        "terminate-pool-session" => {
            let id = req.f("session_id").unwrap_or("").to_string();
            let r = api(
                req,
                ws::Operation::TerminateWorkspacesPoolSession,
                json!({"SessionId": id}),
            )
            .await
            .map(|_| format!("Ending pool session {id}."));
            (r, back)
        }
        // ---------------------------------------------------------------- directory settings
        "modify-selfservice" => {
            let r = async {
                let id = required(req, "directory_id", "the directory")?;
                let mut p = serde_json::Map::new();
                for m in SELFSERVICE {
                    if let Some(v) = req.f(m) {
                        p.insert((*m).to_string(), json!(v));
                    }
                }
                api(
                    req,
                    ws::Operation::ModifySelfservicePermissions,
                    json!({"ResourceId": id, "SelfservicePermissions": J::Object(p)}),
                )
                .await?;
                Ok(format!("Saved the self-service permissions of directory {id}."))
            }
            .await;
            (r, back)
        }
        "modify-creation-properties" => {
            let r = async {
                let id = required(req, "directory_id", "the directory")?;
                let mut p = serde_json::Map::new();
                for m in [
                    "EnableInternetAccess",
                    "EnableMaintenanceMode",
                    "UserEnabledAsLocalAdministrator",
                ] {
                    if let Some(v) = req.f(m) {
                        p.insert(m.to_string(), json!(v == "true"));
                    }
                }
                for m in ["DefaultOu", "CustomSecurityGroupId", "InstanceIamRoleArn"] {
                    if let Some(v) = req.f(m) {
                        p.insert(m.to_string(), json!(v));
                    }
                }
                api(
                    req,
                    ws::Operation::ModifyWorkspaceCreationProperties,
                    json!({"ResourceId": id, "WorkspaceCreationProperties": J::Object(p)}),
                )
                .await?;
                Ok(format!(
                    "Saved the WorkSpace creation properties of directory {id}."
                ))
            }
            .await;
            (r, back)
        }
        "modify-access-properties" => {
            let r = async {
                let id = required(req, "directory_id", "the directory")?;
                let mut p = serde_json::Map::new();
                for m in DEVICE_TYPES {
                    if let Some(v) = req.f(m) {
                        p.insert((*m).to_string(), json!(v));
                    }
                }
                api(
                    req,
                    ws::Operation::ModifyWorkspaceAccessProperties,
                    json!({"ResourceId": id, "WorkspaceAccessProperties": J::Object(p)}),
                )
                .await?;
                Ok(format!("Saved the access properties of directory {id}."))
            }
            .await;
            (r, back)
        }
        "associate-ip-group" | "disassociate-ip-group" => {
            let r = async {
                let id = required(req, "directory_id", "the directory")?;
                let group = required(req, "group_id", "the IP group")?;
                let (op, done) = if action == "associate-ip-group" {
                    (
                        ws::Operation::AssociateIpGroups,
                        format!("IP group {group} now applies to directory {id}."),
                    )
                } else {
                    (
                        ws::Operation::DisassociateIpGroups,
                        format!("IP group {group} no longer applies to directory {id}."),
                    )
                };
                api(req, op, json!({"DirectoryId": id, "GroupIds": [group]})).await?;
                Ok(done)
            }
            .await;
            (r, back)
        }
        // ---------------------------------------------------------------- account
        "modify-account" => {
            let r = async {
                let cidr = required(req, "cidr", "the management CIDR range")?;
                let out = api(
                    req,
                    ws::Operation::ModifyAccount,
                    json!({"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": cidr}),
                )
                .await?;
                let msg = s(&out, "Message");
                Ok(format!(
                    "Enabling BYOL (dedicated tenancy) with management range {cidr}.{}",
                    if msg.is_empty() { String::new() } else { format!(" {msg}") }
                ))
            }
            .await;
            (r, to("account"))
        }
        "create-account-link" => {
            let r = async {
                let target = required(req, "target_account_id", "the account to invite")?;
                let out = api(
                    req,
                    ws::Operation::CreateAccountLinkInvitation,
                    json!({"TargetAccountId": target}),
                )
                .await?;
                Ok(format!(
                    "Invited account {target} to link ({}).",
                    out.get("AccountLink")
                        .map(|l| s(l, "AccountLinkId"))
                        .unwrap_or_default()
                ))
            }
            .await;
            (r, to("account"))
        }
        "accept-account-link" | "reject-account-link" | "delete-account-link" => {
            let id = req.f("link_id").unwrap_or("").to_string();
            let (op, verb) = match action {
                "accept-account-link" => (ws::Operation::AcceptAccountLinkInvitation, "Accepted"),
                "reject-account-link" => (ws::Operation::RejectAccountLinkInvitation, "Rejected"),
                _ => (ws::Operation::DeleteAccountLinkInvitation, "Deleted"),
            };
            let r = api(req, op, json!({"LinkId": id}))
                .await
                .map(|_| format!("{verb} account link {id}."));
            (r, to("account"))
        }
        // ---------------------------------------------------------------- bulk
        "bulk-workspaces" => {
            let ids: Vec<&str> = req.all("workspace_ids");
            let r = async {
                if ids.is_empty() {
                    return Err("Please select at least one WorkSpace.".to_string());
                }
                let op_name = required(req, "op", "the action")?;
                let Some((op, member, verb)) = super::actions::batch_action(op_name) else {
                    return Err(format!("The console has no bulk action {op_name:?}."));
                };
                // The API takes at most 25 WorkSpaces a call: send them in calls of that size.
                let mut done = Vec::new();
                let mut failed = Vec::new();
                for chunk in ids.chunks(25) {
                    let reqs: Vec<J> = chunk.iter().map(|id| json!({"WorkspaceId": id})).collect();
                    let mut input = serde_json::Map::new();
                    input.insert(member.to_string(), J::Array(reqs));
                    let out = api(req, op, J::Object(input)).await?;
                    let bad: Vec<String> = out
                        .get("FailedRequests")
                        .and_then(|f| f.as_array())
                        .map(|a| a.iter().map(|f| s(f, "WorkspaceId")).collect())
                        .unwrap_or_default();
                    done.extend(
                        chunk
                            .iter()
                            .filter(|id| !bad.iter().any(|b| b == *id))
                            .map(|id| id.to_string()),
                    );
                    if let Err(e) = batch(&out, String::new()) {
                        failed.push(e);
                    }
                }
                let ok = format!(
                    "{verb} {} WorkSpace(s){}.",
                    done.len(),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", done.join(", "))
                    }
                );
                if failed.is_empty() {
                    Ok(ok)
                } else {
                    Err(format!("{ok} {}", failed.join(" ")))
                }
            }
            .await;
            (r, back)
        }
        _ => return None,
    };
    Some(r)
}

/// The members of `SelfservicePermissions` (each ENABLED or DISABLED).
pub(crate) const SELFSERVICE: &[&str] = &[
    "RestartWorkspace",
    "IncreaseVolumeSize",
    "ChangeComputeType",
    "SwitchRunningMode",
    "RebuildWorkspace",
];

/// The device members of `WorkspaceAccessProperties` (each ALLOW or DENY).
pub(crate) const DEVICE_TYPES: &[&str] = &[
    "DeviceTypeWindows",
    "DeviceTypeOsx",
    "DeviceTypeWeb",
    "DeviceTypeIos",
    "DeviceTypeAndroid",
    "DeviceTypeChromeOs",
    "DeviceTypeZeroClient",
    "DeviceTypeLinux",
    "DeviceTypeWorkSpacesThinClient",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_actions_have_questions() {
        for (a, q) in DESTRUCTIVE.iter().chain(DESTRUCTIVE_BULK) {
            assert!(!a.is_empty() && q.ends_with(['?', '.']), "{a}: {q}");
        }
    }
}
