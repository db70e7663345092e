//! The behaviour: one typed handler per operation, grouped in files named after the API's
//! resource families. No HTTP types here; handlers read and write through the store.

mod ids;
mod ip_groups;
mod pagination;
mod records;
mod tags;

pub use records::Limits;

use crate::clock::Clock;
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
    /// Serializes read-check-write sequences (quotas, uniqueness) within this process.
    /// Conditional writes (`Expect`) keep them correct across processes too.
    write: Mutex<()>,
}

impl Service {
    /// A service over `store`, reading time from `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, limits: Limits) -> Self {
        Service {
            store,
            clock,
            limits,
            write: Mutex::new(()),
        }
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
}

/// The minimal AWS Directory Service API on the same port. Every operation answers
/// NotImplemented (naming it) until the directory family lands.
pub struct DirectoryService;

impl localspaces_api::ds::DirectoryServiceApi for DirectoryService {
    type Context = Context;
}
