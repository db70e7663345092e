//! The official AWS SDK for Rust over connection aliases and account-level
//! features (BYOL, account links), on both store engines, with two accounts.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::{
    AccountLinkStatusEnum, AssociationStatus, ConnectionAliasPermission, ConnectionAliasState,
    DedicatedTenancyModificationStateEnum, DedicatedTenancySupportEnum, DedicatedTenancySupportResultEnum,
};
use common::{
    admin, ok, random_account, registered_directory, service_err, settle, Engine, TestServer, REGION,
};

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

fn permission(account: &str, allow: bool) -> ConnectionAliasPermission {
    ConnectionAliasPermission::builder()
        .shared_account_id(account)
        .allow_association(allow)
        .build()
        .expect("permission")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_alias_lifecycle_sharing_and_errors() {
    each_engine(|server| async move {
        let (a_id, b_id) = (random_account(), random_account());
        let (a, b) = (server.client_as(&a_id, REGION), server.client_as(&b_id, REGION));
        let fqdn = format!("desk-{a_id}.example.com");
        let alias = ok(
            "CreateConnectionAlias",
            a.create_connection_alias().connection_string(&fqdn).send().await,
        )
        .alias_id()
        .expect("AliasId")
        .to_string();
        assert!(alias.starts_with("wsca-"));
        let describe = |c: &aws_sdk_workspaces::Client, id: String| {
            let c = c.clone();
            async move {
                ok(
                    "DescribeConnectionAliases",
                    c.describe_connection_aliases().alias_ids(id).send().await,
                )
                .connection_aliases()
                .first()
                .cloned()
            }
        };
        let got = describe(&a, alias.clone()).await.expect("alias");
        assert_eq!(
            got.state(),
            Some(&ConnectionAliasState::Creating),
            "fast timing shows CREATING"
        );
        let e = service_err(
            "Delete while CREATING",
            a.delete_connection_alias().alias_id(&alias).send().await,
        );
        assert_eq!(e.code(), Some("InvalidResourceStateException"));
        settle(&server).await;
        assert_eq!(
            describe(&a, alias.clone()).await.expect("alias").state(),
            Some(&ConnectionAliasState::Created)
        );

        let e = service_err(
            "same string, other account",
            b.create_connection_alias().connection_string(&fqdn).send().await,
        );
        assert_eq!(e.code(), Some("ResourceAlreadyExistsException"));

        // Share with b; b associates with its own registered directory.
        let dir_b = registered_directory(&server, &b_id).await;
        let e = service_err(
            "associate before sharing",
            b.associate_connection_alias()
                .alias_id(&alias)
                .resource_id(&dir_b)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceNotFoundException"));
        ok(
            "UpdateConnectionAliasPermission",
            a.update_connection_alias_permission()
                .alias_id(&alias)
                .connection_alias_permission(permission(&b_id, true))
                .send()
                .await,
        );
        let perms = ok(
            "DescribeConnectionAliasPermissions",
            a.describe_connection_alias_permissions()
                .alias_id(&alias)
                .send()
                .await,
        );
        assert_eq!(perms.connection_alias_permissions().len(), 1);
        assert_eq!(perms.connection_alias_permissions()[0].shared_account_id(), b_id);
        let e = service_err(
            "permissions as non-owner",
            b.describe_connection_alias_permissions()
                .alias_id(&alias)
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("AccessDeniedException"));
        let ident = ok(
            "AssociateConnectionAlias",
            b.associate_connection_alias()
                .alias_id(&alias)
                .resource_id(&dir_b)
                .send()
                .await,
        );
        assert!(ident
            .connection_identifier()
            .is_some_and(|i| !i.is_empty() && i.len() <= 20));
        settle(&server).await;
        let seen = describe(&b, alias.clone()).await.expect("shared alias");
        assert_eq!(seen.owner_account_id(), Some(a_id.as_str()));
        assert_eq!(
            seen.associations()[0].association_status(),
            Some(&AssociationStatus::AssociatedWithSharedAccount)
        );
        let e = service_err(
            "unshare while associated",
            a.update_connection_alias_permission()
                .alias_id(&alias)
                .connection_alias_permission(permission(&b_id, false))
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("ResourceAssociatedException"));
        ok(
            "Disassociate",
            b.disassociate_connection_alias().alias_id(&alias).send().await,
        );
        settle(&server).await;
        ok(
            "unshare",
            a.update_connection_alias_permission()
                .alias_id(&alias)
                .connection_alias_permission(permission(&b_id, false))
                .send()
                .await,
        );
        ok(
            "Delete",
            a.delete_connection_alias().alias_id(&alias).send().await,
        );
        assert_eq!(
            describe(&a, alias.clone()).await.expect("alias").state(),
            Some(&ConnectionAliasState::Deleting)
        );
        settle(&server).await;
        assert!(describe(&a, alias.clone()).await.is_none(), "gone after DELETING");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byol_and_account_links() {
    each_engine(|server| async move {
        let (a_id, b_id) = (random_account(), random_account());
        let (a, b) = (server.client_as(&a_id, REGION), server.client_as(&b_id, REGION));
        let acct = ok("DescribeAccount", a.describe_account().send().await);
        assert_eq!(
            acct.dedicated_tenancy_support(),
            Some(&DedicatedTenancySupportResultEnum::Disabled)
        );
        let e = service_err(
            "not eligible",
            a.list_available_management_cidr_ranges()
                .management_cidr_range_constraint("10.0.0.0/8")
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("AccessDeniedException"));
        admin(
            &server,
            &format!("byol?account={a_id}&region={REGION}&eligible=true"),
        )
        .await;
        let ranges = ok(
            "ListAvailableManagementCidrRanges",
            a.list_available_management_cidr_ranges()
                .management_cidr_range_constraint("192.168.0.0/16")
                .send()
                .await,
        );
        assert_eq!(ranges.management_cidr_ranges(), ["192.168.0.0/16"]);
        ok(
            "ModifyAccount",
            a.modify_account()
                .dedicated_tenancy_support(DedicatedTenancySupportEnum::Enabled)
                .dedicated_tenancy_management_cidr_range("192.168.0.0/16")
                .send()
                .await,
        );
        let mods = ok(
            "DescribeAccountModifications",
            a.describe_account_modifications().send().await,
        );
        assert_eq!(
            mods.account_modifications()[0].modification_state(),
            Some(&DedicatedTenancyModificationStateEnum::Pending)
        );
        settle(&server).await;
        let acct = ok("DescribeAccount", a.describe_account().send().await);
        assert_eq!(
            acct.dedicated_tenancy_support(),
            Some(&DedicatedTenancySupportResultEnum::Enabled)
        );
        assert_eq!(
            acct.dedicated_tenancy_management_cidr_range(),
            Some("192.168.0.0/16")
        );

        // Account link a → b.
        let link = ok(
            "CreateAccountLinkInvitation",
            a.create_account_link_invitation()
                .target_account_id(&b_id)
                .send()
                .await,
        )
        .account_link()
        .cloned()
        .expect("AccountLink");
        assert_eq!(
            link.account_link_status(),
            Some(&AccountLinkStatusEnum::PendingAcceptanceByTargetAccount)
        );
        let id = link.account_link_id().expect("id").to_string();
        let e = service_err(
            "accept as source",
            a.accept_account_link_invitation().link_id(&id).send().await,
        );
        assert_eq!(e.code(), Some("AccessDeniedException"));
        let accepted = ok(
            "Accept",
            b.accept_account_link_invitation().link_id(&id).send().await,
        );
        assert_eq!(
            accepted.account_link().and_then(|l| l.account_link_status()),
            Some(&AccountLinkStatusEnum::Linked)
        );
        let got = ok(
            "GetAccountLink",
            b.get_account_link().linked_account_id(&a_id).send().await,
        );
        assert_eq!(
            got.account_link().and_then(|l| l.account_link_id()),
            Some(id.as_str())
        );
        let listed = ok("ListAccountLinks", a.list_account_links().send().await);
        assert_eq!(listed.account_links().len(), 1);
        let e = service_err(
            "delete a linked invitation",
            a.delete_account_link_invitation().link_id(&id).send().await,
        );
        assert_eq!(e.code(), Some("ConflictException"));
        server
    })
    .await;
}
