//! Tags as stored on every taggable record, and the rules for changing them.

use super::errors::invalid;
use super::Resource;
use localspaces_api::workspaces::{Error, ErrorCode, Tag};
use serde::{Deserialize, Serialize};

/// A tag as stored (the model's `Tag`: value optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl StoredTag {
    /// To the wire shape.
    pub fn to_wire(&self) -> Tag {
        Tag {
            key: self.key.clone(),
            value: self.value.clone(),
        }
    }
    /// From the wire shape.
    pub fn from_wire(t: &Tag) -> Self {
        StoredTag {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

/// A resource that carries tags.
pub trait Taggable: Resource {
    fn tags_mut(&mut self) -> &mut Vec<StoredTag>;
    fn tags(&self) -> &[StoredTag];
}

/// Merges `add` into `tags` (upsert by key, case-sensitive), enforcing the per-resource limit.
pub fn merge_tags(tags: &mut Vec<StoredTag>, add: &[Tag], limit: usize) -> Result<(), Error> {
    check_tag_keys(add)?;
    let mut merged = tags.clone();
    for t in add {
        match merged.iter_mut().find(|x| x.key == t.key) {
            Some(x) => x.value = t.value.clone(),
            None => merged.push(StoredTag::from_wire(t)),
        }
    }
    if merged.len() > limit {
        return Err(Error::new(
            ErrorCode::ResourceLimitExceededException,
            format!(
                "A resource can have at most {limit} tags; this request would give it {}.",
                merged.len()
            ),
        ));
    }
    *tags = merged;
    Ok(())
}

/// The stored tags of a new resource created with `tags` (checked and limited as by
/// CreateTags).
pub fn new_tags(tags: Option<&[Tag]>, limit: usize) -> Result<Vec<StoredTag>, Error> {
    let mut out = Vec::new();
    merge_tags(&mut out, tags.unwrap_or_default(), limit)?;
    Ok(out)
}

/// Rejects reserved `aws:` keys (general AWS rule; error code inferred).
pub fn check_tag_keys(tags: &[Tag]) -> Result<(), Error> {
    if let Some(t) = tags
        .iter()
        .find(|t| t.key.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(invalid(format!(
            "The tag key '{}' is reserved: keys beginning with 'aws:' are for AWS use.",
            t.key
        )));
    }
    Ok(())
}
