//! The service side of the desktops behind WorkSpaces (`--desktops local` or `kvm`): due WorkSpace
//! transitions wait for the driver's real progress ([`gate`]), capacity is held at create
//! and start ([`hold`], [`reserve_starts`]), desktop work starts as soon as its transition is
//! committed ([`kickoff`]), dead desktops make their WorkSpace UNHEALTHY, the snapshots the
//! service reports are taken for real, and a restart reconciles desktops with records. With
//! no driver (`--desktops none`) every function here returns at once and changes nothing.
//!
//! The driver's `poll`, `reserve`, `release` and `snapshot` never block: they look at or
//! start work on the driver's own workers. A poll that reports `Done` hands the result over
//! once, so every poll runs under the write lock: [`gate`] (the applier, which then commits
//! the transition) and [`kickoff`] (which reads the transition afresh, so it never starts
//! again the work of a transition that was applied meanwhile).

use super::*;
use crate::desktop::{DesktopKey, ImageKey, Op, Progress, Spec};
use crate::engine::transition_key;
use crate::service::tables::bundles::custom_bundle_image;
use crate::service::tables::workspaces::effective;
use crate::service::tables::Stored;

/// How soon a transition waiting on its desktop is looked at again, in seconds.
const RECHECK: f64 = 0.1;

/// Whether the WorkSpace's desktop belongs to another replica (or, on a replica without
/// desktops among several, to any): then this replica never drives it nor holds its slot.
pub(crate) fn owned_elsewhere(svc: &Service, w: &WorkspaceRec) -> bool {
    w.desktop_replica
        .as_deref()
        .is_some_and(|o| Some(o) != svc.replica_id())
}

/// Whether this replica applies the due transition `t` of a resource in `scope`: a
/// WorkSpace's transitions drive its desktop, so only the replica that owns the desktop
/// applies them. Other resources' transitions, and those of WorkSpaces without an owner,
/// are applied by any replica.
pub(crate) fn applies_here(svc: &Service, scope: &Scope, t: &PendingTransition) -> bool {
    if t.resource_kind != WORKSPACE_KIND {
        return true;
    }
    match svc.load::<WorkspaceRec>(scope, &t.resource_id) {
        Ok(Some(w)) => !owned_elsewhere(svc, &w.rec),
        // Gone or unreadable: the applier finds out and says so.
        _ => true,
    }
}

/// The replica holding the WorkSpace's volumes when it is dead (its heartbeat lapsed):
/// nothing can be done to the desktop until it comes back.
pub(super) fn lost_owner(svc: &Service, w: &WorkspaceRec) -> Option<String> {
    match svc.desktop_home(w.desktop_replica.as_deref()) {
        crate::membership::Home::Lost { id } => Some(id),
        _ => None,
    }
}

/// The message of an action refused because the WorkSpace's replica is dead.
pub(super) fn lost_message(id: &str, replica: &str) -> String {
    format!(
        "The desktop of WorkSpace {id} runs on localspaces replica {replica}, which is not responding; its volumes are on that replica's disk. Try again once it is back."
    )
}

/// The desktop key of a WorkSpace.
fn key(scope: &Scope, id: &str) -> Option<DesktopKey> {
    DesktopKey::new(&scope.account, &scope.region, id)
}

/// The desktop's sizes from the record, without its image (what a capacity reservation
/// weighs).
fn sized(rec: &WorkspaceRec) -> Spec {
    Spec {
        compute: rec.compute.clone(),
        root_gib: rec.root_gib,
        user_gib: rec.user_gib,
        image: None,
    }
}

/// The desktop's spec: sizes from the record, the image from its bundle (a custom bundle's
/// image, owned by the WorkSpace's account).
fn spec(svc: &Service, scope: &Scope, rec: &WorkspaceRec) -> Result<Spec, Fault> {
    let image = custom_bundle_image(svc, scope, &rec.bundle_id)?
        .and_then(|id| ImageKey::new(&scope.account, &scope.region, &id));
    Ok(Spec { image, ..sized(rec) })
}

/// The error of a create or start item refused for capacity (the driver says why): the
/// limit error the model gives these operations (`ResourceLimitExceededException`).
fn capacity_error(why: String) -> (&'static str, String) {
    ("ResourceLimitExceededException", why)
}

/// The desktop op a WorkSpace transition of `kind` leads to from the record's state.
fn op_for(kind: TransitionKind, w: &WorkspaceRec, now: f64) -> Option<Op> {
    use ws::WorkspaceState as S;
    use TransitionKind as K;
    let latest_snapshot = || effective(w, now).last().copied();
    Some(match (kind, w.state()) {
        (K::WorkspaceCreate, S::Pending) => Op::Provision,
        (K::WorkspaceStart, S::Starting) => Op::Start,
        (K::WorkspaceReboot, S::Rebooting) => Op::Reboot,
        (K::WorkspaceRebuild, S::Rebuilding) => Op::Rebuild {
            snapshot_at: latest_snapshot(),
        },
        (K::WorkspaceRestore, S::Restoring) => Op::Restore {
            snapshot_at: latest_snapshot(),
        },
        (K::WorkspaceStop, S::Stopping) => Op::Stop,
        (K::WorkspaceUpdate, S::Updating) => Op::Update,
        (K::WorkspaceTerminate, S::Terminating) => Op::Terminate,
        _ => return None,
    })
}

/// Gates a due WorkSpace transition on its desktop (called by `apply_transition` with the
/// record it read): `None` lets the transition apply; `Some(next)` is what the transition
/// becomes instead — looked at again shortly while the desktop works, or ended (`None`)
/// with the failure the desktop reported staged on `tx`.
pub(super) fn gate(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    w: &Stored<WorkspaceRec>,
    now: f64,
) -> Result<Option<Option<PendingTransition>>, Fault> {
    use ws::WorkspaceState as S;
    let (Some(driver), Some(key)) = (svc.desktops(), key(scope, &w.rec.id)) else {
        return Ok(None);
    };
    let Some(op) = op_for(t.kind, &w.rec, now) else {
        return Ok(None);
    };
    match driver.poll(&key, &op, &spec(svc, scope, &w.rec)?) {
        Progress::Done => {
            if op == Op::Provision {
                // The creation snapshot pair (the service records it as the WorkSpace
                // becomes AVAILABLE).
                driver.snapshot(&key, now);
            }
            Ok(None)
        }
        // The engine is told of the follow-up (and woken for it) after the commit.
        Progress::Working => Ok(Some(Some(PendingTransition {
            kind: t.kind,
            due: now + RECHECK,
            resource_kind: WORKSPACE_KIND.to_string(),
            resource_id: w.rec.id.clone(),
        }))),
        Progress::Failed(msg) if matches!(op, Op::Stop | Op::Terminate) => {
            tracing::warn!(workspace = %w.rec.id, error = %msg, "desktop did not stop cleanly");
            Ok(None)
        }
        Progress::Failed(msg) => {
            let mut rec = w.rec.clone();
            if op == Op::Provision {
                rec.set_state(S::Error);
                rec.error_code = Some("InternalFailure".to_string());
                rec.error_message = Some(format!("The desktop could not be created: {msg}"));
            } else {
                rec.set_state(S::Unhealthy);
            }
            if op == Op::Update {
                // A failed volume change ends the modification too.
                rec.modifying = None;
                rec.prior_state = None;
            }
            state_changed(&mut rec, now);
            tx.put(scope, &rec, Expect::Rev(w.rev))?;
            Ok(Some(None))
        }
    }
}

/// Holds a desktop slot for a WorkSpace about to be created, or answers the item's
/// capacity error. Among several replicas the desktop lives on the replica that provisions
/// it: the one that holds the slot (a migration's target keeps its source's replica, which
/// holds the snapshot it starts from).
pub(super) fn hold(
    svc: &Service,
    scope: &Scope,
    mut w: WorkspaceRec,
) -> Result<WorkspaceRec, (&'static str, String)> {
    if svc.desktops().is_some() && w.desktop_replica.is_none() {
        w.desktop_replica = svc.replica_id().map(str::to_string);
    }
    if owned_elsewhere(svc, &w) {
        return Ok(w);
    }
    match (svc.desktops(), key(scope, &w.id)) {
        (Some(driver), Some(k)) => match driver.reserve(&k, &sized(&w)) {
            Ok(()) => Ok(w),
            Err(why) => Err(capacity_error(why)),
        },
        _ => Ok(w),
    }
}

/// Gives back the slots held for WorkSpaces that will not run (their create failed).
pub(super) fn release<'a>(svc: &Service, scope: &Scope, ids: impl IntoIterator<Item = &'a str>) {
    let Some(driver) = svc.desktops() else { return };
    for k in ids.into_iter().filter_map(|id| key(scope, id)) {
        driver.release(&k);
    }
}

/// The desktop slots of a start batch: held for the STOPPED WorkSpaces it starts, refused
/// for those beyond capacity.
#[derive(Default)]
pub(super) struct StartSlots {
    held: Vec<String>,
    refused: Vec<ws::FailedWorkspaceChangeRequest>,
}

/// Holds desktop capacity for the STOPPED WorkSpaces among `ids` about to start; answers the
/// ids left to start (those refused for capacity removed) and the slots.
pub(super) fn reserve_starts(
    svc: &Service,
    scope: &Scope,
    mut ids: Vec<String>,
) -> Result<(Vec<String>, StartSlots), Fault> {
    let mut slots = StartSlots::default();
    let Some(driver) = svc.desktops() else {
        return Ok((ids, slots));
    };
    for id in &ids {
        let Some(w) = svc.load::<WorkspaceRec>(scope, id)? else {
            continue;
        };
        let Some(k) = key(scope, id)
            .filter(|_| w.rec.state() == ws::WorkspaceState::Stopped && !owned_elsewhere(svc, &w.rec))
        else {
            continue;
        };
        if let Err(why) = driver.reserve(&k, &sized(&w.rec)) {
            let (code, message) = capacity_error(why);
            slots.refused.push(ws::FailedWorkspaceChangeRequest {
                workspace_id: Some(id.clone()),
                error_code: Some(code.to_string()),
                error_message: Some(message),
            });
        } else {
            slots.held.push(id.clone());
        }
    }
    ids.retain(|id| !slots.refused.iter().any(|f| f.workspace_id.as_ref() == Some(id)));
    Ok((ids, slots))
}

impl StartSlots {
    /// After the start batch: the slots held for WorkSpaces that did not start (still
    /// STOPPED: refused by the batch, or the batch failed) go back; the items refused for
    /// capacity join the batch's failures.
    pub(super) fn end(
        self,
        svc: &Service,
        scope: &Scope,
        batch: Result<Vec<ws::FailedWorkspaceChangeRequest>, Error>,
    ) -> Result<Vec<ws::FailedWorkspaceChangeRequest>, Error> {
        let not_started = |id: &&String| {
            !matches!(svc.load::<WorkspaceRec>(scope, id),
                Ok(Some(w)) if w.rec.state() != ws::WorkspaceState::Stopped)
        };
        release(
            svc,
            scope,
            self.held.iter().filter(not_started).map(String::as_str),
        );
        let mut failed = batch?;
        failed.extend(self.refused);
        Ok(failed)
    }
}

/// Starts the desktop work of WorkSpace transitions just committed, so it runs while the
/// transition's time passes (the transition still waits for it when due). Call after the
/// commit, with no lock held.
pub(super) fn kickoff<'a>(svc: &Service, scope: &Scope, ids: impl IntoIterator<Item = &'a str>) {
    let Some(driver) = svc.desktops() else { return };
    let ids: Vec<&str> = ids.into_iter().collect();
    svc.locked(|| {
        let now = svc.clock.now();
        for id in ids {
            let Some(k) = key(scope, id) else { continue };
            let Ok(Some((t, _))) = svc.load_transition(&transition_key(scope, WORKSPACE_KIND, id)) else {
                continue;
            };
            let Ok(Some(w)) = svc.load::<WorkspaceRec>(scope, id) else {
                continue;
            };
            if owned_elsewhere(svc, &w.rec) {
                // Its replica starts the work when the transition is due there.
                continue;
            }
            if t.kind == TransitionKind::WorkspaceMigrate {
                if let Ok(Some((target, op, spec))) = migration_op(svc, scope, &w.rec, now) {
                    driver.poll(&target, &op, &spec);
                }
            } else if let (Some(op), Ok(spec)) = (op_for(t.kind, &w.rec, now), spec(svc, scope, &w.rec)) {
                driver.poll(&k, &op, &spec);
            }
        }
    });
}

/// The desktop op of a migration's target: a new root volume from the target bundle's image
/// and the home from the source's latest snapshot. `None` when the target is not PENDING.
fn migration_op(
    svc: &Service,
    scope: &Scope,
    src: &WorkspaceRec,
    now: f64,
) -> Result<Option<(DesktopKey, Op, Spec)>, Fault> {
    let (Some(target_id), Some(from)) = (&src.migrating_to, key(scope, &src.id)) else {
        return Ok(None);
    };
    let Some(target) = svc.load::<WorkspaceRec>(scope, target_id)? else {
        return Ok(None);
    };
    let Some(k) = key(scope, target_id).filter(|_| target.rec.state() == ws::WorkspaceState::Pending) else {
        return Ok(None);
    };
    let op = Op::Migrate {
        from,
        snapshot_at: effective(src, now).last().copied(),
    };
    Ok(Some((k, op, spec(svc, scope, &target.rec)?)))
}

/// What the desktop of a migration's target says about its due `workspace_migrate`
/// transition (called with the source's record).
pub(super) enum MigrationGate {
    /// No desktop (or nothing to wait for): apply the transition.
    Apply,
    /// The desktop works: look again at this transition.
    Wait(PendingTransition),
    /// The desktop failed: the migration fails (the target goes, the source stays).
    Failed(String),
}

/// Gates a due migration on its target's desktop; once it is up, the source's desktop is
/// terminated (its volumes go with the source, as its record does).
pub(super) fn gate_migration(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    src: &WorkspaceRec,
    now: f64,
) -> Result<MigrationGate, Fault> {
    let Some(driver) = svc.desktops() else {
        return Ok(MigrationGate::Apply);
    };
    let Some((target, op, spec)) = migration_op(svc, scope, src, now)? else {
        return Ok(MigrationGate::Apply);
    };
    match driver.poll(&target, &op, &spec) {
        Progress::Done => {
            driver.snapshot(&target, now);
            if let Some(k) = key(scope, &src.id) {
                driver.poll(&k, &Op::Terminate, &spec);
            }
            Ok(MigrationGate::Apply)
        }
        Progress::Working => Ok(MigrationGate::Wait(PendingTransition {
            kind: t.kind,
            due: now + RECHECK,
            resource_kind: WORKSPACE_KIND.to_string(),
            resource_id: src.id.clone(),
        })),
        Progress::Failed(msg) => {
            driver.poll(&target, &Op::Terminate, &spec);
            Ok(MigrationGate::Failed(msg))
        }
    }
}

impl Service {
    /// The WorkSpace's state (wire value), if it exists.
    pub fn desktop_state(&self, scope: &Scope, id: &str) -> Option<String> {
        self.load::<WorkspaceRec>(scope, id)
            .ok()
            .flatten()
            .map(|w| w.rec.state)
    }

    /// Where the WorkSpace's desktop lives, from this replica (here when the WorkSpace is
    /// unknown: the caller's own checks then answer).
    pub fn desktop_place(&self, scope: &Scope, id: &str) -> crate::membership::Home {
        match self.load::<WorkspaceRec>(scope, id) {
            Ok(Some(w)) => self.desktop_home(w.rec.desktop_replica.as_deref()),
            _ => crate::membership::Home::Here,
        }
    }

    /// A viewer wants the desktop: a STOPPED AUTO_STOP WorkSpace starts (as AWS starts one
    /// when its user connects); a WorkSpace in another state that will not run is refused.
    pub fn desktop_wake(&self, scope: &Scope, id: &str) -> Result<(), String> {
        use ws::WorkspaceState as S;
        let w = self
            .load::<WorkspaceRec>(scope, id)
            .map_err(|f| Error::from(f).message)?
            .ok_or_else(|| format!("There is no WorkSpace {id}."))?;
        match w.rec.state() {
            S::Available
            | S::Pending
            | S::Starting
            | S::Rebooting
            | S::Rebuilding
            | S::Restoring
            | S::Updating => Ok(()),
            S::Stopped if w.rec.running_mode() == ws::RunningMode::AutoStop => {
                let cx = Context {
                    scope: scope.clone(),
                    request_id: uuid::Uuid::new_v4().to_string(),
                };
                let out = start_workspaces(
                    self,
                    &cx,
                    ws::StartWorkspacesRequest {
                        start_workspace_requests: vec![ws::StartRequest {
                            workspace_id: Some(id.to_string()),
                        }],
                    },
                )
                .map_err(|e| e.message)?;
                match out.failed_requests.unwrap_or_default().into_iter().next() {
                    Some(f) => Err(f
                        .error_message
                        .unwrap_or_else(|| "The WorkSpace could not start.".into())),
                    None => Ok(()),
                }
            }
            s => Err(format!("The WorkSpace is {}.", s.as_str())),
        }
    }

    /// Periodic work: WorkSpaces whose desktop died become UNHEALTHY; running desktops take
    /// the snapshots the service reports (every 12 hours of healthy time).
    pub fn desktop_tick(&self) {
        let Some(driver) = self.desktops() else { return };
        for k in driver.take_failures() {
            let scope = Scope::new(k.account.clone(), k.region.clone());
            if let Ok(Some(w)) = self.load::<WorkspaceRec>(&scope, &k.workspace_id) {
                if w.rec.state() == ws::WorkspaceState::Available {
                    if let Err(e) = self.admin_force_state(&scope, &k.workspace_id, "UNHEALTHY") {
                        tracing::warn!(error = %e.message, "marking a WorkSpace UNHEALTHY failed");
                    }
                }
            }
        }
        let now = self.clock.now();
        for k in driver.known() {
            if !driver.is_running(&k) {
                continue;
            }
            let scope = Scope::new(k.account.clone(), k.region.clone());
            if let Ok(Some(w)) = self.load::<WorkspaceRec>(&scope, &k.workspace_id) {
                if let Some(at) = effective(&w.rec, now).last() {
                    driver.snapshot(&k, *at);
                }
            }
        }
    }

    /// A replica died (its heartbeat lapsed): its WorkSpaces that were AVAILABLE, IMPAIRED
    /// or STOPPED become UNHEALTHY (their desktops and volumes are on its disk), their
    /// timers cancelled; their viewers are gone. Transitional states stay: their transitions
    /// resume when the replica comes back. Answers how many changed.
    pub fn desktops_lost(&self, replica: &str) -> Result<usize, Error> {
        use ws::WorkspaceState as S;
        let recs = self
            .store
            .scan_all_scopes(WORKSPACE_KIND)
            .map_err(|e| Error::from(Fault(e)))?;
        let mut changed = 0;
        for r in recs {
            let Ok(w) = crate::service::tables::records::decode::<WorkspaceRec>(&r.body) else {
                continue;
            };
            if w.desktop_replica.as_deref() != Some(replica) {
                continue;
            }
            if !matches!(w.state(), S::Available | S::Impaired | S::Stopped) {
                continue;
            }
            let scope = r.key.scope.clone();
            let now = self.clock.now();
            let done = self.write(CHANGED, |tx| {
                // Read again under the lock: the replica may be back and have moved it.
                let Some(mut w) = self.load::<WorkspaceRec>(&scope, &r.key.id)? else {
                    return Ok(false);
                };
                if w.rec.desktop_replica.as_deref() != Some(replica)
                    || !matches!(w.rec.state(), S::Available | S::Impaired | S::Stopped)
                {
                    return Ok(false);
                }
                w.rec.set_state(S::Unhealthy);
                w.rec.connected = false;
                state_changed(&mut w.rec, now);
                tx.put(&scope, &w.rec, Expect::Rev(w.rev))?;
                tx.cancel_transition(&scope, WORKSPACE_KIND, &w.rec.id);
                Ok::<_, Error>(true)
            });
            match done {
                Ok(true) => changed += 1,
                Ok(false) => {}
                // Another survivor got there first.
                Err(e) if e.code == ErrorCode::InvalidResourceStateException => {}
                Err(e) => return Err(e),
            }
        }
        if changed > 0 {
            tracing::warn!(
                replica,
                changed,
                "a replica is not responding: its WorkSpaces are UNHEALTHY"
            );
        }
        Ok(changed)
    }

    /// After a restart: desktops of AVAILABLE WorkSpaces run again; volumes of WorkSpaces
    /// that are gone are deleted. (Transitional states resume through their transitions.)
    pub fn desktop_reconcile(&self) -> Result<(), Error> {
        use ws::WorkspaceState as S;
        let Some(driver) = self.desktops() else {
            return Ok(());
        };
        let (mut started, mut removed) = (0, 0);
        for k in driver.known() {
            let scope = Scope::new(k.account.clone(), k.region.clone());
            let w = self.load::<WorkspaceRec>(&scope, &k.workspace_id)?;
            if w.as_ref().is_some_and(|w| owned_elsewhere(self, &w.rec)) {
                // Another replica took the WorkSpace meanwhile (to terminate it): its record
                // decides when it is gone.
                continue;
            }
            match w.as_ref().map(|w| w.rec.state()) {
                None | Some(S::Terminated) => {
                    driver.poll(
                        &k,
                        &Op::Terminate,
                        &Spec {
                            compute: String::new(),
                            root_gib: 0,
                            user_gib: 0,
                            image: None,
                        },
                    );
                    removed += 1;
                }
                Some(S::Available | S::Impaired | S::Unhealthy) => {
                    if let Some(w) = &w {
                        driver.poll(&k, &Op::Start, &spec(self, &scope, &w.rec)?);
                        started += 1;
                    }
                }
                _ => {}
            }
        }
        tracing::info!(started, removed, "desktops reconciled");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, OffsetClock};
    use crate::engine::{Engine, Timing};
    use crate::membership::{Membership, LEASE};
    use localspaces_store::{MemoryStore, Put, Store, Write};
    use std::sync::Arc;

    fn replica(store: &Arc<dyn Store>, id: &str) -> (Arc<Service>, Engine) {
        let clock = Arc::new(OffsetClock::default()) as Arc<dyn Clock>;
        let engine = Engine::new(Arc::clone(&clock), Timing::profile("fast").unwrap());
        let svc = Arc::new(Service::new(
            Arc::clone(store),
            clock,
            Default::default(),
            engine.clone(),
        ));
        let m = Arc::new(Membership::new(id, &format!("http://{id}"), LEASE));
        m.beat(store.as_ref()).unwrap();
        svc.set_membership(m);
        (svc, engine)
    }

    fn workspace(svc: &Service, scope: &Scope, id: &str, state: &str, owner: Option<&str>) {
        let rec: WorkspaceRec = serde_json::from_value(serde_json::json!({
            "id": id, "directory_id": "d-1", "user_name": id, "bundle_id": "wsb-1",
            "state": state, "running_mode": "ALWAYS_ON", "root_gib": 80, "user_gib": 10,
            "compute": "STANDARD", "protocols": ["DCV"], "os": "UBUNTU_22_04",
            "subnet_id": "subnet-1", "created": 0.0, "desktop_replica": owner,
        }))
        .unwrap();
        svc.write(CHANGED, |tx| {
            tx.put(scope, &rec, Expect::Absent).map_err(Error::from)
        })
        .unwrap();
    }

    fn pending(kind: TransitionKind, id: &str) -> PendingTransition {
        PendingTransition {
            kind,
            due: 1.0,
            resource_kind: WORKSPACE_KIND.to_string(),
            resource_id: id.to_string(),
        }
    }

    /// A WorkSpace's transitions are queued and applied by its desktop's replica only; a
    /// dead replica's settled WorkSpaces become UNHEALTHY and refuse actions, naming it.
    #[test]
    fn desktops_are_driven_by_their_replica_and_lost_with_it() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let (a, engine_a) = replica(&store, "r-a");
        let (b, engine_b) = replica(&store, "r-b");
        let scope = Scope::new("111122223333", "us-east-1");
        workspace(&a, &scope, "ws-owned", "AVAILABLE", Some("r-a"));
        workspace(&a, &scope, "ws-moving", "REBOOTING", Some("r-a"));
        workspace(&a, &scope, "ws-free", "AVAILABLE", None);
        workspace(&b, &scope, "ws-theirs", "STOPPED", Some("r-b"));

        let t = pending(TransitionKind::WorkspaceReboot, "ws-moving");
        assert!(applies_here(&a, &scope, &t));
        assert!(!applies_here(&b, &scope, &t));
        let free = pending(TransitionKind::WorkspaceReboot, "ws-free");
        assert!(applies_here(&a, &scope, &free) && applies_here(&b, &scope, &free));
        let other = PendingTransition {
            resource_kind: "directory".into(),
            ..pending(TransitionKind::DirectoryRegister, "d-1")
        };
        assert!(applies_here(&b, &scope, &other));

        // B does not queue A's WorkSpace's transition; A does.
        store
            .commit(vec![Write::Put(Put {
                key: transition_key(&scope, WORKSPACE_KIND, "ws-moving"),
                body: serde_json::to_vec(&t).unwrap(),
                indexes: vec![],
                unique: vec![],
                expect: Expect::Absent,
            })])
            .unwrap();
        let keep_b = |k: &localspaces_store::Key, t: &PendingTransition| b.queues_here(k, t);
        assert_eq!(engine_b.adopt_where(store.as_ref(), 0.0, &keep_b).unwrap(), 0);
        let keep_a = |k: &localspaces_store::Key, t: &PendingTransition| a.queues_here(k, t);
        assert_eq!(engine_a.adopt_where(store.as_ref(), 0.0, &keep_a).unwrap(), 1);

        // B has not read A's heartbeat (one never seen counts as dead): A's desktops are
        // lost to B.
        let lost = |id: &str| lost_owner(&b, &b.load::<WorkspaceRec>(&scope, id).unwrap().unwrap().rec);
        assert_eq!(lost("ws-owned").as_deref(), Some("r-a"));
        assert_eq!(lost("ws-theirs"), None);
        assert_eq!(lost("ws-free"), None);
        assert_eq!(
            lost_owner(
                &a,
                &a.load::<WorkspaceRec>(&scope, "ws-owned").unwrap().unwrap().rec
            ),
            None
        );

        assert_eq!(b.desktops_lost("r-a").unwrap(), 1);
        let state = |id: &str| b.desktop_state(&scope, id).unwrap();
        assert_eq!(state("ws-owned"), "UNHEALTHY");
        assert_eq!(state("ws-moving"), "REBOOTING");
        assert_eq!(state("ws-free"), "AVAILABLE");
        assert_eq!(state("ws-theirs"), "STOPPED");
        assert_eq!(b.desktops_lost("r-a").unwrap(), 0);

        let cx = Context {
            scope: scope.clone(),
            request_id: "r".into(),
        };
        let out = reboot_workspaces(
            &b,
            &cx,
            ws::RebootWorkspacesRequest {
                reboot_workspace_requests: vec![ws::RebootRequest {
                    workspace_id: "ws-owned".into(),
                }],
            },
        )
        .unwrap();
        let failed = out.failed_requests.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            failed[0].error_code.as_deref(),
            Some("ResourceUnavailableException")
        );
        assert!(failed[0].error_message.as_deref().unwrap().contains("r-a"));
        assert_eq!(state("ws-owned"), "UNHEALTHY");
        // A itself reboots it.
        let out = reboot_workspaces(
            &a,
            &cx,
            ws::RebootWorkspacesRequest {
                reboot_workspace_requests: vec![ws::RebootRequest {
                    workspace_id: "ws-owned".into(),
                }],
            },
        )
        .unwrap();
        assert_eq!(out.failed_requests.unwrap(), vec![]);
        assert_eq!(state("ws-owned"), "REBOOTING");

        // Terminating a dead replica's WorkSpace needs no volume: the survivor takes it.
        workspace(&a, &scope, "ws-stranded", "STOPPED", Some("r-a"));
        let out = terminate_workspaces(
            &b,
            &cx,
            ws::TerminateWorkspacesRequest {
                terminate_workspace_requests: vec![ws::TerminateRequest {
                    workspace_id: "ws-stranded".into(),
                }],
            },
        )
        .unwrap();
        assert_eq!(out.failed_requests.unwrap(), vec![]);
        let w = b
            .load::<WorkspaceRec>(&scope, "ws-stranded")
            .unwrap()
            .unwrap()
            .rec;
        assert_eq!(
            (w.state.as_str(), w.desktop_replica.as_deref()),
            ("TERMINATING", Some("r-b"))
        );
    }
}
