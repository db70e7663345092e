//! The web console, under `/console/` on the API's port (it cannot collide with the API's
//! `POST /` and `/service/…`, nor with the admin routes under `/_localspaces/`).
//!
//! Server-rendered pages (minijinja templates embedded in the binary) for one account and
//! Region at a time: a dashboard, lists and detail pages of directories, WorkSpaces,
//! bundles, images, IP groups and connection aliases, and the activity log. GET pages have
//! no side effects; actions are POST forms (same-origin only) that call the service through
//! the same generated dispatcher as the API edge (`workspaces::dispatch`, so inputs are
//! validated as on the wire), then redirect back with a flash message. Destructive actions
//! ask for confirmation on a page of their own, so nothing needs JavaScript; the small
//! script only polls fragments to keep states live.
//!
//! Access: in `--auth open` anyone may pick any account. In `--auth strict` the console asks
//! for the admin token (`--admin-token`: any account) or a configured access key and its
//! secret (only that key's account); sessions live in memory, expire after 30 idle minutes,
//! and failed sign-ins are limited per client address (see [`guard`]).

mod actions;
pub use crate::app::activity;
mod environment;
mod families;
pub mod guard;
mod pages;

pub use guard::{ClientAddr, ConsoleState};

use crate::app::App;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use hyper::{Method, Response, StatusCode};
use localspaces_api::value::Value;
use localspaces_store::Scope;
use std::sync::{Arc, OnceLock};

/// Where the console lives.
pub const PREFIX: &str = "/console";

/// Regions offered by the switcher (any well-formed Region may be typed in).
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "af-south-1",
    "il-central-1",
];

/// True for paths the console answers.
pub fn is_console_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/console/")
}

/// Who is looking: the account they are bound to, if any.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub fixed_account: Option<String>,
    pub signed_in: bool,
}

/// One request's parsed bits, handed to the pages and actions.
pub(crate) struct Req<'a> {
    pub app: &'a Arc<App>,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub scope: Scope,
    pub viewer: Viewer,
    pub flash: Option<(String, String)>,
    pub request_id: &'a str,
}

impl Req<'_> {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn f(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
    /// Every non-empty value of a repeated form field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }
    /// `account=…&region=…`, to carry the scope in links.
    pub fn scope_query(&self) -> String {
        format!(
            "account={}&region={}",
            pct(&self.scope.account),
            pct(&self.scope.region)
        )
    }
    /// The context every page gets (scope, switcher, flash, …).
    pub fn base_context(&self, nav: &str, title: &str) -> serde_json::Value {
        let mut accounts = self.app.activity.accounts();
        accounts.push(self.app.auth.default_account().to_string());
        accounts.sort();
        accounts.dedup();
        serde_json::json!({
            "title": title,
            "nav": nav,
            "account": self.scope.account,
            "region": self.scope.region,
            "q": self.scope_query(),
            "accounts": accounts,
            "regions": REGIONS,
            "fixed_account": self.viewer.fixed_account,
            "signed_in": self.viewer.signed_in,
            "flash": self.flash.as_ref().map(|(k, t)| serde_json::json!({"kind": k, "text": t})),
            "path": self.path,
            "version": env!("CARGO_PKG_VERSION"),
            "desktops": self.app.service.desktops().is_some(),
        })
    }
}

/// A refused call, in AWS's words.
#[derive(Debug, Clone)]
pub(crate) struct CallError {
    pub code: String,
    pub message: String,
}

impl CallError {
    /// The error as a sentence for people.
    pub fn plain(&self) -> String {
        format!("AWS refused the request: {} ({})", self.message, self.code)
    }
}

// ------------------------------------------------------------------ templates

fn env() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut e = minijinja::Environment::new();
        let templates: &[(&str, &str)] = &[
            ("base.html", include_str!("templates/base.html")),
            ("macros.html", include_str!("templates/macros.html")),
            ("dashboard.html", include_str!("templates/dashboard.html")),
            ("dash_cards.html", include_str!("templates/dash_cards.html")),
            ("list.html", include_str!("templates/list.html")),
            ("rows.html", include_str!("templates/rows.html")),
            ("detail.html", include_str!("templates/detail.html")),
            ("activity.html", include_str!("templates/activity.html")),
            ("confirm.html", include_str!("templates/confirm.html")),
            ("login.html", include_str!("templates/login.html")),
            ("message.html", include_str!("templates/message.html")),
            ("account.html", include_str!("templates/account.html")),
            ("panels_images.html", include_str!("templates/panels_images.html")),
            (
                "panels_bundles.html",
                include_str!("templates/panels_bundles.html"),
            ),
            (
                "panels_aliases.html",
                include_str!("templates/panels_aliases.html"),
            ),
            ("panels_pools.html", include_str!("templates/panels_pools.html")),
            (
                "panels_directories.html",
                include_str!("templates/panels_directories.html"),
            ),
            (
                "panels_workspaces.html",
                include_str!("templates/panels_workspaces.html"),
            ),
            ("list_aliases.html", include_str!("templates/list_aliases.html")),
            ("list_pools.html", include_str!("templates/list_pools.html")),
            (
                "list_directories.html",
                include_str!("templates/list_directories.html"),
            ),
        ];
        for (name, src) in templates {
            e.add_template(name, src)
                .unwrap_or_else(|err| panic!("console template {name}: {err}"));
        }
        e
    })
}

/// Renders a template; a rendering failure becomes a 500 page naming it.
pub(crate) fn render(name: &str, ctx: &serde_json::Value) -> String {
    let out = env()
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from_serialize(ctx)));
    match out {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(template = name, error = %e, "console template failed");
            format!(
                "<!doctype html><title>Console error</title><p>The page could not be rendered: {}</p>",
                html_escape(&e.to_string())
            )
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ------------------------------------------------------------------ responses

pub(crate) fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

pub(crate) fn json_response(v: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn redirect(location: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// A redirect that carries a flash message (`ok` or `error`) to the next page.
pub(crate) fn redirect_with_flash(location: &str, kind: &str, text: &str) -> Response<Full<Bytes>> {
    let mut r = redirect(location);
    set_cookie(
        &mut r,
        "ls_flash",
        format!("{kind}:{}", clip(text, FLASH_MAX)),
        Some(60),
    );
    r
}

/// Characters of a flash message kept: browsers drop cookies over 4 KiB, and a message
/// may be percent-encoded to three bytes a character.
const FLASH_MAX: usize = 1000;

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Adds a console cookie (`Path=/console`, HttpOnly, SameSite=Strict); `max_age` 0 deletes
/// it, `None` makes it last as long as the browser session.
pub(crate) fn set_cookie(r: &mut Response<Full<Bytes>>, name: &str, value: String, max_age: Option<i64>) {
    let mut c = cookie::Cookie::build((name.to_string(), value))
        .path(PREFIX)
        .http_only(true)
        .same_site(cookie::SameSite::Strict);
    if let Some(secs) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    if let Ok(v) = HeaderValue::from_str(&c.build().encoded().to_string()) {
        r.headers_mut().append(SET_COOKIE, v);
    }
}

pub(crate) fn message_page(
    req_ctx: Option<&Req<'_>>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response<Full<Bytes>> {
    let mut ctx = match req_ctx {
        Some(r) => r.base_context("", title),
        None => serde_json::json!({"title": title, "bare": true, "q": ""}),
    };
    ctx["message"] = serde_json::json!(text);
    html(status, render("message.html", &ctx))
}

fn static_asset(name: &str) -> Option<Response<Full<Bytes>>> {
    let (body, ct): (&'static str, &'static str) = match name {
        "console.css" => (include_str!("static/console.css"), "text/css; charset=utf-8"),
        "console.js" => (
            include_str!("static/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Some(r)
}

// ------------------------------------------------------------------ encoding helpers

/// Encodes a query-string value or a path segment (`application/x-www-form-urlencoded`).
pub(crate) fn pct(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Decodes a path segment written by [`pct`].
pub(crate) fn pct_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The pairs of a form body or a query string.
pub(crate) fn parse_pairs(s: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(s)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The (decoded) value of a request cookie.
fn cookie(parts: &hyper::http::request::Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Epoch seconds as `2026-05-01T12:00:00Z`.
pub(crate) fn iso_time(secs: f64) -> String {
    let s = secs.floor() as i64;
    let (days, rem) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    let (y, m, d) = localspaces_protocol::sigv4::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A protocol value as JSON for the templates (timestamps as ISO text, blobs as a size).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::json!(i),
        Value::Float(f) => serde_json::json!(f),
        Value::String(s) => serde_json::json!(s),
        Value::Blob(b) => serde_json::json!(format!("({} bytes)", b.len())),
        Value::Timestamp(t) => serde_json::json!(iso_time(*t)),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m {
                o.insert(k.to_string(), to_json(v));
            }
            serde_json::Value::Object(o)
        }
    }
}

fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Value::Map(o.iter().map(|(k, v)| (k.clone().into(), from_json(v))).collect())
        }
    }
}

// ------------------------------------------------------------------ calling the service

/// Which API a console call goes to (the API edge's own target).
pub(crate) use crate::app::Target as Op;

/// Calls one operation exactly as the API edge does ([`crate::app::invoke`]: generated
/// dispatcher, decode, validate, typed handler). Writes are recorded in the activity log
/// with protocol `console`.
pub(crate) async fn call(
    req: &Req<'_>,
    op: Op,
    input: serde_json::Value,
) -> Result<serde_json::Value, CallError> {
    let cx = crate::service::Context {
        scope: req.scope.clone(),
        request_id: req.request_id.to_string(),
    };
    let value = from_json(&input);
    let resource = activity::resource_of(&value, None);
    let result = crate::app::invoke(req.app, &cx, op, value)
        .await
        .map(|answer| answer.to_value());
    if !op.is_read_only() {
        let (status, resource) = match &result {
            Ok(v) if resource == "-" => (200, activity::resource_of(&Value::Null, Some(v))),
            Ok(_) => (200, resource),
            Err(e) => (e.status, resource),
        };
        req.app.activity.record(activity::Entry {
            seq: 0,
            time: crate::clock::Clock::now(req.app.clock.as_ref()),
            account: req.scope.account.to_string(),
            region: req.scope.region.to_string(),
            operation: op.name().into(),
            resource,
            protocol: "console",
            status,
            request_id: req.request_id.to_string(),
        });
    }
    result.map(|v| to_json(&v)).map_err(|e| CallError {
        code: e.name.to_string(),
        message: e.message,
    })
}

/// Calls a paginated Describe/List operation until its last page; `list_key` names the
/// member holding the items.
pub(crate) async fn call_all(
    req: &Req<'_>,
    op: Op,
    input: serde_json::Value,
    list_key: &str,
) -> Result<Vec<serde_json::Value>, CallError> {
    let mut items = Vec::new();
    let mut input = input;
    for _ in 0..200 {
        let out = call(req, op, input.clone()).await?;
        if let Some(a) = out.get(list_key).and_then(|v| v.as_array()) {
            items.extend(a.iter().cloned());
        }
        match out.get("NextToken").and_then(|v| v.as_str()) {
            Some(t) if !t.is_empty() => input["NextToken"] = serde_json::json!(t),
            _ => break,
        }
    }
    Ok(items)
}

// ------------------------------------------------------------------ entry point

fn valid_account(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 5
        && parts[0].len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// POSTs must come from a page of this server: `Origin` (or, without it, `Referer`) must
/// name this host. Clients that send neither (curl, scripts) are not browsers and cannot be
/// driven by another site, so they pass.
pub(crate) fn same_origin(parts: &hyper::http::request::Parts) -> bool {
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = |o: &str| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
            .is_some_and(|rest| rest == host || rest.starts_with(&format!("{host}/")))
    };
    if let Some(o) = parts.headers.get("origin").and_then(|v| v.to_str().ok()) {
        return !host.is_empty() && ok(o);
    }
    if let Some(r) = parts.headers.get("referer").and_then(|v| v.to_str().ok()) {
        return !host.is_empty() && ok(r);
    }
    true
}

pub(crate) fn viewer(app: &App, parts: &hyper::http::request::Parts) -> Option<Viewer> {
    if !app.auth.is_strict() {
        return Some(Viewer {
            fixed_account: None,
            signed_in: false,
        });
    }
    let sid = cookie(parts, "ls_session")?;
    let account = app
        .console
        .touch(&sid, crate::clock::Clock::now(app.clock.as_ref()))?;
    Some(Viewer {
        fixed_account: account,
        signed_in: true,
    })
}

/// Answers a console request (the edge sends every path under `/console` here).
pub async fn handle(
    app: &Arc<App>,
    parts: hyper::http::request::Parts,
    body: Incoming,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path().to_string();
    let mut resp = handle_inner(app, &parts, body, request_id, &path).await;
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    tracing::debug!(target: "localspaces::request", request_id, method = %parts.method, path, status = resp.status().as_u16(), "console");
    resp
}

async fn handle_inner(
    app: &Arc<App>,
    parts: &hyper::http::request::Parts,
    body: Incoming,
    request_id: &str,
    path: &str,
) -> Response<Full<Bytes>> {
    if path == PREFIX {
        return redirect("/console/");
    }
    if let Some(name) = path.strip_prefix("/console/static/") {
        return static_asset(name).unwrap_or_else(|| {
            message_page(None, StatusCode::NOT_FOUND, "Not found", "There is no such file.")
        });
    }
    let is_post = parts.method == Method::POST;
    if !is_post && parts.method != Method::GET && parts.method != Method::HEAD {
        return message_page(
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "The console answers GET and POST.",
        );
    }
    if is_post && !same_origin(parts) {
        return message_page(
            None,
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was sent from another site, so the console refused it.",
        );
    }
    let form = if is_post {
        // Bounded in size and in time: a declared body that never arrives is given up on.
        let read = tokio::time::timeout(app.read_timeout, Limited::new(body, 1 << 20).collect()).await;
        match read {
            Ok(Ok(b)) => parse_pairs(&b.to_bytes()),
            Err(_) => {
                return message_page(
                    None,
                    StatusCode::REQUEST_TIMEOUT,
                    "Timed out",
                    "The form did not arrive in time.",
                )
            }
            Ok(Err(_)) => {
                return message_page(
                    None,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    "The form is too large.",
                )
            }
        }
    } else {
        Vec::new()
    };
    if path == "/console/login" {
        return login(app, parts, is_post, &form);
    }
    if path == "/console/logout" && is_post {
        if let Some(sid) = cookie(parts, "ls_session") {
            app.console.close(&sid);
        }
        let mut r = redirect("/console/login");
        set_cookie(&mut r, "ls_session", String::new(), Some(0));
        return r;
    }
    let Some(viewer) = viewer(app, parts) else {
        return redirect("/console/login");
    };
    let query = parse_pairs(parts.uri.query().unwrap_or("").as_bytes());
    let pick = |name: &str| -> Option<String> {
        form.iter()
            .chain(query.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut account = pick("account").unwrap_or_else(|| app.auth.default_account().to_string());
    if let Some(fixed) = &viewer.fixed_account {
        account = fixed.clone();
    }
    let region = pick("region").unwrap_or_else(|| "us-east-1".to_string());
    let flash = if is_post {
        None
    } else {
        cookie(parts, "ls_flash").map(|t| match t.split_once(':') {
            Some((k, v)) if k == "ok" || k == "error" => (k.to_string(), v.to_string()),
            _ => ("ok".to_string(), t),
        })
    };
    let req = Req {
        app,
        path: path.to_string(),
        query,
        form,
        scope: Scope::new(account.clone(), region.clone()),
        viewer,
        flash,
        request_id,
    };
    if !valid_account(&account) || !valid_region(&region) {
        let req = Req {
            scope: Scope::new(app.auth.default_account(), "us-east-1"),
            ..req
        };
        return message_page(
            Some(&req),
            StatusCode::BAD_REQUEST,
            "Invalid account or Region",
            &format!("{account:?} / {region:?}: an account is 12 digits and a Region looks like us-east-1."),
        );
    }
    if let Some(resp) = environment::route(&req, is_post).await {
        return resp;
    }
    let mut resp = if is_post {
        actions::run(&req).await
    } else {
        pages::get(&req).await
    };
    if req.flash.is_some() {
        set_cookie(&mut resp, "ls_flash", String::new(), Some(0));
    }
    resp
}

/// The sign-in page and form (strict mode). Failed attempts are logged and limited per
/// client address: after [`guard::MAX_FAILURES`] in a row the address waits
/// [`guard::LOCKOUT_SECS`] (429 with `Retry-After`), right credentials included.
fn login(
    app: &Arc<App>,
    parts: &hyper::http::request::Parts,
    is_post: bool,
    form: &[(String, String)],
) -> Response<Full<Bytes>> {
    let mut ctx = serde_json::json!({
        "title": "Sign in",
        "bare": true,
        "q": "",
        "strict": app.auth.is_strict(),
        "has_token": app.admin_token.is_some(),
    });
    if !app.auth.is_strict() {
        return redirect("/console/");
    }
    if !is_post {
        return html(StatusCode::OK, render("login.html", &ctx));
    }
    let now = crate::clock::Clock::now(app.clock.as_ref());
    let client = ClientAddr::of(parts);
    if let Some(wait) = app.console.locked_for(client, now) {
        tracing::warn!(client = %client, wait_secs = wait, "console sign-in refused: too many failed attempts");
        ctx["error"] = serde_json::json!(format!(
            "Too many failed sign-ins from your address. Try again in {wait} seconds."
        ));
        let mut r = html(StatusCode::TOO_MANY_REQUESTS, render("login.html", &ctx));
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let get = |n: &str| {
        form.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let (token, key, secret) = (get("token"), get("access_key"), get("secret_key"));
    let (method, account): (&str, Option<Option<String>>) = if !token.is_empty() {
        let ok = app
            .admin_token
            .as_deref()
            .is_some_and(|t| guard::secret_eq(t, &token));
        ("admin token", ok.then_some(None))
    } else if !key.is_empty() {
        ("access key", app.auth.check_secret(&key, &secret).map(Some))
    } else {
        ("nothing", None)
    };
    let Some(account) = account else {
        let n = app.console.failed(client, now);
        tracing::warn!(
            client = %client,
            method,
            access_key = if key.is_empty() { None } else { Some(key.as_str()) },
            failures = n,
            "console sign-in failed"
        );
        ctx["error"] = serde_json::json!("Those credentials were not accepted.");
        return html(StatusCode::UNAUTHORIZED, render("login.html", &ctx));
    };
    app.console.succeeded(client);
    tracing::info!(client = %client, method, "console sign-in");
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let target = match &account {
        Some(a) => format!("/console/?account={a}"),
        None => "/console/".to_string(),
    };
    app.console.open(sid.clone(), account, now);
    let mut r = redirect(&target);
    set_cookie(&mut r, "ls_session", sid, None);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        let s = "a b+c/é%&=";
        assert_eq!(pct_decode(&pct(s)), s);
        assert_eq!(pct_decode("a+b%2Fc%"), "a b/c%");
        assert_eq!(
            parse_pairs(b"x=1&y=a+b&z"),
            vec![
                ("x".into(), "1".into()),
                ("y".into(), "a b".into()),
                ("z".into(), String::new())
            ]
        );
    }

    #[test]
    fn flash_messages_fit_in_a_cookie() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 3), "ééé…");
        let mut r = redirect_with_flash("/console/", "error", &"x".repeat(10_000));
        let c = r.headers_mut().get(SET_COOKIE).expect("cookie").len();
        assert!(c < 4096, "{c} bytes");
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_time(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_700_000_000.5), "2023-11-14T22:13:20Z");
        assert_eq!(iso_time(951_782_400.0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn scope_checks() {
        assert!(valid_account("123456789012"));
        assert!(!valid_account("12345678901x"));
        assert!(valid_region("us-east-1"));
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("US-east-1"));
        assert!(!valid_region("east"));
    }

    #[test]
    fn templates_parse() {
        for name in [
            "base.html",
            "dashboard.html",
            "list.html",
            "detail.html",
            "activity.html",
            "confirm.html",
            "login.html",
            "message.html",
            "rows.html",
            "dash_cards.html",
            "account.html",
            "panels_images.html",
            "panels_bundles.html",
            "panels_aliases.html",
            "panels_pools.html",
            "panels_directories.html",
            "panels_workspaces.html",
            "list_aliases.html",
            "list_pools.html",
            "list_directories.html",
        ] {
            env().get_template(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
