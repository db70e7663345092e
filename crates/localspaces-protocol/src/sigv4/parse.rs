//! Reading the `Authorization` header into slices of it: nothing is copied unless the header
//! is malformed (then the error message quotes it).

use std::fmt;

use super::{AuthError, ALGORITHM, SCOPE_TERMINATOR};

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id (the first element of `Credential`).
    pub access_key: &'a str,
    /// The scope date, `yyyymmdd`.
    pub date: &'a str,
    /// The scope region.
    pub region: &'a str,
    /// The scope service, e.g. `workspaces`.
    pub service: &'a str,
    /// The `SignedHeaders` names, in the order given.
    pub signed_headers: SignedHeaders<'a>,
    /// The hex signature provided by the client.
    pub signature: &'a str,
}

impl Authorization<'_> {
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

/// The `SignedHeaders` parameter: header names separated by `;` (blanks around a name
/// ignored). Kept as written and split when read: only strict mode reads the names, so a
/// request in open mode builds no list.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a>(&'a str);

impl<'a> SignedHeaders<'a> {
    /// The names in `list` (`host;x-amz-date`).
    pub fn new(list: &'a str) -> Self {
        SignedHeaders(list)
    }

    /// The names, in the order given, without blanks or empty names.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        split_at(self.0, b';')
            .map(str::trim_ascii)
            .filter(|h| !h.is_empty())
    }

    /// True when no name is given (only separators and blanks).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// Two lists are equal when they name the same headers in the same order.
impl PartialEq for SignedHeaders<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SignedHeaders<'_> {}

/// The names joined by `;`.
impl fmt::Display for SignedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// Formats the header value, as in `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
impl fmt::Display for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.access_key,
            self.scope(),
            self.signed_headers,
            self.signature
        )
    }
}

/// Parses an `Authorization` header value.
///
/// Parameters may come in any order, with or without spaces around `,` and `=`. Unknown
/// parameters are ignored. A missing or malformed piece is reported as
/// `IncompleteSignatureException`, and a wrong scope terminator as `InvalidSignatureException`,
/// both with messages like the ones AWS sends.
pub fn parse_authorization(header: &str) -> Result<Authorization<'_>, AuthError> {
    // A header value is visible ASCII, spaces and tabs: ASCII whitespace is all there is to
    // trim, and a byte scan finds it.
    let trimmed = header.trim_ascii();
    let (credential, signed_headers, signature) = match sdk_form(trimmed) {
        Some(params) => params,
        None => general_form(header, trimmed)?,
    };

    let mut parts = split_at(credential, b'/');
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

    let signed_headers = SignedHeaders::new(signed_headers);
    if signed_headers.is_empty() {
        return Err(missing_parameters(&["SignedHeaders"], header));
    }

    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// `Credential`, `SignedHeaders` and `Signature` of the form every AWS SDK writes
/// (`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`: this order, one space
/// after each comma, no blank at either end of a value, nothing after the signature), read
/// by position; `None` for any other form, which [`general_form`] reads to the same values.
/// (The general loop's splits, trims and key comparisons were ~500 instructions a request.)
fn sdk_form(trimmed: &str) -> Option<(&str, &str, &str)> {
    let rest = trimmed.strip_prefix(ALGORITHM)?.strip_prefix(" Credential=")?;
    let (credential, rest) = split_once_at(rest, b',')?;
    let (signed_headers, rest) = split_once_at(rest.strip_prefix(" SignedHeaders=")?, b',')?;
    let signature = rest.strip_prefix(" Signature=")?;
    let bare = |v: &str| !v.is_empty() && v.trim_ascii().len() == v.len();
    (bare(credential)
        && bare(signed_headers)
        && bare(signature)
        && memchr::memchr(b',', signature.as_bytes()).is_none())
    .then_some((credential, signed_headers, signature))
}

/// `Credential`, `SignedHeaders` and `Signature` of any form [`parse_authorization`]
/// accepts, or its error.
fn general_form<'a>(header: &str, trimmed: &'a str) -> Result<(&'a str, &'a str, &'a str), AuthError> {
    let (algorithm, params) = match trimmed.bytes().position(|b| b.is_ascii_whitespace()) {
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
    for piece in split_at(params, b',')
        .map(str::trim_ascii)
        .filter(|p| !p.is_empty())
    {
        let Some((key, value)) = split_once_at(piece, b'=') else {
            return Err(AuthError::incomplete(format!(
                "'{piece}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{header}'."
            )));
        };
        let value = value.trim_ascii();
        let slot = match key.trim_ascii() {
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
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => {
            Ok((credential, signed_headers, signature))
        }
        _ => Err(missing_parameters(&missing, header)),
    }
}

/// `s` split at every `sep` (an ASCII byte): like `str::split` with a `char`, without the
/// set-up of its searcher, which costs more than the scan on a header's short pieces;
/// `memchr` scans a word or a vector at a time (the signature alone is 64 bytes).
fn split_at(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(sep, r.as_bytes()) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `s` split at its first `sep` (an ASCII byte), like `str::split_once`.
fn split_once_at(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(sep, s.as_bytes())?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

fn missing_parameters(names: &[&str], header: &str) -> AuthError {
    let mut message = String::new();
    for name in names {
        message.push_str(&format!("Authorization header requires '{name}' parameter. "));
    }
    message.push_str(&format!("Authorization={header}"));
    AuthError::incomplete(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Authorization headers in the SDKs' form and near it: parameters in any order, other
    /// separators and blanks, values with blanks, `=`, `,`, empty, extra parameters.
    fn header() -> impl Strategy<Value = String> {
        let value = prop::sample::select(vec![
            "AKID/20260101/us-east-1/workspaces/aws4_request",
            "host;x-amz-date",
            "0123abcd",
            "",
            " ",
            "a b",
            " a",
            "a ",
            "a=b",
            "a,b",
            "Signature=x",
        ]);
        let key = prop::sample::select(vec![
            "Credential",
            "SignedHeaders",
            "Signature",
            "Other",
            "credential",
        ]);
        let sep = prop::sample::select(vec![", ", ",", " , ", ",  ", ",\t"]);
        let start = prop::sample::select(vec![
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256  ",
            "AWS4-HMAC-SHA256\t",
            " AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA1 ",
        ]);
        let canonical = (value.clone(), value.clone(), value.clone()).prop_map(|(c, h, s)| {
            format!("AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={h}, Signature={s}")
        });
        let mixed = (
            start,
            prop::collection::vec((key, value, sep), 0..5),
            prop::sample::select(vec!["", " ", ","]),
        )
            .prop_map(|(start, pieces, end)| {
                let body: String = pieces.iter().map(|(k, v, s)| format!("{k}={v}{s}")).collect();
                format!("{start}{body}{end}")
            });
        prop_oneof![canonical, mixed]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Where the SDK-form reading answers, the general one gives the same parameters.
        #[test]
        fn the_sdk_form_reads_as_the_general_form_does(h in header()) {
            let trimmed = h.trim_ascii();
            if let Some(fast) = sdk_form(trimmed) {
                prop_assert_eq!(general_form(&h, trimmed).ok(), Some(fast));
            }
        }
    }

    #[test]
    fn sdk_headers_take_the_sdk_form() {
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/workspaces/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd";
        assert_eq!(
            sdk_form(h),
            Some((
                "AKID/20260101/us-east-1/workspaces/aws4_request",
                "content-type;host;x-amz-date",
                "0123abcd"
            ))
        );
        for other in [
            "AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c, Extra=d",
            "AWS4-HMAC-SHA256 Credential=a,SignedHeaders=b, Signature=c",
            "AWS4-HMAC-SHA256 Signature=c, Credential=a, SignedHeaders=b",
            "AWS4-HMAC-SHA256 Credential=a , SignedHeaders=b, Signature=c",
        ] {
            assert_eq!(sdk_form(other), None, "{other}");
        }
    }
}
