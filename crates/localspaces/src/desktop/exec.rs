//! `POST /_localspaces/desktop-exec?account=A&region=R&workspace_id=ws-…` with a JSON body
//! `{"command": ["sh", "-c", "…"], "user": "root", "timeout_seconds": 30}` (`user` and
//! `timeout_seconds` optional) runs a command in the WorkSpace's sandbox (over its volumes and
//! display; as its user, or as the sandbox's own root) and answers
//! `{"exit_code": …, "stdout": …, "stderr": …, "timed_out": …}` (each stream cut at 1 MiB).
//! Same protection as the other admin routes.

use super::DesktopKey;
use crate::app::App;
use crate::membership::Home;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use localspaces_store::Scope;
use std::sync::Arc;
use std::time::Duration;

/// The route's path.
pub const PATH: &str = "/_localspaces/desktop-exec";
/// Default and largest command timeout, in seconds.
const DEFAULT_TIMEOUT: u64 = 30;
const MAX_TIMEOUT: u64 = 600;

/// True for the desktop-exec route.
pub fn is_exec_path(path: &str) -> bool {
    path == PATH
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn refuse(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, serde_json::json!({ "message": message }))
}

/// The request body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecRequest {
    command: Vec<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
}

/// Answers the route.
pub async fn route(
    app: &Arc<App>,
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Response<Full<Bytes>> {
    // A replica relaying the call checked the admin token already.
    let relayed = super::relay::is_relayed(app, parts);
    if !relayed {
        if let Some(refused) = crate::admin::refusal(app, parts) {
            return refused;
        }
    }
    if parts.method != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "desktop-exec answers POST");
    }
    let q = |name: &str| -> Option<String> {
        parts.uri.query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    };
    let account = q("account").unwrap_or_else(|| app.auth.default_account().to_string());
    let region = q("region").unwrap_or_else(|| "us-east-1".to_string());
    let Some(id) = q("workspace_id") else {
        return refuse(StatusCode::BAD_REQUEST, "workspace_id is required");
    };
    let Some(driver) = app.service.desktops() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "this server runs without desktops (--desktops none)",
        );
    };
    let Some(key) = DesktopKey::new(&account, &region, &id) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid account, region or workspace_id");
    };
    let bytes = match Limited::new(body, 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB"),
    };
    let req: ExecRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")),
    };
    if req.command.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "command must not be empty");
    }
    let as_root = match req.user.as_deref() {
        None | Some("user") => false,
        Some("root") => true,
        Some(other) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("user {other:?}: one of \"user\" (the default) or \"root\""),
            )
        }
    };
    let timeout = Duration::from_secs(
        req.timeout_seconds
            .unwrap_or(DEFAULT_TIMEOUT)
            .clamp(1, MAX_TIMEOUT),
    );
    let scope = Scope::new(account, region);
    // Several replicas: the desktop may run on another one.
    match super::relay::place(app, &scope, &key.workspace_id).await {
        Home::Here => {}
        Home::Peer { url, .. } if !relayed => {
            let path = format!(
                "{PATH}?account={}&region={}&workspace_id={}",
                key.account, key.region, key.workspace_id
            );
            return super::relay::exec(app, &url, &path, bytes, timeout).await;
        }
        Home::Peer { .. } => {
            return refuse(
                StatusCode::CONFLICT,
                &super::relay::misrouted_message(&key.workspace_id),
            )
        }
        Home::Lost { id: replica } => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &super::relay::lost_message(&key.workspace_id, &replica),
            )
        }
    }
    let svc = Arc::clone(&app.service);
    let res = tokio::task::spawn_blocking(move || {
        if svc.desktop_state(&scope, &key.workspace_id).is_none() {
            return Err((
                StatusCode::NOT_FOUND,
                format!("There is no WorkSpace {}.", key.workspace_id),
            ));
        }
        driver
            .exec(&key, &req.command, as_root, timeout)
            .map_err(|e| (StatusCode::CONFLICT, e))
    })
    .await;
    match res {
        Ok(Ok(out)) => json(StatusCode::OK, serde_json::to_value(out).unwrap_or_default()),
        Ok(Err((status, msg))) => refuse(status, &msg),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the command's runner failed"),
    }
}

/// `localspaces desktop exec`: calls the route on a running server and prints the command's
/// output; answers its exit code.
pub fn cli(
    endpoint: &str,
    account: Option<&str>,
    region: &str,
    admin_token: Option<&str>,
    workspace_id: &str,
    user: Option<&str>,
    command: &[String],
) -> anyhow::Result<i32> {
    let mut url = format!(
        "{}{PATH}?region={region}&workspace_id={workspace_id}",
        endpoint.trim_end_matches('/')
    );
    if let Some(a) = account {
        url.push_str(&format!("&account={a}"));
    }
    let mut body = serde_json::json!({ "command": command });
    if let Some(u) = user {
        body["user"] = serde_json::Value::String(u.to_string());
    }
    let mut req = ureq::post(&url)
        .set("content-type", "application/json")
        .set("x-localspaces-admin", "1");
    if let Some(t) = admin_token {
        req = req.set("x-localspaces-admin-token", t);
    }
    let resp = match req.send_string(&body.to_string()) {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            anyhow::bail!("desktop-exec answered {code}: {text}");
        }
        Err(e) => anyhow::bail!("cannot reach {endpoint}: {e}"),
    };
    let out: serde_json::Value = serde_json::from_str(&resp.into_string()?)?;
    print!("{}", out["stdout"].as_str().unwrap_or(""));
    eprint!("{}", out["stderr"].as_str().unwrap_or(""));
    if out["timed_out"].as_bool() == Some(true) {
        eprintln!("localspaces: the command timed out");
        return Ok(124);
    }
    Ok(out["exit_code"]
        .as_i64()
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(1))
}
