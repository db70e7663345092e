//! The service side of the lifecycle engine: writing pending transitions together with the
//! transitional state, telling the engine after the commit, and applying due transitions
//! (dispatched to the family that owns the resource kind).

use super::Service;
use crate::engine::{transition_key, Applier, Outcome, PendingTransition, TransitionKind, TRANSITION_KIND};
use localspaces_api::workspaces::Error;
use localspaces_store::{Expect, Key, Put, Scope, StoreError, Write};

impl Service {
    /// A pending transition of `kind` for a resource, due after the configured duration,
    /// and the write that stores it (commit it with the resource's new state).
    pub(crate) fn transition(
        &self,
        scope: &Scope,
        kind: TransitionKind,
        resource_kind: &str,
        resource_id: &str,
    ) -> Result<(Write, PendingTransition), Error> {
        let due = self.clock.now() + self.engine.timing().duration(kind);
        self.transition_at(scope, kind, resource_kind, resource_id, due)
    }

    /// Like [`Service::transition`] with an explicit due time.
    pub(crate) fn transition_at(
        &self,
        scope: &Scope,
        kind: TransitionKind,
        resource_kind: &str,
        resource_id: &str,
        due: f64,
    ) -> Result<(Write, PendingTransition), Error> {
        let t = PendingTransition {
            kind,
            due,
            resource_kind: resource_kind.to_string(),
            resource_id: resource_id.to_string(),
        };
        let body = serde_json::to_vec(&t).map_err(|e| super::internal(StoreError::Corrupt(e.to_string())))?;
        let w = Write::Put(Put {
            key: transition_key(scope, resource_kind, resource_id),
            body,
            indexes: Vec::new(),
            unique: Vec::new(),
            expect: Expect::Any,
        });
        Ok((w, t))
    }

    /// The write that cancels a resource's pending transition (if any).
    pub(crate) fn cancel_transition(scope: &Scope, resource_kind: &str, resource_id: &str) -> Write {
        Write::Delete {
            key: transition_key(scope, resource_kind, resource_id),
            expect: Expect::Any,
        }
    }

    /// After a commit: hands the new transitions to the engine. Call with no lock held:
    /// transitions already due (zero durations: the `instant` profile) are applied here,
    /// follow-ups included, before returning, so the next call sees the end state even if
    /// the engine task popped the same entries meanwhile (applying takes the write lock, so
    /// whoever applies first has committed before the other looks).
    pub(crate) fn scheduled(&self, scope: &Scope, pending: &[PendingTransition]) {
        let now = self.clock.now();
        let mut due: Vec<(Key, f64)> = Vec::new();
        for t in pending {
            let key = t.key(scope);
            self.engine.schedule(key.clone(), t.due);
            if t.due <= now {
                due.push((key, now));
            }
        }
        // Bounded: a chain of zero-duration follow-ups ends (create → available, terminate
        // → terminated → removed); the bound only guards against a faulty family. Each round
        // reads the clock afresh: the engine task may have applied a step meanwhile (it
        // popped the same entry), leaving a follow-up due at its own "now".
        for _ in 0..8 {
            if due.is_empty() {
                break;
            }
            let now = self.clock.now();
            let batch: Vec<(Key, f64)> = due.into_iter().map(|(k, _)| (k, now)).collect();
            let results = self.apply_batch(&batch);
            let mut next = Vec::new();
            for ((key, _), res) in batch.into_iter().zip(results) {
                match res {
                    Ok(Outcome::Done(Some(d))) => {
                        self.engine.schedule(key.clone(), d);
                        if d <= self.clock.now() {
                            next.push((key, d));
                        }
                    }
                    Ok(_) => {
                        // Nothing applied here: another applier may have moved it on to a
                        // follow-up that is already due.
                        if let Ok(Some((t, _))) = self.load_transition(&key) {
                            if t.kind != TransitionKind::WorkspaceAutoStop && t.due <= self.clock.now() {
                                next.push((key, t.due));
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "applying a due transition failed"),
                }
            }
            due = next;
        }
    }

    /// Reads the pending transition under `key`.
    pub(crate) fn load_transition(&self, key: &Key) -> Result<Option<(PendingTransition, u64)>, StoreError> {
        match self.store.get(key)? {
            Some(r) => {
                let t: PendingTransition = serde_json::from_slice(&r.body)
                    .map_err(|e| StoreError::Corrupt(format!("transition: {e}")))?;
                Ok(Some((t, r.rev)))
            }
            None => Ok(None),
        }
    }
}

/// What a family does with one due transition: the writes to commit (the transition record's
/// deletion is added by the caller unless the family replaces it) and any follow-up.
pub(crate) struct Applied {
    pub writes: Vec<Write>,
    /// A follow-up transition (replaces the record under the same key).
    pub next: Option<PendingTransition>,
}

/// One due transition, prepared: the writes that apply it and what to tell the engine.
enum Prepared {
    /// Nothing to write (stale entry, or a timer that is not due).
    Skip(Outcome),
    /// Commit these writes; then the outcome holds.
    Write(Vec<Write>, Outcome),
}

impl Service {
    /// Reads one pending transition and computes its writes (the write lock is held).
    fn prepare(&self, key: &Key, now: f64) -> Result<Prepared, StoreError> {
        if key.kind != TRANSITION_KIND {
            return Ok(Prepared::Skip(Outcome::Done(None)));
        }
        let Some((t, rev)) = self.load_transition(key)? else {
            return Ok(Prepared::Skip(Outcome::Done(None)));
        };
        if t.kind == TransitionKind::WorkspaceAutoStop && t.due > self.clock.now() + 0.0005 {
            // Timers fire on the clock only, never by a settle.
            return Ok(Prepared::Skip(Outcome::NotYet(t.due)));
        }
        if t.due > now + 0.0005 {
            // Rescheduled meanwhile; the engine holds the newer entry.
            return Ok(Prepared::Skip(Outcome::Done(None)));
        }
        let applied = self.apply_family(&key.scope, &t, now)?;
        let mut writes = applied.writes;
        let next_due = match &applied.next {
            Some(next) => {
                let body = serde_json::to_vec(next).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                writes.push(Write::Put(Put {
                    key: key.clone(),
                    body,
                    indexes: Vec::new(),
                    unique: Vec::new(),
                    expect: Expect::Rev(rev),
                }));
                Some(next.due)
            }
            None => {
                writes.push(Write::Delete {
                    key: key.clone(),
                    expect: Expect::Rev(rev),
                });
                None
            }
        };
        Ok(Prepared::Write(writes, Outcome::Done(next_due)))
    }

    fn commit_prepared(&self, writes: Vec<Write>, outcome: Outcome) -> Result<Outcome, StoreError> {
        match self.store.commit(writes) {
            Ok(()) => Ok(outcome),
            // The resource changed under us (a newer request won); its own transition stands.
            Err(StoreError::Conflict(_)) => Ok(Outcome::Done(None)),
            Err(e) => Err(e),
        }
    }
}

impl Applier for Service {
    fn apply(&self, key: &Key, now: f64) -> Result<Outcome, StoreError> {
        let _w = self.write.lock();
        match self.prepare(key, now)? {
            Prepared::Skip(o) => Ok(o),
            Prepared::Write(writes, o) => self.commit_prepared(writes, o),
        }
    }

    /// Applies a batch of due transitions (distinct resources) in one durable commit; if
    /// any conditional write conflicts, falls back to one commit per transition.
    fn apply_batch(&self, batch: &[(Key, f64)]) -> Vec<Result<Outcome, StoreError>> {
        if batch.len() == 1 {
            return vec![self.apply(&batch[0].0, batch[0].1)];
        }
        let _w = self.write.lock();
        let mut results: Vec<Option<Result<Outcome, StoreError>>> = Vec::with_capacity(batch.len());
        let mut writes = Vec::new();
        let mut staged = Vec::new();
        for (i, (key, now)) in batch.iter().enumerate() {
            match self.prepare(key, *now) {
                Ok(Prepared::Skip(o)) => results.push(Some(Ok(o))),
                Ok(Prepared::Write(w, o)) => {
                    results.push(None);
                    staged.push((i, w.len(), o));
                    writes.extend(w);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !staged.is_empty() {
            let all = writes.clone();
            match self.store.commit(all) {
                Ok(()) => {
                    for (i, _, o) in &staged {
                        results[*i] = Some(Ok(*o));
                    }
                }
                Err(StoreError::Conflict(_)) => {
                    // Someone's write won somewhere in the batch: commit each on its own.
                    let mut rest = writes.into_iter();
                    for (i, n, o) in staged {
                        let w: Vec<Write> = rest.by_ref().take(n).collect();
                        results[i] = Some(self.commit_prepared(w, o));
                    }
                }
                Err(e) => {
                    for (i, _, _) in &staged {
                        results[*i] = Some(Err(StoreError::Backend(e.to_string())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Ok(Outcome::Done(None))))
            .collect()
    }
}

impl Service {
    /// Dispatches a due transition to the family owning the resource kind.
    fn apply_family(&self, scope: &Scope, t: &PendingTransition, now: f64) -> Result<Applied, StoreError> {
        use TransitionKind as K;
        match t.kind {
            K::DsCreate | K::DsDelete => super::ds::apply_transition(self, scope, t, now),
            K::DirectoryRegister | K::DirectoryDeregister | K::DirectoryRemove => {
                super::directories::apply_transition(self, scope, t, now)
            }
            K::WorkspaceCreate
            | K::WorkspaceStart
            | K::WorkspaceStop
            | K::WorkspaceReboot
            | K::WorkspaceRebuild
            | K::WorkspaceRestore
            | K::WorkspaceUpdate
            | K::WorkspaceTerminate
            | K::WorkspaceRemove
            | K::WorkspaceAutoStop => super::workspaces::apply_transition(self, scope, t, now),
            K::WorkspaceMigrate => super::snapshots::apply_transition(self, scope, t, now),
            K::AccountModify => super::account::apply_transition(self, scope, t, now),
            K::PoolCreate
            | K::PoolStart
            | K::PoolStop
            | K::PoolUpdate
            | K::PoolTerminate
            | K::PoolSessionTerminate => super::pools::apply_transition(self, scope, t, now),
            K::AppDeploy => super::applications::apply_transition(self, scope, t, now),
            K::ImageCreate | K::ImageCopy | K::ImageImport | K::ImageUpdate | K::ImageCustomImport => {
                super::images::apply_transition(self, scope, t, now)
            }
            K::AliasCreate | K::AliasDelete | K::AliasAssociate | K::AliasDisassociate => {
                super::connection_aliases::apply_transition(self, scope, t, now)
            }
        }
    }
}
