//! The AMAZON bundle catalog and DescribeWorkspaceBundles.

use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, not_implemented, Error, Operation};

pub fn describe_workspace_bundles(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceBundlesRequest,
) -> Result<ws::DescribeWorkspaceBundlesResult, Error> {
    let _ = (svc, cx, input);
    Err(not_implemented(Operation::DescribeWorkspaceBundles))
}
