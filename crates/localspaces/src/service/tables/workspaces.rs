//! WorkSpaces as stored: the record, its indexes and wire form, its snapshot bookkeeping,
//! its standby relationship, and the reads and writes other families make on it (image
//! capture, auto-stop timers).
//!
//! Snapshots (inferred; AWS's exact cadence is unconfirmed): the service takes a root+user
//! volume snapshot pair when a WorkSpace first becomes AVAILABLE and then every 12 hours
//! while it is healthy (AVAILABLE). The record keeps the pairs taken so far and the time
//! since which the WorkSpace has been healthy; the periodic ones are computed on read and
//! folded into the record at the next state change, so no timer is needed. The last
//! [`KEEP`] pairs are retained.

use super::ids::new_id;
use super::{pagination, Fault, Resource, Service, StoredTag, Taggable, Tx};
use crate::engine::TransitionKind;
use localspaces_api::workspaces as ws;
use localspaces_store::{Expect, IndexEntry, Scope};
use serde::{Deserialize, Serialize};

/// Store kind of WorkSpaces.
pub(crate) const WORKSPACE_KIND: &str = "workspace";

/// Index on WorkSpace records: the directory id (DescribeWorkspaces by directory, and the
/// directory family's "no WorkSpaces left" check before deregistration).
pub(crate) const DIRECTORY_INDEX: &str = "directory";

/// Unique index: one WorkSpace per (directory, user name); user names are not case-sensitive.
pub(crate) const USER_INDEX: &str = "user";

pub(crate) const BUNDLE_INDEX: &str = "bundle";

pub(crate) const NAME_INDEX: &str = "name";

/// A stored WorkSpace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkspaceRec {
    pub id: String,
    pub directory_id: String,
    pub user_name: String,
    pub bundle_id: String,
    /// A `WorkspaceState` wire value.
    pub state: String,
    pub running_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_stop_minutes: Option<i32>,
    pub root_gib: i32,
    pub user_gib: i32,
    pub compute: String,
    pub protocols: Vec<String>,
    pub os: String,
    pub subnet_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_encryption_key: Option<String>,
    #[serde(default)]
    pub root_encrypted: bool,
    #[serde(default)]
    pub user_encrypted: bool,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
    pub created: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_volume_change: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_compute_change: Option<f64>,
    /// The state to return to after UPDATING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_state: Option<String>,
    /// The property being modified while UPDATING (`ModificationResourceEnum` wire value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifying: Option<String>,
    #[serde(default)]
    pub connected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connection: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Snapshot pair times, oldest first, and since when the WorkSpace is healthy (the
    /// periodic ones are computed from it): see snapshots.rs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_since: Option<f64>,
    /// On the source of a migration in progress: the new WorkSpace's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrating_to: Option<String>,
    /// Standby relationships (Multi-Region Resilience): see standby.rs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// `DataReplication` wire value of a primary/standby pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_replication: Option<String>,
    /// The replica that runs the WorkSpace's desktop and keeps its volumes (several
    /// replicas on one store, with desktops); never on the wire. `None`: any replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_replica: Option<String>,
}

impl Resource for WorkspaceRec {
    const KIND: &'static str = WORKSPACE_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let mut v = vec![
            IndexEntry {
                name: DIRECTORY_INDEX.into(),
                key: self.directory_id.clone(),
            },
            IndexEntry {
                name: USER_INDEX.into(),
                // A migration's source gives its user to the new WorkSpace (snapshots.rs).
                key: match &self.migrating_to {
                    Some(to) => format!(
                        "{}#migrating-to:{to}",
                        owner_key(
                            &self.directory_id,
                            &self.user_name,
                            self.workspace_name.as_deref()
                        )
                    ),
                    None => owner_key(
                        &self.directory_id,
                        &self.user_name,
                        self.workspace_name.as_deref(),
                    ),
                },
            },
            IndexEntry {
                name: BUNDLE_INDEX.into(),
                key: self.bundle_id.clone(),
            },
        ];
        if let Some(n) = &self.workspace_name {
            v.push(IndexEntry {
                name: NAME_INDEX.into(),
                key: n.clone(),
            });
        }
        if self.related.iter().any(|r| r.kind == "PRIMARY") {
            // This WorkSpace is a standby (the standby quota counts them).
            v.push(IndexEntry {
                name: STANDBY_INDEX.into(),
                key: "standby".into(),
            });
        }
        v
    }
    fn unique() -> Vec<String> {
        vec![USER_INDEX.into()]
    }
}

impl Taggable for WorkspaceRec {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

pub(crate) fn user_key(directory: &str, user: &str) -> String {
    format!("{directory}/{}", user.to_lowercase())
}

/// `UserName` of a WorkSpace without a user (WorkSpaces Core); such WorkSpaces are told
/// apart by `WorkspaceName`.
pub(crate) const UNDEFINED_USER: &str = "[UNDEFINED]";

/// What makes a WorkSpace unique in its directory: its user, or for a WorkSpace without a
/// user its `WorkspaceName`.
pub(crate) fn owner_key(directory: &str, user: &str, workspace_name: Option<&str>) -> String {
    match workspace_name {
        Some(name) if user == UNDEFINED_USER => format!("{directory}/{UNDEFINED_USER}#{name}"),
        _ => user_key(directory, user),
    }
}

pub(crate) fn state_of(s: &str) -> ws::WorkspaceState {
    ws::WorkspaceState::from_wire(s).unwrap_or(ws::WorkspaceState::Error)
}

impl WorkspaceRec {
    pub(crate) fn state(&self) -> ws::WorkspaceState {
        state_of(&self.state)
    }

    pub(crate) fn set_state(&mut self, s: ws::WorkspaceState) {
        self.state = s.as_str().to_string();
    }

    pub(crate) fn running_mode(&self) -> ws::RunningMode {
        ws::RunningMode::from_wire(&self.running_mode).unwrap_or(ws::RunningMode::AlwaysOn)
    }

    pub(crate) fn to_wire(&self) -> ws::Workspace {
        let state = self.state();
        let modification_states = self
            .modifying
            .as_deref()
            .and_then(ws::ModificationResourceEnum::from_wire)
            .map(|r| {
                vec![ws::ModificationState {
                    resource: Some(r),
                    state: Some(ws::ModificationStateEnum::UpdateInProgress),
                }]
            });
        ws::Workspace {
            workspace_id: Some(self.id.clone()),
            directory_id: Some(self.directory_id.clone()),
            user_name: Some(self.user_name.clone()),
            bundle_id: Some(self.bundle_id.clone()),
            state: Some(state),
            subnet_id: Some(self.subnet_id.clone()),
            ip_address: self.ip_address.clone(),
            computer_name: self.computer_name.clone(),
            workspace_name: self.workspace_name.clone(),
            volume_encryption_key: self.volume_encryption_key.clone(),
            root_volume_encryption_enabled: Some(self.root_encrypted),
            user_volume_encryption_enabled: Some(self.user_encrypted),
            error_code: self.error_code.clone(),
            error_message: self.error_message.clone(),
            modification_states: Some(modification_states.unwrap_or_default()),
            workspace_properties: Some(ws::WorkspaceProperties {
                running_mode: Some(self.running_mode()),
                running_mode_auto_stop_timeout_in_minutes: self.auto_stop_minutes,
                root_volume_size_gib: Some(self.root_gib),
                user_volume_size_gib: Some(self.user_gib),
                compute_type_name: ws::Compute::from_wire(&self.compute),
                protocols: Some(
                    self.protocols
                        .iter()
                        .filter_map(|p| ws::Protocol::from_wire(p))
                        .collect(),
                ),
                operating_system_name: ws::OperatingSystemName::from_wire(&self.os),
                ..Default::default()
            }),
            related_workspaces: related_wire(self),
            data_replication_settings: replication_wire(self),
            standby_workspaces_properties: standby_properties_wire(self),
            ..Default::default()
        }
    }

    pub(crate) fn is_windows(&self) -> bool {
        self.os.starts_with("WINDOWS")
    }

    /// Network identity assigned when the WorkSpace first becomes AVAILABLE (and on rebuild).
    pub(crate) fn assign_network(&mut self) {
        // The previous address is part of the seed so that a rebuild gets a new one.
        let h = pagination::fingerprint([
            self.id.as_str(),
            self.subnet_id.as_str(),
            &self.created.to_string(),
            self.ip_address.as_deref().unwrap_or(""),
        ]);
        self.ip_address = Some(format!("10.0.{}.{}", (h >> 8) % 254 + 1, h % 253 + 2));
        if self.computer_name.is_none() {
            let suffix = new_id("", 8).to_ascii_uppercase();
            self.computer_name = Some(if self.is_windows() {
                format!("WSAMZN-{suffix}")
            } else {
                format!("A-{}", new_id("", 13).to_ascii_uppercase())
            });
        }
    }
}

/// When the auto-stop timer of `w` fires, if it runs: an AVAILABLE, disconnected AUTO_STOP
/// WorkSpace stops after its timeout (or the `workspace_auto_stop` timing override).
pub(crate) fn auto_stop_at(svc: &Service, w: &WorkspaceRec, now: f64) -> Option<f64> {
    if w.state() != ws::WorkspaceState::Available
        || w.running_mode() != ws::RunningMode::AutoStop
        || w.connected
    {
        return None;
    }
    let configured = svc.engine.timing().duration(TransitionKind::WorkspaceAutoStop);
    let after = if configured.is_finite() {
        configured
    } else {
        f64::from(w.auto_stop_minutes.unwrap_or(60)) * 60.0
    };
    Some(now + after)
}

/// Stages the auto-stop timer of `w` if it runs (see [`auto_stop_at`]); returns whether it
/// does.
pub(crate) fn arm_auto_stop(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    w: &WorkspaceRec,
    now: f64,
) -> Result<bool, Fault> {
    match auto_stop_at(svc, w, now) {
        Some(due) => {
            tx.transition_at(
                scope,
                TransitionKind::WorkspaceAutoStop,
                WORKSPACE_KIND,
                &w.id,
                due,
            )?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// What CreateWorkspaceImage needs of its source WorkSpace.
pub(crate) struct CaptureSource {
    pub state: ws::WorkspaceState,
    /// `OperatingSystemName` wire value.
    pub os: String,
    /// `Compute` wire value.
    pub compute: String,
    /// `Protocol` wire value (the first of the WorkSpace's protocols).
    pub protocol: String,
    pub encrypted: bool,
    /// The WorkSpace as read, with its revision.
    source: WorkspaceRec,
    rev: u64,
}

impl CaptureSource {
    /// Stages the WorkSpace's SUSPENDED state while its image is captured (only when
    /// `state` is AVAILABLE).
    pub(crate) fn suspend(&self, tx: &mut Tx<'_>, scope: &Scope) -> Result<(), Fault> {
        let mut suspended = self.source.clone();
        suspended.set_state(ws::WorkspaceState::Suspended);
        tx.put(scope, &suspended, Expect::Rev(self.rev))
    }
}

/// The WorkSpace `id` as an image source, if it exists.
pub(crate) fn capture_source(svc: &Service, scope: &Scope, id: &str) -> Result<Option<CaptureSource>, Fault> {
    let Some(w) = svc.load::<WorkspaceRec>(scope, id)? else {
        return Ok(None);
    };
    Ok(Some(CaptureSource {
        state: w.rec.state(),
        os: w.rec.os.clone(),
        compute: w.rec.compute.clone(),
        protocol: w
            .rec
            .protocols
            .first()
            .cloned()
            .unwrap_or_else(|| "PCOIP".to_string()),
        encrypted: w.rec.root_encrypted || w.rec.user_encrypted,
        source: w.rec,
        rev: w.rev,
    }))
}

/// Ends an image capture: a SUSPENDED WorkSpace is AVAILABLE again (with its auto-stop timer
/// re-armed). Called while the engine applies the image's transition.
pub(crate) fn end_capture(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    now: f64,
) -> Result<(), Fault> {
    let Some(mut w) = svc.load::<WorkspaceRec>(scope, id)? else {
        return Ok(());
    };
    if w.rec.state() != ws::WorkspaceState::Suspended {
        return Ok(());
    }
    w.rec.set_state(ws::WorkspaceState::Available);
    tx.put(scope, &w.rec, Expect::Rev(w.rev))?;
    arm_auto_stop(svc, tx, scope, &w.rec, now)?;
    Ok(())
}

/// Interval between the periodic snapshots of a healthy WorkSpace (about 12 hours).
pub(crate) const INTERVAL: f64 = 12.0 * 3600.0;

/// Snapshot pairs retained per WorkSpace (inferred; AWS does not document a number).
pub(crate) const KEEP: usize = 5;

/// The snapshot times of a WorkSpace at `now`, oldest first: the recorded ones plus one every
/// [`INTERVAL`] of healthy time since the later of the last snapshot and `healthy_since`.
pub(crate) fn effective(rec: &WorkspaceRec, now: f64) -> Vec<f64> {
    let mut out = rec.snapshots.clone();
    if let Some(since) = rec.healthy_since {
        let mut next = out.last().map_or(since, |last| (last + INTERVAL).max(since));
        if next <= now {
            // Only the last KEEP periodic ones can survive: skip the older ones arithmetically.
            let count = ((now - next) / INTERVAL).floor() + 1.0;
            let skip = (count - KEEP as f64).max(0.0);
            next += skip * INTERVAL;
            while next <= now {
                out.push(next);
                next += INTERVAL;
            }
        }
    }
    if out.len() > KEEP {
        out.drain(..out.len() - KEEP);
    }
    out
}

impl WorkspaceRec {
    /// Folds the periodic snapshots up to `now` into the record and ends the healthy period.
    pub(crate) fn fold(&mut self, now: f64) {
        self.snapshots = effective(self, now);
        self.healthy_since = None;
    }
}

/// Hook after a WorkSpace's state changed (engine transitions, forced states): a WorkSpace that
/// is AVAILABLE is healthy (its first snapshot pair is taken when it first gets there); any
/// other state ends the healthy period. ADMIN_MAINTENANCE (set by ModifyWorkspaceState, which
/// does not call this) keeps it: the WorkSpace keeps running (inferred).
pub(crate) fn state_changed(rec: &mut WorkspaceRec, now: f64) {
    if rec.state() == ws::WorkspaceState::Available {
        if rec.snapshots.is_empty() && rec.healthy_since.is_none() {
            rec.snapshots.push(now);
        }
        if rec.healthy_since.is_none() {
            rec.healthy_since = Some(now);
        }
    } else if rec.healthy_since.is_some() {
        rec.fold(now);
    }
}

/// Index on standby WorkSpace records (the standby quota counts them).
pub(crate) const STANDBY_INDEX: &str = "standby";

/// The other WorkSpace of a primary/standby pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    pub id: String,
    pub region: String,
    /// `PRIMARY` or `STANDBY`: what the *other* WorkSpace is.
    pub kind: String,
}

pub(crate) fn related_wire(w: &WorkspaceRec) -> Option<Vec<ws::RelatedWorkspaceProperties>> {
    (!w.related.is_empty()).then(|| {
        w.related
            .iter()
            .map(|r| ws::RelatedWorkspaceProperties {
                region: Some(r.region.clone()),
                state: None,
                r#type: ws::StandbyWorkspaceRelationshipType::from_wire(&r.kind),
                workspace_id: Some(r.id.clone()),
            })
            .collect()
    })
}

pub(crate) fn replication_wire(w: &WorkspaceRec) -> Option<ws::DataReplicationSettings> {
    let d = w.data_replication.as_deref()?;
    Some(ws::DataReplicationSettings {
        data_replication: ws::DataReplication::from_wire(d),
        recovery_snapshot_time: w.snapshots.last().copied(),
    })
}

pub(crate) fn standby_properties_wire(w: &WorkspaceRec) -> Option<Vec<ws::StandbyWorkspacesProperties>> {
    let standbys: Vec<_> = w
        .related
        .iter()
        .filter(|r| r.kind == "STANDBY")
        .map(|r| ws::StandbyWorkspacesProperties {
            data_replication: w
                .data_replication
                .as_deref()
                .and_then(ws::DataReplication::from_wire),
            recovery_snapshot_time: w.snapshots.last().copied(),
            standby_workspace_id: Some(r.id.clone()),
        })
        .collect();
    (!standbys.is_empty()).then_some(standbys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(snapshots: Vec<f64>, healthy_since: Option<f64>) -> WorkspaceRec {
        let mut r: WorkspaceRec = serde_json::from_value(serde_json::json!({
            "id": "ws-abcdefghi", "directory_id": "d-1234567890", "user_name": "u",
            "bundle_id": "wsb-abcdefghi", "state": "AVAILABLE", "running_mode": "ALWAYS_ON",
            "root_gib": 80, "user_gib": 50, "compute": "STANDARD", "protocols": ["PCOIP"],
            "os": "WINDOWS_SERVER_2022", "subnet_id": "subnet-1", "created": 0.0
        }))
        .expect("record");
        r.snapshots = snapshots;
        r.healthy_since = healthy_since;
        r
    }

    #[test]
    fn periodic_snapshots_every_twelve_healthy_hours() {
        let r = rec(vec![100.0], Some(100.0));
        assert_eq!(effective(&r, 100.0 + INTERVAL - 1.0), vec![100.0]);
        assert_eq!(effective(&r, 100.0 + INTERVAL), vec![100.0, 100.0 + INTERVAL]);
        // Not healthy: nothing new.
        assert_eq!(effective(&rec(vec![100.0], None), 1e9), vec![100.0]);
        // A long healthy time keeps the last KEEP only.
        let long = effective(&r, 100.0 + 100.0 * INTERVAL + 5.0);
        assert_eq!(long.len(), KEEP);
        assert_eq!(long.last().copied(), Some(100.0 + 100.0 * INTERVAL));
        // Healthy again after a pause: the next one is due 12 h after the last, or at once.
        let back = rec(vec![100.0], Some(100.0 + 3.0 * INTERVAL));
        assert_eq!(
            effective(&back, 100.0 + 3.0 * INTERVAL),
            vec![100.0, 100.0 + 3.0 * INTERVAL]
        );
    }

    #[test]
    fn first_available_takes_the_first_snapshot_and_leaving_folds() {
        let mut r = rec(Vec::new(), None);
        state_changed(&mut r, 10.0);
        assert_eq!((r.snapshots.clone(), r.healthy_since), (vec![10.0], Some(10.0)));
        r.state = "STOPPED".to_string();
        state_changed(&mut r, 10.0 + INTERVAL + 1.0);
        assert_eq!(r.snapshots, vec![10.0, 10.0 + INTERVAL]);
        assert_eq!(r.healthy_since, None);
    }
}
