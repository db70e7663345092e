//! The canonical request, the string to sign, the signing key and the signature.
//!
//! Canonicalization follows the rules for every service except S3 (see the module above).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{ALGORITHM, SCOPE_TERMINATOR};

type HmacSha256 = Hmac<Sha256>;

/// The canonical request: method, canonical URI, canonical query string, canonical headers,
/// signed header list and payload hash, separated by newlines.
///
/// `path` and `query` are the raw wire forms (see [`canonical_uri`] and
/// [`canonical_query_string`]). The canonical headers are the `signed_headers`, lower-cased and
/// sorted. Each is followed by the values of all request headers of that name, in request
/// order, trimmed, with runs of whitespace collapsed to one space and joined by `,`.
pub fn canonical_request<S: AsRef<str>>(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    signed_headers: impl IntoIterator<Item = S>,
    payload_hash: &str,
) -> String {
    let mut names: Vec<String> = signed_headers
        .into_iter()
        .map(|h| h.as_ref().trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    names.sort();
    names.dedup();

    let mut canonical_headers = String::new();
    for name in &names {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        let values = headers
            .iter()
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name));
        for (i, (_, value)) in values.enumerate() {
            if i > 0 {
                canonical_headers.push(',');
            }
            for (j, word) in value.split_ascii_whitespace().enumerate() {
                if j > 0 {
                    canonical_headers.push(' ');
                }
                canonical_headers.push_str(word);
            }
        }
        canonical_headers.push('\n');
    }

    format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_uri(path),
        canonical_query_string(query),
        names.join(";"),
    )
}

/// The canonical URI of a raw (still percent-encoded) request path.
///
/// Empty and `.` segments are dropped and `..` removes the segment before it. Each remaining
/// segment is URI-encoded, so an existing `%XX` becomes `%25XX`. A trailing `/` is kept, and an
/// empty result is `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        uri_encode_into(&mut out, segment.as_bytes());
    }
    if segments.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query string of a raw query string (without `?`).
///
/// Each `name=value` pair is percent-decoded and then URI-encoded again (`+` is taken
/// literally). A name without `=` gets an empty value. The pairs are sorted by encoded name,
/// then encoded value, and joined with `&`.
pub fn canonical_query_string(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The string to sign: algorithm, request time (`yyyymmddThhmmssZ`), credential scope and
/// hex SHA-256 of the canonical request, separated by newlines.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request_hash: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{canonical_request_hash}")
}

/// The signing key, derived from the secret key and the scope date (`yyyymmdd`), region and
/// service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, SCOPE_TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign` under `signing_key`.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of every length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn uri_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Percent-decodes `s` (leaving malformed escapes as they are), then URI-encodes the bytes.
fn reencode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|&b| char::from(b).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|&b| char::from(b).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits make at most 0xff.
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let mut out = String::with_capacity(decoded.len());
    uri_encode_into(&mut out, &decoded);
    out
}
