//! The AMAZON bundle catalog and DescribeWorkspaceBundles.
//!
//! Public bundles are data, not records: the same for every account and Region, with `wsb-`
//! ids derived from the bundle's name (FNV-1a, base 36), so they are identical across
//! restarts and machines.

use super::pagination;
use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use std::sync::LazyLock;

/// One public bundle.
#[derive(Debug, Clone)]
pub(crate) struct CatalogBundle {
    pub id: String,
    pub image_id: String,
    pub name: String,
    pub description: String,
    pub compute: ws::Compute,
    pub root_gib: i32,
    pub user_gib: i32,
    pub os: ws::OperatingSystemName,
    pub protocol: ws::Protocol,
}

/// `prefix` + 9 base-36 characters derived from `seed`.
pub(crate) fn stable_id(prefix: &str, seed: &str) -> String {
    let mut h = pagination::fingerprint([seed]);
    let mut s = String::from(prefix);
    for _ in 0..9 {
        let d = (h % 36) as u8;
        s.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
        h /= 36;
    }
    s
}

/// (compute, label, vCPU, GiB memory, root GiB, user GiB)
const SIZES: &[(ws::Compute, &str, u32, u32, i32, i32)] = &[
    (ws::Compute::Value, "Value", 1, 2, 80, 10),
    (ws::Compute::Standard, "Standard", 2, 4, 80, 50),
    (ws::Compute::Performance, "Performance", 2, 8, 80, 100),
    (ws::Compute::Power, "Power", 4, 16, 175, 100),
    (ws::Compute::Powerpro, "PowerPro", 8, 32, 175, 100),
    (ws::Compute::GraphicsG4dn, "Graphics.g4dn", 4, 16, 100, 100),
    (ws::Compute::GraphicsproG4dn, "GraphicsPro.g4dn", 16, 64, 100, 100),
];

/// (operating system label, OS, protocols offered, GPU sizes offered)
const SYSTEMS: &[(&str, ws::OperatingSystemName, &[ws::Protocol], bool)] = &[
    (
        "Windows 10 (Server 2022 based)",
        ws::OperatingSystemName::WindowsServer2022,
        &[ws::Protocol::Pcoip, ws::Protocol::Wsp],
        true,
    ),
    (
        "Windows 11",
        ws::OperatingSystemName::Windows11,
        &[ws::Protocol::Wsp],
        false,
    ),
    (
        "Amazon Linux 2",
        ws::OperatingSystemName::AmazonLinux2,
        &[ws::Protocol::Wsp],
        false,
    ),
    (
        "Ubuntu 22.04",
        ws::OperatingSystemName::Ubuntu2204,
        &[ws::Protocol::Wsp],
        false,
    ),
];

static CATALOG: LazyLock<Vec<CatalogBundle>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for &(os_label, os, protocols, gpu) in SYSTEMS {
        for &(compute, size, cpu, mem, root, user) in SIZES {
            let is_gpu = matches!(compute, ws::Compute::GraphicsG4dn | ws::Compute::GraphicsproG4dn);
            if is_gpu && !gpu {
                continue;
            }
            if compute == ws::Compute::Value && os == ws::OperatingSystemName::Windows11 {
                continue; // Windows 11 does not support Value (doc)
            }
            for &protocol in protocols {
                let suffix = if protocols.len() > 1 && protocol == ws::Protocol::Wsp {
                    " (WSP)"
                } else {
                    ""
                };
                let name = format!("{size} with {os_label}{suffix}");
                out.push(CatalogBundle {
                    id: stable_id("wsb-", &name),
                    image_id: stable_id("wsi-", &format!("{os_label}{suffix}")),
                    description: format!(
                        "{os_label}{suffix} with {cpu} vCPU, {mem} GiB memory, {user} GB user storage"
                    ),
                    name,
                    compute,
                    root_gib: root,
                    user_gib: user,
                    os,
                    protocol,
                });
            }
        }
    }
    out
});

/// Fixed catalog timestamps (epoch seconds).
const CATALOG_CREATED: f64 = 1_700_000_000.0;
const CATALOG_UPDATED: f64 = 1_761_955_200.0;

/// The public bundle `id`, if it is one.
pub(crate) fn find_bundle(id: &str) -> Option<&'static CatalogBundle> {
    CATALOG.iter().find(|b| b.id == id)
}

/// Every public bundle.
#[cfg(test)]
pub(crate) fn catalog() -> &'static [CatalogBundle] {
    &CATALOG
}

impl CatalogBundle {
    fn to_wire(&self) -> ws::WorkspaceBundle {
        ws::WorkspaceBundle {
            bundle_id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            owner: Some("AMAZON".to_string()),
            description: Some(self.description.clone()),
            image_id: Some(self.image_id.clone()),
            root_storage: Some(ws::RootStorage {
                capacity: self.root_gib.to_string(),
            }),
            user_storage: Some(ws::UserStorage {
                capacity: self.user_gib.to_string(),
            }),
            compute_type: Some(ws::ComputeType {
                name: Some(self.compute),
            }),
            creation_time: Some(CATALOG_CREATED),
            last_updated_time: Some(CATALOG_UPDATED),
            state: Some(ws::WorkspaceBundleState::Available),
            bundle_type: Some(ws::BundleType::Regular),
        }
    }
}

/// Server page size of DescribeWorkspaceBundles (no page-size member in the model).
const PAGE: usize = 25;

pub fn describe_workspace_bundles(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceBundlesRequest,
) -> Result<ws::DescribeWorkspaceBundlesResult, Error> {
    const OP: &str = "DescribeWorkspaceBundles";
    let _ = (svc, cx);
    if input.bundle_ids.is_some() && input.owner.is_some() {
        return Err(Error::new(
            ErrorCode::InvalidParameterValuesException,
            "You can filter bundles by BundleIds or by Owner, not both.",
        ));
    }
    let ids = input.bundle_ids.unwrap_or_default();
    let owner = input.owner.clone().unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str).chain([owner.as_str()]));
    let start = match &input.next_token {
        Some(t) => pagination::decode(t, OP, filter).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidParameterValuesException,
                "The pagination token is invalid.",
            )
        })? as usize,
        None => 0,
    };
    // Public bundles are visible to everyone; custom bundles (owned by the caller) arrive
    // with the image family, so an Owner other than AMAZON (or none) lists none yet.
    let matching: Vec<&CatalogBundle> = if !ids.is_empty() {
        CATALOG.iter().filter(|b| ids.contains(&b.id)).collect()
    } else if owner == "AMAZON" {
        CATALOG.iter().collect()
    } else {
        Vec::new()
    };
    let page: Vec<ws::WorkspaceBundle> = matching
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|b| b.to_wire())
        .collect();
    let next = start + page.len();
    let next_token = (next < matching.len()).then(|| pagination::encode(OP, filter, next as u64));
    Ok(ws::DescribeWorkspaceBundlesResult {
        bundles: Some(page),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_stable_and_unique() {
        let b = catalog();
        assert!(b.len() > 20);
        let mut ids: Vec<&str> = b.iter().map(|b| b.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), b.len());
        // Derived from the name only: fixed across runs and machines.
        assert_eq!(
            stable_id("wsb-", "Standard with Amazon Linux 2"),
            stable_id("wsb-", "Standard with Amazon Linux 2")
        );
        assert!(b.iter().all(|x| x.id.len() == 13 && x.id.starts_with("wsb-")));
        assert!(find_bundle(&b[0].id).is_some());
    }
}
