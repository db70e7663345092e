//! The official AWS SDK for Rust over snapshots and recovery (DescribeWorkspaceSnapshots,
//! RestoreWorkspace and MigrateWorkspace), on both
//! store engines with the default `fast` timing: the transitional state is asserted right after
//! each call and `/_localspaces/settle` completes it.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{Compute, TargetWorkspaceState, WorkspaceRequest, WorkspaceState};
use aws_sdk_workspaces::Client;
use common::{
    admin, expect_err, ok, random_account, registered_directory, settle, Engine, TestServer, REGION,
};

const STANDARD_WINDOWS: &str = "Standard with Windows 10 (Server 2022 based)";
const PERFORMANCE_WINDOWS: &str = "Performance with Windows 10 (Server 2022 based)";
const STANDARD_LINUX: &str = "Standard with Amazon Linux 2";
const MISSING_WS: &str = "ws-zzzzzzzz9";
const MISSING_BUNDLE: &str = "wsb-zzzzzzzz9";

async fn each_engine<F, Fut>(f: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = TestServer>,
{
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await; // default `fast` timing
        let server = f(server).await;
        server.stop().await;
    }
}

struct Env<'a> {
    server: &'a TestServer,
    account: String,
    c: Client,
}

impl Env<'_> {
    async fn bundle(&self, name: &str) -> String {
        let mut token: Option<String> = None;
        loop {
            let out = ok(
                "DescribeWorkspaceBundles",
                self.c
                    .describe_workspace_bundles()
                    .owner("AMAZON")
                    .set_next_token(token.take())
                    .send()
                    .await,
            );
            if let Some(b) = out.bundles().iter().find(|b| b.name() == Some(name)) {
                return b.bundle_id().expect("BundleId").to_string();
            }
            token = Some(out.next_token().expect("bundle present").to_string());
        }
    }

    /// A WorkSpace of `user` on `bundle`, still PENDING.
    async fn create(&self, directory: &str, bundle: &str, user: &str) -> String {
        let out = ok(
            "CreateWorkspaces",
            self.c
                .create_workspaces()
                .workspaces(
                    WorkspaceRequest::builder()
                        .directory_id(directory)
                        .bundle_id(bundle)
                        .user_name(user)
                        .build()
                        .expect("request"),
                )
                .send()
                .await,
        );
        assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());
        out.pending_requests()[0]
            .workspace_id()
            .expect("WorkspaceId")
            .to_string()
    }

    async fn state(&self, id: &str) -> Option<WorkspaceState> {
        let out = ok(
            "DescribeWorkspaces",
            self.c.describe_workspaces().workspace_ids(id).send().await,
        );
        out.workspaces().first().and_then(|w| w.state().cloned())
    }

    /// (RebuildSnapshots, RestoreSnapshots) as epoch seconds.
    async fn snapshots(&self, id: &str) -> (Vec<f64>, Vec<f64>) {
        let out = ok(
            "DescribeWorkspaceSnapshots",
            self.c
                .describe_workspace_snapshots()
                .workspace_id(id)
                .send()
                .await,
        );
        let secs = |l: &[aws_sdk_workspaces::types::Snapshot]| {
            l.iter()
                .filter_map(|s| s.snapshot_time().map(|t| t.as_secs_f64()))
                .collect::<Vec<_>>()
        };
        (secs(out.rebuild_snapshots()), secs(out.restore_snapshots()))
    }

    async fn force(&self, id: &str, state: &str) {
        admin(
            self.server,
            &format!(
                "workspace-state?account={}&region={REGION}&workspace_id={id}&state={state}",
                self.account
            ),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_restore_and_migrate() {
    each_engine(|server| async move {
        let account = random_account();
        let e = Env {
            server: &server,
            c: server.client_as(&account, REGION),
            account,
        };
        let dir = registered_directory(&server, &e.account).await;
        let standard = e.bundle(STANDARD_WINDOWS).await;
        let performance = e.bundle(PERFORMANCE_WINDOWS).await;
        let id = e.create(&dir, &standard, "alice").await;
        assert_eq!(e.snapshots(&id).await, (vec![], vec![]), "none while PENDING");
        settle(&server).await;
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Available));
        let (rebuild, restore) = e.snapshots(&id).await;
        assert_eq!(restore.len(), 1, "the first pair when AVAILABLE");
        assert_eq!(rebuild, restore);

        // Restore: RESTORING -> AVAILABLE, from AVAILABLE and from ERROR.
        ok(
            "RestoreWorkspace",
            e.c.restore_workspace().workspace_id(&id).send().await,
        );
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Restoring));
        settle(&server).await;
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Available));
        e.force(&id, "ERROR").await;
        ok(
            "RestoreWorkspace from ERROR",
            e.c.restore_workspace().workspace_id(&id).send().await,
        );
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Restoring));
        settle(&server).await;
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Available));

        // Migrate: the source TERMINATING, the new WorkSpace PENDING -> AVAILABLE, the source gone.
        let out = ok(
            "MigrateWorkspace",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(&performance)
                .send()
                .await,
        );
        assert_eq!(out.source_workspace_id(), Some(id.as_str()));
        let target = out.target_workspace_id().expect("TargetWorkspaceId").to_string();
        assert_ne!(target, id);
        assert_eq!(e.state(&id).await, Some(WorkspaceState::Terminating));
        assert_eq!(e.state(&target).await, Some(WorkspaceState::Pending));
        settle(&server).await;
        assert_eq!(e.state(&id).await, None, "the source is removed");
        let out = ok(
            "DescribeWorkspaces",
            e.c.describe_workspaces().workspace_ids(&target).send().await,
        );
        let w = &out.workspaces()[0];
        assert_eq!(w.state(), Some(&WorkspaceState::Available));
        assert_eq!(
            (w.directory_id(), w.user_name(), w.bundle_id()),
            (Some(dir.as_str()), Some("alice"), Some(performance.as_str()))
        );
        assert_eq!(
            w.workspace_properties().and_then(|p| p.compute_type_name()),
            Some(&Compute::Performance)
        );
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_restore_and_migrate_errors() {
    each_engine(|server| async move {
        let account = random_account();
        let e = Env {
            server: &server,
            c: server.client_as(&account, REGION),
            account,
        };
        expect_err!(
            "DescribeWorkspaceSnapshots unknown",
            e.c.describe_workspace_snapshots()
                .workspace_id(MISSING_WS)
                .send()
                .await,
            is_resource_not_found_exception
        );
        expect_err!(
            "RestoreWorkspace unknown",
            e.c.restore_workspace().workspace_id(MISSING_WS).send().await,
            is_resource_not_found_exception
        );
        let dir = registered_directory(&server, &e.account).await;
        let standard = e.bundle(STANDARD_WINDOWS).await;
        let performance = e.bundle(PERFORMANCE_WINDOWS).await;
        expect_err!(
            "MigrateWorkspace unknown source",
            e.c.migrate_workspace()
                .source_workspace_id(MISSING_WS)
                .bundle_id(&performance)
                .send()
                .await,
            is_resource_not_found_exception
        );
        let id = e.create(&dir, &standard, "bob").await;
        expect_err!(
            "MigrateWorkspace PENDING",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(&performance)
                .send()
                .await,
            is_resource_unavailable_exception
        );
        expect_err!(
            "RestoreWorkspace PENDING",
            e.c.restore_workspace().workspace_id(&id).send().await,
            is_operation_not_supported_exception
        );
        settle(&server).await;
        expect_err!(
            "MigrateWorkspace unknown bundle",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(MISSING_BUNDLE)
                .send()
                .await,
            is_resource_not_found_exception
        );
        expect_err!(
            "MigrateWorkspace same bundle",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(&standard)
                .send()
                .await,
            is_invalid_parameter_values_exception
        );
        expect_err!(
            "MigrateWorkspace Windows to Linux",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(e.bundle(STANDARD_LINUX).await)
                .send()
                .await,
            is_operation_not_supported_exception
        );
        ok(
            "ModifyWorkspaceState",
            e.c.modify_workspace_state()
                .workspace_id(&id)
                .workspace_state(TargetWorkspaceState::AdminMaintenance)
                .send()
                .await,
        );
        expect_err!(
            "RestoreWorkspace ADMIN_MAINTENANCE",
            e.c.restore_workspace().workspace_id(&id).send().await,
            is_operation_not_supported_exception
        );
        e.force(&id, "AVAILABLE").await;
        ok(
            "MigrateWorkspace",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(&performance)
                .send()
                .await,
        );
        expect_err!(
            "MigrateWorkspace twice",
            e.c.migrate_workspace()
                .source_workspace_id(&id)
                .bundle_id(&performance)
                .send()
                .await,
            is_operation_in_progress_exception
        );
        settle(&server).await;
        server
    })
    .await;
}
