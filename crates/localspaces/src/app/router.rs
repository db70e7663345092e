//! Which operation of which service a request asks for: one small router per wire protocol
//! (`POST /` with `X-Amz-Target` is awsJson1_1; `POST …/service/<Service>/operation/<Op>`
//! with `smithy-protocol: rpc-v2-cbor` is rpc-v2-cbor). A refusal is a typed [`Rejection`],
//! turned into the AWS error in one place ([`Rejection::error`]).

use super::{ErrorOut, Protocol, Target};
use hyper::header::{HeaderName, CONTENT_TYPE};
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

// Header names as constants: a lookup by `&str` parses the name on every request.
const SMITHY_PROTOCOL: HeaderName = HeaderName::from_static("smithy-protocol");
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
const X_AMZN_TARGET: HeaderName = HeaderName::from_static("x-amzn-target");

fn header<'a>(parts: &'a Parts, name: &HeaderName) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| localspaces_protocol::ascii_header(v.as_bytes()))
}

/// The protocol a request speaks, told by its path alone.
pub fn protocol_of(path: &str) -> Protocol {
    if path.contains("/service/") {
        Protocol::Cbor
    } else {
        Protocol::Json
    }
}

/// Routes a request by path and headers (`has_body`: a body may follow, so its media type
/// must be the protocol's). `Err` carries the protocol to answer in.
pub fn route(parts: &Parts, has_body: bool) -> Result<(Protocol, Target), (Protocol, Rejection)> {
    // `str::rfind` with a `&str` pattern sets its searcher up on every call, which costs
    // more than the search on a short path: the searcher is built once.
    static SERVICE: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new("/service/"));
    let path = parts.uri.path();
    match SERVICE.rfind(path) {
        Some(idx) => route_cbor(parts, &path[idx + "/service/".len()..], has_body)
            .map(|t| (Protocol::Cbor, t))
            .map_err(|r| (Protocol::Cbor, r)),
        None => route_json(parts)
            .map(|t| (Protocol::Json, t))
            .map_err(|r| (Protocol::Json, r)),
    }
}

/// rpc-v2-cbor: `rest` is what follows `/service/` in the path.
fn route_cbor(parts: &Parts, rest: &str, has_body: bool) -> Result<Target, Rejection> {
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
    if header(parts, &SMITHY_PROTOCOL) != Some("rpc-v2-cbor") {
        return Err(Rejection::MissingSmithyProtocol);
    }
    if parts.headers.contains_key(&X_AMZ_TARGET) || parts.headers.contains_key(&X_AMZN_TARGET) {
        return Err(Rejection::TargetOnCbor);
    }
    if has_body {
        let ct = header(parts, &CONTENT_TYPE).unwrap_or("");
        if !ct.trim().eq_ignore_ascii_case("application/cbor") {
            return Err(Rejection::UnsupportedMediaType(Protocol::Cbor));
        }
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
fn route_json(parts: &Parts) -> Result<Target, Rejection> {
    if parts.uri.path() != "/" {
        return Err(Rejection::NotAnOperation);
    }
    if parts.method != Method::POST {
        return Err(Rejection::MethodNotAllowed);
    }
    let Some(target) = header(parts, &X_AMZ_TARGET) else {
        return Err(Rejection::MissingTarget);
    };
    let ct = header(parts, &CONTENT_TYPE).unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !(media.eq_ignore_ascii_case("application/x-amz-json-1.1")
        || media.eq_ignore_ascii_case("application/x-amz-json-1.0"))
    {
        return Err(Rejection::UnsupportedMediaType(Protocol::Json));
    }
    let unknown = || Rejection::UnknownOperation(target.to_string());
    let (prefix, op) = target.split_once('.').ok_or_else(unknown)?;
    match prefix {
        ws::TARGET_PREFIX => ws_operation(op).map_err(|_| unknown()),
        ds::TARGET_PREFIX => ds_operation(op).map_err(|r| match r {
            Rejection::UnknownOperation(_) => unknown(),
            other => other,
        }),
        _ => Err(unknown()),
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

    fn parts(method: &str, path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).map(|r| r.into_parts().0).expect("request")
    }

    #[test]
    fn json_routes_and_rejections() {
        let ct = ("content-type", "application/x-amz-json-1.1");
        let ok = parts(
            "POST",
            "/",
            &[ct, ("x-amz-target", "WorkspacesService.DescribeIpGroups")],
        );
        assert!(matches!(route(&ok, true), Ok((Protocol::Json, Target::Ws(_)))));
        let get = parts("GET", "/", &[ct]);
        assert_eq!(
            route(&get, false).err(),
            Some((Protocol::Json, Rejection::MethodNotAllowed))
        );
        let none = parts("POST", "/", &[ct]);
        assert_eq!(
            route(&none, true).err(),
            Some((Protocol::Json, Rejection::MissingTarget))
        );
        let bad = parts("POST", "/", &[ct, ("x-amz-target", "WorkspacesService.Nope")]);
        assert_eq!(
            route(&bad, true).err(),
            Some((
                Protocol::Json,
                Rejection::UnknownOperation("WorkspacesService.Nope".into())
            ))
        );
        let path = parts("POST", "/x", &[ct]);
        assert_eq!(
            route(&path, true).err(),
            Some((Protocol::Json, Rejection::NotAnOperation))
        );
    }

    #[test]
    fn cbor_routes_and_rejections() {
        let sp = ("smithy-protocol", "rpc-v2-cbor");
        let ct = ("content-type", "application/cbor");
        let path = "/service/WorkspacesService/operation/DescribeIpGroups";
        assert!(matches!(
            route(&parts("POST", path, &[sp, ct]), true),
            Ok((Protocol::Cbor, Target::Ws(_)))
        ));
        assert_eq!(
            route(&parts("POST", path, &[ct]), true).err(),
            Some((Protocol::Cbor, Rejection::MissingSmithyProtocol))
        );
        assert_eq!(
            route(&parts("POST", path, &[sp]), true).err(),
            Some((Protocol::Cbor, Rejection::UnsupportedMediaType(Protocol::Cbor)))
        );
        let omitted = format!(
            "/service/DirectoryService_20150416/operation/{}",
            ds::OMITTED_OPERATIONS[0]
        );
        assert!(matches!(
            route(&parts("POST", &omitted, &[sp, ct]), true).err(),
            Some((Protocol::Cbor, Rejection::DsUnsupported(_)))
        ));
        assert_eq!(Rejection::MethodNotAllowed.error().status, 405);
    }
}
