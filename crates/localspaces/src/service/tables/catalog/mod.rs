//! The AMAZON bundle catalog: the generated current-generation catalog followed by the public
//! bundle ids AWS has published (`bundles.json`, each with its source), or — with
//! `--bundle-catalog FILE` — exactly the bundles of a `describe-workspace-bundles --owner
//! AMAZON` answer saved from a real account. Served the same in every Region.

use super::bundles::{generated_catalog, stable_id, CatalogBundle, CATALOG_CREATED, CATALOG_UPDATED};
use localspaces_api::workspaces as ws;
use serde::Deserialize;
use serde_json::Value as Json;
use std::path::Path;
use std::sync::LazyLock;

/// The public bundles one server offers, in listing order (a by-name lookup takes the first).
#[derive(Debug, Clone)]
pub struct BundleCatalog {
    bundles: Vec<CatalogBundle>,
}

impl PartialEq for BundleCatalog {
    fn eq(&self, other: &Self) -> bool {
        self.bundles.len() == other.bundles.len()
            && self
                .bundles
                .iter()
                .zip(&other.bundles)
                .all(|(a, b)| a.id == b.id && a.name == b.name && a.image_id == b.image_id)
    }
}

impl Eq for BundleCatalog {}

impl BundleCatalog {
    /// Every bundle, in listing order.
    pub(crate) fn bundles(&self) -> &[CatalogBundle] {
        &self.bundles
    }

    /// The bundle `id`, if the catalog has it.
    pub(crate) fn find(&self, id: &str) -> Option<&CatalogBundle> {
        self.bundles.iter().find(|b| b.id == id)
    }

    /// The built-in catalog: the generated bundles, then the published ids.
    pub fn builtin() -> &'static BundleCatalog {
        static BUILTIN: LazyLock<BundleCatalog> = LazyLock::new(|| {
            let mut bundles = generated_catalog();
            for p in published() {
                if !bundles.iter().any(|b| b.id == p.id) {
                    bundles.push(p);
                }
            }
            BundleCatalog { bundles }
        });
        &BUILTIN
    }

    /// Reads a catalog file: the JSON that `aws workspaces describe-workspace-bundles --owner
    /// AMAZON` prints (`{"Bundles": [...]}`, or the bare list). Errors name the file, the
    /// entry and the member at fault.
    pub fn load(path: &Path) -> Result<BundleCatalog, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the text of a catalog file (see [`BundleCatalog::load`]).
    pub fn parse(text: &str) -> Result<BundleCatalog, String> {
        let doc: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let list = match &doc {
            Json::Array(a) => a,
            Json::Object(o) => match o.get("Bundles") {
                Some(Json::Array(a)) => a,
                _ => return Err("expected an object with a \"Bundles\" list (the output of describe-workspace-bundles) or a list of bundles".into()),
            },
            _ => return Err("expected an object with a \"Bundles\" list or a list of bundles".into()),
        };
        if list.is_empty() {
            return Err("the catalog has no bundles".into());
        }
        let mut bundles: Vec<CatalogBundle> = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let b = parse_bundle(entry).map_err(|e| format!("Bundles[{i}]: {e}"))?;
            if bundles.iter().any(|o| o.id == b.id) {
                return Err(format!("Bundles[{i}]: BundleId {} appears twice", b.id));
            }
            bundles.push(b);
        }
        Ok(BundleCatalog { bundles })
    }
}

/// One entry of `bundles.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Published {
    bundle_id: String,
    name: String,
    compute_type: String,
    root_storage: i32,
    user_storage: i32,
    operating_system: String,
    protocol: String,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PublishedFile {
    sources: std::collections::BTreeMap<String, String>,
    bundles: Vec<Published>,
}

/// The published bundles of `bundles.json` (checked by the unit tests below).
fn published() -> Vec<CatalogBundle> {
    let file: PublishedFile = match serde_json::from_str(include_str!("bundles.json")) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "the built-in bundles.json is not readable");
            return Vec::new();
        }
    };
    file.bundles
        .into_iter()
        .filter(|p| p.sources.iter().all(|s| file.sources.contains_key(s)))
        .filter_map(|p| {
            let compute = ws::Compute::from_wire(&p.compute_type)?;
            Some(CatalogBundle {
                description: describe(&p.name, compute, p.user_storage),
                image_id: stable_id("wsi-", &p.name),
                id: p.bundle_id,
                name: p.name,
                compute,
                root_gib: p.root_storage,
                user_gib: p.user_storage,
                os: ws::OperatingSystemName::from_wire(&p.operating_system)?,
                protocol: ws::Protocol::from_wire(&p.protocol)?,
                created: CATALOG_CREATED,
                updated: CATALOG_UPDATED,
                state: ws::WorkspaceBundleState::Available,
                bundle_type: ws::BundleType::Regular,
            })
        })
        .collect()
}

/// A description in AWS's style for a published bundle.
fn describe(name: &str, compute: ws::Compute, user_gib: i32) -> String {
    let os = name.split_once(" with ").map_or(name, |(_, os)| os);
    format!("{os} with {} user storage ({} GB)", compute.as_str(), user_gib)
}

fn str_member<'a>(entry: &'a Json, name: &str) -> Result<Option<&'a str>, String> {
    match entry.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

fn required<'a>(entry: &'a Json, name: &str) -> Result<&'a str, String> {
    str_member(entry, name)?.ok_or_else(|| format!("{name} is missing"))
}

/// `RootStorage`/`UserStorage`: `{"Capacity": "80"}` (a decimal string, as AWS sends it).
fn capacity(entry: &Json, name: &str, required: bool) -> Result<Option<i32>, String> {
    let Some(v) = entry.get(name).filter(|v| !v.is_null()) else {
        return if required {
            Err(format!("{name} is missing"))
        } else {
            Ok(None)
        };
    };
    let raw = match v.get("Capacity") {
        Some(Json::String(s)) => s.trim().to_string(),
        Some(Json::Number(n)) => n.to_string(),
        _ => return Err(format!("{name}.Capacity is missing")),
    };
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| format!("{name}.Capacity '{raw}' is not a whole number of GiB"))
}

/// A timestamp as the AWS CLI prints it (ISO 8601) or as epoch seconds.
fn timestamp(entry: &Json, name: &str) -> Result<Option<f64>, String> {
    match entry.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{name} is not a time")),
        Some(Json::String(s)) => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Iso8601::DEFAULT)
                .map(|t| Some(t.unix_timestamp_nanos() as f64 / 1e9))
                .map_err(|e| format!("{name} '{s}' is not an ISO 8601 time: {e}"))
        }
        Some(_) => Err(format!("{name} is not a time")),
    }
}

fn parse_bundle(entry: &Json) -> Result<CatalogBundle, String> {
    if !entry.is_object() {
        return Err("a bundle must be an object".into());
    }
    let id = required(entry, "BundleId")?;
    let well_formed = id.strip_prefix("wsb-").is_some_and(|rest| {
        (8..=63).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    if !well_formed {
        return Err(format!(
            "BundleId '{id}' is not a bundle id (wsb- and 8 to 63 of [0-9a-z])"
        ));
    }
    let name = required(entry, "Name")?;
    if name.is_empty() {
        return Err(format!("{id}: Name is empty"));
    }
    if let Some(owner) = str_member(entry, "Owner")? {
        if !owner.eq_ignore_ascii_case("amazon") {
            return Err(format!(
                "{id}: Owner '{owner}' is not Amazon (the file must list public bundles: --owner AMAZON)"
            ));
        }
    }
    let compute_name = entry
        .get("ComputeType")
        .and_then(|c| c.get("Name"))
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{id}: ComputeType.Name is missing"))?;
    let compute = ws::Compute::from_wire(compute_name)
        .ok_or_else(|| format!("{id}: ComputeType.Name '{compute_name}' is not a WorkSpaces compute type"))?;
    let user_gib = capacity(entry, "UserStorage", true)
        .map_err(|e| format!("{id}: {e}"))?
        .unwrap_or(10);
    let root_gib = capacity(entry, "RootStorage", false)
        .map_err(|e| format!("{id}: {e}"))?
        .unwrap_or(80);
    let image_id = match str_member(entry, "ImageId")? {
        Some(i) if i.starts_with("wsi-") && i.len() > 4 => i.to_string(),
        Some(i) => return Err(format!("{id}: ImageId '{i}' is not an image id (wsi-…)")),
        None => stable_id("wsi-", name),
    };
    let state = match str_member(entry, "State")? {
        Some(s) => ws::WorkspaceBundleState::from_wire(s)
            .ok_or_else(|| format!("{id}: State '{s}' is not a bundle state"))?,
        None => ws::WorkspaceBundleState::Available,
    };
    let bundle_type = match str_member(entry, "BundleType")? {
        Some(s) => ws::BundleType::from_wire(s)
            .ok_or_else(|| format!("{id}: BundleType '{s}' is not a bundle type"))?,
        None => ws::BundleType::Regular,
    };
    let description = str_member(entry, "Description")?.unwrap_or_default().to_string();
    let created = timestamp(entry, "CreationTime").map_err(|e| format!("{id}: {e}"))?;
    let updated = timestamp(entry, "LastUpdatedTime").map_err(|e| format!("{id}: {e}"))?;
    let text = format!("{name} {description}");
    let os = os_from_text(&text);
    Ok(CatalogBundle {
        id: id.to_string(),
        image_id,
        name: name.to_string(),
        description,
        compute,
        root_gib,
        user_gib,
        os,
        protocol: protocol_from_text(&text, os),
        created: created.or(updated).unwrap_or(CATALOG_CREATED),
        updated: updated.or(created).unwrap_or(CATALOG_UPDATED),
        state,
        bundle_type,
    })
}

/// The operating system a bundle's name and description speak of (AWS's bundle answer does
/// not carry it; WorkSpaces launched from the bundle report it).
fn os_from_text(text: &str) -> ws::OperatingSystemName {
    use ws::OperatingSystemName as Os;
    let has = |s: &str| text.contains(s);
    let table: &[(&[&str], Os)] = &[
        (&["Windows 11"], Os::Windows11),
        (&["Server 2025"], Os::WindowsServer2025),
        (&["Server 2022"], Os::WindowsServer2022),
        (&["Server 2019"], Os::WindowsServer2019),
        (&["Server 2016"], Os::WindowsServer2016),
        (&["Windows 10"], Os::Windows10),
        (&["Windows 7"], Os::Windows7),
        (&["Amazon Linux 2"], Os::AmazonLinux2),
        (&["Ubuntu 26.04"], Os::Ubuntu2604),
        (&["Ubuntu 24.04"], Os::Ubuntu2404),
        (&["Ubuntu 22.04"], Os::Ubuntu2204),
        (&["Ubuntu 20.04"], Os::Ubuntu2004),
        (&["Ubuntu 18.04"], Os::Ubuntu1804),
        (&["Rocky Linux 10"], Os::Rocky10),
        (&["Rocky Linux 9"], Os::Rocky9),
        (&["Rocky Linux 8"], Os::Rocky8),
        (&["Red Hat Enterprise Linux 10", "RHEL 10"], Os::Rhel10),
        (&["Red Hat Enterprise Linux 9", "RHEL 9"], Os::Rhel9),
        (&["Red Hat Enterprise Linux 8", "RHEL 8"], Os::Rhel8),
    ];
    table
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| has(n)))
        .map_or(Os::Unknown, |(_, os)| *os)
}

/// The streaming protocol: as the name says (`(WSP)`, `(PCoIP)`, `DCV`), else WSP for the
/// systems that only stream over it, else PCoIP.
fn protocol_from_text(text: &str, os: ws::OperatingSystemName) -> ws::Protocol {
    use ws::OperatingSystemName as Os;
    if text.contains("(PCoIP)") || text.contains("PCoIP") {
        return ws::Protocol::Pcoip;
    }
    if text.contains("(WSP)") || text.contains("DCV") {
        return ws::Protocol::Wsp;
    }
    match os {
        Os::Windows7 | Os::Windows10 | Os::WindowsServer2016 | Os::WindowsServer2019 | Os::AmazonLinux2 => {
            ws::Protocol::Pcoip
        }
        _ => ws::Protocol::Wsp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ids_all_load_with_their_sources() {
        let file: PublishedFile = serde_json::from_str(include_str!("bundles.json")).expect("bundles.json");
        assert_eq!(published().len(), file.bundles.len(), "every entry loads");
        for p in &file.bundles {
            assert!(!p.sources.is_empty(), "{} cites a source", p.bundle_id);
        }
        let cat = BundleCatalog::builtin();
        for id in [
            "wsb-bh8rsxt14",
            "wsb-b0s22j3d7",
            "wsb-df76rqys9",
            "wsb-clj85qzj1",
            "wsb-gm4d5tx2v",
            "wsb-1pzkp0bx4",
            "wsb-2bs6k5lgn",
            "wsb-03gyjnfyy",
        ] {
            assert!(cat.find(id).is_some(), "{id} is in the catalog");
        }
        let b = cat.find("wsb-b0s22j3d7").expect("b0s22j3d7");
        assert_eq!(
            (b.name.as_str(), b.compute, b.root_gib, b.user_gib),
            ("Performance with Windows 7", ws::Compute::Performance, 80, 100)
        );
        // Terraform's by-name lookup takes the first match: the acceptance test's id.
        let first = cat
            .bundles()
            .iter()
            .find(|b| b.name == "Value with Windows 10 and Office 2016");
        assert_eq!(first.map(|b| b.id.as_str()), Some("wsb-df76rqys9"));
    }

    #[test]
    fn cli_output_parses() {
        let text = r#"{"Bundles": [{"BundleId": "wsb-0zsvgp8fc", "Name": "Standard with Ubuntu 22.04",
            "Owner": "Amazon", "Description": "Ubuntu 22.04 (WSP) 2 vCPU 4GiB Memory 50GB Storage",
            "ImageId": "wsi-abcdefghi", "RootStorage": {"Capacity": "80"}, "UserStorage": {"Capacity": "50"},
            "ComputeType": {"Name": "STANDARD"}, "LastUpdatedTime": "2024-05-01T10:20:30.123000+00:00",
            "CreationTime": "2023-01-02T03:04:05+00:00", "State": "AVAILABLE", "BundleType": "REGULAR"}]}"#;
        let cat = BundleCatalog::parse(text).expect("parses");
        let b = &cat.bundles()[0];
        assert_eq!(b.os, ws::OperatingSystemName::Ubuntu2204);
        assert_eq!(b.protocol, ws::Protocol::Wsp);
        assert_eq!((b.root_gib, b.user_gib), (80, 50));
        assert_eq!(b.created, 1_672_628_645.0);
    }

    #[test]
    fn bad_files_name_the_fault() {
        let cases = [
            ("[]", "no bundles"),
            ("{}", "\"Bundles\" list"),
            ("{\"Bundles\": [{\"Name\": \"x\"}]}", "Bundles[0]: BundleId is missing"),
            ("[{\"BundleId\": \"wsb-UPPER1234\", \"Name\": \"x\"}]", "is not a bundle id"),
            (
                "[{\"BundleId\": \"wsb-abcdefgh1\", \"Name\": \"x\", \"ComputeType\": {\"Name\": \"HUGE\"}, \"UserStorage\": {\"Capacity\": \"10\"}}]",
                "'HUGE' is not a WorkSpaces compute type",
            ),
            (
                "[{\"BundleId\": \"wsb-abcdefgh1\", \"Name\": \"x\", \"Owner\": \"123456789012\", \"ComputeType\": {\"Name\": \"VALUE\"}}]",
                "is not Amazon",
            ),
            (
                "[{\"BundleId\": \"wsb-abcdefgh1\", \"Name\": \"x\", \"ComputeType\": {\"Name\": \"VALUE\"}, \"UserStorage\": {\"Capacity\": \"ten\"}}]",
                "UserStorage.Capacity 'ten'",
            ),
            (
                "[{\"BundleId\": \"wsb-abcdefgh1\", \"Name\": \"x\", \"ComputeType\": {\"Name\": \"VALUE\"}, \"UserStorage\": {\"Capacity\": \"10\"}}, {\"BundleId\": \"wsb-abcdefgh1\", \"Name\": \"y\", \"ComputeType\": {\"Name\": \"VALUE\"}, \"UserStorage\": {\"Capacity\": \"10\"}}]",
                "appears twice",
            ),
            ("not json", "not JSON"),
        ];
        for (text, want) in cases {
            let err = BundleCatalog::parse(text).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
