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

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only supported signing algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The terminator of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// The `x-amz-content-sha256` value for a payload that is not part of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The largest clock difference accepted between the request and the server, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the \
    signature you provided. Check your AWS Secret Access Key and signing method. Consult the \
    service documentation for details.";

type HmacSha256 = Hmac<Sha256>;

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

    fn incomplete(message: impl Into<String>) -> Self {
        Self::new(AuthErrorCode::IncompleteSignature, message)
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(AuthErrorCode::InvalidSignature, message)
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id (the first element of `Credential`).
    pub access_key: String,
    /// The scope date, `yyyymmdd`.
    pub date: String,
    /// The scope region.
    pub region: String,
    /// The scope service, e.g. `workspaces`.
    pub service: String,
    /// The `SignedHeaders` names, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature provided by the client.
    pub signature: String,
}

impl Authorization {
    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }

    /// Whether `name` (case-insensitive) is one of the signed headers.
    pub fn signs_header(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Formats the header value, as in `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.access_key,
            self.scope(),
            self.signed_headers.join(";"),
            self.signature
        )
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

// ---------------------------------------------------------------------------------------------
// Authorization header

/// Parses an `Authorization` header value.
///
/// Parameters may come in any order, with or without spaces around `,` and `=`. Unknown
/// parameters are ignored. A missing or malformed piece is reported as
/// `IncompleteSignatureException`, and a wrong scope terminator as `InvalidSignatureException`,
/// both with messages like the ones AWS sends.
pub fn parse_authorization(header: &str) -> Result<Authorization, AuthError> {
    let trimmed = header.trim();
    let (algorithm, params) = match trimmed.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    };
    if algorithm != ALGORITHM {
        if algorithm.starts_with("AWS4-") {
            return Err(AuthError::incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'. Authorization={header}"
            )));
        }
        // AWS answers any other scheme (`AWS key:sig`, `Bearer …`) by listing every missing
        // parameter.
        return Err(missing_parameters(
            &["Credential", "Signature", "SignedHeaders"],
            header,
        ));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for piece in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = piece.split_once('=') else {
            return Err(AuthError::incomplete(format!(
                "'{piece}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{header}'."
            )));
        };
        let value = value.trim();
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }

    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Credential");
    }
    if signature.is_none() {
        missing.push("Signature");
    }
    if signed_headers.is_none() {
        missing.push("SignedHeaders");
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature)
    else {
        return Err(missing_parameters(&missing, header));
    };

    let mut parts = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(AuthError::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if terminator != SCOPE_TERMINATOR {
        return Err(AuthError::invalid(format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not \
             '{terminator}'. "
        )));
    }

    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    if signed_headers.is_empty() {
        return Err(missing_parameters(&["SignedHeaders"], header));
    }

    Ok(Authorization {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

fn missing_parameters(names: &[&str], header: &str) -> AuthError {
    let mut message = String::new();
    for name in names {
        message.push_str(&format!("Authorization header requires '{name}' parameter. "));
    }
    message.push_str(&format!("Authorization={header}"));
    AuthError::incomplete(message)
}

// ---------------------------------------------------------------------------------------------
// Canonicalization

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
    signed_headers: &[S],
    payload_hash: &str,
) -> String {
    let mut names: Vec<String> = signed_headers
        .iter()
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

// ---------------------------------------------------------------------------------------------
// Signing and verification

/// The hex signature of `req` for the scope and signed headers of `auth` (its `signature` field
/// is ignored), at request time `amz_date` (`yyyymmddThhmmssZ`).
///
/// The payload hash is the SHA-256 of the body. If an `x-amz-content-sha256` header is present,
/// it must be `UNSIGNED-PAYLOAD` (then that literal is used) or equal to the body hash.
pub fn compute_signature(
    req: &RequestParts<'_>,
    auth: &Authorization,
    secret: &str,
    amz_date: &str,
) -> Result<String, AuthError> {
    let payload_hash = payload_hash(req)?;
    let creq = canonical_request(
        req.method,
        req.path,
        req.query,
        req.headers,
        &auth.signed_headers,
        &payload_hash,
    );
    let sts = string_to_sign(amz_date, &auth.scope(), &sha256_hex(creq.as_bytes()));
    let key = signing_key(secret, &auth.date, &auth.region, &auth.service);
    Ok(signature(&key, &sts))
}

fn payload_hash(req: &RequestParts<'_>) -> Result<String, AuthError> {
    let body_hash = sha256_hex(req.body);
    match req.header("x-amz-content-sha256").map(str::trim) {
        Some(UNSIGNED_PAYLOAD) => Ok(UNSIGNED_PAYLOAD.to_owned()),
        Some(claimed) if claimed != body_hash => Err(AuthError::invalid(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )),
        _ => Ok(body_hash),
    }
}

/// Verifies the signature of `req` against `auth`, with `secret` as the secret key of
/// `auth.access_key` and `now_epoch_secs` as the current time.
///
/// This reads the request time from `X-Amz-Date` (or `Date`) and checks that the scope date
/// matches it. It checks that the time is within ±15 minutes of `now_epoch_secs`. It checks
/// that `host` is signed, and so are `x-amz-date` and `x-amz-security-token` when present.
/// Then it compares the signature computed over the actual body in constant time. It does not
/// check the region or service: see [`check_scope`].
pub fn verify(
    req: &RequestParts<'_>,
    auth: &Authorization,
    secret: &str,
    now_epoch_secs: i64,
) -> Result<(), AuthError> {
    let (amz_date, request_time) = request_time(req)?;

    if !auth.signs_header("host") {
        return Err(AuthError::invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    for (name, display) in [
        ("x-amz-date", "X-Amz-Date"),
        ("x-amz-security-token", "X-Amz-Security-Token"),
    ] {
        if req.header(name).is_some() && !auth.signs_header(name) {
            return Err(AuthError::invalid(format!(
                "'{display}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }

    let request_day = amz_date.get(..8).unwrap_or_default();
    if auth.date != request_day {
        return Err(AuthError::invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{request_day}', from '{amz_date}'.",
            auth.date
        )));
    }

    let earliest = now_epoch_secs.saturating_sub(MAX_CLOCK_SKEW_SECS);
    let latest = now_epoch_secs.saturating_add(MAX_CLOCK_SKEW_SECS);
    if request_time < earliest {
        return Err(AuthError::invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(earliest),
            format_amz_date(now_epoch_secs)
        )));
    }
    if request_time > latest {
        return Err(AuthError::invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(latest),
            format_amz_date(now_epoch_secs)
        )));
    }

    let expected = compute_signature(req, auth, secret, &amz_date)?;
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::signature_mismatch())
    }
}

/// Checks that the credential scope names `expected_service`.
pub fn check_scope(auth: &Authorization, expected_service: &str) -> Result<(), AuthError> {
    if auth.service == expected_service {
        Ok(())
    } else {
        Err(AuthError::invalid(format!(
            "Credential should be scoped to correct service: '{expected_service}'. "
        )))
    }
}

/// The request time as `(yyyymmddThhmmssZ, epoch seconds)`, from `X-Amz-Date` or else `Date`.
fn request_time(req: &RequestParts<'_>) -> Result<(String, i64), AuthError> {
    let bad_format = |value: &str| {
        AuthError::incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ))
    };
    if let Some(value) = req.header("x-amz-date") {
        let value = value.trim();
        let epoch = parse_amz_date(value).ok_or_else(|| bad_format(value))?;
        return Ok((value.to_owned(), epoch));
    }
    if let Some(value) = req.header("date") {
        let value = value.trim();
        let epoch = parse_amz_date(value)
            .or_else(|| parse_http_date(value))
            .ok_or_else(|| bad_format(value))?;
        return Ok((format_amz_date(epoch), epoch));
    }
    let mut message =
        String::from("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    if let Some(authz) = req.header("authorization") {
        message.push_str(&format!(" Authorization={authz}"));
    }
    Err(AuthError::incomplete(message))
}

// ---------------------------------------------------------------------------------------------
// Dates
//
// SigV4 only needs UTC timestamps in two fixed layouts, so a few lines of proleptic-Gregorian
// arithmetic (Howard Hinnant's `days_from_civil` / `civil_from_days`) replace a dependency on a
// date-time crate, with its time-zone and formatting machinery.

/// Formats epoch seconds as `yyyymmddThhmmssZ` (UTC).
pub fn format_amz_date(epoch_secs: i64) -> String {
    let days = epoch_secs.div_euclid(86_400);
    let secs = epoch_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses `yyyymmddThhmmssZ` (UTC) into epoch seconds; `None` if malformed or not a real time.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    epoch_from_parts(year, month, day, hour, minute, second)
}

/// Parses an IMF-fixdate HTTP date (`Sun, 30 Aug 2015 12:36:00 GMT`) into epoch seconds.
fn parse_http_date(s: &str) -> Option<i64> {
    let fields: Vec<&str> = s.split_ascii_whitespace().collect();
    let [_weekday, day, month, year, time, "GMT"] = fields.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let num = |t: &str, len: usize| -> Option<i64> {
        (t.len() == len && t.bytes().all(|c| c.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let mut hms = time.split(':');
    let (hour, minute, second) = (num(hms.next()?, 2)?, num(hms.next()?, 2)?, num(hms.next()?, 2)?);
    if hms.next().is_some() {
        return None;
    }
    epoch_from_parts(num(year, 4)?, month, num(day, 2)?, hour, minute, second)
}

fn epoch_from_parts(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    let valid = (1..=12).contains(&m)
        && (1..=days_in_month(y, m)).contains(&d)
        && (0..24).contains(&hh)
        && (0..60).contains(&mm)
        && (0..60).contains(&ss);
    valid.then(|| days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(y, m, d)` of a count of days since 1970-01-01 (also the
/// console's and the request log's timestamps).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const ACCESS_KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const VECTOR_TIME: &str = "20150830T123600Z";

    const VECTORS: &[&str] = &[
        "get-header-key-duplicate",
        "get-header-value-multiline",
        "get-header-value-order",
        "get-header-value-trim",
        "get-relative",
        "get-relative-relative",
        "get-slash",
        "get-slash-dot-slash",
        "get-slash-pointless-dot",
        "get-slashes",
        "get-space",
        "get-special-character",
        "get-unreserved",
        "get-utf8",
        "get-vanilla",
        "get-vanilla-empty-query-key",
        "get-vanilla-query",
        "get-vanilla-query-order-encoded",
        "get-vanilla-query-order-key",
        "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value",
        "get-vanilla-query-unreserved",
        "get-vanilla-utf8-query",
        "post-header-key-case",
        "post-header-key-sort",
        "post-header-value-case",
        "post-sts-header-after",
        "post-sts-header-before",
        "post-vanilla",
        "post-vanilla-empty-query-value",
        "post-vanilla-query",
        "post-x-www-form-urlencoded",
        "post-x-www-form-urlencoded-parameters",
    ];

    fn vectors_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-vectors")
    }

    fn read_vector(name: &str, ext: &str) -> String {
        let path = vectors_dir().join(name).join(format!("{name}.{ext}"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// An owned request parsed from a `.req` file.
    struct OwnedRequest {
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl OwnedRequest {
        fn parse(text: &str) -> Self {
            let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
            let mut lines = head.lines();
            let request_line = lines.next().unwrap();
            let (method, rest) = request_line.split_once(' ').unwrap();
            // The target may contain a raw space (get-space), so cut the version off the end.
            let target = rest.strip_suffix(" HTTP/1.1").unwrap();
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in lines {
                if line.starts_with([' ', '\t']) {
                    // Obsolete line folding: the line continues the previous header's value.
                    let last = headers.last_mut().unwrap();
                    last.1.push('\n');
                    last.1.push_str(line);
                } else {
                    let (name, value) = line.split_once(':').unwrap();
                    headers.push((name.to_owned(), value.to_owned()));
                }
            }
            OwnedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: query.to_owned(),
                headers,
                body: body.as_bytes().to_vec(),
            }
        }

        fn header_refs(&self) -> Vec<(&str, &str)> {
            self.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        }
    }

    fn epoch(amz: &str) -> i64 {
        parse_amz_date(amz).unwrap()
    }

    #[test]
    fn sigv4_test_suite_vectors() {
        for name in VECTORS {
            let req = OwnedRequest::parse(&read_vector(name, "req"));
            let headers = req.header_refs();
            let expected_authz = read_vector(name, "authz");
            let auth = parse_authorization(&expected_authz).unwrap();
            assert_eq!(auth.access_key, ACCESS_KEY, "{name}");

            let creq = canonical_request(
                &req.method,
                &req.path,
                &req.query,
                &headers,
                &auth.signed_headers,
                &sha256_hex(&req.body),
            );
            assert_eq!(creq, read_vector(name, "creq"), "{name}: canonical request");

            let sts = string_to_sign(VECTOR_TIME, &auth.scope(), &sha256_hex(creq.as_bytes()));
            assert_eq!(sts, read_vector(name, "sts"), "{name}: string to sign");

            let key = signing_key(SECRET, &auth.date, &auth.region, &auth.service);
            let computed = Authorization {
                signature: signature(&key, &sts),
                ..auth.clone()
            };
            assert_eq!(computed.to_string(), expected_authz, "{name}: authorization");

            // The same request passes full verification at the vector's time.
            let parts = RequestParts {
                method: &req.method,
                path: &req.path,
                query: &req.query,
                headers: &headers,
                body: &req.body,
            };
            assert_eq!(
                verify(&parts, &auth, SECRET, epoch(VECTOR_TIME)),
                Ok(()),
                "{name}"
            );
        }
    }

    #[test]
    fn sigv4_all_vendored_vectors_are_listed() {
        let mut on_disk: Vec<String> = std::fs::read_dir(vectors_dir())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = VECTORS.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn sigv4_double_encodes_path() {
        // From smithy-rs' `double-url-encode` vector (aws/rust-runtime/aws-sigv4).
        assert_eq!(
            canonical_uri(
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations"
            ),
            "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-west-2%253A892717189312%253Afunction%253Amy-rusty-fun/invocations"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/b/../c/./d/"), "/a/c/d/");
        assert_eq!(canonical_uri("/../.."), "/");
    }

    #[test]
    fn sigv4_query_string_encoding() {
        assert_eq!(canonical_query_string(""), "");
        assert_eq!(canonical_query_string("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(
            canonical_query_string("k=a%20b+c&x=%zz&y=%2f"),
            "k=a%20b%2Bc&x=%25zz&y=%2F"
        );
        assert_eq!(canonical_query_string("&&a=1&"), "a=1");
    }

    // --- parse_authorization

    const GOOD_AUTHZ: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn sigv4_parse_authorization() {
        let auth = parse_authorization(GOOD_AUTHZ).unwrap();
        assert_eq!(
            auth,
            Authorization {
                access_key: "AKIDEXAMPLE".into(),
                date: "20150830".into(),
                region: "us-east-1".into(),
                service: "service".into(),
                signed_headers: vec!["host".into(), "x-amz-date".into()],
                signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".into(),
            }
        );
        assert_eq!(auth.to_string(), GOOD_AUTHZ);

        // Other order, no spaces, extra spaces.
        let variants = [
            "AWS4-HMAC-SHA256 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31,SignedHeaders=host;x-amz-date,Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            "  AWS4-HMAC-SHA256   Credential = AKIDEXAMPLE/20150830/us-east-1/service/aws4_request ,SignedHeaders=host;x-amz-date ,  Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31  ",
        ];
        for v in variants {
            assert_eq!(parse_authorization(v).unwrap(), auth, "{v}");
        }
    }

    #[test]
    fn sigv4_parse_authorization_errors() {
        let incomplete = |header: &str| {
            let err = parse_authorization(header).unwrap_err();
            assert_eq!(err.code, AuthErrorCode::IncompleteSignature, "{header}");
            err.message
        };

        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host";
        assert_eq!(
            incomplete(h),
            format!("Authorization header requires 'Signature' parameter. Authorization={h}")
        );

        let h = "AWS AKIDEXAMPLE:c2lnbmF0dXJl";
        assert_eq!(
            incomplete(h),
            format!(
                "Authorization header requires 'Credential' parameter. Authorization header \
                 requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
                 parameter. Authorization={h}"
            )
        );
        assert!(incomplete("Bearer abc").ends_with("Authorization=Bearer abc"));
        assert!(incomplete("").contains("'Credential' parameter"));

        let h = "AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(
            incomplete(h),
            format!("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'. Authorization={h}")
        );

        let h = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders, Signature=00";
        assert_eq!(
            incomplete(h),
            format!("'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: '{h}'.")
        );

        let h = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1, SignedHeaders=host, Signature=00";
        assert_eq!(
            incomplete(h),
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got 'AKID/20150830/us-east-1'"
        );

        let h = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=;, Signature=00";
        assert!(incomplete(h).starts_with("Authorization header requires 'SignedHeaders' parameter."));

        let h = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws5_request, SignedHeaders=host, Signature=00";
        let err = parse_authorization(h).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        );
    }

    #[test]
    fn sigv4_error_code_names() {
        assert_eq!(
            AuthErrorCode::MissingAuthenticationToken.name(),
            "MissingAuthenticationTokenException"
        );
        assert_eq!(
            AuthErrorCode::IncompleteSignature.name(),
            "IncompleteSignatureException"
        );
        assert_eq!(
            AuthErrorCode::InvalidSignature.name(),
            "InvalidSignatureException"
        );
        assert_eq!(
            AuthErrorCode::UnrecognizedClient.name(),
            "UnrecognizedClientException"
        );
        assert_eq!(
            AuthError::missing_authentication_token().to_string(),
            "MissingAuthenticationTokenException: Missing Authentication Token"
        );
    }

    #[test]
    fn sigv4_check_scope() {
        let mut auth = parse_authorization(GOOD_AUTHZ).unwrap();
        let err = check_scope(&auth, "workspaces").unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "Credential should be scoped to correct service: 'workspaces'. "
        );
        auth.service = "workspaces".into();
        assert_eq!(check_scope(&auth, "workspaces"), Ok(()));
    }

    // --- verify

    const NOW: &str = "20260101T003000Z";
    const BODY: &[u8] = br#"{"DirectoryIds":["d-123"]}"#;

    /// A WorkSpaces-like JSON request signed like an SDK would, at `amz_date`.
    struct Signed {
        headers: Vec<(String, String)>,
        auth: Authorization,
    }

    fn sign_request(amz_date: &str, extra: &[(&str, &str)], signed: &[&str], body: &[u8]) -> Signed {
        let mut headers: Vec<(String, String)> = vec![
            ("Host".into(), "localhost:4566".into()),
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
            (
                "X-Amz-Target".into(),
                "WorkspacesService.DescribeWorkspaces".into(),
            ),
            ("X-Amz-Date".into(), amz_date.into()),
        ];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut auth = Authorization {
            access_key: "AKIDLOCAL".into(),
            date: amz_date[..8].into(),
            region: "us-east-1".into(),
            service: "workspaces".into(),
            signed_headers: signed.iter().map(|s| s.to_string()).collect(),
            signature: String::new(),
        };
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &refs,
            body,
        };
        auth.signature = compute_signature(&parts, &auth, "local-secret", amz_date).unwrap();
        Signed { headers, auth }
    }

    const SIGNED: &[&str] = &["content-type", "host", "x-amz-date", "x-amz-target"];

    fn check(s: &Signed, secret: &str, body: &[u8], now: &str) -> Result<(), AuthError> {
        let refs: Vec<(&str, &str)> = s.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let parts = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &refs,
            body,
        };
        // Round-trip through the header text, as the server sees it.
        let auth = parse_authorization(&s.auth.to_string())?;
        check_scope(&auth, "workspaces")?;
        verify(&parts, &auth, secret, epoch(now))
    }

    fn code(r: Result<(), AuthError>) -> AuthErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn sigv4_verify_accepts_signed_request() {
        let s = sign_request(NOW, &[], SIGNED, BODY);
        assert_eq!(check(&s, "local-secret", BODY, NOW), Ok(()));
        // Within the window on both sides.
        assert_eq!(check(&s, "local-secret", BODY, "20260101T004500Z"), Ok(()));
        assert_eq!(check(&s, "local-secret", BODY, "20260101T001500Z"), Ok(()));
    }

    #[test]
    fn sigv4_verify_rejects_wrong_secret_and_tampered_body() {
        let s = sign_request(NOW, &[], SIGNED, BODY);
        let err = check(&s, "other-secret", BODY, NOW).unwrap_err();
        assert_eq!(err, AuthError::signature_mismatch());
        assert_eq!(err.code.name(), "InvalidSignatureException");
        assert_eq!(
            err.message,
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
        );
        assert_eq!(
            check(&s, "local-secret", br#"{"DirectoryIds":["d-124"]}"#, NOW),
            Err(AuthError::signature_mismatch())
        );

        // A tampered signed header, and a tampered signature.
        let mut t = sign_request(NOW, &[], SIGNED, BODY);
        t.headers[2].1 = "WorkspacesService.TerminateWorkspaces".into();
        assert_eq!(
            check(&t, "local-secret", BODY, NOW),
            Err(AuthError::signature_mismatch())
        );
        let mut t = sign_request(NOW, &[], SIGNED, BODY);
        t.auth.signature.replace_range(
            ..1,
            if t.auth.signature.starts_with('0') {
                "1"
            } else {
                "0"
            },
        );
        assert_eq!(
            check(&t, "local-secret", BODY, NOW),
            Err(AuthError::signature_mismatch())
        );
        t.auth.signature.truncate(10);
        assert_eq!(
            check(&t, "local-secret", BODY, NOW),
            Err(AuthError::signature_mismatch())
        );
    }

    #[test]
    fn sigv4_verify_rejects_clock_skew() {
        let s = sign_request("20260101T000000Z", &[], SIGNED, BODY);
        let err = check(&s, "local-secret", BODY, NOW).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z \
             (20260101T003000Z - 15 min.)"
        );

        let s = sign_request("20260101T010000Z", &[], SIGNED, BODY);
        let err = check(&s, "local-secret", BODY, NOW).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "Signature not yet current: 20260101T010000Z is still later than 20260101T004500Z \
             (20260101T003000Z + 15 min.)"
        );

        // One second past each edge.
        let s = sign_request(NOW, &[], SIGNED, BODY);
        assert_eq!(
            code(check(&s, "local-secret", BODY, "20260101T004501Z")),
            AuthErrorCode::InvalidSignature
        );
        assert_eq!(
            code(check(&s, "local-secret", BODY, "20260101T001459Z")),
            AuthErrorCode::InvalidSignature
        );
    }

    #[test]
    fn sigv4_verify_rejects_scope_date_mismatch() {
        let mut s = sign_request(NOW, &[], SIGNED, BODY);
        s.auth.date = "20251231".into();
        let err = check(&s, "local-secret", BODY, NOW).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '20251231' != '20260101', from '20260101T003000Z'."
        );
    }

    #[test]
    fn sigv4_verify_requires_signed_host_date_and_token() {
        let s = sign_request(NOW, &[], &["content-type", "x-amz-date", "x-amz-target"], BODY);
        let err = check(&s, "local-secret", BODY, NOW).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert_eq!(
            err.message,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        );

        let s = sign_request(NOW, &[], &["content-type", "host", "x-amz-target"], BODY);
        assert_eq!(
            code(check(&s, "local-secret", BODY, NOW)),
            AuthErrorCode::InvalidSignature
        );

        let token = [("X-Amz-Security-Token", "session-token")];
        let s = sign_request(NOW, &token, SIGNED, BODY);
        let err = check(&s, "local-secret", BODY, NOW).unwrap_err();
        assert_eq!(
            err.message,
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
        );
        let s = sign_request(NOW, &token, &["host", "x-amz-date", "x-amz-security-token"], BODY);
        assert_eq!(check(&s, "local-secret", BODY, NOW), Ok(()));
    }

    #[test]
    fn sigv4_verify_content_sha256() {
        let good = sha256_hex(BODY);
        let s = sign_request(NOW, &[("X-Amz-Content-Sha256", good.as_str())], SIGNED, BODY);
        assert_eq!(check(&s, "local-secret", BODY, NOW), Ok(()));

        let s = sign_request(NOW, &[("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)], SIGNED, BODY);
        assert_eq!(check(&s, "local-secret", BODY, NOW), Ok(()));
        // The body is not covered by an unsigned payload.
        assert_eq!(check(&s, "local-secret", b"{}", NOW), Ok(()));

        let s = sign_request(NOW, &[("X-Amz-Content-Sha256", good.as_str())], SIGNED, BODY);
        let err = check(&s, "local-secret", b"{}", NOW).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::InvalidSignature);
        assert!(err.message.contains("x-amz-content-sha256"));
    }

    #[test]
    fn sigv4_verify_date_headers() {
        // `Date` instead of `X-Amz-Date`, in HTTP format.
        let auth = Authorization {
            access_key: ACCESS_KEY.into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into(),
            signed_headers: vec!["date".into(), "host".into()],
            signature: String::new(),
        };
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ];
        let parts = RequestParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let sig = compute_signature(&parts, &auth, SECRET, VECTOR_TIME).unwrap();
        let auth = Authorization {
            signature: sig,
            ..auth
        };
        assert_eq!(verify(&parts, &auth, SECRET, epoch(VECTOR_TIME)), Ok(()));

        // No date at all.
        let headers = [("Host", "example.amazonaws.com"), ("Authorization", GOOD_AUTHZ)];
        let parts = RequestParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let err = verify(&parts, &auth, SECRET, 0).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::IncompleteSignature);
        assert_eq!(
            err.message,
            format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header. Authorization={GOOD_AUTHZ}"
            )
        );

        // A malformed X-Amz-Date.
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "2015-08-30T12:36:00Z"),
        ];
        let parts = RequestParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let err = verify(&parts, &auth, SECRET, 0).unwrap_err();
        assert_eq!(err.code, AuthErrorCode::IncompleteSignature);
        assert_eq!(
            err.message,
            "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        );
    }

    // --- dates

    #[test]
    fn sigv4_amz_date_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(parse_amz_date("20000229T235959Z"), Some(951_868_799));
        assert_eq!(format_amz_date(-1), "19691231T235959Z");
        for bad in [
            "",
            "20150830T123600",
            "2015083OT123600Z",
            "20150830 123600Z",
            "20150230T000000Z",
            "20190229T000000Z",
            "20151301T000000Z",
            "20150830T240000Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        // Every day over several 400-year cycles survives a round trip.
        let mut t = -400 * 366 * 86_400_i64;
        while t < 1200 * 366 * 86_400 {
            assert_eq!(parse_amz_date(&format_amz_date(t)), Some(t), "{t}");
            t += 86_400 + 3_661;
        }
        // Extreme inputs do not overflow.
        let _ = format_amz_date(i64::MAX);
        let _ = format_amz_date(i64::MIN);
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC"), None);
    }
}
