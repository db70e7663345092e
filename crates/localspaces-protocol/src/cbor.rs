//! The Smithy RPC v2 CBOR body codec: bytes ⇄ [`Value`], and typed outputs → bytes through
//! [`CborWriter`].
//!
//! Built on [`minicbor`]'s low-level [`Decoder`]/[`Encoder`] rather than a serde data model:
//! minicbor is actively maintained, `no_std`-small, borrows strings and byte strings straight
//! from the input (a declared length is checked against the remaining input before anything is
//! read, so `5b ffffffffffffffff` cannot trigger a huge allocation), validates UTF-8, handles
//! indefinite-length strings chunk by chunk, and exposes every token (tags, `undefined`, half
//! floats, full-range integers), so all rpcv2Cbor rules are enforced here in a small recursive
//! walk with an explicit depth limit. (ciborium was the alternative; its `Value` path has no
//! configurable depth limit and its low-level crate sees far fewer releases.)

use localspaces_api::encode::{Encode, Encoder as WireEncoder};
use localspaces_api::value::{MapKey, Value};
use minicbor::data::{Int, Type};
use minicbor::{Decoder, Encoder};

use crate::CodecError;

/// Deepest accepted nesting of maps and arrays (the top-level map counts as 1).
pub const MAX_DEPTH: usize = 64;

/// The CBOR "break" stop code that ends an indefinite-length item.
const BREAK: u8 = 0xff;

/// Decodes a Smithy rpcv2Cbor request body.
///
/// An empty body is the empty structure. Otherwise the body must be exactly one CBOR map with
/// text-string keys; definite and indefinite lengths are accepted, `null`/`undefined` become
/// [`Value::Null`], tag 1 over an integer or float becomes [`Value::Timestamp`], and any other
/// tag, simple value or trailing byte is a [`CodecError`].
pub fn decode(body: &[u8]) -> Result<Value, CodecError> {
    if body.is_empty() {
        return Ok(Value::empty_map());
    }
    let mut d = Decoder::new(body);
    if !matches!(d.datatype().map_err(cbor_error)?, Type::Map | Type::MapIndef) {
        return Err(CodecError("the body must be a CBOR map".into()));
    }
    let value = decode_value(&mut d, 1)?;
    if d.position() != body.len() {
        return Err(CodecError(format!(
            "invalid CBOR body: trailing bytes after the top-level map ({} bytes)",
            body.len() - d.position()
        )));
    }
    Ok(value)
}

/// Encodes `value` as CBOR.
///
/// Maps and arrays use definite lengths and integers their smallest encoding; `Timestamp` is
/// tag 1 + float64 (`c1 fb …`), `Blob` a byte string, `Float` a float64, `Null` is `f6`.
pub fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(crate::ANSWER_CAPACITY);
    encode_into(value, &mut out);
    out
}

/// Appends the CBOR encoding of `value` (a typed output or a [`Value`]) to `out` (see
/// [`encode`]).
pub fn encode_into<T: Encode + ?Sized>(value: &T, out: &mut Vec<u8>) {
    value.encode_with(&mut CborWriter::new(out));
}

// ---------------------------------------------------------------------------------------------
// Decoding

fn cbor_error(e: minicbor::decode::Error) -> CodecError {
    if e.is_end_of_input() {
        CodecError("invalid CBOR body: unexpected end of input".into())
    } else {
        CodecError(format!("invalid CBOR body: {e}"))
    }
}

fn invalid(msg: impl std::fmt::Display) -> CodecError {
    CodecError(format!("invalid CBOR body: {msg}"))
}

/// Bytes left after the decoder's position.
fn remaining(d: &Decoder<'_>) -> usize {
    d.input().len().saturating_sub(d.position())
}

/// Consumes a break byte if one is next; errors at end of input.
fn at_break(d: &mut Decoder<'_>) -> Result<bool, CodecError> {
    match d.input().get(d.position()) {
        Some(&BREAK) => {
            d.set_position(d.position() + 1);
            Ok(true)
        }
        Some(_) => Ok(false),
        None => Err(invalid("unexpected end of input")),
    }
}

/// A CBOR integer as `Int`, or as `Float` when it lies outside the `i64` range.
fn int_value(n: Int) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Float(i128::from(n) as f64),
    }
}

/// Decodes the item at the decoder's position; `depth` is the nesting level a map or array
/// found here would have.
fn decode_value(d: &mut Decoder<'_>, depth: usize) -> Result<Value, CodecError> {
    let ty = d.datatype().map_err(cbor_error)?;
    Ok(match ty {
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => int_value(d.int().map_err(cbor_error)?),
        Type::F16 | Type::F32 | Type::F64 => Value::Float(d.f64().map_err(cbor_error)?),
        Type::Bool => Value::Bool(d.bool().map_err(cbor_error)?),
        Type::Null => {
            d.null().map_err(cbor_error)?;
            Value::Null
        }
        Type::Undefined => {
            d.undefined().map_err(cbor_error)?;
            Value::Null
        }
        Type::String | Type::StringIndef => Value::String(decode_text(d, ty)?),
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter().map_err(cbor_error)? {
                bytes.extend_from_slice(chunk.map_err(cbor_error)?);
            }
            Value::Blob(bytes)
        }
        Type::Array | Type::ArrayIndef => decode_array(d, depth)?,
        Type::Map | Type::MapIndef => decode_map(d, depth)?,
        Type::Tag => decode_tagged(d)?,
        Type::Simple => {
            let n = d.simple().map_err(cbor_error)?;
            return Err(invalid(format_args!("unsupported CBOR simple value {n}")));
        }
        Type::Break => return Err(invalid("unexpected break stop code")),
        Type::Unknown(b) => return Err(invalid(format_args!("invalid initial byte {b:#04x}"))),
    })
}

/// Decodes a definite or indefinite text string (`ty`: its type, already read).
fn decode_text(d: &mut Decoder<'_>, ty: Type) -> Result<String, CodecError> {
    // A definite string, the usual case, is one slice: no chunk iterator to set up.
    if ty == Type::String {
        return d.str().map(str::to_owned).map_err(cbor_error);
    }
    let mut iter = d.str_iter().map_err(cbor_error)?;
    // The common case, one definite chunk, needs a single exactly sized allocation.
    let mut text = match iter.next() {
        Some(chunk) => chunk.map_err(cbor_error)?.to_owned(),
        None => return Ok(String::new()),
    };
    for chunk in iter {
        text.push_str(chunk.map_err(cbor_error)?);
    }
    Ok(text)
}

fn check_depth(depth: usize) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        Err(invalid(format_args!("nesting deeper than {MAX_DEPTH} levels")))
    } else {
        Ok(())
    }
}

/// Converts a declared element count into a preallocation bounded by the bytes left (each
/// element takes at least `min_item_len` bytes); a count that cannot fit is rejected outright.
fn bounded_len(d: &Decoder<'_>, n: u64, min_item_len: u64) -> Result<usize, CodecError> {
    let left = remaining(d) as u64;
    match (n.checked_mul(min_item_len), usize::try_from(n)) {
        (Some(needed), Ok(n)) if needed <= left => Ok(n),
        _ => Err(invalid("unexpected end of input")),
    }
}

fn decode_array(d: &mut Decoder<'_>, depth: usize) -> Result<Value, CodecError> {
    check_depth(depth)?;
    let mut items;
    match d.array().map_err(cbor_error)? {
        Some(n) => {
            let n = bounded_len(d, n, 1)?;
            items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(decode_value(d, depth + 1)?);
            }
        }
        None => {
            items = Vec::new();
            while !at_break(d)? {
                items.push(decode_value(d, depth + 1)?);
            }
        }
    }
    Ok(Value::List(items))
}

fn decode_map(d: &mut Decoder<'_>, depth: usize) -> Result<Value, CodecError> {
    check_depth(depth)?;
    let mut entries;
    match d.map().map_err(cbor_error)? {
        Some(n) => {
            let n = bounded_len(d, n, 2)?;
            entries = Vec::with_capacity(n);
            for _ in 0..n {
                entries.push(decode_entry(d, depth)?);
            }
        }
        None => {
            entries = Vec::new();
            while !at_break(d)? {
                entries.push(decode_entry(d, depth)?);
            }
        }
    }
    Ok(Value::Map(entries))
}

fn decode_entry(d: &mut Decoder<'_>, depth: usize) -> Result<(MapKey, Value), CodecError> {
    let ty = d.datatype().map_err(cbor_error)?;
    match ty {
        Type::String | Type::StringIndef => {}
        other => {
            return Err(invalid(format_args!(
                "map keys must be text strings, not {other}"
            )))
        }
    }
    let key = decode_text(d, ty)?;
    let value = decode_value(d, depth + 1)?;
    Ok((key.into(), value))
}

/// Decodes a tagged item: only tag 1 (epoch-seconds timestamp) is meaningful.
fn decode_tagged(d: &mut Decoder<'_>) -> Result<Value, CodecError> {
    let tag = d.tag().map_err(cbor_error)?.as_u64();
    match tag {
        1 => {}
        2 | 3 => return Err(invalid("CBOR bignums (tags 2 and 3) are not supported")),
        n => return Err(invalid(format_args!("unsupported CBOR tag {n}"))),
    }
    let seconds = match d.datatype().map_err(cbor_error)? {
        Type::U8
        | Type::U16
        | Type::U32
        | Type::U64
        | Type::I8
        | Type::I16
        | Type::I32
        | Type::I64
        | Type::Int => i128::from(d.int().map_err(cbor_error)?) as f64,
        Type::F16 | Type::F32 | Type::F64 => d.f64().map_err(cbor_error)?,
        other => return Err(invalid(format_args!("tag 1 must wrap a number, not {other}"))),
    };
    if !seconds.is_finite() {
        return Err(invalid("timestamp is not a finite number"));
    }
    Ok(Value::Timestamp(seconds))
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Writes CBOR into a buffer as an [`Encoder`] is called. Writing into a `Vec` cannot fail,
/// so the encoder's results carry nothing and are dropped.
pub struct CborWriter<'a> {
    e: Encoder<&'a mut Vec<u8>>,
}

impl<'a> CborWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { e: Encoder::new(out) }
    }
}

impl CborWriter<'_> {
    /// A text string. One shorter than 24 bytes (a member name, most values) has its length
    /// in the head byte and is copied straight into the buffer; longer ones go through
    /// minicbor.
    #[inline(always)]
    fn text(&mut self, s: &str) {
        if s.len() < 24 {
            let out: &mut Vec<u8> = self.e.writer_mut();
            out.reserve(s.len() + 1);
            out.push(0x60 | s.len() as u8);
            out.extend_from_slice(s.as_bytes());
        } else {
            let _ = self.e.str(s);
        }
    }
}

impl WireEncoder for CborWriter<'_> {
    #[inline]
    fn begin_map(&mut self, len: usize) {
        let _ = self.e.map(len as u64);
    }
    #[inline(always)]
    fn member(&mut self, name: &'static str) {
        self.text(name);
    }
    #[inline]
    fn key(&mut self, key: &str) {
        self.text(key);
    }
    #[inline]
    fn end_map(&mut self) {}
    #[inline]
    fn begin_list(&mut self, len: usize) {
        let _ = self.e.array(len as u64);
    }
    #[inline]
    fn end_list(&mut self) {}
    #[inline]
    fn null(&mut self) {
        let _ = self.e.null();
    }
    #[inline]
    fn string(&mut self, s: &str) {
        self.text(s);
    }
    #[inline]
    fn int(&mut self, n: i64) {
        let _ = self.e.i64(n);
    }
    #[inline]
    fn float(&mut self, f: f64) {
        let _ = self.e.f64(f);
    }
    #[inline]
    fn bool(&mut self, b: bool) {
        let _ = self.e.bool(b);
    }
    #[inline]
    fn timestamp(&mut self, t: f64) {
        let _ = self.e.tag(minicbor::data::Tag::new(1)).and_then(|e| e.f64(t));
    }
    #[inline]
    fn blob(&mut self, b: &[u8]) {
        let _ = self.e.bytes(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_is_exact() {
        // MAX_DEPTH nested single-entry maps `{"a": {"a": … {} }}`.
        let mut ok = [0xa1, 0x61, b'a'].repeat(MAX_DEPTH - 1);
        ok.push(0xa0);
        assert!(decode(&ok).is_ok());
        let mut too_deep = [0xa1, 0x61, b'a'].repeat(MAX_DEPTH);
        too_deep.push(0xa0);
        assert!(decode(&too_deep).is_err());
    }

    #[test]
    fn text_heads_match_minicbor_at_every_short_length() {
        for n in [0, 1, 22, 23, 24, 25, 255, 256, 70_000] {
            let s = "é".repeat(n / 2) + &"a".repeat(n % 2);
            let mut ours = Vec::new();
            let mut w = CborWriter::new(&mut ours);
            w.string(&s);
            w.member("WorkspaceId");
            let mut theirs = Vec::new();
            let mut e = Encoder::new(&mut theirs);
            e.str(&s).unwrap().str("WorkspaceId").unwrap();
            assert_eq!(ours, theirs, "{} bytes", s.len());
        }
    }

    #[test]
    fn huge_definite_counts_are_rejected_before_allocating() {
        assert!(decode(&[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xa1, 0x61, b'a', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
