//! The awsJson1_1 body codec: bytes ⇄ [`Value`].
//!
//! Decoding drives `serde_json`'s parser with a custom [`DeserializeSeed`] that builds the
//! [`Value`] tree directly (no intermediate `serde_json::Value`) and counts nesting depth, so
//! hostile bodies fail with a [`CodecError`] at depth [`MAX_DEPTH`] long before the stack is at
//! risk. Encoding is a [`JsonWriter`]: an [`Encoder`] that typed outputs (and [`Value`]s) call
//! to write straight into the output buffer, with `serde_json`'s escaping and number forms
//! (`itoa`/`zmij`).

use std::fmt;

use base64::Engine as _;
use localspaces_api::encode::{Encode, Encoder};
use localspaces_api::value::Value;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

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

/// Encodes `value` (a typed output or a [`Value`]) as JSON.
///
/// `Null` → `null`; timestamps → epoch seconds (an integer when whole, else at most
/// millisecond precision); blobs → padded standard base64 strings; non-finite floats → `null`.
pub fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(crate::ANSWER_CAPACITY);
    encode_into(value, &mut out);
    out
}

/// Appends the JSON encoding of `value` to `out` (see [`encode`]).
pub fn encode_into<T: Encode + ?Sized>(value: &T, out: &mut Vec<u8>) {
    value.encode_with(&mut JsonWriter::new(out));
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
        // JSON gives no length: room for a few items at once. A first push into an empty
        // `Vec` takes the growth path (~65 instructions more than this allocation); an
        // empty container pays an allocation it does not use (~70).
        let mut items = Vec::with_capacity(4);
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut entries = Vec::with_capacity(4);
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            entries.push((key.into(), value));
        }
        Ok(Value::Map(entries))
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Writes compact JSON into a buffer as an [`Encoder`] is called.
pub struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Where this document starts in `out` (bytes before it are not ours).
    start: usize,
}

impl<'a> JsonWriter<'a> {
    /// A writer appending one document to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        Self { out, start }
    }

    /// The `,` before a key or a list item: needed unless it opens its container or follows
    /// a key (a complete value never ends in `{`, `[` or `:`).
    #[inline(always)]
    fn sep(&mut self) {
        if self.out.len() > self.start && !matches!(self.out.last(), Some(b'{' | b'[' | b':')) {
            self.out.push(b',');
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The index of the first byte JSON must escape (`"`, `\`, a control character), looking at
/// eight bytes per step: a word has such a byte when one of its bytes is below 0x20 or is
/// equal to `"` or `\` (the classic "has a zero byte" and "has a byte below n" tests).
/// A string of eight bytes or more ends with one more word, its last eight bytes (those
/// it shares with the words before hold no escape), instead of a byte-by-byte tail: most
/// strings of an answer are ids and names of 8 to 24 bytes.
fn find_escape(bytes: &[u8]) -> Option<usize> {
    let n = bytes.len();
    if n < 8 {
        return bytes.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\');
    }
    let mut at = 0;
    while at + 8 <= n {
        if let Some(i) = escape_in_word(&bytes[at..at + 8]) {
            return Some(at + i);
        }
        at += 8;
    }
    if at < n {
        return escape_in_word(&bytes[n - 8..]).map(|i| n - 8 + i);
    }
    None
}

/// The first byte of an eight-byte `chunk` that JSON must escape. The lowest flagged byte
/// is exact (a higher one may be a false positive, from a borrow out of a lower hit).
#[inline(always)]
fn escape_in_word(chunk: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    let w = u64::from_le_bytes(word);
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let hits = ((w.wrapping_sub(ONES * 0x20) & !w)
        | (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash))
        & HIGH;
    (hits != 0).then(|| (hits.trailing_zeros() / 8) as usize)
}

/// Writes `s` as a JSON string, escaping as `serde_json` does: `"`, `\`, and control
/// characters (short forms where JSON has them, else `\u00xx`); everything else as is.
/// Runs between escapes are copied whole (most strings have none: one copy).
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(off) = find_escape(&bytes[start..]) {
        let i = start + off;
        out.extend_from_slice(&bytes[start..i]);
        let b = bytes[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

impl Encoder for JsonWriter<'_> {
    #[inline]
    fn begin_map(&mut self, _len: usize) {
        self.sep();
        self.out.push(b'{');
    }
    /// Member names are the model's identifiers (letters and digits): nothing to escape, so
    /// the name is copied as is, with its quotes and colon.
    #[inline(always)]
    fn member(&mut self, name: &'static str) {
        debug_assert!(find_escape(name.as_bytes()).is_none(), "{name}");
        self.sep();
        let out = &mut *self.out;
        out.reserve(name.len() + 3);
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    }
    #[inline]
    fn key(&mut self, key: &str) {
        self.sep();
        write_str(self.out, key);
        self.out.push(b':');
    }
    #[inline]
    fn end_map(&mut self) {
        self.out.push(b'}');
    }
    #[inline]
    fn begin_list(&mut self, _len: usize) {
        self.sep();
        self.out.push(b'[');
    }
    #[inline]
    fn end_list(&mut self) {
        self.out.push(b']');
    }
    #[inline]
    fn null(&mut self) {
        self.sep();
        self.out.extend_from_slice(b"null");
    }
    #[inline]
    fn string(&mut self, s: &str) {
        self.sep();
        write_str(self.out, s);
    }
    #[inline]
    fn int(&mut self, n: i64) {
        self.sep();
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
    #[inline]
    fn float(&mut self, f: f64) {
        if f.is_finite() {
            self.sep();
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
        } else {
            self.null();
        }
    }
    #[inline]
    fn bool(&mut self, b: bool) {
        self.sep();
        self.out.extend_from_slice(if b { b"true" } else { b"false" });
    }
    /// Epoch seconds as a JSON number: whole seconds as an integer, otherwise rounded to the
    /// millisecond (`1700000000.123`); non-finite values as `null`.
    #[inline]
    fn timestamp(&mut self, t: f64) {
        if !t.is_finite() {
            return self.null();
        }
        let millis = (t * 1000.0).round();
        if millis.abs() < EXACT_INT_LIMIT {
            // `millis` is an exact integer here, so `%` and `/` are exact too, and dividing by
            // 1000 yields the double nearest to the decimal, whose shortest form has ≤ 3 decimals.
            if millis % 1000.0 == 0.0 {
                self.int((millis / 1000.0) as i64);
            } else {
                self.float(millis / 1000.0);
            }
        } else if t.fract() == 0.0 && t.abs() < 9.2e18 {
            self.int(t as i64);
        } else {
            self.float(t);
        }
    }
    #[inline]
    fn blob(&mut self, b: &[u8]) {
        self.sep();
        self.out.push(b'"');
        let encoded = base64::engine::general_purpose::STANDARD.encode(b);
        self.out.extend_from_slice(encoded.as_bytes());
        self.out.push(b'"');
    }
}

/// 2^53: below it every integer is exactly representable as `f64`.
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

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
    fn strings_escape_as_serde_json_does() {
        let mut all: String = (0u8..0x80).rev().map(char::from).collect();
        all.push_str("é\u{2028}😀 plain tail");
        let shifted: Vec<String> = (0..9).map(|i| format!("{}{all}", "x".repeat(i))).collect();
        let cases = [
            "",
            "plain",
            "\"",
            "a\\b",
            "\u{1f}x",
            "0123456789abcdef\"",
            "é\u{7f}\u{80}",
        ];
        for s in cases.iter().copied().chain(shifted.iter().map(String::as_str)) {
            let v = Value::String(s.to_string());
            assert_eq!(enc(&v), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // Every ASCII byte at every position of a word and its neighbours.
        for len in [1, 2, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25] {
            for pos in 0..len {
                for b in 0u8..0x80 {
                    let mut s = "a".repeat(len);
                    s.replace_range(pos..pos + 1, &char::from(b).to_string());
                    let v = Value::String(s.clone());
                    assert_eq!(enc(&v), serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn long_error_messages_are_cut() {
        let body = format!("\"{}\"", "x".repeat(10_000));
        let err = decode(body.as_bytes()).unwrap_err();
        assert!(err.0.len() <= MAX_ERROR_LEN + 3, "{}", err.0);
    }
}
