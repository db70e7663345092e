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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ip_groups: 100,
            rules_per_ip_group: 10,
            tags_per_resource: 50,
            workspaces: 1000,
            byol_eligible: false,
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
                other => return Err(format!("unknown quota '{other}'")),
            }
        }
        Ok(self)
    }
}
