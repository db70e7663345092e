//! The service side of the lifecycle engine: applying a due transition, dispatched to the
//! family that owns the resource kind, through the one write path.

use super::tables::write::transition_put;
use super::tables::{Fault, Service, Tx};
use super::{account, applications, connection_aliases, directories, ds, images, pools, workspaces};
use crate::engine::{Applier, Outcome, PendingTransition, TransitionKind, TRANSITION_KIND};
use localspaces_store::{Expect, Key, Scope, StoreError};
use std::time::Duration;

/// How long a replica's claim on a due transition holds: after it, a replica that died
/// while applying is replaced by another.
pub const CLAIM_LEASE: Duration = Duration::from_secs(5);

impl Service {
    /// Reads one pending transition and stages its writes (the write lock is held).
    fn prepare(&self, tx: &mut Tx<'_>, key: &Key, now: f64) -> Result<Outcome, StoreError> {
        if key.kind != TRANSITION_KIND {
            return Ok(Outcome::Done(None));
        }
        let Some((t, rev)) = self.load_transition(key)? else {
            return Ok(Outcome::Done(None));
        };
        if t.kind == TransitionKind::WorkspaceAutoStop && t.due > self.clock.now() + 0.0005 {
            // Timers fire on the clock only, never by a settle.
            return Ok(Outcome::NotYet(t.due));
        }
        if t.due > now + 0.0005 {
            // Rescheduled meanwhile; the engine holds the newer entry.
            return Ok(Outcome::Done(None));
        }
        // A WorkSpace's transitions drive its desktop: only the replica that owns it applies
        // them (the others do not queue them again, see `Service::queues_here`).
        if !workspaces::applies_here(self, &key.scope, &t) {
            return Ok(Outcome::Done(None));
        }
        // Several replicas queue every due transition: the one that claims this revision
        // applies it; the others drop their entry (and queue it again, from the store, if
        // it is still pending after the claimant's lease: the claimant died).
        if !self.store.claim(key, rev, CLAIM_LEASE)? {
            return Ok(Outcome::Done(None));
        }
        let next = self.apply_family(tx, &key.scope, &t, now)?;
        // The transition record is replaced by its follow-up, or deleted, in the same commit.
        match &next {
            Some(next) => tx.push(transition_put(&key.scope, next, Expect::Rev(rev))?),
            None => tx.push(localspaces_store::Write::Delete {
                key: key.clone(),
                expect: Expect::Rev(rev),
            }),
        }
        Ok(Outcome::Done(next.map(|n| n.due)))
    }

    /// Dispatches a due transition to the family owning the resource kind; returns the
    /// follow-up transition of the same resource, if any.
    fn apply_family(
        &self,
        tx: &mut Tx<'_>,
        scope: &Scope,
        t: &PendingTransition,
        now: f64,
    ) -> Result<Option<PendingTransition>, Fault> {
        use TransitionKind as K;
        match t.kind {
            K::DsCreate | K::DsDelete => ds::apply_transition(self, tx, scope, t, now),
            K::DirectoryRegister | K::DirectoryDeregister | K::DirectoryRemove => {
                directories::apply_transition(self, tx, scope, t, now)
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
            | K::WorkspaceAutoStop => workspaces::apply_transition(self, tx, scope, t, now),
            K::WorkspaceMigrate => workspaces::apply_migration(self, tx, scope, t, now),
            K::AccountModify => account::apply_transition(self, tx, scope, t, now),
            K::PoolCreate
            | K::PoolStart
            | K::PoolStop
            | K::PoolUpdate
            | K::PoolTerminate
            | K::PoolSessionTerminate => pools::apply_transition(self, tx, scope, t, now),
            K::AppDeploy => applications::apply_transition(self, tx, scope, t, now),
            K::ImageCreate | K::ImageCopy | K::ImageImport | K::ImageUpdate | K::ImageCustomImport => {
                images::apply_transition(self, tx, scope, t, now)
            }
            K::AliasCreate | K::AliasDelete | K::AliasAssociate | K::AliasDisassociate => {
                connection_aliases::apply_transition(self, tx, scope, t, now)
            }
        }
    }
}

impl Service {
    /// Whether this replica queues the stored transition `t` of `key`'s scope (several
    /// replicas): not those of WorkSpaces whose desktop another replica owns.
    pub fn queues_here(&self, key: &Key, t: &PendingTransition) -> bool {
        workspaces::applies_here(self, &key.scope, t)
    }
}

impl Applier for Service {
    fn apply(&self, key: &Key, now: f64) -> Result<Outcome, StoreError> {
        self.apply_batch(&[(key.clone(), now)])
            .pop()
            .unwrap_or(Ok(Outcome::Done(None)))
    }

    /// Applies a batch of due transitions (distinct resources) in one durable commit; if
    /// any conditional write conflicts, each is committed on its own.
    fn apply_batch(&self, batch: &[(Key, f64)]) -> Vec<Result<Outcome, StoreError>> {
        // Read what other replicas committed (a store shared with them caches reads).
        if let Err(e) = self.store.fence_blocking() {
            let e = e.to_string();
            return batch
                .iter()
                .map(|_| Err(StoreError::Unavailable(e.clone())))
                .collect();
        }
        self.write_transitions(batch.len(), |tx, i| {
            let (key, now) = &batch[i];
            self.prepare(tx, key, *now)
        })
    }

    fn due_at(&self, key: &Key) -> Option<f64> {
        match self.load_transition(key) {
            Ok(Some((t, _))) if t.kind != TransitionKind::WorkspaceAutoStop => Some(t.due),
            _ => None,
        }
    }
}
