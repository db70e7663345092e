//! The edge of the request path: route (which service, operation and protocol), read the
//! body (bounded), authenticate, decode, then hand a typed input to the service through the
//! generated dispatcher, and encode the answer in the protocol of the request.
//!
//! Protocol choice: `POST /` with `X-Amz-Target` is awsJson1_1;
//! `POST …/service/<Service>/operation/<Op>` with `smithy-protocol: rpc-v2-cbor` is CBOR.
//! Errors found before the protocol is known are answered in JSON.

// `ErrorOut` is ~130 bytes; errors are the cold path, so boxing them buys nothing.
#![allow(clippy::result_large_err)]

use crate::auth::{Authenticator, SignedRequest};
use crate::clock::{Clock, OffsetClock};
use crate::service::{Context, Service};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use localspaces_api::error::{ErrorTable, Fault, ServiceError};
use localspaces_api::value::Value;
use localspaces_api::{ds, workspaces as ws};
use localspaces_protocol::{cbor, json};
use localspaces_store::Scope;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a request needs, shared by all connections.
pub struct App {
    /// Serves both the WorkSpaces and the Directory Service APIs.
    pub service: Arc<Service>,
    pub auth: Authenticator,
    /// Real time plus the offset the admin route may add.
    pub clock: Arc<OffsetClock>,
    pub max_body: usize,
    /// See [`crate::config::ServeConfig::admin_token`].
    pub admin_token: Option<String>,
    /// Whether admin routes are open without a token.
    pub admin_open: bool,
    /// The last API calls, for the console's Activity page.
    pub activity: crate::console::activity::ActivityLog,
    /// The console's login sessions (strict mode).
    pub console: crate::console::ConsoleState,
}

/// Wire protocol of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Cbor,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::Cbor => "cbor",
        }
    }
}

/// Which operation of which service a request asks for.
#[derive(Debug, Clone, Copy)]
enum Target {
    Workspaces(ws::Operation),
    Ds(ds::Operation),
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Workspaces(op) => op.name(),
            Target::Ds(op) => op.name(),
        }
    }
    fn signing_name(self) -> &'static str {
        match self {
            Target::Workspaces(_) => ws::SIGNING_NAME,
            Target::Ds(_) => ds::SIGNING_NAME,
        }
    }
    /// Reads run on the connection's task; writes (which wait for a durable commit) on the
    /// blocking pool so they never stall other requests.
    fn is_read_only(self) -> bool {
        let n = self.name();
        n.starts_with("Describe") || n.starts_with("List") || n.starts_with("Get")
    }
}

/// An error answer, protocol-neutral.
#[derive(Debug, Clone)]
pub struct ErrorOut {
    pub status: u16,
    pub name: &'static str,
    pub namespace: &'static str,
    pub message_member: &'static str,
    pub message: String,
    pub resource_id: Option<String>,
    pub reason: Option<String>,
    /// `RequestId` member (the Directory Service exceptions model it).
    pub request_id: Option<String>,
    pub fault: Fault,
}

impl ErrorOut {
    fn from_ws(e: ServiceError<ws::ErrorCode>) -> Self {
        ErrorOut {
            status: e.code.status(),
            name: e.code.name(),
            namespace: e.code.namespace(),
            message_member: e.code.message_member(),
            message: e.message,
            resource_id: e.resource_id,
            reason: e.reason,
            request_id: None,
            fault: e.code.fault(),
        }
    }
    fn from_ds(e: ServiceError<ds::ErrorCode>) -> Self {
        ErrorOut {
            status: e.code.status(),
            name: e.code.name(),
            namespace: e.code.namespace(),
            message_member: e.code.message_member(),
            message: e.message,
            resource_id: e.resource_id,
            reason: e.reason,
            request_id: e.code.members().contains(&"RequestId").then(String::new),
            fault: e.code.fault(),
        }
    }
    /// Fills the `RequestId` member of an error whose shape models it.
    fn for_request(mut self, request_id: &str) -> Self {
        if self.request_id.is_some() {
            self.request_id = Some(request_id.to_string());
        }
        self
    }
    /// A framework error from the WorkSpaces table (used before the service is known).
    fn ws(code: ws::ErrorCode, message: impl Into<String>) -> Self {
        Self::from_ws(ServiceError::new(code, message))
    }
    fn internal() -> Self {
        Self::ws(
            ws::ErrorCode::InternalFailure,
            "We encountered an internal error. Please try again.",
        )
    }
}

/// What the log line says about a request.
struct Outcome {
    protocol: Protocol,
    operation: Option<&'static str>,
    account: Option<String>,
    /// Region and resource, for the activity log (when known).
    region: Option<String>,
    resource: Option<String>,
    response: Response<Full<Bytes>>,
}

fn header<'a>(req: &'a hyper::http::request::Parts, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Routes by path and headers; `Err` carries the protocol to answer in.
fn route(
    parts: &hyper::http::request::Parts,
    has_body: bool,
) -> Result<(Protocol, Target), (Protocol, ErrorOut)> {
    let path = parts.uri.path();
    if let Some(idx) = path.rfind("/service/") {
        let p = Protocol::Cbor;
        let rest = &path[idx + "/service/".len()..];
        let mut segs = rest.split('/');
        let (svc, kw, op, extra) = (segs.next(), segs.next(), segs.next(), segs.next());
        let (Some(svc), Some("operation"), Some(op), None) = (svc, kw, op, extra) else {
            return Err((
                p,
                ErrorOut::ws(
                    ws::ErrorCode::UnknownOperationException,
                    "The requested path is not an operation.",
                ),
            ));
        };
        if parts.method != Method::POST {
            return Err((
                p,
                ErrorOut::ws(
                    ws::ErrorCode::MethodNotAllowedException,
                    "Operations accept only POST.",
                ),
            ));
        }
        if header(parts, "smithy-protocol") != Some("rpc-v2-cbor") {
            return Err((
                p,
                ErrorOut::ws(
                    ws::ErrorCode::SerializationException,
                    "rpc-v2-cbor requests must carry the header smithy-protocol: rpc-v2-cbor.",
                ),
            ));
        }
        if parts.headers.contains_key("x-amz-target") || parts.headers.contains_key("x-amzn-target") {
            return Err((
                p,
                ErrorOut::ws(
                    ws::ErrorCode::SerializationException,
                    "rpc-v2-cbor requests must not carry X-Amz-Target.",
                ),
            ));
        }
        if has_body {
            let ct = header(parts, "content-type").unwrap_or("");
            if !ct.trim().eq_ignore_ascii_case("application/cbor") {
                return Err((
                    p,
                    ErrorOut::ws(
                        ws::ErrorCode::UnsupportedMediaTypeException,
                        "rpc-v2-cbor bodies must be application/cbor.",
                    ),
                ));
            }
        }
        let unknown = || {
            (
                p,
                ErrorOut::ws(
                    ws::ErrorCode::UnknownOperationException,
                    format!("Unknown operation {op}."),
                ),
            )
        };
        let target = if svc == ws::TARGET_PREFIX || svc == "com.amazonaws.workspaces.WorkspacesService" {
            Target::Workspaces(ws::Operation::from_name(op).ok_or_else(unknown)?)
        } else if svc == ds::TARGET_PREFIX
            || svc == "com.amazonaws.directoryservice.DirectoryService_20150416"
        {
            Target::Ds(ds_operation(p, op).map_err(|e| e.unwrap_or_else(unknown))?)
        } else {
            return Err(unknown());
        };
        return Ok((p, target));
    }
    let p = Protocol::Json;
    if path != "/" {
        return Err((
            p,
            ErrorOut::ws(
                ws::ErrorCode::UnknownOperationException,
                "The requested path is not an operation.",
            ),
        ));
    }
    if parts.method != Method::POST {
        return Err((
            p,
            ErrorOut::ws(
                ws::ErrorCode::MethodNotAllowedException,
                "Operations accept only POST.",
            ),
        ));
    }
    let Some(target) = header(parts, "x-amz-target") else {
        return Err((
            p,
            ErrorOut::ws(
                ws::ErrorCode::UnknownOperationException,
                "Missing X-Amz-Target header.",
            ),
        ));
    };
    let ct = header(parts, "content-type").unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !(media.eq_ignore_ascii_case("application/x-amz-json-1.1")
        || media.eq_ignore_ascii_case("application/x-amz-json-1.0"))
    {
        return Err((
            p,
            ErrorOut::ws(
                ws::ErrorCode::UnsupportedMediaTypeException,
                "awsJson1_1 bodies must be application/x-amz-json-1.1.",
            ),
        ));
    }
    let unknown = || {
        (
            p,
            ErrorOut::ws(
                ws::ErrorCode::UnknownOperationException,
                format!("Unknown operation {target}."),
            ),
        )
    };
    let (prefix, op) = target.split_once('.').ok_or_else(unknown)?;
    let target = match prefix {
        ws::TARGET_PREFIX => Target::Workspaces(ws::Operation::from_name(op).ok_or_else(unknown)?),
        ds::TARGET_PREFIX => Target::Ds(ds_operation(p, op).map_err(|e| e.unwrap_or_else(unknown))?),
        _ => return Err(unknown()),
    };
    Ok((p, target))
}

/// A Directory Service operation of the generated subset; `Err(Some(_))` for a real DS
/// operation outside it (UnsupportedOperationException, a modeled DS error, naming it),
/// `Err(None)` for an unknown name.
fn ds_operation(p: Protocol, op: &str) -> Result<ds::Operation, Option<(Protocol, ErrorOut)>> {
    if let Some(o) = ds::Operation::from_name(op) {
        return Ok(o);
    }
    if ds::OMITTED_OPERATIONS.contains(&op) {
        return Err(Some((
            p,
            ErrorOut::from_ds(ServiceError::new(
                ds::ErrorCode::UnsupportedOperationException,
                format!(
                    "localspaces does not implement {}.{op}: its Directory Service API covers what WorkSpaces needs.",
                    ds::TARGET_PREFIX
                ),
            )),
        )));
    }
    Err(None)
}

/// Handles one HTTP request; never fails and never panics out.
pub async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    if crate::console::is_console_path(parts.uri.path()) {
        return Ok(crate::console::handle(&app, parts, body, &request_id).await);
    }
    let admin_path = parts
        .uri
        .path()
        .strip_prefix(crate::admin::PREFIX)
        .map(str::to_string);
    // Saved-environment routes read a body; any other path gets it back.
    let admin = match crate::state::admin_route(&app, &parts, body).await {
        Ok(resp) => Ok(resp),
        Err(body) => crate::admin::route(&app, &parts).await.ok_or(body),
    };
    let outcome = match admin {
        Ok(resp) => Outcome {
            protocol: Protocol::Json,
            operation: Some("admin"),
            account: None,
            region: None,
            resource: None,
            response: resp,
        },
        Err(body) => process(&app, parts, body, &request_id).await,
    };
    let mut response = outcome.response;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    tracing::info!(
        target: "localspaces::request",
        request_id = %request_id,
        account = outcome.account.as_deref().unwrap_or("-"),
        operation = outcome.operation.unwrap_or("-"),
        protocol = outcome.protocol.name(),
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    let protocol = match admin_path {
        Some(_) => "admin",
        None => outcome.protocol.name(),
    };
    app.activity.record(crate::console::activity::Entry {
        seq: 0,
        time: app.clock.now(),
        account: outcome.account.unwrap_or_else(|| "-".into()),
        region: outcome.region.unwrap_or_else(|| "-".into()),
        operation: match admin_path {
            Some(p) => format!("admin {p}").into(),
            None => outcome.operation.unwrap_or("-").into(),
        },
        resource: outcome.resource.unwrap_or_else(|| "-".into()),
        protocol,
        status: response.status().as_u16(),
        request_id,
    });
    Ok(response)
}

async fn process(
    app: &Arc<App>,
    parts: hyper::http::request::Parts,
    body: Incoming,
    request_id: &str,
) -> Outcome {
    let declared_len = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let maybe_body = declared_len != Some(0);
    let (protocol, target) = match route(&parts, maybe_body) {
        Ok(t) => t,
        Err((p, e)) => {
            return Outcome {
                protocol: p,
                operation: None,
                account: None,
                region: None,
                resource: None,
                response: error_response(p, &e.for_request(request_id)),
            }
        }
    };
    let fail = |e: ErrorOut, account: Option<String>| Outcome {
        protocol,
        operation: Some(target.name()),
        account,
        region: None,
        resource: None,
        response: error_response(protocol, &e),
    };
    let bytes = match tokio::time::timeout(Duration::from_secs(30), read_body(body, app.max_body)).await {
        Ok(Ok(b)) => b,
        Ok(Err(BodyError::TooLarge)) => return fail(too_large(app.max_body), None),
        Ok(Err(BodyError::Unreadable)) => {
            return fail(
                ErrorOut::ws(
                    ws::ErrorCode::SerializationException,
                    "The request body could not be read.",
                ),
                None,
            )
        }
        Err(_) => {
            return fail(
                ErrorOut::ws(
                    ws::ErrorCode::SerializationException,
                    "Timed out reading the request body.",
                ),
                None,
            )
        }
    };
    if protocol == Protocol::Cbor && !bytes.is_empty() && header(&parts, "content-type").is_none() {
        return fail(
            ErrorOut::ws(
                ws::ErrorCode::UnsupportedMediaTypeException,
                "rpc-v2-cbor bodies must be application/cbor.",
            ),
            None,
        );
    }
    // Authenticate.
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &bytes,
    };
    let now = app.clock.now() as i64;
    let identity = match app.auth.authenticate(&signed, target.signing_name(), now) {
        Ok(i) => i,
        Err(e) => {
            let code =
                ws::ErrorCode::from_name(e.code.name()).unwrap_or(ws::ErrorCode::InvalidSignatureException);
            return fail(ErrorOut::ws(code, e.message), None);
        }
    };
    let account = Some(identity.account.clone());
    // Decode.
    let decoded = match protocol {
        Protocol::Json => json::decode(&bytes),
        Protocol::Cbor => cbor::decode(&bytes),
    };
    let input = match decoded {
        Ok(v) => v,
        Err(e) => return fail(ErrorOut::ws(ws::ErrorCode::SerializationException, e.0), account),
    };
    let region = Some(identity.region.clone());
    let resource_in = crate::console::activity::resource_of(&input, None);
    let cx = Context {
        scope: Scope::new(identity.account, identity.region),
        request_id: request_id.to_string(),
    };
    // Dispatch.
    let result = if target.is_read_only() {
        std::panic::catch_unwind(AssertUnwindSafe(|| call(app, &cx, target, &input))).unwrap_or_else(|_| {
            tracing::error!("handler panicked");
            Err(ErrorOut::internal())
        })
    } else {
        let app = Arc::clone(app);
        tokio::task::spawn_blocking(move || call(&app, &cx, target, &input))
            .await
            .unwrap_or_else(|_| {
                tracing::error!("handler panicked");
                Err(ErrorOut::internal())
            })
    };
    let resource = match (&result, resource_in.as_str()) {
        (Ok(v), "-") => crate::console::activity::resource_of(&Value::Null, Some(v)),
        _ => resource_in,
    };
    let response = match result {
        Ok(v) => ok_response(protocol, &v),
        Err(e) => {
            if e.fault == Fault::Server && e.status == 500 {
                tracing::error!(request_id, error = e.name, "internal failure");
            }
            error_response(protocol, &e)
        }
    };
    Outcome {
        protocol,
        operation: Some(target.name()),
        account,
        region,
        resource: Some(resource),
        response,
    }
}

fn call(app: &App, cx: &Context, target: Target, input: &Value) -> Result<Value, ErrorOut> {
    match target {
        Target::Workspaces(op) => {
            ws::dispatch(app.service.as_ref(), cx, op, input).map_err(ErrorOut::from_ws)
        }
        Target::Ds(op) => ds::dispatch(app.service.as_ref(), cx, op, input)
            .map_err(|e| ErrorOut::from_ds(e).for_request(&cx.request_id)),
    }
}

enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads the body up to `max` bytes. A larger body is still read (and discarded) up to
/// [`DRAIN_LIMIT`] so that the client, still sending, can read the 413 instead of hitting
/// a reset connection.
async fn read_body(mut body: Incoming, max: usize) -> Result<Bytes, BodyError> {
    const DRAIN_LIMIT: usize = 256 * 1024 * 1024;
    let mut buf = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= max {
                buf.extend_from_slice(&data);
            } else if total > DRAIN_LIMIT {
                return Err(BodyError::TooLarge);
            }
        }
    }
    if total > max {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

fn too_large(max: usize) -> ErrorOut {
    ErrorOut::ws(
        ws::ErrorCode::RequestEntityTooLargeException,
        format!("The request body is larger than {max} bytes."),
    )
}

fn build(status: u16, protocol: Protocol, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    match protocol {
        Protocol::Json => {
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
        }
        Protocol::Cbor => {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
            h.insert(
                HeaderName::from_static("smithy-protocol"),
                HeaderValue::from_static("rpc-v2-cbor"),
            );
        }
    }
    r
}

/// A success answer.
pub fn ok_response(protocol: Protocol, v: &Value) -> Response<Full<Bytes>> {
    let body = match protocol {
        Protocol::Json => json::encode(v),
        Protocol::Cbor => cbor::encode(v),
    };
    build(200, protocol, body)
}

/// An error answer: `__type` and message in the body (bare name in JSON, with
/// `X-Amzn-ErrorType`; absolute shape id in CBOR), plus the error's extra members.
pub fn error_response(protocol: Protocol, e: &ErrorOut) -> Response<Full<Bytes>> {
    let type_name = match protocol {
        Protocol::Json => e.name.to_string(),
        Protocol::Cbor => format!("{}#{}", e.namespace, e.name),
    };
    let mut m = vec![
        ("__type".into(), Value::String(type_name)),
        (e.message_member.into(), Value::String(e.message.clone())),
    ];
    if let Some(r) = &e.resource_id {
        m.push(("ResourceId".into(), Value::String(r.clone())));
    }
    if let Some(r) = &e.reason {
        m.push(("reason".into(), Value::String(r.clone())));
    }
    if let Some(r) = e.request_id.as_ref().filter(|r| !r.is_empty()) {
        m.push(("RequestId".into(), Value::String(r.clone())));
    }
    let v = Value::Map(m);
    let body = match protocol {
        Protocol::Json => json::encode(&v),
        Protocol::Cbor => cbor::encode(&v),
    };
    let mut r = build(e.status, protocol, body);
    if protocol == Protocol::Json {
        if let Ok(v) = HeaderValue::from_str(e.name) {
            r.headers_mut()
                .insert(HeaderName::from_static("x-amzn-errortype"), v);
        }
    }
    r
}
