//! The official AWS SDK for Rust (`aws-sdk-workspaces`) against an in-process localspaces,
//! over personal WorkSpaces end to end: a Directory Service (Simple AD) directory, its
//! registration with WorkSpaces, the public bundle catalog, CreateWorkspaces and the batch
//! actions, property and state changes, connection status, auto-stop, tags, termination,
//! deregistration and deletion. Every scenario runs on both store engines; those whose
//! observable behaviour depends on timing also run with the `instant` and the default `fast`
//! timing profile (with `fast`, the transitional state is asserted right after each call and
//! `/_localspaces/settle` is used instead of waiting).
//!
//! There is no Directory Service SDK among the dev-dependencies: the few DS calls are raw
//! awsJson1_1 requests (`X-Amz-Target: DirectoryService_20150416.<Op>`) with a syntactically
//! valid SigV4 header (the test servers run in `--auth open`, which does not verify it).
//!
//! Behaviour follows the AWS WorkSpaces API Reference and Administration Guide (states and
//! transitions, property rules, per-item failures, filters, directories, bundles, tags,
//! pagination). Where AWS's behaviour is unconfirmed, the comment says so where a test
//! relies on it.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    Compute, ConnectionState, FailedWorkspaceChangeRequest, ModificationResourceEnum, Protocol,
    RebootRequest, RebuildRequest, RunningMode, StartRequest, StopRequest, Tag, TargetWorkspaceState,
    Tenancy, TerminateRequest, Workspace, WorkspaceBundle, WorkspaceDirectory, WorkspaceDirectoryState,
    WorkspaceDirectoryType, WorkspaceProperties, WorkspaceRequest, WorkspaceState,
};
use aws_sdk_workspaces::Client;
use common::{
    admin, advance, ds_call, expect_err, ok, random_account, service_err, settle, tag, tag_no_value, Engine,
    TestServer, REGION,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// Scenarios `async fn name(&TestServer)` on both engines, each on its own server started
/// with the given extra options.
macro_rules! scenarios {
    ($($name:ident [$($arg:expr),*]),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    let server = TestServer::start_with(Engine::Memory, &[$($arg),*]).await;
                    super::$name(&server).await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let server = TestServer::start_with(Engine::Sqlite, &[$($arg),*]).await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            }
        )*
    };
}

/// Scenarios `async fn name(&TestServer, fast: bool)` on both engines × the `instant` and
/// `fast` timing profiles.
macro_rules! timing_scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                async fn run(engine: Engine, timing: &str) {
                    let server = TestServer::start_with(engine, &["--timing", timing]).await;
                    super::$name(&server, timing == "fast").await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory_instant() {
                    run(Engine::Memory, "instant").await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory_fast() {
                    run(Engine::Memory, "fast").await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_instant() {
                    run(Engine::Sqlite, "instant").await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_fast() {
                    run(Engine::Sqlite, "fast").await;
                }
            }
        )*
    };
}

timing_scenarios!(
    full_flow,
    auto_stop_after_disconnection,
    connected_user_keeps_an_auto_stop_workspace_running,
);

scenarios!(
    create_workspaces_item_failures[],
    workspaces_quota_fails_the_whole_call["--quota", "workspaces=2"],
    batch_action_state_preconditions[],
    fault_states[],
    modify_workspace_properties_rules[],
    directory_registration_errors[],
    ip_group_association[],
    describe_workspaces_filters_and_pagination[],
    describe_workspace_bundles_pagination[],
    tags_on_workspaces_and_directories[],
);

// ---------------------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------------------

const SUBNETS: [&str; 2] = ["subnet-0a1b2c3d", "subnet-0a1b2c3e"];
const STANDARD_WINDOWS: &str = "Standard with Windows 10 (Server 2022 based)";
const POWER_WINDOWS: &str = "Power with Windows 10 (Server 2022 based)";
/// Per-item failure strings in WorkSpaces' `Category.Resource` style (AWS's exact strings are
/// unconfirmed).
const WS_NOT_FOUND: (&str, &str) = (
    "ResourceNotFound.Workspace",
    "The specified WorkSpace cannot be found. Confirm that the workspace exists in your AWS account, and try again.",
);
const WS_BAD_STATE: (&str, &str) = (
    "InvalidResourceState.Workspace",
    "The specified WorkSpace has an invalid state for this operation.",
);
/// Well-formed ids that name nothing.
const MISSING_WS: &str = "ws-zzzzzzzz9";
const MISSING_DIR: &str = "d-0123456789";
const MISSING_BUNDLE: &str = "wsb-zzzzzzzz9";
/// The observed message of RegisterWorkspaceDirectory for a DS directory that is not Active.
const NOT_ACTIVE: &str =
    "The specified directory is not in a valid state. Confirm that the directory has a status of Active, and try again.";

fn is_workspace_id(id: &str) -> bool {
    id.strip_prefix("ws-").is_some_and(|r| {
        (8..=63).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

fn is_ds_id(id: &str) -> bool {
    id.strip_prefix("d-").is_some_and(|r| {
        r.len() == 10
            && r.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

fn is_bundle_id(id: &str) -> bool {
    id.strip_prefix("wsb-").is_some_and(|r| {
        (8..=63).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// One account of one test: its WorkSpaces client and its raw Directory Service access.
struct Env<'a> {
    server: &'a TestServer,
    account: String,
    c: Client,
}

impl<'a> Env<'a> {
    fn new(server: &'a TestServer) -> Self {
        let account = random_account();
        let c = server.client_as(&account, REGION);
        Env { server, account, c }
    }

    /// A Directory Service call: `(HTTP status, JSON body)`.
    async fn ds(&self, op: &str, body: Value) -> (u16, Value) {
        ds_call(self.server, &self.account, op, body).await
    }

    /// CreateDirectory (Simple AD); returns the new `d-` id.
    async fn create_ds(&self, name: &str) -> String {
        let (status, out) = self
            .ds(
                "CreateDirectory",
                json!({
                    "Name": name,
                    "Password": "Sup3r-Secret",
                    "Size": "Small",
                    "Description": "localspaces test",
                    "VpcSettings": {"VpcId": "vpc-0a1b2c3d", "SubnetIds": SUBNETS},
                }),
            )
            .await;
        assert_eq!(status, 200, "CreateDirectory: {out}");
        let id = out["DirectoryId"].as_str().expect("DirectoryId").to_string();
        assert!(is_ds_id(&id), "DS id {id:?} is not d- + 10 lower hex");
        id
    }

    /// The DS stage of `id`, or `None` when DescribeDirectories says it does not exist.
    async fn ds_stage(&self, id: &str) -> Option<String> {
        let (status, out) = self
            .ds("DescribeDirectories", json!({"DirectoryIds": [id]}))
            .await;
        if status == 400 {
            assert_eq!(
                out["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t)),
                Some("EntityDoesNotExistException"),
                "DescribeDirectories {id}: {out}"
            );
            return None;
        }
        assert_eq!(status, 200, "DescribeDirectories {id}: {out}");
        let d = &out["DirectoryDescriptions"][0];
        assert_eq!(d["DirectoryId"].as_str(), Some(id), "{out}");
        Some(d["Stage"].as_str().expect("Stage").to_string())
    }

    async fn wait_ds_stage(&self, id: &str, want: Option<&str>) {
        let mut last = None;
        for _ in 0..100 {
            settle(self.server).await;
            last = self.ds_stage(id).await;
            if last.as_deref() == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("DS directory {id}: stage {last:?}, wanted {want:?}");
    }

    /// A DS directory that is Active.
    async fn active_ds(&self, name: &str) -> String {
        let id = self.create_ds(name).await;
        self.wait_ds_stage(&id, Some("Active")).await;
        id
    }

    /// The registered directory `id`, if DescribeWorkspaceDirectories returns it.
    async fn directory(&self, id: &str) -> Option<WorkspaceDirectory> {
        let out = ok(
            &format!("DescribeWorkspaceDirectories {id}"),
            self.c
                .describe_workspace_directories()
                .directory_ids(id)
                .send()
                .await,
        );
        assert!(out.directories().len() <= 1);
        out.directories().first().cloned()
    }

    async fn wait_directory(&self, id: &str, want: Option<WorkspaceDirectoryState>) {
        let mut last = None;
        for _ in 0..100 {
            settle(self.server).await;
            last = self.directory(id).await.and_then(|d| d.state().cloned());
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("directory {id}: state {last:?}, wanted {want:?}");
    }

    /// An Active DS directory registered with WorkSpaces (REGISTERED).
    async fn registered_directory(&self, name: &str) -> String {
        let id = self.active_ds(name).await;
        ok(
            "RegisterWorkspaceDirectory",
            self.c
                .register_workspace_directory()
                .directory_id(&id)
                .send()
                .await,
        );
        self.wait_directory(&id, Some(WorkspaceDirectoryState::Registered))
            .await;
        id
    }

    /// The public bundle called `name`.
    async fn bundle(&self, name: &str) -> WorkspaceBundle {
        all_amazon_bundles(&self.c)
            .await
            .into_iter()
            .find(|b| b.name() == Some(name))
            .unwrap_or_else(|| panic!("no public bundle named {name:?}"))
    }

    /// The WorkSpace `id`, if DescribeWorkspaces returns it.
    async fn workspace(&self, id: &str) -> Option<Workspace> {
        let out = ok(
            &format!("DescribeWorkspaces {id}"),
            self.c.describe_workspaces().workspace_ids(id).send().await,
        );
        assert!(out.workspaces().len() <= 1);
        out.workspaces().first().cloned()
    }

    async fn must(&self, id: &str) -> Workspace {
        self.workspace(id)
            .await
            .unwrap_or_else(|| panic!("WorkSpace {id} is not described"))
    }

    async fn state(&self, id: &str) -> WorkspaceState {
        self.must(id).await.state().cloned().expect("State")
    }

    /// Settles until the WorkSpace is in `want` (`None`: gone); returns it.
    async fn wait(&self, id: &str, want: Option<WorkspaceState>) -> Option<Workspace> {
        let mut last = None;
        for _ in 0..100 {
            settle(self.server).await;
            let w = self.workspace(id).await;
            last = w.as_ref().and_then(|w| w.state().cloned());
            if last == want {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("WorkSpace {id}: state {last:?}, wanted {want:?}");
    }

    async fn wait_available(&self, id: &str) -> Workspace {
        self.wait(id, Some(WorkspaceState::Available))
            .await
            .expect("described")
    }

    /// CreateWorkspaces that must succeed for every item; returns the ids in request order.
    async fn create(&self, reqs: Vec<WorkspaceRequest>) -> Vec<String> {
        let users: Vec<String> = reqs.iter().map(|r| r.user_name().to_string()).collect();
        let out = ok(
            "CreateWorkspaces",
            self.c.create_workspaces().set_workspaces(Some(reqs)).send().await,
        );
        assert!(
            out.failed_requests().is_empty(),
            "CreateWorkspaces failures: {:?}",
            out.failed_requests()
        );
        assert_eq!(out.pending_requests().len(), users.len());
        users
            .iter()
            .map(|u| {
                let w = out
                    .pending_requests()
                    .iter()
                    .find(|w| w.user_name() == Some(u.as_str()))
                    .unwrap_or_else(|| panic!("no pending WorkSpace for {u}"));
                w.workspace_id().expect("WorkspaceId").to_string()
            })
            .collect()
    }
}

fn wreq(dir: &str, user: &str, bundle: &str) -> WorkspaceRequest {
    WorkspaceRequest::builder()
        .directory_id(dir)
        .user_name(user)
        .bundle_id(bundle)
        .build()
        .expect("WorkspaceRequest")
}

fn wreq_props(dir: &str, user: &str, bundle: &str, props: WorkspaceProperties) -> WorkspaceRequest {
    WorkspaceRequest::builder()
        .directory_id(dir)
        .user_name(user)
        .bundle_id(bundle)
        .workspace_properties(props)
        .build()
        .expect("WorkspaceRequest")
}

fn auto_stop(minutes: Option<i32>) -> WorkspaceProperties {
    WorkspaceProperties::builder()
        .running_mode(RunningMode::AutoStop)
        .set_running_mode_auto_stop_timeout_in_minutes(minutes)
        .build()
}

async fn all_amazon_bundles(c: &Client) -> Vec<WorkspaceBundle> {
    let mut items = c
        .describe_workspace_bundles()
        .owner("AMAZON")
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(b) = items.next().await {
        out.push(ok("DescribeWorkspaceBundles (paginator)", b));
    }
    out
}

async fn start(c: &Client, ids: &[&str]) -> Vec<FailedWorkspaceChangeRequest> {
    let reqs = ids
        .iter()
        .map(|id| StartRequest::builder().workspace_id(*id).build())
        .collect();
    ok(
        "StartWorkspaces",
        c.start_workspaces()
            .set_start_workspace_requests(Some(reqs))
            .send()
            .await,
    )
    .failed_requests()
    .to_vec()
}

async fn stop(c: &Client, ids: &[&str]) -> Vec<FailedWorkspaceChangeRequest> {
    let reqs = ids
        .iter()
        .map(|id| StopRequest::builder().workspace_id(*id).build())
        .collect();
    ok(
        "StopWorkspaces",
        c.stop_workspaces()
            .set_stop_workspace_requests(Some(reqs))
            .send()
            .await,
    )
    .failed_requests()
    .to_vec()
}

async fn reboot(c: &Client, ids: &[&str]) -> Vec<FailedWorkspaceChangeRequest> {
    let reqs = ids
        .iter()
        .map(|id| {
            RebootRequest::builder()
                .workspace_id(*id)
                .build()
                .expect("RebootRequest")
        })
        .collect();
    ok(
        "RebootWorkspaces",
        c.reboot_workspaces()
            .set_reboot_workspace_requests(Some(reqs))
            .send()
            .await,
    )
    .failed_requests()
    .to_vec()
}

async fn rebuild(c: &Client, id: &str) -> Vec<FailedWorkspaceChangeRequest> {
    ok(
        "RebuildWorkspaces",
        c.rebuild_workspaces()
            .rebuild_workspace_requests(
                RebuildRequest::builder()
                    .workspace_id(id)
                    .build()
                    .expect("RebuildRequest"),
            )
            .send()
            .await,
    )
    .failed_requests()
    .to_vec()
}

async fn terminate(c: &Client, ids: &[&str]) -> Vec<FailedWorkspaceChangeRequest> {
    let reqs = ids
        .iter()
        .map(|id| {
            TerminateRequest::builder()
                .workspace_id(*id)
                .build()
                .expect("TerminateRequest")
        })
        .collect();
    ok(
        "TerminateWorkspaces",
        c.terminate_workspaces()
            .set_terminate_workspace_requests(Some(reqs))
            .send()
            .await,
    )
    .failed_requests()
    .to_vec()
}

/// Asserts that `failed` holds exactly one entry per `(id, (code, message))`.
fn assert_failures(what: &str, failed: &[FailedWorkspaceChangeRequest], want: &[(&str, (&str, &str))]) {
    let got: BTreeSet<(String, String, String)> = failed
        .iter()
        .map(|f| {
            (
                f.workspace_id().unwrap_or("").to_string(),
                f.error_code().unwrap_or("").to_string(),
                f.error_message().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = want
        .iter()
        .map(|(id, (code, msg))| (id.to_string(), code.to_string(), msg.to_string()))
        .collect();
    assert_eq!(got, expected, "{what}: FailedRequests");
    assert_eq!(
        failed.len(),
        want.len(),
        "{what}: duplicate FailedRequests entries"
    );
}

fn props(w: &Workspace) -> &WorkspaceProperties {
    w.workspace_properties().expect("WorkspaceProperties")
}

async fn tags_of(c: &Client, id: &str) -> Vec<(String, Option<String>)> {
    let out = ok(
        &format!("DescribeTags {id}"),
        c.describe_tags().resource_id(id).send().await,
    );
    let mut v: Vec<(String, Option<String>)> = out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().map(str::to_string)))
        .collect();
    v.sort();
    v
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = p
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// 1. The whole life of a directory and its WorkSpaces
// ---------------------------------------------------------------------------------------

async fn full_flow(server: &TestServer, fast: bool) {
    let env = Env::new(server);
    let c = &env.c;

    // Directory Service: Simple AD, Requested/Creating → Active.
    let dir = env.create_ds("corp.example.com").await;
    if fast {
        let stage = env.ds_stage(&dir).await;
        assert!(
            matches!(stage.as_deref(), Some("Requested" | "Creating")),
            "a new DS directory is not Active at once: {stage:?}"
        );
        // PERSONAL registration needs an Active DS directory (observed message).
        let e = expect_err!(
            "RegisterWorkspaceDirectory before Active",
            c.register_workspace_directory().directory_id(&dir).send().await,
            is_invalid_resource_state_exception
        );
        assert_eq!(e.message(), Some(NOT_ACTIVE));
    }
    env.wait_ds_stage(&dir, Some("Active")).await;

    // Registration: {DirectoryId, State: REGISTERING} → REGISTERED.
    let reg = ok(
        "RegisterWorkspaceDirectory",
        c.register_workspace_directory().directory_id(&dir).send().await,
    );
    assert_eq!(reg.directory_id(), Some(dir.as_str()));
    assert_eq!(reg.state(), Some(&WorkspaceDirectoryState::Registering));
    if fast {
        let d = env
            .directory(&dir)
            .await
            .expect("registering directory is described");
        assert_eq!(d.state(), Some(&WorkspaceDirectoryState::Registering));
    }
    env.wait_directory(&dir, Some(WorkspaceDirectoryState::Registered))
        .await;
    let d = env.directory(&dir).await.expect("registered directory");
    assert_eq!(d.directory_type(), Some(&WorkspaceDirectoryType::SimpleAd));
    assert_eq!(d.directory_name(), Some("corp.example.com"));
    assert_eq!(d.alias(), Some(dir.as_str()), "Alias defaults to the DS id");
    assert!(d.registration_code().is_some_and(|r| (1..=20).contains(&r.len())));
    assert_eq!(d.subnet_ids(), SUBNETS.map(String::from).as_slice());
    assert_eq!(d.dns_ip_addresses().len(), 2);
    assert_eq!(d.customer_user_name(), Some("Administrator"));
    assert_eq!(d.tenancy(), Some(&Tenancy::Shared));

    // Public bundles.
    let standard = env.bundle(STANDARD_WINDOWS).await;
    let bundle = standard.bundle_id().expect("BundleId").to_string();

    // CreateWorkspaces: every item PENDING → AVAILABLE.
    let out = ok(
        "CreateWorkspaces",
        c.create_workspaces()
            .workspaces(wreq(&dir, "alice", &bundle))
            .workspaces(wreq_props(&dir, "bob", &bundle, auto_stop(Some(60))))
            .workspaces(wreq_props(&dir, "carol", &bundle, auto_stop(None)))
            .send()
            .await,
    );
    assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());
    assert_eq!(out.pending_requests().len(), 3);
    let by_user = |u: &str| -> Workspace {
        out.pending_requests()
            .iter()
            .find(|w| w.user_name() == Some(u))
            .cloned()
            .unwrap_or_else(|| panic!("no pending WorkSpace for {u}"))
    };
    let (alice, bob, carol) = (by_user("alice"), by_user("bob"), by_user("carol"));
    for w in [&alice, &bob, &carol] {
        assert!(is_workspace_id(w.workspace_id().unwrap_or("")), "{w:?}");
        assert_eq!(w.state(), Some(&WorkspaceState::Pending));
        assert_eq!(w.directory_id(), Some(dir.as_str()));
        assert_eq!(w.bundle_id(), Some(bundle.as_str()));
        let p = props(w);
        // Omitted sizes and compute come from the bundle.
        assert_eq!(p.root_volume_size_gib(), Some(80));
        assert_eq!(p.user_volume_size_gib(), Some(50));
        assert_eq!(p.compute_type_name(), Some(&Compute::Standard));
        assert_eq!(p.protocols(), &[Protocol::Pcoip]);
    }
    assert_eq!(props(&alice).running_mode(), Some(&RunningMode::AlwaysOn));
    assert_eq!(props(&alice).running_mode_auto_stop_timeout_in_minutes(), None);
    assert_eq!(props(&bob).running_mode(), Some(&RunningMode::AutoStop));
    assert_eq!(props(&bob).running_mode_auto_stop_timeout_in_minutes(), Some(60));
    // AUTO_STOP without a timeout defaults to 60 minutes.
    assert_eq!(
        props(&carol).running_mode_auto_stop_timeout_in_minutes(),
        Some(60)
    );
    let alice = alice.workspace_id().unwrap().to_string();
    let bob = bob.workspace_id().unwrap().to_string();
    let carol = carol.workspace_id().unwrap().to_string();
    let all = [alice.as_str(), bob.as_str(), carol.as_str()];
    if fast {
        for id in all {
            assert_eq!(
                env.state(id).await,
                WorkspaceState::Pending,
                "{id} right after CreateWorkspaces"
            );
        }
    }
    for id in all {
        let w = env.wait_available(id).await;
        assert!(
            w.ip_address().is_some(),
            "an AVAILABLE WorkSpace has an IP address"
        );
        assert!(
            w.computer_name().is_some(),
            "an AVAILABLE WorkSpace has a computer name"
        );
        assert!(
            SUBNETS.contains(&w.subnet_id().unwrap_or("")),
            "{:?}",
            w.subnet_id()
        );
    }

    // Stop / start an AUTO_STOP WorkSpace.
    assert_failures("StopWorkspaces bob", &stop(c, &[&bob]).await, &[]);
    if fast {
        assert_eq!(env.state(&bob).await, WorkspaceState::Stopping);
    }
    env.wait(&bob, Some(WorkspaceState::Stopped)).await;
    assert_failures("StartWorkspaces bob", &start(c, &[&bob]).await, &[]);
    if fast {
        assert_eq!(env.state(&bob).await, WorkspaceState::Starting);
    }
    env.wait_available(&bob).await;

    // Reboot.
    assert_failures("RebootWorkspaces alice", &reboot(c, &[&alice]).await, &[]);
    if fast {
        assert_eq!(env.state(&alice).await, WorkspaceState::Rebooting);
    }
    env.wait_available(&alice).await;

    // Rebuild: a new private IP (RebuildWorkspaces), same bundle.
    let ip_before = env.must(&alice).await.ip_address().map(str::to_string);
    assert_failures("RebuildWorkspaces alice", &rebuild(c, &alice).await, &[]);
    if fast {
        assert_eq!(env.state(&alice).await, WorkspaceState::Rebuilding);
    }
    let w = env.wait_available(&alice).await;
    assert_ne!(
        w.ip_address().map(str::to_string),
        ip_before,
        "rebuild gives a new IP"
    );
    assert_eq!(w.bundle_id(), Some(bundle.as_str()));

    // ModifyWorkspaceProperties: running mode and timeout apply at once, no UPDATING.
    ok(
        "ModifyWorkspaceProperties bob 180",
        c.modify_workspace_properties()
            .workspace_id(&bob)
            .workspace_properties(auto_stop(Some(180)))
            .send()
            .await,
    );
    let w = env.must(&bob).await;
    assert_eq!(w.state(), Some(&WorkspaceState::Available));
    assert_eq!(props(&w).running_mode_auto_stop_timeout_in_minutes(), Some(180));
    ok(
        "ModifyWorkspaceProperties alice → AUTO_STOP 120",
        c.modify_workspace_properties()
            .workspace_id(&alice)
            .workspace_properties(auto_stop(Some(120)))
            .send()
            .await,
    );
    let w = env.must(&alice).await;
    assert_eq!(w.state(), Some(&WorkspaceState::Available));
    assert_eq!(props(&w).running_mode(), Some(&RunningMode::AutoStop));
    assert_eq!(props(&w).running_mode_auto_stop_timeout_in_minutes(), Some(120));
    ok(
        "ModifyWorkspaceProperties alice → ALWAYS_ON",
        c.modify_workspace_properties()
            .workspace_id(&alice)
            .workspace_properties(
                WorkspaceProperties::builder()
                    .running_mode(RunningMode::AlwaysOn)
                    .build(),
            )
            .send()
            .await,
    );
    let w = env.must(&alice).await;
    assert_eq!(props(&w).running_mode(), Some(&RunningMode::AlwaysOn));
    assert_eq!(props(&w).running_mode_auto_stop_timeout_in_minutes(), None);

    // Volume growth goes through UPDATING with a ModificationState.
    ok(
        "ModifyWorkspaceProperties alice user 100",
        c.modify_workspace_properties()
            .workspace_id(&alice)
            .workspace_properties(WorkspaceProperties::builder().user_volume_size_gib(100).build())
            .send()
            .await,
    );
    if fast {
        let w = env.must(&alice).await;
        assert_eq!(w.state(), Some(&WorkspaceState::Updating));
        assert_eq!(
            w.modification_states()
                .iter()
                .map(|m| m.resource().cloned())
                .collect::<Vec<_>>(),
            vec![Some(ModificationResourceEnum::UserVolume)]
        );
    }
    let w = env.wait_available(&alice).await;
    assert_eq!(props(&w).user_volume_size_gib(), Some(100));
    assert!(
        w.modification_states().is_empty(),
        "{:?}",
        w.modification_states()
    );

    // Compute type: too early (6 hours after creation), then allowed after the clock moves.
    expect_err!(
        "compute change right after creation",
        c.modify_workspace_properties()
            .workspace_id(&alice)
            .workspace_properties(
                WorkspaceProperties::builder()
                    .compute_type_name(Compute::Performance)
                    .build()
            )
            .send()
            .await,
        is_invalid_resource_state_exception
    );

    // ModifyWorkspaceState: AVAILABLE ↔ ADMIN_MAINTENANCE; maintenance refuses reboots.
    ok(
        "ModifyWorkspaceState ADMIN_MAINTENANCE",
        c.modify_workspace_state()
            .workspace_id(&alice)
            .workspace_state(TargetWorkspaceState::AdminMaintenance)
            .send()
            .await,
    );
    assert_eq!(env.state(&alice).await, WorkspaceState::AdminMaintenance);
    assert_failures(
        "RebootWorkspaces in ADMIN_MAINTENANCE",
        &reboot(c, &[&alice]).await,
        &[(&alice, WS_BAD_STATE)],
    );
    ok(
        "ModifyWorkspaceState AVAILABLE",
        c.modify_workspace_state()
            .workspace_id(&alice)
            .workspace_state(TargetWorkspaceState::Available)
            .send()
            .await,
    );
    assert_eq!(env.state(&alice).await, WorkspaceState::Available);

    // Connection status: running and never connected → DISCONNECTED; stopped → UNKNOWN.
    assert_failures("StopWorkspaces carol", &stop(c, &[&carol]).await, &[]);
    env.wait(&carol, Some(WorkspaceState::Stopped)).await;
    let out = ok(
        "DescribeWorkspacesConnectionStatus",
        c.describe_workspaces_connection_status().send().await,
    );
    assert!(out.next_token().is_none());
    let status: Vec<(String, Option<ConnectionState>)> = {
        let mut v: Vec<_> = out
            .workspaces_connection_status()
            .iter()
            .map(|s| {
                assert!(s.connection_state_check_timestamp().is_some(), "{s:?}");
                (
                    s.workspace_id().unwrap_or("").to_string(),
                    s.connection_state().cloned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let mut want = vec![
        (alice.clone(), Some(ConnectionState::Disconnected)),
        (bob.clone(), Some(ConnectionState::Disconnected)),
        (carol.clone(), Some(ConnectionState::UnknownValue)),
    ];
    want.sort();
    assert_eq!(status, want);
    let out = ok(
        "DescribeWorkspacesConnectionStatus by id",
        c.describe_workspaces_connection_status()
            .workspace_ids(&carol)
            .workspace_ids(MISSING_WS)
            .send()
            .await,
    );
    assert_eq!(out.workspaces_connection_status().len(), 1);

    // The directory cannot go while it has WorkSpaces, nor the DS directory while registered.
    expect_err!(
        "DeregisterWorkspaceDirectory with WorkSpaces",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
        is_operation_not_supported_exception
    );
    let (status, body) = env.ds("DeleteDirectory", json!({"DirectoryId": dir})).await;
    assert_eq!(status, 400, "DeleteDirectory while registered: {body}");
    assert_eq!(body["__type"].as_str(), Some("ClientException"), "{body}");
    assert!(
        body["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "DS errors carry Message: {body}"
    );

    // Terminate everything: TERMINATING → TERMINATED → gone.
    assert_failures("TerminateWorkspaces", &terminate(c, &all).await, &[]);
    if fast {
        for id in all {
            assert_eq!(env.state(id).await, WorkspaceState::Terminating);
        }
    }
    for id in all {
        env.wait(id, None).await;
    }
    let out = ok(
        "DescribeWorkspaces by directory",
        c.describe_workspaces().directory_id(&dir).send().await,
    );
    assert!(out.workspaces().is_empty(), "{:?}", out.workspaces());

    // Deregister: DEREGISTERING → gone; then the DS directory can be deleted.
    ok(
        "DeregisterWorkspaceDirectory",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
    );
    if fast {
        let d = env
            .directory(&dir)
            .await
            .expect("deregistering directory is described");
        assert_eq!(d.state(), Some(&WorkspaceDirectoryState::Deregistering));
    }
    env.wait_directory(&dir, None).await;
    let (status, body) = env.ds("DeleteDirectory", json!({"DirectoryId": dir})).await;
    assert_eq!(status, 200, "DeleteDirectory: {body}");
    assert_eq!(body["DirectoryId"].as_str(), Some(dir.as_str()));
    if fast {
        assert_eq!(env.ds_stage(&dir).await.as_deref(), Some("Deleting"));
    }
    env.wait_ds_stage(&dir, None).await;
    let (status, body) = env.ds("DeleteDirectory", json!({"DirectoryId": dir})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"].as_str(),
        Some("EntityDoesNotExistException"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Auto-stop
// ---------------------------------------------------------------------------------------

async fn auto_stop_after_disconnection(server: &TestServer, fast: bool) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("auto.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let ids = env
        .create(vec![
            wreq_props(&dir, "one-hour", &bundle, auto_stop(Some(60))),
            wreq_props(&dir, "two-hours", &bundle, auto_stop(Some(120))),
            wreq(&dir, "always-on", &bundle),
        ])
        .await;
    let (one, two, always) = (ids[0].as_str(), ids[1].as_str(), ids[2].as_str());
    for id in [one, two, always] {
        env.wait_available(id).await;
    }

    // Half an hour of disconnection stops nothing.
    advance(server, 30 * 60).await;
    settle(server).await;
    for id in [one, two, always] {
        assert_eq!(
            env.state(id).await,
            WorkspaceState::Available,
            "{id} after 30 min"
        );
    }

    // Past one hour: the 60-minute WorkSpace stops (STOPPING → STOPPED), the others run on.
    advance(server, 31 * 60).await;
    if fast {
        let s = env.state(one).await;
        assert!(
            matches!(s, WorkspaceState::Stopping | WorkspaceState::Stopped),
            "auto-stop begins at the timeout: {s:?}"
        );
    }
    env.wait(one, Some(WorkspaceState::Stopped)).await;
    assert_eq!(env.state(two).await, WorkspaceState::Available);
    assert_eq!(env.state(always).await, WorkspaceState::Available);

    // Past two hours: the 120-minute one too; ALWAYS_ON never.
    advance(server, 60 * 60).await;
    env.wait(two, Some(WorkspaceState::Stopped)).await;
    advance(server, 24 * 3600).await;
    settle(server).await;
    assert_eq!(env.state(always).await, WorkspaceState::Available);
    assert_eq!(env.state(one).await, WorkspaceState::Stopped);

    // Started again, the timer is armed anew.
    assert_failures("StartWorkspaces", &start(c, &[one]).await, &[]);
    env.wait_available(one).await;
    advance(server, 59 * 60).await;
    settle(server).await;
    assert_eq!(env.state(one).await, WorkspaceState::Available);
    advance(server, 2 * 60).await;
    env.wait(one, Some(WorkspaceState::Stopped)).await;

    // ADMIN_MAINTENANCE WorkSpaces are never auto-stopped.
    assert_failures("StartWorkspaces", &start(c, &[two]).await, &[]);
    env.wait_available(two).await;
    ok(
        "ModifyWorkspaceState ADMIN_MAINTENANCE",
        c.modify_workspace_state()
            .workspace_id(two)
            .workspace_state(TargetWorkspaceState::AdminMaintenance)
            .send()
            .await,
    );
    advance(server, 5 * 3600).await;
    settle(server).await;
    assert_eq!(env.state(two).await, WorkspaceState::AdminMaintenance);
}

/// `POST /_localspaces/connection`: marks the user of a WorkSpace connected or not.
async fn set_connection(env: &Env<'_>, id: &str, state: &str) {
    admin(
        env.server,
        &format!(
            "connection?account={}&region={REGION}&workspace_id={id}&state={state}",
            env.account
        ),
    )
    .await;
}

/// `POST /_localspaces/workspace-state`: forces a WorkSpace into a state no API reaches.
async fn force_state(env: &Env<'_>, id: &str, state: &str) {
    admin(
        env.server,
        &format!(
            "workspace-state?account={}&region={REGION}&workspace_id={id}&state={state}",
            env.account
        ),
    )
    .await;
}

/// A connected user keeps an AUTO_STOP WorkSpace running; after disconnecting it stops.
async fn connected_user_keeps_an_auto_stop_workspace_running(server: &TestServer, fast: bool) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("conn.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let ids = env
        .create(vec![
            wreq_props(&dir, "connected", &bundle, auto_stop(Some(60))),
            wreq_props(&dir, "idle", &bundle, auto_stop(Some(60))),
        ])
        .await;
    let (busy, idle) = (ids[0].as_str(), ids[1].as_str());
    env.wait_available(busy).await;
    env.wait_available(idle).await;
    set_connection(&env, busy, "CONNECTED").await;
    let out = ok(
        "DescribeWorkspacesConnectionStatus",
        c.describe_workspaces_connection_status()
            .workspace_ids(busy)
            .workspace_ids(idle)
            .send()
            .await,
    );
    for s in out.workspaces_connection_status() {
        if s.workspace_id() == Some(busy) {
            assert_eq!(s.connection_state(), Some(&ConnectionState::Connected));
            assert!(s.last_known_user_connection_timestamp().is_some());
        } else {
            assert_eq!(s.connection_state(), Some(&ConnectionState::Disconnected));
            assert!(s.last_known_user_connection_timestamp().is_none());
        }
    }
    advance(server, 3 * 3600).await;
    if fast {
        let s = env.state(idle).await;
        assert!(
            matches!(s, WorkspaceState::Stopping | WorkspaceState::Stopped),
            "{s:?}"
        );
    }
    env.wait(idle, Some(WorkspaceState::Stopped)).await;
    assert_eq!(
        env.state(busy).await,
        WorkspaceState::Available,
        "a connected user is never auto-stopped"
    );
    // Disconnecting starts the timeout from then on.
    set_connection(&env, busy, "DISCONNECTED").await;
    advance(server, 59 * 60).await;
    settle(server).await;
    assert_eq!(env.state(busy).await, WorkspaceState::Available);
    advance(server, 2 * 60).await;
    env.wait(busy, Some(WorkspaceState::Stopped)).await;
    let out = ok(
        "DescribeWorkspacesConnectionStatus",
        c.describe_workspaces_connection_status()
            .workspace_ids(busy)
            .send()
            .await,
    );
    let s = &out.workspaces_connection_status()[0];
    // Stopped: the connection state is UNKNOWN; the last connection is remembered.
    assert_eq!(s.connection_state(), Some(&ConnectionState::UnknownValue));
    assert!(s.last_known_user_connection_timestamp().is_some());
}

/// States no API reaches (forced through the admin route) and what each batch action may do
/// in them.
async fn fault_states(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("faults.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let ids = env
        .create(vec![
            wreq_props(&dir, "f1", &bundle, auto_stop(Some(60))),
            wreq_props(&dir, "f2", &bundle, auto_stop(Some(60))),
        ])
        .await;
    let (a, b) = (ids[0].as_str(), ids[1].as_str());
    env.wait_available(a).await;
    env.wait_available(b).await;

    // UNHEALTHY: reboot, stop and rebuild are allowed; start is not.
    force_state(&env, a, "UNHEALTHY").await;
    assert_eq!(env.state(a).await, WorkspaceState::Unhealthy);
    assert_failures("Start UNHEALTHY", &start(c, &[a]).await, &[(a, WS_BAD_STATE)]);
    assert_failures("Reboot UNHEALTHY", &reboot(c, &[a]).await, &[]);
    env.wait_available(a).await;
    force_state(&env, a, "UNHEALTHY").await;
    assert_failures("Rebuild UNHEALTHY", &rebuild(c, a).await, &[]);
    env.wait_available(a).await;
    force_state(&env, a, "UNHEALTHY").await;
    assert_failures("Stop UNHEALTHY", &stop(c, &[a]).await, &[]);
    env.wait(a, Some(WorkspaceState::Stopped)).await;

    // IMPAIRED: like UNHEALTHY for reboot (unconfirmed) and stop (doc).
    force_state(&env, b, "IMPAIRED").await;
    assert_failures("Reboot IMPAIRED", &reboot(c, &[b]).await, &[]);
    env.wait_available(b).await;
    force_state(&env, b, "IMPAIRED").await;
    assert_failures("Stop IMPAIRED", &stop(c, &[b]).await, &[]);
    env.wait(b, Some(WorkspaceState::Stopped)).await;

    // ERROR: no reboot, no start; rebuild and stop are allowed; the error is described.
    force_state(&env, a, "ERROR").await;
    let w = env.must(a).await;
    assert_eq!(w.state(), Some(&WorkspaceState::Error));
    assert!(w.error_code().is_some() && w.error_message().is_some(), "{w:?}");
    assert_failures("Reboot ERROR", &reboot(c, &[a]).await, &[(a, WS_BAD_STATE)]);
    assert_failures("Start ERROR", &start(c, &[a]).await, &[(a, WS_BAD_STATE)]);
    expect_err!(
        "ModifyWorkspaceProperties ERROR",
        c.modify_workspace_properties()
            .workspace_id(a)
            .workspace_properties(auto_stop(Some(120)))
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    assert_failures("Rebuild ERROR", &rebuild(c, a).await, &[]);
    env.wait_available(a).await;
    force_state(&env, a, "ERROR").await;
    assert_failures("Stop ERROR", &stop(c, &[a]).await, &[]);
    env.wait(a, Some(WorkspaceState::Stopped)).await;

    // MAINTENANCE (AWS-scheduled): no reboot, no rebuild.
    force_state(&env, b, "MAINTENANCE").await;
    assert_failures("Reboot MAINTENANCE", &reboot(c, &[b]).await, &[(b, WS_BAD_STATE)]);
    assert_failures("Rebuild MAINTENANCE", &rebuild(c, b).await, &[(b, WS_BAD_STATE)]);

    // SUSPENDED is the one state that cannot be terminated.
    force_state(&env, a, "SUSPENDED").await;
    assert_failures(
        "Terminate SUSPENDED",
        &terminate(c, &[a, b]).await,
        &[(a, WS_BAD_STATE)],
    );
    assert_eq!(env.state(b).await, WorkspaceState::Terminating);
    force_state(&env, a, "AVAILABLE").await;
    assert_failures("Terminate", &terminate(c, &[a]).await, &[]);
    env.wait(a, None).await;
    env.wait(b, None).await;
}

// ---------------------------------------------------------------------------------------
// 3. CreateWorkspaces per-item failures and the quota
// ---------------------------------------------------------------------------------------

async fn create_workspaces_item_failures(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("items.example.com").await;
    // Active in Directory Service but never registered with WorkSpaces.
    let unregistered = env.active_ds("unregistered.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let many_tags: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let fifty_tags: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    let with_tags = |user: &str, tags: Vec<Tag>| {
        WorkspaceRequest::builder()
            .directory_id(&dir)
            .user_name(user)
            .bundle_id(&bundle)
            .set_tags(Some(tags))
            .build()
            .unwrap()
    };
    let volumes = |user: &str, root: i32, user_gib: i32| {
        wreq_props(
            &dir,
            user,
            &bundle,
            WorkspaceProperties::builder()
                .root_volume_size_gib(root)
                .user_volume_size_gib(user_gib)
                .build(),
        )
    };
    let mode = |user: &str, m: RunningMode, t: Option<i32>| {
        wreq_props(
            &dir,
            user,
            &bundle,
            WorkspaceProperties::builder()
                .running_mode(m)
                .set_running_mode_auto_stop_timeout_in_minutes(t)
                .build(),
        )
    };
    let reqs = vec![
        wreq(&dir, "alice", &bundle),
        wreq(MISSING_DIR, "u-missing-dir", &bundle),
        wreq(&unregistered, "u-unregistered", &bundle),
        wreq(&dir, "u-missing-bundle", MISSING_BUNDLE),
        // Same user twice in one batch: the second fails (inferred); user names
        // are not case-sensitive (doc).
        wreq(&dir, "ALICE", &bundle),
        volumes("u-volumes", 100, 100),
        volumes("u-volumes-user", 80, 20),
        mode("u-always-on-timeout", RunningMode::AlwaysOn, Some(60)),
        mode("u-manual-timeout", RunningMode::Manual, Some(60)),
        mode("u-auto-90", RunningMode::AutoStop, Some(90)),
        with_tags("u-51-tags", many_tags),
        with_tags("u-aws-tag", vec![tag("aws:reserved", "x")]),
        // Successes among the failures: any allowed volume group, 50 tags.
        volumes("u-big", 175, 100),
        with_tags("u-50-tags", fifty_tags),
    ];
    let out = ok(
        "CreateWorkspaces mixed",
        c.create_workspaces().set_workspaces(Some(reqs)).send().await,
    );
    let created: BTreeSet<&str> = out
        .pending_requests()
        .iter()
        .filter_map(|w| w.user_name())
        .collect();
    assert_eq!(created, BTreeSet::from(["alice", "u-big", "u-50-tags"]));
    for w in out.pending_requests() {
        assert_eq!(w.state(), Some(&WorkspaceState::Pending));
    }
    let failures: Vec<(String, String, String, String)> = out
        .failed_requests()
        .iter()
        .map(|f| {
            let r = f
                .workspace_request()
                .expect("FailedRequests echo the WorkspaceRequest");
            (
                r.user_name().to_string(),
                r.directory_id().to_string(),
                f.error_code().unwrap_or("").to_string(),
                f.error_message().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(failures.len(), 11, "{failures:#?}");
    let failure = |user: &str| -> (String, String, String) {
        let f = failures
            .iter()
            .find(|f| f.0 == user)
            .unwrap_or_else(|| panic!("no failure for {user}: {failures:#?}"));
        assert!(!f.3.is_empty(), "{user}: empty ErrorMessage");
        (f.1.clone(), f.2.clone(), f.3.clone())
    };
    // Observed codes and messages.
    let dir_missing = "The specified directory could not be found in the specified region.";
    assert_eq!(
        failure("u-missing-dir"),
        (
            MISSING_DIR.into(),
            "ResourceNotFound.Directory".into(),
            dir_missing.into()
        )
    );
    assert_eq!(
        failure("u-unregistered"),
        (
            unregistered.clone(),
            "ResourceNotFound.Directory".into(),
            dir_missing.into()
        )
    );
    assert_eq!(
        failure("ALICE").1.as_str(),
        "ResourceExists.WorkSpace",
        "a second WorkSpace for the same user in one batch"
    );
    assert_eq!(
        failure("ALICE").2,
        "A WorkSpace already exists for the specified user."
    );
    // Plausible, unconfirmed code.
    assert_eq!(failure("u-missing-bundle").1, "ResourceNotFound.Bundle");
    // Volume groups (code unconfirmed, InvalidParameterValuesException).
    assert_eq!(failure("u-volumes").1, "InvalidParameterValuesException");
    assert_eq!(failure("u-volumes-user").1, "InvalidParameterValuesException");
    // Emulator-observed codes and messages.
    assert_eq!(
        failure("u-always-on-timeout").1.as_str(),
        "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace"
    );
    assert_eq!(
        failure("u-always-on-timeout").2,
        "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to ALWAYS_ON."
    );
    assert_eq!(
        failure("u-manual-timeout").1.as_str(),
        "AutoStopTimeoutIsNotDefaultForManualWorkspace"
    );
    // Timeout in 60-minute steps.
    assert_eq!(failure("u-auto-90").1, "InvalidParameterValuesException");
    // At most 50 tags per resource (per-item code unconfirmed).
    assert_eq!(failure("u-51-tags").1, "ResourceLimitExceededException");
    // `aws:` keys are reserved.
    assert_eq!(failure("u-aws-tag").1, "InvalidParameterValuesException");

    // Against an existing WorkSpace, with other casing (user names are not case-sensitive).
    let out = ok(
        "CreateWorkspaces duplicate user",
        c.create_workspaces()
            .workspaces(wreq(&dir, "Alice", &bundle))
            .send()
            .await,
    );
    assert!(out.pending_requests().is_empty());
    assert_eq!(out.failed_requests().len(), 1);
    assert_eq!(
        out.failed_requests()[0].error_code(),
        Some("ResourceExists.WorkSpace")
    );
    assert_eq!(
        out.failed_requests()[0].error_message(),
        Some("A WorkSpace already exists for the specified user.")
    );

    // 50 tags stored with the WorkSpace.
    let fifty = out_id(&env, &dir, "u-50-tags").await;
    assert_eq!(tags_of(c, &fifty).await.len(), 50);

    // Once the user's WorkSpace is gone, the user may get a new one.
    let alice = out_id(&env, &dir, "alice").await;
    assert_failures("TerminateWorkspaces", &terminate(c, &[&alice]).await, &[]);
    env.wait(&alice, None).await;
    env.create(vec![wreq(&dir, "alice", &bundle)]).await;

    // More than 25 items is a request-level validation error (model: 1..25).
    let reqs: Vec<WorkspaceRequest> = (0..26)
        .map(|i| wreq(&dir, &format!("bulk{i}"), &bundle))
        .collect();
    let e = service_err(
        "CreateWorkspaces with 26 items",
        c.create_workspaces().set_workspaces(Some(reqs)).send().await,
    );
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
}

/// The id of the WorkSpace of `user` in `dir`.
async fn out_id(env: &Env<'_>, dir: &str, user: &str) -> String {
    let out = ok(
        "DescribeWorkspaces by user",
        env.c
            .describe_workspaces()
            .directory_id(dir)
            .user_name(user)
            .send()
            .await,
    );
    assert_eq!(out.workspaces().len(), 1, "{user}: {:?}", out.workspaces());
    out.workspaces()[0].workspace_id().unwrap().to_string()
}

async fn workspaces_quota_fails_the_whole_call(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("quota.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    // Over the quota: the whole call fails and nothing is created.
    expect_err!(
        "CreateWorkspaces over the quota",
        c.create_workspaces()
            .workspaces(wreq(&dir, "a", &bundle))
            .workspaces(wreq(&dir, "b", &bundle))
            .workspaces(wreq(&dir, "c", &bundle))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    let out = ok("DescribeWorkspaces", c.describe_workspaces().send().await);
    assert!(out.workspaces().is_empty());
    env.create(vec![wreq(&dir, "a", &bundle), wreq(&dir, "b", &bundle)])
        .await;
    expect_err!(
        "CreateWorkspaces at the quota",
        c.create_workspaces()
            .workspaces(wreq(&dir, "c", &bundle))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    // Quotas are per account: another account is unaffected.
    let other = Env::new(server);
    let dir2 = other.registered_directory("quota2.example.com").await;
    other.create(vec![wreq(&dir2, "a", &bundle)]).await;
}

// ---------------------------------------------------------------------------------------
// 4. State preconditions of the batch actions
// ---------------------------------------------------------------------------------------

async fn batch_action_state_preconditions(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("states.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let ids = env
        .create(vec![
            wreq(&dir, "always", &bundle),
            wreq_props(&dir, "auto", &bundle, auto_stop(Some(60))),
            wreq(&dir, "fresh", &bundle),
        ])
        .await;
    let (always, auto, fresh) = (ids[0].as_str(), ids[1].as_str(), ids[2].as_str());

    // PENDING (default `fast` timing: 1 s) refuses everything but terminate.
    assert_eq!(env.state(fresh).await, WorkspaceState::Pending);
    assert_failures(
        "Reboot PENDING",
        &reboot(c, &[fresh]).await,
        &[(fresh, WS_BAD_STATE)],
    );
    assert_failures(
        "Rebuild PENDING",
        &rebuild(c, fresh).await,
        &[(fresh, WS_BAD_STATE)],
    );
    assert_failures("Stop PENDING", &stop(c, &[fresh]).await, &[(fresh, WS_BAD_STATE)]);
    expect_err!(
        "ModifyWorkspaceProperties PENDING",
        c.modify_workspace_properties()
            .workspace_id(fresh)
            .workspace_properties(WorkspaceProperties::builder().user_volume_size_gib(100).build())
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    assert_failures("Terminate PENDING", &terminate(c, &[fresh]).await, &[]);
    assert_eq!(env.state(fresh).await, WorkspaceState::Terminating);
    // Terminating again succeeds (unconfirmed).
    assert_failures("Terminate TERMINATING", &terminate(c, &[fresh]).await, &[]);

    env.wait_available(always).await;
    env.wait_available(auto).await;

    // Unknown ids fail per item for every batch action.
    let nf = [(MISSING_WS, WS_NOT_FOUND)];
    assert_failures("Start unknown", &start(c, &[MISSING_WS]).await, &nf);
    assert_failures("Stop unknown", &stop(c, &[MISSING_WS]).await, &nf);
    assert_failures("Reboot unknown", &reboot(c, &[MISSING_WS]).await, &nf);
    assert_failures("Rebuild unknown", &rebuild(c, MISSING_WS).await, &nf);
    assert_failures("Terminate unknown", &terminate(c, &[MISSING_WS]).await, &nf);

    // Start needs STOPPED and AUTO_STOP/MANUAL; stop needs AUTO_STOP/MANUAL.
    assert_failures(
        "Start ALWAYS_ON AVAILABLE",
        &start(c, &[always]).await,
        &[(always, WS_BAD_STATE)],
    );
    assert_failures(
        "Start AVAILABLE",
        &start(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    // A mixed batch: the good item proceeds, the others fail per item.
    assert_failures(
        "Stop mixed",
        &stop(c, &[auto, always, MISSING_WS]).await,
        &[(always, WS_BAD_STATE), (MISSING_WS, WS_NOT_FOUND)],
    );
    // STOPPING is transitional: everything but terminate is refused.
    assert_eq!(env.state(auto).await, WorkspaceState::Stopping);
    assert_failures(
        "Start STOPPING",
        &start(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    assert_failures("Stop STOPPING", &stop(c, &[auto]).await, &[(auto, WS_BAD_STATE)]);
    assert_failures(
        "Reboot STOPPING",
        &reboot(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    assert_failures(
        "Rebuild STOPPING",
        &rebuild(c, auto).await,
        &[(auto, WS_BAD_STATE)],
    );
    env.wait(auto, Some(WorkspaceState::Stopped)).await;

    // STOPPED: no reboot, no second stop, no ADMIN_MAINTENANCE; rebuild is allowed and leaves
    // the WorkSpace running (inferred).
    assert_failures(
        "Reboot STOPPED",
        &reboot(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    assert_failures("Stop STOPPED", &stop(c, &[auto]).await, &[(auto, WS_BAD_STATE)]);
    expect_err!(
        "ModifyWorkspaceState STOPPED → ADMIN_MAINTENANCE",
        c.modify_workspace_state()
            .workspace_id(auto)
            .workspace_state(TargetWorkspaceState::AdminMaintenance)
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    assert_failures("Rebuild STOPPED", &rebuild(c, auto).await, &[]);
    assert_eq!(env.state(auto).await, WorkspaceState::Rebuilding);
    env.wait_available(auto).await;

    // Reboot is allowed on REBOOTING (re-issue).
    assert_failures("Reboot", &reboot(c, &[always]).await, &[]);
    assert_eq!(env.state(always).await, WorkspaceState::Rebooting);
    assert_failures("Reboot REBOOTING", &reboot(c, &[always]).await, &[]);
    env.wait_available(always).await;

    // ADMIN_MAINTENANCE refuses reboot, stop, start and rebuild; terminate works.
    for id in [always, auto] {
        ok(
            "ModifyWorkspaceState ADMIN_MAINTENANCE",
            c.modify_workspace_state()
                .workspace_id(id)
                .workspace_state(TargetWorkspaceState::AdminMaintenance)
                .send()
                .await,
        );
    }
    assert_failures(
        "Reboot ADMIN_MAINTENANCE",
        &reboot(c, &[always]).await,
        &[(always, WS_BAD_STATE)],
    );
    assert_failures(
        "Rebuild ADMIN_MAINTENANCE",
        &rebuild(c, always).await,
        &[(always, WS_BAD_STATE)],
    );
    assert_failures(
        "Stop ADMIN_MAINTENANCE",
        &stop(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    assert_failures(
        "Start ADMIN_MAINTENANCE",
        &start(c, &[auto]).await,
        &[(auto, WS_BAD_STATE)],
    );
    expect_err!(
        "ModifyWorkspaceProperties ADMIN_MAINTENANCE",
        c.modify_workspace_properties()
            .workspace_id(auto)
            .workspace_properties(auto_stop(Some(120)))
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    // NOTE: setting the state a WorkSpace already has is accepted as a no-op by localspaces;
    // AWS may answer InvalidResourceStateException there (unconfirmed), so it is not
    // asserted either way.
    expect_err!(
        "ModifyWorkspaceState unknown",
        c.modify_workspace_state()
            .workspace_id(MISSING_WS)
            .workspace_state(TargetWorkspaceState::Available)
            .send()
            .await,
        is_resource_not_found_exception
    );
    assert_failures(
        "Terminate ADMIN_MAINTENANCE",
        &terminate(c, &[always, auto]).await,
        &[],
    );
    for id in [always, auto, fresh] {
        env.wait(id, None).await;
    }

    // Rebuild takes exactly one WorkSpace (model 1..1).
    let e = service_err(
        "RebuildWorkspaces with 2 items",
        c.rebuild_workspaces()
            .rebuild_workspace_requests(RebuildRequest::builder().workspace_id(always).build().unwrap())
            .rebuild_workspace_requests(RebuildRequest::builder().workspace_id(auto).build().unwrap())
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// 5. ModifyWorkspaceProperties rules
// ---------------------------------------------------------------------------------------

async fn modify_workspace_properties_rules(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("props.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let power = env.bundle(POWER_WINDOWS).await;
    assert_eq!(power.root_storage().map(|r| r.capacity()), Some("175"));
    let ids = env.create(vec![wreq(&dir, "props", &bundle)]).await;
    let id = ids[0].as_str();
    env.wait_available(id).await;
    let modify = |p: WorkspaceProperties| {
        c.modify_workspace_properties()
            .workspace_id(id)
            .workspace_properties(p)
    };

    expect_err!(
        "ModifyWorkspaceProperties unknown",
        c.modify_workspace_properties()
            .workspace_id(MISSING_WS)
            .workspace_properties(auto_stop(Some(60)))
            .send()
            .await,
        is_resource_not_found_exception
    );
    // AutoStop timeout in 60-minute steps.
    expect_err!(
        "AUTO_STOP 90",
        modify(auto_stop(Some(90))).send().await,
        is_invalid_parameter_values_exception
    );
    // A timeout is not applicable to ALWAYS_ON.
    expect_err!(
        "ALWAYS_ON with a timeout",
        modify(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::AlwaysOn)
                .running_mode_auto_stop_timeout_in_minutes(60)
                .build()
        )
        .send()
        .await,
        is_invalid_parameter_values_exception
    );
    // Root and user volumes cannot grow in the same request; volumes and compute neither.
    expect_err!(
        "root and user together",
        modify(
            WorkspaceProperties::builder()
                .root_volume_size_gib(175)
                .user_volume_size_gib(100)
                .build()
        )
        .send()
        .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "compute and volume together",
        modify(
            WorkspaceProperties::builder()
                .compute_type_name(Compute::Performance)
                .user_volume_size_gib(100)
                .build()
        )
        .send()
        .await,
        is_invalid_parameter_values_exception
    );
    // Sizes only grow, and only into the allowed groups.
    expect_err!(
        "shrink the user volume",
        modify(WorkspaceProperties::builder().user_volume_size_gib(10).build())
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "user volume outside the groups",
        modify(WorkspaceProperties::builder().user_volume_size_gib(60).build())
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    let w = env.must(id).await;
    assert_eq!(
        w.state(),
        Some(&WorkspaceState::Available),
        "failed calls change nothing"
    );
    assert_eq!(props(&w).user_volume_size_gib(), Some(50));
    assert_eq!(props(&w).running_mode(), Some(&RunningMode::AlwaysOn));

    // A volume change goes through UPDATING; a second change meanwhile is refused.
    ok(
        "grow the user volume",
        modify(WorkspaceProperties::builder().user_volume_size_gib(100).build())
            .send()
            .await,
    );
    assert_eq!(env.state(id).await, WorkspaceState::Updating);
    let e = expect_err!(
        "second change while UPDATING",
        modify(auto_stop(Some(60))).send().await,
        is_operation_in_progress_exception
    );
    assert_eq!(
        e.message(),
        Some("The properties of this WorkSpace are currently under modification. Please try again in a moment.")
    );
    env.wait_available(id).await;

    // One volume increase per 6 hours; the first compute change 6 hours after creation.
    expect_err!(
        "root volume within 6 hours",
        modify(WorkspaceProperties::builder().root_volume_size_gib(175).build())
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    expect_err!(
        "compute within 6 hours of creation",
        modify(
            WorkspaceProperties::builder()
                .compute_type_name(Compute::Performance)
                .build()
        )
        .send()
        .await,
        is_invalid_resource_state_exception
    );
    advance(server, 6 * 3600 + 60).await;
    // GPU ↔ non-GPU needs MigrateWorkspace (inferred).
    expect_err!(
        "switch to a graphics compute type",
        modify(
            WorkspaceProperties::builder()
                .compute_type_name(Compute::GraphicsG4Dn)
                .build()
        )
        .send()
        .await,
        is_unsupported_workspace_configuration_exception
    );
    ok(
        "compute → PERFORMANCE",
        modify(
            WorkspaceProperties::builder()
                .compute_type_name(Compute::Performance)
                .build(),
        )
        .send()
        .await,
    );
    let w = env.must(id).await;
    assert_eq!(w.state(), Some(&WorkspaceState::Updating));
    assert_eq!(
        w.modification_states().first().and_then(|m| m.resource()),
        Some(&ModificationResourceEnum::ComputeType)
    );
    let w = env.wait_available(id).await;
    assert_eq!(props(&w).compute_type_name(), Some(&Compute::Performance));
    ok(
        "root → 175",
        modify(WorkspaceProperties::builder().root_volume_size_gib(175).build())
            .send()
            .await,
    );
    let w = env.wait_available(id).await;
    assert_eq!(props(&w).root_volume_size_gib(), Some(175));
    assert_eq!(props(&w).user_volume_size_gib(), Some(100));

    // STOPPED WorkSpaces may be modified too, and stay STOPPED.
    ok("→ AUTO_STOP", modify(auto_stop(Some(60))).send().await);
    assert_failures("Stop", &stop(c, &[id]).await, &[]);
    env.wait(id, Some(WorkspaceState::Stopped)).await;
    ok(
        "STOPPED → AUTO_STOP 240",
        modify(auto_stop(Some(240))).send().await,
    );
    let w = env.must(id).await;
    assert_eq!(w.state(), Some(&WorkspaceState::Stopped));
    assert_eq!(props(&w).running_mode_auto_stop_timeout_in_minutes(), Some(240));
}

// ---------------------------------------------------------------------------------------
// 6. Directory registration errors and IP groups
// ---------------------------------------------------------------------------------------

async fn directory_registration_errors(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;

    expect_err!(
        "RegisterWorkspaceDirectory unknown",
        c.register_workspace_directory()
            .directory_id(MISSING_DIR)
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "DeregisterWorkspaceDirectory unknown",
        c.deregister_workspace_directory()
            .directory_id(MISSING_DIR)
            .send()
            .await,
        is_resource_not_found_exception
    );

    // Not yet Active (default `fast` timing: Requested → Creating → Active takes 2 s).
    let dir = env.create_ds("reg.example.com").await;
    let e = expect_err!(
        "RegisterWorkspaceDirectory before Active",
        c.register_workspace_directory().directory_id(&dir).send().await,
        is_invalid_resource_state_exception
    );
    assert_eq!(e.message(), Some(NOT_ACTIVE));
    env.wait_ds_stage(&dir, Some("Active")).await;

    // Dedicated tenancy needs BYOL; at most 2 subnets in distinct AZs.
    expect_err!(
        "Tenancy DEDICATED without BYOL",
        c.register_workspace_directory()
            .directory_id(&dir)
            .tenancy(Tenancy::Dedicated)
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "one subnet",
        c.register_workspace_directory()
            .directory_id(&dir)
            .subnet_ids(SUBNETS[0])
            .send()
            .await,
        is_operation_not_supported_exception
    );
    assert!(
        env.directory(&dir).await.is_none(),
        "failed registrations leave nothing"
    );

    ok(
        "RegisterWorkspaceDirectory",
        c.register_workspace_directory()
            .directory_id(&dir)
            .enable_self_service(true)
            .send()
            .await,
    );
    // REGISTERING: a second registration, deregistration and IP groups are refused.
    expect_err!(
        "RegisterWorkspaceDirectory twice (REGISTERING)",
        c.register_workspace_directory().directory_id(&dir).send().await,
        is_resource_already_exists_exception
    );
    expect_err!(
        "DeregisterWorkspaceDirectory while REGISTERING",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
        is_invalid_resource_state_exception
    );
    env.wait_directory(&dir, Some(WorkspaceDirectoryState::Registered))
        .await;
    expect_err!(
        "RegisterWorkspaceDirectory twice (REGISTERED)",
        c.register_workspace_directory().directory_id(&dir).send().await,
        is_resource_already_exists_exception
    );
    let d = env.directory(&dir).await.unwrap();
    let sp = d.selfservice_permissions().expect("SelfservicePermissions");
    assert_eq!(sp.rebuild_workspace().map(|v| v.as_str()), Some("ENABLED"));

    // Unknown ids are omitted from DescribeWorkspaceDirectories; another account sees nothing.
    let out = ok(
        "DescribeWorkspaceDirectories",
        c.describe_workspace_directories()
            .directory_ids(&dir)
            .directory_ids(MISSING_DIR)
            .send()
            .await,
    );
    assert_eq!(out.directories().len(), 1);
    let other = Env::new(server);
    assert!(other.directory(&dir).await.is_none());
    expect_err!(
        "Deregister from another account",
        other
            .c
            .deregister_workspace_directory()
            .directory_id(&dir)
            .send()
            .await,
        is_resource_not_found_exception
    );

    // Deregister → DEREGISTERING → gone; then it is unknown again and may be re-registered.
    ok(
        "DeregisterWorkspaceDirectory",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
    );
    env.wait_directory(&dir, None).await;
    expect_err!(
        "DeregisterWorkspaceDirectory after it is gone",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
        is_resource_not_found_exception
    );
    ok(
        "RegisterWorkspaceDirectory again",
        c.register_workspace_directory().directory_id(&dir).send().await,
    );
    env.wait_directory(&dir, Some(WorkspaceDirectoryState::Registered))
        .await;
}

async fn ip_group_association(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let group = |name: &str| {
        let c = c.clone();
        let name = name.to_string();
        async move {
            ok("CreateIpGroup", c.create_ip_group().group_name(name).send().await)
                .group_id()
                .unwrap()
                .to_string()
        }
    };
    let (g1, g2) = (group("g1").await, group("g2").await);
    let missing_group = "wsipg-zzzzzzzz9";
    let ds = env.create_ds("ip.example.com").await;
    env.wait_ds_stage(&ds, Some("Active")).await;

    expect_err!(
        "AssociateIpGroups unknown directory",
        c.associate_ip_groups()
            .directory_id(MISSING_DIR)
            .group_ids(&g1)
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "AssociateIpGroups unregistered DS directory",
        c.associate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .send()
            .await,
        is_resource_not_found_exception
    );
    ok(
        "RegisterWorkspaceDirectory",
        c.register_workspace_directory().directory_id(&ds).send().await,
    );
    // The directory must be REGISTERED.
    expect_err!(
        "AssociateIpGroups while REGISTERING",
        c.associate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .send()
            .await,
        is_invalid_resource_state_exception
    );
    env.wait_directory(&ds, Some(WorkspaceDirectoryState::Registered))
        .await;
    expect_err!(
        "AssociateIpGroups unknown group",
        c.associate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .group_ids(missing_group)
            .send()
            .await,
        is_resource_not_found_exception
    );
    assert!(
        env.directory(&ds).await.unwrap().ip_group_ids().is_empty(),
        "nothing associated"
    );

    ok(
        "AssociateIpGroups",
        c.associate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .group_ids(&g2)
            .send()
            .await,
    );
    let ids = |d: WorkspaceDirectory| d.ip_group_ids().iter().cloned().collect::<BTreeSet<String>>();
    assert_eq!(
        ids(env.directory(&ds).await.unwrap()),
        BTreeSet::from([g1.clone(), g2.clone()])
    );
    // Re-associating is a no-op (unconfirmed).
    ok(
        "AssociateIpGroups again",
        c.associate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .send()
            .await,
    );
    assert_eq!(env.directory(&ds).await.unwrap().ip_group_ids().len(), 2);

    ok(
        "DisassociateIpGroups g1",
        c.disassociate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .send()
            .await,
    );
    assert_eq!(
        ids(env.directory(&ds).await.unwrap()),
        BTreeSet::from([g2.clone()])
    );
    // Not associated (but existing): no-op (unconfirmed).
    ok(
        "DisassociateIpGroups g1 again",
        c.disassociate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g1)
            .send()
            .await,
    );
    // A group that does not exist is not associated: nothing to remove (Terraform deletes a
    // removed group before it updates the directory).
    ok(
        "DisassociateIpGroups unknown group",
        c.disassociate_ip_groups()
            .directory_id(&ds)
            .group_ids(missing_group)
            .send()
            .await,
    );
    expect_err!(
        "DisassociateIpGroups unknown directory",
        c.disassociate_ip_groups()
            .directory_id(MISSING_DIR)
            .group_ids(&g2)
            .send()
            .await,
        is_resource_not_found_exception
    );
    assert_eq!(
        ids(env.directory(&ds).await.unwrap()),
        BTreeSet::from([g2.clone()])
    );

    // DEREGISTERING: not REGISTERED any more.
    ok(
        "DeregisterWorkspaceDirectory",
        c.deregister_workspace_directory().directory_id(&ds).send().await,
    );
    expect_err!(
        "DisassociateIpGroups while DEREGISTERING",
        c.disassociate_ip_groups()
            .directory_id(&ds)
            .group_ids(&g2)
            .send()
            .await,
        is_invalid_resource_state_exception
    );
}

// ---------------------------------------------------------------------------------------
// 7. Describe filters and pagination
// ---------------------------------------------------------------------------------------

async fn describe_workspaces_filters_and_pagination(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let dir = env.registered_directory("pages.example.com").await;
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let users: Vec<String> = (0..7).map(|i| format!("user{i}")).collect();
    let ids = env
        .create(users.iter().map(|u| wreq(&dir, u, &bundle)).collect())
        .await;
    let all: BTreeSet<String> = ids.iter().cloned().collect();

    // Limit/NextToken by hand: 3 + 3 + 1, no token on the last page.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let out = ok(
            "DescribeWorkspaces page",
            c.describe_workspaces()
                .directory_id(&dir)
                .limit(3)
                .set_next_token(token.clone())
                .send()
                .await,
        );
        sizes.push(out.workspaces().len());
        seen.extend(
            out.workspaces()
                .iter()
                .map(|w| w.workspace_id().unwrap().to_string()),
        );
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen.len(), 7, "no duplicates");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all);

    // The SDK paginator, item by item and page by page.
    let mut items = c
        .describe_workspaces()
        .into_paginator()
        .page_size(2)
        .items()
        .send();
    let mut via_items = Vec::new();
    while let Some(w) = items.next().await {
        via_items.push(ok("paginator item", w).workspace_id().unwrap().to_string());
    }
    assert_eq!(via_items.len(), 7);
    assert_eq!(via_items.iter().cloned().collect::<BTreeSet<_>>(), all);
    let mut pages = c
        .describe_workspaces()
        .directory_id(&dir)
        .into_paginator()
        .page_size(2)
        .send();
    let mut page_sizes = Vec::new();
    while let Some(p) = pages.next().await {
        page_sizes.push(ok("paginator page", p).workspaces().len());
    }
    assert_eq!(page_sizes, vec![2, 2, 2, 1]);

    // Tokens: garbage, or reused with other filters → InvalidParameterValuesException.
    expect_err!(
        "bogus NextToken",
        c.describe_workspaces().next_token("bogus").send().await,
        is_invalid_parameter_values_exception
    );
    let first = ok(
        "DescribeWorkspaces Limit 2",
        c.describe_workspaces().directory_id(&dir).limit(2).send().await,
    );
    let t = first.next_token().expect("NextToken").to_string();
    expect_err!(
        "NextToken with other filters",
        c.describe_workspaces()
            .bundle_id(&bundle)
            .next_token(&t)
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    // Limit above 25 is a model violation.
    let e = service_err("Limit 26", c.describe_workspaces().limit(26).send().await);
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");

    // Filters are exclusive.
    expect_err!(
        "WorkspaceIds and DirectoryId",
        c.describe_workspaces()
            .workspace_ids(&ids[0])
            .directory_id(&dir)
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "DirectoryId and BundleId",
        c.describe_workspaces()
            .directory_id(&dir)
            .bundle_id(&bundle)
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "UserName without DirectoryId",
        c.describe_workspaces().user_name("user1").send().await,
        is_invalid_parameter_values_exception
    );
    let out = ok(
        "DirectoryId + UserName (other casing)",
        c.describe_workspaces()
            .directory_id(&dir)
            .user_name("USER3")
            .send()
            .await,
    );
    assert_eq!(out.workspaces().len(), 1);
    assert_eq!(out.workspaces()[0].workspace_id(), Some(ids[3].as_str()));
    let out = ok(
        "BundleId",
        c.describe_workspaces().bundle_id(&bundle).send().await,
    );
    assert_eq!(out.workspaces().len(), 7);
    let out = ok(
        "other BundleId",
        c.describe_workspaces().bundle_id(MISSING_BUNDLE).send().await,
    );
    assert!(out.workspaces().is_empty());
    let out = ok(
        "WorkspaceIds with an unknown id",
        c.describe_workspaces()
            .workspace_ids(&ids[1])
            .workspace_ids(MISSING_WS)
            .workspace_ids(&ids[5])
            .send()
            .await,
    );
    let got: BTreeSet<&str> = out.workspaces().iter().filter_map(|w| w.workspace_id()).collect();
    assert_eq!(got, BTreeSet::from([ids[1].as_str(), ids[5].as_str()]));
    let out = ok(
        "DirectoryId unknown",
        c.describe_workspaces().directory_id(MISSING_DIR).send().await,
    );
    assert!(out.workspaces().is_empty());
    // Other accounts see none of them.
    let other = Env::new(server);
    let out = ok("other account", other.c.describe_workspaces().send().await);
    assert!(out.workspaces().is_empty());

    // Connection status of all of them in one page.
    let out = ok(
        "DescribeWorkspacesConnectionStatus",
        c.describe_workspaces_connection_status().send().await,
    );
    assert_eq!(out.workspaces_connection_status().len(), 7);
}

async fn describe_workspace_bundles_pagination(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let first = ok(
        "DescribeWorkspaceBundles AMAZON",
        c.describe_workspace_bundles().owner("AMAZON").send().await,
    );
    // The catalog exceeds one page, so the server pages.
    let token = first
        .next_token()
        .expect("the AMAZON catalog has more than one page");
    assert!(!first.bundles().is_empty());
    let mut manual: Vec<String> = first
        .bundles()
        .iter()
        .map(|b| b.bundle_id().unwrap().to_string())
        .collect();
    let mut token = Some(token.to_string());
    while let Some(t) = token {
        let out = ok(
            "DescribeWorkspaceBundles next page",
            c.describe_workspace_bundles()
                .owner("AMAZON")
                .next_token(t)
                .send()
                .await,
        );
        manual.extend(out.bundles().iter().map(|b| b.bundle_id().unwrap().to_string()));
        token = out.next_token().map(str::to_string);
        assert!(manual.len() < 10_000);
    }
    let all = all_amazon_bundles(c).await;
    let via_paginator: Vec<String> = all.iter().map(|b| b.bundle_id().unwrap().to_string()).collect();
    assert_eq!(via_paginator, manual, "paginator and manual paging agree");
    assert_eq!(
        manual.iter().collect::<BTreeSet<_>>().len(),
        manual.len(),
        "no bundle twice"
    );
    for b in &all {
        let id = b.bundle_id().unwrap();
        assert!(is_bundle_id(id), "{id}");
        // AWS answers "Amazon" although the filter value is AMAZON.
        assert_eq!(b.owner(), Some("Amazon"));
        assert!(b.name().is_some_and(|n| !n.is_empty()));
        assert!(b.compute_type().and_then(|t| t.name()).is_some(), "{b:?}");
        // Capacities are strings of integers.
        for cap in [
            b.root_storage().map(|r| r.capacity()),
            b.user_storage().map(|u| u.capacity()),
        ] {
            assert!(cap.is_some_and(|s| s.parse::<u32>().is_ok()), "{b:?}");
        }
    }
    let standard = env.bundle(STANDARD_WINDOWS).await;
    assert_eq!(standard.root_storage().map(|r| r.capacity()), Some("80"));
    assert_eq!(standard.user_storage().map(|u| u.capacity()), Some("50"));

    // BundleIds: unknown ids are omitted; combining with Owner is refused.
    let out = ok(
        "DescribeWorkspaceBundles BundleIds",
        c.describe_workspace_bundles()
            .bundle_ids(&manual[0])
            .bundle_ids(MISSING_BUNDLE)
            .bundle_ids(&manual[manual.len() - 1])
            .send()
            .await,
    );
    let got: BTreeSet<&str> = out.bundles().iter().filter_map(|b| b.bundle_id()).collect();
    assert_eq!(
        got,
        BTreeSet::from([manual[0].as_str(), manual[manual.len() - 1].as_str()])
    );
    assert!(out.next_token().is_none());
    expect_err!(
        "BundleIds and Owner",
        c.describe_workspace_bundles()
            .bundle_ids(&manual[0])
            .owner("AMAZON")
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "bogus NextToken",
        c.describe_workspace_bundles()
            .owner("AMAZON")
            .next_token("bogus")
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    // No filter: the caller's own custom bundles (none here).
    let out = ok(
        "DescribeWorkspaceBundles",
        c.describe_workspace_bundles().send().await,
    );
    assert!(out.bundles().is_empty());
    assert!(out.next_token().is_none());
}

// ---------------------------------------------------------------------------------------
// 8. Tags on WorkSpaces and directories
// ---------------------------------------------------------------------------------------

async fn tags_on_workspaces_and_directories(server: &TestServer) {
    let env = Env::new(server);
    let c = &env.c;
    let ds = env.active_ds("tags.example.com").await;
    // A DS directory that is not registered is not a WorkSpaces resource.
    expect_err!(
        "DescribeTags unregistered directory",
        c.describe_tags().resource_id(&ds).send().await,
        is_resource_not_found_exception
    );
    ok(
        "RegisterWorkspaceDirectory with tags",
        c.register_workspace_directory()
            .directory_id(&ds)
            .tags(tag("dept", "eng"))
            .send()
            .await,
    );
    env.wait_directory(&ds, Some(WorkspaceDirectoryState::Registered))
        .await;
    assert_eq!(tags_of(c, &ds).await, pairs(&[("dept", "eng")]));
    let bundle = env
        .bundle(STANDARD_WINDOWS)
        .await
        .bundle_id()
        .unwrap()
        .to_string();
    let ids = env
        .create(vec![WorkspaceRequest::builder()
            .directory_id(&ds)
            .user_name("tagged")
            .bundle_id(&bundle)
            .tags(tag("team", "a"))
            .build()
            .unwrap()])
        .await;
    let ws = ids[0].as_str();
    assert_eq!(tags_of(c, ws).await, pairs(&[("team", "a")]));

    // Upsert; keys are case-sensitive; a tag without a value.
    ok(
        "CreateTags",
        c.create_tags()
            .resource_id(ws)
            .tags(tag("team", "b"))
            .tags(tag("Team", "c"))
            .tags(tag_no_value("flag"))
            .send()
            .await,
    );
    let got = tags_of(c, ws).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.contains(&("team".into(), Some("b".into()))), "{got:?}");
    assert!(got.contains(&("Team".into(), Some("c".into()))), "{got:?}");
    assert!(
        got.iter()
            .any(|(k, v)| k == "flag" && v.as_deref().unwrap_or("").is_empty()),
        "{got:?}"
    );
    // DeleteTags ignores absent keys.
    ok(
        "DeleteTags",
        c.delete_tags()
            .resource_id(ws)
            .tag_keys("Team")
            .tag_keys("flag")
            .tag_keys("absent")
            .send()
            .await,
    );
    assert_eq!(tags_of(c, ws).await, pairs(&[("team", "b")]));

    // Directory tags.
    ok(
        "CreateTags directory",
        c.create_tags()
            .resource_id(&ds)
            .tags(tag("cost", "1"))
            .send()
            .await,
    );
    assert_eq!(tags_of(c, &ds).await, pairs(&[("cost", "1"), ("dept", "eng")]));
    ok(
        "DeleteTags directory",
        c.delete_tags().resource_id(&ds).tag_keys("dept").send().await,
    );
    assert_eq!(tags_of(c, &ds).await, pairs(&[("cost", "1")]));

    // At most 50 tags after the merge; `aws:` keys are reserved.
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    expect_err!(
        "CreateTags past 50",
        c.create_tags()
            .resource_id(ws)
            .set_tags(Some(fifty.clone()))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    assert_eq!(
        tags_of(c, ws).await,
        pairs(&[("team", "b")]),
        "a refused CreateTags changes nothing"
    );
    ok(
        "CreateTags up to 50",
        c.create_tags()
            .resource_id(ws)
            .set_tags(Some(fifty[..49].to_vec()))
            .send()
            .await,
    );
    assert_eq!(tags_of(c, ws).await.len(), 50);
    expect_err!(
        "CreateTags aws: key",
        c.create_tags()
            .resource_id(&ds)
            .tags(tag("aws:owner", "x"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );

    // Unknown resources.
    for id in [MISSING_WS, MISSING_DIR] {
        expect_err!(
            format!("DescribeTags {id}"),
            c.describe_tags().resource_id(id).send().await,
            is_resource_not_found_exception
        );
        expect_err!(
            format!("CreateTags {id}"),
            c.create_tags().resource_id(id).tags(tag("k", "v")).send().await,
            is_resource_not_found_exception
        );
        expect_err!(
            format!("DeleteTags {id}"),
            c.delete_tags().resource_id(id).tag_keys("k").send().await,
            is_resource_not_found_exception
        );
    }
    // Another account cannot see them.
    let other = Env::new(server);
    expect_err!(
        "DescribeTags from another account",
        other.c.describe_tags().resource_id(ws).send().await,
        is_resource_not_found_exception
    );

    // Tags go with the WorkSpace.
    assert_failures("TerminateWorkspaces", &terminate(c, &[ws]).await, &[]);
    env.wait(ws, None).await;
    expect_err!(
        "DescribeTags terminated WorkSpace",
        c.describe_tags().resource_id(ws).send().await,
        is_resource_not_found_exception
    );
}
