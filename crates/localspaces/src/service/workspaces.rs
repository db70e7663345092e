//! WorkSpaces: CreateWorkspaces, DescribeWorkspaces, the batch actions (start, stop, reboot,
//! rebuild, terminate), ModifyWorkspaceProperties/State and connection status.
//!
//! States follow the spec's transition table (§5.3): a call writes the transitional state and
//! a pending transition in one commit; the engine later writes the end state. Batch actions
//! report per-item failures in `FailedRequests` (codes follow WorkSpaces' `Category.Resource`
//! style; AWS's exact strings for these are unconfirmed).

use super::bundles::resolve_bundle;
use super::directories::directory_view;
use super::ids::new_id;
use super::lifecycle::Applied;
use super::pagination;
use super::records::{merge_tags, Resource, StoredTag, Taggable};
use super::{Context, Service};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope, StoreError, Write};
use serde::{Deserialize, Serialize};

/// Store kind of WorkSpaces.
pub(crate) const WORKSPACE_KIND: &str = "workspace";
/// Index on WorkSpace records: the directory id (DescribeWorkspaces by directory, and the
/// directory family's "no WorkSpaces left" check before deregistration).
pub(crate) const DIRECTORY_INDEX: &str = "directory";
/// Unique index: one WorkSpace per (directory, user name); user names are not case-sensitive.
const USER_INDEX: &str = "user";
pub(crate) const BUNDLE_INDEX: &str = "bundle";
const NAME_INDEX: &str = "name";

/// Six hours, the minimum time between volume or compute changes (doc).
const CHANGE_WINDOW: f64 = 6.0 * 3600.0;

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
    pub related: Vec<super::standby::Related>,
    /// `DataReplication` wire value of a primary/standby pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_replication: Option<String>,
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
                name: super::standby::STANDBY_INDEX.into(),
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

fn user_key(directory: &str, user: &str) -> String {
    format!("{directory}/{}", user.to_lowercase())
}

/// `UserName` of a WorkSpace without a user (WorkSpaces Core); such WorkSpaces are told
/// apart by `WorkspaceName`.
const UNDEFINED_USER: &str = "[UNDEFINED]";

/// What makes a WorkSpace unique in its directory: its user, or for a WorkSpace without a
/// user its `WorkspaceName`.
fn owner_key(directory: &str, user: &str, workspace_name: Option<&str>) -> String {
    match workspace_name {
        Some(name) if user == UNDEFINED_USER => format!("{directory}/{UNDEFINED_USER}#{name}"),
        _ => user_key(directory, user),
    }
}

fn state_of(s: &str) -> ws::WorkspaceState {
    ws::WorkspaceState::from_wire(s).unwrap_or(ws::WorkspaceState::Error)
}

impl WorkspaceRec {
    fn state(&self) -> ws::WorkspaceState {
        state_of(&self.state)
    }

    fn set_state(&mut self, s: ws::WorkspaceState) {
        self.state = s.as_str().to_string();
    }

    fn running_mode(&self) -> ws::RunningMode {
        ws::RunningMode::from_wire(&self.running_mode).unwrap_or(ws::RunningMode::AlwaysOn)
    }

    fn to_wire(&self) -> ws::Workspace {
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
            related_workspaces: super::standby::related_wire(self),
            data_replication_settings: super::standby::replication_wire(self),
            standby_workspaces_properties: super::standby::standby_properties_wire(self),
            ..Default::default()
        }
    }

    fn is_windows(&self) -> bool {
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

fn failed(id: &str, code: &str, message: &str) -> ws::FailedWorkspaceChangeRequest {
    ws::FailedWorkspaceChangeRequest {
        workspace_id: Some(id.to_string()),
        error_code: Some(code.to_string()),
        error_message: Some(message.to_string()),
    }
}

fn not_found_item(id: &str) -> ws::FailedWorkspaceChangeRequest {
    failed(
        id,
        "ResourceNotFound.Workspace",
        "The specified WorkSpace cannot be found. Confirm that the workspace exists in your AWS account, and try again.",
    )
}

fn bad_state_item(id: &str) -> ws::FailedWorkspaceChangeRequest {
    failed(
        id,
        "InvalidResourceState.Workspace",
        "The specified WorkSpace has an invalid state for this operation.",
    )
}

/// Checks volume sizes against the allowed (root, user) groups: [80, 10], [80, 50], [80, 100],
/// [175..2000, 100..2000] (doc).
fn volumes_allowed(root: i32, user: i32) -> bool {
    matches!((root, user), (80, 10) | (80, 50) | (80, 100))
        || ((175..=2000).contains(&root) && (100..=2000).contains(&user))
}

/// Validates running mode and auto-stop timeout; returns the item error code on failure.
/// Running mode MANUAL is for WorkSpaces Core accounts only.
fn check_manual_allowed(svc: &Service, scope: &Scope, mode: ws::RunningMode) -> Result<(), Error> {
    if mode == ws::RunningMode::Manual && !super::account::is_core_account(svc, scope)? {
        return Err(invalid(
            "Running mode MANUAL is only available to Amazon WorkSpaces Core accounts.",
        ));
    }
    Ok(())
}

fn check_running_mode(
    mode: ws::RunningMode,
    timeout: Option<i32>,
) -> Result<Option<i32>, (&'static str, String)> {
    match mode {
        ws::RunningMode::AlwaysOn => match timeout {
            Some(_) => Err((
                "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to ALWAYS_ON."
                    .to_string(),
            )),
            None => Ok(None),
        },
        ws::RunningMode::Manual => match timeout {
            Some(_) => Err((
                "AutoStopTimeoutIsNotDefaultForManualWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to MANUAL."
                    .to_string(),
            )),
            None => Ok(None),
        },
        ws::RunningMode::AutoStop => {
            let t = timeout.unwrap_or(60);
            if t <= 0 || t % 60 != 0 || t > 48 * 60 {
                return Err((
                    "InvalidParameterValuesException",
                    format!("RunningModeAutoStopTimeoutInMinutes must be a multiple of 60 between 60 and 2880, got {t}."),
                ));
            }
            Ok(Some(t))
        }
    }
}

pub fn create_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspacesRequest,
) -> Result<ws::CreateWorkspacesResult, Error> {
    let now = svc.clock.now();
    let mut failed_requests = Vec::new();
    let mut created: Vec<WorkspaceRec> = Vec::new();
    let pending = {
        let _w = svc.write.lock();
        for req in input.workspaces {
            match build_workspace(svc, cx, &req, &created, now) {
                Ok(w) => created.push(w),
                Err((code, message)) => failed_requests.push(ws::FailedCreateWorkspaceRequest {
                    workspace_request: Some(req),
                    error_code: Some(code.to_string()),
                    error_message: Some(message),
                }),
            }
        }
        let existing = svc.count::<WorkspaceRec>(&cx.scope, None)?;
        if existing + created.len() as u64 > svc.limits.workspaces {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!(
                    "Your request would exceed the WorkSpaces quota of {} in this Region ({existing} exist).",
                    svc.limits.workspaces
                ),
            ));
        }
        let mut writes = Vec::with_capacity(created.len() * 2);
        let mut pending = Vec::with_capacity(created.len());
        for w in &created {
            writes.push(Service::put(&cx.scope, w, Expect::Absent)?);
            let (tw, t) =
                svc.transition(&cx.scope, TransitionKind::WorkspaceCreate, WORKSPACE_KIND, &w.id)?;
            writes.push(tw);
            pending.push(t);
        }
        if !writes.is_empty() {
            svc.commit(writes, || {
                Error::new(
                    ErrorCode::ResourceLimitExceededException,
                    "A WorkSpace for one of these users was created meanwhile.",
                )
            })?;
        }
        pending
    };
    let pending_requests = created.iter().map(WorkspaceRec::to_wire).collect();
    svc.scheduled(&cx.scope, &pending);
    Ok(ws::CreateWorkspacesResult {
        failed_requests: Some(failed_requests),
        pending_requests: Some(pending_requests),
    })
}

/// Validates one WorkspaceRequest and builds the PENDING record, or the item's error.
fn build_workspace(
    svc: &Service,
    cx: &Context,
    req: &ws::WorkspaceRequest,
    batch: &[WorkspaceRec],
    now: f64,
) -> Result<WorkspaceRec, (&'static str, String)> {
    let internal = |e: Error| ("InternalFailure", e.message);
    let dir = directory_view(svc, &cx.scope, &req.directory_id).map_err(internal)?;
    let Some(dir) = dir.filter(|d| d.state == ws::WorkspaceDirectoryState::Registered) else {
        return Err((
            "ResourceNotFound.Directory",
            "The specified directory could not be found in the specified region.".into(),
        ));
    };
    // Personal WorkSpaces need a PERSONAL directory; POOLS directories serve pools only.
    if dir.workspace_type == Some(ws::WorkspaceType::Pools) {
        return Err((
            "InvalidResourceState.Directory",
            "The specified directory is a WorkSpaces Pools directory; WorkSpaces can only be created in a PERSONAL directory."
                .into(),
        ));
    }
    // A WorkSpace without a user (UserName [UNDEFINED]) is known by its WorkspaceName; a
    // WorkSpace with a user has none.
    let decoupled = req.user_name == UNDEFINED_USER;
    match (&req.workspace_name, decoupled) {
        (None, true) => {
            return Err((
                "InvalidParameterValuesException",
                "WorkspaceName is required when UserName is [UNDEFINED].".into(),
            ))
        }
        (Some(_), false) => {
            return Err((
                "InvalidParameterValuesException",
                "WorkspaceName can only be given for a WorkSpace without a user (UserName [UNDEFINED])."
                    .into(),
            ))
        }
        _ => {}
    }
    // Public bundles and the account's custom bundles.
    let Some(bundle) = resolve_bundle(svc, &cx.scope, &req.bundle_id).map_err(internal)? else {
        return Err((
            "ResourceNotFound.Bundle",
            "The specified bundle could not be found in the specified region.".into(),
        ));
    };
    let key = owner_key(&req.directory_id, &req.user_name, req.workspace_name.as_deref());
    let exists = svc
        .count::<WorkspaceRec>(
            &cx.scope,
            Some(IndexEntry {
                name: USER_INDEX.into(),
                key: key.clone(),
            }),
        )
        .map_err(internal)?;
    if exists > 0
        || batch
            .iter()
            .any(|w| owner_key(&w.directory_id, &w.user_name, w.workspace_name.as_deref()) == key)
    {
        return Err((
            "ResourceExists.WorkSpace",
            if decoupled {
                "A WorkSpace with the specified WorkspaceName already exists in this directory.".into()
            } else {
                "A WorkSpace already exists for the specified user.".into()
            },
        ));
    }
    let props = req.workspace_properties.clone().unwrap_or_default();
    let mode = props.running_mode.unwrap_or(ws::RunningMode::AlwaysOn);
    let auto_stop = check_running_mode(mode, props.running_mode_auto_stop_timeout_in_minutes)?;
    check_manual_allowed(svc, &cx.scope, mode).map_err(|e| ("InvalidParameterValuesException", e.message))?;
    let root = props.root_volume_size_gib.unwrap_or(bundle.root_gib);
    let user = props.user_volume_size_gib.unwrap_or(bundle.user_gib);
    // The bundle gives the defaults; any allowed group may be chosen at launch (Terraform's
    // provider sends 80/10 unless told otherwise).
    if !volumes_allowed(root, user) {
        return Err((
            "InvalidParameterValuesException",
            format!("The volume sizes root {root} GiB / user {user} GiB are not supported for this bundle."),
        ));
    }
    let mut tags = Vec::new();
    merge_tags(
        &mut tags,
        req.tags.as_deref().unwrap_or_default(),
        svc.limits.tags_per_resource,
    )
    .map_err(|e| (localspaces_api::error::ErrorTable::name(e.code), e.message))?;
    let protocols = match &props.protocols {
        Some(p) if !p.is_empty() => p.iter().map(|x| x.as_str().to_string()).collect(),
        _ => vec![bundle.protocol.as_str().to_string()],
    };
    let id = new_id("ws-", 9);
    let subnets = &dir.subnet_ids;
    let subnet_id = if subnets.is_empty() {
        String::new()
    } else {
        subnets[(pagination::fingerprint([id.as_str()]) as usize) % subnets.len()].clone()
    };
    Ok(WorkspaceRec {
        id,
        directory_id: req.directory_id.clone(),
        user_name: req.user_name.clone(),
        bundle_id: req.bundle_id.clone(),
        state: ws::WorkspaceState::Pending.as_str().to_string(),
        running_mode: mode.as_str().to_string(),
        auto_stop_minutes: auto_stop,
        root_gib: root,
        user_gib: user,
        compute: props
            .compute_type_name
            .unwrap_or(bundle.compute)
            .as_str()
            .to_string(),
        protocols,
        os: bundle.os.as_str().to_string(),
        subnet_id,
        ip_address: None,
        computer_name: None,
        workspace_name: req.workspace_name.clone(),
        volume_encryption_key: req.volume_encryption_key.clone(),
        root_encrypted: req.root_volume_encryption_enabled.unwrap_or(false),
        user_encrypted: req.user_volume_encryption_enabled.unwrap_or(false),
        tags,
        created: now,
        last_volume_change: None,
        last_compute_change: None,
        prior_state: None,
        modifying: None,
        connected: false,
        last_connection: None,
        error_code: None,
        error_message: None,
        snapshots: Vec::new(),
        healthy_since: None,
        migrating_to: None,
        related: Vec::new(),
        data_replication: None,
    })
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

pub fn describe_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesRequest,
) -> Result<ws::DescribeWorkspacesResult, Error> {
    const OP: &str = "DescribeWorkspaces";
    let limit = input.limit.map_or(25, |n| n as usize);
    let ids = input.workspace_ids.unwrap_or_default();
    let filters = [
        !ids.is_empty(),
        input.directory_id.is_some(),
        input.bundle_id.is_some(),
        input.workspace_name.is_some(),
    ];
    if filters.iter().filter(|f| **f).count() > 1 {
        return Err(invalid(
            "Use only one of WorkspaceIds, DirectoryId (with an optional UserName), BundleId or WorkspaceName.",
        ));
    }
    if input.user_name.is_some() && input.directory_id.is_none() {
        return Err(invalid("UserName can only be used together with DirectoryId."));
    }
    let fp: Vec<String> = ids
        .iter()
        .cloned()
        .chain(input.directory_id.iter().map(|d| format!("d={d}")))
        .chain(input.user_name.iter().map(|u| format!("u={}", u.to_lowercase())))
        .chain(input.bundle_id.iter().map(|b| format!("b={b}")))
        .chain(input.workspace_name.iter().map(|n| format!("n={n}")))
        .collect();
    let filter = pagination::fingerprint(fp.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let index = match (
        &input.directory_id,
        &input.user_name,
        &input.bundle_id,
        &input.workspace_name,
    ) {
        (Some(d), Some(u), _, _) => Some(IndexEntry {
            name: USER_INDEX.into(),
            key: user_key(d, u),
        }),
        (Some(d), None, _, _) => Some(IndexEntry {
            name: DIRECTORY_INDEX.into(),
            key: d.clone(),
        }),
        (_, _, Some(b), _) => Some(IndexEntry {
            name: BUNDLE_INDEX.into(),
            key: b.clone(),
        }),
        (_, _, _, Some(n)) => Some(IndexEntry {
            name: NAME_INDEX.into(),
            key: n.clone(),
        }),
        _ => None,
    };
    let mut found = if ids.is_empty() {
        svc.scan::<WorkspaceRec>(&cx.scope, index, after, Some(limit + 1))?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many::<WorkspaceRec>(&cx.scope, &refs)?;
        got.sort_by_key(|w| w.seq);
        got.dedup_by_key(|w| w.seq);
        got.retain(|w| after.is_none_or(|a| w.seq > a));
        got.truncate(limit + 1);
        got
    };
    let next_token = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|w| pagination::encode(OP, filter, w.seq))
    } else {
        None
    };
    Ok(ws::DescribeWorkspacesResult {
        workspaces: Some(
            found
                .iter()
                .map(|w| super::standby::with_related_states(svc, &cx.scope, w.rec.to_wire()))
                .collect(),
        ),
        next_token,
    })
}

/// What a batch action does to one WorkSpace: the transitional state and its transition, or
/// `None` when the WorkSpace's state does not allow the action.
type Action = fn(&WorkspaceRec) -> Option<(ws::WorkspaceState, TransitionKind)>;

/// Runs a batch action over `ids`: per-item failures, one commit for the rest.
fn batch(
    svc: &Service,
    cx: &Context,
    ids: Vec<String>,
    action: Action,
) -> Result<Vec<ws::FailedWorkspaceChangeRequest>, Error> {
    let mut failures = Vec::new();
    let pending = {
        let _w = svc.write.lock();
        let mut writes: Vec<Write> = Vec::new();
        let mut pending = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for id in &ids {
            if seen.contains(&id.as_str()) {
                // The same WorkSpace twice in one call: the repeat fails.
                failures.push(bad_state_item(id));
                continue;
            }
            seen.push(id);
            let Some(mut w) = svc.load::<WorkspaceRec>(&cx.scope, id)? else {
                failures.push(not_found_item(id));
                continue;
            };
            let Some((state, kind)) = action(&w.rec) else {
                failures.push(bad_state_item(id));
                continue;
            };
            if kind == TransitionKind::WorkspaceTerminate
                && matches!(
                    w.rec.state(),
                    ws::WorkspaceState::Terminating | ws::WorkspaceState::Terminated
                )
            {
                // Already on its way out: terminating again succeeds and changes nothing
                // (spec §5.3: terminate is allowed in every state but SUSPENDED).
                continue;
            }
            w.rec.set_state(state);
            if kind == TransitionKind::WorkspaceTerminate {
                w.rec.modifying = None;
            }
            let (tw, t) = svc.transition(&cx.scope, kind, WORKSPACE_KIND, id)?;
            writes.push(Service::put(&cx.scope, &w.rec, Expect::Rev(w.rev))?);
            writes.push(tw);
            pending.push(t);
        }
        if !writes.is_empty() {
            svc.commit(writes, || {
                Error::new(
                    ErrorCode::InvalidResourceStateException,
                    "A WorkSpace changed meanwhile; try again.",
                )
            })?;
        }
        pending
    };
    svc.scheduled(&cx.scope, &pending);
    Ok(failures)
}

/// The ids of batch items, and a failure for each item that has none (the model makes
/// `WorkspaceId` optional there; such an item is reported, never dropped).
fn with_ids(
    items: impl Iterator<Item = Option<String>>,
) -> (Vec<String>, Vec<ws::FailedWorkspaceChangeRequest>) {
    let mut ids = Vec::new();
    let mut failed = Vec::new();
    for id in items {
        match id {
            Some(id) => ids.push(id),
            None => failed.push(ws::FailedWorkspaceChangeRequest {
                workspace_id: None,
                error_code: Some("InvalidParameterValuesException".to_string()),
                error_message: Some("WorkspaceId is required.".to_string()),
            }),
        }
    }
    (ids, failed)
}

fn stoppable_mode(w: &WorkspaceRec) -> bool {
    matches!(
        w.running_mode(),
        ws::RunningMode::AutoStop | ws::RunningMode::Manual
    )
}

pub fn start_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StartWorkspacesRequest,
) -> Result<ws::StartWorkspacesResult, Error> {
    let (ids, mut failed) = with_ids(input.start_workspace_requests.into_iter().map(|r| r.workspace_id));
    failed.extend(batch(svc, cx, ids, |w| {
        (w.state() == ws::WorkspaceState::Stopped && stoppable_mode(w))
            .then_some((ws::WorkspaceState::Starting, TransitionKind::WorkspaceStart))
    })?);
    Ok(ws::StartWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn stop_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::StopWorkspacesRequest,
) -> Result<ws::StopWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let (ids, mut failed) = with_ids(input.stop_workspace_requests.into_iter().map(|r| r.workspace_id));
    failed.extend(batch(svc, cx, ids, |w| {
        (matches!(w.state(), S::Available | S::Impaired | S::Unhealthy | S::Error) && stoppable_mode(w))
            .then_some((S::Stopping, TransitionKind::WorkspaceStop))
    })?);
    Ok(ws::StopWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn reboot_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebootWorkspacesRequest,
) -> Result<ws::RebootWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .reboot_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        matches!(
            w.state(),
            S::Available | S::Unhealthy | S::Impaired | S::Rebooting
        )
        .then_some((S::Rebooting, TransitionKind::WorkspaceReboot))
    })?;
    Ok(ws::RebootWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn rebuild_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::RebuildWorkspacesRequest,
) -> Result<ws::RebuildWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .rebuild_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        matches!(
            w.state(),
            S::Available | S::Error | S::Unhealthy | S::Stopped | S::Rebooting
        )
        .then_some((S::Rebuilding, TransitionKind::WorkspaceRebuild))
    })?;
    Ok(ws::RebuildWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn terminate_workspaces(
    svc: &Service,
    cx: &Context,
    input: ws::TerminateWorkspacesRequest,
) -> Result<ws::TerminateWorkspacesResult, Error> {
    use ws::WorkspaceState as S;
    let ids = input
        .terminate_workspace_requests
        .into_iter()
        .map(|r| r.workspace_id)
        .collect();
    let failed = batch(svc, cx, ids, |w| {
        (w.state() != S::Suspended).then_some((S::Terminating, TransitionKind::WorkspaceTerminate))
    })?;
    Ok(ws::TerminateWorkspacesResult {
        failed_requests: Some(failed),
    })
}

pub fn modify_workspace_properties(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspacePropertiesRequest,
) -> Result<ws::ModifyWorkspacePropertiesResult, Error> {
    use ws::WorkspaceState as S;
    let Some(p) = input.workspace_properties else {
        if let Some(d) = input.data_replication {
            return super::standby::set_data_replication(svc, cx, &input.workspace_id, d)
                .map(|()| ws::ModifyWorkspacePropertiesResult {});
        }
        return Err(invalid("WorkspaceProperties is required."));
    };
    let now = svc.clock.now();
    let pending = {
        let _w = svc.write.lock();
        let mut w = svc
            .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
            .ok_or_else(|| super::records::not_found("WorkSpace", &input.workspace_id))?;
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
        // operation; the spec uses it for every bad combination.
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
        let mut writes = Vec::new();
        let mut pending = Vec::new();
        if let Some(r) = resource {
            w.rec.prior_state = Some(w.rec.state.clone());
            w.rec.modifying = Some(r.as_str().to_string());
            w.rec.set_state(S::Updating);
            let (tw, t) = svc.transition(
                &cx.scope,
                TransitionKind::WorkspaceUpdate,
                WORKSPACE_KIND,
                &w.rec.id,
            )?;
            writes.push(tw);
            pending.push(t);
        } else if state == S::Available {
            // Running-mode changes re-arm (or cancel) the auto-stop timer.
            match auto_stop_timer(svc, &cx.scope, &w.rec, now)? {
                Some((tw, t)) => {
                    writes.push(tw);
                    pending.push(t);
                }
                None => writes.push(Service::cancel_transition(&cx.scope, WORKSPACE_KIND, &w.rec.id)),
            }
        }
        writes.insert(0, Service::put(&cx.scope, &w.rec, Expect::Rev(w.rev))?);
        svc.commit(writes, || {
            Error::new(
                ErrorCode::OperationInProgressException,
                "The WorkSpace changed meanwhile.",
            )
        })?;
        pending
    };
    svc.scheduled(&cx.scope, &pending);
    Ok(ws::ModifyWorkspacePropertiesResult {})
}

pub fn modify_workspace_state(
    svc: &Service,
    cx: &Context,
    input: ws::ModifyWorkspaceStateRequest,
) -> Result<ws::ModifyWorkspaceStateResult, Error> {
    use ws::WorkspaceState as S;
    let now = svc.clock.now();
    let pending = {
        let _w = svc.write.lock();
        let mut w = svc
            .load::<WorkspaceRec>(&cx.scope, &input.workspace_id)?
            .ok_or_else(|| super::records::not_found("WorkSpace", &input.workspace_id))?;
        let target = match (w.rec.state(), input.workspace_state) {
            (S::Available, ws::TargetWorkspaceState::AdminMaintenance) => S::AdminMaintenance,
            (S::AdminMaintenance, ws::TargetWorkspaceState::Available) => S::Available,
            (s, t) if s.as_str() == t.as_str() => return Ok(ws::ModifyWorkspaceStateResult {}),
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
        let mut writes = vec![Service::put(&cx.scope, &w.rec, Expect::Rev(w.rev))?];
        let mut pending = Vec::new();
        match auto_stop_timer(svc, &cx.scope, &w.rec, now)? {
            Some((tw, t)) => {
                writes.push(tw);
                pending.push(t);
            }
            // ADMIN_MAINTENANCE WorkSpaces are never auto-stopped.
            None => writes.push(Service::cancel_transition(&cx.scope, WORKSPACE_KIND, &w.rec.id)),
        }
        svc.commit(writes, || {
            Error::new(
                ErrorCode::InvalidResourceStateException,
                "The WorkSpace changed meanwhile.",
            )
        })?;
        pending
    };
    svc.scheduled(&cx.scope, &pending);
    Ok(ws::ModifyWorkspaceStateResult {})
}

pub fn describe_workspaces_connection_status(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesConnectionStatusRequest,
) -> Result<ws::DescribeWorkspacesConnectionStatusResult, Error> {
    const OP: &str = "DescribeWorkspacesConnectionStatus";
    const PAGE: usize = 25;
    let ids = input.workspace_ids.unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let mut found = if ids.is_empty() {
        svc.scan::<WorkspaceRec>(&cx.scope, None, after, Some(PAGE + 1))?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many::<WorkspaceRec>(&cx.scope, &refs)?;
        got.sort_by_key(|w| w.seq);
        got.dedup_by_key(|w| w.seq);
        got.retain(|w| after.is_none_or(|a| w.seq > a));
        got
    };
    let next_token = if found.len() > PAGE {
        found.truncate(PAGE);
        found.last().map(|w| pagination::encode(OP, filter, w.seq))
    } else {
        None
    };
    let now = svc.clock.now();
    let list = found
        .iter()
        .map(|w| ws::WorkspaceConnectionStatus {
            workspace_id: Some(w.rec.id.clone()),
            // Only a running WorkSpace has a known connection state (inferred).
            connection_state: Some(match (w.rec.state(), w.rec.connected) {
                (ws::WorkspaceState::Available, true) => ws::ConnectionState::Connected,
                (ws::WorkspaceState::Available, false) => ws::ConnectionState::Disconnected,
                _ => ws::ConnectionState::Unknown,
            }),
            connection_state_check_timestamp: Some(now),
            last_known_user_connection_timestamp: w.rec.last_connection,
        })
        .collect();
    Ok(ws::DescribeWorkspacesConnectionStatusResult {
        workspaces_connection_status: Some(list),
        next_token,
    })
}

/// The auto-stop timer of an AVAILABLE, disconnected AUTO_STOP WorkSpace: due after its
/// timeout (or the `workspace_auto_stop` timing override).
pub(crate) fn auto_stop_timer(
    svc: &Service,
    scope: &Scope,
    w: &WorkspaceRec,
    now: f64,
) -> Result<Option<(Write, PendingTransition)>, Error> {
    if w.state() != ws::WorkspaceState::Available
        || w.running_mode() != ws::RunningMode::AutoStop
        || w.connected
    {
        return Ok(None);
    }
    let configured = svc.engine.timing().duration(TransitionKind::WorkspaceAutoStop);
    let after = if configured.is_finite() {
        configured
    } else {
        f64::from(w.auto_stop_minutes.unwrap_or(60)) * 60.0
    };
    svc.transition_at(
        scope,
        TransitionKind::WorkspaceAutoStop,
        WORKSPACE_KIND,
        &w.id,
        now + after,
    )
    .map(Some)
}

/// Applies one due transition of this family's resources (called by the engine).
pub(crate) fn apply_transition(
    svc: &Service,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Applied, StoreError> {
    use ws::WorkspaceState as S;
    use TransitionKind as K;
    let backend = |e: Error| StoreError::Backend(e.message);
    let Some(mut w) = svc.load::<WorkspaceRec>(scope, &t.resource_id).map_err(backend)? else {
        return Ok(Applied {
            writes: Vec::new(),
            next: None,
        });
    };
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
            return Ok(Applied {
                writes: vec![Service::delete::<WorkspaceRec>(scope, &w.rec.id, w.rev)],
                next: None,
            });
        }
        (K::WorkspaceAutoStop, S::Available)
            if w.rec.running_mode() == ws::RunningMode::AutoStop && !w.rec.connected =>
        {
            w.rec.set_state(S::Stopping);
            next = Some(follow(K::WorkspaceStop, &w.rec));
        }
        _ => {
            return Ok(Applied {
                writes: Vec::new(),
                next: None,
            })
        }
    }
    super::snapshots::state_changed(&mut w.rec, now);
    if next.is_none() {
        next = auto_stop_timer(svc, scope, &w.rec, now)
            .map_err(backend)?
            .map(|(_, t)| t);
    }
    Ok(Applied {
        writes: vec![Service::put(scope, &w.rec, Expect::Rev(w.rev)).map_err(backend)?],
        next,
    })
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
        let pending = {
            let _w = self.write.lock();
            let mut w = self
                .load::<WorkspaceRec>(scope, workspace_id)?
                .ok_or_else(|| super::records::not_found("WorkSpace", workspace_id))?;
            w.rec.connected = connected;
            if connected {
                w.rec.last_connection = Some(now);
            }
            let mut writes = vec![Service::put(scope, &w.rec, Expect::Rev(w.rev))?];
            let mut pending = Vec::new();
            if w.rec.state() == ws::WorkspaceState::Available {
                match auto_stop_timer(self, scope, &w.rec, now)? {
                    Some((tw, t)) => {
                        writes.push(tw);
                        pending.push(t);
                    }
                    None => writes.push(Service::cancel_transition(scope, WORKSPACE_KIND, workspace_id)),
                }
            }
            self.commit(writes, || {
                Error::new(ErrorCode::InvalidResourceStateException, "changed meanwhile")
            })?;
            pending
        };
        self.scheduled(scope, &pending);
        Ok(())
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
        let _w = self.write.lock();
        let mut w = self
            .load::<WorkspaceRec>(scope, workspace_id)?
            .ok_or_else(|| super::records::not_found("WorkSpace", workspace_id))?;
        w.rec.set_state(s);
        w.rec.modifying = None;
        if s == ws::WorkspaceState::Error {
            w.rec.error_code = Some("InternalFailure".to_string());
            w.rec.error_message = Some("Forced into ERROR by the localspaces admin route.".to_string());
        } else {
            w.rec.error_code = None;
            w.rec.error_message = None;
        }
        super::snapshots::state_changed(&mut w.rec, self.clock.now());
        self.commit(
            vec![
                Service::put(scope, &w.rec, Expect::Rev(w.rev))?,
                Service::cancel_transition(scope, WORKSPACE_KIND, workspace_id),
            ],
            || Error::new(ErrorCode::InvalidResourceStateException, "changed meanwhile"),
        )
    }
}

// ---------------------------------------------------------------- image capture (images.rs)

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
    /// The write that shows the WorkSpace SUSPENDED while its image is captured (spec §7.4);
    /// commit it only if `state` is AVAILABLE.
    pub suspend: Write,
}

/// The WorkSpace `id` as an image source, if it exists.
pub(crate) fn capture_source(svc: &Service, scope: &Scope, id: &str) -> Result<Option<CaptureSource>, Error> {
    let Some(w) = svc.load::<WorkspaceRec>(scope, id)? else {
        return Ok(None);
    };
    let mut suspended = w.rec.clone();
    suspended.set_state(ws::WorkspaceState::Suspended);
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
        suspend: Service::put(scope, &suspended, Expect::Rev(w.rev))?,
    }))
}

/// The writes that end an image capture: a SUSPENDED WorkSpace is AVAILABLE again (with its
/// auto-stop timer re-armed). Called while the engine applies the image's transition.
pub(crate) fn end_capture(svc: &Service, scope: &Scope, id: &str, now: f64) -> Result<Vec<Write>, Error> {
    let Some(mut w) = svc.load::<WorkspaceRec>(scope, id)? else {
        return Ok(Vec::new());
    };
    if w.rec.state() != ws::WorkspaceState::Suspended {
        return Ok(Vec::new());
    }
    w.rec.set_state(ws::WorkspaceState::Available);
    let mut writes = vec![Service::put(scope, &w.rec, Expect::Rev(w.rev))?];
    if let Some((tw, t)) = auto_stop_timer(svc, scope, &w.rec, now)? {
        writes.push(tw);
        // The write lock is held until the commit, so the engine cannot apply it earlier.
        svc.engine.schedule(t.key(scope), t.due);
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_groups() {
        assert!(
            volumes_allowed(80, 10)
                && volumes_allowed(80, 100)
                && volumes_allowed(175, 100)
                && volumes_allowed(2000, 2000)
        );
        assert!(
            !volumes_allowed(80, 20)
                && !volumes_allowed(100, 100)
                && !volumes_allowed(175, 50)
                && !volumes_allowed(2001, 100)
        );
    }

    #[test]
    fn running_mode_rules() {
        assert!(check_running_mode(ws::RunningMode::AlwaysOn, Some(60)).is_err());
        assert_eq!(
            check_running_mode(ws::RunningMode::AutoStop, None).unwrap(),
            Some(60)
        );
        assert!(check_running_mode(ws::RunningMode::AutoStop, Some(90)).is_err());
        assert!(check_running_mode(ws::RunningMode::Manual, Some(60)).is_err());
    }
}
