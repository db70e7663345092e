//! The behaviour: one typed handler per operation, grouped in files named after the API's
//! resource families. No HTTP types here; handlers read and write through the store.

mod account;
mod applications;
mod bundles;
pub mod catalog;
mod client;
mod connection_aliases;
mod directories;
mod ds;
mod ids;
mod images;
mod ip_groups;
mod lifecycle;
mod pagination;
mod pools;
mod records;
mod snapshots;
mod standby;
mod tags;
mod workspaces;

pub use records::Limits;

use crate::clock::Clock;
use crate::engine::Engine;
use localspaces_api::ds as ds_api;
use localspaces_api::workspaces::{self as ws, Error, WorkspacesApi};
use localspaces_store::{Scope, Store, StoreError};
use parking_lot::Mutex;
use std::sync::Arc;

/// Per-request context handed to every handler.
#[derive(Debug, Clone)]
pub struct Context {
    /// The (account, region) the caller acts in.
    pub scope: Scope,
    /// The request id (also in `x-amzn-RequestId`).
    pub request_id: String,
}

/// The WorkSpaces service over a store.
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    engine: Engine,
    /// Serializes read-check-write sequences (quotas, uniqueness) within this process.
    /// Conditional writes (`Expect`) keep them correct across processes too.
    write: Mutex<()>,
    /// Records already decoded (see [`records::DecodedCache`]).
    decoded: records::DecodedCache,
}

impl Service {
    /// A service over `store`, reading time from `clock`, with timed transitions queued
    /// on `engine` (which must use the same clock).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, limits: Limits, engine: Engine) -> Self {
        Service {
            store,
            clock,
            limits,
            engine,
            write: Mutex::new(()),
            decoded: records::DecodedCache::default(),
        }
    }

    /// The lifecycle engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store (admin endpoints, shutdown).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Storage failures are internal faults: logged by the edge, never shown to the caller.
pub(crate) fn internal(e: StoreError) -> Error {
    tracing::error!(error = %e, "store failure");
    Error::new(
        ws::ErrorCode::InternalFailure,
        "We encountered an internal error. Please try again.",
    )
}

impl WorkspacesApi for Service {
    type Context = Context;

    fn create_ip_group(
        &self,
        cx: &Context,
        input: ws::CreateIpGroupRequest,
    ) -> Result<ws::CreateIpGroupResult, Error> {
        ip_groups::create_ip_group(self, cx, input)
    }
    fn describe_ip_groups(
        &self,
        cx: &Context,
        input: ws::DescribeIpGroupsRequest,
    ) -> Result<ws::DescribeIpGroupsResult, Error> {
        ip_groups::describe_ip_groups(self, cx, input)
    }
    fn delete_ip_group(
        &self,
        cx: &Context,
        input: ws::DeleteIpGroupRequest,
    ) -> Result<ws::DeleteIpGroupResult, Error> {
        ip_groups::delete_ip_group(self, cx, input)
    }
    fn authorize_ip_rules(
        &self,
        cx: &Context,
        input: ws::AuthorizeIpRulesRequest,
    ) -> Result<ws::AuthorizeIpRulesResult, Error> {
        ip_groups::authorize_ip_rules(self, cx, input)
    }
    fn revoke_ip_rules(
        &self,
        cx: &Context,
        input: ws::RevokeIpRulesRequest,
    ) -> Result<ws::RevokeIpRulesResult, Error> {
        ip_groups::revoke_ip_rules(self, cx, input)
    }
    fn update_rules_of_ip_group(
        &self,
        cx: &Context,
        input: ws::UpdateRulesOfIpGroupRequest,
    ) -> Result<ws::UpdateRulesOfIpGroupResult, Error> {
        ip_groups::update_rules_of_ip_group(self, cx, input)
    }
    fn create_tags(&self, cx: &Context, input: ws::CreateTagsRequest) -> Result<ws::CreateTagsResult, Error> {
        tags::create_tags(self, cx, input)
    }
    fn delete_tags(&self, cx: &Context, input: ws::DeleteTagsRequest) -> Result<ws::DeleteTagsResult, Error> {
        tags::delete_tags(self, cx, input)
    }
    fn describe_tags(
        &self,
        cx: &Context,
        input: ws::DescribeTagsRequest,
    ) -> Result<ws::DescribeTagsResult, Error> {
        tags::describe_tags(self, cx, input)
    }
    fn register_workspace_directory(
        &self,
        cx: &Context,
        input: ws::RegisterWorkspaceDirectoryRequest,
    ) -> Result<ws::RegisterWorkspaceDirectoryResult, Error> {
        directories::register_workspace_directory(self, cx, input)
    }
    fn deregister_workspace_directory(
        &self,
        cx: &Context,
        input: ws::DeregisterWorkspaceDirectoryRequest,
    ) -> Result<ws::DeregisterWorkspaceDirectoryResult, Error> {
        directories::deregister_workspace_directory(self, cx, input)
    }
    fn describe_workspace_directories(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceDirectoriesRequest,
    ) -> Result<ws::DescribeWorkspaceDirectoriesResult, Error> {
        directories::describe_workspace_directories(self, cx, input)
    }
    fn associate_ip_groups(
        &self,
        cx: &Context,
        input: ws::AssociateIpGroupsRequest,
    ) -> Result<ws::AssociateIpGroupsResult, Error> {
        directories::associate_ip_groups(self, cx, input)
    }
    fn disassociate_ip_groups(
        &self,
        cx: &Context,
        input: ws::DisassociateIpGroupsRequest,
    ) -> Result<ws::DisassociateIpGroupsResult, Error> {
        directories::disassociate_ip_groups(self, cx, input)
    }
    fn modify_workspace_creation_properties(
        &self,
        cx: &Context,
        input: ws::ModifyWorkspaceCreationPropertiesRequest,
    ) -> Result<ws::ModifyWorkspaceCreationPropertiesResult, Error> {
        directories::modify_workspace_creation_properties(self, cx, input)
    }
    fn modify_workspace_access_properties(
        &self,
        cx: &Context,
        input: ws::ModifyWorkspaceAccessPropertiesRequest,
    ) -> Result<ws::ModifyWorkspaceAccessPropertiesResult, Error> {
        directories::modify_workspace_access_properties(self, cx, input)
    }
    fn modify_selfservice_permissions(
        &self,
        cx: &Context,
        input: ws::ModifySelfservicePermissionsRequest,
    ) -> Result<ws::ModifySelfservicePermissionsResult, Error> {
        directories::modify_selfservice_permissions(self, cx, input)
    }
    fn modify_saml_properties(
        &self,
        cx: &Context,
        input: ws::ModifySamlPropertiesRequest,
    ) -> Result<ws::ModifySamlPropertiesResult, Error> {
        directories::modify_saml_properties(self, cx, input)
    }
    fn modify_certificate_based_auth_properties(
        &self,
        cx: &Context,
        input: ws::ModifyCertificateBasedAuthPropertiesRequest,
    ) -> Result<ws::ModifyCertificateBasedAuthPropertiesResult, Error> {
        directories::modify_certificate_based_auth_properties(self, cx, input)
    }
    fn modify_streaming_properties(
        &self,
        cx: &Context,
        input: ws::ModifyStreamingPropertiesRequest,
    ) -> Result<ws::ModifyStreamingPropertiesResult, Error> {
        directories::modify_streaming_properties(self, cx, input)
    }
    fn modify_client_properties(
        &self,
        cx: &Context,
        input: ws::ModifyClientPropertiesRequest,
    ) -> Result<ws::ModifyClientPropertiesResult, Error> {
        directories::modify_client_properties(self, cx, input)
    }
    fn describe_client_properties(
        &self,
        cx: &Context,
        input: ws::DescribeClientPropertiesRequest,
    ) -> Result<ws::DescribeClientPropertiesResult, Error> {
        directories::describe_client_properties(self, cx, input)
    }
    // ---- client branding and Amazon Connect add-ins (client.rs)
    fn import_client_branding(
        &self,
        cx: &Context,
        input: ws::ImportClientBrandingRequest,
    ) -> Result<ws::ImportClientBrandingResult, Error> {
        client::import_client_branding(self, cx, input)
    }
    fn describe_client_branding(
        &self,
        cx: &Context,
        input: ws::DescribeClientBrandingRequest,
    ) -> Result<ws::DescribeClientBrandingResult, Error> {
        client::describe_client_branding(self, cx, input)
    }
    fn delete_client_branding(
        &self,
        cx: &Context,
        input: ws::DeleteClientBrandingRequest,
    ) -> Result<ws::DeleteClientBrandingResult, Error> {
        client::delete_client_branding(self, cx, input)
    }
    fn create_connect_client_add_in(
        &self,
        cx: &Context,
        input: ws::CreateConnectClientAddInRequest,
    ) -> Result<ws::CreateConnectClientAddInResult, Error> {
        client::create_connect_client_add_in(self, cx, input)
    }
    fn describe_connect_client_add_ins(
        &self,
        cx: &Context,
        input: ws::DescribeConnectClientAddInsRequest,
    ) -> Result<ws::DescribeConnectClientAddInsResult, Error> {
        client::describe_connect_client_add_ins(self, cx, input)
    }
    fn update_connect_client_add_in(
        &self,
        cx: &Context,
        input: ws::UpdateConnectClientAddInRequest,
    ) -> Result<ws::UpdateConnectClientAddInResult, Error> {
        client::update_connect_client_add_in(self, cx, input)
    }
    fn delete_connect_client_add_in(
        &self,
        cx: &Context,
        input: ws::DeleteConnectClientAddInRequest,
    ) -> Result<ws::DeleteConnectClientAddInResult, Error> {
        client::delete_connect_client_add_in(self, cx, input)
    }
    fn modify_endpoint_encryption_mode(
        &self,
        cx: &Context,
        input: ws::ModifyEndpointEncryptionModeRequest,
    ) -> Result<ws::ModifyEndpointEncryptionModeResponse, Error> {
        directories::modify_endpoint_encryption_mode(self, cx, input)
    }
    fn describe_workspace_bundles(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceBundlesRequest,
    ) -> Result<ws::DescribeWorkspaceBundlesResult, Error> {
        bundles::describe_workspace_bundles(self, cx, input)
    }
    fn create_workspaces(
        &self,
        cx: &Context,
        input: ws::CreateWorkspacesRequest,
    ) -> Result<ws::CreateWorkspacesResult, Error> {
        workspaces::create_workspaces(self, cx, input)
    }
    fn describe_workspaces(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspacesRequest,
    ) -> Result<ws::DescribeWorkspacesResult, Error> {
        workspaces::describe_workspaces(self, cx, input)
    }
    fn start_workspaces(
        &self,
        cx: &Context,
        input: ws::StartWorkspacesRequest,
    ) -> Result<ws::StartWorkspacesResult, Error> {
        workspaces::start_workspaces(self, cx, input)
    }
    fn stop_workspaces(
        &self,
        cx: &Context,
        input: ws::StopWorkspacesRequest,
    ) -> Result<ws::StopWorkspacesResult, Error> {
        workspaces::stop_workspaces(self, cx, input)
    }
    fn reboot_workspaces(
        &self,
        cx: &Context,
        input: ws::RebootWorkspacesRequest,
    ) -> Result<ws::RebootWorkspacesResult, Error> {
        workspaces::reboot_workspaces(self, cx, input)
    }
    fn rebuild_workspaces(
        &self,
        cx: &Context,
        input: ws::RebuildWorkspacesRequest,
    ) -> Result<ws::RebuildWorkspacesResult, Error> {
        workspaces::rebuild_workspaces(self, cx, input)
    }
    fn terminate_workspaces(
        &self,
        cx: &Context,
        input: ws::TerminateWorkspacesRequest,
    ) -> Result<ws::TerminateWorkspacesResult, Error> {
        workspaces::terminate_workspaces(self, cx, input)
    }
    fn modify_workspace_properties(
        &self,
        cx: &Context,
        input: ws::ModifyWorkspacePropertiesRequest,
    ) -> Result<ws::ModifyWorkspacePropertiesResult, Error> {
        workspaces::modify_workspace_properties(self, cx, input)
    }
    fn modify_workspace_state(
        &self,
        cx: &Context,
        input: ws::ModifyWorkspaceStateRequest,
    ) -> Result<ws::ModifyWorkspaceStateResult, Error> {
        workspaces::modify_workspace_state(self, cx, input)
    }
    fn describe_workspaces_connection_status(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspacesConnectionStatusRequest,
    ) -> Result<ws::DescribeWorkspacesConnectionStatusResult, Error> {
        workspaces::describe_workspaces_connection_status(self, cx, input)
    }
    fn create_connection_alias(
        &self,
        cx: &Context,
        input: ws::CreateConnectionAliasRequest,
    ) -> Result<ws::CreateConnectionAliasResult, Error> {
        connection_aliases::create_connection_alias(self, cx, input)
    }
    fn describe_connection_aliases(
        &self,
        cx: &Context,
        input: ws::DescribeConnectionAliasesRequest,
    ) -> Result<ws::DescribeConnectionAliasesResult, Error> {
        connection_aliases::describe_connection_aliases(self, cx, input)
    }
    fn delete_connection_alias(
        &self,
        cx: &Context,
        input: ws::DeleteConnectionAliasRequest,
    ) -> Result<ws::DeleteConnectionAliasResult, Error> {
        connection_aliases::delete_connection_alias(self, cx, input)
    }
    fn associate_connection_alias(
        &self,
        cx: &Context,
        input: ws::AssociateConnectionAliasRequest,
    ) -> Result<ws::AssociateConnectionAliasResult, Error> {
        connection_aliases::associate_connection_alias(self, cx, input)
    }
    fn disassociate_connection_alias(
        &self,
        cx: &Context,
        input: ws::DisassociateConnectionAliasRequest,
    ) -> Result<ws::DisassociateConnectionAliasResult, Error> {
        connection_aliases::disassociate_connection_alias(self, cx, input)
    }
    fn describe_connection_alias_permissions(
        &self,
        cx: &Context,
        input: ws::DescribeConnectionAliasPermissionsRequest,
    ) -> Result<ws::DescribeConnectionAliasPermissionsResult, Error> {
        connection_aliases::describe_connection_alias_permissions(self, cx, input)
    }
    fn update_connection_alias_permission(
        &self,
        cx: &Context,
        input: ws::UpdateConnectionAliasPermissionRequest,
    ) -> Result<ws::UpdateConnectionAliasPermissionResult, Error> {
        connection_aliases::update_connection_alias_permission(self, cx, input)
    }
    fn describe_account(
        &self,
        cx: &Context,
        input: ws::DescribeAccountRequest,
    ) -> Result<ws::DescribeAccountResult, Error> {
        account::describe_account(self, cx, input)
    }
    fn modify_account(
        &self,
        cx: &Context,
        input: ws::ModifyAccountRequest,
    ) -> Result<ws::ModifyAccountResult, Error> {
        account::modify_account(self, cx, input)
    }
    fn describe_account_modifications(
        &self,
        cx: &Context,
        input: ws::DescribeAccountModificationsRequest,
    ) -> Result<ws::DescribeAccountModificationsResult, Error> {
        account::describe_account_modifications(self, cx, input)
    }
    fn list_available_management_cidr_ranges(
        &self,
        cx: &Context,
        input: ws::ListAvailableManagementCidrRangesRequest,
    ) -> Result<ws::ListAvailableManagementCidrRangesResult, Error> {
        account::list_available_management_cidr_ranges(self, cx, input)
    }
    fn create_account_link_invitation(
        &self,
        cx: &Context,
        input: ws::CreateAccountLinkInvitationRequest,
    ) -> Result<ws::CreateAccountLinkInvitationResult, Error> {
        account::create_account_link_invitation(self, cx, input)
    }
    fn accept_account_link_invitation(
        &self,
        cx: &Context,
        input: ws::AcceptAccountLinkInvitationRequest,
    ) -> Result<ws::AcceptAccountLinkInvitationResult, Error> {
        account::accept_account_link_invitation(self, cx, input)
    }
    fn reject_account_link_invitation(
        &self,
        cx: &Context,
        input: ws::RejectAccountLinkInvitationRequest,
    ) -> Result<ws::RejectAccountLinkInvitationResult, Error> {
        account::reject_account_link_invitation(self, cx, input)
    }
    fn delete_account_link_invitation(
        &self,
        cx: &Context,
        input: ws::DeleteAccountLinkInvitationRequest,
    ) -> Result<ws::DeleteAccountLinkInvitationResult, Error> {
        account::delete_account_link_invitation(self, cx, input)
    }
    fn get_account_link(
        &self,
        cx: &Context,
        input: ws::GetAccountLinkRequest,
    ) -> Result<ws::GetAccountLinkResult, Error> {
        account::get_account_link(self, cx, input)
    }
    fn list_account_links(
        &self,
        cx: &Context,
        input: ws::ListAccountLinksRequest,
    ) -> Result<ws::ListAccountLinksResult, Error> {
        account::list_account_links(self, cx, input)
    }
    fn describe_workspace_snapshots(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceSnapshotsRequest,
    ) -> Result<ws::DescribeWorkspaceSnapshotsResult, Error> {
        snapshots::describe_workspace_snapshots(self, cx, input)
    }
    fn restore_workspace(
        &self,
        cx: &Context,
        input: ws::RestoreWorkspaceRequest,
    ) -> Result<ws::RestoreWorkspaceResult, Error> {
        snapshots::restore_workspace(self, cx, input)
    }
    fn migrate_workspace(
        &self,
        cx: &Context,
        input: ws::MigrateWorkspaceRequest,
    ) -> Result<ws::MigrateWorkspaceResult, Error> {
        snapshots::migrate_workspace(self, cx, input)
    }
    // ---- images and custom bundles (images.rs, bundles.rs)
    fn copy_workspace_image(
        &self,
        cx: &Context,
        input: ws::CopyWorkspaceImageRequest,
    ) -> Result<ws::CopyWorkspaceImageResult, Error> {
        images::copy_workspace_image(self, cx, input)
    }
    fn create_updated_workspace_image(
        &self,
        cx: &Context,
        input: ws::CreateUpdatedWorkspaceImageRequest,
    ) -> Result<ws::CreateUpdatedWorkspaceImageResult, Error> {
        images::create_updated_workspace_image(self, cx, input)
    }
    fn create_workspace_image(
        &self,
        cx: &Context,
        input: ws::CreateWorkspaceImageRequest,
    ) -> Result<ws::CreateWorkspaceImageResult, Error> {
        images::create_workspace_image(self, cx, input)
    }
    fn delete_workspace_image(
        &self,
        cx: &Context,
        input: ws::DeleteWorkspaceImageRequest,
    ) -> Result<ws::DeleteWorkspaceImageResult, Error> {
        images::delete_workspace_image(self, cx, input)
    }
    fn describe_custom_workspace_image_import(
        &self,
        cx: &Context,
        input: ws::DescribeCustomWorkspaceImageImportRequest,
    ) -> Result<ws::DescribeCustomWorkspaceImageImportResult, Error> {
        images::describe_custom_workspace_image_import(self, cx, input)
    }
    fn describe_image_associations(
        &self,
        cx: &Context,
        input: ws::DescribeImageAssociationsRequest,
    ) -> Result<ws::DescribeImageAssociationsResult, Error> {
        images::describe_image_associations(self, cx, input)
    }
    fn describe_workspace_image_permissions(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceImagePermissionsRequest,
    ) -> Result<ws::DescribeWorkspaceImagePermissionsResult, Error> {
        images::describe_workspace_image_permissions(self, cx, input)
    }
    fn describe_workspace_images(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceImagesRequest,
    ) -> Result<ws::DescribeWorkspaceImagesResult, Error> {
        images::describe_workspace_images(self, cx, input)
    }
    fn import_custom_workspace_image(
        &self,
        cx: &Context,
        input: ws::ImportCustomWorkspaceImageRequest,
    ) -> Result<ws::ImportCustomWorkspaceImageResult, Error> {
        images::import_custom_workspace_image(self, cx, input)
    }
    fn import_workspace_image(
        &self,
        cx: &Context,
        input: ws::ImportWorkspaceImageRequest,
    ) -> Result<ws::ImportWorkspaceImageResult, Error> {
        images::import_workspace_image(self, cx, input)
    }
    fn update_workspace_image_permission(
        &self,
        cx: &Context,
        input: ws::UpdateWorkspaceImagePermissionRequest,
    ) -> Result<ws::UpdateWorkspaceImagePermissionResult, Error> {
        images::update_workspace_image_permission(self, cx, input)
    }
    fn create_workspace_bundle(
        &self,
        cx: &Context,
        input: ws::CreateWorkspaceBundleRequest,
    ) -> Result<ws::CreateWorkspaceBundleResult, Error> {
        bundles::create_workspace_bundle(self, cx, input)
    }
    fn update_workspace_bundle(
        &self,
        cx: &Context,
        input: ws::UpdateWorkspaceBundleRequest,
    ) -> Result<ws::UpdateWorkspaceBundleResult, Error> {
        bundles::update_workspace_bundle(self, cx, input)
    }
    fn delete_workspace_bundle(
        &self,
        cx: &Context,
        input: ws::DeleteWorkspaceBundleRequest,
    ) -> Result<ws::DeleteWorkspaceBundleResult, Error> {
        bundles::delete_workspace_bundle(self, cx, input)
    }
    fn describe_bundle_associations(
        &self,
        cx: &Context,
        input: ws::DescribeBundleAssociationsRequest,
    ) -> Result<ws::DescribeBundleAssociationsResult, Error> {
        bundles::describe_bundle_associations(self, cx, input)
    }
    fn describe_applications(
        &self,
        cx: &Context,
        input: ws::DescribeApplicationsRequest,
    ) -> Result<ws::DescribeApplicationsResult, Error> {
        applications::describe_applications(self, cx, input)
    }
    fn associate_workspace_application(
        &self,
        cx: &Context,
        input: ws::AssociateWorkspaceApplicationRequest,
    ) -> Result<ws::AssociateWorkspaceApplicationResult, Error> {
        applications::associate_workspace_application(self, cx, input)
    }
    fn disassociate_workspace_application(
        &self,
        cx: &Context,
        input: ws::DisassociateWorkspaceApplicationRequest,
    ) -> Result<ws::DisassociateWorkspaceApplicationResult, Error> {
        applications::disassociate_workspace_application(self, cx, input)
    }
    fn deploy_workspace_applications(
        &self,
        cx: &Context,
        input: ws::DeployWorkspaceApplicationsRequest,
    ) -> Result<ws::DeployWorkspaceApplicationsResult, Error> {
        applications::deploy_workspace_applications(self, cx, input)
    }
    fn describe_application_associations(
        &self,
        cx: &Context,
        input: ws::DescribeApplicationAssociationsRequest,
    ) -> Result<ws::DescribeApplicationAssociationsResult, Error> {
        applications::describe_application_associations(self, cx, input)
    }
    fn describe_workspace_associations(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspaceAssociationsRequest,
    ) -> Result<ws::DescribeWorkspaceAssociationsResult, Error> {
        applications::describe_workspace_associations(self, cx, input)
    }
    // ---- WorkSpaces Pools (pools.rs)
    fn create_workspaces_pool(
        &self,
        cx: &Context,
        input: ws::CreateWorkspacesPoolRequest,
    ) -> Result<ws::CreateWorkspacesPoolResult, Error> {
        pools::create_workspaces_pool(self, cx, input)
    }
    fn describe_workspaces_pools(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspacesPoolsRequest,
    ) -> Result<ws::DescribeWorkspacesPoolsResult, Error> {
        pools::describe_workspaces_pools(self, cx, input)
    }
    fn update_workspaces_pool(
        &self,
        cx: &Context,
        input: ws::UpdateWorkspacesPoolRequest,
    ) -> Result<ws::UpdateWorkspacesPoolResult, Error> {
        pools::update_workspaces_pool(self, cx, input)
    }
    fn start_workspaces_pool(
        &self,
        cx: &Context,
        input: ws::StartWorkspacesPoolRequest,
    ) -> Result<ws::StartWorkspacesPoolResult, Error> {
        pools::start_workspaces_pool(self, cx, input)
    }
    fn stop_workspaces_pool(
        &self,
        cx: &Context,
        input: ws::StopWorkspacesPoolRequest,
    ) -> Result<ws::StopWorkspacesPoolResult, Error> {
        pools::stop_workspaces_pool(self, cx, input)
    }
    fn terminate_workspaces_pool(
        &self,
        cx: &Context,
        input: ws::TerminateWorkspacesPoolRequest,
    ) -> Result<ws::TerminateWorkspacesPoolResult, Error> {
        pools::terminate_workspaces_pool(self, cx, input)
    }
    fn describe_workspaces_pool_sessions(
        &self,
        cx: &Context,
        input: ws::DescribeWorkspacesPoolSessionsRequest,
    ) -> Result<ws::DescribeWorkspacesPoolSessionsResult, Error> {
        pools::describe_workspaces_pool_sessions(self, cx, input)
    }
    fn terminate_workspaces_pool_session(
        &self,
        cx: &Context,
        input: ws::TerminateWorkspacesPoolSessionRequest,
    ) -> Result<ws::TerminateWorkspacesPoolSessionResult, Error> {
        pools::terminate_workspaces_pool_session(self, cx, input)
    }
    fn create_standby_workspaces(
        &self,
        cx: &Context,
        input: ws::CreateStandbyWorkspacesRequest,
    ) -> Result<ws::CreateStandbyWorkspacesResult, Error> {
        standby::create_standby_workspaces(self, cx, input)
    }
}

/// The minimal AWS Directory Service API, served by the same service (same store and engine).
impl ds_api::DirectoryServiceApi for Service {
    type Context = Context;

    fn connect_directory(
        &self,
        cx: &Context,
        input: ds_api::ConnectDirectoryRequest,
    ) -> Result<ds_api::ConnectDirectoryResult, ds_api::Error> {
        ds::connect_directory(self, cx, input)
    }
    fn create_directory(
        &self,
        cx: &Context,
        input: ds_api::CreateDirectoryRequest,
    ) -> Result<ds_api::CreateDirectoryResult, ds_api::Error> {
        ds::create_directory(self, cx, input)
    }
    fn create_microsoft_ad(
        &self,
        cx: &Context,
        input: ds_api::CreateMicrosoftADRequest,
    ) -> Result<ds_api::CreateMicrosoftADResult, ds_api::Error> {
        ds::create_microsoft_ad(self, cx, input)
    }
    fn delete_directory(
        &self,
        cx: &Context,
        input: ds_api::DeleteDirectoryRequest,
    ) -> Result<ds_api::DeleteDirectoryResult, ds_api::Error> {
        ds::delete_directory(self, cx, input)
    }
    fn describe_directories(
        &self,
        cx: &Context,
        input: ds_api::DescribeDirectoriesRequest,
    ) -> Result<ds_api::DescribeDirectoriesResult, ds_api::Error> {
        ds::describe_directories(self, cx, input)
    }
    fn list_tags_for_resource(
        &self,
        cx: &Context,
        input: ds_api::ListTagsForResourceRequest,
    ) -> Result<ds_api::ListTagsForResourceResult, ds_api::Error> {
        ds::list_tags_for_resource(self, cx, input)
    }
    fn add_tags_to_resource(
        &self,
        cx: &Context,
        input: ds_api::AddTagsToResourceRequest,
    ) -> Result<ds_api::AddTagsToResourceResult, ds_api::Error> {
        ds::add_tags_to_resource(self, cx, input)
    }
    fn remove_tags_from_resource(
        &self,
        cx: &Context,
        input: ds_api::RemoveTagsFromResourceRequest,
    ) -> Result<ds_api::RemoveTagsFromResourceResult, ds_api::Error> {
        ds::remove_tags_from_resource(self, cx, input)
    }
}
