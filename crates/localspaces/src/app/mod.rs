//! The application: the state every request shares ([`App`]), the API's routers
//! ([`router`]), the one call path into the generated dispatchers ([`invoke`]) that the API
//! edge and the console both use, and the activity log. The edge, the console and the admin
//! routes depend on this module and never on each other.

// `ErrorOut` is ~130 bytes; errors are the cold path, so boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod activity;
pub mod hosts;
pub mod router;

use crate::auth::Authenticator;
use crate::clock::OffsetClock;
use crate::service::{Context, Service};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use localspaces_api::encode::Encode as _;
use localspaces_api::error::{ErrorTable, Fault, ServiceError};
use localspaces_api::value::Value;
use localspaces_api::{ds, workspaces as ws};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

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
    pub activity: activity::ActivityLog,
    /// The console's login sessions (strict mode).
    pub console: crate::console::ConsoleState,
    /// How long a client may take to send a request's head, and its body.
    pub read_timeout: std::time::Duration,
    /// The `Host` names requests may carry.
    pub allowed_hosts: hosts::AllowedHosts,
    /// Writes running at once ([`invoke`]): SQLite commits one at a time anyway, so a few
    /// threads keep it busy; more would only hold memory while they wait.
    pub writers: tokio::sync::Semaphore,
}

/// How many writes [`invoke`] runs at once (see [`App::writers`]).
pub const WRITERS: usize = 8;

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

/// Which operation of which service a call asks for.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Ws(ws::Operation),
    Ds(ds::Operation),
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Ws(op) => op.name(),
            Target::Ds(op) => op.name(),
        }
    }
    /// The SigV4 service name its requests are signed for.
    pub fn signing_name(self) -> &'static str {
        match self {
            Target::Ws(_) => ws::SIGNING_NAME,
            Target::Ds(_) => ds::SIGNING_NAME,
        }
    }
    /// Reads run on the caller's task; writes (which wait for a durable commit) off it so
    /// they never stall other requests.
    pub fn is_read_only(self) -> bool {
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
    pub fn from_ws(e: ServiceError<ws::ErrorCode>) -> Self {
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
    pub fn from_ds(e: ServiceError<ds::ErrorCode>) -> Self {
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
    pub fn for_request(mut self, request_id: &str) -> Self {
        if self.request_id.is_some() {
            self.request_id = Some(request_id.to_string());
        }
        self
    }
    /// A framework error from the WorkSpaces table (used before the service is known).
    pub fn ws(code: ws::ErrorCode, message: impl Into<String>) -> Self {
        Self::from_ws(ServiceError::new(code, message))
    }
    pub fn internal() -> Self {
        Self::ws(
            ws::ErrorCode::InternalFailure,
            "We encountered an internal error. Please try again.",
        )
    }
}

/// What the request log and the activity log say about an answered request.
pub struct Outcome {
    /// `json`, `cbor` or `admin`.
    pub protocol: &'static str,
    pub operation: Option<std::borrow::Cow<'static, str>>,
    pub account: Option<String>,
    /// Region and resource, for the activity log (when known).
    pub region: Option<String>,
    pub resource: Option<String>,
    pub response: Response<Full<Bytes>>,
}

/// Runs one operation through its generated dispatcher (decode into the typed input,
/// validate, typed handler, encode into a value): the one path by which the API edge and
/// the console reach the service. Reads run here; writes run on the blocking pool, at most
/// [`WRITERS`] at once (with their own copy of `cx`: the caller keeps its context, whose
/// account and region a read then need not copy). A panicking handler answers
/// `InternalFailure`.
pub async fn invoke(app: &Arc<App>, cx: &Context, target: Target, input: Value) -> Result<Answer, ErrorOut> {
    let panicked = |_| {
        tracing::error!(operation = target.name(), "handler panicked");
        Err(ErrorOut::internal())
    };
    // A store shared with other processes: the reads below see every commit that
    // completed before this request (one check of the store, shared by concurrent ones).
    if let Some(fence) = app.service.store().fence() {
        if let Err(e) = fence.await {
            let fault = crate::service::StoreFault(e);
            return Err(match target {
                Target::Ws(_) => ErrorOut::from_ws(fault.into()),
                Target::Ds(_) => ErrorOut::from_ds(fault.into()).for_request(&cx.request_id),
            });
        }
    }
    if target.is_read_only() {
        std::panic::catch_unwind(AssertUnwindSafe(|| dispatch(app, cx, target, &input)))
            .unwrap_or_else(panicked)
    } else {
        // Queued writers wait here, as a future, rather than each holding a thread.
        let Ok(_permit) = app.writers.acquire().await else {
            return Err(ErrorOut::internal());
        };
        let app = Arc::clone(app);
        let cx = cx.clone();
        tokio::task::spawn_blocking(move || dispatch(&app, &cx, target, &input))
            .await
            .unwrap_or_else(|e| panicked(Box::new(e)))
    }
}

/// A handler's typed output: the API edge encodes it straight to the wire, the console
/// shows it as a value tree. One lives per request and moves twice: cheaper than boxing the
/// larger variant.
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    Ws(ws::Output),
    Ds(ds::Output),
}

impl Answer {
    /// The output as a value tree (the console, the activity log).
    pub fn to_value(&self) -> Value {
        match self {
            Answer::Ws(o) => o.to_value(),
            Answer::Ds(o) => o.to_value(),
        }
    }
}

fn dispatch(app: &App, cx: &Context, target: Target, input: &Value) -> Result<Answer, ErrorOut> {
    match target {
        Target::Ws(op) => ws::dispatch_output(app.service.as_ref(), cx, op, input)
            .map(Answer::Ws)
            .map_err(ErrorOut::from_ws),
        Target::Ds(op) => ds::dispatch_output(app.service.as_ref(), cx, op, input)
            .map(Answer::Ds)
            .map_err(|e| ErrorOut::from_ds(e).for_request(&cx.request_id)),
    }
}
