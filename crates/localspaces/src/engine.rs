//! The lifecycle engine: one task owns every timed transition.
//!
//! A handler that starts a transition (CreateWorkspaces → PENDING, StopWorkspaces →
//! STOPPING, …) writes the transitional state *and* a pending-transition record in one
//! commit, then tells the engine when it is due. The engine keeps a due-time queue, sleeps
//! until the earliest entry (or until woken by an earlier one), and applies due transitions
//! through an [`Applier`] (the service), which re-reads the resource, checks the transition
//! still stands, writes the next state and deletes (or replaces) the pending record
//! atomically. Pending records live in the store, so a restart continues them.
//!
//! Time comes only from the [`Clock`]; tests use a manual clock and call [`Engine::run_due`]
//! or [`Engine::settle`], so no test sleeps.

use crate::clock::Clock;
use localspaces_store::{Key, Store, StoreError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Store kind of pending-transition records.
pub const TRANSITION_KIND: &str = "transition";

/// A kind of timed transition; durations are configured per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// Directory Service: Requested/Creating → Active.
    DsCreate,
    /// Directory Service: Deleting → gone.
    DsDelete,
    /// WorkSpaces directory: REGISTERING → REGISTERED.
    DirectoryRegister,
    /// WorkSpaces directory: DEREGISTERING → DEREGISTERED.
    DirectoryDeregister,
    /// WorkSpaces directory: DEREGISTERED (shown briefly) → gone.
    DirectoryRemove,
    /// WorkSpace: PENDING → AVAILABLE.
    WorkspaceCreate,
    /// WorkSpace: STARTING → AVAILABLE.
    WorkspaceStart,
    /// WorkSpace: STOPPING → STOPPED.
    WorkspaceStop,
    /// WorkSpace: REBOOTING → AVAILABLE.
    WorkspaceReboot,
    /// WorkSpace: REBUILDING → AVAILABLE.
    WorkspaceRebuild,
    /// WorkSpace: RESTORING → AVAILABLE.
    WorkspaceRestore,
    /// WorkSpace: UPDATING → previous state.
    WorkspaceUpdate,
    /// WorkSpace: TERMINATING → TERMINATED.
    WorkspaceTerminate,
    /// WorkSpace: TERMINATED → gone.
    WorkspaceRemove,
    /// WorkSpace: AUTO_STOP timeout without a connection → STOPPING.
    WorkspaceAutoStop,
    /// Migration: the new WorkSpace PENDING → AVAILABLE, its source TERMINATING → TERMINATED.
    WorkspaceMigrate,
    /// Connection alias: CREATING → CREATED.
    AliasCreate,
    /// Connection alias: DELETING → gone.
    AliasDelete,
    /// Connection alias association: PENDING_ASSOCIATION → ASSOCIATED_WITH_*.
    AliasAssociate,
    /// Connection alias association: PENDING_DISASSOCIATION → gone.
    AliasDisassociate,
    /// BYOL account modification: PENDING → COMPLETED.
    AccountModify,
    /// WorkSpaces Pool: CREATING → STOPPED.
    PoolCreate,
    /// WorkSpaces Pool: STARTING → RUNNING.
    PoolStart,
    /// WorkSpaces Pool: STOPPING → STOPPED.
    PoolStop,
    /// WorkSpaces Pool: UPDATING → the state before.
    PoolUpdate,
    /// WorkSpaces Pool: (STOPPING →) DELETING → gone.
    PoolTerminate,
    /// WorkSpaces Pool session: ending → gone.
    PoolSessionTerminate,
    /// Application deployment on a WorkSpace, per step: PENDING_* → *ING → COMPLETED/REMOVED.
    AppDeploy,
    /// Image captured from a WorkSpace: PENDING → AVAILABLE (the WorkSpace SUSPENDED → AVAILABLE).
    ImageCreate,
    /// Image copied from another Region: PENDING → AVAILABLE.
    ImageCopy,
    /// BYOL image imported from an AMI: PENDING → AVAILABLE.
    ImageImport,
    /// Image with the latest updates: PENDING → AVAILABLE.
    ImageUpdate,
    /// Custom (Image Builder) import, per step: PENDING → IN_PROGRESS → COMPLETED.
    ImageCustomImport,
}

impl TransitionKind {
    /// Every kind, for configuration listings.
    pub const ALL: &'static [TransitionKind] = &[
        TransitionKind::DsCreate,
        TransitionKind::DsDelete,
        TransitionKind::DirectoryRegister,
        TransitionKind::DirectoryDeregister,
        TransitionKind::DirectoryRemove,
        TransitionKind::WorkspaceCreate,
        TransitionKind::WorkspaceStart,
        TransitionKind::WorkspaceStop,
        TransitionKind::WorkspaceReboot,
        TransitionKind::WorkspaceRebuild,
        TransitionKind::WorkspaceRestore,
        TransitionKind::WorkspaceUpdate,
        TransitionKind::WorkspaceTerminate,
        TransitionKind::WorkspaceRemove,
        TransitionKind::WorkspaceAutoStop,
        TransitionKind::WorkspaceMigrate,
        TransitionKind::AliasCreate,
        TransitionKind::AliasDelete,
        TransitionKind::AliasAssociate,
        TransitionKind::AliasDisassociate,
        TransitionKind::AccountModify,
        TransitionKind::PoolCreate,
        TransitionKind::PoolStart,
        TransitionKind::PoolStop,
        TransitionKind::PoolUpdate,
        TransitionKind::PoolTerminate,
        TransitionKind::PoolSessionTerminate,
        TransitionKind::AppDeploy,
        TransitionKind::ImageCreate,
        TransitionKind::ImageCopy,
        TransitionKind::ImageImport,
        TransitionKind::ImageUpdate,
        TransitionKind::ImageCustomImport,
    ];

    /// Configuration name (`workspace_create`, …).
    pub fn name(self) -> &'static str {
        match self {
            TransitionKind::DsCreate => "ds_create",
            TransitionKind::DsDelete => "ds_delete",
            TransitionKind::DirectoryRegister => "directory_register",
            TransitionKind::DirectoryDeregister => "directory_deregister",
            TransitionKind::DirectoryRemove => "directory_remove",
            TransitionKind::WorkspaceCreate => "workspace_create",
            TransitionKind::WorkspaceStart => "workspace_start",
            TransitionKind::WorkspaceStop => "workspace_stop",
            TransitionKind::WorkspaceReboot => "workspace_reboot",
            TransitionKind::WorkspaceRebuild => "workspace_rebuild",
            TransitionKind::WorkspaceRestore => "workspace_restore",
            TransitionKind::WorkspaceUpdate => "workspace_update",
            TransitionKind::WorkspaceTerminate => "workspace_terminate",
            TransitionKind::WorkspaceRemove => "workspace_remove",
            TransitionKind::WorkspaceAutoStop => "workspace_auto_stop",
            TransitionKind::WorkspaceMigrate => "workspace_migrate",
            TransitionKind::AliasCreate => "alias_create",
            TransitionKind::AliasDelete => "alias_delete",
            TransitionKind::AliasAssociate => "alias_associate",
            TransitionKind::AliasDisassociate => "alias_disassociate",
            TransitionKind::AccountModify => "account_modify",
            TransitionKind::PoolCreate => "pool_create",
            TransitionKind::PoolStart => "pool_start",
            TransitionKind::PoolStop => "pool_stop",
            TransitionKind::PoolUpdate => "pool_update",
            TransitionKind::PoolTerminate => "pool_terminate",
            TransitionKind::PoolSessionTerminate => "pool_session_terminate",
            TransitionKind::AppDeploy => "app_deploy",
            TransitionKind::ImageCreate => "image_create",
            TransitionKind::ImageCopy => "image_copy",
            TransitionKind::ImageImport => "image_import",
            TransitionKind::ImageUpdate => "image_update",
            TransitionKind::ImageCustomImport => "image_custom_import",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == s)
    }
}

/// How long each transition takes, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    durations: BTreeMap<TransitionKind, f64>,
}

impl Timing {
    /// A named profile: `instant`, `fast` (default) or `realistic`.
    pub fn profile(name: &str) -> Result<Timing, String> {
        let d = |k: TransitionKind| -> f64 {
            match name {
                // Auto-stop waits for each WorkSpace's own timeout unless overridden (NaN).
                _ if k == TransitionKind::WorkspaceAutoStop => f64::NAN,
                "instant" => 0.0,
                "fast" => match k {
                    TransitionKind::WorkspaceRemove | TransitionKind::DirectoryRemove => 2.0,
                    _ => 1.0,
                },
                _ => match k {
                    TransitionKind::DsCreate => 600.0,
                    TransitionKind::DsDelete => 300.0,
                    TransitionKind::DirectoryRegister => 120.0,
                    TransitionKind::DirectoryDeregister => 60.0,
                    TransitionKind::DirectoryRemove => 60.0,
                    TransitionKind::WorkspaceCreate => 1200.0,
                    TransitionKind::WorkspaceStart => 90.0,
                    TransitionKind::WorkspaceStop => 90.0,
                    TransitionKind::WorkspaceReboot => 120.0,
                    TransitionKind::WorkspaceRebuild => 1200.0,
                    TransitionKind::WorkspaceRestore => 900.0,
                    TransitionKind::WorkspaceUpdate => 300.0,
                    TransitionKind::WorkspaceTerminate => 300.0,
                    TransitionKind::WorkspaceRemove => 60.0,
                    TransitionKind::WorkspaceAutoStop => f64::NAN,
                    TransitionKind::WorkspaceMigrate => 1200.0,
                    TransitionKind::AliasCreate | TransitionKind::AliasDelete => 30.0,
                    TransitionKind::AliasAssociate | TransitionKind::AliasDisassociate => 60.0,
                    TransitionKind::AccountModify => 600.0,
                    TransitionKind::PoolCreate => 300.0,
                    TransitionKind::PoolStart => 600.0,
                    TransitionKind::PoolStop => 300.0,
                    TransitionKind::PoolUpdate => 600.0,
                    TransitionKind::PoolTerminate => 300.0,
                    TransitionKind::PoolSessionTerminate => 30.0,
                    TransitionKind::AppDeploy => 300.0,
                    TransitionKind::ImageCreate => 2700.0,
                    TransitionKind::ImageCopy => 1800.0,
                    TransitionKind::ImageImport | TransitionKind::ImageUpdate => 3600.0,
                    TransitionKind::ImageCustomImport => 1800.0,
                },
            }
        };
        if !matches!(name, "instant" | "fast" | "realistic") {
            return Err(format!(
                "unknown timing profile '{name}' (instant, fast, realistic)"
            ));
        }
        Ok(Timing {
            durations: TransitionKind::ALL.iter().map(|&k| (k, d(k))).collect(),
        })
    }

    /// A profile with `kind=seconds` overrides, e.g. `fast,workspace_create=5`.
    pub fn parse(spec: &str) -> Result<Timing, String> {
        let mut parts = spec.split(',').map(str::trim).filter(|p| !p.is_empty());
        let first = parts.next().unwrap_or("fast");
        let (mut t, rest): (Timing, Vec<&str>) = if first.contains('=') {
            (
                Timing::profile("fast")?,
                std::iter::once(first).chain(parts).collect(),
            )
        } else {
            (Timing::profile(first)?, parts.collect())
        };
        for o in rest {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| format!("timing override '{o}' is not kind=seconds"))?;
            let kind = TransitionKind::from_name(k.trim())
                .ok_or_else(|| format!("unknown transition kind '{k}'"))?;
            let secs: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("timing override '{o}': not a number"))?;
            if !(secs.is_finite() && secs >= 0.0) {
                return Err(format!(
                    "timing override '{o}': must be a non-negative number of seconds"
                ));
            }
            t.durations.insert(kind, secs);
        }
        Ok(t)
    }

    /// Seconds a transition of `kind` takes (NaN for auto-stop without an override: the
    /// WorkSpace's own timeout applies).
    pub fn duration(&self, kind: TransitionKind) -> f64 {
        self.durations.get(&kind).copied().unwrap_or(1.0)
    }
}

/// A stored pending transition (body of a `transition` record whose id is
/// `<resource kind>/<resource id>`: at most one pending transition per resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingTransition {
    pub kind: TransitionKind,
    /// Epoch seconds when it is due.
    pub due: f64,
    pub resource_kind: String,
    pub resource_id: String,
}

impl PendingTransition {
    /// The store key of this pending transition in `scope`.
    pub fn key(&self, scope: &localspaces_store::Scope) -> Key {
        transition_key(scope, &self.resource_kind, &self.resource_id)
    }
}

/// The store key of the pending transition of one resource.
pub fn transition_key(scope: &localspaces_store::Scope, resource_kind: &str, resource_id: &str) -> Key {
    Key {
        scope: scope.clone(),
        kind: TRANSITION_KIND.to_string(),
        id: format!("{resource_kind}/{resource_id}"),
    }
}

/// What applying a queued entry did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Applied (or found stale); a follow-up is due at the given time, if any.
    Done(Option<f64>),
    /// A timer (e.g. auto-stop) that only the clock may fire, not a settle: keep it queued.
    NotYet(f64),
}

/// Applies due transitions; implemented by the service.
pub trait Applier: Send + Sync + 'static {
    /// Applies the pending transition stored under `key` if it is still there and due at
    /// `now`.
    fn apply(&self, key: &Key, now: f64) -> Result<Outcome, StoreError>;

    /// Applies several due transitions of distinct resources, each at its own time; one
    /// result per entry, in order. The default applies them one by one; a store-backed
    /// applier commits them together (one durable commit instead of one each).
    fn apply_batch(&self, batch: &[(Key, f64)]) -> Vec<Result<Outcome, StoreError>> {
        batch.iter().map(|(k, now)| self.apply(k, *now)).collect()
    }

    /// The due time of the transition stored under `key`, unless it is a timer that only the
    /// clock fires (auto-stop) or there is none.
    fn due_at(&self, key: &Key) -> Option<f64>;
}

/// Most transitions applied in one batch (one commit).
const BATCH: usize = 256;

/// The engine's queue and wake-up; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Mutex<BinaryHeap<Reverse<(Millis, Key)>>>,
    notify: Notify,
    clock: Arc<dyn Clock>,
    timing: Timing,
    /// The store other replicas write transitions to, when this is one of several
    /// (see [`Engine::share`]).
    shared: Mutex<Option<Arc<dyn Store>>>,
}

/// Due times in whole milliseconds (total order for the heap).
type Millis = i64;

fn millis(secs: f64) -> Millis {
    (secs * 1000.0).round() as Millis
}

impl Engine {
    /// An engine reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>, timing: Timing) -> Self {
        Engine {
            inner: Arc::new(Inner {
                queue: Mutex::new(BinaryHeap::new()),
                notify: Notify::new(),
                clock,
                timing,
                shared: Mutex::new(None),
            }),
        }
    }

    /// The configured durations.
    pub fn timing(&self) -> &Timing {
        &self.inner.timing
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Loads every stored pending transition (start-up).
    pub fn recover(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let recs = store.scan_all_scopes(TRANSITION_KIND)?;
        let mut n = 0;
        let mut q = self.inner.queue.lock();
        for r in recs {
            // One undecodable record is set aside (logged, left in the store untouched)
            // rather than keeping the whole service from starting.
            match serde_json::from_slice::<PendingTransition>(&r.body) {
                Ok(t) => {
                    q.push(Reverse((millis(t.due), r.key)));
                    n += 1;
                }
                Err(e) => tracing::error!(
                    account = %r.key.scope.account,
                    region = %r.key.scope.region,
                    id = %r.key.id,
                    error = %e,
                    "quarantined an undecodable pending transition: skipped, the rest is served"
                ),
            }
        }
        drop(q);
        self.inner.notify.notify_one();
        Ok(n)
    }

    // --- Several replicas on one store -------------------------------------------------

    /// Marks this engine as one of several on `store`: [`Engine::settle`] then first queues
    /// the transitions other replicas stored (see [`Engine::adopt`]).
    pub fn share(&self, store: Arc<dyn Store>) {
        *self.inner.shared.lock() = Some(store);
    }

    /// Queues every stored pending transition this engine does not hold yet (another
    /// replica's, or a dead replica's), `delay` seconds after its due time. Several replicas
    /// may then try one transition: the applier claims it first (one claimant at a time),
    /// and the first commit deletes or replaces the transition record at its revision, so
    /// any other replica's commit conflicts and is dropped. Returns how many entries were
    /// added.
    pub fn adopt(&self, store: &dyn Store, delay: f64) -> Result<usize, StoreError> {
        self.adopt_where(store, delay, &|_, _| true)
    }

    /// [`Engine::adopt`], queueing only the transitions `keep` accepts.
    pub fn adopt_where(
        &self,
        store: &dyn Store,
        delay: f64,
        keep: &dyn Fn(&Key, &PendingTransition) -> bool,
    ) -> Result<usize, StoreError> {
        let recs = store.scan_all_scopes(TRANSITION_KIND)?;
        let held = |q: &BinaryHeap<Reverse<(Millis, Key)>>| -> std::collections::HashSet<Key> {
            q.iter().map(|Reverse((_, k))| k.clone()).collect()
        };
        let before = held(&self.inner.queue.lock());
        let mut new = Vec::new();
        for r in recs {
            if before.contains(&r.key) {
                continue;
            }
            let t: PendingTransition = serde_json::from_slice(&r.body)
                .map_err(|e| StoreError::Corrupt(format!("transition: {e}")))?;
            // `keep` may read the store: not under the queue's lock.
            if !keep(&r.key, &t) {
                continue;
            }
            new.push(Reverse((millis(t.due + delay), r.key)));
        }
        let mut q = self.inner.queue.lock();
        let now_held = held(&q);
        new.retain(|Reverse((_, k))| !now_held.contains(k));
        let n = new.len();
        q.extend(new);
        drop(q);
        if n > 0 {
            self.inner.notify.notify_one();
        }
        Ok(n)
    }

    /// Wakes the engine task to recompute its next due time (the clock moved).
    pub fn wake(&self) {
        self.inner.notify.notify_one();
    }

    // ----------------------------------------------------------------------------------

    /// Tells the engine that the transition under `key` is due at `due` (call after commit).
    pub fn schedule(&self, key: Key, due: f64) {
        self.inner.queue.lock().push(Reverse((millis(due), key)));
        self.inner.notify.notify_one();
    }

    /// Queues transitions just committed (`(key, due)`), and applies those already due —
    /// zero durations: the `instant` profile — follow-ups included, before returning, so the
    /// caller's next request sees the end state. Call with no lock held. The engine task may
    /// pop the same entries meanwhile: applying takes the service's write lock, so whoever
    /// applies first has committed before the other looks, and an entry found already moved
    /// on is re-read from the store (its follow-up may be due too).
    pub fn scheduled(&self, applier: &dyn Applier, entries: Vec<(Key, f64)>) {
        let now = self.inner.clock.now();
        let mut due: Vec<Key> = Vec::new();
        for (key, at) in entries {
            if at <= now {
                due.push(key.clone());
            }
            self.schedule(key, at);
        }
        // Bounded: a chain of zero-duration follow-ups ends (create → available, terminate
        // → terminated → removed); the bound only guards against a faulty family. Each
        // round reads the clock afresh.
        for _ in 0..8 {
            if due.is_empty() {
                break;
            }
            let now = self.inner.clock.now();
            let batch: Vec<(Key, f64)> = due.drain(..).map(|k| (k, now)).collect();
            let results = applier.apply_batch(&batch);
            for ((key, _), res) in batch.into_iter().zip(results) {
                match res {
                    Ok(Outcome::Done(Some(next))) => {
                        self.schedule(key.clone(), next);
                        if next <= self.inner.clock.now() {
                            due.push(key);
                        }
                    }
                    Ok(_) => {
                        if applier.due_at(&key).is_some_and(|d| d <= self.inner.clock.now()) {
                            due.push(key);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "applying a due transition failed"),
                }
            }
        }
    }

    /// Number of queued entries (including stale ones not yet popped).
    pub fn queued(&self) -> usize {
        self.inner.queue.lock().len()
    }

    /// Applies every transition due at the clock's now, including follow-ups that become
    /// due by then. Returns how many were applied.
    pub fn run_due(&self, applier: &dyn Applier) -> Result<usize, StoreError> {
        self.run_until(applier, None)
    }

    /// Applies every pending transition now, whatever its due time, until none is left
    /// (the admin "settle"). Follow-ups are settled too; timers such as auto-stop stay
    /// queued (they fire on the clock: see the admin "advance").
    pub fn settle(&self, applier: &dyn Applier) -> Result<usize, StoreError> {
        let shared = self.inner.shared.lock().clone();
        if let Some(store) = shared {
            self.adopt(store.as_ref(), 0.0)?;
        }
        self.run_until(applier, Some(f64::INFINITY))
    }

    fn run_until(&self, applier: &dyn Applier, horizon: Option<f64>) -> Result<usize, StoreError> {
        let mut applied = 0;
        let mut deferred = Vec::new();
        loop {
            let now = self.inner.clock.now();
            let limit = match horizon {
                Some(_) => millis(now + 86_400.0),
                None => millis(now),
            };
            // Pop a batch of due entries, one per resource (a stale duplicate waits for
            // the next round, when it is found stale).
            let mut batch: Vec<(Millis, Key)> = Vec::new();
            {
                let mut q = self.inner.queue.lock();
                let mut later = Vec::new();
                while batch.len() < BATCH {
                    match q.peek() {
                        Some(Reverse((due, _))) if *due <= limit => {}
                        _ => break,
                    }
                    let Some(Reverse(e)) = q.pop() else { break };
                    if batch.iter().any(|(_, k)| *k == e.1) {
                        later.push(Reverse(e));
                    } else {
                        batch.push(e);
                    }
                }
                q.extend(later);
            }
            if batch.is_empty() {
                break;
            }
            // When settling, a transition is applied "now" as if its time had come.
            let entries: Vec<(Key, f64)> = batch
                .iter()
                .map(|(due, key)| {
                    let at = if horizon.is_some() {
                        (*due as f64 / 1000.0).max(now)
                    } else {
                        now
                    };
                    (key.clone(), at)
                })
                .collect();
            let results = applier.apply_batch(&entries);
            for ((due, key), res) in batch.into_iter().zip(results) {
                match res {
                    Ok(Outcome::Done(Some(next_due))) => {
                        // Wakes the engine task too: this pass may run on a request's
                        // thread (the admin `advance`) while the task sleeps until later.
                        self.schedule(key, next_due);
                        applied += 1;
                    }
                    Ok(Outcome::Done(None)) => applied += 1,
                    Ok(Outcome::NotYet(due)) => deferred.push(Reverse((millis(due), key))),
                    Err(e) => {
                        tracing::error!(error = %e, id = %key.id, "transition failed; retrying later");
                        deferred.push(Reverse((due + 1000, key)));
                    }
                }
            }
        }
        if !deferred.is_empty() {
            self.inner.queue.lock().extend(deferred);
            self.inner.notify.notify_one();
        }
        Ok(applied)
    }

    /// The engine task: sleeps until the earliest due time (or a wake-up), applies what is
    /// due, forever. Spawn it once per server.
    pub async fn run(self, applier: Arc<dyn Applier>) {
        loop {
            let wait = {
                let q = self.inner.queue.lock();
                q.peek().map(|Reverse((due, _))| {
                    let ms = due - millis(self.inner.clock.now());
                    Duration::from_millis(ms.clamp(0, 3_600_000) as u64)
                })
            };
            match wait {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    tokio::select! {
                        () = tokio::time::sleep(d) => {}
                        () = self.inner.notify.notified() => continue,
                    }
                }
                None => {
                    self.inner.notify.notified().await;
                    continue;
                }
            }
            let engine = self.clone();
            let applier = Arc::clone(&applier);
            let res = tokio::task::spawn_blocking(move || engine.run_due(applier.as_ref())).await;
            if !matches!(res, Ok(Ok(_))) {
                tracing::error!("lifecycle engine pass failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_lists_every_transition_kind() {
        let readme = include_str!("../../../README.md");
        for k in TransitionKind::ALL {
            assert!(
                readme.contains(&format!("`{}`", k.name())),
                "README lacks `{}`",
                k.name()
            );
            assert!(Timing::profile("realistic").unwrap().duration(*k) != 0.0);
        }
    }

    /// Applies each entry once with a follow-up due `FOLLOW` seconds later, then the
    /// follow-up with none; counts what it applied.
    struct Chain {
        applied: Mutex<Vec<f64>>,
    }

    const FOLLOW: f64 = 0.05;

    impl Applier for Chain {
        fn apply(&self, _key: &Key, now: f64) -> Result<Outcome, StoreError> {
            let mut applied = self.applied.lock();
            applied.push(now);
            Ok(Outcome::Done((applied.len() == 1).then_some(now + FOLLOW)))
        }

        fn due_at(&self, _key: &Key) -> Option<f64> {
            None
        }
    }

    #[test]
    fn a_follow_up_queued_off_the_engine_task_wakes_it() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let clock = Arc::new(crate::clock::ManualClock::new(1_000.0));
        let engine = Engine::new(
            Arc::clone(&clock) as Arc<dyn Clock>,
            Timing::profile("fast").unwrap(),
        );
        let chain = Arc::new(Chain {
            applied: Mutex::new(Vec::new()),
        });
        let key = Key {
            scope: localspaces_store::Scope::new("123456789012", "us-east-1"),
            kind: TRANSITION_KIND.to_string(),
            id: "workspace/ws-chain".to_string(),
        };
        rt.spawn(engine.clone().run(Arc::clone(&chain) as Arc<dyn Applier>));
        // Due in an hour: the task goes to sleep for an hour.
        engine.schedule(key, 1_000.0 + 3_600.0);
        std::thread::sleep(Duration::from_millis(100));
        // The admin `advance`: the clock jumps, and the request's thread applies what is due;
        // the follow-up it queues must not wait for the hour the task sleeps.
        clock.advance(3_600.0);
        assert_eq!(engine.run_due(chain.as_ref()).unwrap(), 1);
        clock.advance(FOLLOW);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while chain.applied.lock().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            chain.applied.lock().len(),
            2,
            "the engine task applied the follow-up"
        );
        rt.shutdown_background();
    }

    #[test]
    fn profiles_and_overrides() {
        let t = Timing::parse("instant").unwrap();
        assert_eq!(t.duration(TransitionKind::WorkspaceCreate), 0.0);
        let t = Timing::parse("fast,workspace_create=5").unwrap();
        assert_eq!(t.duration(TransitionKind::WorkspaceCreate), 5.0);
        assert_eq!(t.duration(TransitionKind::WorkspaceStop), 1.0);
        let t = Timing::parse("workspace_stop=3").unwrap();
        assert_eq!(t.duration(TransitionKind::WorkspaceStop), 3.0);
        assert!(Timing::parse("slow").is_err());
        assert!(Timing::parse("fast,nope=1").is_err());
        assert!(Timing::parse("fast,workspace_stop=-1").is_err());
        assert!(
            Timing::parse("realistic")
                .unwrap()
                .duration(TransitionKind::WorkspaceCreate)
                > 60.0
        );
    }
}
