//! Admin routes for tests and demos, under `/_localspaces/` (they cannot collide with the
//! API's `POST /` and `/service/…`):
//!
//! | route | effect |
//! |---|---|
//! | `GET /_localspaces/health` | `{"status":"ok"}` (always open) |
//! | `POST /_localspaces/settle` | applies every pending lifecycle transition now |
//! | `POST /_localspaces/advance?seconds=N` | moves the service clock N seconds ahead, applies what became due |
//! | `POST /_localspaces/reset?account=A&region=R` | deletes every resource of that account and Region |
//! | `POST /_localspaces/connection?account=A&region=R&workspace_id=ws-…&state=CONNECTED\|DISCONNECTED` | (account: the default one, region: us-east-1 unless given) marks the WorkSpace's user connected or not (AUTO_STOP WorkSpaces stop after their timeout when disconnected) |
//! | `POST /_localspaces/byol?account=A&region=R&eligible=true\|false` | makes an account BYOL-eligible (ModifyAccount, ListAvailableManagementCidrRanges) or not |
//! | `POST /_localspaces/core?account=A&region=R&enabled=true\|false` | makes an account a WorkSpaces Core account (running mode MANUAL allowed) or not |
//! | `POST /_localspaces/pools-new-customer?account=A&region=R&enabled=true\|false` | treats an account as a new customer of WorkSpaces Pools (CreateWorkspacesPool refused, as AWS does since 2026-07-30) or not |
//! | `POST /_localspaces/workspace-state?account=A&region=R&workspace_id=ws-…&state=S` | forces a WorkSpace into state S (ERROR, UNHEALTHY, IMPAIRED, …: states no API reaches) |
//! | `POST /_localspaces/pool-session?account=A&region=R&pool_id=wspool-…&user=U` | user U logs into a RUNNING WorkSpaces Pool with available capacity (a user with a session gets it back): answers `{"session_id": …}`; DescribeWorkspacesPoolSessions shows the session |
//! | `POST /_localspaces/desktop-exec?account=A&region=R&workspace_id=ws-…` | runs a command in the WorkSpace's desktop sandbox (`--desktops local`; see [`crate::desktop::exec`]) |
//!
//! Requests must carry `X-Localspaces-Admin: 1` (or the token header) and no `Origin`, so
//! that no web page can call them (a custom header needs a CORS preflight, never granted).
//! Only the admin identity may call them: the `X-Localspaces-Admin-Token` header when the
//! server has `--admin-token`; otherwise anyone in `--auth open` and nobody in `--auth strict`.

use crate::app::App;
use crate::service::Service;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use localspaces_api::error::ErrorTable;
use localspaces_store::Scope;
use std::sync::Arc;

/// Prefix of the admin routes.
pub const PREFIX: &str = "/_localspaces/";

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The decoded `key=value` pairs of a request's query string.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(parts: &hyper::http::request::Parts) -> Self {
        let q = parts.uri.query().unwrap_or("");
        Query(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }
    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request may have been sent by a web page, which admin routes refuse: it carries
/// `Origin` or a `Sec-Fetch-Site` other than `none` (browsers add them), or it lacks the
/// `X-Localspaces-Admin` (or token) header, a header no page can add to a cross-site request
/// without a CORS preflight, which these routes never grant.
fn cross_site(parts: &hyper::http::request::Parts) -> Option<&'static str> {
    let h = &parts.headers;
    if h.contains_key("origin") {
        return Some("admin routes refuse requests from web pages (Origin header)");
    }
    if h.get("sec-fetch-site").is_some_and(|v| v.as_bytes() != b"none") {
        return Some("admin routes refuse requests from web pages (Sec-Fetch-Site header)");
    }
    if !h.contains_key("x-localspaces-admin") && !h.contains_key("x-localspaces-admin-token") {
        return Some("admin routes need the header X-Localspaces-Admin: 1 (or X-Localspaces-Admin-Token)");
    }
    None
}

fn authorized(app: &App, parts: &hyper::http::request::Parts) -> bool {
    use subtle::ConstantTimeEq;
    match &app.admin_token {
        Some(token) => parts
            .headers
            .get("x-localspaces-admin-token")
            .is_some_and(|v| bool::from(v.as_bytes().ct_eq(token.as_bytes()))),
        None => app.admin_open,
    }
}

/// Why an admin request is refused (403), if it is: sent the way a web page could send it
/// cross-site, or without the admin identity. Every admin route but `health` asks this.
pub(crate) fn refusal(app: &App, parts: &hyper::http::request::Parts) -> Option<Response<Full<Bytes>>> {
    if let Some(why) = cross_site(parts) {
        return Some(json(StatusCode::FORBIDDEN, serde_json::json!({"message": why})));
    }
    if !authorized(app, parts) {
        return Some(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "admin routes need the admin token"}),
        ));
    }
    None
}

/// Answers an admin route; `None` when the path is not under [`PREFIX`].
pub async fn route(app: &Arc<App>, parts: &hyper::http::request::Parts) -> Option<Response<Full<Bytes>>> {
    let rest = parts.uri.path().strip_prefix(PREFIX)?;
    if parts.method == Method::GET && rest == "health" {
        return Some(json(
            StatusCode::OK,
            serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
        ));
    }
    if let Some(refused) = refusal(app, parts) {
        return Some(refused);
    }
    if parts.method != Method::POST {
        return Some(json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "no such admin route"}),
        ));
    }
    let service = Arc::clone(&app.service);
    let q = Query::parse(parts);
    let result = match rest {
        "settle" => {
            blocking(move || {
                service
                    .engine()
                    .settle(service.as_ref())
                    .map(|n| serde_json::json!({"applied": n}))
            })
            .await
        }
        "advance" => {
            let Some(secs) = q.get("seconds").and_then(|s| s.parse::<f64>().ok()) else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "seconds must be a non-negative number"}),
                ));
            };
            if let Err(message) = app.clock.advance(secs) {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": message}),
                ));
            }
            let offset = app.clock.offset();
            blocking(move || {
                service
                    .engine()
                    .run_due(service.as_ref())
                    .map(|n| serde_json::json!({"applied": n, "clock_offset_seconds": offset}))
            })
            .await
        }
        "reset" => {
            let (Some(account), Some(region)) = (q.get("account"), q.get("region")) else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "account and region are required"}),
                ));
            };
            let scope = Scope::new(account, region);
            blocking(move || {
                service
                    .store()
                    .clear_scope(&scope)
                    .map(|n| serde_json::json!({"deleted": n}))
            })
            .await
        }
        "byol" => {
            return Some(
                account_flag(
                    app,
                    &q,
                    "eligible",
                    "byol_eligible",
                    Service::admin_set_byol_eligible,
                )
                .await,
            )
        }
        "core" => {
            return Some(account_flag(app, &q, "enabled", "workspaces_core", Service::admin_set_core).await)
        }
        "pools-new-customer" => {
            return Some(
                account_flag(
                    app,
                    &q,
                    "enabled",
                    "pools_new_customer",
                    Service::admin_set_pools_new_customer,
                )
                .await,
            )
        }
        "pool-session" => {
            let (account, region) = account_region(app, &q);
            let (Some(pool), Some(user)) = (q.get("pool_id"), q.get("user")) else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "pool_id and user are required"}),
                ));
            };
            let (scope, pool, user) = (Scope::new(account, region), pool.to_string(), user.to_string());
            let outcome =
                tokio::task::spawn_blocking(move || service.admin_open_pool_session(&scope, &pool, &user))
                    .await;
            return Some(service_answer(
                outcome,
                |id| serde_json::json!({"session_id": id}),
            ));
        }
        "connection" | "workspace-state" => {
            let (account, region) = account_region(app, &q);
            let (Some(id), Some(state)) = (q.get("workspace_id"), q.get("state")) else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "workspace_id and state are required"}),
                ));
            };
            let connected = match (rest, state) {
                ("connection", "CONNECTED") => Some(true),
                ("connection", "DISCONNECTED") => Some(false),
                ("connection", _) => {
                    return Some(json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"message": "state must be CONNECTED or DISCONNECTED"}),
                    ))
                }
                _ => None,
            };
            let (scope, id, state, route) = (
                Scope::new(account, region),
                id.to_string(),
                state.to_string(),
                rest.to_string(),
            );
            let outcome = tokio::task::spawn_blocking(move || match connected {
                Some(c) => service.admin_set_connection(&scope, &id, c),
                None => service.admin_force_state(&scope, &id, &state),
            })
            .await;
            return Some(service_answer(
                outcome,
                |()| serde_json::json!({"route": route, "ok": true}),
            ));
        }
        _ => {
            return Some(json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"message": "no such admin route"}),
            ))
        }
    };
    Some(match result {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => {
            tracing::error!(error = %e, "admin route failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"message": "internal error"}),
            )
        }
    })
}

async fn blocking(
    f: impl FnOnce() -> Result<serde_json::Value, localspaces_store::StoreError> + Send + 'static,
) -> Result<serde_json::Value, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// An account flag of one (account, Region), set from the query: `param` must be `true` or
/// `false`; the answer names the flag as `key`.
async fn account_flag(
    app: &Arc<App>,
    q: &Query,
    param: &str,
    key: &'static str,
    set: fn(&Service, &Scope, bool) -> Result<(), localspaces_api::workspaces::Error>,
) -> Response<Full<Bytes>> {
    let (account, region) = account_region(app, q);
    let value = match q.get(param) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"message": format!("{param} must be true or false")}),
            )
        }
    };
    let scope = Scope::new(account, region);
    let service = Arc::clone(&app.service);
    match tokio::task::spawn_blocking(move || set(&service, &scope, value)).await {
        Ok(Ok(())) => json(StatusCode::OK, serde_json::json!({ key: value })),
        _ => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"message": "internal error"}),
        ),
    }
}

/// The `account` and `region` of an admin query (the default account and `us-east-1` when
/// absent).
fn account_region(app: &App, q: &Query) -> (String, String) {
    let account = q
        .get("account")
        .map(str::to_string)
        .unwrap_or_else(|| app.auth.default_account().to_string());
    (account, q.get("region").unwrap_or("us-east-1").to_string())
}

/// The answer of an admin hook run on the blocking pool: `ok`'s JSON, or the service's error
/// (404 for a missing resource, 400 otherwise), or 500 when the hook could not run.
fn service_answer<T>(
    outcome: Result<Result<T, localspaces_api::workspaces::Error>, tokio::task::JoinError>,
    ok: impl FnOnce(T) -> serde_json::Value,
) -> Response<Full<Bytes>> {
    match outcome {
        Ok(Ok(v)) => json(StatusCode::OK, ok(v)),
        Ok(Err(e)) => {
            let status = if e.code.name() == "ResourceNotFoundException" {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            json(
                status,
                serde_json::json!({"__type": e.code.name(), "message": e.message}),
            )
        }
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"message": "internal error"}),
        ),
    }
}
