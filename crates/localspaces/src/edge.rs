//! The API edge: read the body (bounded), authenticate, decode, hand a typed input to the
//! service through [`crate::app::invoke`], and encode the answer in the protocol of the
//! request ([`crate::app::router`] has already told which operation and protocol).
//! Errors found before the protocol is known are answered in JSON.

use crate::app::router::{self, ApiHeaders, Rejection};
use crate::app::{activity, App, ErrorOut, Outcome, Protocol};
use crate::auth::SignedRequest;
use crate::clock::Clock;
use crate::service::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use localspaces_api::encode::Encode;
use localspaces_api::error::Fault;
use localspaces_api::value::Value;
use localspaces_api::workspaces as ws;
use localspaces_protocol::{cbor, json};
use localspaces_store::Scope;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

/// Answers one API request (anything that is neither console nor admin).
pub async fn handle(
    app: &Arc<App>,
    parts: hyper::http::request::Parts,
    body: Incoming,
    request_id: &str,
) -> Outcome {
    let headers = ApiHeaders::of(&parts.headers);
    // The length the request declared (HTTP/1 `Content-Length`, already checked by hyper, or
    // HTTP/2's), read off the body rather than parsed again; `None` for a chunked body.
    let declared_len = hyper::body::Body::size_hint(&body).exact();
    // Any request that may carry a body has its media type checked by the router; one that
    // declares none has an empty body (hyper holds a body to its declared length).
    let maybe_body = declared_len != Some(0);
    // A declared body over the limit is refused at once; the body is read and dropped
    // meanwhile (bounded in size and time) so that a client still sending it reads the
    // answer instead of a reset connection.
    if declared_len.is_some_and(|n| n > app.max_body as u64) {
        let p = router::protocol_of(parts.uri.path());
        let read_timeout = app.read_timeout;
        tokio::spawn(async move {
            let _ = read_body_within(body, 0, read_timeout).await;
        });
        let response = error_response(p, &too_large(app.max_body));
        return Outcome {
            protocol: p.name(),
            operation: None,
            account: None,
            region: None,
            resource: None,
            response,
        };
    }
    let (protocol, target) = match router::route(&parts, &headers, maybe_body) {
        Ok(t) => t,
        Err((p, rejection)) => {
            // Read the body first (it is within the limit), so that a client still sending
            // it gets the answer rather than a reset connection.
            let _ = read_body_within(body, app.max_body, app.read_timeout).await;
            return rejected(p, &rejection, request_id);
        }
    };
    let fail = |e: ErrorOut, account: Option<String>| Outcome {
        protocol: protocol.name(),
        operation: Some(target.name().into()),
        account,
        region: None,
        resource: None,
        response: error_response(protocol, &e),
    };
    let bytes = match read_body_within(body, app.max_body, app.read_timeout).await {
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
    // Authenticate.
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        authorization: router::text(headers.authorization),
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
    // Decode.
    let decoded = match protocol {
        Protocol::Json => json::decode(&bytes),
        Protocol::Cbor => cbor::decode(&bytes),
    };
    let input = match decoded {
        Ok(v) => v,
        Err(e) => {
            return fail(
                ErrorOut::ws(ws::ErrorCode::SerializationException, e.0),
                Some(identity.account),
            )
        }
    };
    let resource_in = activity::resource_of(&input, None);
    let cx = Context {
        scope: Scope::new(identity.account, identity.region),
        request_id: request_id.to_string(),
    };
    let result = crate::app::invoke(app, &cx, target, input).await;
    // A creation names its resource in its output; a read's output (a page of resources)
    // names none, and is not turned into a value tree to find out.
    let resource = match (&result, resource_in.as_str()) {
        (Ok(v), "-") if !target.is_read_only() => activity::resource_of(&Value::Null, Some(&v.to_value())),
        _ => resource_in,
    };
    let response = match result {
        Ok(crate::app::Answer::Ws(v)) => ok_response(protocol, &v),
        Ok(crate::app::Answer::Ds(v)) => ok_response(protocol, &v),
        Err(e) => {
            if e.fault == Fault::Server && e.status == 500 {
                tracing::error!(request_id, error = e.name, "internal failure");
            }
            error_response(protocol, &e)
        }
    };
    Outcome {
        protocol: protocol.name(),
        operation: Some(target.name().into()),
        account: Some(cx.scope.account),
        region: Some(cx.scope.region),
        resource: Some(resource),
        response,
    }
}

/// The answer to a request the router refused.
pub fn rejected(protocol: Protocol, rejection: &Rejection, request_id: &str) -> Outcome {
    Outcome {
        protocol: protocol.name(),
        operation: None,
        account: None,
        region: None,
        resource: None,
        response: error_response(protocol, &rejection.error().for_request(request_id)),
    }
}

enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads the body (see [`read_body`]) within `limit`. A small body has usually arrived with
/// the head: a first poll finds it complete and no timer is set for it (a timer entry
/// registered and cancelled, and a clock read, per request). A body still on its way is
/// read under the timeout; that poll replaces the no-op waker.
async fn read_body_within(
    body: Incoming,
    max: usize,
    limit: Duration,
) -> Result<Result<Bytes, BodyError>, tokio::time::error::Elapsed> {
    let mut read = std::pin::pin!(read_body(body, max));
    if let Poll::Ready(r) = read.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        return Ok(r);
    }
    tokio::time::timeout(limit, read).await
}

/// Reads the body up to `max` bytes. A larger body is still read (and discarded) up to
/// [`DRAIN_LIMIT`] so that the client, still sending, can read the 413 instead of hitting
/// a reset connection.
/// A body that came in one piece (the usual small request) is returned as is, not copied.
async fn read_body(mut body: Incoming, max: usize) -> Result<Bytes, BodyError> {
    const DRAIN_LIMIT: usize = 256 * 1024 * 1024;
    let mut first: Option<Bytes> = None;
    let mut buf = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= max {
                if total == data.len() {
                    first = Some(data);
                } else {
                    if let Some(f) = first.take() {
                        buf.extend_from_slice(&f);
                    }
                    buf.extend_from_slice(&data);
                }
            } else if total > DRAIN_LIMIT {
                return Err(BodyError::TooLarge);
            }
        }
    }
    if total > max {
        Err(BodyError::TooLarge)
    } else {
        Ok(first.unwrap_or_else(|| buf.freeze()))
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

/// A success answer: `v` (a typed output or a [`Value`]) written straight to the wire.
pub fn ok_response<T: Encode + ?Sized>(protocol: Protocol, v: &T) -> Response<Full<Bytes>> {
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
