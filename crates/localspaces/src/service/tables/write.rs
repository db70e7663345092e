//! The one write path. Every change goes through [`Service::write`]: it takes the write lock,
//! runs the request's read-check-write closure on a [`Tx`], commits the writes the closure
//! staged (atomically, with their conditions), and only after the commit hands the staged
//! pending transitions to the engine (Garage's `on_commit`). A closure that fails writes
//! nothing. Nothing else in the service commits to the store or takes the lock.

use super::errors::{Conflict, Fault};
use super::records::{encode, Resource};
use super::Service;
use crate::engine::{transition_key, Outcome, PendingTransition, TransitionKind};
use localspaces_api::workspaces as ws;
use localspaces_store::{Expect, Key, Put, Scope, StoreError, Write};

/// The writes and pending transitions of one read-check-write sequence, staged until the
/// closure returns.
pub(crate) struct Tx<'a> {
    svc: &'a Service,
    writes: Vec<Write>,
    pending: Vec<(Scope, PendingTransition)>,
}

impl Tx<'_> {
    /// Stages a put of `rec` under the given condition.
    pub fn put<R: Resource>(&mut self, scope: &Scope, rec: &R, expect: Expect) -> Result<(), Fault> {
        self.writes.push(Write::Put(Put {
            key: Service::key::<R>(scope, rec.id()),
            body: encode(rec)?,
            indexes: rec.indexes(),
            unique: R::unique(),
            expect,
        }));
        Ok(())
    }

    /// Stages the deletion of record `id` at revision `rev`.
    pub fn delete<R: Resource>(&mut self, scope: &Scope, id: &str, rev: u64) {
        self.writes.push(Write::Delete {
            key: Service::key::<R>(scope, id),
            expect: Expect::Rev(rev),
        });
    }

    /// Stages the deletion of record `id` whatever its revision (and if it exists).
    pub fn delete_any<R: Resource>(&mut self, scope: &Scope, id: &str) {
        self.writes.push(Write::Delete {
            key: Service::key::<R>(scope, id),
            expect: Expect::Any,
        });
    }

    /// Stages a raw write (records that are not [`Resource`]s).
    pub fn push(&mut self, w: Write) {
        self.writes.push(w);
    }

    /// Hands a pending transition whose record is already staged (an import) to the engine
    /// after the commit.
    pub fn resume(&mut self, scope: Scope, t: PendingTransition) {
        self.pending.push((scope, t));
    }

    /// Commits what is staged so far, still under the write lock (an import whose later
    /// writes need the creation order of its first ones). Later writes commit at the end.
    pub fn commit_now(&mut self) -> Result<(), StoreError> {
        if self.writes.is_empty() {
            return Ok(());
        }
        self.svc.store.commit(std::mem::take(&mut self.writes))
    }

    /// Stages a pending transition of `kind` for a resource, due after the configured
    /// duration; commit it with the resource's transitional state.
    pub fn transition(
        &mut self,
        scope: &Scope,
        kind: TransitionKind,
        resource_kind: &str,
        resource_id: &str,
    ) -> Result<(), Fault> {
        let due = self.svc.clock.now() + self.svc.engine.timing().duration(kind);
        self.transition_at(scope, kind, resource_kind, resource_id, due)
    }

    /// Like [`Tx::transition`] with an explicit due time.
    pub fn transition_at(
        &mut self,
        scope: &Scope,
        kind: TransitionKind,
        resource_kind: &str,
        resource_id: &str,
        due: f64,
    ) -> Result<(), Fault> {
        let t = PendingTransition {
            kind,
            due,
            resource_kind: resource_kind.to_string(),
            resource_id: resource_id.to_string(),
        };
        self.writes.push(transition_put(scope, &t, Expect::Any)?);
        self.pending.push((scope.clone(), t));
        Ok(())
    }

    /// Stages the cancellation of a resource's pending transition (if any).
    pub fn cancel_transition(&mut self, scope: &Scope, resource_kind: &str, resource_id: &str) {
        self.writes.push(Write::Delete {
            key: transition_key(scope, resource_kind, resource_id),
            expect: Expect::Any,
        });
    }
}

/// The write that stores pending transition `t` under its resource's key.
pub(crate) fn transition_put(scope: &Scope, t: &PendingTransition, expect: Expect) -> Result<Write, Fault> {
    let body = serde_json::to_vec(t).map_err(|e| Fault(StoreError::Corrupt(e.to_string())))?;
    Ok(Write::Put(Put {
        key: t.key(scope),
        body,
        indexes: Vec::new(),
        unique: Vec::new(),
        expect,
    }))
}

/// What a lost race answers: a fixed [`Conflict`], or one decided once the race is lost
/// (e.g. a quota or a unique name, whichever the other request took).
pub(crate) trait OnConflict {
    fn conflict(self) -> Conflict;
}

impl OnConflict for Conflict {
    fn conflict(self) -> Conflict {
        self
    }
}

impl<F: FnOnce() -> Conflict> OnConflict for F {
    fn conflict(self) -> Conflict {
        self()
    }
}

/// How long [`Service::write_retrying`] keeps redoing a write that lost races before it
/// answers the conflict: a record written hot from several replicas still settles.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(2);
/// The longest pause between two attempts of [`Service::write_retrying`].
const RETRY_PAUSE_MAX: std::time::Duration = std::time::Duration::from_millis(20);

impl Service {
    /// Runs `f` under the write lock, then commits what it staged; a failed condition is
    /// `conflict`. Pending transitions reach the engine after the commit, with the lock
    /// released: those already due (the `instant` profile) are applied before this
    /// returns, so the caller's next request sees their end state.
    pub(crate) fn write<T>(
        &self,
        conflict: impl OnConflict,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, ws::Error>,
    ) -> Result<T, ws::Error> {
        self.write_as(conflict, f)
    }

    /// Runs `f` under the write lock, writing nothing: a look at records and transitions that
    /// must not interleave with a commit (the desktop seam's kickoff must not restart work
    /// that a due transition's gate has just seen finish). `f` must not write.
    pub(crate) fn locked<T>(&self, f: impl FnOnce() -> T) -> T {
        let _lock = self.write.lock();
        f()
    }

    /// [`Service::write`] for another API's errors (Directory Service).
    pub(crate) fn write_as<T, E>(
        &self,
        conflict: impl OnConflict,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<Fault> + From<Conflict>,
    {
        let (out, pending) = {
            let _lock = self.write.lock();
            let mut tx = Tx {
                svc: self,
                writes: Vec::new(),
                pending: Vec::new(),
            };
            let out = f(&mut tx)?;
            if !tx.writes.is_empty() {
                match self.store.commit(tx.writes) {
                    Ok(()) => {}
                    Err(StoreError::Conflict(_)) => return Err(conflict.conflict().into()),
                    Err(e) => return Err(Fault(e).into()),
                }
            }
            (out, tx.pending)
        };
        if !pending.is_empty() {
            let keys = pending
                .into_iter()
                .map(|(scope, t)| (t.key(&scope), t.due))
                .collect();
            self.engine.scheduled(self, keys);
        }
        Ok(out)
    }

    /// [`Service::write`] for a read-modify-write that is simply redone when another process
    /// (a replica on the same store) won the race between its read and its commit: `f` runs
    /// again on the new state, with growing jittered pauses, for up to [`RETRY_FOR`] before the
    /// lost race is answered.
    pub(crate) fn write_retrying<T>(
        &self,
        conflict: Conflict,
        mut f: impl FnMut(&mut Tx<'_>) -> Result<T, ws::Error>,
    ) -> Result<T, ws::Error> {
        use rand::Rng;
        let deadline = std::time::Instant::now() + RETRY_FOR;
        let mut pause = std::time::Duration::from_micros(100);
        while std::time::Instant::now() < deadline {
            let mut lost = false;
            let lost_flag = &mut lost;
            let out = self.write_as(
                || {
                    *lost_flag = true;
                    conflict.clone()
                },
                &mut f,
            );
            if !lost {
                return out;
            }
            // Let the winner's commit through before reading again; a random share of a
            // doubling pause keeps two losers from meeting again in step.
            let jittered = pause.mul_f64(rand::thread_rng().gen_range(0.5..1.5));
            std::thread::sleep(jittered);
            pause = (pause * 2).min(RETRY_PAUSE_MAX);
        }
        self.write(conflict, f)
    }

    /// Runs `f` with every writer of this process held off (a consistent export).
    pub(crate) fn exclusive<T>(&self, f: impl FnOnce() -> T) -> T {
        let _lock = self.write.lock();
        f()
    }

    /// Applies due transitions under the write lock: `prepare` stages each entry's writes on
    /// its own [`Tx`] (reading the store under the lock) and says what to tell the engine.
    /// They are committed together, or each on its own when one entry's condition fails (the
    /// others still apply); a lost race leaves that entry to the newer request
    /// ([`Outcome::Done`] with no follow-up). Transitions staged for other resources reach
    /// the engine after the commit.
    pub(crate) fn write_transitions(
        &self,
        n: usize,
        mut prepare: impl FnMut(&mut Tx<'_>, usize) -> Result<Outcome, StoreError>,
    ) -> Vec<Result<Outcome, StoreError>> {
        type Staged = (usize, Vec<Write>, Vec<(Scope, PendingTransition)>, Outcome);
        let mut results: Vec<Option<Result<Outcome, StoreError>>> = Vec::with_capacity(n);
        let mut scheduled: Vec<(Scope, PendingTransition)> = Vec::new();
        {
            let _lock = self.write.lock();
            let mut staged: Vec<Staged> = Vec::new();
            for i in 0..n {
                let mut tx = Tx {
                    svc: self,
                    writes: Vec::new(),
                    pending: Vec::new(),
                };
                match prepare(&mut tx, i) {
                    Ok(o) if tx.writes.is_empty() => results.push(Some(Ok(o))),
                    Ok(o) => {
                        results.push(None);
                        staged.push((i, tx.writes, tx.pending, o));
                    }
                    Err(e) => results.push(Some(Err(e))),
                }
            }
            let commit_one = |writes: Vec<Write>| match self.store.commit(writes) {
                Ok(()) => Ok(true),
                Err(StoreError::Conflict(_)) => Ok(false),
                Err(e) => Err(e),
            };
            let all: Vec<Write> = staged.iter().flat_map(|(_, w, _, _)| w.iter().cloned()).collect();
            match if all.is_empty() { Ok(true) } else { commit_one(all) } {
                Ok(true) => {
                    for (i, _, pending, o) in staged {
                        results[i] = Some(Ok(o));
                        scheduled.extend(pending);
                    }
                }
                Ok(false) if staged.len() > 1 => {
                    for (i, w, pending, o) in staged {
                        results[i] = Some(match commit_one(w) {
                            Ok(true) => {
                                scheduled.extend(pending);
                                Ok(o)
                            }
                            Ok(false) => Ok(Outcome::Done(None)),
                            Err(e) => Err(e),
                        });
                    }
                }
                Ok(false) => {
                    for (i, _, _, _) in staged {
                        results[i] = Some(Ok(Outcome::Done(None)));
                    }
                }
                Err(e) => {
                    for (i, _, _, _) in staged {
                        results[i] = Some(Err(StoreError::Backend(e.to_string())));
                    }
                }
            }
        }
        for (scope, t) in scheduled {
            self.engine.schedule(t.key(&scope), t.due);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Ok(Outcome::Done(None))))
            .collect()
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
