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
/// capacity error.
pub(super) fn hold(
    svc: &Service,
    scope: &Scope,
    w: WorkspaceRec,
) -> Result<WorkspaceRec, (&'static str, String)> {
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
        let Some(k) = key(scope, id).filter(|_| w.rec.state() == ws::WorkspaceState::Stopped) else {
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
