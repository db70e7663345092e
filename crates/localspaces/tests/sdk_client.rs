//! The official AWS SDK for Rust over client branding, the Amazon Connect client add-in
//! and ModifyEndpointEncryptionMode, on both store engines.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::primitives::Blob;
use aws_sdk_workspaces::types::{
    ClientDeviceType, DefaultImportClientBrandingAttributes, EndpointEncryptionMode,
    IosImportClientBrandingAttributes,
};
use common::{ok, random_account, registered_directory, service_err, Engine, TestServer, REGION};

fn png(size: usize) -> Blob {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.resize(size, b'x');
    Blob::new(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branding_add_ins_and_encryption_mode() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start(engine).await;
        let account = random_account();
        let c = server.client_as(&account, REGION);
        let did = registered_directory(&server, &account).await;

        // Branding: import two platforms, read them back as URLs, delete one.
        let out = ok(
            "ImportClientBranding",
            c.import_client_branding()
                .resource_id(&did)
                .device_type_windows(
                    DefaultImportClientBrandingAttributes::builder()
                        .logo(png(100))
                        .support_email("help@example.com")
                        .login_message("en_US", "Welcome <b>home</b>")
                        .build(),
                )
                .device_type_ios(
                    IosImportClientBrandingAttributes::builder()
                        .logo2x(png(200))
                        .support_link("https://example.com/help")
                        .build(),
                )
                .send()
                .await,
        );
        let win = out.device_type_windows().expect("Windows echoed");
        assert!(win.logo_url().is_some_and(|u| u.starts_with("https://")));
        assert!(out.device_type_osx().is_none());
        let got = ok(
            "DescribeClientBranding",
            c.describe_client_branding().resource_id(&did).send().await,
        );
        assert_eq!(got.device_type_windows(), Some(win));
        assert_eq!(
            got.device_type_windows().and_then(|w| w.support_email()),
            Some("help@example.com")
        );
        let ios = got.device_type_ios().expect("iOS");
        assert!(ios.logo2x_url().is_some() && ios.logo_url().is_none() && ios.logo3x_url().is_none());
        assert!(got.device_type_web().is_none() && got.device_type_linux().is_none());
        ok(
            "DeleteClientBranding",
            c.delete_client_branding()
                .resource_id(&did)
                .platforms(ClientDeviceType::DeviceTypeWindows)
                .send()
                .await,
        );
        let got = ok(
            "DescribeClientBranding",
            c.describe_client_branding().resource_id(&did).send().await,
        );
        assert!(got.device_type_windows().is_none() && got.device_type_ios().is_some());

        let e = service_err(
            "SupportEmail and SupportLink",
            c.import_client_branding()
                .resource_id(&did)
                .device_type_web(
                    DefaultImportClientBrandingAttributes::builder()
                        .support_email("help@example.com")
                        .support_link("https://example.com")
                        .build(),
                )
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("InvalidParameterValuesException"));
        let e = service_err(
            "no platform",
            c.import_client_branding().resource_id(&did).send().await,
        );
        assert_eq!(e.code(), Some("InvalidParameterValuesException"));
        let e = service_err(
            "unknown directory",
            c.describe_client_branding()
                .resource_id("d-0123456789")
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));

        // The Amazon Connect add-in: one per directory.
        let aid = ok(
            "CreateConnectClientAddIn",
            c.create_connect_client_add_in()
                .resource_id(&did)
                .name("CCP")
                .url("https://corp.my.connect.aws/ccp")
                .send()
                .await,
        )
        .add_in_id()
        .expect("AddInId")
        .to_string();
        assert_eq!(aid.len(), 36);
        let e = service_err(
            "second add-in",
            c.create_connect_client_add_in()
                .resource_id(&did)
                .name("other")
                .url("https://x.example")
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceAlreadyExistsException"));
        ok(
            "UpdateConnectClientAddIn",
            c.update_connect_client_add_in()
                .resource_id(&did)
                .add_in_id(&aid)
                .name("Contact center")
                .send()
                .await,
        );
        let list = ok(
            "DescribeConnectClientAddIns",
            c.describe_connect_client_add_ins()
                .resource_id(&did)
                .max_results(1)
                .send()
                .await,
        );
        let [a] = list.add_ins() else {
            panic!("one add-in: {list:?}")
        };
        assert_eq!(
            (a.add_in_id(), a.resource_id(), a.name(), a.url()),
            (
                Some(aid.as_str()),
                Some(did.as_str()),
                Some("Contact center"),
                Some("https://corp.my.connect.aws/ccp")
            )
        );
        assert!(list.next_token().is_none());
        ok(
            "DeleteConnectClientAddIn",
            c.delete_connect_client_add_in()
                .resource_id(&did)
                .add_in_id(&aid)
                .send()
                .await,
        );
        let e = service_err(
            "deleted add-in",
            c.update_connect_client_add_in()
                .resource_id(&did)
                .add_in_id(&aid)
                .name("x")
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));

        // Endpoint encryption mode, shown by DescribeWorkspaceDirectories.
        ok(
            "ModifyEndpointEncryptionMode",
            c.modify_endpoint_encryption_mode()
                .directory_id(&did)
                .endpoint_encryption_mode(EndpointEncryptionMode::FipsValidated)
                .send()
                .await,
        );
        let dirs = ok(
            "DescribeWorkspaceDirectories",
            c.describe_workspace_directories()
                .directory_ids(&did)
                .send()
                .await,
        );
        assert_eq!(
            dirs.directories()
                .first()
                .and_then(|d| d.endpoint_encryption_mode()),
            Some(&EndpointEncryptionMode::FipsValidated)
        );
        let e = service_err(
            "unknown directory",
            c.modify_endpoint_encryption_mode()
                .directory_id("d-0123456789")
                .endpoint_encryption_mode(EndpointEncryptionMode::StandardTls)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        let eu = server.client_as(&account, "eu-west-1");
        let e = service_err(
            "FIPS outside the US",
            eu.modify_endpoint_encryption_mode()
                .directory_id("d-0123456789")
                .endpoint_encryption_mode(EndpointEncryptionMode::FipsValidated)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("OperationNotSupportedException"));
        server.stop().await;
    }
}
