//! The console's desktop stream: `GET /console/workspaces/<ws-id>/rfb?account=&region=`
//! upgrades to a WebSocket whose binary frames carry the RFB stream of the WorkSpace's
//! desktop, proxied to the display's Unix socket.
//!
//! Access follows the console's rules: same-origin only; any account in `--auth open`, only a
//! signed-in session for that account in `--auth strict`. While a viewer is attached the
//! WorkSpace shows CONNECTED; when the last one leaves it shows DISCONNECTED (an AUTO_STOP
//! WorkSpace's idle timer starts then). Connecting to a STOPPED AUTO_STOP WorkSpace starts it
//! and waits for its desktop. A viewer silent for [`IDLE`] (no frame, not even a pong to the
//! server's pings) is dropped.

use super::{relay, DesktopKey};
use crate::app::App;
use crate::membership::Home;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use localspaces_store::Scope;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Message, Role};
use tokio_tungstenite::WebSocketStream;

/// A viewer that sends nothing for this long is disconnected.
pub const IDLE: Duration = Duration::from_secs(90);
/// How often the server pings an attached viewer.
const PING: Duration = Duration::from_secs(20);
/// How long connecting to a STOPPED AUTO_STOP WorkSpace waits for its desktop: a VM's boot
/// under emulation on a busy host can take minutes (AWS's own start takes minutes too).
const START_WAIT: Duration = Duration::from_secs(240);

fn text(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{msg}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The WorkSpace id of an RFB path, if `path` is one.
pub fn workspace_of(path: &str) -> Option<&str> {
    path.strip_prefix("/console/workspaces/")?.strip_suffix("/rfb")
}

fn query<'a>(parts: &'a hyper::http::request::Parts, name: &str) -> Option<&'a str> {
    parts.uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty()).then_some(v)
    })
}

/// Answers the RFB WebSocket route; `None` when `parts` is not that route.
pub async fn route(app: &Arc<App>, parts: &mut hyper::http::request::Parts) -> Option<Response<Full<Bytes>>> {
    let id = workspace_of(parts.uri.path())?.to_string();
    Some(upgrade(app, parts, &id).await)
}

async fn upgrade(app: &Arc<App>, parts: &mut hyper::http::request::Parts, id: &str) -> Response<Full<Bytes>> {
    if parts.method != Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "The desktop stream answers GET (a WebSocket upgrade).",
        );
    }
    // A replica relaying a viewer made these checks already.
    let relayed = relay::is_relayed(app, parts);
    if !relayed && !crate::console::same_origin(parts) {
        return text(
            StatusCode::FORBIDDEN,
            "Refused: the desktop stream is same-origin only.",
        );
    }
    let account = query(parts, "account")
        .map(str::to_string)
        .unwrap_or_else(|| app.auth.default_account().to_string());
    let region = query(parts, "region").unwrap_or("us-east-1").to_string();
    if !relayed {
        let Some(viewer) = crate::console::viewer(app, parts) else {
            return text(StatusCode::UNAUTHORIZED, "Sign in to the console first.");
        };
        if viewer.fixed_account.as_ref().is_some_and(|a| *a != account) {
            return text(StatusCode::FORBIDDEN, "This session may not see that account.");
        }
    }
    let Some(driver) = app.service.desktops() else {
        return text(
            StatusCode::NOT_FOUND,
            "This server runs without desktops (--desktops none).",
        );
    };
    let Some(key) = DesktopKey::new(&account, &region, id) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Invalid account, Region or WorkSpace id.",
        );
    };
    let is_upgrade = parts
        .headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(ws_key) = parts.headers.get("sec-websocket-key").cloned() else {
        return text(StatusCode::BAD_REQUEST, "Expected a WebSocket upgrade.");
    };
    if !is_upgrade {
        return text(StatusCode::BAD_REQUEST, "Expected a WebSocket upgrade.");
    }
    let scope = Scope::new(account, region);
    let protocol = parts
        .headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').map(str::trim).find(|p| *p == "binary"))
        .map(str::to_string);
    // Several replicas: the desktop may run on another one.
    match relay::place(app, &scope, id).await {
        Home::Here => {}
        Home::Peer { url, .. } if !relayed => {
            let path = format!(
                "/console/workspaces/{}/rfb?account={}&region={}",
                key.workspace_id, key.account, key.region
            );
            let upstream = match relay::open_rfb(app, &url, &path, protocol.is_some()).await {
                Ok(u) => u,
                Err((status, msg)) => return text(status, &msg),
            };
            let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
                return text(StatusCode::BAD_REQUEST, "This connection cannot be upgraded.");
            };
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(u) => {
                        let ws = WebSocketStream::from_raw_socket(TokioIo::new(u), Role::Server, None).await;
                        relay::pump(ws, upstream, IDLE, PING).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "desktop stream upgrade failed"),
                }
            });
            return switching(&ws_key, protocol);
        }
        Home::Peer { .. } => return text(StatusCode::CONFLICT, &relay::misrouted_message(id)),
        Home::Lost { id: replica } => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &relay::lost_message(id, &replica),
            )
        }
    }
    // desktop seam: a viewer connecting to a STOPPED AUTO_STOP WorkSpace starts it.
    let svc = Arc::clone(&app.service);
    let scope2 = scope.clone();
    let id2 = id.to_string();
    let started = tokio::task::spawn_blocking(move || svc.desktop_wake(&scope2, &id2)).await;
    match started {
        Ok(Ok(())) => {}
        Ok(Err(msg)) => return text(StatusCode::CONFLICT, &msg),
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
    let deadline = tokio::time::Instant::now() + START_WAIT;
    let sock = loop {
        // The viewer connects once the WorkSpace is up (not while the engine has yet to
        // move it out of a starting state), as a WorkSpaces client does.
        if let Some(s) = driver.rfb_socket(&key) {
            let svc = Arc::clone(&app.service);
            let (scope2, id2) = (scope.clone(), id.to_string());
            let state = tokio::task::spawn_blocking(move || svc.desktop_state(&scope2, &id2))
                .await
                .ok()
                .flatten();
            let coming_up = matches!(
                state.as_deref(),
                Some("PENDING" | "STARTING" | "REBOOTING" | "REBUILDING" | "RESTORING")
            );
            if !coming_up {
                break s;
            }
        }
        if tokio::time::Instant::now() > deadline {
            return text(StatusCode::CONFLICT, "The WorkSpace's desktop is not running.");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return text(StatusCode::BAD_REQUEST, "This connection cannot be upgraded.");
    };
    let app2 = Arc::clone(app);
    let id = id.to_string();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "desktop stream upgrade failed");
                return;
            }
        };
        let unix = match tokio::net::UnixStream::connect(&sock).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "desktop display socket refused");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        if driver.viewer(&key, true) == 1 {
            set_connected(&app2, &scope, &id, true).await;
        }
        proxy(ws, unix).await;
        if driver.viewer(&key, false) == 0 {
            set_connected(&app2, &scope, &id, false).await;
        }
    });
    switching(&ws_key, protocol)
}

/// The 101 answer to a viewer's WebSocket upgrade.
fn switching(ws_key: &HeaderValue, protocol: Option<String>) -> Response<Full<Bytes>> {
    let accept = derive_accept_key(ws_key.as_bytes());
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert("sec-websocket-accept", v);
    }
    if let Some(p) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        h.insert("sec-websocket-protocol", p);
    }
    r
}

/// Records the viewer's connection on the WorkSpace (off the async runtime: it commits).
async fn set_connected(app: &Arc<App>, scope: &Scope, id: &str, connected: bool) {
    let svc = Arc::clone(&app.service);
    let (scope, id) = (scope.clone(), id.to_string());
    let res = tokio::task::spawn_blocking(move || svc.admin_set_connection(&scope, &id, connected)).await;
    if let Ok(Err(e)) = res {
        tracing::debug!(error = %e.message, "recording a desktop viewer failed");
    }
}

/// Copies RFB bytes both ways until either side closes or the viewer goes silent.
async fn proxy<S>(mut ws: WebSocketStream<S>, unix: tokio::net::UnixStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = unix.into_split();
    let mut buf = vec![0u8; 64 * 1024];
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    let idle = tokio::time::sleep(IDLE);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            msg = ws.next() => {
                idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
                match msg {
                    Some(Ok(Message::Binary(b))) => {
                        if wr.write_all(&b).await.is_err() { break; }
                    }
                    Some(Ok(Message::Text(t))) => {
                        // RFB is binary; a text frame is not part of it.
                        let _ = t;
                        break;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            n = rd.read(&mut buf) => {
                match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if ws.send(Message::Binary(buf[..n].to_vec())).await.is_err() { break; }
                    }
                }
            }
            _ = ping.tick() => {
                if ws.send(Message::Ping(Vec::new())).await.is_err() { break; }
            }
            () = &mut idle => {
                tracing::debug!("desktop viewer idle: closing");
                break;
            }
        }
    }
    let _ = ws.close(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfb_paths() {
        assert_eq!(workspace_of("/console/workspaces/ws-abc/rfb"), Some("ws-abc"));
        assert_eq!(workspace_of("/console/workspaces/ws-abc"), None);
        assert_eq!(workspace_of("/console/other/ws-abc/rfb"), None);
    }
}
