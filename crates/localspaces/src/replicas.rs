//! Several replicas on one shared store (`--store-url`): what each replica does so that
//! they serve one service.
//!
//! Records, quotas and unique names need nothing here: every read goes to the store, and
//! conditional commits (revisions, unique indexes, `AtMost` quota guards) are checked in
//! the store's transaction, whichever replica sends them. Two things live in a replica's
//! memory and are synchronized by a poll loop:
//! - pending lifecycle transitions: each replica queues, at its due time, every transition
//!   the others stored (see [`Engine::adopt`]); when it is due, the replica that claims it
//!   in the store applies it (see `service::lifecycle`), so it is applied on time even when
//!   the replica that scheduled it died, and once; a claimant that died is replaced after
//!   its lease;
//! - the clock offset of the admin `advance` route: stored as a record, every replica
//!   moves its clock to the largest offset any replica reached (offsets only grow);
//! - the console's activity log: each pass writes the replica's new entries to the store's
//!   shared log;
//! - with desktops, which replicas are alive ([`Membership`]): each pass raises this
//!   replica's heartbeat every [`crate::membership::BEAT`] and reads the others'; the
//!   WorkSpaces of a replica found dead become UNHEALTHY. A WorkSpace's transitions are
//!   queued and applied only by the replica that owns its desktop.

use crate::clock::OffsetClock;
use crate::engine::{Engine, PendingTransition};
use crate::membership::Membership;
use localspaces_store::{Key, Scope, Store, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a replica looks at the shared store.
pub const POLL: Duration = Duration::from_millis(250);

/// Key of the record holding the shared clock offset (milliseconds, decimal).
fn clock_key() -> Key {
    Key {
        scope: Scope::new("", ""),
        kind: "clock".to_string(),
        id: "offset".to_string(),
    }
}

/// What a replica does when it finds another dead (answers a message when that failed,
/// to be tried again).
pub type Lost = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Which stored transitions this replica queues.
pub type Keep = Arc<dyn Fn(&Key, &PendingTransition) -> bool + Send + Sync>;

/// One synchronization pass: adopts the other replicas' transitions (those `keep` accepts)
/// and merges the clock offset with the stored one.
pub fn sync_once(
    store: &dyn Store,
    engine: &Engine,
    clock: &OffsetClock,
    keep: &dyn Fn(&Key, &PendingTransition) -> bool,
) -> Result<(), StoreError> {
    engine.adopt_where(store, 0.0, keep)?;
    localspaces_store::update_record(store, &clock_key(), 3, |stored| {
        let stored_ms = match stored {
            Some(r) => std::str::from_utf8(&r.body)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| StoreError::Corrupt("clock offset".into()))?,
            None => 0,
        };
        let local_ms = (clock.offset() * 1000.0).round() as i64;
        if stored_ms > local_ms {
            if clock.raise_to(stored_ms as f64 / 1000.0) {
                engine.wake();
            }
            return Ok(None);
        }
        Ok((stored_ms != local_ms).then(|| local_ms.to_string().into_bytes()))
    })
}

/// What a replica's poll loop does besides adopting transitions and merging the clock.
#[derive(Clone)]
pub struct Hooks {
    /// Writes what else the replica buffers for the others (the console's activity log).
    pub flush: Arc<dyn Fn() -> Result<(), StoreError> + Send + Sync>,
    /// Which stored transitions this replica queues.
    pub keep: Keep,
    /// With desktops: this replica's view of the others, and what to do when one dies
    /// (answers a message when that failed, to be tried again).
    pub membership: Option<(Arc<Membership>, Lost)>,
}

/// The heartbeat part of a pass: beats when `BEAT` has passed since `last`, reads the
/// others' beats and hands each newly dead replica to `lost`.
fn membership_pass(
    store: &dyn Store,
    m: &Membership,
    lost: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
    last: &mut Option<Instant>,
) -> Result<(), StoreError> {
    if last.is_none_or(|t| t.elapsed() >= crate::membership::BEAT) {
        m.beat(store)?;
        *last = Some(Instant::now());
    }
    for id in m.refresh(store, Instant::now())? {
        tracing::warn!(replica = %id, "a replica stopped beating");
        if let Err(e) = lost(&id) {
            tracing::warn!(replica = %id, error = %e, "cannot mark a dead replica's WorkSpaces; retrying");
            m.report_again(&id);
        }
    }
    Ok(())
}

/// The poll loop of a replica; runs until aborted. The heartbeat has its own loop: a slow
/// adoption pass must not look like death.
pub async fn run(store: Arc<dyn Store>, engine: Engine, clock: Arc<OffsetClock>, hooks: Hooks) {
    let beats = hooks.membership.clone().map(|(m, lost)| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let last = Arc::new(parking_lot::Mutex::new(None::<Instant>));
            loop {
                let (s, m, lost, last) = (
                    Arc::clone(&store),
                    Arc::clone(&m),
                    Arc::clone(&lost),
                    Arc::clone(&last),
                );
                let pass = move || membership_pass(s.as_ref(), &m, lost.as_ref(), &mut last.lock());
                if let Ok(Err(e)) = tokio::task::spawn_blocking(pass).await {
                    tracing::debug!(error = %e, "heartbeat pass failed");
                }
                tokio::time::sleep(POLL).await;
            }
        })
    });
    let _beats = AbortOnDrop(beats);
    let mut failing = false;
    loop {
        let (s, e, c, h) = (
            Arc::clone(&store),
            engine.clone(),
            Arc::clone(&clock),
            hooks.clone(),
        );
        let pass = move || {
            let synced = sync_once(s.as_ref(), &e, &c, h.keep.as_ref());
            (h.flush)().and(synced)
        };
        match tokio::task::spawn_blocking(pass).await {
            Ok(Ok(())) if failing => {
                tracing::info!("shared store reachable again");
                failing = false;
            }
            Ok(Ok(())) => {}
            Ok(Err(e)) if !failing => {
                tracing::warn!(error = %e, "cannot synchronize with the shared store; retrying");
                failing = true;
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::error!(error = %e, "replica synchronization panicked"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Aborts the task when dropped (the poll loop's heartbeat ends with it).
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::engine::{transition_key, PendingTransition, Timing, TransitionKind};
    use localspaces_store::{Expect, MemoryStore, Put, Write};

    /// Two replicas' clocks and engines over one store.
    #[test]
    fn offsets_merge_and_other_replicas_transitions_are_queued() {
        let store = MemoryStore::new();
        let (a, b) = (Arc::new(OffsetClock::default()), Arc::new(OffsetClock::default()));
        let engine_b = Engine::new(Arc::clone(&b) as Arc<dyn Clock>, Timing::profile("fast").unwrap());
        let engine_a = Engine::new(Arc::clone(&a) as Arc<dyn Clock>, Timing::profile("fast").unwrap());
        a.advance(30.0).expect("advance");
        sync_once(&store, &engine_a, &a, &|_, _| true).unwrap();
        sync_once(&store, &engine_b, &b, &|_, _| true).unwrap();
        assert!((b.offset() - 30.0).abs() < 1e-9);
        b.advance(5.0).expect("advance");
        sync_once(&store, &engine_b, &b, &|_, _| true).unwrap();
        sync_once(&store, &engine_a, &a, &|_, _| true).unwrap();
        assert!((a.offset() - 35.0).abs() < 1e-9);

        let scope = Scope::new("111122223333", "us-east-1");
        let t = PendingTransition {
            kind: TransitionKind::WorkspaceStart,
            due: 100.0,
            resource_kind: "workspace".into(),
            resource_id: "ws-1".into(),
        };
        store
            .commit(vec![Write::Put(Put {
                key: transition_key(&scope, "workspace", "ws-1"),
                body: serde_json::to_vec(&t).unwrap(),
                indexes: vec![],
                unique: vec![],
                expect: Expect::Absent,
            })])
            .unwrap();
        assert_eq!(engine_b.adopt(&store, 0.0).unwrap(), 1);
        assert_eq!(engine_b.queued(), 1);
        // Held already: not queued twice.
        assert_eq!(engine_b.adopt(&store, 0.0).unwrap(), 0);
        assert_eq!(engine_b.queued(), 1);
    }
}
