//! What the engine and the admin routes do to WorkSpaces: due transitions, connection
//! state, forced states.

use super::*;

/// Applies one due transition of this family's resources (called by the engine).
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    use ws::WorkspaceState as S;
    use TransitionKind as K;
    let Some(mut w) = svc.load::<WorkspaceRec>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    // desktop seam: the transition applies only once the desktop got there.
    if let Some(next) = desktops::gate(svc, tx, scope, t, &w, now)? {
        return Ok(next);
    }
    let follow = |kind: K, w: &WorkspaceRec| PendingTransition {
        kind,
        due: now + svc.engine.timing().duration(kind),
        resource_kind: WORKSPACE_KIND.to_string(),
        resource_id: w.id.clone(),
    };
    let mut next = None;
    match (t.kind, w.rec.state()) {
        (K::WorkspaceCreate, S::Pending)
        | (K::WorkspaceStart, S::Starting)
        | (K::WorkspaceReboot, S::Rebooting)
        | (K::WorkspaceRestore, S::Restoring) => {
            w.rec.set_state(S::Available);
            if w.rec.ip_address.is_none() {
                w.rec.assign_network();
            }
        }
        (K::WorkspaceRebuild, S::Rebuilding) => {
            w.rec.set_state(S::Available);
            // A rebuild gives the WorkSpace a new primary network interface (doc).
            w.rec.assign_network();
        }
        (K::WorkspaceStop, S::Stopping) => w.rec.set_state(S::Stopped),
        (K::WorkspaceUpdate, S::Updating) => {
            let prior = w.rec.prior_state.take().map_or(S::Available, |s| state_of(&s));
            w.rec.set_state(prior);
            w.rec.modifying = None;
        }
        (K::WorkspaceTerminate, S::Terminating) => {
            w.rec.set_state(S::Terminated);
            next = Some(follow(K::WorkspaceRemove, &w.rec));
        }
        (K::WorkspaceRemove, S::Terminated) => {
            tx.delete::<WorkspaceRec>(scope, &w.rec.id, w.rev);
            return Ok(None);
        }
        (K::WorkspaceAutoStop, S::Available)
            if w.rec.running_mode() == ws::RunningMode::AutoStop && !w.rec.connected =>
        {
            w.rec.set_state(S::Stopping);
            next = Some(follow(K::WorkspaceStop, &w.rec));
        }
        _ => return Ok(None),
    }
    state_changed(&mut w.rec, now);
    if next.is_none() {
        next = auto_stop_at(svc, &w.rec, now).map(|due| PendingTransition {
            kind: K::WorkspaceAutoStop,
            due,
            resource_kind: WORKSPACE_KIND.to_string(),
            resource_id: w.rec.id.clone(),
        });
    }
    tx.put(scope, &w.rec, Expect::Rev(w.rev))?;
    Ok(next)
}

impl Service {
    /// Admin hook: marks the user of a WorkSpace connected or disconnected (an AUTO_STOP
    /// WorkSpace left disconnected stops after its timeout).
    pub fn admin_set_connection(
        &self,
        scope: &Scope,
        workspace_id: &str,
        connected: bool,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        self.write(CHANGED, |tx| {
            let mut w = self
                .load::<WorkspaceRec>(scope, workspace_id)?
                .ok_or_else(|| not_found("WorkSpace", workspace_id))?;
            w.rec.connected = connected;
            if connected {
                w.rec.last_connection = Some(now);
            }
            tx.put(scope, &w.rec, Expect::Rev(w.rev))?;
            if w.rec.state() == ws::WorkspaceState::Available && !arm_auto_stop(self, tx, scope, &w.rec, now)?
            {
                tx.cancel_transition(scope, WORKSPACE_KIND, workspace_id);
            }
            Ok(())
        })
    }

    /// Admin hook: forces a WorkSpace into `state` (fault injection for states no API
    /// reaches: ERROR, UNHEALTHY, IMPAIRED, …). Cancels its pending transition.
    pub fn admin_force_state(&self, scope: &Scope, workspace_id: &str, state: &str) -> Result<(), Error> {
        let s = ws::WorkspaceState::from_wire(state).ok_or_else(|| {
            invalid(format!(
                "unknown state {state}; one of {}",
                ws::WorkspaceState::VALUES.join(", ")
            ))
        })?;
        self.write(CHANGED, |tx| {
            let mut w = self
                .load::<WorkspaceRec>(scope, workspace_id)?
                .ok_or_else(|| not_found("WorkSpace", workspace_id))?;
            w.rec.set_state(s);
            w.rec.modifying = None;
            if s == ws::WorkspaceState::Error {
                w.rec.error_code = Some("InternalFailure".to_string());
                w.rec.error_message = Some("Forced into ERROR by the localspaces admin route.".to_string());
            } else {
                w.rec.error_code = None;
                w.rec.error_message = None;
            }
            state_changed(&mut w.rec, self.clock.now());
            tx.put(scope, &w.rec, Expect::Rev(w.rev))?;
            tx.cancel_transition(scope, WORKSPACE_KIND, workspace_id);
            Ok(())
        })
    }
}
