//! Lifecycle engine on a paused clock: every transition of WorkSpaces' transition table
//!, driven through the typed handlers (no HTTP) with a `ManualClock`
//! that only the test moves, on both store engines, and restarts in the middle of a
//! transition (stored pending transitions are recovered and continue).

use localspaces::clock::{Clock, ManualClock};
use localspaces::engine::{Engine, Timing, TransitionKind};
use localspaces::service::{Context, Limits, Service};
use localspaces_api::ds::{self as ds, DirectoryServiceApi};
use localspaces_api::workspaces::{self as ws, WorkspacesApi};
use localspaces_store::{MemoryStore, Scope, SqliteStore, Store};
use std::path::Path;
use std::sync::Arc;

const START: f64 = 1_800_000_000.0;
const SIX_HOURS: f64 = 6.0 * 3600.0 + 1.0;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Memory,
    Sqlite,
}

const KINDS: [Kind; 2] = [Kind::Memory, Kind::Sqlite];

/// A service on a store and a paused clock.
struct Harness {
    svc: Arc<Service>,
    clock: Arc<ManualClock>,
    cx: Context,
}

impl Harness {
    fn on(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Harness {
        let timing = Timing::parse("fast").expect("profile");
        let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
        let engine = Engine::new(Arc::clone(&dyn_clock), timing);
        engine.recover(store.as_ref()).expect("recover");
        let svc = Arc::new(Service::new(store, dyn_clock, Limits::default(), engine));
        Harness {
            svc,
            clock,
            cx: Context {
                scope: Scope::new("111122223333", "us-east-1"),
                request_id: "test".to_string(),
            },
        }
    }

    fn new(kind: Kind, dir: &Path) -> Harness {
        let store: Arc<dyn Store> = match kind {
            Kind::Memory => Arc::new(MemoryStore::new()),
            Kind::Sqlite => Arc::new(SqliteStore::open(&dir.join("ls.db")).expect("open")),
        };
        Harness::on(store, Arc::new(ManualClock::new(START)))
    }

    /// Reopens the SQLite database in `dir` as a fresh process would, keeping the clock.
    fn restart(self, dir: &Path) -> Harness {
        let clock = Arc::clone(&self.clock);
        self.svc.store().close().expect("close");
        drop(self);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("ls.db")).expect("reopen"));
        Harness::on(store, clock)
    }

    fn duration(&self, kind: TransitionKind) -> f64 {
        self.svc.engine().timing().duration(kind)
    }

    /// Moves the clock and lets the engine apply what became due (what the engine task does).
    fn tick(&self, secs: f64) {
        self.clock.advance(secs);
        self.svc.engine().run_due(self.svc.as_ref()).expect("run_due");
    }

    /// Advances just short of `kind`'s duration, then past it.
    fn almost(&self, kind: TransitionKind) {
        self.tick(self.duration(kind) - 0.1);
    }

    fn finish(&self) {
        self.tick(0.2);
    }

    fn ds_stage(&self, id: &str) -> Option<ds::DirectoryStage> {
        let out = self
            .svc
            .describe_directories(
                &self.cx,
                ds::DescribeDirectoriesRequest {
                    directory_ids: Some(vec![id.to_string()]),
                    ..Default::default()
                },
            )
            .ok()?;
        out.directory_descriptions?.first()?.stage
    }

    fn dir_state(&self, id: &str) -> Option<ws::WorkspaceDirectoryState> {
        let out = self
            .svc
            .describe_workspace_directories(
                &self.cx,
                ws::DescribeWorkspaceDirectoriesRequest {
                    directory_ids: Some(vec![id.to_string()]),
                    ..Default::default()
                },
            )
            .expect("describe directories");
        out.directories?.first()?.state
    }

    fn state(&self, id: &str) -> Option<ws::WorkspaceState> {
        let out = self
            .svc
            .describe_workspaces(
                &self.cx,
                ws::DescribeWorkspacesRequest {
                    workspace_ids: Some(vec![id.to_string()]),
                    ..Default::default()
                },
            )
            .expect("describe workspaces");
        out.workspaces?.first()?.state
    }

    fn workspace(&self, id: &str) -> ws::Workspace {
        self.svc
            .describe_workspaces(
                &self.cx,
                ws::DescribeWorkspacesRequest {
                    workspace_ids: Some(vec![id.to_string()]),
                    ..Default::default()
                },
            )
            .expect("describe")
            .workspaces
            .and_then(|w| w.into_iter().next())
            .expect("workspace present")
    }

    fn create_ds(&self) -> String {
        self.svc
            .create_directory(
                &self.cx,
                ds::CreateDirectoryRequest {
                    name: "corp.example.com".to_string(),
                    password: "Passw0rd!Passw0rd".to_string(),
                    size: ds::DirectorySize::Small,
                    vpc_settings: Some(ds::DirectoryVpcSettings {
                        subnet_ids: vec!["subnet-0a1b2c3d".to_string(), "subnet-0e1f2a3b".to_string()],
                        vpc_id: "vpc-0a1b2c3d".to_string(),
                    }),
                    ..Default::default()
                },
            )
            .expect("create directory")
            .directory_id
            .expect("id")
    }

    fn register(&self, id: &str) {
        let out = self
            .svc
            .register_workspace_directory(
                &self.cx,
                ws::RegisterWorkspaceDirectoryRequest {
                    directory_id: Some(id.to_string()),
                    ..Default::default()
                },
            )
            .expect("register");
        assert_eq!(out.state, Some(ws::WorkspaceDirectoryState::Registering));
    }

    /// An Active ds directory, registered with WorkSpaces.
    fn ready_directory(&self) -> String {
        let id = self.create_ds();
        self.svc.engine().settle(self.svc.as_ref()).expect("settle");
        self.register(&id);
        self.svc.engine().settle(self.svc.as_ref()).expect("settle");
        assert_eq!(self.dir_state(&id), Some(ws::WorkspaceDirectoryState::Registered));
        id
    }

    /// A Standard AMAZON bundle (any running mode allowed).
    fn bundle(&self) -> String {
        self.svc
            .describe_workspace_bundles(
                &self.cx,
                ws::DescribeWorkspaceBundlesRequest {
                    owner: Some("AMAZON".to_string()),
                    ..Default::default()
                },
            )
            .expect("bundles")
            .bundles
            .unwrap_or_default()
            .into_iter()
            .find(|b| b.compute_type.as_ref().and_then(|c| c.name) == Some(ws::Compute::Standard))
            .and_then(|b| b.bundle_id)
            .expect("a Standard bundle")
    }

    fn create_ws(&self, dir: &str, user: &str, mode: ws::RunningMode) -> String {
        let out = self
            .svc
            .create_workspaces(
                &self.cx,
                ws::CreateWorkspacesRequest {
                    workspaces: vec![ws::WorkspaceRequest {
                        bundle_id: self.bundle(),
                        directory_id: dir.to_string(),
                        user_name: user.to_string(),
                        workspace_properties: Some(ws::WorkspaceProperties {
                            running_mode: Some(mode),
                            running_mode_auto_stop_timeout_in_minutes: (mode == ws::RunningMode::AutoStop)
                                .then_some(60),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                },
            )
            .expect("create workspaces");
        assert!(out.failed_requests.unwrap_or_default().is_empty());
        out.pending_requests
            .and_then(|p| p.into_iter().next())
            .and_then(|w| w.workspace_id)
            .expect("pending workspace")
    }

    /// A WorkSpace that has reached AVAILABLE.
    fn available(&self, dir: &str, user: &str, mode: ws::RunningMode) -> String {
        let id = self.create_ws(dir, user, mode);
        self.svc.engine().settle(self.svc.as_ref()).expect("settle");
        assert_eq!(self.state(&id), Some(ws::WorkspaceState::Available));
        id
    }

    fn stop(&self, id: &str) -> Vec<ws::FailedWorkspaceChangeRequest> {
        self.svc
            .stop_workspaces(
                &self.cx,
                ws::StopWorkspacesRequest {
                    stop_workspace_requests: vec![ws::StopRequest {
                        workspace_id: Some(id.to_string()),
                    }],
                },
            )
            .expect("stop")
            .failed_requests
            .unwrap_or_default()
    }

    fn start(&self, id: &str) -> Vec<ws::FailedWorkspaceChangeRequest> {
        self.svc
            .start_workspaces(
                &self.cx,
                ws::StartWorkspacesRequest {
                    start_workspace_requests: vec![ws::StartRequest {
                        workspace_id: Some(id.to_string()),
                    }],
                },
            )
            .expect("start")
            .failed_requests
            .unwrap_or_default()
    }

    fn reboot(&self, id: &str) -> Vec<ws::FailedWorkspaceChangeRequest> {
        self.svc
            .reboot_workspaces(
                &self.cx,
                ws::RebootWorkspacesRequest {
                    reboot_workspace_requests: vec![ws::RebootRequest {
                        workspace_id: id.to_string(),
                    }],
                },
            )
            .expect("reboot")
            .failed_requests
            .unwrap_or_default()
    }

    fn rebuild(&self, id: &str) -> Vec<ws::FailedWorkspaceChangeRequest> {
        self.svc
            .rebuild_workspaces(
                &self.cx,
                ws::RebuildWorkspacesRequest {
                    rebuild_workspace_requests: vec![ws::RebuildRequest {
                        workspace_id: id.to_string(),
                    }],
                },
            )
            .expect("rebuild")
            .failed_requests
            .unwrap_or_default()
    }

    fn terminate(&self, id: &str) -> Vec<ws::FailedWorkspaceChangeRequest> {
        self.svc
            .terminate_workspaces(
                &self.cx,
                ws::TerminateWorkspacesRequest {
                    terminate_workspace_requests: vec![ws::TerminateRequest {
                        workspace_id: id.to_string(),
                    }],
                },
            )
            .expect("terminate")
            .failed_requests
            .unwrap_or_default()
    }

    fn set_compute(&self, id: &str, compute: ws::Compute) -> Result<(), ws::Error> {
        self.svc
            .modify_workspace_properties(
                &self.cx,
                ws::ModifyWorkspacePropertiesRequest {
                    workspace_id: id.to_string(),
                    workspace_properties: Some(ws::WorkspaceProperties {
                        compute_type_name: Some(compute),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .map(|_| ())
    }
}

fn each_kind(f: impl Fn(Kind, &Path)) {
    for kind in KINDS {
        let dir = tempfile::tempdir().expect("tempdir");
        f(kind, dir.path());
    }
}

use ws::WorkspaceState as S;

#[test]
fn ds_directory_requested_creating_active_then_deleting_gone() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let id = h.create_ds();
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Requested), "{kind:?}");
        h.almost(TransitionKind::DsCreate);
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Requested));
        h.finish();
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Creating));
        h.almost(TransitionKind::DsCreate);
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Creating));
        h.finish();
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Active));

        h.svc
            .delete_directory(
                &h.cx,
                ds::DeleteDirectoryRequest {
                    directory_id: id.clone(),
                },
            )
            .expect("delete");
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Deleting));
        h.almost(TransitionKind::DsDelete);
        assert_eq!(h.ds_stage(&id), Some(ds::DirectoryStage::Deleting));
        h.finish();
        assert_eq!(h.ds_stage(&id), None, "a deleted directory is gone");
        assert_eq!(h.svc.engine().settle(h.svc.as_ref()).expect("settle"), 0);
    });
}

#[test]
fn directory_registering_registered_then_deregistering_gone() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let id = h.create_ds();
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        h.register(&id);
        assert_eq!(
            h.dir_state(&id),
            Some(ws::WorkspaceDirectoryState::Registering),
            "{kind:?}"
        );
        h.almost(TransitionKind::DirectoryRegister);
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Registering));
        h.finish();
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Registered));

        h.svc
            .deregister_workspace_directory(
                &h.cx,
                ws::DeregisterWorkspaceDirectoryRequest {
                    directory_id: id.clone(),
                },
            )
            .expect("deregister");
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Deregistering));
        h.almost(TransitionKind::DirectoryDeregister);
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Deregistering));
        h.finish();
        // DEREGISTERED is shown briefly, then the registration is gone.
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Deregistered));
        h.almost(TransitionKind::DirectoryRemove);
        assert_eq!(h.dir_state(&id), Some(ws::WorkspaceDirectoryState::Deregistered));
        h.finish();
        assert_eq!(h.dir_state(&id), None, "a deregistered directory is gone");
    });
}

/// Terraform reads DEREGISTERED as gone, so what it does next must work while the
/// registration is still shown: register the directory again (a replace), or delete the
/// Directory Service directory (a destroy).
#[test]
fn a_directory_shown_deregistered_can_be_registered_again_or_deleted() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let deregister = |id: &str| {
            h.svc
                .deregister_workspace_directory(
                    &h.cx,
                    ws::DeregisterWorkspaceDirectoryRequest {
                        directory_id: id.to_string(),
                    },
                )
                .expect("deregister");
            h.tick(h.duration(TransitionKind::DirectoryDeregister) + 0.1);
            assert_eq!(
                h.dir_state(id),
                Some(ws::WorkspaceDirectoryState::Deregistered),
                "{kind:?}"
            );
        };

        let again = h.ready_directory();
        deregister(&again);
        h.register(&again);
        assert_eq!(
            h.dir_state(&again),
            Some(ws::WorkspaceDirectoryState::Registering)
        );
        // The removal that was pending does not take the new registration away.
        h.tick(h.duration(TransitionKind::DirectoryRemove) + 0.1);
        assert_eq!(h.dir_state(&again), Some(ws::WorkspaceDirectoryState::Registered));

        let gone = h.ready_directory();
        deregister(&gone);
        h.svc
            .delete_directory(
                &h.cx,
                ds::DeleteDirectoryRequest {
                    directory_id: gone.clone(),
                },
            )
            .expect("delete the DS directory of a DEREGISTERED registration");
        assert_eq!(h.ds_stage(&gone), Some(ds::DirectoryStage::Deleting));
        h.tick(h.duration(TransitionKind::DirectoryRemove) + 0.1);
        assert_eq!(h.dir_state(&gone), None);
    });
}

#[test]
fn workspace_pending_available() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.create_ws(&d, "alice", ws::RunningMode::AlwaysOn);
        assert_eq!(h.state(&id), Some(S::Pending), "{kind:?}");
        h.almost(TransitionKind::WorkspaceCreate);
        assert_eq!(h.state(&id), Some(S::Pending));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));
    });
}

#[test]
fn workspace_stopping_stopped_starting_available() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "bob", ws::RunningMode::AutoStop);
        assert!(h.stop(&id).is_empty(), "{kind:?}");
        assert_eq!(h.state(&id), Some(S::Stopping));
        h.almost(TransitionKind::WorkspaceStop);
        assert_eq!(h.state(&id), Some(S::Stopping));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Stopped));

        assert!(h.start(&id).is_empty());
        assert_eq!(h.state(&id), Some(S::Starting));
        h.almost(TransitionKind::WorkspaceStart);
        assert_eq!(h.state(&id), Some(S::Starting));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));
    });
}

#[test]
fn workspace_rebooting_and_rebuilding_return_to_available() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "carol", ws::RunningMode::AlwaysOn);
        assert!(h.reboot(&id).is_empty(), "{kind:?}");
        assert_eq!(h.state(&id), Some(S::Rebooting));
        h.almost(TransitionKind::WorkspaceReboot);
        assert_eq!(h.state(&id), Some(S::Rebooting));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));

        assert!(h.rebuild(&id).is_empty());
        assert_eq!(h.state(&id), Some(S::Rebuilding));
        h.almost(TransitionKind::WorkspaceRebuild);
        assert_eq!(h.state(&id), Some(S::Rebuilding));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));
    });
}

#[test]
fn workspace_updating_returns_to_its_previous_state() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "dave", ws::RunningMode::AutoStop);
        // A connected user keeps it from auto-stopping; compute changes wait 6 hours.
        h.svc
            .admin_set_connection(&h.cx.scope, &id, true)
            .expect("connect");
        h.tick(SIX_HOURS);
        h.set_compute(&id, ws::Compute::Performance).expect("modify");
        assert_eq!(h.state(&id), Some(S::Updating), "{kind:?}");
        h.almost(TransitionKind::WorkspaceUpdate);
        assert_eq!(h.state(&id), Some(S::Updating));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));
        let props = h.workspace(&id).workspace_properties.expect("properties");
        assert_eq!(props.compute_type_name, Some(ws::Compute::Performance));

        // From STOPPED, UPDATING goes back to STOPPED.
        assert!(h.stop(&id).is_empty());
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.state(&id), Some(S::Stopped));
        assert_eq!(
            h.set_compute(&id, ws::Compute::Power).map_err(|e| e.code),
            Err(ws::ErrorCode::InvalidResourceStateException),
            "one compute change per 6 hours"
        );
        h.tick(SIX_HOURS);
        h.set_compute(&id, ws::Compute::Power).expect("modify stopped");
        assert_eq!(h.state(&id), Some(S::Updating));
        h.almost(TransitionKind::WorkspaceUpdate);
        assert_eq!(h.state(&id), Some(S::Updating));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Stopped));
    });
}

#[test]
fn workspace_terminating_terminated_then_gone() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "erin", ws::RunningMode::AlwaysOn);
        assert!(h.terminate(&id).is_empty(), "{kind:?}");
        assert_eq!(h.state(&id), Some(S::Terminating));
        h.almost(TransitionKind::WorkspaceTerminate);
        assert_eq!(h.state(&id), Some(S::Terminating));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Terminated), "TERMINATED is shown briefly");
        h.almost(TransitionKind::WorkspaceRemove);
        assert_eq!(h.state(&id), Some(S::Terminated));
        h.finish();
        assert_eq!(h.state(&id), None, "then the WorkSpace is gone");
        // The user can have a new WorkSpace in the same directory.
        h.create_ws(&d, "erin", ws::RunningMode::AlwaysOn);
    });
}

#[test]
fn terminating_a_pending_workspace_wins_over_its_creation() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.create_ws(&d, "frank", ws::RunningMode::AlwaysOn);
        assert!(
            h.terminate(&id).is_empty(),
            "{kind:?}: terminate is allowed while PENDING"
        );
        assert_eq!(h.state(&id), Some(S::Terminating));
        // The stale PENDING → AVAILABLE entry must not resurrect it.
        h.tick(h.duration(TransitionKind::WorkspaceCreate) + 0.1);
        assert_ne!(h.state(&id), Some(S::Available));
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.state(&id), None);
    });
}

#[test]
fn admin_maintenance_is_immediate_and_refuses_actions() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "gina", ws::RunningMode::AutoStop);
        let set = |state| {
            h.svc.modify_workspace_state(
                &h.cx,
                ws::ModifyWorkspaceStateRequest {
                    workspace_id: id.clone(),
                    workspace_state: state,
                },
            )
        };
        set(ws::TargetWorkspaceState::AdminMaintenance).expect("to admin maintenance");
        assert_eq!(h.state(&id), Some(S::AdminMaintenance), "{kind:?}");
        for failed in [h.stop(&id), h.reboot(&id), h.rebuild(&id)] {
            assert_eq!(failed.len(), 1);
            assert_eq!(
                failed[0].error_code.as_deref(),
                Some("InvalidResourceState.Workspace")
            );
        }
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.state(&id), Some(S::AdminMaintenance), "no transition leaves it");
        set(ws::TargetWorkspaceState::Available).expect("back to available");
        assert_eq!(h.state(&id), Some(S::Available));
    });
}

#[test]
fn auto_stop_fires_on_the_clock_only_and_only_without_a_connection() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let idle = h.available(&d, "hank", ws::RunningMode::AutoStop);
        let busy = h.available(&d, "ivy", ws::RunningMode::AutoStop);
        let always = h.available(&d, "jack", ws::RunningMode::AlwaysOn);
        h.svc
            .admin_set_connection(&h.cx.scope, &busy, true)
            .expect("connect");

        // A settle never fires timers.
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.state(&idle), Some(S::Available), "{kind:?}");

        // 60-minute timeout: nothing at 59 minutes.
        h.tick(59.0 * 60.0);
        assert_eq!(h.state(&idle), Some(S::Available));
        h.tick(61.0);
        assert_eq!(h.state(&idle), Some(S::Stopping), "auto-stop after the timeout");
        assert_eq!(
            h.state(&busy),
            Some(S::Available),
            "a connected user keeps it running"
        );
        assert_eq!(h.state(&always), Some(S::Available), "ALWAYS_ON never auto-stops");
        h.finish();
        h.tick(h.duration(TransitionKind::WorkspaceStop));
        assert_eq!(h.state(&idle), Some(S::Stopped));

        // The user of `busy` disconnects: its timer starts from then.
        h.svc
            .admin_set_connection(&h.cx.scope, &busy, false)
            .expect("disconnect");
        h.tick(30.0 * 60.0);
        assert_eq!(h.state(&busy), Some(S::Available));
        h.tick(31.0 * 60.0);
        h.tick(h.duration(TransitionKind::WorkspaceStop) + 0.1);
        assert_eq!(h.state(&busy), Some(S::Stopped));
    });
}

#[test]
fn a_restart_in_the_middle_of_each_transition_continues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::new(Kind::Sqlite, dir.path());
    let d = h.ready_directory();
    let stopping = h.available(&d, "lee", ws::RunningMode::AutoStop);
    let rebooting = h.available(&d, "max", ws::RunningMode::AlwaysOn);
    let rebuilding = h.available(&d, "ned", ws::RunningMode::AlwaysOn);
    let updating = h.available(&d, "oli", ws::RunningMode::AlwaysOn);
    let terminating = h.available(&d, "pat", ws::RunningMode::AlwaysOn);
    h.svc
        .admin_set_connection(&h.cx.scope, &stopping, true)
        .expect("connect");
    h.tick(SIX_HOURS);
    let creating_ds = h.create_ds();
    let registering = h.create_ds();
    h.svc.engine().settle(h.svc.as_ref()).expect("settle");
    assert_eq!(h.ds_stage(&creating_ds), Some(ds::DirectoryStage::Active));
    h.register(&registering);
    let creating_ds = h.create_ds();
    let pending = h.create_ws(&d, "kim", ws::RunningMode::AlwaysOn);

    assert!(h.stop(&stopping).is_empty());
    assert!(h.reboot(&rebooting).is_empty());
    assert!(h.rebuild(&rebuilding).is_empty());
    h.set_compute(&updating, ws::Compute::Power).expect("modify");
    assert!(h.terminate(&terminating).is_empty());
    h.tick(0.5);

    // "Crash" half-way, and come back on the same database.
    let h = h.restart(dir.path());
    assert!(h.svc.engine().queued() >= 8, "pending transitions are recovered");
    assert_eq!(h.state(&pending), Some(S::Pending));
    assert_eq!(h.state(&stopping), Some(S::Stopping));
    assert_eq!(h.state(&rebooting), Some(S::Rebooting));
    assert_eq!(h.state(&rebuilding), Some(S::Rebuilding));
    assert_eq!(h.state(&updating), Some(S::Updating));
    assert_eq!(h.state(&terminating), Some(S::Terminating));
    assert_eq!(
        h.dir_state(&registering),
        Some(ws::WorkspaceDirectoryState::Registering)
    );
    assert_eq!(h.ds_stage(&creating_ds), Some(ds::DirectoryStage::Requested));

    h.tick(0.6);
    assert_eq!(h.state(&pending), Some(S::Available));
    assert_eq!(h.state(&stopping), Some(S::Stopped));
    assert_eq!(h.state(&rebooting), Some(S::Available));
    assert_eq!(h.state(&rebuilding), Some(S::Available));
    assert_eq!(h.state(&updating), Some(S::Available));
    assert_eq!(h.state(&terminating), Some(S::Terminated));
    assert_eq!(
        h.dir_state(&registering),
        Some(ws::WorkspaceDirectoryState::Registered)
    );
    assert_eq!(h.ds_stage(&creating_ds), Some(ds::DirectoryStage::Creating));
    assert_eq!(
        h.workspace(&updating)
            .workspace_properties
            .and_then(|p| p.compute_type_name),
        Some(ws::Compute::Power)
    );

    // Follow-ups scheduled before a restart continue after another one.
    let h = h.restart(dir.path());
    h.tick(h.duration(TransitionKind::WorkspaceRemove) + 0.1);
    assert_eq!(h.state(&terminating), None);
    assert_eq!(h.ds_stage(&creating_ds), Some(ds::DirectoryStage::Active));
}

#[test]
fn transitions_due_while_the_service_was_down_apply_on_the_first_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::new(Kind::Sqlite, dir.path());
    let d = h.ready_directory();
    let id = h.create_ws(&d, "quinn", ws::RunningMode::AlwaysOn);
    let h = h.restart(dir.path());
    // The service was down for an hour.
    h.clock.advance(3600.0);
    assert_eq!(
        h.state(&id),
        Some(S::Pending),
        "nothing moves until the engine runs"
    );
    h.tick(0.0);
    assert_eq!(h.state(&id), Some(S::Available));
}

// ---------------------------------------------------------------- snapshots and recovery

impl Harness {
    fn snapshots(&self, id: &str) -> (Vec<f64>, Vec<f64>) {
        let out = self
            .svc
            .describe_workspace_snapshots(
                &self.cx,
                ws::DescribeWorkspaceSnapshotsRequest {
                    workspace_id: id.to_string(),
                },
            )
            .expect("describe snapshots");
        let times = |l: Option<Vec<ws::Snapshot>>| {
            l.unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.snapshot_time)
                .collect::<Vec<_>>()
        };
        (times(out.rebuild_snapshots), times(out.restore_snapshots))
    }

    fn restore(&self, id: &str) -> Result<(), ws::Error> {
        self.svc
            .restore_workspace(
                &self.cx,
                ws::RestoreWorkspaceRequest {
                    workspace_id: id.to_string(),
                },
            )
            .map(|_| ())
    }

    fn migrate(&self, id: &str, bundle: &str) -> Result<String, ws::Error> {
        let out = self.svc.migrate_workspace(
            &self.cx,
            ws::MigrateWorkspaceRequest {
                source_workspace_id: id.to_string(),
                bundle_id: bundle.to_string(),
            },
        )?;
        assert_eq!(out.source_workspace_id.as_deref(), Some(id));
        Ok(out.target_workspace_id.expect("target id"))
    }

    /// The public bundle with exactly this name.
    fn bundle_named(&self, name: &str) -> String {
        let mut token = None;
        loop {
            let out = self
                .svc
                .describe_workspace_bundles(
                    &self.cx,
                    ws::DescribeWorkspaceBundlesRequest {
                        owner: Some("AMAZON".to_string()),
                        next_token: token.take(),
                        ..Default::default()
                    },
                )
                .expect("bundles");
            if let Some(b) = out
                .bundles
                .unwrap_or_default()
                .into_iter()
                .find(|b| b.name.as_deref() == Some(name))
            {
                return b.bundle_id.expect("bundle id");
            }
            token = Some(out.next_token.expect("bundle present"));
        }
    }

    fn force(&self, id: &str, state: &str) {
        self.svc
            .admin_force_state(&self.cx.scope, id, state)
            .expect("force state");
    }
}

const TWELVE_HOURS: f64 = 12.0 * 3600.0;

#[test]
fn snapshots_at_first_availability_then_every_twelve_healthy_hours() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.create_ws(&d, "sam", ws::RunningMode::AutoStop);
        assert_eq!(h.snapshots(&id), (vec![], vec![]), "{kind:?}: none while PENDING");
        h.almost(TransitionKind::WorkspaceCreate);
        h.finish();
        let first = START + h.duration(TransitionKind::WorkspaceCreate);
        let (rebuild, restore) = h.snapshots(&id);
        assert_eq!(restore.len(), 1);
        assert!(
            (restore[0] - first).abs() < 0.5,
            "taken when AVAILABLE: {restore:?}"
        );
        assert_eq!(rebuild, restore);
        // A user keeps it running (no auto-stop) for 12 hours: a second pair.
        h.svc
            .admin_set_connection(&h.cx.scope, &id, true)
            .expect("connect");
        h.tick(TWELVE_HOURS - 1.0);
        assert_eq!(h.snapshots(&id).1.len(), 1);
        h.tick(2.0);
        let (rebuild, restore) = h.snapshots(&id);
        assert_eq!(restore.len(), 2, "newest first: {restore:?}");
        assert!(restore[0] > restore[1]);
        assert_eq!(rebuild, vec![restore[0]], "a rebuild uses the latest");
        // Stopped WorkSpaces are not snapshotted; the pairs taken stay.
        h.svc
            .admin_set_connection(&h.cx.scope, &id, false)
            .expect("disconnect");
        assert!(h.stop(&id).is_empty());
        h.tick(h.duration(TransitionKind::WorkspaceStop) + 0.1);
        assert_eq!(h.state(&id), Some(S::Stopped));
        h.tick(3.0 * TWELVE_HOURS);
        assert_eq!(h.snapshots(&id).1.len(), 2);
    });
}

#[test]
fn workspace_restoring_returns_to_available_from_each_allowed_state() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let id = h.available(&d, "tom", ws::RunningMode::AutoStop);
        h.restore(&id).expect("restore AVAILABLE");
        assert_eq!(h.state(&id), Some(S::Restoring), "{kind:?}");
        h.almost(TransitionKind::WorkspaceRestore);
        assert_eq!(h.state(&id), Some(S::Restoring));
        h.finish();
        assert_eq!(h.state(&id), Some(S::Available));

        assert!(h.stop(&id).is_empty());
        let refused = h.restore(&id).expect_err("STOPPING refuses");
        assert_eq!(refused.code, ws::ErrorCode::OperationNotSupportedException);
        h.tick(h.duration(TransitionKind::WorkspaceStop) + 0.1);
        assert_eq!(h.state(&id), Some(S::Stopped));
        h.restore(&id).expect("restore STOPPED");
        assert_eq!(h.state(&id), Some(S::Restoring));
        h.tick(h.duration(TransitionKind::WorkspaceRestore) + 0.1);
        assert_eq!(h.state(&id), Some(S::Available), "a restored WorkSpace runs");

        for fault in ["ERROR", "UNHEALTHY"] {
            h.force(&id, fault);
            h.restore(&id).expect(fault);
            assert_eq!(h.state(&id), Some(S::Restoring));
            h.tick(h.duration(TransitionKind::WorkspaceRestore) + 0.1);
            let w = h.workspace(&id);
            assert_eq!(w.state, Some(S::Available));
            assert_eq!(w.error_code, None, "{fault}: the error is cleared");
        }
        for refused in ["IMPAIRED", "ADMIN_MAINTENANCE", "SUSPENDED"] {
            h.force(&id, refused);
            let e = h.restore(&id).expect_err(refused);
            assert_eq!(e.code, ws::ErrorCode::OperationNotSupportedException, "{refused}");
        }
        let e = h.restore("ws-000000000").expect_err("unknown");
        assert_eq!(e.code, ws::ErrorCode::ResourceNotFoundException);

        // Never AVAILABLE, hence no snapshot: nothing to restore from.
        let broken = h.create_ws(&d, "uma", ws::RunningMode::AlwaysOn);
        h.force(&broken, "ERROR");
        assert_eq!(h.snapshots(&broken), (vec![], vec![]));
        let e = h.restore(&broken).expect_err("no snapshot");
        assert_eq!(e.code, ws::ErrorCode::OperationNotSupportedException);
    });
}

#[test]
fn migrate_source_terminating_target_pending_then_available_and_source_gone() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let from = h.bundle_named("Standard with Windows 10 (Server 2022 based)");
        let to = h.bundle_named("Performance with Windows 10 (Server 2022 based)");
        let src = h.create_ws(&d, "vic", ws::RunningMode::AlwaysOn);
        let e = h.migrate(&src, &to).expect_err("PENDING");
        assert_eq!(e.code, ws::ErrorCode::ResourceUnavailableException, "{kind:?}");
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.workspace(&src).bundle_id.as_deref(), Some(from.as_str()));

        let target = h.migrate(&src, &to).expect("migrate");
        assert_ne!(target, src);
        assert_eq!(h.state(&src), Some(S::Terminating));
        assert_eq!(h.state(&target), Some(S::Pending));
        let e = h.migrate(&src, &from).expect_err("twice");
        assert_eq!(e.code, ws::ErrorCode::OperationInProgressException);
        let t = h.workspace(&target);
        assert_eq!(t.directory_id.as_deref(), Some(d.as_str()));
        assert_eq!(t.user_name.as_deref(), Some("vic"));
        assert_eq!(t.bundle_id.as_deref(), Some(to.as_str()));
        assert_eq!(
            t.workspace_properties.and_then(|p| p.compute_type_name),
            Some(ws::Compute::Performance)
        );

        h.almost(TransitionKind::WorkspaceMigrate);
        assert_eq!(h.state(&target), Some(S::Pending));
        assert_eq!(h.state(&src), Some(S::Terminating));
        h.finish();
        assert_eq!(h.state(&target), Some(S::Available));
        assert_eq!(h.state(&src), Some(S::Terminated), "once the target is created");
        h.tick(h.duration(TransitionKind::WorkspaceRemove) + 0.1);
        assert_eq!(h.state(&src), None, "the source is removed");
        assert_eq!(h.snapshots(&target).1.len(), 1, "the new WorkSpace's first pair");

        // The user has exactly one WorkSpace again.
        let by_user = h
            .svc
            .describe_workspaces(
                &h.cx,
                ws::DescribeWorkspacesRequest {
                    directory_id: Some(d.clone()),
                    user_name: Some("vic".to_string()),
                    ..Default::default()
                },
            )
            .expect("describe")
            .workspaces
            .unwrap_or_default();
        assert_eq!(by_user.len(), 1);
        assert_eq!(by_user[0].workspace_id.as_deref(), Some(target.as_str()));
    });
}

#[test]
fn a_failed_migration_leaves_the_source_with_its_id() {
    each_kind(|kind, dir| {
        let h = Harness::new(kind, dir);
        let d = h.ready_directory();
        let to = h.bundle_named("Power with Windows 10 (Server 2022 based)");
        let src = h.available(&d, "wes", ws::RunningMode::AlwaysOn);
        let target = h.migrate(&src, &to).expect("migrate");
        // The new WorkSpace is terminated before it was created.
        assert!(h.terminate(&target).is_empty());
        h.svc.engine().settle(h.svc.as_ref()).expect("settle");
        assert_eq!(h.state(&target), None, "{kind:?}");
        assert_eq!(h.state(&src), Some(S::Available), "the source is back");
        h.restore(&src).expect("usable again");
    });
}

#[test]
fn a_restart_in_the_middle_of_a_migration_continues_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::new(Kind::Sqlite, dir.path());
    let d = h.ready_directory();
    let to = h.bundle_named("Performance with Windows 10 (Server 2022 based)");
    let src = h.available(&d, "xia", ws::RunningMode::AlwaysOn);
    let restoring = h.available(&d, "yan", ws::RunningMode::AlwaysOn);
    let target = h.migrate(&src, &to).expect("migrate");
    h.restore(&restoring).expect("restore");
    h.tick(0.5);
    let h = h.restart(dir.path());
    assert_eq!(h.state(&src), Some(S::Terminating));
    assert_eq!(h.state(&target), Some(S::Pending));
    assert_eq!(h.state(&restoring), Some(S::Restoring));
    h.tick(0.6);
    assert_eq!(h.state(&target), Some(S::Available));
    assert_eq!(h.state(&src), Some(S::Terminated));
    assert_eq!(h.state(&restoring), Some(S::Available));
    let h = h.restart(dir.path());
    h.tick(h.duration(TransitionKind::WorkspaceRemove) + 0.1);
    assert_eq!(h.state(&src), None);
    assert_eq!(h.state(&target), Some(S::Available));
}

#[test]
fn an_undecodable_pending_transition_is_quarantined_and_the_rest_continue() {
    use localspaces_store::{Expect, Key, Put, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::new(Kind::Sqlite, dir.path());
    let d = h.ready_directory();
    let id = h.create_ws(&d, "rowan", ws::RunningMode::AlwaysOn);
    // A pending transition whose record no longer decodes (a bad disk, a foreign writer).
    h.svc
        .store()
        .commit(vec![Write::Put(Put {
            key: Key {
                scope: h.cx.scope.clone(),
                kind: localspaces::engine::TRANSITION_KIND.to_string(),
                id: "ws-garbage00".to_string(),
            },
            body: b"\xff not json".to_vec(),
            indexes: vec![],
            unique: vec![],
            expect: Expect::Any,
        })])
        .expect("write the bad record");
    // Start-up skips it instead of refusing to start; the good transition still runs.
    let h = h.restart(dir.path());
    assert_eq!(h.state(&id), Some(S::Pending));
    h.tick(h.duration(TransitionKind::WorkspaceCreate) + 0.1);
    assert_eq!(h.state(&id), Some(S::Available));
}
