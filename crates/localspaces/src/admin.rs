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
//!
//! Only the admin identity may call them: the `X-Localspaces-Admin-Token` header when the
//! server has `--admin-token`; otherwise anyone in `--auth open` and nobody in `--auth strict`.

use crate::edge::App;
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

fn query_param<'a>(parts: &'a hyper::http::request::Parts, name: &str) -> Option<&'a str> {
    parts.uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

pub(crate) fn authorized(app: &App, parts: &hyper::http::request::Parts) -> bool {
    match &app.admin_token {
        Some(token) => parts
            .headers
            .get("x-localspaces-admin-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| subtle_eq(v.as_bytes(), token.as_bytes())),
        None => app.admin_open,
    }
}

/// Constant-time comparison for the admin token.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    if !authorized(app, parts) {
        return Some(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"message": "admin routes need the admin token"}),
        ));
    }
    if parts.method != Method::POST {
        return Some(json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"message": "no such admin route"}),
        ));
    }
    let service = Arc::clone(&app.service);
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
            let Some(secs) = query_param(parts, "seconds")
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
            else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "seconds must be a non-negative number"}),
                ));
            };
            app.clock.advance(secs);
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
            let (Some(account), Some(region)) = (query_param(parts, "account"), query_param(parts, "region"))
            else {
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
            let account = query_param(parts, "account")
                .map(str::to_string)
                .unwrap_or_else(|| app.auth.default_account().to_string());
            let region = query_param(parts, "region").unwrap_or("us-east-1").to_string();
            let eligible = match query_param(parts, "eligible") {
                Some("true") => true,
                Some("false") => false,
                _ => {
                    return Some(json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"message": "eligible must be true or false"}),
                    ))
                }
            };
            let scope = Scope::new(account, region);
            let outcome =
                tokio::task::spawn_blocking(move || service.admin_set_byol_eligible(&scope, eligible)).await;
            return Some(match outcome {
                Ok(Ok(())) => json(StatusCode::OK, serde_json::json!({"byol_eligible": eligible})),
                _ => json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"message": "internal error"}),
                ),
            });
        }
        "core" => {
            let account = query_param(parts, "account")
                .map(str::to_string)
                .unwrap_or_else(|| app.auth.default_account().to_string());
            let region = query_param(parts, "region").unwrap_or("us-east-1").to_string();
            let core = match query_param(parts, "enabled") {
                Some("true") => true,
                Some("false") => false,
                _ => {
                    return Some(json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"message": "enabled must be true or false"}),
                    ))
                }
            };
            let scope = Scope::new(account, region);
            let outcome = tokio::task::spawn_blocking(move || service.admin_set_core(&scope, core)).await;
            return Some(match outcome {
                Ok(Ok(())) => json(StatusCode::OK, serde_json::json!({"workspaces_core": core})),
                _ => json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"message": "internal error"}),
                ),
            });
        }
        "pools-new-customer" => {
            let account = query_param(parts, "account")
                .map(str::to_string)
                .unwrap_or_else(|| app.auth.default_account().to_string());
            let region = query_param(parts, "region").unwrap_or("us-east-1").to_string();
            let enabled = match query_param(parts, "enabled") {
                Some("true") => true,
                Some("false") => false,
                _ => {
                    return Some(json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"message": "enabled must be true or false"}),
                    ))
                }
            };
            let scope = Scope::new(account, region);
            let outcome =
                tokio::task::spawn_blocking(move || service.admin_set_pools_new_customer(&scope, enabled))
                    .await;
            return Some(match outcome {
                Ok(Ok(())) => json(StatusCode::OK, serde_json::json!({"pools_new_customer": enabled})),
                _ => json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"message": "internal error"}),
                ),
            });
        }
        "pool-session" => {
            let account = query_param(parts, "account")
                .map(str::to_string)
                .unwrap_or_else(|| app.auth.default_account().to_string());
            let region = query_param(parts, "region").unwrap_or("us-east-1").to_string();
            let (Some(pool), Some(user)) = (query_param(parts, "pool_id"), query_param(parts, "user")) else {
                return Some(json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"message": "pool_id and user are required"}),
                ));
            };
            let (scope, pool, user) = (
                Scope::new(account, region),
                pool.to_string(),
                percent_decode(user),
            );
            let outcome =
                tokio::task::spawn_blocking(move || service.admin_open_pool_session(&scope, &pool, &user))
                    .await;
            return Some(match outcome {
                Ok(Ok(id)) => json(StatusCode::OK, serde_json::json!({"session_id": id})),
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
            });
        }
        "connection" | "workspace-state" => {
            let account = query_param(parts, "account")
                .map(str::to_string)
                .unwrap_or_else(|| app.auth.default_account().to_string());
            let region = query_param(parts, "region").unwrap_or("us-east-1").to_string();
            let (Some(id), Some(state)) = (query_param(parts, "workspace_id"), query_param(parts, "state"))
            else {
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
            return Some(match outcome {
                Ok(Ok(())) => json(StatusCode::OK, serde_json::json!({"route": route, "ok": true})),
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
            });
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

/// Decodes `%XX` escapes and `+` (query values such as user names with `@`).
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied(), bytes.get(i + 2).copied()) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
