//! The awsJson1_1 body codec: bytes ⇄ [`Value`].
//!
//! Decoding drives `serde_json`'s parser with a custom [`DeserializeSeed`] that builds the
//! [`Value`] tree directly (no intermediate `serde_json::Value`) and counts nesting depth, so
//! hostile bodies fail with a [`CodecError`] at depth [`MAX_DEPTH`] long before the stack is at
//! risk. Encoding implements [`Serialize`] for a borrowed view of the tree and lets
//! `serde_json` write straight into the output buffer (string escaping, `itoa`/`ryu` numbers).

use std::fmt;

use base64::Engine as _;
use localspaces_api::value::Value;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::CodecError;

/// Deepest accepted nesting of objects and arrays (the top-level object counts as 1).
pub const MAX_DEPTH: usize = 64;

/// Longest error message passed on to the client; longer ones are cut.
const MAX_ERROR_LEN: usize = 200;

/// Decodes an awsJson1_1 request body.
///
/// An empty or all-whitespace body is the empty structure. Otherwise the body must be exactly
/// one JSON object (surrounding whitespace allowed). Integers that fit `i64` become
/// [`Value::Int`], every other number [`Value::Float`]; duplicate keys are kept in order.
pub fn decode(body: &[u8]) -> Result<Value, CodecError> {
    if body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        return Ok(Value::empty_map());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = ValueSeed { depth: 0 }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| codec_error(&e))?;
    Ok(value)
}

/// Encodes `value` as JSON.
///
/// `Null` → `null`; `Timestamp` → epoch seconds (an integer when whole, else at most
/// millisecond precision); `Blob` → padded standard base64 string; non-finite floats → `null`.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    encode_into(value, &mut out);
    out
}

/// Appends the JSON encoding of `value` to `out` (see [`encode`]).
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    let result = serde_json::to_writer(out, &Json(value));
    // Writing into a `Vec` cannot fail and `Json` never raises a custom error.
    debug_assert!(result.is_ok(), "JSON encoding failed: {result:?}");
}

fn codec_error(e: &serde_json::Error) -> CodecError {
    let mut msg = format!("invalid JSON body: {e}");
    if msg.len() > MAX_ERROR_LEN {
        let mut cut = MAX_ERROR_LEN;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push('…');
    }
    CodecError(msg)
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Deserializes one value found at nesting `depth` (0 = the top level, which must be an object).
#[derive(Clone, Copy)]
struct ValueSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed {
    /// A scalar is fine anywhere but at the top level.
    fn scalar<E: de::Error>(self, value: Value) -> Result<Value, E> {
        if self.depth == 0 {
            Err(E::custom("the body must be a JSON object"))
        } else {
            Ok(value)
        }
    }

    /// The seed for the members of a container opened at this level.
    fn enter<E: de::Error>(self) -> Result<ValueSeed, E> {
        if self.depth == 0 {
            return Ok(ValueSeed { depth: 1 });
        }
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format_args!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(ValueSeed {
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.depth == 0 {
            "a JSON object"
        } else {
            "a JSON value"
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.scalar(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.scalar(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        let value = match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        };
        self.scalar(value)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.scalar(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.scalar(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.scalar(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.scalar(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth == 0 {
            return Err(de::Error::custom("the body must be a JSON object"));
        }
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            entries.push((key.into(), value));
        }
        Ok(Value::Map(entries))
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// A borrowed [`Value`] that serializes as awsJson1_1.
struct Json<'a>(&'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            // serde_json writes non-finite floats as `null`.
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::Blob(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Timestamp(t) => serialize_timestamp(*t, s),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &Json(v))?;
                }
                map.end()
            }
        }
    }
}

/// 2^53: below it every integer is exactly representable as `f64`.
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Epoch seconds as a JSON number: whole seconds as an integer, otherwise rounded to the
/// millisecond (`1700000000.123`); non-finite values as `null`.
fn serialize_timestamp<S: Serializer>(t: f64, s: S) -> Result<S::Ok, S::Error> {
    if !t.is_finite() {
        return s.serialize_unit();
    }
    let millis = (t * 1000.0).round();
    if millis.abs() < EXACT_INT_LIMIT {
        // `millis` is an exact integer here, so `%` and `/` are exact too, and dividing by
        // 1000 yields the double nearest to the decimal, which ryu prints with ≤ 3 decimals.
        if millis % 1000.0 == 0.0 {
            s.serialize_i64((millis / 1000.0) as i64)
        } else {
            s.serialize_f64(millis / 1000.0)
        }
    } else if t.fract() == 0.0 && t.abs() < 9.2e18 {
        s.serialize_i64(t as i64)
    } else {
        s.serialize_f64(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        String::from_utf8(encode(v)).unwrap()
    }

    #[test]
    fn timestamps() {
        assert_eq!(enc(&Value::Timestamp(1_700_000_000.0)), "1700000000");
        assert_eq!(enc(&Value::Timestamp(1_700_000_000.123)), "1700000000.123");
        assert_eq!(enc(&Value::Timestamp(1_700_000_000.1)), "1700000000.1");
        assert_eq!(enc(&Value::Timestamp(1_700_000_000.123_4)), "1700000000.123");
        assert_eq!(enc(&Value::Timestamp(1_700_000_000.999_9)), "1700000001");
        assert_eq!(enc(&Value::Timestamp(-1.5)), "-1.5");
        assert_eq!(enc(&Value::Timestamp(0.0)), "0");
        assert_eq!(enc(&Value::Timestamp(f64::NAN)), "null");
        // Out of the exact-millisecond range: printed as a plain float (`1e+300` or `1e300`).
        let big: f64 = serde_json::from_str(&enc(&Value::Timestamp(1e300))).unwrap();
        assert_eq!(big, 1e300);
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = format!("{}{}", "{\"a\":".repeat(MAX_DEPTH - 1), "{}") + &"}".repeat(MAX_DEPTH - 1);
        assert!(decode(ok.as_bytes()).is_ok());
        let too_deep = format!("{}{}", "{\"a\":".repeat(MAX_DEPTH), "{}") + &"}".repeat(MAX_DEPTH);
        assert!(decode(too_deep.as_bytes()).is_err());
    }

    #[test]
    fn long_error_messages_are_cut() {
        let body = format!("\"{}\"", "x".repeat(10_000));
        let err = decode(body.as_bytes()).unwrap_err();
        assert!(err.0.len() <= MAX_ERROR_LEN + 3, "{}", err.0);
    }
}
