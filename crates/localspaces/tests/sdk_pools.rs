//! The official AWS SDK for Rust over WorkSpaces Pools, on both store engines:
//! the lifecycle (CREATING → STOPPED → STARTING → RUNNING → STOPPING → STOPPED → DELETING →
//! gone), sessions opened by the admin `pool-session` route, and the key errors.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    Capacity, DescribeWorkspacesPoolsFilter, DescribeWorkspacesPoolsFilterName,
    DescribeWorkspacesPoolsFilterOperator, SessionConnectionState, UserIdentityType, WorkspaceType,
    WorkspacesPool, WorkspacesPoolState,
};
use aws_sdk_workspaces::Client;
use common::{admin, ok, random_account, service_err, settle, tag, TestServer, REGION};

async fn amazon_bundle(c: &Client, name: &str) -> String {
    let mut items = c
        .describe_workspace_bundles()
        .owner("AMAZON")
        .into_paginator()
        .items()
        .send();
    while let Some(b) = items.next().await {
        let b = ok("DescribeWorkspaceBundles", b);
        if b.name() == Some(name) {
            return b.bundle_id().expect("BundleId").to_string();
        }
    }
    panic!("no AMAZON bundle named {name}");
}

async fn pools_directory(server: &TestServer, c: &Client) -> String {
    let out = ok(
        "RegisterWorkspaceDirectory (POOLS)",
        c.register_workspace_directory()
            .workspace_directory_name("pools-dir")
            .workspace_directory_description("Pools directory")
            .user_identity_type(UserIdentityType::CustomerManaged)
            .workspace_type(WorkspaceType::Pools)
            .send()
            .await,
    );
    settle(server).await;
    let id = out.directory_id().expect("DirectoryId").to_string();
    assert!(id.starts_with("wsd-"), "{id}");
    id
}

async fn pool(c: &Client, id: &str) -> WorkspacesPool {
    ok(
        "DescribeWorkspacesPools",
        c.describe_workspaces_pools().pool_ids(id).send().await,
    )
    .workspaces_pools()
    .first()
    .cloned()
    .expect("the pool")
}

fn capacity(n: i32) -> Capacity {
    Capacity::builder()
        .desired_user_sessions(n)
        .build()
        .expect("capacity")
}

async fn scenario(server: &TestServer) {
    let account = random_account();
    let c = server.client_as(&account, REGION);
    let dir = pools_directory(server, &c).await;
    let windows = amazon_bundle(&c, "Standard with Windows 10 (Server 2022 based)").await;
    let linux = amazon_bundle(&c, "Standard with Amazon Linux 2").await;

    let created = ok(
        "CreateWorkspacesPool",
        c.create_workspaces_pool()
            .pool_name("sales")
            .description("Sales desktops")
            .bundle_id(&windows)
            .directory_id(&dir)
            .capacity(capacity(2))
            .tags(tag("team", "sales"))
            .send()
            .await,
    )
    .workspaces_pool
    .expect("WorkspacesPool");
    let id = created.pool_id().to_string();
    assert!(id.starts_with("wspool-") && id.len() == 16, "{id}");
    assert_eq!(
        created.pool_arn(),
        format!("arn:aws:workspaces:{REGION}:{account}:workspacespool/{id}")
    );
    assert_eq!(created.state(), &WorkspacesPoolState::Creating);
    assert_eq!(
        pool(&c, &id).await.state(),
        &WorkspacesPoolState::Creating,
        "fast timing shows CREATING"
    );
    settle(server).await;
    assert_eq!(pool(&c, &id).await.state(), &WorkspacesPoolState::Stopped);
    let updated = ok(
        "UpdateWorkspacesPool",
        c.update_workspaces_pool()
            .pool_id(&id)
            .description("Sales and support desktops")
            .capacity(capacity(2))
            .send()
            .await,
    );
    let p = updated.workspaces_pool().expect("WorkspacesPool");
    assert_eq!(p.description(), Some("Sales and support desktops"));
    assert_eq!(p.capacity_status().map(|s| s.desired_user_sessions()), Some(2));
    assert_eq!(
        p.state(),
        &WorkspacesPoolState::Stopped,
        "a stopped pool changes at once"
    );

    // Key errors of CreateWorkspacesPool.
    let create = |name: &str, bundle: &str, directory: &str| {
        c.create_workspaces_pool()
            .pool_name(name)
            .description("x")
            .bundle_id(bundle)
            .directory_id(directory)
            .capacity(capacity(1))
            .send()
    };
    let e = service_err("duplicate name", create("sales", &windows, &dir).await);
    assert_eq!(e.code(), Some("ResourceAlreadyExistsException"));
    let e = service_err("Linux bundle", create("other", &linux, &dir).await);
    assert_eq!(e.code(), Some("OperationNotSupportedException"));
    let e = service_err(
        "unknown directory",
        create("other", &windows, "wsd-000000000").await,
    );
    assert_eq!(e.code(), Some("ResourceNotFoundException"));

    // Filters.
    let by_name = ok(
        "DescribeWorkspacesPools (filter)",
        c.describe_workspaces_pools()
            .filters(
                DescribeWorkspacesPoolsFilter::builder()
                    .name(DescribeWorkspacesPoolsFilterName::Poolname)
                    .operator(DescribeWorkspacesPoolsFilterOperator::Contains)
                    .values("ale")
                    .build()
                    .expect("filter"),
            )
            .send()
            .await,
    );
    assert_eq!(by_name.workspaces_pools().len(), 1);

    // Start, sessions, stop, terminate.
    let e = service_err(
        "Stop a STOPPED pool",
        c.stop_workspaces_pool().pool_id(&id).send().await,
    );
    assert_eq!(e.code(), Some("InvalidResourceStateException"));
    ok(
        "StartWorkspacesPool",
        c.start_workspaces_pool().pool_id(&id).send().await,
    );
    assert_eq!(pool(&c, &id).await.state(), &WorkspacesPoolState::Starting);
    settle(server).await;
    let running = pool(&c, &id).await;
    assert_eq!(running.state(), &WorkspacesPoolState::Running);
    let cap = running.capacity_status().expect("CapacityStatus");
    assert_eq!(
        (cap.actual_user_sessions(), cap.available_user_sessions()),
        (2, 2)
    );
    let e = service_err(
        "Start a RUNNING pool",
        c.start_workspaces_pool().pool_id(&id).send().await,
    );
    assert_eq!(e.code(), Some("InvalidResourceStateException"));

    let opened = admin(
        server,
        &format!("pool-session?account={account}&region={REGION}&pool_id={id}&user=alice"),
    )
    .await;
    let session = opened["session_id"].as_str().expect("session_id").to_string();
    let sessions = ok(
        "DescribeWorkspacesPoolSessions",
        c.describe_workspaces_pool_sessions().pool_id(&id).send().await,
    );
    let s = sessions.sessions().first().expect("a session");
    assert_eq!(s.session_id(), session);
    assert_eq!(s.user_id(), "alice");
    assert_eq!(s.connection_state(), Some(&SessionConnectionState::Connected));
    assert_eq!(
        pool(&c, &id)
            .await
            .capacity_status()
            .expect("CapacityStatus")
            .active_user_sessions(),
        1
    );
    ok(
        "TerminateWorkspacesPoolSession",
        c.terminate_workspaces_pool_session()
            .session_id(&session)
            .send()
            .await,
    );
    let e = service_err(
        "terminate an ending session",
        c.terminate_workspaces_pool_session()
            .session_id(&session)
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("OperationInProgressException"));
    settle(server).await;
    let e = service_err(
        "terminate a gone session",
        c.terminate_workspaces_pool_session()
            .session_id(&session)
            .send()
            .await,
    );
    assert_eq!(e.code(), Some("ResourceNotFoundException"));

    ok(
        "StopWorkspacesPool",
        c.stop_workspaces_pool().pool_id(&id).send().await,
    );
    assert_eq!(pool(&c, &id).await.state(), &WorkspacesPoolState::Stopping);
    settle(server).await;
    assert_eq!(pool(&c, &id).await.state(), &WorkspacesPoolState::Stopped);

    let e = service_err(
        "Deregister a directory with a pool",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
    );
    assert_eq!(e.code(), Some("OperationNotSupportedException"));
    ok(
        "TerminateWorkspacesPool",
        c.terminate_workspaces_pool().pool_id(&id).send().await,
    );
    assert_eq!(pool(&c, &id).await.state(), &WorkspacesPoolState::Deleting);
    settle(server).await;
    let e = service_err(
        "Describe a terminated pool",
        c.describe_workspaces_pools().pool_ids(&id).send().await,
    );
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    ok(
        "DeregisterWorkspaceDirectory",
        c.deregister_workspace_directory().directory_id(&dir).send().await,
    );
}

engine_tests!(scenario);
