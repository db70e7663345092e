//! Configurable quotas (per account and Region), defaulting to AWS's.

/// Configurable quotas (per account and Region), defaulting to AWS's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// IP access control groups (`ip_groups`).
    pub ip_groups: u64,
    /// Rules per IP access control group (`rules_per_ip_group`).
    pub rules_per_ip_group: usize,
    /// Tags per resource (`tags_per_resource`).
    pub tags_per_resource: usize,
    /// WorkSpaces (`workspaces`). AWS gives new accounts 1 and raises it on request; the
    /// default here is a raised one so that test suites can create several.
    pub workspaces: u64,
    /// Whether accounts are BYOL-eligible unless the admin route says otherwise (not a
    /// quota: `--byol-eligible`).
    pub byol_eligible: bool,
    /// Directory Service Simple AD directories (`simple_ad`).
    pub simple_ad: u64,
    /// Directory Service AD Connectors (`ad_connector`).
    pub ad_connector: u64,
    /// Directory Service AWS Managed Microsoft AD directories (`microsoft_ad`).
    pub microsoft_ad: u64,
    /// The AMAZON bundle catalog loaded with `--bundle-catalog` (not a quota); `None` serves
    /// the built-in catalog.
    pub bundle_catalog: Option<std::sync::Arc<super::catalog::BundleCatalog>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ip_groups: 100,
            rules_per_ip_group: 10,
            tags_per_resource: 50,
            workspaces: 1000,
            byol_eligible: false,
            simple_ad: 10,
            ad_connector: 10,
            microsoft_ad: 20,
            bundle_catalog: None,
        }
    }
}

impl Limits {
    /// Applies `name=value` overrides.
    pub fn with_overrides(mut self, overrides: &[String]) -> Result<Self, String> {
        for o in overrides {
            let (name, value) = o
                .split_once('=')
                .ok_or_else(|| format!("quota '{o}' is not name=value"))?;
            let n: u64 = value
                .trim()
                .parse()
                .map_err(|_| format!("quota '{o}': value is not a number"))?;
            let small = usize::try_from(n).map_err(|_| format!("quota '{o}' is too large"))?;
            match name.trim() {
                "ip_groups" => self.ip_groups = n,
                "rules_per_ip_group" => self.rules_per_ip_group = small,
                "tags_per_resource" => self.tags_per_resource = small,
                "workspaces" => self.workspaces = n,
                "simple_ad" => self.simple_ad = n,
                "ad_connector" => self.ad_connector = n,
                "microsoft_ad" => self.microsoft_ad = n,
                other => return Err(format!("unknown quota '{other}'")),
            }
        }
        Ok(self)
    }

    /// The per-Region quota of Directory Service directories of type `dtype`
    /// (`SimpleAD`, `MicrosoftAD` or `ADConnector`).
    pub fn ds_quota(&self, dtype: &str) -> u64 {
        match dtype {
            "SimpleAD" => self.simple_ad,
            "MicrosoftAD" => self.microsoft_ad,
            _ => self.ad_connector,
        }
    }
}
