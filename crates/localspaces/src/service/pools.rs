//! WorkSpaces Pools: CreateWorkspacesPool, DescribeWorkspacesPools,
//! UpdateWorkspacesPool, StartWorkspacesPool, StopWorkspacesPool, TerminateWorkspacesPool,
//! DescribeWorkspacesPoolSessions, TerminateWorkspacesPoolSession.
//!
//! A pool lives on a POOLS directory (`wsd-…`, SAML, registered without a DirectoryId) and a
//! Windows bundle. States on the engine: CREATING → STOPPED; STARTING → RUNNING (capacity
//! ramps to DesiredUserSessions); STOPPING → STOPPED (capacity drops to 0, sessions end);
//! UPDATING → the state before (a running pool whose capacity, bundle, directory or
//! settings change); TerminateWorkspacesPool: (STOPPING →) DELETING → gone.
//!
//! Sessions come from user logins, which an emulator cannot see: the admin route
//! `pool-session` opens one for a user within the pool's available capacity
//! ([`Service::admin_open_pool_session`]); DescribeWorkspacesPoolSessions lists them and
//! TerminateWorkspacesPoolSession ends one (NOT_CONNECTED while it ends, then gone).

use super::tables::account::is_pools_new_customer;
use super::tables::bundles::resolve_bundle;
use super::tables::directories::directory_view;
use super::tables::ids::new_id;
use super::tables::pools::{session_index, PoolRec, SessionRec, SettingsBucket, POOL_KIND, SESSION_KIND};
use super::tables::{
    invalid, new_tags, not_found, pagination, Conflict, Context, Fault, Service, Stored, Tx,
};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};

/// Pools per account and Region (inferred: AWS publishes no number for this build's API).
const MAX_POOLS: u64 = 50;
/// DesiredUserSessions of one pool (inferred quota; the model only says ≥ 0).
const MAX_USER_SESSIONS: i32 = 1000;
/// Default session timeouts (AppStream's, which Pools share; inferred).
const DEFAULT_DISCONNECT: i32 = 900;
const DEFAULT_IDLE: i32 = 900;
const DEFAULT_MAX_DURATION: i32 = 57_600;

fn pool_not_found(id: &str) -> Error {
    not_found("pool", id)
}

/// The lost race of a change to a pool.
const CHANGED: Conflict = Conflict::Changed("pool");

fn in_progress(p: &PoolRec) -> Error {
    Error::new(
        ErrorCode::OperationInProgressException,
        format!(
            "The pool {} is {}; try again when the operation completes.",
            p.id, p.state
        ),
    )
}

fn bad_state(p: &PoolRec, want: &str) -> Error {
    Error::new(
        ErrorCode::InvalidResourceStateException,
        format!("The pool {} is {}; it must be {want}.", p.id, p.state),
    )
}

fn busy(s: ws::WorkspacesPoolState) -> bool {
    use ws::WorkspacesPoolState as S;
    matches!(s, S::Creating | S::Starting | S::Stopping | S::Updating)
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Random lower-case hex.
fn hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
        .collect()
}

/// The directory a pool may use: registered, of type POOLS.
fn check_directory(svc: &Service, scope: &Scope, id: &str) -> Result<(), Error> {
    let d = directory_view(svc, scope, id)?.ok_or_else(|| not_found("directory", id))?;
    // A parameter that names the wrong kind of directory (inferred code).
    if d.workspace_type != Some(ws::WorkspaceType::Pools) {
        return Err(invalid(format!(
            "The directory {id} is not a WorkSpaces Pools directory. Register one with WorkspaceType POOLS."
        )));
    }
    if d.state != ws::WorkspaceDirectoryState::Registered {
        return Err(invalid(format!(
            "The directory {id} is not registered; it must be REGISTERED."
        )));
    }
    Ok(())
}

/// The bundle a pool may use: existing, Windows (pools do not support Linux, doc).
fn check_bundle(svc: &Service, scope: &Scope, id: &str) -> Result<(), Error> {
    let b = resolve_bundle(svc, scope, id)?.ok_or_else(|| not_found("bundle", id))?;
    // An unsupported platform rather than a bad value (inferred code).
    if !b.os.as_str().starts_with("WINDOWS") {
        return Err(Error::new(
            ErrorCode::OperationNotSupportedException,
            format!(
                "The bundle {id} runs {}; WorkSpaces Pools support Windows bundles only.",
                b.os.as_str()
            ),
        ));
    }
    Ok(())
}

fn check_capacity(c: &ws::Capacity) -> Result<(), Error> {
    if c.desired_user_sessions > MAX_USER_SESSIONS {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!("A pool can have at most {MAX_USER_SESSIONS} desired user sessions."),
        ));
    }
    Ok(())
}

/// Applies application settings to a pool (creating the account's bucket on first use).
fn apply_app_settings(
    svc: &Service,
    scope: &Scope,
    p: &mut PoolRec,
    a: &ws::ApplicationSettingsRequest,
    tx: &mut Tx<'_>,
) -> Result<(), Error> {
    p.app_status = a.status.as_str().to_string();
    if a.status == ws::ApplicationSettingsStatusEnum::Enabled {
        if a.settings_group.is_some() {
            p.settings_group = a.settings_group.clone();
        }
        if p.bucket.is_none() {
            let name = match svc.load::<SettingsBucket>(scope, "bucket")? {
                Some(b) => b.rec.name,
                None => {
                    let b = SettingsBucket {
                        id: "bucket".into(),
                        name: format!(
                            "wspool-app-settings-{}-{}-{}",
                            scope.region,
                            scope.account,
                            new_id("", 6)
                        ),
                    };
                    tx.put(scope, &b, Expect::Absent)?;
                    b.name
                }
            };
            p.bucket = Some(name);
        }
    }
    Ok(())
}

fn apply_timeouts(p: &mut PoolRec, t: &ws::TimeoutSettings) {
    if let Some(v) = t.disconnect_timeout_in_seconds {
        p.disconnect_timeout = v;
    }
    if let Some(v) = t.idle_disconnect_timeout_in_seconds {
        p.idle_timeout = v;
    }
    if let Some(v) = t.max_user_duration_in_seconds {
        p.max_duration = v;
    }
}

fn to_wire(svc: &Service, scope: &Scope, p: &PoolRec) -> Result<ws::WorkspacesPool, Error> {
    let active = svc.count::<SessionRec>(scope, Some(session_index(&p.id)))?;
    let active = i32::try_from(active).unwrap_or(i32::MAX);
    Ok(ws::WorkspacesPool {
        application_settings: Some(ws::ApplicationSettingsResponse {
            s3_bucket_name: p.bucket.clone(),
            settings_group: p.settings_group.clone(),
            status: ws::ApplicationSettingsStatusEnum::from_wire(&p.app_status)
                .unwrap_or(ws::ApplicationSettingsStatusEnum::Disabled),
        }),
        bundle_id: p.bundle_id.clone(),
        capacity_status: ws::CapacityStatus {
            active_user_sessions: active,
            actual_user_sessions: p.actual,
            available_user_sessions: (p.actual - active).max(0),
            desired_user_sessions: p.desired,
        },
        created_at: p.created,
        description: p.description.clone(),
        directory_id: p.directory_id.clone(),
        errors: None,
        pool_arn: format!(
            "arn:{}:workspaces:{}:{}:workspacespool/{}",
            partition(&scope.region),
            scope.region,
            scope.account,
            p.id
        ),
        pool_id: p.id.clone(),
        pool_name: p.name.clone(),
        running_mode: ws::PoolsRunningMode::from_wire(&p.running_mode)
            .unwrap_or(ws::PoolsRunningMode::AutoStop),
        state: p.state(),
        timeout_settings: Some(ws::TimeoutSettings {
            disconnect_timeout_in_seconds: Some(p.disconnect_timeout),
            idle_disconnect_timeout_in_seconds: Some(p.idle_timeout),
            max_user_duration_in_seconds: Some(p.max_duration),
        }),
    })
}

fn load_pool(svc: &Service, scope: &Scope, id: &str) -> Result<Stored<PoolRec>, Error> {
    svc.load::<PoolRec>(scope, id)?.ok_or_else(|| pool_not_found(id))
}

pub fn create_workspaces_pool(
    svc: &Service,
    cx: &Context,
    input: ws::CreateWorkspacesPoolRequest,
) -> Result<ws::CreateWorkspacesPoolResult, Error> {
    if is_pools_new_customer(svc, &cx.scope)? {
        return Err(Error::new(
            ErrorCode::AccessDeniedException,
            "Amazon WorkSpaces Pools is no longer available to new customers as of 7/30/2026.",
        ));
    }
    let tags = new_tags(input.tags.as_deref(), svc.limits.tags_per_resource)?;
    check_capacity(&input.capacity)?;
    let exists = || Conflict::Exists(format!("A pool named {} already exists.", input.pool_name));
    let pool = svc.write(exists, |tx| {
        check_directory(svc, &cx.scope, &input.directory_id)?;
        check_bundle(svc, &cx.scope, &input.bundle_id)?;
        if svc.count::<PoolRec>(
            &cx.scope,
            Some(IndexEntry {
                name: "name".into(),
                key: input.pool_name.clone(),
            }),
        )? > 0
        {
            return Err(exists().into());
        }
        if svc.count::<PoolRec>(&cx.scope, None)? >= MAX_POOLS {
            return Err(Error::new(
                ErrorCode::ResourceLimitExceededException,
                format!("An account can have at most {MAX_POOLS} pools per Region."),
            ));
        }
        let mut p = PoolRec {
            id: new_id("wspool-", 9),
            name: input.pool_name.clone(),
            description: Some(input.description.clone()),
            bundle_id: input.bundle_id.clone(),
            directory_id: input.directory_id.clone(),
            state: String::new(),
            resume: None,
            terminating: false,
            desired: input.capacity.desired_user_sessions,
            actual: 0,
            running_mode: input
                .running_mode
                .unwrap_or(ws::PoolsRunningMode::AutoStop)
                .as_str()
                .to_string(),
            app_status: ws::ApplicationSettingsStatusEnum::Disabled.as_str().to_string(),
            settings_group: None,
            bucket: None,
            disconnect_timeout: DEFAULT_DISCONNECT,
            idle_timeout: DEFAULT_IDLE,
            max_duration: DEFAULT_MAX_DURATION,
            created: svc.clock.now(),
            tags,
        };
        p.set_state(ws::WorkspacesPoolState::Creating);
        if let Some(a) = &input.application_settings {
            apply_app_settings(svc, &cx.scope, &mut p, a, tx)?;
        }
        if let Some(t) = &input.timeout_settings {
            apply_timeouts(&mut p, t);
        }
        tx.put(&cx.scope, &p, Expect::Absent)?;
        tx.transition(&cx.scope, TransitionKind::PoolCreate, POOL_KIND, &p.id)?;
        Ok::<_, Error>(p)
    })?;
    let wire = to_wire(svc, &cx.scope, &pool)?;
    Ok(ws::CreateWorkspacesPoolResult {
        workspaces_pool: Some(wire),
    })
}

fn filter_matches(name: &str, filters: &[ws::DescribeWorkspacesPoolsFilter]) -> bool {
    use ws::DescribeWorkspacesPoolsFilterOperator as Op;
    filters.iter().all(|f| match f.name {
        ws::DescribeWorkspacesPoolsFilterName::PoolName => match f.operator {
            Op::Equals => f.values.iter().any(|v| v == name),
            Op::Notequals => f.values.iter().all(|v| v != name),
            Op::Contains => f.values.iter().any(|v| name.contains(v.as_str())),
            Op::Notcontains => f.values.iter().all(|v| !name.contains(v.as_str())),
        },
    })
}

pub fn describe_workspaces_pools(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesPoolsRequest,
) -> Result<ws::DescribeWorkspacesPoolsResult, Error> {
    const OP: &str = "DescribeWorkspacesPools";
    let limit = input.limit.map_or(25, |n| n.clamp(1, 25) as usize);
    let ids = input.pool_ids.unwrap_or_default();
    let filters = input.filters.unwrap_or_default();
    let fp: Vec<String> = ids
        .iter()
        .cloned()
        .chain(filters.iter().map(|f| {
            format!(
                "{}:{}={}",
                f.name.as_str(),
                f.operator.as_str(),
                f.values.join("\u{1}")
            )
        }))
        .collect();
    let filter = pagination::fingerprint(fp.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let found = if ids.is_empty() {
        // At most MAX_POOLS per account and Region: filtering the page source is bounded.
        svc.scan::<PoolRec>(&cx.scope, None, after, None)?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let got = svc.load_many::<PoolRec>(&cx.scope, &refs)?;
        if let Some(missing) = refs.iter().find(|id| got.iter().all(|p| p.rec.id != **id)) {
            // Terraform's finder treats this as "not found" (inferred).
            return Err(pool_not_found(missing));
        }
        pagination::in_order(got, after)
    };
    let (out, next_token) = pagination::page(found, limit, OP, filter, |p| {
        if !filter_matches(&p.rec.name, &filters) {
            return Ok(None);
        }
        to_wire(svc, &cx.scope, &p.rec).map(Some)
    })?;
    Ok(ws::DescribeWorkspacesPoolsResult {
        workspaces_pools: Some(out),
        next_token,
    })
}

pub fn update_workspaces_pool(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateWorkspacesPoolRequest,
) -> Result<ws::UpdateWorkspacesPoolResult, Error> {
    use ws::WorkspacesPoolState as S;
    if let Some(c) = &input.capacity {
        check_capacity(c)?;
    }
    let pool = svc.write(CHANGED, |tx| {
        let mut p = load_pool(svc, &cx.scope, &input.pool_id)?;
        let state = p.rec.state();
        if busy(state) {
            return Err(in_progress(&p.rec));
        }
        if state == S::Deleting {
            return Err(bad_state(&p.rec, "RUNNING or STOPPED"));
        }
        if let Some(mode) = input.running_mode {
            if mode.as_str() != p.rec.running_mode && state != S::Stopped {
                // Documented: the running mode changes only while the pool is stopped.
                return Err(bad_state(&p.rec, "STOPPED to change its running mode"));
            }
            p.rec.running_mode = mode.as_str().to_string();
        }
        if let Some(d) = &input.directory_id {
            if d != &p.rec.directory_id {
                check_directory(svc, &cx.scope, d)?;
            }
        }
        if let Some(b) = &input.bundle_id {
            if b != &p.rec.bundle_id {
                check_bundle(svc, &cx.scope, b)?;
            }
        }
        // What a running pool must roll out to its instances (description and running
        // mode do not touch them).
        let mut rollout = false;
        if let Some(d) = &input.description {
            p.rec.description = Some(d.clone());
        }
        if let Some(d) = &input.directory_id {
            rollout |= d != &p.rec.directory_id;
            p.rec.directory_id = d.clone();
        }
        if let Some(b) = &input.bundle_id {
            rollout |= b != &p.rec.bundle_id;
            p.rec.bundle_id = b.clone();
        }
        if let Some(c) = &input.capacity {
            rollout |= c.desired_user_sessions != p.rec.desired;
            p.rec.desired = c.desired_user_sessions;
        }
        if let Some(a) = &input.application_settings {
            rollout = true;
            apply_app_settings(svc, &cx.scope, &mut p.rec, a, tx)?;
        }
        if let Some(t) = &input.timeout_settings {
            rollout = true;
            apply_timeouts(&mut p.rec, t);
        }
        if rollout && state == S::Running {
            p.rec.resume = Some(p.rec.state.clone());
            p.rec.set_state(S::Updating);
            tx.transition(&cx.scope, TransitionKind::PoolUpdate, POOL_KIND, &p.rec.id)?;
        }
        tx.put(&cx.scope, &p.rec, Expect::Rev(p.rev))?;
        Ok::<_, Error>(p.rec)
    })?;
    let wire = to_wire(svc, &cx.scope, &pool)?;
    Ok(ws::UpdateWorkspacesPoolResult {
        workspaces_pool: Some(wire),
    })
}

/// Moves a pool into `to` with a pending transition of `kind`, after `check`.
fn begin(
    svc: &Service,
    cx: &Context,
    id: &str,
    kind: TransitionKind,
    check: impl FnOnce(&mut PoolRec) -> Result<Option<ws::WorkspacesPoolState>, Error>,
) -> Result<(), Error> {
    svc.write(CHANGED, |tx| {
        let mut p = load_pool(svc, &cx.scope, id)?;
        let Some(to) = check(&mut p.rec)? else {
            return Ok(());
        };
        p.rec.set_state(to);
        tx.put(&cx.scope, &p.rec, Expect::Rev(p.rev))?;
        tx.transition(&cx.scope, kind, POOL_KIND, id)?;
        Ok(())
    })
}

pub fn start_workspaces_pool(
    svc: &Service,
    cx: &Context,
    input: ws::StartWorkspacesPoolRequest,
) -> Result<ws::StartWorkspacesPoolResult, Error> {
    use ws::WorkspacesPoolState as S;
    begin(svc, cx, &input.pool_id, TransitionKind::PoolStart, |p| {
        match p.state() {
            S::Stopped => {}
            s if busy(s) => return Err(in_progress(p)),
            _ => return Err(bad_state(p, "STOPPED")),
        }
        // The directory or bundle may have gone since the pool was created.
        check_directory(svc, &cx.scope, &p.directory_id)?;
        check_bundle(svc, &cx.scope, &p.bundle_id)?;
        Ok(Some(S::Starting))
    })?;
    Ok(ws::StartWorkspacesPoolResult {})
}

pub fn stop_workspaces_pool(
    svc: &Service,
    cx: &Context,
    input: ws::StopWorkspacesPoolRequest,
) -> Result<ws::StopWorkspacesPoolResult, Error> {
    use ws::WorkspacesPoolState as S;
    begin(svc, cx, &input.pool_id, TransitionKind::PoolStop, |p| {
        match p.state() {
            S::Running => Ok(Some(S::Stopping)),
            s if busy(s) => Err(in_progress(p)),
            _ => Err(bad_state(p, "RUNNING")),
        }
    })?;
    Ok(ws::StopWorkspacesPoolResult {})
}

pub fn terminate_workspaces_pool(
    svc: &Service,
    cx: &Context,
    input: ws::TerminateWorkspacesPoolRequest,
) -> Result<ws::TerminateWorkspacesPoolResult, Error> {
    use ws::WorkspacesPoolState as S;
    begin(svc, cx, &input.pool_id, TransitionKind::PoolTerminate, |p| {
        match p.state() {
            // Already on its way out: nothing more to do (inferred: idempotent).
            S::Deleting => Ok(None),
            S::Stopping if p.terminating => Ok(None),
            S::Running => {
                p.terminating = true;
                Ok(Some(S::Stopping))
            }
            S::Stopped => Ok(Some(S::Deleting)),
            _ => Err(in_progress(p)),
        }
    })?;
    Ok(ws::TerminateWorkspacesPoolResult {})
}

pub fn describe_workspaces_pool_sessions(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspacesPoolSessionsRequest,
) -> Result<ws::DescribeWorkspacesPoolSessionsResult, Error> {
    const OP: &str = "DescribeWorkspacesPoolSessions";
    load_pool(svc, &cx.scope, &input.pool_id)?;
    let limit = input.limit.map_or(20, |n| n.clamp(1, 50) as usize);
    let filter = pagination::fingerprint(
        [input.pool_id.as_str()]
            .into_iter()
            .chain(input.user_id.as_deref()),
    );
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    // Sessions of one pool are bounded by its capacity (MAX_USER_SESSIONS).
    let all = svc.scan::<SessionRec>(&cx.scope, Some(session_index(&input.pool_id)), after, None)?;
    let (out, next_token) = pagination::page(all, limit, OP, filter, |s| {
        if input.user_id.as_ref().is_some_and(|u| u != &s.rec.user_id) {
            return Ok::<_, Error>(None);
        }
        let s = &s.rec;
        Ok(Some(ws::WorkspacesPoolSession {
            authentication_type: Some(ws::AuthenticationType::Saml),
            connection_state: Some(if s.ending {
                ws::SessionConnectionState::NotConnected
            } else {
                ws::SessionConnectionState::Connected
            }),
            expiration_time: Some(s.expiration),
            instance_id: Some(s.instance_id.clone()),
            network_access_configuration: Some(ws::NetworkAccessConfiguration {
                eni_id: Some(s.eni_id.clone()),
                eni_private_ip_address: Some(s.private_ip.clone()),
            }),
            pool_id: s.pool_id.clone(),
            session_id: s.id.clone(),
            start_time: Some(s.start),
            user_id: s.user_id.clone(),
        }))
    })?;
    Ok(ws::DescribeWorkspacesPoolSessionsResult {
        sessions: Some(out),
        next_token,
    })
}

pub fn terminate_workspaces_pool_session(
    svc: &Service,
    cx: &Context,
    input: ws::TerminateWorkspacesPoolSessionRequest,
) -> Result<ws::TerminateWorkspacesPoolSessionResult, Error> {
    svc.write(Conflict::Changed("session"), |tx| {
        let mut s = svc
            .load::<SessionRec>(&cx.scope, &input.session_id)?
            .ok_or_else(|| not_found("session", &input.session_id))?;
        if s.rec.ending {
            return Err(Error::new(
                ErrorCode::OperationInProgressException,
                format!("The session {} is already ending.", s.rec.id),
            ));
        }
        s.rec.ending = true;
        tx.put(&cx.scope, &s.rec, Expect::Rev(s.rev))?;
        tx.transition(
            &cx.scope,
            TransitionKind::PoolSessionTerminate,
            SESSION_KIND,
            &s.rec.id,
        )?;
        Ok(())
    })?;
    Ok(ws::TerminateWorkspacesPoolSessionResult {})
}

/// Stages the end of every session of a pool (stopping or deleting it).
fn end_sessions(svc: &Service, tx: &mut Tx<'_>, scope: &Scope, pool_id: &str) -> Result<(), Fault> {
    for s in svc.scan::<SessionRec>(scope, Some(session_index(pool_id)), None, None)? {
        tx.delete::<SessionRec>(scope, &s.rec.id, s.rev);
        tx.cancel_transition(scope, SESSION_KIND, &s.rec.id);
    }
    Ok(())
}

impl Service {
    /// Admin hook: user `user` logs into pool `pool_id` (a RUNNING pool with available
    /// capacity). A user with a session already gets that one back. Returns the session id.
    pub fn admin_open_pool_session(&self, scope: &Scope, pool_id: &str, user: &str) -> Result<String, Error> {
        if !(2..=128).contains(&user.chars().count()) {
            return Err(invalid("user must be 2 to 128 characters long"));
        }
        self.write(Conflict::Changed("pool"), |tx| {
            let p = load_pool(self, scope, pool_id)?;
            if p.rec.state() != ws::WorkspacesPoolState::Running {
                return Err(bad_state(&p.rec, "RUNNING"));
            }
            let sessions = self.scan::<SessionRec>(scope, Some(session_index(pool_id)), None, None)?;
            if let Some(s) = sessions.iter().find(|s| s.rec.user_id == user && !s.rec.ending) {
                return Ok(s.rec.id.clone());
            }
            let active = i32::try_from(sessions.len()).unwrap_or(i32::MAX);
            if active >= p.rec.actual {
                return Err(Error::new(
                    ErrorCode::ResourceLimitExceededException,
                    format!(
                        "The pool {pool_id} has no available user sessions ({active} of {} in use).",
                        p.rec.actual
                    ),
                ));
            }
            let now = self.clock.now();
            let ip_tail = hex(4);
            let (b3, b4) = ip_tail.split_at(2);
            let octet = |h: &str| u8::from_str_radix(h, 16).unwrap_or(10);
            let s = SessionRec {
                id: uuid::Uuid::new_v4().to_string(),
                pool_id: pool_id.to_string(),
                user_id: user.to_string(),
                instance_id: format!("i-{}", hex(17)),
                eni_id: format!("eni-{}", hex(17)),
                private_ip: format!("10.0.{}.{}", octet(b3), octet(b4).max(4)),
                start: now,
                expiration: now + f64::from(p.rec.max_duration),
                ending: false,
            };
            tx.put(scope, &s, Expect::Absent)?;
            Ok(s.id)
        })
    }
}

/// Applies one due transition of a pool or a session.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    use ws::WorkspacesPoolState as S;
    if t.kind == TransitionKind::PoolSessionTerminate {
        let Some(s) = svc.load::<SessionRec>(scope, &t.resource_id)? else {
            return Ok(None);
        };
        if !s.rec.ending {
            return Ok(None);
        }
        tx.delete::<SessionRec>(scope, &s.rec.id, s.rev);
        return Ok(None);
    }
    let Some(mut p) = svc.load::<PoolRec>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    let active = || -> Result<i32, Fault> {
        let n = svc.count::<SessionRec>(scope, Some(session_index(&t.resource_id)))?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    };
    let mut next = None;
    match (t.kind, p.rec.state()) {
        (TransitionKind::PoolCreate, S::Creating) => p.rec.set_state(S::Stopped),
        (TransitionKind::PoolStart, S::Starting) => {
            p.rec.set_state(S::Running);
            p.rec.actual = p.rec.desired;
        }
        (TransitionKind::PoolStop, S::Stopping) => {
            p.rec.set_state(S::Stopped);
            p.rec.actual = 0;
            end_sessions(svc, tx, scope, &p.rec.id)?;
        }
        (TransitionKind::PoolUpdate, S::Updating) => {
            let back = p
                .rec
                .resume
                .take()
                .and_then(|s| S::from_wire(&s))
                .unwrap_or(S::Running);
            p.rec.set_state(back);
            if back == S::Running {
                // Instances still serving users stay until their sessions end.
                p.rec.actual = p.rec.desired.max(active()?);
            }
        }
        (TransitionKind::PoolTerminate, S::Stopping) if p.rec.terminating => {
            p.rec.set_state(S::Deleting);
            p.rec.actual = 0;
            end_sessions(svc, tx, scope, &p.rec.id)?;
            next = Some(PendingTransition {
                kind: TransitionKind::PoolTerminate,
                due: now + svc.engine.timing().duration(TransitionKind::PoolTerminate),
                resource_kind: POOL_KIND.to_string(),
                resource_id: p.rec.id.clone(),
            });
        }
        (TransitionKind::PoolTerminate, S::Deleting) => {
            end_sessions(svc, tx, scope, &p.rec.id)?;
            tx.delete::<PoolRec>(scope, &p.rec.id, p.rev);
            return Ok(None);
        }
        _ => return Ok(None),
    }
    tx.put(scope, &p.rec, Expect::Rev(p.rev))?;
    Ok(next)
}
