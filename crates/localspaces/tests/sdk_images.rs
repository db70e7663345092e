//! The official AWS SDK for Rust against an in-process localspaces, over images and custom
//! bundles: capture from a WorkSpace (SUSPENDED meanwhile), a custom bundle
//! and a WorkSpace launched from it, the in-use refusals, sharing with another account, a copy
//! into another Region, and the key errors. Both store engines, `fast` timing with
//! `/_localspaces/settle` (so the transitional states are asserted right after each call).

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    Compute, ComputeType, ImageType, UserStorage, WorkspaceImageRequiredTenancy, WorkspaceImageState,
    WorkspaceRequest, WorkspaceState,
};
use aws_sdk_workspaces::Client;
use common::{expect_err, ok, random_account, registered_directory, settle, tag, Engine, TestServer, REGION};

const WINDOWS_BUNDLE: &str = "Standard with Windows 10 (Server 2022 based)";

async fn public_bundle(c: &Client) -> String {
    let mut token = None;
    loop {
        let out = ok(
            "DescribeWorkspaceBundles",
            c.describe_workspace_bundles()
                .owner("AMAZON")
                .set_next_token(token)
                .send()
                .await,
        );
        if let Some(b) = out.bundles().iter().find(|b| b.name() == Some(WINDOWS_BUNDLE)) {
            return b.bundle_id().expect("bundle id").to_string();
        }
        token = out.next_token().map(str::to_string);
        assert!(token.is_some(), "{WINDOWS_BUNDLE} not in the catalog");
    }
}

async fn ws_state(c: &Client, id: &str) -> Option<WorkspaceState> {
    let out = ok(
        "DescribeWorkspaces",
        c.describe_workspaces().workspace_ids(id).send().await,
    );
    out.workspaces().first().and_then(|w| w.state().cloned())
}

async fn image_state(c: &Client, id: &str) -> Option<WorkspaceImageState> {
    let out = ok(
        "DescribeWorkspaceImages",
        c.describe_workspace_images().image_ids(id).send().await,
    );
    out.images().first().and_then(|i| i.state().cloned())
}

async fn create_workspace(c: &Client, dir: &str, bundle: &str, user: &str) -> String {
    let req = WorkspaceRequest::builder()
        .directory_id(dir)
        .user_name(user)
        .bundle_id(bundle)
        .build()
        .expect("request");
    let out = ok(
        "CreateWorkspaces",
        c.create_workspaces().workspaces(req).send().await,
    );
    assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());
    out.pending_requests()[0].workspace_id().expect("id").to_string()
}

fn compute(c: Compute) -> ComputeType {
    ComputeType::builder().name(c).build()
}

fn storage(gib: &str) -> UserStorage {
    UserStorage::builder().capacity(gib).build().expect("storage")
}

async fn images_and_bundles(server: &TestServer) {
    let account = random_account();
    let c = server.client_as(&account, REGION);
    let dir = registered_directory(server, &account).await;
    let public = public_bundle(&c).await;
    let wid = create_workspace(&c, &dir, &public, "alice").await;
    settle(server).await;
    assert_eq!(ws_state(&c, &wid).await, Some(WorkspaceState::Available));

    // Capture: the image is PENDING and the WorkSpace SUSPENDED until it completes.
    let out = ok(
        "CreateWorkspaceImage",
        c.create_workspace_image()
            .name("golden")
            .description("from alice")
            .workspace_id(&wid)
            .tags(tag("team", "eng"))
            .send()
            .await,
    );
    let iid = out.image_id().expect("image id").to_string();
    assert!(iid.starts_with("wsi-") && iid.len() == 13, "{iid}");
    assert_eq!(out.state(), Some(&WorkspaceImageState::Pending));
    assert_eq!(
        out.required_tenancy(),
        Some(&WorkspaceImageRequiredTenancy::Default)
    );
    assert_eq!(out.owner_account_id(), Some(account.as_str()));
    assert_eq!(ws_state(&c, &wid).await, Some(WorkspaceState::Suspended));
    expect_err!(
        "CreateWorkspaceBundle from a PENDING image",
        c.create_workspace_bundle()
            .bundle_name("early")
            .bundle_description("d")
            .image_id(&iid)
            .compute_type(compute(Compute::Standard))
            .user_storage(storage("50"))
            .send()
            .await,
        is_resource_unavailable_exception
    );
    settle(server).await;
    assert_eq!(image_state(&c, &iid).await, Some(WorkspaceImageState::Available));
    assert_eq!(ws_state(&c, &wid).await, Some(WorkspaceState::Available));

    // A custom bundle from it, listed by owner, and a WorkSpace launched from it.
    let b = ok(
        "CreateWorkspaceBundle",
        c.create_workspace_bundle()
            .bundle_name("custom-std")
            .bundle_description("my bundle")
            .image_id(&iid)
            .compute_type(compute(Compute::Standard))
            .user_storage(storage("50"))
            .send()
            .await,
    );
    let b = b.workspace_bundle().expect("bundle");
    let bid = b.bundle_id().expect("bundle id").to_string();
    assert_eq!(b.owner(), Some(account.as_str()));
    assert_eq!(b.image_id(), Some(iid.as_str()));
    assert_eq!(b.root_storage().map(|r| r.capacity()), Some("80"));
    let mine = ok(
        "DescribeWorkspaceBundles",
        c.describe_workspace_bundles().send().await,
    );
    assert_eq!(
        mine.bundles()
            .iter()
            .filter_map(|b| b.bundle_id())
            .collect::<Vec<_>>(),
        vec![bid.as_str()]
    );
    expect_err!(
        "CreateWorkspaceBundle with a taken name",
        c.create_workspace_bundle()
            .bundle_name("custom-std")
            .bundle_description("d")
            .image_id(&iid)
            .compute_type(compute(Compute::Standard))
            .user_storage(storage("50"))
            .send()
            .await,
        is_resource_already_exists_exception
    );
    let cw = create_workspace(&c, &dir, &bid, "carol").await;
    settle(server).await;
    assert_eq!(ws_state(&c, &cw).await, Some(WorkspaceState::Available));
    expect_err!(
        "DeleteWorkspaceImage used by a bundle",
        c.delete_workspace_image().image_id(&iid).send().await,
        is_resource_associated_exception
    );
    expect_err!(
        "DeleteWorkspaceBundle used by a WorkSpace",
        c.delete_workspace_bundle().bundle_id(&bid).send().await,
        is_resource_associated_exception
    );
    expect_err!(
        "DeleteWorkspaceBundle of a public bundle",
        c.delete_workspace_bundle().bundle_id(&public).send().await,
        is_invalid_parameter_values_exception
    );

    // Sharing: the other account sees it as SHARED; the owner cannot delete it meanwhile.
    let other_id = random_account();
    let other = server.client_as(&other_id, REGION);
    ok(
        "UpdateWorkspaceImagePermission",
        c.update_workspace_image_permission()
            .image_id(&iid)
            .allow_copy_image(true)
            .shared_account_id(&other_id)
            .send()
            .await,
    );
    let shared = ok(
        "DescribeWorkspaceImages SHARED",
        other
            .describe_workspace_images()
            .image_type(ImageType::Shared)
            .send()
            .await,
    );
    assert_eq!(shared.images().len(), 1);
    assert_eq!(shared.images()[0].owner_account_id(), Some(account.as_str()));
    let perms = ok(
        "DescribeWorkspaceImagePermissions",
        c.describe_workspace_image_permissions()
            .image_id(&iid)
            .send()
            .await,
    );
    assert_eq!(
        perms.image_permissions()[0].shared_account_id(),
        Some(other_id.as_str())
    );
    expect_err!(
        "DescribeWorkspaceImagePermissions by the other account",
        other
            .describe_workspace_image_permissions()
            .image_id(&iid)
            .send()
            .await,
        is_resource_not_found_exception
    );

    // Copy into another Region of the same account: it appears there, PENDING then AVAILABLE.
    let west = server.client_as(&account, "us-west-2");
    let copy = ok(
        "CopyWorkspaceImage",
        west.copy_workspace_image()
            .name("golden-west")
            .source_image_id(&iid)
            .source_region(REGION)
            .send()
            .await,
    );
    let cid = copy.image_id().expect("copy id").to_string();
    assert_eq!(image_state(&west, &cid).await, Some(WorkspaceImageState::Pending));
    assert_eq!(image_state(&c, &cid).await, None, "not in the source Region");
    settle(server).await;
    assert_eq!(
        image_state(&west, &cid).await,
        Some(WorkspaceImageState::Available)
    );
    expect_err!(
        "CopyWorkspaceImage of an unknown image",
        west.copy_workspace_image()
            .name("nope")
            .source_image_id("wsi-000000000")
            .source_region(REGION)
            .send()
            .await,
        is_resource_not_found_exception
    );

    // Key errors.
    expect_err!(
        "CreateWorkspaceImage of an unknown WorkSpace",
        c.create_workspace_image()
            .name("x")
            .description("d")
            .workspace_id("ws-000000000")
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "ImportWorkspaceImage without BYOL",
        c.import_workspace_image()
            .ec2_image_id("ami-0123456789abcdef0")
            .ingestion_process(aws_sdk_workspaces::types::WorkspaceImageIngestionProcess::ByolRegular)
            .image_name("byol")
            .image_description("d")
            .send()
            .await,
        is_access_denied_exception
    );
    expect_err!(
        "CreateWorkspaceBundle from an unknown image",
        c.create_workspace_bundle()
            .bundle_name("nope")
            .bundle_description("d")
            .image_id("wsi-000000000")
            .compute_type(compute(Compute::Standard))
            .user_storage(storage("50"))
            .send()
            .await,
        is_resource_not_found_exception
    );
}

mod images_and_bundles {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        let server = TestServer::start(Engine::Memory).await;
        super::images_and_bundles(&server).await;
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = TestServer::start(Engine::Sqlite).await;
        super::images_and_bundles(&server).await;
        server.stop().await;
    }
}
