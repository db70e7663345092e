//! The console's GET pages: dashboard, resource lists and details, activity. Each reads
//! through the same operations a client would call (Describe…), never the store.

use super::{call, call_all, html, json_response, message_page, render, CallError, Op, Req};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use localspaces_api::error::ErrorTable;
use localspaces_api::{ds, workspaces as ws};
use serde_json::{json, Value as J};

/// A kind of resource the console lists.
pub(crate) struct Kind {
    pub slug: &'static str,
    pub title: &'static str,
    pub singular: &'static str,
    pub id_key: &'static str,
    pub list_key: &'static str,
    pub op: ws::Operation,
    /// The Describe member that filters by id.
    pub ids_member: &'static str,
    /// `(label, dotted path)` of the list's columns; the first is the id.
    pub columns: &'static [(&'static str, &'static str)],
    pub state_key: Option<&'static str>,
    /// Whether Create/Describe/DeleteTags apply.
    pub tags: bool,
}

pub(crate) const KINDS: &[Kind] = &[
    Kind {
        slug: "workspaces",
        title: "WorkSpaces",
        singular: "WorkSpace",
        id_key: "WorkspaceId",
        list_key: "Workspaces",
        op: ws::Operation::DescribeWorkspaces,
        ids_member: "WorkspaceIds",
        columns: &[
            ("WorkSpace ID", "WorkspaceId"),
            ("User", "UserName"),
            ("Directory", "DirectoryId"),
            ("Bundle", "BundleId"),
            ("Running mode", "WorkspaceProperties.RunningMode"),
            ("Compute", "WorkspaceProperties.ComputeTypeName"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
    Kind {
        slug: "directories",
        title: "Directories",
        singular: "Directory",
        id_key: "DirectoryId",
        list_key: "Directories",
        op: ws::Operation::DescribeWorkspaceDirectories,
        ids_member: "DirectoryIds",
        columns: &[
            ("Directory ID", "DirectoryId"),
            ("Name", "DirectoryName"),
            ("Type", "DirectoryType"),
            ("Registration code", "RegistrationCode"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
    Kind {
        slug: "bundles",
        title: "Bundles",
        singular: "Bundle",
        id_key: "BundleId",
        list_key: "Bundles",
        op: ws::Operation::DescribeWorkspaceBundles,
        ids_member: "BundleIds",
        columns: &[
            ("Bundle ID", "BundleId"),
            ("Name", "Name"),
            ("Owner", "Owner"),
            ("Compute", "ComputeType.Name"),
            ("Root GiB", "RootStorage.Capacity"),
            ("User GiB", "UserStorage.Capacity"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
    Kind {
        slug: "images",
        title: "Images",
        singular: "Image",
        id_key: "ImageId",
        list_key: "Images",
        op: ws::Operation::DescribeWorkspaceImages,
        ids_member: "ImageIds",
        columns: &[
            ("Image ID", "ImageId"),
            ("Name", "Name"),
            ("Operating system", "OperatingSystem.Type"),
            ("Owner", "OwnerAccountId"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
    Kind {
        slug: "ip-groups",
        title: "IP groups",
        singular: "IP group",
        id_key: "groupId",
        list_key: "Result",
        op: ws::Operation::DescribeIpGroups,
        ids_member: "GroupIds",
        columns: &[
            ("Group ID", "groupId"),
            ("Name", "groupName"),
            ("Description", "groupDesc"),
            ("Rules", "userRules"),
        ],
        state_key: None,
        tags: true,
    },
    Kind {
        slug: "aliases",
        title: "Connection aliases",
        singular: "Connection alias",
        id_key: "AliasId",
        list_key: "ConnectionAliases",
        op: ws::Operation::DescribeConnectionAliases,
        ids_member: "AliasIds",
        columns: &[
            ("Alias ID", "AliasId"),
            ("Connection string", "ConnectionString"),
            ("Owner", "OwnerAccountId"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
    Kind {
        slug: "pools",
        title: "WorkSpaces Pools",
        singular: "Pool",
        id_key: "PoolId",
        list_key: "WorkspacesPools",
        op: ws::Operation::DescribeWorkspacesPools,
        ids_member: "PoolIds",
        columns: &[
            ("Pool ID", "PoolId"),
            ("Name", "PoolName"),
            ("Directory", "DirectoryId"),
            ("Bundle", "BundleId"),
            ("Running mode", "RunningMode"),
            ("Desired sessions", "CapacityStatus.DesiredUserSessions"),
            ("Active sessions", "CapacityStatus.ActiveUserSessions"),
            ("State", "State"),
        ],
        state_key: Some("State"),
        tags: true,
    },
];

pub(crate) fn kind(slug: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.slug == slug)
}

/// The value at a dotted path.
fn at<'a>(v: &'a J, path: &str) -> Option<&'a J> {
    path.split('.').try_fold(v, |cur, seg| cur.get(seg))
}

/// A scalar (or a list) as display text.
fn text(v: Option<&J>) -> String {
    match v {
        None | Some(J::Null) => String::new(),
        Some(J::String(s)) => s.clone(),
        Some(J::Array(a)) if a.iter().all(|x| !x.is_object()) => {
            a.iter().map(|x| text(Some(x))).collect::<Vec<_>>().join(", ")
        }
        Some(J::Array(a)) => format!("{} item(s)", a.len()),
        Some(other) => other.to_string(),
    }
}

/// Every leaf of a resource as `(Path.To.Member, text)`, in order.
fn flatten(prefix: &str, v: &J, out: &mut Vec<J>) {
    match v {
        J::Object(o) => {
            for (k, val) in o {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, val, out);
            }
        }
        J::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        J::Array(a) if a.is_empty() => out.push(json!({"key": prefix, "value": "(none)"})),
        _ => out.push(json!({"key": prefix, "value": text(Some(v))})),
    }
}

/// Counts by state, most frequent first: `[{"state": "AVAILABLE", "n": 3}]`.
fn count_states(items: &[J], state_key: Option<&str>) -> Vec<J> {
    let Some(key) = state_key else { return Vec::new() };
    let mut counts: Vec<(String, usize)> = Vec::new();
    for it in items {
        let s = text(at(it, key));
        let s = if s.is_empty() { "UNKNOWN".to_string() } else { s };
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some(c) => c.1 += 1,
            None => counts.push((s, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .into_iter()
        .map(|(s, n)| json!({"state": s, "n": n}))
        .collect()
}

fn summary(title: &str, total: usize, states: &[J]) -> String {
    let parts: Vec<String> = states
        .iter()
        .map(|s| format!("{} {}", s["n"], s["state"].as_str().unwrap_or("")))
        .collect();
    if parts.is_empty() {
        format!("{total} {title}")
    } else {
        format!("{total} {title}: {}", parts.join(", "))
    }
}

/// Every item of a kind in the request's scope (bundles: the account's own and AMAZON's).
pub(crate) async fn list_items(req: &Req<'_>, k: &Kind) -> Result<Vec<J>, CallError> {
    if k.slug == "bundles" {
        let mut own = call_all(req, Op::Ws(k.op), json!({}), k.list_key).await?;
        let amazon = call_all(req, Op::Ws(k.op), json!({"Owner": "AMAZON"}), k.list_key).await?;
        own.extend(amazon);
        return Ok(own);
    }
    call_all(req, Op::Ws(k.op), json!({}), k.list_key).await
}

fn rows(req: &Req<'_>, k: &Kind, items: &[J]) -> Vec<J> {
    let q = req.scope_query();
    items
        .iter()
        .map(|it| {
            let id = text(at(it, k.id_key));
            let cells: Vec<J> = k
                .columns
                .iter()
                .map(|(label, path)| {
                    let v = at(it, path);
                    let t = match (path, v) {
                        (&"userRules", Some(J::Array(a))) => format!("{}", a.len()),
                        _ => text(v),
                    };
                    json!({"label": label, "text": t, "badge": Some(*path) == k.state_key})
                })
                .collect();
            json!({"id": id, "href": format!("/console/{}/{}?{q}", k.slug, super::pct(&id)), "cells": cells})
        })
        .collect()
}

/// A refused read, with the HTTP status AWS gives the error (a malformed id or page token
/// is the client's mistake: 400).
fn error_page(req: &Req<'_>, e: &CallError) -> Response<Full<Bytes>> {
    let status = ws::ErrorCode::from_name(&e.code)
        .map(|c| c.status())
        .or_else(|| ds::ErrorCode::from_name(&e.code).map(|c| c.status()))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    message_page(Some(req), status, "The call was refused", &e.plain())
}

/// Answers a GET under `/console/`.
pub(crate) async fn get(req: &Req<'_>) -> Response<Full<Bytes>> {
    let rest = req.path.trim_start_matches("/console/").trim_end_matches('/');
    let fragment = req.q("fragment").is_some();
    let mut segs = rest.splitn(2, '/');
    let (a, b) = (segs.next().unwrap_or(""), segs.next());
    match (a, b) {
        ("", None) => dashboard(req, fragment).await,
        ("activity", None) => activity(req),
        ("account", None) => account(req).await,
        (slug, None) => match kind(slug) {
            Some(k) => list(req, k, fragment).await,
            None => not_found(req),
        },
        (slug, Some(id)) => match kind(slug) {
            Some(k) if !id.contains('/') => detail(req, k, &super::pct_decode(id), fragment).await,
            _ => not_found(req),
        },
    }
}

fn not_found(req: &Req<'_>) -> Response<Full<Bytes>> {
    message_page(
        Some(req),
        StatusCode::NOT_FOUND,
        "Not found",
        "The console has no such page.",
    )
}

async fn dashboard(req: &Req<'_>, fragment: bool) -> Response<Full<Bytes>> {
    let mut cards = Vec::new();
    let mut live = Vec::new();
    for k in KINDS {
        let items = match list_items(req, k).await {
            Ok(i) => i,
            Err(e) => return error_page(req, &e),
        };
        let states = if k.slug == "bundles" {
            let amazon = items
                .iter()
                .filter(|b| text(b.get("Owner")).eq_ignore_ascii_case("AMAZON"))
                .count();
            vec![
                json!({"state": "CUSTOM", "n": items.len() - amazon}),
                json!({"state": "AMAZON", "n": amazon}),
            ]
        } else {
            count_states(&items, k.state_key)
        };
        if k.slug == "workspaces" {
            live.push(summary(k.title, items.len(), &states));
        }
        cards.push(json!({
            "title": k.title, "slug": k.slug, "total": items.len(), "states": states,
            "has_states": k.state_key.is_some() || k.slug == "bundles",
        }));
    }
    let mut ctx = req.base_context("dashboard", "Dashboard");
    ctx["cards"] = J::Array(cards);
    if fragment {
        return json_response(&json!({
            "rows": render("dash_cards.html", &ctx),
            "summary": live.join("; "),
        }));
    }
    ctx["summary"] = json!(live.join("; "));
    html(StatusCode::OK, render("dashboard.html", &ctx))
}

/// One page of a list, as the API pages it: `page` is the API's `NextToken` of the page
/// before (none: the first page); bundles pick their owner (`owner=AMAZON`, or the account's own).
/// The live fragment polls the same page, so only the rows shown are read.
async fn list(req: &Req<'_>, k: &'static Kind, fragment: bool) -> Response<Full<Bytes>> {
    let token = req.q("page").filter(|t| !t.is_empty());
    let amazon = k.slug == "bundles" && req.q("owner") == Some("AMAZON");
    let mut input = json!({});
    if amazon {
        input["Owner"] = json!("AMAZON");
    }
    if let Some(t) = token {
        input["NextToken"] = json!(t);
    }
    let out = match call(req, Op::Ws(k.op), input).await {
        Ok(o) => o,
        Err(e) => return error_page(req, &e),
    };
    let items: Vec<J> = out
        .get(k.list_key)
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let next = out
        .get("NextToken")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty());
    let states = count_states(&items, k.state_key);
    let mut ctx = req.base_context(k.slug, k.title);
    ctx["kind"] =
        json!({"slug": k.slug, "title": k.title, "singular": k.singular, "live": k.state_key.is_some()});
    ctx["columns"] = J::Array(k.columns.iter().map(|(l, _)| json!(l)).collect());
    ctx["rows"] = J::Array(rows(req, k, &items));
    let owner_q = if amazon { "&owner=AMAZON" } else { "" };
    let base = format!("/console/{}?{}{owner_q}", k.slug, req.scope_query());
    ctx["page_q"] = json!(match token {
        Some(t) => format!("{owner_q}&page={}", super::pct(t)),
        None => owner_q.to_string(),
    });
    ctx["amazon"] = json!(amazon);
    ctx["first_href"] = json!(token.map(|_| base.clone()));
    ctx["next_href"] = json!(next.map(|t| format!("{base}&page={}", super::pct(t))));
    let mut live = summary(k.title, items.len(), &states);
    if token.is_some() || next.is_some() {
        live = format!("This page: {live}");
    }
    if fragment {
        return json_response(&json!({"rows": render("rows.html", &ctx), "summary": live}));
    }
    ctx["summary"] = json!(live);
    match k.slug {
        "workspaces" => {
            let dirs = call_all(
                req,
                Op::Ws(ws::Operation::DescribeWorkspaceDirectories),
                json!({}),
                "Directories",
            )
            .await
            .unwrap_or_default();
            ctx["directories"] = J::Array(
                dirs.iter()
                    .map(|d| json!({"id": text(d.get("DirectoryId")), "name": text(d.get("DirectoryName")), "state": text(d.get("State"))}))
                    .collect(),
            );
            let bundles = list_items(req, kind("bundles").expect("bundles kind"))
                .await
                .unwrap_or_default();
            ctx["bundles"] = J::Array(
                bundles
                    .iter()
                    .map(|b| json!({"id": text(b.get("BundleId")), "name": text(b.get("Name")), "owner": text(b.get("Owner"))}))
                    .collect(),
            );
        }
        "pools" => {
            ctx["directories"] =
                options(req, "directories", |d| text(d.get("WorkspaceType")) == "POOLS").await;
            ctx["bundles"] = options(req, "bundles", |_| true).await;
        }
        "directories" => {
            let ds_dirs = call_all(
                req,
                Op::Ds(ds::Operation::DescribeDirectories),
                json!({}),
                "DirectoryDescriptions",
            )
            .await
            .unwrap_or_default();
            let registered: Vec<String> = call_all(
                req,
                Op::Ws(ws::Operation::DescribeWorkspaceDirectories),
                json!({}),
                "Directories",
            )
            .await
            .unwrap_or_default()
            .iter()
            .map(|d| text(d.get("DirectoryId")))
            .collect();
            ctx["ds_directories"] = J::Array(
                ds_dirs
                    .iter()
                    .map(|d| {
                        let id = text(d.get("DirectoryId"));
                        json!({
                            "id": id, "name": text(d.get("Name")), "type": text(d.get("Type")),
                            "size": text(d.get("Size")), "stage": text(d.get("Stage")),
                            "registered": registered.contains(&id),
                        })
                    })
                    .collect(),
            );
        }
        _ => {}
    }
    html(StatusCode::OK, render("list.html", &ctx))
}

/// `{id, label}` choices for a form's select: every item of a kind (bundles: the account's
/// own and AMAZON's) that `keep` accepts.
async fn options(req: &Req<'_>, slug: &str, keep: impl Fn(&J) -> bool) -> J {
    let Some(k) = kind(slug) else { return json!([]) };
    let items = list_items(req, k).await.unwrap_or_default();
    J::Array(
        items
            .iter()
            .filter(|i| keep(i))
            .map(|i| {
                let id = text(at(i, k.id_key));
                let name = k.columns.get(1).map(|(_, p)| text(at(i, p))).unwrap_or_default();
                let state = k.state_key.map(|p| text(at(i, p))).unwrap_or_default();
                let label = match (name.is_empty(), state.is_empty()) {
                    (true, true) => id.clone(),
                    (false, true) => format!("{id} – {name}"),
                    (true, false) => format!("{id} ({state})"),
                    (false, false) => format!("{id} – {name} ({state})"),
                };
                json!({"id": id, "label": label})
            })
            .collect(),
    )
}

/// One resource by id (`None` when it does not exist).
pub(crate) async fn find(req: &Req<'_>, k: &Kind, id: &str) -> Result<Option<J>, CallError> {
    let mut input = serde_json::Map::new();
    input.insert(k.ids_member.to_string(), json!([id]));
    let out = call(req, Op::Ws(k.op), J::Object(input)).await?;
    Ok(out
        .get(k.list_key)
        .and_then(|v| v.as_array())
        .and_then(|a| a.iter().find(|it| text(at(it, k.id_key)) == id).cloned()))
}

async fn detail(req: &Req<'_>, k: &'static Kind, id: &str, fragment: bool) -> Response<Full<Bytes>> {
    let item = match find(req, k, id).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return message_page(
                Some(req),
                StatusCode::NOT_FOUND,
                "Not found",
                &format!(
                    "There is no {} {id} in account {} and Region {}.",
                    k.singular, req.scope.account, req.scope.region
                ),
            )
        }
        // An id of the wrong shape is refused by validation: say so in AWS's words.
        Err(e) => return error_page(req, &e),
    };
    let state = k.state_key.map(|s| text(at(&item, s))).unwrap_or_default();
    let mut ctx = req.base_context(k.slug, &format!("{} {id}", k.singular));
    ctx["kind"] =
        json!({"slug": k.slug, "title": k.title, "singular": k.singular, "live": k.state_key.is_some()});
    ctx["id"] = json!(id);
    ctx["state"] = json!(state);
    if fragment {
        return json_response(&json!({
            "rows": render("rows.html", &json!({"badge_only": true, "state": state})),
            "summary": format!("{} {id}: {state}", k.singular),
        }));
    }
    let mut props = Vec::new();
    flatten("", &item, &mut props);
    ctx["props"] = J::Array(props);
    let is_amazon_bundle = k.slug == "bundles" && text(item.get("Owner")).eq_ignore_ascii_case("AMAZON");
    if k.tags && !is_amazon_bundle {
        match call(
            req,
            Op::Ws(ws::Operation::DescribeTags),
            json!({"ResourceId": id}),
        )
        .await
        {
            Ok(t) => ctx["tags"] = t.get("TagList").cloned().unwrap_or_else(|| json!([])),
            Err(e) => ctx["tags_error"] = json!(e.plain()),
        }
        ctx["taggable"] = json!(true);
    }
    match k.slug {
        "workspaces" => {
            let p = item.get("WorkspaceProperties").cloned().unwrap_or(J::Null);
            ctx["ws"] = json!({
                "running_mode": text(p.get("RunningMode")),
                "timeout": text(p.get("RunningModeAutoStopTimeoutInMinutes")),
                "root": text(p.get("RootVolumeSizeGib")),
                "user": text(p.get("UserVolumeSizeGib")),
                "compute": text(p.get("ComputeTypeName")),
            });
            ctx["compute_types"] = json!(COMPUTE_TYPES);
        }
        "images" => {
            ctx["own"] = json!(text(item.get("OwnerAccountId")) == req.scope.account.as_str());
            ctx["regions"] = json!(super::REGIONS);
            ctx["compute_types"] = json!(COMPUTE_TYPES);
            if let Ok(p) = call_all(
                req,
                Op::Ws(ws::Operation::DescribeWorkspaceImagePermissions),
                json!({"ImageId": id}),
                "ImagePermissions",
            )
            .await
            {
                ctx["shared_with"] =
                    J::Array(p.iter().map(|x| json!(text(x.get("SharedAccountId")))).collect());
            }
        }
        "bundles" => {
            ctx["own"] = json!(!is_amazon_bundle);
            ctx["images"] = options(req, "images", |i| text(i.get("State")) == "AVAILABLE").await;
        }
        "aliases" => {
            ctx["own"] = json!(text(item.get("OwnerAccountId")) == req.scope.account.as_str());
            ctx["associations"] = item.get("Associations").cloned().unwrap_or_else(|| json!([]));
            ctx["directories"] = options(req, "directories", |_| true).await;
            if let Ok(p) = call_all(
                req,
                Op::Ws(ws::Operation::DescribeConnectionAliasPermissions),
                json!({"AliasId": id}),
                "ConnectionAliasPermissions",
            )
            .await
            {
                ctx["shared_with"] = J::Array(
                    p.iter()
                        .filter(|x| x.get("AllowAssociation") == Some(&json!(true)))
                        .map(|x| json!(text(x.get("SharedAccountId"))))
                        .collect(),
                );
            }
        }
        "pools" => {
            ctx["pool"] = json!({
                "description": text(item.get("Description")),
                "desired": text(at(&item, "CapacityStatus.DesiredUserSessions")),
                "running_mode": text(item.get("RunningMode")),
                "bundle": text(item.get("BundleId")),
            });
            ctx["bundles"] = options(req, "bundles", |_| true).await;
            match call_all(
                req,
                Op::Ws(ws::Operation::DescribeWorkspacesPoolSessions),
                json!({"PoolId": id}),
                "Sessions",
            )
            .await
            {
                Ok(sessions) => ctx["sessions"] = J::Array(
                    sessions
                        .iter()
                        .map(|x| {
                            json!({
                                "id": text(x.get("SessionId")), "user": text(x.get("UserId")),
                                "state": text(x.get("ConnectionState")), "start": text(x.get("StartTime")),
                                "expires": text(x.get("ExpirationTime")),
                            })
                        })
                        .collect(),
                ),
                Err(e) => ctx["sessions_error"] = json!(e.plain()),
            }
        }
        "directories" => {
            let sp = item.get("SelfservicePermissions").cloned().unwrap_or(J::Null);
            ctx["selfservice"] = J::Array(
                super::families::SELFSERVICE
                    .iter()
                    .map(|m| json!({"name": m, "value": text(sp.get(*m))}))
                    .collect(),
            );
            let ap = item.get("WorkspaceAccessProperties").cloned().unwrap_or(J::Null);
            ctx["access"] = J::Array(
                super::families::DEVICE_TYPES
                    .iter()
                    .map(|m| json!({"name": m, "label": m.trim_start_matches("DeviceType"), "value": text(ap.get(*m))}))
                    .collect(),
            );
            let cp = item
                .get("WorkspaceCreationProperties")
                .cloned()
                .unwrap_or(J::Null);
            ctx["creation"] = json!({
                "EnableInternetAccess": text(cp.get("EnableInternetAccess")),
                "EnableMaintenanceMode": text(cp.get("EnableMaintenanceMode")),
                "UserEnabledAsLocalAdministrator": text(cp.get("UserEnabledAsLocalAdministrator")),
                "DefaultOu": text(cp.get("DefaultOu")),
                "CustomSecurityGroupId": text(cp.get("CustomSecurityGroupId")),
            });
            let assoc: Vec<String> = item
                .get("ipGroupIds")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|g| text(Some(g))).collect())
                .unwrap_or_default();
            ctx["ip_groups_on"] = json!(assoc);
            ctx["ip_groups"] = options(req, "ip-groups", |g| !assoc.contains(&text(g.get("groupId")))).await;
        }
        "ip-groups" => {
            let rules: Vec<String> = item
                .get("userRules")
                .and_then(|r| r.as_array())
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            let d = text(r.get("ruleDesc"));
                            if d.is_empty() {
                                text(r.get("ipRule"))
                            } else {
                                format!("{} {d}", text(r.get("ipRule")))
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            ctx["rules_text"] = json!(rules.join("\n"));
        }
        _ => {}
    }
    html(StatusCode::OK, render("detail.html", &ctx))
}

/// Compute types a WorkSpace or bundle may have.
const COMPUTE_TYPES: &[&str] = &[
    "VALUE",
    "STANDARD",
    "PERFORMANCE",
    "POWER",
    "GRAPHICS",
    "POWERPRO",
    "GRAPHICSPRO",
    "GRAPHICS_G4DN",
    "GRAPHICSPRO_G4DN",
    "GENERALPURPOSE_4XLARGE",
    "GENERALPURPOSE_8XLARGE",
];

/// The account page: BYOL (dedicated tenancy) settings and their modifications, and account
/// links, each read through its API operation.
async fn account(req: &Req<'_>) -> Response<Full<Bytes>> {
    let mut ctx = req.base_context("account", "Account");
    match call(req, Op::Ws(ws::Operation::DescribeAccount), json!({})).await {
        Ok(a) => {
            ctx["tenancy"] = json!({
                "support": text(a.get("DedicatedTenancySupport")),
                "cidr": text(a.get("DedicatedTenancyManagementCidrRange")),
                "type": text(a.get("DedicatedTenancyAccountType")),
                "message": text(a.get("Message")),
            })
        }
        Err(e) => return error_page(req, &e),
    }
    // Ranges to offer (an account that may not use BYOL is refused: then none are offered).
    if let Ok(r) = call(
        req,
        Op::Ws(ws::Operation::ListAvailableManagementCidrRanges),
        json!({"ManagementCidrRangeConstraint": "10.0.0.0/8", "MaxResults": 5}),
    )
    .await
    {
        ctx["cidr_ranges"] = r
            .get("ManagementCidrRanges")
            .cloned()
            .unwrap_or_else(|| json!([]));
    }
    match call(
        req,
        Op::Ws(ws::Operation::DescribeAccountModifications),
        json!({}),
    )
    .await
    {
        Ok(m) => {
            let mods: Vec<J> = m
                .get("AccountModifications")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            json!({
                                "status": text(x.get("ModificationState")),
                                "support": text(x.get("DedicatedTenancySupport")),
                                "cidr": text(x.get("DedicatedTenancyManagementCidrRange")),
                                "start": text(x.get("StartTime")),
                                "error": text(x.get("ErrorMessage")),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            ctx["modifications"] = J::Array(mods);
        }
        Err(e) => ctx["modifications_error"] = json!(e.plain()),
    }
    match call_all(
        req,
        Op::Ws(ws::Operation::ListAccountLinks),
        json!({}),
        "AccountLinks",
    )
    .await
    {
        Ok(links) => {
            let me = req.scope.account.to_string();
            ctx["links"] = J::Array(
                links
                    .iter()
                    .map(|l| {
                        let target = text(l.get("TargetAccountId"));
                        json!({
                            "id": text(l.get("AccountLinkId")), "status": text(l.get("AccountLinkStatus")),
                            "source": text(l.get("SourceAccountId")), "target": target,
                            "incoming": target == me,
                        })
                    })
                    .collect(),
            );
        }
        Err(e) => ctx["links_error"] = json!(e.plain()),
    }
    html(StatusCode::OK, render("account.html", &ctx))
}

/// Activity entries per page.
const ACTIVITY_PAGE: usize = 100;

/// The activity log, filtered by the query (`op`, `resource`, `status`, `protocol`, and
/// `all_accounts=1` in open mode).
fn activity(req: &Req<'_>) -> Response<Full<Bytes>> {
    let op = req.q("op").unwrap_or("").trim().to_string();
    let resource = req.q("resource").unwrap_or("").trim().to_string();
    let status = req.q("status").unwrap_or("").to_string();
    let protocol = req.q("protocol").unwrap_or("").to_string();
    let all_accounts = req.viewer.fixed_account.is_none() && req.q("all_accounts").is_some();
    let account = req.scope.account.to_string();
    let total = req.app.activity.len();
    let skip: usize = req.q("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut entries: Vec<J> = req
        .app
        .activity
        .newest_first()
        .into_iter()
        .filter(|e| all_accounts || e.account == account)
        .filter(|e| op.is_empty() || e.operation.to_lowercase().contains(&op.to_lowercase()))
        .filter(|e| resource.is_empty() || e.resource.contains(&resource))
        .filter(|e| match status.as_str() {
            "ok" => e.status < 400,
            "error" => e.status >= 400,
            _ => true,
        })
        .filter(|e| protocol.is_empty() || e.protocol == protocol)
        .skip(skip)
        .take(ACTIVITY_PAGE + 1)
        .map(|e| {
            json!({
                "time": super::iso_time(e.time), "account": e.account, "region": e.region,
                "operation": e.operation, "resource": e.resource, "protocol": e.protocol,
                "status": e.status, "ok": e.status < 400, "request_id": e.request_id,
            })
        })
        .collect();
    let more = entries.len() > ACTIVITY_PAGE;
    entries.truncate(ACTIVITY_PAGE);
    let mut ctx = req.base_context("activity", "Activity");
    let filter_q: String = [
        ("op", &op),
        ("resource", &resource),
        ("status", &status),
        ("protocol", &protocol),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("&{k}={}", super::pct(v)))
    .chain(all_accounts.then(|| "&all_accounts=1".to_string()))
    .collect();
    let here = format!("/console/activity?{}{filter_q}", req.scope_query());
    ctx["first_href"] = json!((skip > 0).then(|| here.clone()));
    ctx["next_href"] = json!(more.then(|| format!("{here}&skip={}", skip + ACTIVITY_PAGE)));
    ctx["entries"] = J::Array(entries);
    ctx["total"] = json!(total);
    ctx["capacity"] = json!(super::activity::CAPACITY);
    ctx["filter"] = json!({
        "op": op, "resource": resource, "status": status, "protocol": protocol, "all_accounts": all_accounts,
    });
    html(StatusCode::OK, render("activity.html", &ctx))
}
