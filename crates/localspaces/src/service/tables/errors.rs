//! The errors every family shares: one internal fault type, and the helpers for the
//! answers most handlers give (bad parameter, missing resource, lost race).

use localspaces_api::ds;
use localspaces_api::workspaces::{Error, ErrorCode};
use localspaces_store::StoreError;

/// A failure the caller cannot fix: the store failed, or a stored record is unreadable.
/// It becomes each API's internal failure (logged, never shown in detail) and, on the
/// engine's path, a store error.
#[derive(Debug)]
pub(crate) struct Fault(pub StoreError);

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Fault(e)
    }
}

impl From<Fault> for StoreError {
    fn from(f: Fault) -> Self {
        f.0
    }
}

/// The message AWS gives with `InternalFailure`.
const INTERNAL: &str = "We encountered an internal error. Please try again.";

/// The message AWS gives with `ServiceUnavailable`.
const UNAVAILABLE: &str = "The service is unavailable. Please try again later.";

impl Fault {
    /// Whether the storage cannot serve for now (the database unreachable, disk full,
    /// read-only, busy, I/O error): worth retrying, so `ServiceUnavailable` (503) rather
    /// than `InternalFailure`.
    /// Logs what failed either way.
    fn transient(&self) -> bool {
        let text = self.0.to_string().to_ascii_lowercase();
        let transient = matches!(self.0, StoreError::Unavailable(_))
            || ["full", "readonly", "read-only", "disk i/o", "locked", "busy"]
                .iter()
                .any(|w| text.contains(w));
        if transient {
            tracing::error!(error = %self.0, "storage fault: the store cannot take this write now; answering ServiceUnavailable");
        } else {
            tracing::error!(error = %self.0, "storage fault; answering InternalFailure");
        }
        transient
    }
}

impl From<Fault> for Error {
    fn from(f: Fault) -> Self {
        if f.transient() {
            Error::new(ErrorCode::ServiceUnavailable, UNAVAILABLE)
        } else {
            Error::new(ErrorCode::InternalFailure, INTERNAL)
        }
    }
}

impl From<Fault> for ds::Error {
    fn from(f: Fault) -> Self {
        if f.transient() {
            ds::Error::new(ds::ErrorCode::ServiceUnavailable, UNAVAILABLE)
        } else {
            ds::Error::new(ds::ErrorCode::InternalFailure, INTERNAL)
        }
    }
}

/// `InvalidParameterValuesException`: a request value the operation refuses.
pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

/// `ResourceNotFoundException` naming the missing resource.
pub(crate) fn not_found(what: &str, id: &str) -> Error {
    Error::new(
        ErrorCode::ResourceNotFoundException,
        format!("The specified {what} {id} could not be found."),
    )
    .with_resource(id)
}

/// What a lost race means to the caller. A conditional write fails when another request
/// changed the same records between this request's read and its commit (another replica,
/// or a transition the engine applied). Each situation has one error code, chosen among
/// those the operations that meet it model.
#[derive(Debug, Clone)]
pub(crate) enum Conflict {
    /// The resource (named) changed meanwhile: `InvalidResourceStateException`, which
    /// every state-changing operation models. Retrying reads the new state.
    Changed(&'static str),
    /// For operations whose model has `ConflictException` (account links): the named
    /// resource changed meanwhile.
    Concurrent(&'static str),
    /// For operations that model neither `InvalidResourceStateException` nor
    /// `ConflictException` (client branding and add-ins): `InvalidParameterValuesException`.
    Retry(&'static str),
    /// Another request took the last slot of a quota: `ResourceLimitExceededException`
    /// with the given message.
    Quota(String),
    /// A resource with the same unique name or key was created meanwhile:
    /// `ResourceAlreadyExistsException` with the given message.
    Exists(String),
}

impl From<Conflict> for Error {
    fn from(c: Conflict) -> Self {
        match c {
            Conflict::Changed(what) => Error::new(
                ErrorCode::InvalidResourceStateException,
                format!("The {what} was modified by another request. Try again."),
            ),
            Conflict::Concurrent(what) => Error::new(
                ErrorCode::ConflictException,
                format!("The {what} was modified by another request. Try again."),
            ),
            Conflict::Retry(what) => {
                invalid(format!("The {what} was modified by another request. Try again."))
            }
            Conflict::Quota(message) => Error::new(ErrorCode::ResourceLimitExceededException, message),
            Conflict::Exists(message) => Error::new(ErrorCode::ResourceAlreadyExistsException, message),
        }
    }
}

impl From<Conflict> for ds::Error {
    fn from(c: Conflict) -> Self {
        match c {
            Conflict::Changed(what) | Conflict::Concurrent(what) | Conflict::Retry(what) => ds::Error::new(
                ds::ErrorCode::ClientException,
                format!("The {what} was modified by another request. Try again."),
            ),
            Conflict::Quota(message) => {
                ds::Error::new(ds::ErrorCode::DirectoryLimitExceededException, message)
            }
            Conflict::Exists(message) => ds::Error::new(ds::ErrorCode::ClientException, message),
        }
    }
}

/// On the engine's path a lost race is not an error: the newer request's own transition
/// stands.
impl From<Conflict> for StoreError {
    fn from(c: Conflict) -> Self {
        StoreError::Conflict(format!("{c:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_faults_answer_service_unavailable_or_internal_failure() {
        for transient in [
            "database or disk is full",
            "attempt to write a readonly database",
            "database is locked",
            "disk I/O error",
        ] {
            let e = Error::from(Fault(StoreError::Backend(transient.into())));
            assert_eq!(e.code, ErrorCode::ServiceUnavailable, "{transient}");
        }
        let e = Error::from(Fault(StoreError::Unavailable("connection refused".into())));
        assert_eq!(e.code, ErrorCode::ServiceUnavailable);
        let e = ds::Error::from(Fault(StoreError::Unavailable("connection refused".into())));
        assert_eq!(e.code, ds::ErrorCode::ServiceUnavailable);
        let e = Error::from(Fault(StoreError::Corrupt("bad record".into())));
        assert_eq!(e.code, ErrorCode::InternalFailure);
    }
}
