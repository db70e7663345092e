//! Rules shared by the engines: condition checks and conflict messages.

use crate::{Expect, Key, StoreError};
use std::fmt;

/// Displays a key as `account/region/kind/id` for messages.
pub(crate) struct Shown<'a>(pub &'a Key);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.0;
        write!(f, "{}/{}/{}/{}", k.scope.account, k.scope.region, k.kind, k.id)
    }
}

/// Checks `expect` against the current revision of `key` (`None`: absent).
pub(crate) fn check_expect(key: &Key, current: Option<u64>, expect: Expect) -> Result<(), StoreError> {
    match (expect, current) {
        (Expect::Any, _) | (Expect::Absent, None) => Ok(()),
        (Expect::Rev(want), Some(have)) if want == have => Ok(()),
        (Expect::Absent, Some(_)) => Err(StoreError::Conflict(format!("{} already exists", Shown(key)))),
        (Expect::Rev(want), Some(have)) => Err(StoreError::Conflict(format!(
            "{} is at revision {have}, expected {want}",
            Shown(key)
        ))),
        (Expect::Rev(want), None) => Err(StoreError::Conflict(format!(
            "{} does not exist, expected revision {want}",
            Shown(key)
        ))),
    }
}

/// The conflict of a unique index key already held by another record.
pub(crate) fn unique_conflict(key: &Key, name: &str, index_key: &str, holder: &str) -> StoreError {
    StoreError::Conflict(format!(
        "{}: index {name} key {index_key:?} is already used by {holder}",
        Shown(key)
    ))
}

/// The error of a call after `close`.
pub(crate) fn closed() -> StoreError {
    StoreError::Backend("store is closed".to_string())
}

/// The conflict of an [`crate::Write::AtMost`] guard that does not hold.
pub(crate) fn too_many(scope: &crate::Scope, kind: &str, n: u64, max: u64) -> StoreError {
    StoreError::Conflict(format!(
        "{}/{}: {n} records of kind {kind}, at most {max} allowed",
        scope.account, scope.region
    ))
}
