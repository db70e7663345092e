//! The wire: codecs between bytes and [`localspaces_api::value::Value`] for both
//! protocols, and SigV4. No HTTP server, no service logic.

pub mod cbor;
pub mod json;
pub mod sigv4;

/// A body that could not be decoded: answered as `SerializationException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// The buffer an answer is encoded into starts this large: room for a resource or two (a
/// WorkSpace is about 1 KiB in JSON), one allocation rather than a few doublings and copies.
pub(crate) const ANSWER_CAPACITY: usize = 2048;

/// A header value's bytes as text when they are all ASCII, as `HeaderValue::to_str` reads
/// them: the bytes of a value HTTP/1 parsing accepted are tab, visible ASCII and bytes over
/// 0x7F (no other control byte), so "ASCII" is "visible ASCII or tab" here. A word-at-a-time
/// check instead of `to_str`'s byte-at-a-time one: this runs on a few headers per request,
/// the 200-byte `Authorization` among them.
#[inline]
pub fn ascii_header(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ascii_header_values_only() {
        assert_eq!(
            super::ascii_header(b"AWS4-HMAC-SHA256 a=b,\tc"),
            Some("AWS4-HMAC-SHA256 a=b,\tc")
        );
        assert_eq!(super::ascii_header(b""), Some(""));
        assert_eq!(super::ascii_header("caf\u{e9}".as_bytes()), None);
        assert_eq!(super::ascii_header(b"\xff"), None);
    }
}
