//! The console's POST actions. Each one builds the operation's input from the form and
//! calls it through the generated dispatcher (the API's own path: validation, typed
//! handler, lifecycle engine), then redirects back with a flash message that says what
//! happened or, when AWS would refuse, AWS's error in plain words.

use super::pages::{find, kind};
use super::{call, html, redirect_with_flash, render, CallError, Op, Req};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use localspaces_api::{ds, workspaces as ws};
use serde_json::{json, Value as J};

/// Actions that destroy something and so ask for confirmation first.
const DESTRUCTIVE: &[(&str, &str)] = &[
    ("terminate", "Terminate this WorkSpace? Its volumes are deleted; this cannot be undone."),
    ("rebuild", "Rebuild this WorkSpace? Its system volume is recreated from the bundle image and data on it since the last snapshot is lost."),
    ("deregister-directory", "Deregister this directory from WorkSpaces? It must have no WorkSpaces left."),
    ("delete-ip-group", "Delete this IP group? It must not be associated with a directory."),
];

pub(super) type Outcome = Result<String, String>;

fn refused(e: CallError) -> String {
    e.plain()
}

/// Explains the per-item failures of a batch call; `Ok` with `done` when none failed.
pub(super) fn batch(out: &J, done: String) -> Outcome {
    let failed: Vec<String> = out
        .get("FailedRequests")
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .map(|f| {
                    let who = f
                        .get("WorkspaceId")
                        .or_else(|| f.get("WorkspaceRequest").and_then(|r| r.get("UserName")))
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    format!(
                        "{who}: {} ({})",
                        f.get("ErrorMessage").and_then(|v| v.as_str()).unwrap_or(""),
                        f.get("ErrorCode").and_then(|v| v.as_str()).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(format!("AWS refused the request: {}", failed.join("; ")))
    }
}

/// Lines `CIDR [description]` as IP rules.
fn parse_rules(text: &str) -> Vec<J> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((cidr, desc)) => json!({"ipRule": cidr, "ruleDesc": desc.trim()}),
            None => json!({"ipRule": l}),
        })
        .collect()
}

fn int(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| s.parse().ok())
}

/// Answers `POST /console/actions/<name>`.
pub(crate) async fn run(req: &Req<'_>) -> Response<Full<Bytes>> {
    let Some(action) = req.path.strip_prefix("/console/actions/") else {
        return super::message_page(
            Some(req),
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such action.",
        );
    };
    let q = req.scope_query();
    let back = req
        .f("back")
        .filter(|b| b.starts_with("/console") && !b.contains("//") && !b.contains(['\r', '\n']))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/console/?{q}"));
    let bulk_op = req.f("op").filter(|_| action == "bulk-workspaces");
    let question = DESTRUCTIVE
        .iter()
        .chain(super::families::DESTRUCTIVE)
        .find(|(a, _)| *a == action)
        .or_else(|| {
            super::families::DESTRUCTIVE_BULK
                .iter()
                .find(|(o, _)| Some(*o) == bulk_op)
        })
        .map(|(_, q)| *q);
    if let Some(question) = question {
        if req.f("confirmed") != Some("yes") {
            let mut ctx = req.base_context("", "Please confirm");
            ctx["question"] = json!(question);
            ctx["action"] = json!(action);
            ctx["fields"] = J::Array(
                req.form
                    .iter()
                    .filter(|(k, _)| k != "confirmed")
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect(),
            );
            ctx["back"] = json!(back);
            let target = [
                "workspace_id",
                "directory_id",
                "group_id",
                "image_id",
                "bundle_id",
                "alias_id",
                "pool_id",
                "session_id",
                "link_id",
            ]
            .iter()
            .find_map(|n| req.f(n))
            .map(str::to_string)
            .unwrap_or_else(|| req.all("workspace_ids").join(", "));
            ctx["target"] = json!(target);
            ctx["verb"] = json!(bulk_op.unwrap_or(action).replace('-', " "));
            return html(StatusCode::OK, render("confirm.html", &ctx));
        }
    }
    let (outcome, location) = perform(req, action, &back, &q).await;
    match outcome {
        Ok(msg) => redirect_with_flash(&location, "ok", &msg),
        Err(msg) => redirect_with_flash(&location, "error", &msg),
    }
}

pub(super) fn required<'a>(req: &'a Req<'_>, name: &str, label: &str) -> Result<&'a str, String> {
    req.f(name).ok_or_else(|| format!("Please fill in {label}."))
}

async fn perform(req: &Req<'_>, action: &str, back: &str, q: &str) -> (Outcome, String) {
    let back = back.to_string();
    match action {
        "create-ds-directory" => {
            let r = async {
                let name = required(req, "name", "the directory's DNS name")?;
                let out = call(
                    req,
                    Op::Ds(ds::Operation::CreateDirectory),
                    json!({
                        "Name": name,
                        "ShortName": req.f("short_name"),
                        "Password": req.f("password").unwrap_or("Console-Passw0rd"),
                        "Size": req.f("size").unwrap_or("Small"),
                        "Description": req.f("description"),
                        "VpcSettings": {
                            "VpcId": req.f("vpc_id").unwrap_or("vpc-0a1b2c3d"),
                            "SubnetIds": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"],
                        },
                    }),
                )
                .await
                .map_err(refused)?;
                Ok(format!(
                    "Created directory {} ({name}); it becomes Active shortly, then it can be registered.",
                    out["DirectoryId"].as_str().unwrap_or("")
                ))
            }
            .await;
            (r, back)
        }
        "register-directory" => {
            let r = async {
                let id = required(req, "directory_id", "the directory")?;
                let mut input = json!({"DirectoryId": id});
                if let Some(t) = req.f("tag_key") {
                    input["Tags"] = json!([{"Key": t, "Value": req.f("tag_value").unwrap_or("")}]);
                }
                call(req, Op::Ws(ws::Operation::RegisterWorkspaceDirectory), input)
                    .await
                    .map_err(refused)?;
                Ok(format!("Registering directory {id} with WorkSpaces."))
            }
            .await;
            (r, back)
        }
        "deregister-directory" => {
            let id = req.f("directory_id").unwrap_or("").to_string();
            let r = call(
                req,
                Op::Ws(ws::Operation::DeregisterWorkspaceDirectory),
                json!({"DirectoryId": id}),
            )
            .await
            .map(|_| format!("Deregistering directory {id}."))
            .map_err(refused);
            let loc = if r.is_ok() {
                format!("/console/directories?{q}")
            } else {
                back
            };
            (r, loc)
        }
        "launch-workspaces" => {
            let r = async {
                let dir = required(req, "directory_id", "the directory")?;
                let bundle = required(req, "bundle_id", "the bundle")?;
                let users = required(req, "user_names", "at least one user name")?;
                let mut props = json!({"RunningMode": req.f("running_mode").unwrap_or("ALWAYS_ON")});
                if let Some(t) = int(req.f("auto_stop_timeout")) {
                    props["RunningModeAutoStopTimeoutInMinutes"] = json!(t);
                }
                let tags = req
                    .f("tag_key")
                    .map(|k| json!([{"Key": k, "Value": req.f("tag_value").unwrap_or("")}]));
                let requests: Vec<J> = users
                    .split([',', '\n', ' '])
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| {
                        let mut w = json!({"DirectoryId": dir, "BundleId": bundle, "UserName": u, "WorkspaceProperties": props});
                        if let Some(t) = &tags {
                            w["Tags"] = t.clone();
                        }
                        w
                    })
                    .collect();
                let out = call(
                    req,
                    Op::Ws(ws::Operation::CreateWorkspaces),
                    json!({"Workspaces": requests}),
                )
                .await
                .map_err(refused)?;
                let ids: Vec<String> = out
                    .get("PendingRequests")
                    .and_then(|p| p.as_array())
                    .map(|a| {
                        a.iter()
                            .map(|w| {
                                format!(
                                    "{} ({})",
                                    w["WorkspaceId"].as_str().unwrap_or(""),
                                    w["UserName"].as_str().unwrap_or("")
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let done = format!("Launching {} WorkSpace(s): {}.", ids.len(), ids.join(", "));
                match batch(&out, done.clone()) {
                    Ok(m) => Ok(m),
                    Err(e) if !ids.is_empty() => Err(format!("{done} {e}")),
                    Err(e) => Err(e),
                }
            }
            .await;
            (r, format!("/console/workspaces?{q}"))
        }
        "start" | "stop" | "reboot" | "rebuild" | "terminate" => {
            let id = req.f("workspace_id").unwrap_or("").to_string();
            let Some((op, member, verb)) = batch_action(action) else {
                return (Err(format!("The console has no action {action:?}.")), back);
            };
            let mut input = serde_json::Map::new();
            input.insert(member.to_string(), json!([{"WorkspaceId": id}]));
            let r = match call(req, Op::Ws(op), J::Object(input)).await {
                Ok(out) => batch(&out, format!("{verb} WorkSpace {id}.")),
                Err(e) => Err(refused(e)),
            };
            (r, back)
        }
        "modify-workspace" => {
            let id = req.f("workspace_id").unwrap_or("").to_string();
            let r = async {
                let mut p = serde_json::Map::new();
                if let Some(m) = req.f("running_mode") {
                    p.insert("RunningMode".into(), json!(m));
                }
                if let Some(t) = int(req.f("auto_stop_timeout")) {
                    p.insert("RunningModeAutoStopTimeoutInMinutes".into(), json!(t));
                }
                if let Some(t) = int(req.f("root_volume")) {
                    p.insert("RootVolumeSizeGib".into(), json!(t));
                }
                if let Some(t) = int(req.f("user_volume")) {
                    p.insert("UserVolumeSizeGib".into(), json!(t));
                }
                if let Some(c) = req.f("compute_type") {
                    p.insert("ComputeTypeName".into(), json!(c));
                }
                // Send only what changed: AWS refuses a call that changes a volume and the
                // running mode at once, and one that changes nothing at all.
                if let Ok(Some(cur)) = find(req, kind("workspaces").expect("kind"), &id).await {
                    let now = cur.get("WorkspaceProperties").cloned().unwrap_or(J::Null);
                    p.retain(|k, v| now.get(k.as_str()) != Some(v));
                }
                call(
                    req,
                    Op::Ws(ws::Operation::ModifyWorkspaceProperties),
                    json!({"WorkspaceId": id, "WorkspaceProperties": J::Object(p)}),
                )
                .await
                .map_err(refused)?;
                Ok(format!("Modifying the properties of WorkSpace {id}."))
            }
            .await;
            (r, back)
        }
        "add-tag" => {
            let r = async {
                let id = required(req, "resource_id", "the resource")?;
                let key = required(req, "key", "the tag key")?;
                let value = req.f("value").unwrap_or("");
                call(
                    req,
                    Op::Ws(ws::Operation::CreateTags),
                    json!({"ResourceId": id, "Tags": [{"Key": key, "Value": value}]}),
                )
                .await
                .map_err(refused)?;
                Ok(format!("Tag {key} set on {id}."))
            }
            .await;
            (r, back)
        }
        "delete-tag" => {
            let r = async {
                let id = required(req, "resource_id", "the resource")?;
                let key = required(req, "key", "the tag key")?;
                call(
                    req,
                    Op::Ws(ws::Operation::DeleteTags),
                    json!({"ResourceId": id, "TagKeys": [key]}),
                )
                .await
                .map_err(refused)?;
                Ok(format!("Tag {key} removed from {id}."))
            }
            .await;
            (r, back)
        }
        "create-ip-group" => {
            let r = async {
                let name = required(req, "name", "the group name")?;
                let mut input =
                    json!({"GroupName": name, "UserRules": parse_rules(req.f("rules").unwrap_or(""))});
                if let Some(d) = req.f("description") {
                    input["GroupDesc"] = json!(d);
                }
                let out = call(req, Op::Ws(ws::Operation::CreateIpGroup), input)
                    .await
                    .map_err(refused)?;
                Ok(format!(
                    "Created IP group {} ({name}).",
                    out["GroupId"].as_str().unwrap_or("")
                ))
            }
            .await;
            (r, format!("/console/ip-groups?{q}"))
        }
        "update-ip-group-rules" => {
            let id = req.f("group_id").unwrap_or("").to_string();
            let r = call(
                req,
                Op::Ws(ws::Operation::UpdateRulesOfIpGroup),
                json!({"GroupId": id, "UserRules": parse_rules(req.f("rules").unwrap_or(""))}),
            )
            .await
            .map(|_| format!("Updated the rules of IP group {id}."))
            .map_err(refused);
            (r, back)
        }
        "delete-ip-group" => {
            let id = req.f("group_id").unwrap_or("").to_string();
            let r = call(req, Op::Ws(ws::Operation::DeleteIpGroup), json!({"GroupId": id}))
                .await
                .map(|_| format!("Deleted IP group {id}."))
                .map_err(refused);
            let loc = if r.is_ok() {
                format!("/console/ip-groups?{q}")
            } else {
                back
            };
            (r, loc)
        }
        other => match super::families::perform(req, other, &back, q).await {
            Some(done) => done,
            None => (Err(format!("The console has no action {other:?}.")), back),
        },
    }
}

/// A WorkSpace batch action by its console name (`start`, `stop`, `reboot`, `rebuild`,
/// `terminate`): its operation, the request list member and the verb shown after it.
pub(crate) fn batch_action(name: &str) -> Option<(ws::Operation, &'static str, &'static str)> {
    Some(match name {
        "start" => (
            ws::Operation::StartWorkspaces,
            "StartWorkspaceRequests",
            "Starting",
        ),
        "stop" => (ws::Operation::StopWorkspaces, "StopWorkspaceRequests", "Stopping"),
        "reboot" => (
            ws::Operation::RebootWorkspaces,
            "RebootWorkspaceRequests",
            "Rebooting",
        ),
        "rebuild" => (
            ws::Operation::RebuildWorkspaces,
            "RebuildWorkspaceRequests",
            "Rebuilding",
        ),
        "terminate" => (
            ws::Operation::TerminateWorkspaces,
            "TerminateWorkspaceRequests",
            "Terminating",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse() {
        assert_eq!(
            parse_rules("10.0.0.0/16 head office\n\n 192.168.1.1/32 \n"),
            vec![
                json!({"ipRule": "10.0.0.0/16", "ruleDesc": "head office"}),
                json!({"ipRule": "192.168.1.1/32"})
            ]
        );
    }

    #[test]
    fn batch_failures_are_explained() {
        let out = json!({"FailedRequests": [{"WorkspaceId": "ws-1", "ErrorCode": "InvalidResourceState.IncompatibleState", "ErrorMessage": "The WorkSpace is not in a valid state."}]});
        let e = batch(&out, "ok".into()).unwrap_err();
        assert!(e.contains("ws-1: The WorkSpace is not in a valid state."), "{e}");
        assert_eq!(
            batch(&json!({"FailedRequests": []}), "ok".into()),
            Ok("ok".into())
        );
    }
}
