//! The official AWS SDK for Rust over managed applications: the catalog,
//! associate → deploy → COMPLETED, disassociate → deploy → REMOVED, and key refusals.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    ApplicationAssociatedResourceType, AssociationState, WorkSpaceAssociatedResourceType, WorkspaceRequest,
};
use common::{ok, random_account, registered_directory, service_err, settle, Engine, TestServer, REGION};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_on_a_windows_workspace() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await;
        let account = random_account();
        let c = server.client_as(&account, REGION);
        let mut apps = Vec::new();
        let mut pages = c.describe_applications().max_results(4).into_paginator().send();
        while let Some(page) = pages.next().await {
            apps.extend(ok("DescribeApplications page", page).applications().to_vec());
        }
        assert_eq!(apps.len(), 10);
        let office = apps
            .iter()
            .find(|a| a.name() == Some("Microsoft Office LTSC Professional Plus 2021"))
            .and_then(|a| a.application_id())
            .expect("Office")
            .to_string();
        let dir = registered_directory(&server, &account).await;
        let bundle = ok(
            "bundles",
            c.describe_workspace_bundles().owner("AMAZON").send().await,
        )
        .bundles()
        .iter()
        .find(|b| b.name() == Some("Standard with Windows 10 (Server 2022 based)"))
        .and_then(|b| b.bundle_id())
        .expect("a Windows bundle")
        .to_string();
        let req = WorkspaceRequest::builder()
            .directory_id(&dir)
            .user_name("alice")
            .bundle_id(&bundle)
            .build()
            .expect("request");
        let wid = ok(
            "CreateWorkspaces",
            c.create_workspaces().workspaces(req).send().await,
        )
        .pending_requests()[0]
            .workspace_id()
            .expect("id")
            .to_string();
        settle(&server).await;

        let a = ok(
            "Associate",
            c.associate_workspace_application()
                .workspace_id(&wid)
                .application_id(&office)
                .send()
                .await,
        );
        assert_eq!(
            a.association().and_then(|x| x.state()),
            Some(&AssociationState::PendingInstallDeployment)
        );
        let e = service_err(
            "again",
            c.associate_workspace_application()
                .workspace_id(&wid)
                .application_id(&office)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceAlreadyExistsException"));
        let dep = ok(
            "Deploy",
            c.deploy_workspace_applications().workspace_id(&wid).send().await,
        );
        assert_eq!(
            dep.deployment().map(|d| d.associations().len()),
            Some(1),
            "the pending association is deployed"
        );
        settle(&server).await;
        let listed = ok(
            "DescribeWorkspaceAssociations",
            c.describe_workspace_associations()
                .workspace_id(&wid)
                .associated_resource_types(WorkSpaceAssociatedResourceType::Application)
                .send()
                .await,
        );
        assert_eq!(
            listed.associations()[0].state(),
            Some(&AssociationState::Completed)
        );
        let by_app = ok(
            "DescribeApplicationAssociations",
            c.describe_application_associations()
                .application_id(&office)
                .associated_resource_types(ApplicationAssociatedResourceType::Workspace)
                .send()
                .await,
        );
        assert_eq!(
            by_app.associations()[0].associated_resource_id(),
            Some(wid.as_str())
        );
        ok(
            "Disassociate",
            c.disassociate_workspace_application()
                .workspace_id(&wid)
                .application_id(&office)
                .send()
                .await,
        );
        ok(
            "Deploy",
            c.deploy_workspace_applications().workspace_id(&wid).send().await,
        );
        settle(&server).await;
        let listed = ok(
            "DescribeWorkspaceAssociations",
            c.describe_workspace_associations()
                .workspace_id(&wid)
                .associated_resource_types(WorkSpaceAssociatedResourceType::Application)
                .send()
                .await,
        );
        assert_eq!(listed.associations()[0].state(), Some(&AssociationState::Removed));
        let e = service_err(
            "unknown WorkSpace",
            c.deploy_workspace_applications()
                .workspace_id("ws-000000000")
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        server.stop().await;
    }
}
