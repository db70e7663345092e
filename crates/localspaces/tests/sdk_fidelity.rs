//! The official AWS SDK for Rust over the fidelity points Terraform and real scripts depend
//! on: AWS's published AMAZON bundle ids (every Region, `Owner: "Amazon"`, launchable), the
//! directory and user rules of CreateWorkspaces, Start/Stop items without an id, dedicated
//! tenancy after BYOL, IP groups released by a deregistration, and Directory Service tags
//! with `RequestId` in DS error bodies.

mod common;

use aws_sdk_workspaces::types::{
    DedicatedTenancySupportEnum, IpRuleItem, RunningMode, StartRequest, StopRequest, Tenancy,
    WorkspaceProperties, WorkspaceRequest,
};
use common::{
    admin, ds_call, ok, random_account, registered_directory, service_err, settle, Engine, TestServer,
};

fn item(directory: &str, bundle: &str, user: &str) -> WorkspaceRequest {
    WorkspaceRequest::builder()
        .directory_id(directory)
        .bundle_id(bundle)
        .user_name(user)
        .build()
        .expect("WorkspaceRequest")
}

#[tokio::test]
async fn published_bundles_launch_in_every_region() {
    let server = TestServer::start(Engine::Memory).await;
    let account = random_account();
    for region in ["us-east-1", "eu-central-1"] {
        let c = server.client_as(&account, region);
        let out = ok(
            "DescribeWorkspaceBundles by id",
            c.describe_workspace_bundles()
                .bundle_ids("wsb-bh8rsxt14")
                .bundle_ids("wsb-b0s22j3d7")
                .send()
                .await,
        );
        let mut got: Vec<(&str, &str, &str)> = out
            .bundles()
            .iter()
            .map(|b| {
                (
                    b.bundle_id().unwrap_or_default(),
                    b.name().unwrap_or_default(),
                    b.owner().unwrap_or_default(),
                )
            })
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                ("wsb-b0s22j3d7", "Performance with Windows 7", "Amazon"),
                ("wsb-bh8rsxt14", "Value with Windows 10", "Amazon"),
            ],
            "{region}"
        );
    }
    let c = server.client_as(&account, "us-east-1");
    let did = registered_directory(&server, &account).await;
    let out = ok(
        "CreateWorkspaces from wsb-bh8rsxt14",
        c.create_workspaces()
            .workspaces(item(&did, "wsb-bh8rsxt14", "alice"))
            .send()
            .await,
    );
    assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());
    assert_eq!(out.pending_requests()[0].bundle_id(), Some("wsb-bh8rsxt14"));
    server.stop().await;
}

#[tokio::test]
async fn directory_and_user_rules() {
    let server = TestServer::start_with(Engine::Sqlite, &["--timing", "instant"]).await;
    let account = random_account();
    let c = server.client_as(&account, "us-east-1");
    let did = registered_directory(&server, &account).await;
    let decoupled = |name: Option<&str>| {
        WorkspaceRequest::builder()
            .directory_id(&did)
            .bundle_id("wsb-clj85qzj1")
            .user_name("[UNDEFINED]")
            .set_workspace_name(name.map(str::to_string))
            .build()
            .expect("WorkspaceRequest")
    };
    let manual = WorkspaceRequest::builder()
        .directory_id(&did)
        .bundle_id("wsb-clj85qzj1")
        .user_name("m1")
        .workspace_properties(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::Manual)
                .build(),
        )
        .build()
        .expect("WorkspaceRequest");
    let out = ok(
        "CreateWorkspaces",
        c.create_workspaces()
            .workspaces(decoupled(None))
            .workspaces(decoupled(Some("kiosk")))
            .workspaces(manual.clone())
            .send()
            .await,
    );
    let codes: Vec<&str> = out
        .failed_requests()
        .iter()
        .map(|f| f.error_code().unwrap_or_default())
        .collect();
    // No WorkspaceName for a WorkSpace without a user; MANUAL outside WorkSpaces Core.
    assert_eq!(
        codes,
        [
            "InvalidParameterValuesException",
            "InvalidParameterValuesException"
        ]
    );
    assert_eq!(out.pending_requests()[0].workspace_name(), Some("kiosk"));
    let kiosk = out.pending_requests()[0].workspace_id().expect("id").to_string();
    admin(&server, &format!("core?account={account}&enabled=true")).await;
    let out = ok(
        "CreateWorkspaces MANUAL",
        c.create_workspaces().workspaces(manual).send().await,
    );
    assert!(out.failed_requests().is_empty(), "{:?}", out.failed_requests());

    // Start/Stop items without an id are reported, never dropped.
    let out = ok(
        "StopWorkspaces",
        c.stop_workspaces()
            .stop_workspace_requests(StopRequest::builder().build())
            .stop_workspace_requests(StopRequest::builder().workspace_id(&kiosk).build())
            .send()
            .await,
    );
    let failed: Vec<(Option<&str>, Option<&str>)> = out
        .failed_requests()
        .iter()
        .map(|f| (f.workspace_id(), f.error_code()))
        .collect();
    assert_eq!(
        failed,
        [
            (None, Some("InvalidParameterValuesException")),
            (Some(kiosk.as_str()), Some("InvalidResourceState.Workspace")), // ALWAYS_ON
        ]
    );
    let out = ok(
        "StartWorkspaces",
        c.start_workspaces()
            .start_workspace_requests(StartRequest::builder().build())
            .send()
            .await,
    );
    assert_eq!(out.failed_requests().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn dedicated_tenancy_and_ip_groups_after_deregistration() {
    let server = TestServer::start_with(Engine::Memory, &["--timing", "instant"]).await;
    let account = random_account();
    let c = server.client_as(&account, "us-east-1");
    let (status, out) = ds_call(
        &server,
        &account,
        "CreateDirectory",
        serde_json::json!({
            "Name": "byol.example.com", "Password": "Sup3r-Secret", "Size": "Small",
            "VpcSettings": {"VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]},
        }),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let did = out["DirectoryId"].as_str().expect("DirectoryId").to_string();
    settle(&server).await;
    let e = service_err(
        "DEDICATED before BYOL",
        c.register_workspace_directory()
            .directory_id(&did)
            .tenancy(Tenancy::Dedicated)
            .send()
            .await,
    );
    assert!(e.is_invalid_parameter_values_exception(), "{e:?}");
    admin(&server, &format!("byol?account={account}&eligible=true")).await;
    ok(
        "ModifyAccount",
        c.modify_account()
            .dedicated_tenancy_support(DedicatedTenancySupportEnum::Enabled)
            .dedicated_tenancy_management_cidr_range("10.30.0.0/16")
            .send()
            .await,
    );
    settle(&server).await;
    ok(
        "DEDICATED after BYOL",
        c.register_workspace_directory()
            .directory_id(&did)
            .tenancy(Tenancy::Dedicated)
            .send()
            .await,
    );
    settle(&server).await;
    let group = ok(
        "CreateIpGroup",
        c.create_ip_group()
            .group_name("office")
            .user_rules(IpRuleItem::builder().ip_rule("10.0.0.0/16").build())
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    ok(
        "AssociateIpGroups",
        c.associate_ip_groups()
            .directory_id(&did)
            .group_ids(&group)
            .send()
            .await,
    );
    ok(
        "DeregisterWorkspaceDirectory",
        c.deregister_workspace_directory().directory_id(&did).send().await,
    );
    // The registration no longer holds the group: it can be deleted at once.
    ok("DeleteIpGroup", c.delete_ip_group().group_id(&group).send().await);
    // DS: the registration is on its way out, the directory can be deleted; unknown ids answer
    // EntityDoesNotExistException with the request id in the body.
    settle(&server).await;
    let (status, body) = ds_call(
        &server,
        &account,
        "DeleteDirectory",
        serde_json::json!({"DirectoryId": did}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ds_call(
        &server,
        &account,
        "ListTagsForResource",
        serde_json::json!({"ResourceId": "d-0000000000"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "EntityDoesNotExistException");
    assert!(
        body["RequestId"].as_str().is_some_and(|r| r.len() == 36),
        "{body}"
    );
    server.stop().await;
}
