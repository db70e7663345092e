//! The official AWS SDK for Rust over the operations the family suites reach only through
//! boto3: the directory settings calls Terraform's directory resource makes, client
//! properties, BYOL image imports (custom and regular) and updated images, bundle updates
//! and bundle/image associations, rejecting an account link, and updating a pool.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    AccountLinkStatusEnum, BundleAssociatedResourceType, CertificateBasedAuthProperties,
    CertificateBasedAuthStatusEnum, ClientProperties, ComputeType, CustomImageProtocol,
    DedicatedTenancySupportEnum, ImageAssociatedResourceType, ImageComputeType, ImageSourceIdentifier,
    OsVersion, Platform, ReconnectEnum, SamlProperties, SamlStatusEnum, SelfservicePermissions,
    StreamingProperties, UserStorage, WorkspaceAccessProperties, WorkspaceCreationProperties,
    WorkspaceImageIngestionProcess,
};
use common::{
    admin, ok, random_account, registered_directory, service_err, settle, Engine, TestServer, REGION,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_settings_and_client_properties() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await;
        let account = random_account();
        let c = server.client_as(&account, REGION);
        let d = registered_directory(&server, &account).await;
        ok(
            "ModifyWorkspaceCreationProperties",
            c.modify_workspace_creation_properties()
                .resource_id(&d)
                .workspace_creation_properties(
                    WorkspaceCreationProperties::builder()
                        .enable_internet_access(true)
                        .user_enabled_as_local_administrator(true)
                        .build(),
                )
                .send()
                .await,
        );
        ok(
            "ModifyWorkspaceAccessProperties",
            c.modify_workspace_access_properties()
                .resource_id(&d)
                .workspace_access_properties(
                    WorkspaceAccessProperties::builder()
                        .device_type_linux(aws_sdk_workspaces::types::AccessPropertyValue::Deny)
                        .build(),
                )
                .send()
                .await,
        );
        ok(
            "ModifySelfservicePermissions",
            c.modify_selfservice_permissions()
                .resource_id(&d)
                .selfservice_permissions(
                    SelfservicePermissions::builder()
                        .rebuild_workspace(aws_sdk_workspaces::types::ReconnectEnum::Enabled.as_str().into())
                        .build(),
                )
                .send()
                .await,
        );
        ok(
            "ModifySamlProperties",
            c.modify_saml_properties()
                .resource_id(&d)
                .saml_properties(
                    SamlProperties::builder()
                        .status(SamlStatusEnum::Enabled)
                        .user_access_url("https://idp.example.com/sso")
                        .build(),
                )
                .send()
                .await,
        );
        ok(
            "ModifyCertificateBasedAuthProperties",
            c.modify_certificate_based_auth_properties()
                .resource_id(&d)
                .certificate_based_auth_properties(
                    CertificateBasedAuthProperties::builder()
                        .status(CertificateBasedAuthStatusEnum::Enabled)
                        .certificate_authority_arn(
                            "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012",
                        )
                        .build(),
                )
                .send()
                .await,
        );
        ok(
            "ModifyStreamingProperties",
            c.modify_streaming_properties()
                .resource_id(&d)
                .streaming_properties(StreamingProperties::builder().build())
                .send()
                .await,
        );
        ok(
            "ModifyClientProperties",
            c.modify_client_properties()
                .resource_id(&d)
                .client_properties(
                    ClientProperties::builder()
                        .reconnect_enabled(ReconnectEnum::Disabled)
                        .build(),
                )
                .send()
                .await,
        );
        let props = ok(
            "DescribeClientProperties",
            c.describe_client_properties().resource_ids(&d).send().await,
        );
        assert_eq!(
            props.client_properties_list()[0]
                .client_properties()
                .and_then(|p| p.reconnect_enabled()),
            Some(&ReconnectEnum::Disabled)
        );
        let dir = ok(
            "DescribeWorkspaceDirectories",
            c.describe_workspace_directories().directory_ids(&d).send().await,
        );
        let dir = &dir.directories()[0];
        assert_eq!(
            dir.workspace_creation_properties()
                .and_then(|p| p.enable_internet_access()),
            Some(true)
        );
        assert_eq!(
            dir.saml_properties().and_then(|s| s.status()),
            Some(&SamlStatusEnum::Enabled)
        );
        let e = service_err(
            "unknown directory",
            c.modify_saml_properties()
                .resource_id("d-0000000000")
                .saml_properties(SamlProperties::builder().status(SamlStatusEnum::Disabled).build())
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byol_imports_bundle_updates_and_rejected_links() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await;
        let account = random_account();
        let c = server.client_as(&account, REGION);
        admin(
            &server,
            &format!("byol?account={account}&region={REGION}&eligible=true"),
        )
        .await;
        ok(
            "ModifyAccount",
            c.modify_account()
                .dedicated_tenancy_support(DedicatedTenancySupportEnum::Enabled)
                .dedicated_tenancy_management_cidr_range("10.7.0.0/16")
                .send()
                .await,
        );
        settle(&server).await;

        // A custom import goes through its steps.
        let custom = ok(
            "ImportCustomWorkspaceImage",
            c.import_custom_workspace_image()
                .image_name("custom")
                .image_description("d")
                .compute_type(ImageComputeType::Base)
                .protocol(CustomImageProtocol::Dcv)
                .image_source(ImageSourceIdentifier::Ec2ImageId("ami-0123456789abcdef0".into()))
                .infrastructure_configuration_arn(
                    "arn:aws:imagebuilder:us-east-1:123456789012:infrastructure-configuration/ws",
                )
                .platform(Platform::Windows)
                .os_version(OsVersion::Windows11)
                .send()
                .await,
        );
        let custom_id = custom.image_id().expect("ImageId").to_string();
        settle(&server).await;
        let status = ok(
            "DescribeCustomWorkspaceImageImport",
            c.describe_custom_workspace_image_import()
                .image_id(&custom_id)
                .send()
                .await,
        );
        assert_eq!(status.image_id(), Some(custom_id.as_str()));
        assert!(status.state().is_some());

        // A BYOL import, then an image with its updates.
        let imported = ok(
            "ImportWorkspaceImage",
            c.import_workspace_image()
                .ec2_image_id("ami-0fedcba9876543210")
                .ingestion_process(WorkspaceImageIngestionProcess::ByolRegular)
                .image_name("byol")
                .image_description("d")
                .send()
                .await,
        )
        .image_id()
        .expect("ImageId")
        .to_string();
        settle(&server).await;
        let updated = ok(
            "CreateUpdatedWorkspaceImage",
            c.create_updated_workspace_image()
                .name("byol-updated")
                .description("updated")
                .source_image_id(&imported)
                .send()
                .await,
        )
        .image_id()
        .expect("ImageId")
        .to_string();
        settle(&server).await;

        // A bundle from the import, moved to the updated image.
        let bundle = ok(
            "CreateWorkspaceBundle",
            c.create_workspace_bundle()
                .bundle_name("byol-bundle")
                .bundle_description("d")
                .image_id(&imported)
                .compute_type(
                    ComputeType::builder()
                        .name(aws_sdk_workspaces::types::Compute::Standard)
                        .build(),
                )
                .user_storage(UserStorage::builder().capacity("50").build().expect("storage"))
                .send()
                .await,
        )
        .workspace_bundle()
        .and_then(|b| b.bundle_id())
        .expect("BundleId")
        .to_string();
        ok(
            "UpdateWorkspaceBundle",
            c.update_workspace_bundle()
                .bundle_id(&bundle)
                .image_id(&updated)
                .send()
                .await,
        );
        let b = ok(
            "DescribeWorkspaceBundles",
            c.describe_workspace_bundles().bundle_ids(&bundle).send().await,
        );
        assert_eq!(b.bundles()[0].image_id(), Some(updated.as_str()));
        let assoc = ok(
            "DescribeBundleAssociations",
            c.describe_bundle_associations()
                .bundle_id(&bundle)
                .associated_resource_types(BundleAssociatedResourceType::Application)
                .send()
                .await,
        );
        assert!(assoc.associations().is_empty());
        let assoc = ok(
            "DescribeImageAssociations",
            c.describe_image_associations()
                .image_id(&updated)
                .associated_resource_types(ImageAssociatedResourceType::Application)
                .send()
                .await,
        );
        assert!(assoc.associations().is_empty());

        // An account link invitation, rejected by its target.
        let other = random_account();
        let link = ok(
            "CreateAccountLinkInvitation",
            c.create_account_link_invitation()
                .target_account_id(&other)
                .send()
                .await,
        )
        .account_link()
        .and_then(|l| l.account_link_id())
        .expect("id")
        .to_string();
        let rejected = ok(
            "RejectAccountLinkInvitation",
            server
                .client_as(&other, REGION)
                .reject_account_link_invitation()
                .link_id(&link)
                .send()
                .await,
        );
        assert_eq!(
            rejected.account_link().and_then(|l| l.account_link_status()),
            Some(&AccountLinkStatusEnum::Rejected)
        );
        server.stop().await;
    }
}
