//! ModifyWorkspaceProperties and ModifyWorkspaceState.

use super::*;

/// Six hours, the minimum time between volume or compute changes (doc).
const CHANGE_WINDOW: f64 = 6.0 * 3600.0;

pub fn modify_workspace_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspacePropertiesRequest,
) -> Result<ws::ModifyWorkspacePropertiesResult, Error> {
    use ws::WorkspaceState as S;
    let Some(p) = input.workspace_properties else {
        if let Some(d) = input.data_replication {
            return standby::set_data_replication(svc, cx, &input.workspace_id, d)
                .map(|()| ws::ModifyWorkspacePropertiesResult {});
        }
        return Err(invalid("WorkspaceProperties is required."));
    };
    let now = svc.clock.now();
    svc.write(CHANGED, |tx| {
        let mut w = svc
            .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
            .ok_or_else(|| not_found("WorkSpace", &input.workspace_id))?;
        if w.rec.modifying.is_some() {
            return Err(Error::new(
                ErrorCode::OperationInProgressException,
                "The properties of this WorkSpace are currently under modification. Please try again in a moment.",
            ));
        }
        let state = w.rec.state();
        if !matches!(state, S::Available | S::Stopped) {
            return Err(Error::new(
                ErrorCode::InvalidResourceStateException,
                format!(
                    "The WorkSpace {} is {}; it must be AVAILABLE or STOPPED.",
                    w.rec.id, w.rec.state
                ),
            ));
        }
        // Running mode and timeout apply at once.
        let mode = p.running_mode.unwrap_or(w.rec.running_mode());
        let timeout = match (p.running_mode, p.running_mode_auto_stop_timeout_in_minutes) {
            (_, Some(t)) => Some(t),
            (Some(ws::RunningMode::AutoStop), None) => w.rec.auto_stop_minutes.or(Some(60)),
            (Some(_), None) => None,
            (None, None) => w.rec.auto_stop_minutes,
        };
        // The model lists InvalidParameterValuesException (not ...Combination...) for this
        // operation: it answers every bad combination.
        let timeout = check_running_mode(mode, timeout).map_err(|(_, msg)| invalid(msg))?;
        if p.running_mode.is_some() {
            check_manual_allowed(svc, &cx.scope, mode)?;
        }
        w.rec.running_mode = mode.as_str().to_string();
        w.rec.auto_stop_minutes = timeout;
        // Compute, volumes and protocol go through UPDATING.
        let root = p.root_volume_size_gib.filter(|r| *r != w.rec.root_gib);
        let user = p.user_volume_size_gib.filter(|u| *u != w.rec.user_gib);
        let compute = p.compute_type_name.filter(|c| c.as_str() != w.rec.compute);
        let protocols: Option<Vec<String>> = p
            .protocols
            .map(|v| v.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>())
            .filter(|v| *v != w.rec.protocols);
        if root.is_some() && user.is_some() {
            return Err(Error::new(
                ErrorCode::InvalidParameterValuesException,
                "You cannot increase the root volume and the user volume in the same request.",
            ));
        }
        if compute.is_some() && (root.is_some() || user.is_some()) {
            return Err(Error::new(
                ErrorCode::InvalidParameterValuesException,
                "You cannot change the compute type and the volume sizes in the same request.",
            ));
        }
        let mut resource = None;
        if root.is_some() || user.is_some() {
            let (r, u) = (root.unwrap_or(w.rec.root_gib), user.unwrap_or(w.rec.user_gib));
            if r < w.rec.root_gib || u < w.rec.user_gib {
                return Err(invalid("Volume sizes can only be increased."));
            }
            if !volumes_allowed(r, u) {
                return Err(invalid(format!(
                    "The volume sizes root {r} GiB / user {u} GiB are not supported."
                )));
            }
            if w.rec.last_volume_change.is_some_and(|t| now - t < CHANGE_WINDOW) {
                return Err(Error::new(
                    ErrorCode::InvalidResourceStateException,
                    "The volumes of this WorkSpace were increased less than 6 hours ago.",
                ));
            }
            w.rec.root_gib = r;
            w.rec.user_gib = u;
            w.rec.last_volume_change = Some(now);
            resource = Some(if root.is_some() {
                ws::ModificationResourceEnum::RootVolume
            } else {
                ws::ModificationResourceEnum::UserVolume
            });
        }
        if let Some(c) = compute {
            let gpu = |s: &str| s.starts_with("GRAPHICS");
            if gpu(c.as_str()) != gpu(&w.rec.compute) {
                return Err(Error::new(
                    ErrorCode::UnsupportedWorkspaceConfigurationException,
                    "Switching between graphics and non-graphics compute types needs MigrateWorkspace.",
                ));
            }
            let since = now - w.rec.last_compute_change.unwrap_or(w.rec.created);
            if since < CHANGE_WINDOW {
                return Err(Error::new(
                    ErrorCode::InvalidResourceStateException,
                    "The compute type can be changed 6 hours after the WorkSpace was created or last changed.",
                ));
            }
            w.rec.compute = c.as_str().to_string();
            w.rec.last_compute_change = Some(now);
            resource = Some(ws::ModificationResourceEnum::ComputeType);
        }
        if let Some(pr) = protocols {
            if w.rec.compute.starts_with("GRAPHICS") || !w.rec.is_windows() {
                return Err(Error::new(
                    ErrorCode::UnsupportedWorkspaceConfigurationException,
                    "The protocol can only be changed for non-graphics Windows WorkSpaces.",
                ));
            }
            w.rec.protocols = pr;
            resource = resource.or(Some(ws::ModificationResourceEnum::Protocol));
        }
        if let Some(r) = resource {
            w.rec.prior_state = Some(w.rec.state.clone());
            w.rec.modifying = Some(r.as_str().to_string());
            w.rec.set_state(S::Updating);
            tx.transition(&cx.scope, TransitionKind::WorkspaceUpdate, WORKSPACE_KIND, &w.rec.id)?;
        } else if state == S::Available && !arm_auto_stop(svc, tx, &cx.scope, &w.rec, now)? {
            // Running-mode changes re-arm (or cancel) the auto-stop timer.
            tx.cancel_transition(&cx.scope, WORKSPACE_KIND, &w.rec.id);
        }
        tx.put(&cx.scope, &w.rec, Expect::Rev(w.rev))?;
        Ok(())
    })?;
    // desktop seam: volume changes start on the desktop while UPDATING runs its course.
    desktops::kickoff(svc, &cx.scope, [input.workspace_id.as_str()]);
    Ok(ws::ModifyWorkspacePropertiesResult {})
}

pub fn modify_workspace_state(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceStateRequest,
) -> Result<ws::ModifyWorkspaceStateResult, Error> {
    use ws::WorkspaceState as S;
    let now = svc.clock.now();
    svc.write(CHANGED, |tx| {
        let mut w = svc
            .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
            .ok_or_else(|| not_found("WorkSpace", &input.workspace_id))?;
        let target = match (w.rec.state(), input.workspace_state) {
            (S::Available, ws::TargetWorkspaceState::AdminMaintenance) => S::AdminMaintenance,
            (S::AdminMaintenance, ws::TargetWorkspaceState::Available) => S::Available,
            (s, t) if s.as_str() == t.as_str() => return Ok(()),
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidResourceStateException,
                    format!(
                        "The WorkSpace {} is {}; it cannot move to {}.",
                        w.rec.id, w.rec.state, input.workspace_state
                    ),
                ))
            }
        };
        w.rec.set_state(target);
        tx.put(&cx.scope, &w.rec, Expect::Rev(w.rev))?;
        // ADMIN_MAINTENANCE WorkSpaces are never auto-stopped.
        if !arm_auto_stop(svc, tx, &cx.scope, &w.rec, now)? {
            tx.cancel_transition(&cx.scope, WORKSPACE_KIND, &w.rec.id);
        }
        Ok(())
    })?;
    Ok(ws::ModifyWorkspaceStateResult {})
}
