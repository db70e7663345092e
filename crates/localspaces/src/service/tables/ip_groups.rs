//! IP access control groups as stored.

use super::{Resource, StoredTag, Taggable};
use localspaces_api::workspaces::{IpRuleItem, WorkspacesIpGroup};
use localspaces_store::IndexEntry;
use serde::{Deserialize, Serialize};

/// A stored IP access control group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IpGroup {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    pub rules: Vec<IpRule>,
    #[serde(default)]
    pub tags: Vec<StoredTag>,
    pub created: f64,
}

/// One rule of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRule {
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

impl Resource for IpGroup {
    const KIND: &'static str = "ipgroup";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry {
            name: "name".into(),
            key: self.name.clone(),
        }]
    }
    fn unique() -> Vec<String> {
        vec!["name".into()]
    }
}

impl Taggable for IpGroup {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag> {
        &mut self.tags
    }
    fn tags(&self) -> &[StoredTag] {
        &self.tags
    }
}

impl IpGroup {
    pub(crate) fn to_wire(&self) -> WorkspacesIpGroup {
        WorkspacesIpGroup {
            group_id: Some(self.id.clone()),
            group_name: Some(self.name.clone()),
            group_desc: self.desc.clone(),
            user_rules: Some(
                self.rules
                    .iter()
                    .map(|r| IpRuleItem {
                        ip_rule: Some(r.rule.clone()),
                        rule_desc: r.desc.clone(),
                    })
                    .collect(),
            ),
        }
    }
}
