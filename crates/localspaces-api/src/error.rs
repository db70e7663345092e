//! The error value every layer returns. Which codes exist, their HTTP status and whether
//! they are modeled comes from the generated `ErrorCode` table of each service module.

use std::fmt;

/// Whether an error is the caller's fault or the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Client,
    Server,
}

/// Properties every generated error table provides for its codes.
pub trait ErrorTable: Copy + fmt::Debug + Send + Sync + 'static {
    /// The bare shape name, sent as `__type` (JSON) and used to build the CBOR shape id.
    fn name(self) -> &'static str;
    /// HTTP status code.
    fn status(self) -> u16;
    /// Client or server fault.
    fn fault(self) -> Fault;
    /// The Smithy namespace of the shape, e.g. `com.amazonaws.workspaces`.
    fn namespace(self) -> &'static str;
    /// True when the service model defines the shape (false for protocol/framework errors).
    fn is_modeled(self) -> bool;
}

/// An error answer: a code from the table plus its members.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceError<C: ErrorTable> {
    pub code: C,
    pub message: String,
    /// `ResourceId` member (ResourceNotFound / ResourceUnavailable / ResourceInUse).
    pub resource_id: Option<String>,
    /// `reason` member (OperationNotSupportedException).
    pub reason: Option<String>,
}

impl<C: ErrorTable> ServiceError<C> {
    /// An error with a message and no extra members.
    pub fn new(code: C, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            resource_id: None,
            reason: None,
        }
    }

    /// Sets the `ResourceId` member.
    pub fn with_resource(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    /// Sets the `reason` member.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl<C: ErrorTable> fmt::Display for ServiceError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl<C: ErrorTable> std::error::Error for ServiceError<C> {}
