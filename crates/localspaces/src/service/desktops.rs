//! The seam between WorkSpaces and their desktops (`--desktops local`): due WorkSpace
//! transitions wait for the driver's real progress, capacity is held at create and start,
//! dead desktops make their WorkSpace UNHEALTHY, snapshots the service reports are taken
//! for real, and a restart reconciles desktops with records. With no driver (`--desktops
//! none`) nothing here runs.

use super::lifecycle::Applied;
use super::workspaces::{WorkspaceRec, WORKSPACE_KIND};
use super::{Context, Service};
use crate::desktop::{DesktopDriver, DesktopKey, Op, Progress, Spec};
use crate::engine::{transition_key, PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error};
use localspaces_store::{Expect, Scope, StoreError};
use std::sync::Arc;

/// How soon a transition waiting on its desktop is looked at again, in seconds.
const RECHECK: f64 = 0.1;

/// The desktop key of a WorkSpace.
pub(crate) fn key(scope: &Scope, id: &str) -> Option<DesktopKey> {
    DesktopKey::new(&scope.account, &scope.region, id)
}

fn spec(rec: &WorkspaceRec) -> Spec {
    Spec {
        compute: rec.compute.clone(),
        root_gib: rec.root_gib,
        user_gib: rec.user_gib,
    }
}

/// The error of a create or start item refused for capacity: the limit error the model
/// gives these operations (`ResourceLimitExceededException`).
pub(crate) fn capacity_error(driver: &dyn DesktopDriver) -> (&'static str, String) {
    (
        "ResourceLimitExceededException",
        format!(
            "No desktop capacity left: {} desktops are running or starting on this host (--max-desktops).",
            driver.max_desktops()
        ),
    )
}

/// The desktop op a WorkSpace transition of `kind` leads to from the record's state.
fn op_for(kind: TransitionKind, w: &WorkspaceRec, now: f64) -> Option<Op> {
    use ws::WorkspaceState as S;
    use TransitionKind as K;
    let latest_snapshot = || super::snapshots::effective(w, now).last().copied();
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
        (K::WorkspaceTerminate, S::Terminating) => Op::Terminate,
        _ => return None,
    })
}

/// Gates a due WorkSpace transition on its desktop: `None` lets it apply; `Some` is what to
/// commit instead (wait and look again, or the failure the desktop reported).
pub(crate) fn gate(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    w: &WorkspaceRec,
    rev: u64,
    now: f64,
) -> Result<Option<Applied>, StoreError> {
    use ws::WorkspaceState as S;
    let Some(driver) = svc.desktops() else {
        return Ok(None);
    };
    let Some(key) = key(scope, &w.id) else {
        return Ok(None);
    };
    let Some(op) = op_for(t.kind, w, now) else {
        return Ok(None);
    };
    match driver.poll(&key, &op, &spec(w)) {
        Progress::Done => {
            if op == Op::Provision {
                // The creation snapshot pair (the service records it as the WorkSpace
                // becomes AVAILABLE).
                driver.snapshot(&key, now);
            }
            Ok(None)
        }
        Progress::Working => {
            // Also wakes the engine's task: a follow-up found while an admin route applies
            // due transitions is only queued, and the task may be asleep until much later.
            svc.engine
                .schedule(transition_key(scope, WORKSPACE_KIND, &w.id), now + RECHECK);
            Ok(Some(Applied {
                writes: Vec::new(),
                next: Some(PendingTransition {
                    kind: t.kind,
                    due: now + RECHECK,
                    resource_kind: WORKSPACE_KIND.to_string(),
                    resource_id: w.id.clone(),
                }),
            }))
        }
        Progress::Failed(msg) if matches!(op, Op::Stop | Op::Terminate) => {
            tracing::warn!(workspace = %w.id, error = %msg, "desktop did not stop cleanly");
            Ok(None)
        }
        Progress::Failed(msg) => {
            let mut rec = w.clone();
            if op == Op::Provision {
                rec.state = S::Error.as_str().to_string();
                rec.error_code = Some("InternalFailure".to_string());
                rec.error_message = Some(format!("The desktop could not be created: {msg}"));
            } else {
                rec.state = S::Unhealthy.as_str().to_string();
            }
            super::snapshots::state_changed(&mut rec, now);
            Ok(Some(Applied {
                writes: vec![Service::put(scope, &rec, Expect::Rev(rev))
                    .map_err(|e| StoreError::Backend(e.message))?],
                next: None,
            }))
        }
    }
}

impl Service {
    /// Installs the desktop driver (once, before serving).
    pub fn set_desktops(&self, driver: Arc<dyn DesktopDriver>) {
        let _ = self.desktops.set(driver);
    }

    /// The desktop driver, when WorkSpaces have desktops.
    pub fn desktops(&self) -> Option<Arc<dyn DesktopDriver>> {
        self.desktops.get().cloned()
    }

    /// Holds desktop capacity for WorkSpaces about to start; answers the items refused.
    pub(crate) fn desktop_reserve_starts(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> Vec<(String, (&'static str, String))> {
        let Some(driver) = self.desktops() else {
            return Vec::new();
        };
        let mut refused = Vec::new();
        for id in ids {
            let stopped = matches!(
                self.load::<WorkspaceRec>(scope, id),
                Ok(Some(w)) if w.rec.state() == ws::WorkspaceState::Stopped
            );
            if let Some(k) = key(scope, id) {
                if stopped && !driver.reserve(&k) {
                    refused.push((id.clone(), capacity_error(driver.as_ref())));
                }
            }
        }
        refused
    }

    /// Starts the desktop work of newly scheduled WorkSpace transitions at once, so it runs
    /// while the transition's time passes (the transition still waits for it when due).
    pub(crate) fn desktop_kickoff(&self, scope: &Scope, pending: &[PendingTransition]) {
        let Some(driver) = self.desktops() else { return };
        let now = self.clock.now();
        for t in pending.iter().filter(|t| t.resource_kind == WORKSPACE_KIND) {
            if let (Some(k), Ok(Some(w))) = (
                key(scope, &t.resource_id),
                self.load::<WorkspaceRec>(scope, &t.resource_id),
            ) {
                if let Some(op) = op_for(t.kind, &w.rec, now) {
                    driver.poll(&k, &op, &spec(&w.rec));
                }
            }
        }
    }

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
            .map_err(|e| e.message)?
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
                let out = super::workspaces::start_workspaces(
                    self,
                    &cx,
                    ws::StartWorkspacesRequest {
                        start_workspace_requests: vec![ws::StartRequest {
                            workspace_id: Some(id.to_string()),
                        }],
                    },
                )
                .map_err(|e: Error| e.message)?;
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
                if let Some(at) = super::snapshots::effective(&w.rec, now).last() {
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
                        },
                    );
                    removed += 1;
                }
                Some(S::Available | S::Impaired | S::Unhealthy) => {
                    if let Some(w) = &w {
                        driver.poll(&k, &Op::Start, &spec(&w.rec));
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

/// The item error of a WorkSpace refused for capacity, in a start batch.
pub(crate) fn capacity_failure(id: &str, err: (&'static str, String)) -> ws::FailedWorkspaceChangeRequest {
    ws::FailedWorkspaceChangeRequest {
        workspace_id: Some(id.to_string()),
        error_code: Some(err.0.to_string()),
        error_message: Some(err.1),
    }
}
