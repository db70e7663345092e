//! Checking a signature, its scope and its time (strict mode).

use subtle::ConstantTimeEq;

use super::canonical::{canonical_request, sha256_hex, signature, signing_key, string_to_sign};
use super::date::{format_amz_date, parse_amz_date, parse_http_date};
use super::{AuthError, Authorization, RequestParts, MAX_CLOCK_SKEW_SECS, UNSIGNED_PAYLOAD};

/// The hex signature of `req` for the scope and signed headers of `auth` (its `signature` field
/// is ignored), at request time `amz_date` (`yyyymmddThhmmssZ`).
///
/// The payload hash is the SHA-256 of the body. If an `x-amz-content-sha256` header is present,
/// it must be `UNSIGNED-PAYLOAD` (then that literal is used) or equal to the body hash.
pub fn compute_signature(
    req: &RequestParts<'_>,
    auth: &Authorization<'_>,
    secret: &str,
    amz_date: &str,
) -> Result<String, AuthError> {
    let payload_hash = payload_hash(req)?;
    let creq = canonical_request(
        req.method,
        req.path,
        req.query,
        req.headers,
        auth.signed_headers.iter(),
        &payload_hash,
    );
    let sts = string_to_sign(amz_date, &auth.scope(), &sha256_hex(creq.as_bytes()));
    let key = signing_key(secret, auth.date, auth.region, auth.service);
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
    auth: &Authorization<'_>,
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
pub fn check_scope(auth: &Authorization<'_>, expected_service: &str) -> Result<(), AuthError> {
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
