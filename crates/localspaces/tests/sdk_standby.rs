//! The official AWS SDK for Rust over standby WorkSpaces: a primary in
//! us-east-1, its standby created from us-west-2, the relationship on both sides.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    DataReplication, StandbyWorkspace, StandbyWorkspaceRelationshipType, WorkspaceRequest,
};
use common::{ok, random_account, registered_directory_in, service_err, settle, Engine, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_in_another_region() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await;
        let account = random_account();
        let east = server.client_as(&account, "us-east-1");
        let west = server.client_as(&account, "us-west-2");
        let d_east = registered_directory_in(&server, &account, "us-east-1").await;
        let d_west = registered_directory_in(&server, &account, "us-west-2").await;
        let bundle = ok(
            "bundles",
            east.describe_workspace_bundles().owner("AMAZON").send().await,
        )
        .bundles()[0]
            .bundle_id()
            .expect("bundle")
            .to_string();
        let req = WorkspaceRequest::builder()
            .directory_id(&d_east)
            .user_name("alice")
            .bundle_id(&bundle)
            .build()
            .expect("request");
        let primary = ok(
            "CreateWorkspaces",
            east.create_workspaces().workspaces(req).send().await,
        )
        .pending_requests()[0]
            .workspace_id()
            .expect("id")
            .to_string();
        settle(&server).await;
        let item = StandbyWorkspace::builder()
            .primary_workspace_id(&primary)
            .directory_id(&d_west)
            .data_replication(DataReplication::PrimaryAsSource)
            .build()
            .expect("standby");
        let out = ok(
            "CreateStandbyWorkspaces",
            west.create_standby_workspaces()
                .primary_region("us-east-1")
                .standby_workspaces(item.clone())
                .send()
                .await,
        );
        assert!(out.failed_standby_requests().is_empty());
        let standby = out.pending_standby_requests()[0]
            .workspace_id()
            .expect("id")
            .to_string();
        settle(&server).await;
        let p = ok(
            "Describe primary",
            east.describe_workspaces().workspace_ids(&primary).send().await,
        );
        let rel = &p.workspaces()[0].related_workspaces()[0];
        assert_eq!(rel.workspace_id(), Some(standby.as_str()));
        assert_eq!(rel.region(), Some("us-west-2"));
        assert_eq!(rel.r#type(), Some(&StandbyWorkspaceRelationshipType::Standby));
        let s = ok(
            "Describe standby",
            west.describe_workspaces().workspace_ids(&standby).send().await,
        );
        assert_eq!(
            s.workspaces()[0].related_workspaces()[0].r#type(),
            Some(&StandbyWorkspaceRelationshipType::Primary)
        );
        let again = ok(
            "second standby",
            west.create_standby_workspaces()
                .primary_region("us-east-1")
                .standby_workspaces(item)
                .send()
                .await,
        );
        assert_eq!(
            again.failed_standby_requests()[0].error_code(),
            Some("ResourceExists.StandbyWorkspace")
        );
        let e = service_err(
            "same Region",
            west.create_standby_workspaces()
                .primary_region("us-west-2")
                .standby_workspaces(
                    StandbyWorkspace::builder()
                        .primary_workspace_id(&primary)
                        .directory_id(&d_west)
                        .build()
                        .expect("standby"),
                )
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("InvalidParameterValuesException"));
        server.stop().await;
    }
}
