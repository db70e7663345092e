//! The activity log: the last API calls (time, account, operation, resource, protocol,
//! status, request id) in a bounded in-memory ring buffer, filled by the edge and by the
//! console's own actions, browsed on the console's Activity page. Replicas on a shared
//! store keep it there instead (bounded too), so each one's console shows every call.

use localspaces_api::value::Value;
use localspaces_store::{Store, StoreError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

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
pub struct ActivityLog {
    inner: Mutex<(u64, VecDeque<Entry>)>,
    capacity: usize,
    /// Replicas on a shared store: the store keeps the log of all of them, and the ring
    /// holds this replica's entries not written there yet (see [`ActivityLog::share`]).
    shared: Mutex<Option<Arc<dyn Store>>>,
}

impl std::fmt::Debug for ActivityLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityLog")
            .field("capacity", &self.capacity)
            .field("shared", &self.shared.lock().is_some())
            .finish()
    }
}

impl Default for ActivityLog {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

/// An entry as the shared log stores it (JSON).
#[derive(Serialize, Deserialize)]
struct Stored {
    seq: u64,
    time: f64,
    account: String,
    region: String,
    operation: String,
    resource: String,
    protocol: String,
    status: u16,
    request_id: String,
}

impl ActivityLog {
    /// A log keeping at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        ActivityLog {
            inner: Mutex::new((0, VecDeque::with_capacity(capacity.min(4096)))),
            capacity: capacity.max(1),
            shared: Mutex::new(None),
        }
    }

    /// Keeps the log in `store`, shared with the other replicas on it, when the store has
    /// a shared log; the entries recorded here are written by [`ActivityLog::flush`].
    pub fn share(&self, store: Arc<dyn Store>) {
        *self.shared.lock() = Some(store);
    }

    /// Writes the entries recorded since the last flush to the shared log (none without
    /// one). Entries that cannot be written stay for the next flush.
    pub fn flush(&self) -> Result<(), StoreError> {
        let Some(store) = self.shared.lock().clone() else {
            return Ok(());
        };
        let pending: Vec<Entry> = self.inner.lock().1.iter().cloned().collect();
        if pending.is_empty() {
            return Ok(());
        }
        let bodies: Vec<Vec<u8>> = pending
            .iter()
            .map(|e| serde_json::to_vec(&Stored::from(e)).unwrap_or_default())
            .collect();
        if !store.log_append(&bodies, self.capacity as u64)? {
            *self.shared.lock() = None;
            return Ok(());
        }
        let last = pending.last().map_or(0, |e| e.seq);
        self.inner.lock().1.retain(|e| e.seq > last);
        Ok(())
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

    /// The entries, newest first: with a shared log, every replica's (this one's not yet
    /// written first), else this process's.
    pub fn newest_first(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = self.inner.lock().1.iter().rev().cloned().collect();
        let Some(store) = self.shared.lock().clone() else {
            return out;
        };
        match store.log_recent(self.capacity.saturating_sub(out.len())) {
            Ok(Some(bodies)) => out.extend(
                bodies
                    .iter()
                    .filter_map(|b| serde_json::from_slice::<Stored>(b).ok())
                    .map(Entry::from),
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the shared activity log"),
        }
        out
    }

    /// Number of entries kept.
    pub fn len(&self) -> usize {
        if self.shared.lock().is_some() {
            return self.newest_first().len();
        }
        self.inner.lock().1.len()
    }

    /// True when nothing was recorded (or everything was dropped).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The distinct accounts seen, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .newest_first()
            .into_iter()
            .map(|e| e.account)
            .filter(|a| a != "-")
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

impl From<&Entry> for Stored {
    fn from(e: &Entry) -> Self {
        Stored {
            seq: e.seq,
            time: e.time,
            account: e.account.clone(),
            region: e.region.clone(),
            operation: e.operation.to_string(),
            resource: e.resource.clone(),
            protocol: e.protocol.to_string(),
            status: e.status,
            request_id: e.request_id.clone(),
        }
    }
}

impl From<Stored> for Entry {
    fn from(s: Stored) -> Self {
        Entry {
            seq: s.seq,
            time: s.time,
            account: s.account,
            region: s.region,
            operation: s.operation.into(),
            resource: s.resource,
            protocol: match s.protocol.as_str() {
                "json" => "json",
                "cbor" => "cbor",
                "console" => "console",
                "admin" => "admin",
                _ => "-",
            },
            status: s.status,
            request_id: s.request_id,
        }
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

/// The string of the map's member that comes first in [`ID_MEMBERS`] (of a repeated key the
/// last entry counts, as a read of the map takes it), found in one pass over the entries.
fn id_member(m: &[(localspaces_api::value::MapKey, Value)]) -> Option<&String> {
    let mut last: [Option<&Value>; ID_MEMBERS.len()] = [None; ID_MEMBERS.len()];
    for (k, val) in m {
        if let Some(rank) = ID_MEMBERS.iter().position(|name| *name == k.as_ref()) {
            last[rank] = Some(val);
        }
    }
    last.into_iter().find_map(|v| match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    })
}

fn find_id(v: &Value, depth: usize) -> Option<String> {
    let Value::Map(m) = v else { return None };
    if let Some(s) = id_member(m) {
        return Some(s.clone());
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

    #[test]
    fn resource_prefers_the_most_specific_id_and_the_last_of_a_repeated_key() {
        let s = |v: &str| Value::String(v.into());
        let input = Value::Map(vec![
            ("GroupId".into(), s("wsipg-1")),
            ("DirectoryId".into(), s("d-1")),
            ("WorkspaceId".into(), s("ws-1")),
            ("WorkspaceId".into(), Value::Null),
        ]);
        // The last `WorkspaceId` is no string: the next member in order names the resource.
        assert_eq!(resource_of(&input, None), "d-1");
        let input = Value::Map(vec![
            ("WorkspaceId".into(), s("ws-1")),
            ("WorkspaceId".into(), s("ws-2")),
            ("DirectoryId".into(), s("d-1")),
        ]);
        assert_eq!(resource_of(&input, None), "ws-2");
    }
}
