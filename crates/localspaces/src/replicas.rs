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
//!   shared log.

use crate::clock::OffsetClock;
use crate::engine::Engine;
use localspaces_store::{Expect, Key, Put, Scope, Store, StoreError, Write};
use std::sync::Arc;
use std::time::Duration;

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

/// One synchronization pass: adopts the other replicas' transitions and merges the clock
/// offset with the stored one.
pub fn sync_once(store: &dyn Store, engine: &Engine, clock: &OffsetClock) -> Result<(), StoreError> {
    engine.adopt(store, 0.0)?;
    let key = clock_key();
    for _ in 0..3 {
        let stored = store.get(&key)?;
        let (stored_ms, expect) = match &stored {
            Some(r) => (
                std::str::from_utf8(&r.body)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or_else(|| StoreError::Corrupt("clock offset".into()))?,
                Expect::Rev(r.rev),
            ),
            None => (0, Expect::Absent),
        };
        let local_ms = (clock.offset() * 1000.0).round() as i64;
        if stored_ms > local_ms {
            if clock.raise_to(stored_ms as f64 / 1000.0) {
                engine.wake();
            }
            return Ok(());
        }
        if stored_ms == local_ms {
            return Ok(());
        }
        let put = Write::Put(Put {
            key: key.clone(),
            body: local_ms.to_string().into_bytes(),
            indexes: Vec::new(),
            unique: Vec::new(),
            expect,
        });
        match store.commit(vec![put]) {
            Err(StoreError::Conflict(_)) => continue,
            other => return other,
        }
    }
    Ok(())
}

/// The poll loop of a replica; runs until aborted. `flush` writes what else the replica
/// buffers for the others (the console's activity log).
pub async fn run(
    store: Arc<dyn Store>,
    engine: Engine,
    clock: Arc<OffsetClock>,
    flush: Arc<dyn Fn() -> Result<(), StoreError> + Send + Sync>,
) {
    let mut failing = false;
    loop {
        let (s, e, c, f) = (
            Arc::clone(&store),
            engine.clone(),
            Arc::clone(&clock),
            Arc::clone(&flush),
        );
        let pass = move || {
            let synced = sync_once(s.as_ref(), &e, &c);
            f().and(synced)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::engine::{transition_key, PendingTransition, Timing, TransitionKind};
    use localspaces_store::MemoryStore;

    /// Two replicas' clocks and engines over one store.
    #[test]
    fn offsets_merge_and_other_replicas_transitions_are_queued() {
        let store = MemoryStore::new();
        let (a, b) = (Arc::new(OffsetClock::default()), Arc::new(OffsetClock::default()));
        let engine_b = Engine::new(Arc::clone(&b) as Arc<dyn Clock>, Timing::profile("fast").unwrap());
        let engine_a = Engine::new(Arc::clone(&a) as Arc<dyn Clock>, Timing::profile("fast").unwrap());
        a.advance(30.0).expect("advance");
        sync_once(&store, &engine_a, &a).unwrap();
        sync_once(&store, &engine_b, &b).unwrap();
        assert!((b.offset() - 30.0).abs() < 1e-9);
        b.advance(5.0).expect("advance");
        sync_once(&store, &engine_b, &b).unwrap();
        sync_once(&store, &engine_a, &a).unwrap();
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
