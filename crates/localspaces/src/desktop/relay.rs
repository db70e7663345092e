//! Several replicas with desktops: the console's desktop stream and desktop-exec reach a
//! desktop from any replica. A replica that does not run the desktop relays the call to the
//! replica that does (its advertised URL, from its heartbeat), with the store's relay secret
//! in [`HEADER`]; the owner accepts a relayed call without the console's session and
//! same-origin checks (the relaying replica made them) and never relays it further.

use crate::app::App;
use crate::membership::Home;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use localspaces_store::Scope;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::WebSocketStream;

/// The header carrying the relay secret.
pub const HEADER: &str = "x-localspaces-relay";
/// How long a relayed desktop stream waits for the owner's answer (the owner may be starting
/// a STOPPED AUTO_STOP desktop, which it waits up to a minute for).
const CONNECT_WAIT: Duration = Duration::from_secs(75);

/// Whether the request was relayed by another replica (it carries the relay secret).
pub fn is_relayed(app: &App, parts: &hyper::http::request::Parts) -> bool {
    let Some(m) = app.service.membership() else {
        return false;
    };
    parts
        .headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| m.is_relay(v))
}

/// Where the WorkSpace's desktop is, read off the async runtime.
pub async fn place(app: &Arc<App>, scope: &Scope, id: &str) -> Home {
    if app.service.membership().is_none() {
        return Home::Here;
    }
    let (svc, scope, id) = (Arc::clone(&app.service), scope.clone(), id.to_string());
    tokio::task::spawn_blocking(move || svc.desktop_place(&scope, &id))
        .await
        .unwrap_or(Home::Here)
}

/// The relay secret (known since start).
async fn secret(app: &Arc<App>) -> Option<String> {
    let m = Arc::clone(app.service.membership()?);
    let store = Arc::clone(app.service.store());
    tokio::task::spawn_blocking(move || m.secret(store.as_ref()).ok())
        .await
        .ok()
        .flatten()
}

/// The message of a call for a desktop whose replica is dead.
pub fn lost_message(id: &str, replica: &str) -> String {
    format!(
        "The desktop of WorkSpace {id} runs on localspaces replica {replica}, which is not responding; try again once it is back."
    )
}

/// The message of a relayed call that reached a replica not running the desktop.
pub fn misrouted_message(id: &str) -> String {
    format!("The desktop of WorkSpace {id} does not run on this replica.")
}

/// Relays a desktop-exec call (`path_and_query` and `body` as received) to the replica at
/// `url`; answers its response as is.
pub async fn exec(
    app: &Arc<App>,
    url: &str,
    path_and_query: &str,
    body: Bytes,
    timeout: Duration,
) -> Response<Full<Bytes>> {
    let Some(secret) = secret(app).await else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The relay secret cannot be read.",
        );
    };
    let target = format!("{url}{path_and_query}");
    let res = tokio::task::spawn_blocking(move || {
        let req = ureq::post(&target)
            .timeout(timeout + Duration::from_secs(30))
            .set("content-type", "application/json")
            .set(HEADER, &secret);
        match req.send_bytes(&body) {
            Ok(r) => Ok((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    match res {
        Ok(Ok((status, text))) => {
            let mut r = Response::new(Full::new(Bytes::from(text)));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Ok(Err(e)) => json_error(
            StatusCode::BAD_GATEWAY,
            &format!("The replica running this desktop ({url}) cannot be reached: {e}"),
        ),
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "the relay failed"),
    }
}

fn json_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::json!({ "message": message }).to_string(),
    )));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A WebSocket to the owner's desktop stream, opened by a replica relaying a viewer.
pub type Upstream = WebSocketStream<tokio::net::TcpStream>;

/// Opens the owner's desktop stream (`path_and_query` as the viewer asked it) with the relay
/// secret; on refusal answers the owner's status and message.
pub async fn open_rfb(
    app: &Arc<App>,
    url: &str,
    path_and_query: &str,
    binary: bool,
) -> Result<Upstream, (StatusCode, String)> {
    let unreachable = |e: String| {
        (
            StatusCode::BAD_GATEWAY,
            format!("The replica running this desktop ({url}) cannot be reached: {e}"),
        )
    };
    let secret = secret(app).await.ok_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "The relay secret cannot be read.".to_string(),
        )
    })?;
    let Some(authority) = url.strip_prefix("http://") else {
        return Err(unreachable("not an http:// URL".into()));
    };
    let mut req = format!("ws://{authority}{path_and_query}")
        .into_client_request()
        .map_err(|e| unreachable(e.to_string()))?;
    let h = req.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&secret) {
        h.insert(HEADER, v);
    }
    if binary {
        h.insert("sec-websocket-protocol", HeaderValue::from_static("binary"));
    }
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match tokio_tungstenite::client_async(req, tcp).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .unwrap_or_default();
                Err((status, body))
            }
            Err(e) => Err(unreachable(e.to_string())),
        }
    };
    match tokio::time::timeout(CONNECT_WAIT, connect).await {
        Ok(r) => r,
        Err(_) => Err(unreachable("no answer".into())),
    }
}

/// Copies frames both ways between a viewer and the owner's stream until either closes or
/// the viewer stays silent for `idle` (it is pinged every `ping`).
pub async fn pump<S>(mut viewer: WebSocketStream<S>, mut upstream: Upstream, idle: Duration, ping: Duration)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut ticker = tokio::time::interval(ping);
    ticker.tick().await;
    let silent = tokio::time::sleep(idle);
    tokio::pin!(silent);
    loop {
        tokio::select! {
            msg = viewer.next() => {
                silent.as_mut().reset(tokio::time::Instant::now() + idle);
                match msg {
                    Some(Ok(m @ (Message::Binary(_) | Message::Text(_)))) => {
                        if upstream.send(m).await.is_err() { break; }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            msg = upstream.next() => {
                match msg {
                    Some(Ok(m @ (Message::Binary(_) | Message::Text(_)))) => {
                        if viewer.send(m).await.is_err() { break; }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
            _ = ticker.tick() => {
                if viewer.send(Message::Ping(Vec::new())).await.is_err() { break; }
            }
            () = &mut silent => {
                tracing::debug!("relayed desktop viewer idle: closing");
                break;
            }
        }
    }
    let _ = viewer.close(None).await;
    let _ = upstream.close(None).await;
}
