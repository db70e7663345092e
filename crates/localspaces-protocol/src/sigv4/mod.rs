//! SigV4 (`AWS4-HMAC-SHA256`) header authentication: parsing the `Authorization` header,
//! canonicalization, signing and verification.
//!
//! Everything here is a pure function of plain values: method, raw path, raw query string,
//! `(name, value)` header pairs and body bytes. No HTTP server types are involved. Error
//! messages follow the ones AWS returns, so that SDK users see familiar text.
//!
//! Canonicalization follows the rules for every service except S3, as the AWS SigV4 test suite
//! does. The path is normalized (empty and `.` segments removed, `..` resolved), and each
//! segment of the path *as received on the wire* is URI-encoded once more. This reproduces the
//! "double encoding" that SDKs apply for non-S3 services.
//!
//! The pieces: [`parse`](parse_authorization) reads the `Authorization` header into slices of
//! it (every request, in every mode: no allocation but the list of signed headers);
//! `canonical` builds the canonical request, the string to sign and the signing key;
//! `verify` checks a signature, its scope and its time (strict mode only); `date` reads and
//! writes the two date layouts.

mod canonical;
mod date;
mod parse;
mod verify;

#[cfg(test)]
mod tests;

pub use canonical::{
    canonical_query_string, canonical_request, canonical_uri, sha256_hex, signature, signing_key,
    string_to_sign,
};
pub use date::{civil_from_days, format_amz_date, parse_amz_date};
pub use parse::{parse_authorization, Authorization, SignedHeaders};
pub use verify::{check_scope, compute_signature, verify};

/// The only supported signing algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The terminator of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// The `x-amz-content-sha256` value for a payload that is not part of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The largest clock difference accepted between the request and the server, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

pub(crate) const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the \
    signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
    service documentation for details.";

/// Which AWS error an authentication failure is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorCode {
    /// There is no `Authorization` header at all.
    MissingAuthenticationToken,
    /// The `Authorization` header or the date headers are missing or malformed.
    IncompleteSignature,
    /// The signature, its scope or its time do not check out.
    InvalidSignature,
    /// The access key is unknown.
    UnrecognizedClient,
}

impl AuthErrorCode {
    /// The AWS error type name, e.g. `"InvalidSignatureException"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature => "IncompleteSignatureException",
            Self::InvalidSignature => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
        }
    }
}

/// An authentication failure: an AWS error code and a message like the one AWS sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", .code.name(), .message)]
pub struct AuthError {
    /// The AWS error code.
    pub code: AuthErrorCode,
    /// The human-readable message.
    pub message: String,
}

impl AuthError {
    /// An error with the given code and message.
    pub fn new(code: AuthErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The error AWS returns when a request has no `Authorization` header.
    pub fn missing_authentication_token() -> Self {
        Self::new(
            AuthErrorCode::MissingAuthenticationToken,
            "Missing Authentication Token",
        )
    }

    /// The error AWS returns for an unknown access key.
    pub fn unrecognized_client() -> Self {
        Self::new(
            AuthErrorCode::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    }

    /// The error AWS returns when the computed signature differs from the one provided.
    pub fn signature_mismatch() -> Self {
        Self::new(AuthErrorCode::InvalidSignature, SIGNATURE_MISMATCH)
    }

    pub(crate) fn incomplete(message: impl Into<String>) -> Self {
        Self::new(AuthErrorCode::IncompleteSignature, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(AuthErrorCode::InvalidSignature, message)
    }
}

/// The parts of an HTTP request that SigV4 covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path as received on the wire (still percent-encoded), without the query string.
    pub path: &'a str,
    /// The raw query string, without the leading `?` (empty if there is none).
    pub query: &'a str,
    /// All request headers as `(name, value)` pairs, in order; repeated names are allowed.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body.
    pub body: &'a [u8],
}

impl RequestParts<'_> {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}
