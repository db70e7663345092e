//! Opaque `NextToken`s: base64 of `<operation>:<filter fingerprint>:<last seq>`, so a page
//! continues after the last record it showed (creation order: nothing is skipped or
//! repeated while items are added) and a token is refused with other filters.

use super::Stored;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Encodes a cursor after record `seq` for `op` with filter fingerprint `filter`.
pub fn encode(op: &str, filter: u64, seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{op}:{filter:x}:{seq}"))
}

/// Decodes a cursor; `None` when it is not one of ours, for another operation or other filters.
pub fn decode(token: &str, op: &str, filter: u64) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.splitn(3, ':');
    let (o, f, s) = (parts.next()?, parts.next()?, parts.next()?);
    if o != op || u64::from_str_radix(f, 16).ok()? != filter {
        return None;
    }
    s.parse().ok()
}

/// The cursor of an optional request token: `None` without one; with one that [`decode`]
/// refuses, the operation's own error (`err`: AWS answers a bad token differently per
/// operation).
pub fn after<E>(
    token: Option<&str>,
    op: &str,
    filter: u64,
    err: impl FnOnce() -> E,
) -> Result<Option<u64>, E> {
    token.map(|t| decode(t, op, filter).ok_or_else(err)).transpose()
}

/// Records loaded by id, as a page source: creation order, each once, after the cursor.
pub(crate) fn in_order<R>(mut got: Vec<Stored<R>>, after: Option<u64>) -> Vec<Stored<R>> {
    got.sort_by_key(|r| r.seq);
    got.dedup_by_key(|r| r.seq);
    got.retain(|r| after.is_none_or(|a| r.seq > a));
    got
}

/// Fills one page of at most `limit` items from `found` (creation order): `show` answers a
/// record's wire form, or `None` for one the request's filters leave out. The token points
/// after the last item shown, and only when a further shown item exists.
pub(crate) fn page<R, W, E>(
    found: Vec<Stored<R>>,
    limit: usize,
    op: &str,
    filter: u64,
    mut show: impl FnMut(&Stored<R>) -> Result<Option<W>, E>,
) -> Result<(Vec<W>, Option<String>), E> {
    let mut out = Vec::new();
    let mut last_seq = None;
    for r in &found {
        let Some(w) = show(r)? else { continue };
        if out.len() == limit {
            return Ok((out, last_seq.map(|s| encode(op, filter, s))));
        }
        last_seq = Some(r.seq);
        out.push(w);
    }
    Ok((out, None))
}

/// A stable fingerprint of a request's filters (FNV-1a over the given parts).
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal() {
        let t = encode("DescribeIpGroups", 7, 42);
        assert_eq!(decode(&t, "DescribeIpGroups", 7), Some(42));
        assert_eq!(decode(&t, "DescribeIpGroups", 8), None);
        assert_eq!(decode(&t, "DescribeWorkspaces", 7), None);
        assert_eq!(decode("garbage!", "DescribeIpGroups", 7), None);
    }
}
