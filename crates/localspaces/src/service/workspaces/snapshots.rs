//! Snapshots and recovery: DescribeWorkspaceSnapshots, RestoreWorkspace and MigrateWorkspace.
//!
//! Snapshots (inferred; AWS's exact cadence is unconfirmed): the service takes
//! a root+user volume snapshot pair when a WorkSpace first becomes AVAILABLE and then every
//! 12 hours while it is healthy (AVAILABLE). The record keeps the pairs taken so far and the
//! time since which the WorkSpace has been healthy; the periodic ones are computed on read and
//! folded into the record at the next state change, so no timer is needed. The last
//! [`KEEP`] pairs are retained. `RestoreSnapshots` (root + user volume, doc) lists them, newest
//! first; `RebuildSnapshots` (user volume, doc) lists the latest only, the one a rebuild uses.
//!
//! Migration runs on the engine: the source goes TERMINATING and the new WorkSpace PENDING, and
//! one `workspace_migrate` transition (on the source) then makes the new WorkSpace AVAILABLE and
//! the source TERMINATED (later removed) in one commit. If the new WorkSpace is terminated
//! before that, the migration fails and the source returns to its previous state with its own
//! ID (doc: "failure keeps the original ID").
//!
//! With desktops, the transition waits for the new WorkSpace's desktop: a fresh root volume
//! from the target bundle's image and the user volume from the source's latest snapshot
//! (doc); then the source's desktop and volumes go, as the source does. A desktop that
//! fails makes the migration fail.

use super::desktops;
use crate::engine::{transition_key, PendingTransition, TransitionKind};
use crate::service::tables::bundles::{resolve_bundle, CatalogBundle};
use crate::service::tables::ids::new_id;
use crate::service::tables::workspaces::{
    arm_auto_stop, effective, state_changed, WorkspaceRec, WORKSPACE_KIND,
};
use crate::service::tables::{not_found, Conflict, Context, Fault, Service, Tx};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, Scope};

use ws::WorkspaceState as S;

fn snapshot_list(times: impl Iterator<Item = f64>) -> Vec<ws::Snapshot> {
    times
        .map(|t| ws::Snapshot {
            snapshot_time: Some(t),
        })
        .collect()
}

pub fn describe_workspace_snapshots(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceSnapshotsRequest,
) -> Result<ws::DescribeWorkspaceSnapshotsResult, Error> {
    let w = svc
        .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
        .ok_or_else(|| not_found("WorkSpace", &input.workspace_id))?;
    let times = effective(&w.rec, svc.clock.now());
    tracing::debug!(workspace = %w.rec.id, snapshots = times.len(), "snapshots");
    Ok(ws::DescribeWorkspaceSnapshotsResult {
        rebuild_snapshots: Some(snapshot_list(times.last().copied().into_iter())),
        restore_snapshots: Some(snapshot_list(times.iter().rev().copied())),
    })
}

pub fn restore_workspace(
    svc: &Service,
    cx: &Context,
    input: ws::RestoreWorkspaceRequest,
) -> Result<ws::RestoreWorkspaceResult, Error> {
    let now = svc.clock.now();
    svc.write(Conflict::Changed("WorkSpace"), |tx| {
        let mut w = svc
            .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
            .ok_or_else(|| not_found("WorkSpace", &input.workspace_id))?;
        let current = w.rec.state();
        // Doc: AVAILABLE, ERROR, UNHEALTHY or STOPPED. The exception for any other state is
        // unconfirmed (offers InvalidParameterValues or OperationNotSupported).
        if !matches!(current, S::Available | S::Error | S::Unhealthy | S::Stopped) {
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!(
                    "The WorkSpace {} is {}; only a WorkSpace that is AVAILABLE, ERROR, UNHEALTHY or STOPPED can be restored.",
                    w.rec.id, w.rec.state
                ),
            )
            .with_reason("InvalidResourceState"));
        }
        let times = effective(&w.rec, now);
        if times.is_empty() {
            // Inferred: nothing to restore from before the first snapshot.
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!("The WorkSpace {} has no snapshot to restore from yet.", w.rec.id),
            )
            .with_reason("NoSnapshot"));
        }
        w.rec.fold(now);
        w.rec.set_state(S::Restoring);
        w.rec.error_code = None;
        w.rec.error_message = None;
        // Restoring reboots the WorkSpace: its user's session ends (inferred).
        w.rec.connected = false;
        tx.put(&cx.scope, &w.rec, Expect::Rev(w.rev))?;
        tx.transition(&cx.scope, TransitionKind::WorkspaceRestore, WORKSPACE_KIND, &w.rec.id)?;
        tracing::info!(workspace = %w.rec.id, from = current.as_str(), snapshot = times.last().copied().unwrap_or_default(), "restoring");
        Ok(())
    })?;
    Ok(ws::RestoreWorkspaceResult {})
}

fn is_windows(os: &str) -> bool {
    os.starts_with("WINDOWS")
}

/// Checks that `source` can move to `bundle` (the directions AWS supports, as far as the
/// catalog's operating systems go): no change of OS family, no Linux distribution change and
/// no way back from Windows 11 (inferred).
fn check_direction(source: &WorkspaceRec, bundle: &CatalogBundle) -> Result<(), Error> {
    let to = bundle.os.as_str();
    let unsupported = |msg: String| {
        Err(Error::new(ErrorCode::OperationNotSupportedException, msg).with_reason("UnsupportedMigration"))
    };
    if is_windows(&source.os) != is_windows(to) {
        return unsupported(format!(
            "A WorkSpace running {} cannot be migrated to a {} bundle.",
            source.os, to
        ));
    }
    if !is_windows(to) && source.os != to {
        return unsupported(format!(
            "A Linux WorkSpace cannot be migrated to another distribution ({} to {}).",
            source.os, to
        ));
    }
    if source.os == ws::OperatingSystemName::Windows11.as_str() && source.os != to {
        return unsupported(format!("A Windows 11 WorkSpace cannot be migrated back to {to}."));
    }
    Ok(())
}

pub fn migrate_workspace(
    svc: &Service,
    cx: &Context,
    input: ws::MigrateWorkspaceRequest,
) -> Result<ws::MigrateWorkspaceResult, Error> {
    let now = svc.clock.now();
    let mut held: Option<String> = None;
    let target_id = svc.write(Conflict::Changed("WorkSpace"), |tx| {
        let mut src = svc
            .load::<WorkspaceRec>(&cx.scope, &input.source_workspace_id)?
            .ok_or_else(|| not_found("WorkSpace", &input.source_workspace_id))?;
        let current = src.rec.state();
        let migrating = current == S::Terminating && src.rec.migrating_to.is_some();
        if migrating || current == S::Updating || src.rec.modifying.is_some() {
            return Err(Error::new(
                ErrorCode::OperationInProgressException,
                format!(
                    "The WorkSpace {} is being modified or migrated. Please try again in a moment.",
                    src.rec.id
                ),
            ));
        }
        // The allowed source states are unconfirmed; AVAILABLE, STOPPED and ERROR.
        if !matches!(current, S::Available | S::Stopped | S::Error) {
            return Err(Error::new(
                ErrorCode::ResourceUnavailableException,
                format!(
                    "The WorkSpace {} is {}; it can be migrated when AVAILABLE, STOPPED or ERROR.",
                    src.rec.id, src.rec.state
                ),
            )
            .with_resource(&src.rec.id));
        }
        // Public bundles and the account's custom bundles.
        let bundle = resolve_bundle(svc, &cx.scope, &input.bundle_id)?
            .ok_or_else(|| not_found("bundle", &input.bundle_id))?;
        if bundle.id == src.rec.bundle_id {
            return Err(Error::new(
                ErrorCode::InvalidParameterValuesException,
                format!(
                    "The WorkSpace {} already uses bundle {}; choose another bundle.",
                    src.rec.id, bundle.id
                ),
            ));
        }
        check_direction(&src.rec, &bundle)?;
        let snapshots = effective(&src.rec, now);
        if snapshots.is_empty() {
            // The user volume of the new WorkSpace comes from the latest snapshot (doc).
            return Err(Error::new(
                ErrorCode::OperationNotSupportedException,
                format!(
                    "The WorkSpace {} has no snapshot of its user volume to migrate yet.",
                    src.rec.id
                ),
            )
            .with_reason("NoSnapshot"));
        }

        if let Some(replica) = desktops::lost_owner(svc, &src.rec) {
            return Err(Error::new(
                ErrorCode::ResourceUnavailableException,
                desktops::lost_message(&src.rec.id, &replica),
            )
            .with_resource(&src.rec.id));
        }
        let target = migration_target(&src.rec, &bundle, now);
        // desktop seam: the new WorkSpace's desktop runs beside the source's until it is up.
        desktops::hold(svc, &cx.scope, target.clone()).map_err(|(_, msg)| {
            Error::new(ErrorCode::ResourceUnavailableException, msg).with_resource(&src.rec.id)
        })?;
        held = Some(target.id.clone());
        src.rec.fold(now);
        src.rec.prior_state = Some(src.rec.state.clone());
        src.rec.set_state(S::Terminating);
        src.rec.migrating_to = Some(target.id.clone());
        src.rec.connected = false;

        // One transition, on the source, completes both WorkSpaces: no coordination between
        // two transitions (and no window where one is applied without the other).
        // The source first: it gives up the (directory, user) key the target takes.
        tx.put(&cx.scope, &src.rec, Expect::Rev(src.rev))?;
        tx.put(&cx.scope, &target, Expect::Absent)?;
        tx.cancel_transition(&cx.scope, WORKSPACE_KIND, &target.id);
        tx.transition(
            &cx.scope,
            TransitionKind::WorkspaceMigrate,
            WORKSPACE_KIND,
            &src.rec.id,
        )?;
        tracing::info!(source = %src.rec.id, target = %target.id, bundle = %bundle.id, "migrating");
        Ok(target.id)
    });
    let target_id = match target_id {
        Ok(id) => id,
        Err(e) => {
            // desktop seam: a slot held for a target that was not created goes back.
            if let Some(id) = held.take() {
                desktops::release(svc, &cx.scope, [id.as_str()]);
            }
            return Err(e);
        }
    };
    desktops::kickoff(svc, &cx.scope, [input.source_workspace_id.as_str()]);
    Ok(ws::MigrateWorkspaceResult {
        source_workspace_id: Some(input.source_workspace_id),
        target_workspace_id: Some(target_id),
    })
}

/// The new WorkSpace of a migration: same user, directory, running mode, encryption, subnet and
/// tags (inferred); compute, OS, protocol and root volume from the target bundle's image (doc);
/// the user volume restored from the source's snapshot, so it keeps at least its size
/// (inferred). Taking the larger of each size keeps the pair in an allowed group.
fn migration_target(src: &WorkspaceRec, bundle: &CatalogBundle, now: f64) -> WorkspaceRec {
    let mut t = src.clone();
    t.id = new_id("ws-", 9);
    t.bundle_id = bundle.id.clone();
    t.set_state(S::Pending);
    t.root_gib = bundle.root_gib.max(src.root_gib);
    t.user_gib = bundle.user_gib.max(src.user_gib);
    t.compute = bundle.compute.as_str().to_string();
    t.os = bundle.os.as_str().to_string();
    t.protocols = vec![bundle.protocol.as_str().to_string()];
    t.ip_address = None;
    t.computer_name = None;
    t.created = now;
    t.last_volume_change = None;
    t.last_compute_change = None;
    t.prior_state = None;
    t.modifying = None;
    t.connected = false;
    t.last_connection = None;
    t.error_code = None;
    t.error_message = None;
    t.snapshots = Vec::new();
    t.healthy_since = None;
    t.migrating_to = None;
    t
}

/// Applies a due `workspace_migrate` transition of a migration's source (called by the
/// engine): creates the new WorkSpace (PENDING → AVAILABLE) and terminates the source in one
/// commit; waits while the new WorkSpace is being terminated; rolls the source back if the new
/// WorkSpace is gone.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let Some(mut src) = svc.load::<WorkspaceRec>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    let Some(target_id) = src.rec.migrating_to.clone() else {
        return Ok(None);
    };
    if src.rec.state() != S::Terminating {
        return Ok(None);
    }
    let source_id = src.rec.id.clone();
    let follow = |kind: TransitionKind, due: f64| PendingTransition {
        kind,
        due,
        resource_kind: WORKSPACE_KIND.to_string(),
        resource_id: source_id.clone(),
    };
    let target = svc.load::<WorkspaceRec>(scope, &target_id)?;
    let next = match target {
        Some(w) if matches!(w.rec.state(), S::Terminating | S::Terminated) => {
            // The new WorkSpace is being terminated before it was created: wait until it is
            // gone (it holds the user), then roll back.
            let key = transition_key(scope, WORKSPACE_KIND, &target_id);
            let again = match svc.load_transition(&key)? {
                Some((tt, _)) => tt.due.max(now),
                None => {
                    now + svc
                        .engine
                        .timing()
                        .duration(TransitionKind::WorkspaceRemove)
                        .max(1.0)
                }
            };
            tracing::debug!(source = %source_id, target = %target_id, "migration waits for its target");
            return Ok(Some(follow(TransitionKind::WorkspaceMigrate, again)));
        }
        Some(mut w) => {
            // desktop seam: the new WorkSpace's desktop must be up first.
            match desktops::gate_migration(svc, scope, t, &src.rec, now)? {
                desktops::MigrationGate::Apply => {}
                desktops::MigrationGate::Wait(next) => return Ok(Some(next)),
                desktops::MigrationGate::Failed(msg) => {
                    tx.delete::<WorkspaceRec>(scope, &target_id, w.rev);
                    let prior = src
                        .rec
                        .prior_state
                        .take()
                        .and_then(|s| S::from_wire(&s))
                        .unwrap_or(S::Available);
                    src.rec.set_state(prior);
                    src.rec.migrating_to = None;
                    state_changed(&mut src.rec, now);
                    tracing::warn!(source = %source_id, target = %target_id, error = %msg, "migration failed: the new desktop did not come up");
                    tx.put(scope, &src.rec, Expect::Rev(src.rev))?;
                    return Ok(None);
                }
            }
            if w.rec.state() == S::Pending {
                w.rec.set_state(S::Available);
                w.rec.assign_network();
                state_changed(&mut w.rec, now);
                arm_auto_stop(svc, tx, scope, &w.rec, now)?;
                tx.put(scope, &w.rec, Expect::Rev(w.rev))?;
            }
            tracing::info!(source = %source_id, target = %target_id, "migration complete");
            src.rec.prior_state = None;
            let remove = svc.engine.timing().duration(TransitionKind::WorkspaceRemove);
            if remove <= 0.0 {
                // Nothing to show in between: removed at once (and in one round, so an
                // `instant` caller never sees it TERMINATED).
                tx.delete::<WorkspaceRec>(scope, &source_id, src.rev);
                return Ok(None);
            }
            src.rec.set_state(S::Terminated);
            Some(follow(TransitionKind::WorkspaceRemove, now + remove))
        }
        None => {
            // The new WorkSpace is gone before it was created: the migration failed and the
            // source keeps its ID and returns to its previous state.
            let prior = src
                .rec
                .prior_state
                .take()
                .and_then(|s| S::from_wire(&s))
                .unwrap_or(S::Available);
            src.rec.set_state(prior);
            src.rec.migrating_to = None;
            state_changed(&mut src.rec, now);
            tracing::warn!(source = %source_id, target = %target_id, "migration failed; source restored");
            None
        }
    };
    tx.put(scope, &src.rec, Expect::Rev(src.rev))?;
    Ok(next)
}
