//! Per-directory client settings as stored: client branding and the Amazon Connect client
//! add-in. Both are keyed by directory id and remember the `seq` of the registration they
//! belong to, so a directory registered again starts without them.

use super::Resource;
use localspaces_api::workspaces as ws;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stored logo: what its URL is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Logo {
    /// FNV-1a of the bytes, hex.
    pub digest: String,
    pub size: usize,
}

/// One platform's imported branding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PlatformBranding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo2x: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo3x: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgot_password_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_message: Option<Vec<(String, String)>>,
}

/// A directory's client branding (id = directory id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Branding {
    pub id: String,
    /// `seq` of the directory registration this belongs to.
    pub directory_seq: u64,
    /// By `ClientDeviceType` wire name.
    pub platforms: BTreeMap<String, PlatformBranding>,
}

impl Resource for Branding {
    const KIND: &'static str = "client_branding";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

/// A directory's Amazon Connect client add-in (id = directory id: at most one each).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AddIn {
    pub id: String,
    pub directory_seq: u64,
    pub add_in_id: String,
    pub name: String,
    pub url: String,
}

impl Resource for AddIn {
    const KIND: &'static str = "connect_client_add_in";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

impl AddIn {
    pub(crate) fn wire(&self) -> ws::ConnectClientAddIn {
        ws::ConnectClientAddIn {
            add_in_id: Some(self.add_in_id.clone()),
            name: Some(self.name.clone()),
            resource_id: Some(self.id.clone()),
            url: Some(self.url.clone()),
        }
    }
}
