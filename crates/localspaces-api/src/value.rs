//! A protocol-neutral document tree: both wire codecs decode into it and encode from it,
//! and the generated shape code converts it to and from typed structures.

use std::borrow::Cow;

/// A structure member or map key: the model's member names are static (encoding a
/// structure allocates no key), keys read off the wire are owned.
pub type MapKey = Cow<'static, str>;

/// One decoded wire value.
///
/// JSON numbers become `Int` or `Float`; CBOR tag 1 becomes `Timestamp`; CBOR byte strings
/// become `Blob` (JSON blobs arrive as base64 `String`s and are decoded by the shape code).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`, CBOR `null` or `undefined`: treated as an absent member.
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Blob(Vec<u8>),
    /// Epoch seconds (fractional allowed).
    Timestamp(f64),
    List(Vec<Value>),
    /// Map entries in wire order; duplicate keys are kept (the last one wins when read).
    Map(Vec<(MapKey, Value)>),
}

impl Value {
    /// Short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Blob(_) => "blob",
            Value::Timestamp(_) => "timestamp",
            Value::List(_) => "list",
            Value::Map(_) => "structure or map",
        }
    }

    /// An empty structure (`{}` / `a0`).
    pub fn empty_map() -> Value {
        Value::Map(Vec::new())
    }
}
