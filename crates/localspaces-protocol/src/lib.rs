//! The wire: codecs between bytes and [`localspaces_api::value::Value`] for both
//! protocols, and SigV4. No HTTP server, no service logic.

pub mod cbor;
pub mod json;
pub mod sigv4;

/// A body that could not be decoded: answered as `SerializationException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);
