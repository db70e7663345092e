//! Which operation of which service a request asks for: one small router per wire protocol
//! (`POST /` with `X-Amz-Target` is awsJson1_1; `POST …/service/<Service>/operation/<Op>`
//! with `smithy-protocol: rpc-v2-cbor` is rpc-v2-cbor). A refusal is a typed [`Rejection`],
//! turned into the AWS error in one place ([`Rejection::error`]).

use super::{ErrorOut, Protocol, Target};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::Method;
use localspaces_api::error::ServiceError;
use localspaces_api::{ds, workspaces as ws};

/// Why a request names no operation we can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The path is neither `/` nor `…/service/<Service>/operation/<Op>`.
    NotAnOperation,
    /// Operations accept only POST.
    MethodNotAllowed,
    /// A CBOR path without `smithy-protocol: rpc-v2-cbor`.
    MissingSmithyProtocol,
    /// A CBOR request that also carries `X-Amz-Target`.
    TargetOnCbor,
    /// A body whose media type is not the protocol's.
    UnsupportedMediaType(Protocol),
    /// `POST /` without `X-Amz-Target`.
    MissingTarget,
    /// An operation (or service) name nobody serves.
    UnknownOperation(String),
    /// A real Directory Service operation outside the subset localspaces serves.
    DsUnsupported(String),
}

impl Rejection {
    /// The AWS error a client gets for this refusal.
    pub fn error(&self) -> ErrorOut {
        use ws::ErrorCode as C;
        match self {
            Rejection::NotAnOperation => {
                ErrorOut::ws(C::UnknownOperationException, "The requested path is not an operation.")
            }
            Rejection::MethodNotAllowed => {
                ErrorOut::ws(C::MethodNotAllowedException, "Operations accept only POST.")
            }
            Rejection::MissingSmithyProtocol => ErrorOut::ws(
                C::SerializationException,
                "rpc-v2-cbor requests must carry the header smithy-protocol: rpc-v2-cbor.",
            ),
            Rejection::TargetOnCbor => ErrorOut::ws(
                C::SerializationException,
                "rpc-v2-cbor requests must not carry X-Amz-Target.",
            ),
            Rejection::UnsupportedMediaType(Protocol::Cbor) => ErrorOut::ws(
                C::UnsupportedMediaTypeException,
                "rpc-v2-cbor bodies must be application/cbor.",
            ),
            Rejection::UnsupportedMediaType(Protocol::Json) => ErrorOut::ws(
                C::UnsupportedMediaTypeException,
                "awsJson1_1 bodies must be application/x-amz-json-1.1.",
            ),
            Rejection::MissingTarget => {
                ErrorOut::ws(C::UnknownOperationException, "Missing X-Amz-Target header.")
            }
            Rejection::UnknownOperation(name) => {
                ErrorOut::ws(C::UnknownOperationException, format!("Unknown operation {name}."))
            }
            Rejection::DsUnsupported(op) => ErrorOut::from_ds(ServiceError::new(
                ds::ErrorCode::UnsupportedOperationException,
                format!(
                    "localspaces does not implement {}.{op}: its Directory Service API covers what WorkSpaces needs.",
                    ds::TARGET_PREFIX
                ),
            )),
        }
    }
}

/// The request headers the API path reads, found in one pass over the header map (a
/// `HeaderMap::get` hashes the name on every call, and a request read up to seven).
#[derive(Debug, Default, Clone, Copy)]
pub struct ApiHeaders<'a> {
    pub content_type: Option<&'a HeaderValue>,
    pub authorization: Option<&'a HeaderValue>,
    pub smithy_protocol: Option<&'a HeaderValue>,
    pub x_amz_target: Option<&'a HeaderValue>,
    pub x_amzn_target: Option<&'a HeaderValue>,
}

impl<'a> ApiHeaders<'a> {
    /// The headers of `map`; of a repeated header the first value counts, as with
    /// `HeaderMap::get`.
    pub fn of(map: &'a HeaderMap) -> Self {
        let mut h = ApiHeaders::default();
        for (name, value) in map {
            let slot = match name.as_str() {
                "content-type" => &mut h.content_type,
                "authorization" => &mut h.authorization,
                "smithy-protocol" => &mut h.smithy_protocol,
                "x-amz-target" => &mut h.x_amz_target,
                "x-amzn-target" => &mut h.x_amzn_target,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        h
    }
}

/// A header's value as text, if it is ASCII.
pub fn text(value: Option<&HeaderValue>) -> Option<&str> {
    value.and_then(|v| localspaces_protocol::ascii_header(v.as_bytes()))
}

/// Whether a `Content-Type` value names one of `types` (ASCII, compared ignoring case,
/// surrounding spaces and tabs ignored; with `parameters`, anything from the first `;` on
/// is ignored too). Compared as bytes: a value that is not ASCII matches nothing.
fn media_type_is(value: Option<&HeaderValue>, types: &[&[u8]], parameters: bool) -> bool {
    let mut media = value.map_or(&b""[..], HeaderValue::as_bytes);
    if parameters {
        if let Some(i) = memchr::memchr(b';', media) {
            media = &media[..i];
        }
    }
    let media = media.trim_ascii();
    types.iter().any(|t| media.eq_ignore_ascii_case(t))
}

/// The protocol a request speaks, told by its path alone.
pub fn protocol_of(path: &str) -> Protocol {
    if path.contains("/service/") {
        Protocol::Cbor
    } else {
        Protocol::Json
    }
}

/// Routes a request by path and headers (`headers`: those of `parts`; `has_body`: a body may
/// follow, so its media type must be the protocol's). `Err` carries the protocol to answer in.
pub fn route(
    parts: &Parts,
    headers: &ApiHeaders<'_>,
    has_body: bool,
) -> Result<(Protocol, Target), (Protocol, Rejection)> {
    let path = parts.uri.path();
    match last_service_segment(path) {
        Some(idx) => route_cbor(parts, headers, &path[idx + SERVICE.len()..], has_body)
            .map(|t| (Protocol::Cbor, t))
            .map_err(|r| (Protocol::Cbor, r)),
        None => route_json(parts, headers)
            .map(|t| (Protocol::Json, t))
            .map_err(|r| (Protocol::Json, r)),
    }
}

const SERVICE: &str = "/service/";

/// Where the last `/service/` of `path` starts. It starts at a `/`: the slashes are tried
/// from the end (a path has a handful), which costs a fraction of a substring search
/// (a two-way searcher took ~570 instructions on an operation's path).
fn last_service_segment(path: &str) -> Option<usize> {
    memchr::memrchr_iter(b'/', path.as_bytes())
        .find(|&i| path.as_bytes()[i..].starts_with(SERVICE.as_bytes()))
}

/// rpc-v2-cbor: `rest` is what follows `/service/` in the path.
fn route_cbor(
    parts: &Parts,
    headers: &ApiHeaders<'_>,
    rest: &str,
    has_body: bool,
) -> Result<Target, Rejection> {
    let Some((svc, ("operation", op))) = rest
        .split_once('/')
        .and_then(|(svc, rest)| Some((svc, rest.split_once('/')?)))
        .filter(|(_, (_, op))| !op.contains('/'))
    else {
        return Err(Rejection::NotAnOperation);
    };
    if parts.method != Method::POST {
        return Err(Rejection::MethodNotAllowed);
    }
    if headers.smithy_protocol.map(HeaderValue::as_bytes) != Some(b"rpc-v2-cbor") {
        return Err(Rejection::MissingSmithyProtocol);
    }
    if headers.x_amz_target.is_some() || headers.x_amzn_target.is_some() {
        return Err(Rejection::TargetOnCbor);
    }
    if has_body && !media_type_is(headers.content_type, &[b"application/cbor"], false) {
        return Err(Rejection::UnsupportedMediaType(Protocol::Cbor));
    }
    if svc == ws::TARGET_PREFIX || svc == "com.amazonaws.workspaces.WorkspacesService" {
        ws_operation(op)
    } else if svc == ds::TARGET_PREFIX || svc == "com.amazonaws.directoryservice.DirectoryService_20150416" {
        ds_operation(op)
    } else {
        Err(Rejection::UnknownOperation(op.to_string()))
    }
}

/// awsJson1_1: `POST /` naming `<prefix>.<Operation>` in `X-Amz-Target`.
fn route_json(parts: &Parts, headers: &ApiHeaders<'_>) -> Result<Target, Rejection> {
    if parts.uri.path() != "/" {
        return Err(Rejection::NotAnOperation);
    }
    if parts.method != Method::POST {
        return Err(Rejection::MethodNotAllowed);
    }
    // The target is read as bytes: ASCII (else it is no target at all), split at its first
    // `.`, the operation looked up by its bytes; text only for an error's message.
    let Some(target) = headers
        .x_amz_target
        .map(HeaderValue::as_bytes)
        .filter(|t| t.is_ascii())
    else {
        return Err(Rejection::MissingTarget);
    };
    const JSON_TYPES: [&[u8]; 2] = [b"application/x-amz-json-1.1", b"application/x-amz-json-1.0"];
    if !media_type_is(headers.content_type, &JSON_TYPES, true) {
        return Err(Rejection::UnsupportedMediaType(Protocol::Json));
    }
    let unknown = || Rejection::UnknownOperation(String::from_utf8_lossy(target).into_owned());
    let (prefix, op) = memchr::memchr(b'.', target)
        .map(|i| (&target[..i], &target[i + 1..]))
        .ok_or_else(unknown)?;
    if prefix == ws::TARGET_PREFIX.as_bytes() {
        ws::Operation::from_name_bytes(op)
            .map(Target::Ws)
            .ok_or_else(unknown)
    } else if prefix == ds::TARGET_PREFIX.as_bytes() {
        let op = std::str::from_utf8(op).map_err(|_| unknown())?;
        ds_operation(op).map_err(|r| match r {
            Rejection::UnknownOperation(_) => unknown(),
            other => other,
        })
    } else {
        Err(unknown())
    }
}

fn ws_operation(op: &str) -> Result<Target, Rejection> {
    ws::Operation::from_name(op)
        .map(Target::Ws)
        .ok_or_else(|| Rejection::UnknownOperation(op.to_string()))
}

/// A Directory Service operation of the generated subset; a real DS operation outside it is
/// `DsUnsupported` (naming it), anything else unknown.
fn ds_operation(op: &str) -> Result<Target, Rejection> {
    if let Some(o) = ds::Operation::from_name(op) {
        return Ok(Target::Ds(o));
    }
    if ds::OMITTED_OPERATIONS.contains(&op) {
        return Err(Rejection::DsUnsupported(op.to_string()));
    }
    Err(Rejection::UnknownOperation(op.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_parts(parts: &Parts, has_body: bool) -> Result<(Protocol, Target), (Protocol, Rejection)> {
        route(parts, &ApiHeaders::of(&parts.headers), has_body)
    }

    fn parts(method: &str, path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).map(|r| r.into_parts().0).expect("request")
    }

    #[test]
    fn the_last_service_segment_is_found_as_a_substring_search_finds_it() {
        for path in [
            "/service/WorkspacesService/operation/DescribeWorkspaces",
            "/prefix/service/WorkspacesService/operation/DescribeWorkspaces",
            "/service/service/operation/X",
            "/service/a/service/b",
            "/service//service/",
            "/service",
            "/services/x",
            "service/x",
            "/x/service/",
            "/",
            "",
        ] {
            assert_eq!(last_service_segment(path), path.rfind(SERVICE), "{path}");
        }
    }

    #[test]
    fn api_headers_are_read_in_one_pass_first_value_first() {
        let p = parts(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "WorkspacesService.DescribeIpGroups"),
                ("x-amz-target", "WorkspacesService.Nope"),
                ("Content-Type", "application/cbor"),
                ("Smithy-Protocol", "rpc-v2-cbor"),
                ("authorization", "AWS4-HMAC-SHA256 x"),
                ("content-length", "2"),
                ("x-other", "y"),
            ],
        );
        let h = ApiHeaders::of(&p.headers);
        // The same answers as `HeaderMap::get` by name.
        for (got, name) in [
            (h.x_amz_target, "x-amz-target"),
            (h.content_type, "content-type"),
            (h.smithy_protocol, "smithy-protocol"),
            (h.authorization, "authorization"),
            (h.x_amzn_target, "x-amzn-target"),
        ] {
            assert_eq!(got, p.headers.get(name), "{name}");
        }
        assert_eq!(text(h.x_amz_target), Some("WorkspacesService.DescribeIpGroups"));
        assert_eq!(h.x_amzn_target, None);
    }

    #[test]
    fn json_routes_and_rejections() {
        let ct = ("content-type", "application/x-amz-json-1.1");
        let ok = parts(
            "POST",
            "/",
            &[ct, ("x-amz-target", "WorkspacesService.DescribeIpGroups")],
        );
        assert!(matches!(
            route_parts(&ok, true),
            Ok((Protocol::Json, Target::Ws(_)))
        ));
        let get = parts("GET", "/", &[ct]);
        assert_eq!(
            route_parts(&get, false).err(),
            Some((Protocol::Json, Rejection::MethodNotAllowed))
        );
        let none = parts("POST", "/", &[ct]);
        assert_eq!(
            route_parts(&none, true).err(),
            Some((Protocol::Json, Rejection::MissingTarget))
        );
        let bad = parts("POST", "/", &[ct, ("x-amz-target", "WorkspacesService.Nope")]);
        assert_eq!(
            route_parts(&bad, true).err(),
            Some((
                Protocol::Json,
                Rejection::UnknownOperation("WorkspacesService.Nope".into())
            ))
        );
        let path = parts("POST", "/x", &[ct]);
        assert_eq!(
            route_parts(&path, true).err(),
            Some((Protocol::Json, Rejection::NotAnOperation))
        );
    }

    #[test]
    fn cbor_routes_and_rejections() {
        let sp = ("smithy-protocol", "rpc-v2-cbor");
        let ct = ("content-type", "application/cbor");
        let path = "/service/WorkspacesService/operation/DescribeIpGroups";
        assert!(matches!(
            route_parts(&parts("POST", path, &[sp, ct]), true),
            Ok((Protocol::Cbor, Target::Ws(_)))
        ));
        assert_eq!(
            route_parts(&parts("POST", path, &[ct]), true).err(),
            Some((Protocol::Cbor, Rejection::MissingSmithyProtocol))
        );
        assert_eq!(
            route_parts(&parts("POST", path, &[sp]), true).err(),
            Some((Protocol::Cbor, Rejection::UnsupportedMediaType(Protocol::Cbor)))
        );
        let omitted = format!(
            "/service/DirectoryService_20150416/operation/{}",
            ds::OMITTED_OPERATIONS[0]
        );
        assert!(matches!(
            route_parts(&parts("POST", &omitted, &[sp, ct]), true).err(),
            Some((Protocol::Cbor, Rejection::DsUnsupported(_)))
        ));
        assert_eq!(Rejection::MethodNotAllowed.error().status, 405);
    }
}
