//! Runtime support for the generated shape code: turning a [`Value`] into typed members
//! while collecting constraint violations, and rendering them in AWS's validation format.
//!
//! Decoding distinguishes two failures, as AWS does:
//! - a member of the wrong wire type is a [`SerializationError`] (answered as
//!   `SerializationException`) and stops decoding;
//! - a constraint violation (missing required member, length, range, pattern, enum) is
//!   recorded in [`Violations`] and decoding goes on, so that one `ValidationException`
//!   lists every problem ("2 validation errors detected: ...").

use crate::encode::Encode;
use crate::value::{MapKey, Value};
use base64::Engine as _;
use std::fmt::Write as _;

/// A wire-type mismatch: the body cannot be read as the operation's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializationError(pub String);

/// Where a value sits in the input, rendered lazily as AWS writes it
/// (`userRules.1.member.ipRule`). Building a path costs nothing until an error occurs.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    /// Renders the path with lower-camel member names and 1-based list indexes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Member(parent, name) => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                let mut chars = name.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_lowercase());
                    out.push_str(chars.as_str());
                }
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                let _ = write!(out, ".{}.member", i + 1);
            }
            Path::Key(parent, key) => {
                parent.render_into(out);
                let _ = write!(out, ".{key}");
            }
        }
    }
}

/// Constraint violations collected while decoding one input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations {
    items: Vec<String>,
}

/// At most this many violations are listed in one message.
const MAX_LISTED: usize = 10;

impl Violations {
    /// True when nothing was violated.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of violations.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Records one violation: `Value <shown> at '<path>' failed to satisfy constraint: <rule>`.
    pub fn push(&mut self, shown: &str, path: &Path<'_>, rule: &str) {
        if self.items.len() >= MAX_LISTED * 10 {
            return;
        }
        self.items.push(format!(
            "Value {shown} at '{}' failed to satisfy constraint: {rule}",
            path.render()
        ));
    }

    /// Records a missing required member.
    pub fn missing(&mut self, path: &Path<'_>) {
        self.push("null", path, "Member must not be null");
    }

    /// The `ValidationException` message in AWS's format.
    pub fn message(&self) -> String {
        let n = self.items.len();
        let mut out = format!("{n} validation error{} detected: ", if n == 1 { "" } else { "s" });
        out.push_str(
            &self
                .items
                .iter()
                .take(MAX_LISTED)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
        out
    }
}

/// How a value is shown in a violation: strings quoted, numbers bare.
pub fn show_str(s: &str) -> String {
    const MAX: usize = 256;
    if s.len() > MAX {
        let mut end = MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("'{}...'", &s[..end])
    } else {
        format!("'{s}'")
    }
}

fn mismatch(path: &Path<'_>, expected: &str, v: &Value) -> SerializationError {
    let at = path.render();
    let at = if at.is_empty() {
        "the top level".to_string()
    } else {
        format!("'{at}'")
    };
    SerializationError(format!("Expected {expected} at {at} but found {}", v.kind()))
}

/// Reads a string.
pub fn read_string(v: &Value, path: &Path<'_>) -> Result<String, SerializationError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(mismatch(path, "a string", other)),
    }
}

/// Reads a boolean.
pub fn read_bool(v: &Value, path: &Path<'_>) -> Result<bool, SerializationError> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(mismatch(path, "a boolean", other)),
    }
}

/// Reads a 32-bit integer (integral floats outside range are wire errors).
pub fn read_i32(v: &Value, path: &Path<'_>) -> Result<i32, SerializationError> {
    match v {
        Value::Int(i) => i32::try_from(*i)
            .map_err(|_| SerializationError(format!("Integer out of range at '{}'", path.render()))),
        other => Err(mismatch(path, "an integer", other)),
    }
}

/// Reads a 64-bit integer.
pub fn read_i64(v: &Value, path: &Path<'_>) -> Result<i64, SerializationError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(mismatch(path, "an integer", other)),
    }
}

/// Reads a timestamp: epoch seconds as a number (JSON) or tag 1 (CBOR).
pub fn read_timestamp(v: &Value, path: &Path<'_>) -> Result<f64, SerializationError> {
    match v {
        Value::Timestamp(t) | Value::Float(t) if t.is_finite() => Ok(*t),
        Value::Int(i) => Ok(*i as f64),
        other => Err(mismatch(path, "a timestamp", other)),
    }
}

/// Reads a blob: a CBOR byte string, or a base64 string in JSON.
pub fn read_blob(v: &Value, path: &Path<'_>) -> Result<Vec<u8>, SerializationError> {
    match v {
        Value::Blob(b) => Ok(b.clone()),
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|_| SerializationError(format!("Invalid base64 blob at '{}'", path.render()))),
        other => Err(mismatch(path, "a blob", other)),
    }
}

/// Reads a list, decoding each element with `item`. Null elements are wire errors.
pub fn read_list<T>(
    v: &Value,
    path: &Path<'_>,
    cx: &mut Violations,
    mut item: impl FnMut(&Value, &Path<'_>, &mut Violations) -> Result<T, SerializationError>,
) -> Result<Vec<T>, SerializationError> {
    match v {
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, e) in items.iter().enumerate() {
                let p = Path::Index(path, i);
                if matches!(e, Value::Null) {
                    return Err(SerializationError(format!(
                        "Null element in list at '{}'",
                        p.render()
                    )));
                }
                out.push(item(e, &p, cx)?);
            }
            Ok(out)
        }
        other => Err(mismatch(path, "a list", other)),
    }
}

/// Reads a map with string keys, decoding each value with `item`.
pub fn read_map<T>(
    v: &Value,
    path: &Path<'_>,
    cx: &mut Violations,
    mut item: impl FnMut(&Value, &Path<'_>, &mut Violations) -> Result<T, SerializationError>,
) -> Result<Vec<(String, T)>, SerializationError> {
    match v {
        Value::Map(entries) => {
            let mut out: Vec<(String, T)> = Vec::with_capacity(entries.len());
            // Where each key landed in `out`: a duplicate replaces the earlier value in
            // constant time (a linear search made a map of n keys cost n² comparisons).
            let mut slots: std::collections::HashMap<&str, usize> =
                std::collections::HashMap::with_capacity(entries.len());
            for (k, e) in entries {
                if matches!(e, Value::Null) {
                    continue;
                }
                let p = Path::Key(path, k);
                let decoded = item(e, &p, cx)?;
                match slots.get(k.as_ref()) {
                    Some(&i) => out[i].1 = decoded,
                    None => {
                        slots.insert(k, out.len());
                        out.push((k.to_string(), decoded));
                    }
                }
            }
            Ok(out)
        }
        other => Err(mismatch(path, "a map", other)),
    }
}

/// The entries of a structure; the caller matches member names. Null means absent.
pub fn read_struct<'v>(v: &'v Value, path: &Path<'_>) -> Result<&'v [(MapKey, Value)], SerializationError> {
    match v {
        Value::Map(entries) => Ok(entries),
        other => Err(mismatch(path, "a structure", other)),
    }
}

/// Length of a string as AWS counts it (characters).
pub fn str_len(s: &str) -> usize {
    s.chars().count()
}

/// Checks a string's length bounds.
pub fn check_len(s: &str, min: Option<i64>, max: Option<i64>, path: &Path<'_>, cx: &mut Violations) {
    let n = str_len(s) as i64;
    if let Some(min) = min {
        if n < min {
            cx.push(
                &show_str(s),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }
    if let Some(max) = max {
        if n > max {
            cx.push(
                &show_str(s),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }
}

/// Checks a blob's or list's size bounds; `shown` (the value as the message shows it) is
/// made only for a violation.
pub fn check_size(
    n: usize,
    shown: impl Fn() -> String,
    min: Option<i64>,
    max: Option<i64>,
    path: &Path<'_>,
    cx: &mut Violations,
) {
    let n = n as i64;
    if let Some(min) = min {
        if n < min {
            cx.push(
                &shown(),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }
    if let Some(max) = max {
        if n > max {
            cx.push(
                &shown(),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }
}

/// Checks an integer's range.
pub fn check_range(n: i64, min: Option<i64>, max: Option<i64>, path: &Path<'_>, cx: &mut Violations) {
    if let Some(min) = min {
        if n < min {
            cx.push(
                &n.to_string(),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
    }
    if let Some(max) = max {
        if n > max {
            cx.push(
                &n.to_string(),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }
}

pub use crate::pattern::Pattern;

/// Checks a pattern with Smithy's search (unanchored) semantics.
pub fn check_pattern(s: &str, re: &Pattern, source: &str, path: &Path<'_>, cx: &mut Violations) {
    if !re.is_match(s) {
        cx.push(
            &show_str(s),
            path,
            &format!("Member must satisfy regular expression pattern: {source}"),
        );
    }
}

/// Records a value outside an enum's set.
pub fn enum_violation(s: &str, allowed: &[&str], path: &Path<'_>, cx: &mut Violations) {
    cx.push(
        &show_str(s),
        path,
        &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
    );
}

/// Shows a list of strings the way AWS prints them in a violation: `[a, b]`.
pub fn show_list(n: usize) -> String {
    format!("[{n} items]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_aws() {
        let root = Path::Root;
        let rules = Path::Member(&root, "UserRules");
        let first = Path::Index(&rules, 0);
        let rule = Path::Member(&first, "ipRule");
        assert_eq!(rule.render(), "userRules.1.member.ipRule");
        assert_eq!(Path::Member(&root, "GroupId").render(), "groupId");
    }

    #[test]
    fn message_counts_and_joins() {
        let root = Path::Root;
        let mut v = Violations::default();
        v.missing(&Path::Member(&root, "WorkspaceId"));
        assert_eq!(
            v.message(),
            "1 validation error detected: Value null at 'workspaceId' failed to satisfy constraint: Member must not be null"
        );
        check_range(30, Some(1), Some(25), &Path::Member(&root, "Limit"), &mut v);
        assert!(v.message().starts_with("2 validation errors detected: "));
        assert!(v.message().ends_with("Value 30 at 'limit' failed to satisfy constraint: Member must have value less than or equal to 25"));
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let root = Path::Root;
        assert!(read_string(&Value::Int(1), &root).is_err());
        assert!(read_i32(&Value::Int(i64::MAX), &root).is_err());
        assert!(read_i32(&Value::Float(1.5), &root).is_err());
        assert_eq!(read_blob(&Value::String("aGk=".into()), &root).unwrap(), b"hi");
        assert!(read_blob(&Value::String("***".into()), &root).is_err());
        assert_eq!(read_timestamp(&Value::Int(5), &root).unwrap(), 5.0);
    }

    #[test]
    fn maps_keep_the_last_duplicate_in_first_position() {
        let v = Value::Map(vec![
            ("a".into(), Value::String("1".into())),
            ("b".into(), Value::String("2".into())),
            ("a".into(), Value::String("3".into())),
            ("c".into(), Value::Null),
        ]);
        let m = read_map(&v, &Path::Root, &mut Violations::default(), read_string_item).unwrap();
        assert_eq!(
            m,
            vec![
                ("a".to_string(), "3".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
    }

    fn read_string_item(v: &Value, p: &Path<'_>, _: &mut Violations) -> Result<String, SerializationError> {
        read_string(v, p)
    }

    #[test]
    fn unanchored_patterns_search() {
        let re = Pattern::Linear(regex::Regex::new("wsipg-[0-9a-z]{8,63}$").unwrap());
        let mut v = Violations::default();
        check_pattern("xxwsipg-12345678", &re, "p", &Path::Root, &mut v);
        assert!(v.is_empty());
        check_pattern("wsipg-1", &re, "p", &Path::Root, &mut v);
        assert_eq!(v.len(), 1);
    }
}

/// A structure that can be read from and written to the wire (written through [`Encode`]).
pub trait Shape: Sized + Encode {
    /// Reads the structure, recording constraint violations in `cx`.
    fn decode(v: &Value, p: &Path<'_>, cx: &mut Violations) -> Result<Self, SerializationError>;
    /// The structure's wire tree; absent optional members are omitted.
    fn into_value(self) -> Value {
        self.to_value()
    }
    /// Like [`Shape::into_value`], for a structure that is kept.
    fn encode(&self) -> Value {
        self.to_value()
    }
}

/// A botocore paginator: which members carry the token, the page and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paginator {
    pub input_token: &'static str,
    pub output_token: &'static str,
    pub result_key: &'static str,
    pub limit_key: Option<&'static str>,
}
