//! Bundles as stored: the public (AMAZON) catalog and the accounts' custom bundles.
//!
//! Public bundles are data, not records: the same for every account and Region. The generated
//! ones have `wsb-` ids derived from the bundle's name (FNV-1a, base 36), so they are identical
//! across restarts and machines; the ids AWS publishes follow them (`catalog/bundles.json`), or
//! `--bundle-catalog` replaces the whole catalog (see [`BundleCatalog`]).

use super::catalog::BundleCatalog;
use super::images::load_owned;
use super::{pagination, Fault, Resource, Service, StoredTag, Taggable};
use localspaces_api::workspaces as ws;
use localspaces_store::{IndexEntry, Scope};
use serde::{Deserialize, Serialize};

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
    pub created: f64,
    pub updated: f64,
    pub state: ws::WorkspaceBundleState,
    pub bundle_type: ws::BundleType,
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
pub(crate) const SIZES: &[(ws::Compute, &str, u32, u32, i32, i32)] = &[
    (ws::Compute::Value, "Value", 1, 2, 80, 10),
    (ws::Compute::Standard, "Standard", 2, 4, 80, 50),
    (ws::Compute::Performance, "Performance", 2, 8, 80, 100),
    (ws::Compute::Power, "Power", 4, 16, 175, 100),
    (ws::Compute::Powerpro, "PowerPro", 8, 32, 175, 100),
    (ws::Compute::GraphicsG4dn, "Graphics.g4dn", 4, 16, 100, 100),
    (ws::Compute::GraphicsproG4dn, "GraphicsPro.g4dn", 16, 64, 100, 100),
];

/// (operating system label, OS, protocols offered, GPU sizes offered)
pub(crate) const SYSTEMS: &[(&str, ws::OperatingSystemName, &[ws::Protocol], bool)] = &[
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

/// The generated part of the built-in catalog (current systems × compute types).
pub(crate) fn generated_catalog() -> Vec<CatalogBundle> {
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
                    created: CATALOG_CREATED,
                    updated: CATALOG_UPDATED,
                    state: ws::WorkspaceBundleState::Available,
                    bundle_type: ws::BundleType::Regular,
                });
            }
        }
    }
    out
}

/// Fixed catalog timestamps (epoch seconds).
pub(crate) const CATALOG_CREATED: f64 = 1_700_000_000.0;

pub(crate) const CATALOG_UPDATED: f64 = 1_761_955_200.0;

/// The AMAZON catalog this server offers (`--bundle-catalog`, else the built-in one).
pub(crate) fn catalog(svc: &Service) -> &BundleCatalog {
    match svc.limits.bundle_catalog.as_deref() {
        Some(c) => c,
        None => BundleCatalog::builtin(),
    }
}

/// The public bundle `id`, if it is one.
pub(crate) fn find_bundle<'a>(svc: &'a Service, id: &str) -> Option<&'a CatalogBundle> {
    catalog(svc).find(id)
}

impl CatalogBundle {
    pub(crate) fn to_wire(&self) -> ws::WorkspaceBundle {
        ws::WorkspaceBundle {
            bundle_id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            // AWS answers "Amazon" although the filter value is AMAZON.
            owner: Some("Amazon".to_string()),
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
            creation_time: Some(self.created),
            last_updated_time: Some(self.updated),
            state: Some(self.state),
            bundle_type: Some(self.bundle_type),
        }
    }
}

/// Store kind of custom bundles (in the owner's scope).
pub(crate) const BUNDLE_KIND: &str = "workspace_bundle";

pub(crate) const NAME_INDEX: &str = "name";

pub(crate) const IMAGE_INDEX: &str = "image";

/// A stored custom bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BundleRec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub image_id: String,
    /// `Compute` wire value.
    pub compute: String,
    pub root_gib: i32,
    pub user_gib: i32,
    pub created: f64,
    pub updated: f64,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
}

impl Resource for BundleRec {
    const KIND: &'static str = BUNDLE_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![
            IndexEntry {
                name: NAME_INDEX.into(),
                key: self.name.clone(),
            },
            IndexEntry {
                name: IMAGE_INDEX.into(),
                key: self.image_id.clone(),
            },
        ]
    }
    fn unique() -> Vec<String> {
        vec![NAME_INDEX.into()]
    }
}

impl Taggable for BundleRec {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

impl BundleRec {
    pub(crate) fn to_wire(&self) -> ws::WorkspaceBundle {
        ws::WorkspaceBundle {
            bundle_id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            owner: Some(self.owner.clone()),
            description: Some(self.description.clone()),
            image_id: Some(self.image_id.clone()),
            root_storage: Some(ws::RootStorage {
                capacity: self.root_gib.to_string(),
            }),
            user_storage: Some(ws::UserStorage {
                capacity: self.user_gib.to_string(),
            }),
            compute_type: Some(ws::ComputeType {
                name: ws::Compute::from_wire(&self.compute),
            }),
            creation_time: Some(self.created),
            last_updated_time: Some(self.updated),
            state: Some(ws::WorkspaceBundleState::Available),
            bundle_type: Some(ws::BundleType::Regular),
        }
    }
}

/// The bundle `id` a WorkSpace of `scope` can be launched from: a public one, or one of the
/// account's custom bundles (with the OS and protocol of its image).
pub(crate) fn resolve_bundle(svc: &Service, scope: &Scope, id: &str) -> Result<Option<CatalogBundle>, Fault> {
    if let Some(b) = find_bundle(svc, id) {
        return Ok(Some(b.clone()));
    }
    let Some(b) = svc.load::<BundleRec>(scope, id)? else {
        return Ok(None);
    };
    let Some(image) = load_owned(svc, scope, &b.rec.image_id)? else {
        return Ok(None);
    };
    let (Some(compute), Some(os), Some(protocol)) = (
        ws::Compute::from_wire(&b.rec.compute),
        ws::OperatingSystemName::from_wire(&image.rec.os_name),
        ws::Protocol::from_wire(&image.rec.protocol),
    ) else {
        return Ok(None);
    };
    Ok(Some(CatalogBundle {
        id: b.rec.id,
        image_id: b.rec.image_id,
        name: b.rec.name,
        description: b.rec.description,
        compute,
        root_gib: b.rec.root_gib,
        user_gib: b.rec.user_gib,
        os,
        protocol,
        created: b.rec.created,
        updated: b.rec.updated,
        state: ws::WorkspaceBundleState::Available,
        bundle_type: ws::BundleType::Regular,
    }))
}

/// The image of custom bundle `id` of `scope` (`None`: a public bundle, or none).
pub(crate) fn custom_bundle_image(svc: &Service, scope: &Scope, id: &str) -> Result<Option<String>, Fault> {
    if find_bundle(svc, id).is_some() {
        return Ok(None);
    }
    Ok(svc.load::<BundleRec>(scope, id)?.map(|b| b.rec.image_id))
}

/// Whether a custom bundle of `scope` uses the image `image_id`.
pub(crate) fn image_in_use(svc: &Service, scope: &Scope, image_id: &str) -> Result<bool, Fault> {
    Ok(svc.count::<BundleRec>(
        scope,
        Some(IndexEntry {
            name: IMAGE_INDEX.into(),
            key: image_id.to_string(),
        }),
    )? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_stable_and_unique() {
        let b = BundleCatalog::builtin().bundles();
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
        assert!(BundleCatalog::builtin().find(&b[0].id).is_some());
    }
}
