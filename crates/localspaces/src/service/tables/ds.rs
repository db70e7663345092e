//! AWS Directory Service directories as stored.

use super::{pagination, Fault, Resource, Service, StoredTag};
use localspaces_api::ds as ds_api;
use localspaces_store::Scope;
use serde::{Deserialize, Serialize};

/// Store kind of Directory Service directories.
pub(crate) const DS_KIND: &str = "ds_directory";

/// A stored Directory Service directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DsDirectory {
    pub id: String,
    pub name: String,
    pub short_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `SimpleAD`, `MicrosoftAD` or `ADConnector`.
    pub dtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub customer_dns_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_user_name: Option<String>,
    /// A `DirectoryStage` wire value.
    pub stage: String,
    pub launch_time: f64,
    pub stage_updated: f64,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
}

impl Resource for DsDirectory {
    const KIND: &'static str = DS_KIND;
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

impl DsDirectory {
    /// Two private addresses "inside" the directory's subnets (made up from the id).
    pub fn dns_ips(&self) -> Vec<String> {
        if self.dtype == "ADConnector" && !self.customer_dns_ips.is_empty() {
            return self.customer_dns_ips.clone();
        }
        let h = pagination::fingerprint([self.id.as_str()]);
        let (a, b) = ((h >> 8) % 250 + 2, h % 250 + 2);
        vec![format!("10.0.{a}.{b}"), format!("10.0.{}.{b}", (a + 1) % 250 + 2)]
    }

    pub(crate) fn security_group(&self) -> String {
        format!("sg-0{:016x}", pagination::fingerprint([self.id.as_str(), "sg"]))
    }

    pub(crate) fn zones(region: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{region}{}", char::from(b'a' + (i % 26) as u8)))
            .collect()
    }

    pub(crate) fn to_wire(&self, region: &str) -> ds_api::DirectoryDescription {
        let zones = Self::zones(region, self.subnet_ids.len());
        let (vpc_settings, connect_settings) = if self.dtype == "ADConnector" {
            let c = ds_api::DirectoryConnectSettingsDescription {
                vpc_id: Some(self.vpc_id.clone()),
                subnet_ids: Some(self.subnet_ids.clone()),
                customer_user_name: self.customer_user_name.clone(),
                security_group_id: Some(self.security_group()),
                availability_zones: Some(zones),
                connect_ips: Some(self.dns_ips()),
                ..Default::default()
            };
            (None, Some(c))
        } else {
            let v = ds_api::DirectoryVpcSettingsDescription {
                vpc_id: Some(self.vpc_id.clone()),
                subnet_ids: Some(self.subnet_ids.clone()),
                security_group_id: Some(self.security_group()),
                availability_zones: Some(zones),
            };
            (Some(v), None)
        };
        ds_api::DirectoryDescription {
            directory_id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            short_name: Some(self.short_name.clone()),
            description: self.description.clone(),
            alias: Some(self.id.clone()),
            access_url: Some(format!("{}.awsapps.com", self.id)),
            dns_ip_addrs: Some(self.dns_ips()),
            stage: ds_api::DirectoryStage::from_wire(&self.stage),
            r#type: ds_api::DirectoryType::from_wire(&self.dtype),
            size: self.size.as_deref().and_then(ds_api::DirectorySize::from_wire),
            edition: self
                .edition
                .as_deref()
                .and_then(ds_api::DirectoryEdition::from_wire),
            launch_time: Some(self.launch_time),
            stage_last_updated_date_time: Some(self.stage_updated),
            vpc_settings,
            connect_settings,
            sso_enabled: Some(false),
            desired_number_of_domain_controllers: (self.dtype == "MicrosoftAD").then_some(2),
            network_type: Some(ds_api::NetworkType::IPv4),
            ..Default::default()
        }
    }
}

/// The directory `id` of `scope` as Directory Service shows it (for registration).
pub(crate) fn ds_directory(svc: &Service, scope: &Scope, id: &str) -> Result<Option<DsDirectory>, Fault> {
    Ok(svc.load::<DsDirectory>(scope, id)?.map(|d| d.rec))
}
