//! The activity log: the last API calls (time, account, operation, resource, protocol,
//! status, request id) in a bounded in-memory ring buffer, filled by the edge and by the
//! console's own actions, browsed on the console's Activity page.

use localspaces_api::value::Value;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;

/// How many entries the log keeps (the oldest are dropped first).
pub const CAPACITY: usize = 2000;

/// One recorded call.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Sequence number, increasing from 1.
    pub seq: u64,
    /// Epoch seconds.
    pub time: f64,
    pub account: String,
    pub region: String,
    pub operation: std::borrow::Cow<'static, str>,
    pub resource: String,
    /// `json`, `cbor`, `console` or `admin`.
    pub protocol: &'static str,
    pub status: u16,
    pub request_id: String,
}

/// A bounded log of calls.
#[derive(Debug)]
pub struct ActivityLog {
    inner: Mutex<(u64, VecDeque<Entry>)>,
    capacity: usize,
}

impl Default for ActivityLog {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl ActivityLog {
    /// A log keeping at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        ActivityLog {
            inner: Mutex::new((0, VecDeque::with_capacity(capacity.min(4096)))),
            capacity: capacity.max(1),
        }
    }

    /// Appends one entry (its `seq` is assigned here), dropping the oldest when full.
    pub fn record(&self, mut e: Entry) {
        let mut g = self.inner.lock();
        g.0 += 1;
        e.seq = g.0;
        if g.1.len() >= self.capacity {
            g.1.pop_front();
        }
        g.1.push_back(e);
    }

    /// The entries, newest first.
    pub fn newest_first(&self) -> Vec<Entry> {
        self.inner.lock().1.iter().rev().cloned().collect()
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        self.inner.lock().1.len()
    }

    /// True when nothing was recorded (or everything was dropped).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The distinct accounts seen, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let g = self.inner.lock();
        let mut v: Vec<String> =
            g.1.iter()
                .map(|e| e.account.clone())
                .filter(|a| a != "-")
                .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Members that name the resource a call is about, most specific first.
const ID_MEMBERS: &[&str] = &[
    "WorkspaceId",
    "DirectoryId",
    "ResourceId",
    "GroupId",
    "BundleId",
    "ImageId",
    "SourceImageId",
    "AliasId",
    "PoolId",
    "SessionId",
    "LinkId",
    "ApplicationId",
];

fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

fn find_id(v: &Value, depth: usize) -> Option<String> {
    let Value::Map(m) = v else { return None };
    for name in ID_MEMBERS {
        if let Some(Value::String(s)) = member(v, name) {
            return Some(s.clone());
        }
    }
    if depth == 0 {
        return None;
    }
    // Batch calls: the first id of a list member (`WorkspaceIds`, `StartWorkspaceRequests`, …).
    for (_, val) in m {
        if let Value::List(items) = val {
            match items.first() {
                Some(Value::String(s)) if s.contains('-') => return Some(s.clone()),
                Some(item @ Value::Map(_)) => {
                    if let Some(id) = find_id(item, depth - 1) {
                        return Some(id);
                    }
                }
                _ => {}
            }
        }
    }
    None
}

/// The resource a call is about: an id member of its input, else (for creations) of its
/// output; `-` when neither names one.
pub fn resource_of(input: &Value, output: Option<&Value>) -> String {
    find_id(input, 1)
        .or_else(|| output.and_then(|o| find_id(o, 2)))
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(account: &str) -> Entry {
        Entry {
            seq: 0,
            time: 0.0,
            account: account.into(),
            region: "us-east-1".into(),
            operation: "DescribeWorkspaces".into(),
            resource: "-".into(),
            protocol: "json",
            status: 200,
            request_id: "r".into(),
        }
    }

    #[test]
    fn ring_buffer_is_bounded_and_newest_first() {
        let log = ActivityLog::with_capacity(3);
        for a in ["1", "2", "3", "4", "5"] {
            log.record(entry(a));
        }
        let v = log.newest_first();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].account, "5");
        assert_eq!(v[0].seq, 5);
        assert_eq!(v[2].account, "3");
        assert_eq!(log.accounts(), vec!["3", "4", "5"]);
    }

    #[test]
    fn resource_comes_from_input_then_output() {
        let input = Value::Map(vec![(
            "StopWorkspaceRequests".into(),
            Value::List(vec![Value::Map(vec![(
                "WorkspaceId".into(),
                Value::String("ws-abc".into()),
            )])]),
        )]);
        assert_eq!(resource_of(&input, None), "ws-abc");
        let out = Value::Map(vec![("GroupId".into(), Value::String("wsipg-1".into()))]);
        assert_eq!(resource_of(&Value::Map(vec![]), Some(&out)), "wsipg-1");
        assert_eq!(resource_of(&Value::Map(vec![]), None), "-");
    }
}
