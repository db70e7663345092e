//! Saved environments in the console: download the document of the account and Region on
//! show, and upload one into them (all or nothing, as `localspaces state import`). A
//! document naming another account or Region is refused: the console acts only where it
//! shows (and, signed in with an access key, only in that key's account).

use super::{pct, redirect_with_flash, Req};
use crate::state::{export, import, Document, Filter, ImportError};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use std::sync::Arc;

/// Answers `GET /console/environment.json` and `POST /console/environment`; `None` for
/// other paths.
pub(crate) async fn route(req: &Req<'_>, is_post: bool) -> Option<Response<Full<Bytes>>> {
    match (req.path.as_str(), is_post) {
        ("/console/environment.json", false) => Some(download(req).await),
        ("/console/environment", true) => Some(upload(req).await),
        _ => None,
    }
}

fn back(req: &Req<'_>) -> String {
    format!(
        "/console/?account={}&region={}",
        pct(&req.scope.account),
        pct(&req.scope.region)
    )
}

async fn download(req: &Req<'_>) -> Response<Full<Bytes>> {
    let service = Arc::clone(&req.app.service);
    let filter = Filter {
        account: Some(req.scope.account.clone()),
        region: Some(req.scope.region.clone()),
    };
    let out = tokio::task::spawn_blocking(move || {
        export(&service, &filter).and_then(|d| serde_json::to_vec_pretty(&d).map_err(|e| e.to_string()))
    })
    .await;
    match out {
        Ok(Ok(mut body)) => {
            body.push(b'\n');
            let mut r = Response::new(Full::new(Bytes::from(body)));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            let name = format!(
                "attachment; filename=\"localspaces-{}-{}.json\"",
                req.scope.account, req.scope.region
            );
            if let Ok(v) = HeaderValue::from_str(&name) {
                r.headers_mut().insert(CONTENT_DISPOSITION, v);
            }
            r
        }
        _ => super::message_page(
            Some(req),
            StatusCode::INTERNAL_SERVER_ERROR,
            "Export failed",
            "The environment could not be read; the server log says why.",
        ),
    }
}

async fn upload(req: &Req<'_>) -> Response<Full<Bytes>> {
    let to = back(req);
    let Some(text) = req
        .form
        .iter()
        .find(|(k, _)| k == "document")
        .map(|(_, v)| v.as_str())
    else {
        return redirect_with_flash(&to, "error", "Choose or paste a saved environment first.");
    };
    let doc: Document = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => return redirect_with_flash(&to, "error", &format!("This is not a saved environment: {e}")),
    };
    if let Some(s) = doc
        .scopes
        .iter()
        .find(|s| s.account != req.scope.account || s.region != req.scope.region)
    {
        return redirect_with_flash(
            &to,
            "error",
            &format!(
                "The document holds account {} in {}; the console imports only into the account and \
                 Region it shows (localspaces state import loads any).",
                s.account, s.region
            ),
        );
    }
    let service = Arc::clone(&req.app.service);
    let out = tokio::task::spawn_blocking(move || import(&service, &doc, false, &|| {})).await;
    match out {
        Ok(Ok(Some(n))) => redirect_with_flash(
            &to,
            "ok",
            &format!(
                "Imported {} resources and {} pending transitions.",
                n.resources, n.transitions
            ),
        ),
        Ok(Ok(None)) => redirect_with_flash(&to, "ok", "Nothing to import."),
        Ok(Err(ImportError::Conflicts(c))) => {
            let shown: Vec<&str> = c.iter().take(5).map(String::as_str).collect();
            redirect_with_flash(
                &to,
                "error",
                &format!(
                    "Nothing was imported: {} resource(s) already exist ({}{}).",
                    c.len(),
                    shown.join(", "),
                    if c.len() > shown.len() { ", …" } else { "" }
                ),
            )
        }
        Ok(Err(e @ ImportError::Invalid(_))) => redirect_with_flash(&to, "error", &e.to_string()),
        _ => redirect_with_flash(&to, "error", "The import failed; the server log says why."),
    }
}
