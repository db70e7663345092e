//! The console's desktop viewer: `GET /console/workspaces/<ws-id>/desktop?account=&region=`
//! is a page that opens the WorkSpace's desktop in the browser with noVNC over the RFB
//! WebSocket ([`super::rfb`]); `GET /console/novnc/…` serves noVNC (vendored from the npm
//! package `@novnc/novnc`, MPL-2.0, licence files alongside) from the binary.

use crate::app::App;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Method, Response, StatusCode};
use include_dir::{include_dir, Dir};
use std::sync::Arc;

static NOVNC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/src/desktop/novnc");

fn plain(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{msg}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn valid_component(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Answers the viewer page and noVNC's files; `None` for other paths.
pub fn route(app: &Arc<App>, parts: &hyper::http::request::Parts) -> Option<Response<Full<Bytes>>> {
    let path = parts.uri.path();
    if let Some(file) = path.strip_prefix("/console/novnc/") {
        return Some(asset(parts, file));
    }
    let id = path
        .strip_prefix("/console/workspaces/")?
        .strip_suffix("/desktop")?;
    Some(page(app, parts, id))
}

fn asset(parts: &hyper::http::request::Parts, file: &str) -> Response<Full<Bytes>> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only");
    }
    if file.split('/').any(|seg| seg.is_empty() || seg == "..") {
        return plain(StatusCode::NOT_FOUND, "There is no such file.");
    }
    let Some(f) = NOVNC.get_file(file) else {
        return plain(StatusCode::NOT_FOUND, "There is no such file.");
    };
    let ct = match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    let mut r = Response::new(Full::new(Bytes::from_static(f.contents())));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    r
}

fn page(app: &Arc<App>, parts: &hyper::http::request::Parts, id: &str) -> Response<Full<Bytes>> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only");
    }
    let Some(viewer) = crate::console::viewer(app, parts) else {
        let mut r = plain(StatusCode::SEE_OTHER, "Sign in first.");
        r.headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/console/login"));
        return r;
    };
    let q = |name: &str| -> Option<String> {
        parts.uri.query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    };
    let account = viewer
        .fixed_account
        .clone()
        .or_else(|| q("account"))
        .unwrap_or_else(|| app.auth.default_account().to_string());
    let region = q("region").unwrap_or_else(|| "us-east-1".to_string());
    if !valid_component(id) || !valid_component(&account) || !valid_component(&region) {
        return plain(
            StatusCode::BAD_REQUEST,
            "Invalid account, Region or WorkSpace id.",
        );
    }
    if app.service.desktops().is_none() {
        return plain(
            StatusCode::NOT_FOUND,
            "This server runs without desktops (--desktops none).",
        );
    }
    let (id, account, region) = (esc(id), esc(&account), esc(&region));
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Desktop {id} · localspaces</title>
<link rel="stylesheet" href="/console/static/console.css">
<style>
  body {{ margin: 0; display: flex; flex-direction: column; height: 100vh; }}
  #bar {{ display: flex; gap: 1em; align-items: center; padding: .4em 1em; }}
  #screen {{ flex: 1; background: #222; overflow: hidden; }}
</style>
</head>
<body>
<div id="bar">
  <a href="/console/workspaces/{id}?account={account}&amp;region={region}">← WorkSpace <code>{id}</code></a>
  <span>Desktop: <strong id="status" role="status">connecting…</strong></span>
</div>
<div id="screen" data-workspace="{id}"></div>
<script type="module">
import RFB from "/console/novnc/core/rfb.js";
const status = document.getElementById("status");
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const url = scheme + location.host + "/console/workspaces/{id}/rfb?account={account}&region={region}";
const rfb = new RFB(document.getElementById("screen"), url);
rfb.scaleViewport = true;
rfb.focusOnClick = true;
rfb.addEventListener("connect", () => {{ status.textContent = "connected"; rfb.focus(); }});
rfb.addEventListener("disconnect", (e) => {{
  status.textContent = e.detail.clean ? "disconnected" : "connection lost";
}});
window.localspacesRfb = rfb;
</script>
</body>
</html>
"#
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn novnc_is_embedded_with_its_licence() {
        assert!(NOVNC.get_file("core/rfb.js").is_some());
        assert!(NOVNC.get_file("LICENSE.txt").is_some());
        assert!(NOVNC.get_file("vendor/pako/lib/zlib/inflate.js").is_some());
    }

    #[test]
    fn escapes_html() {
        assert_eq!(esc("<a href=\"x\">"), "&lt;a href=&quot;x&quot;&gt;");
    }
}
