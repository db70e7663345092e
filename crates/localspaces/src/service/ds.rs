//! The minimal AWS Directory Service API: Simple AD, Microsoft AD, AD Connector directories
//! (Requested → Creating → Active; Deleting → gone) with `d-` ids, and their tags
//! (ListTagsForResource, AddTagsToResource, RemoveTagsFromResource).
//!
//! There is no EC2 emulation: VPC and subnet ids are accepted as given (the model's patterns
//! check their format); availability zones, DNS addresses and security groups are made up
//! deterministically from the directory id.

use super::tables::directories::directory_view;
use super::tables::ds::{DsDirectory, DS_KIND};
use super::tables::ids::new_id;
use super::tables::{pagination, Conflict, Context, Fault, Service, Stored, StoredTag, Tx};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::ds::{self as ds_api, Error, ErrorCode};
use localspaces_api::workspaces as ws;
use localspaces_store::{Expect, Scope};

/// Tags per directory (AddTagsToResource answers TagLimitExceededException beyond it).
const MAX_TAGS: usize = 50;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterException, msg)
}

fn not_found(id: &str) -> Error {
    Error::new(
        ErrorCode::EntityDoesNotExistException,
        format!("Directory {id} does not exist."),
    )
}

/// The short (NetBIOS) name: given, or the first label of the DNS name, upper-cased.
fn short_name(name: &str, given: Option<String>) -> String {
    given.unwrap_or_else(|| name.split('.').next().unwrap_or(name).to_ascii_uppercase())
}

fn check_subnets(subnets: &[String]) -> Result<(), Error> {
    // AWS needs two subnets in different Availability Zones; without EC2 data, two distinct ids.
    if subnets.len() != 2 || subnets[0] == subnets[1] {
        return Err(invalid(
            "Invalid subnet ID(s). You must specify exactly two subnets in different Availability Zones.",
        ));
    }
    Ok(())
}

/// Tag keys beginning with `aws:` are reserved for AWS.
fn check_tag_key(t: &ds_api::Tag) -> Result<(), Error> {
    if t.key.to_ascii_lowercase().starts_with("aws:") {
        return Err(invalid(format!(
            "Tag key {} is not valid: keys may not begin with aws:.",
            t.key
        )));
    }
    Ok(())
}

/// How AWS names a directory type in messages.
fn type_label(dtype: &str) -> &'static str {
    match dtype {
        "SimpleAD" => "Simple AD",
        "MicrosoftAD" => "AWS Managed Microsoft AD",
        _ => "AD Connector",
    }
}

struct NewDirectory {
    name: String,
    short_name: Option<String>,
    description: Option<String>,
    dtype: &'static str,
    size: Option<String>,
    edition: Option<String>,
    vpc_id: String,
    subnet_ids: Vec<String>,
    customer_dns_ips: Vec<String>,
    customer_user_name: Option<String>,
    tags: Vec<ds_api::Tag>,
}

fn create(svc: &Service, cx: &Context, n: NewDirectory) -> Result<String, Error> {
    check_subnets(&n.subnet_ids)?;
    n.tags.iter().try_for_each(check_tag_key)?;
    if n.tags.len() > MAX_TAGS {
        return Err(invalid("A directory can have at most 50 tags."));
    }
    let now = svc.clock.now();
    let dir = DsDirectory {
        id: format!("d-{}", &new_hex(10)),
        short_name: short_name(&n.name, n.short_name),
        name: n.name,
        description: n.description,
        dtype: n.dtype.to_string(),
        size: n.size,
        edition: n.edition,
        vpc_id: n.vpc_id,
        subnet_ids: n.subnet_ids,
        customer_dns_ips: n.customer_dns_ips,
        customer_user_name: n.customer_user_name,
        stage: "Requested".to_string(),
        launch_time: now,
        stage_updated: now,
        tags: n
            .tags
            .iter()
            .map(|t| StoredTag {
                key: t.key.clone(),
                value: Some(t.value.clone()),
            })
            .collect(),
    };
    svc.write_as(
        Conflict::Exists(format!("A directory with id {} already exists.", dir.id)),
        |tx| {
            // Each directory type has its own per-Region quota.
            let limit = svc.limits.ds_quota(&dir.dtype);
            let same_type = svc
                .scan::<DsDirectory>(&cx.scope, None, None, None)?
                .iter()
                .filter(|d| d.rec.dtype == dir.dtype)
                .count() as u64;
            if same_type >= limit {
                return Err(Error::new(
                    ErrorCode::DirectoryLimitExceededException,
                    format!(
                        "Directory limit exceeded: this account can have at most {limit} {} directories in this Region.",
                        type_label(&dir.dtype)
                    ),
                ));
            }
            tx.put(&cx.scope, &dir, Expect::Absent)?;
            tx.transition(&cx.scope, TransitionKind::DsCreate, DS_KIND, &dir.id)?;
            Ok(())
        },
    )?;
    Ok(dir.id)
}

fn new_hex(n: usize) -> String {
    // `new_id` draws from [0-9a-z]; DS ids are lower-case hex.
    let raw = new_id("", n * 2);
    raw.bytes()
        .filter(u8::is_ascii_hexdigit)
        .chain(std::iter::repeat(b'0'))
        .take(n)
        .map(char::from)
        .collect()
}

pub fn create_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::CreateDirectoryRequest,
) -> Result<ds_api::CreateDirectoryResult, Error> {
    let Some(vpc) = input.vpc_settings else {
        return Err(invalid("VpcSettings is required for a Simple AD directory."));
    };
    let id = create(
        svc,
        cx,
        NewDirectory {
            name: input.name,
            short_name: input.short_name,
            description: input.description,
            dtype: "SimpleAD",
            size: Some(input.size.as_str().to_string()),
            edition: None,
            vpc_id: vpc.vpc_id,
            subnet_ids: vpc.subnet_ids,
            customer_dns_ips: Vec::new(),
            customer_user_name: None,
            tags: input.tags.unwrap_or_default(),
        },
    )?;
    Ok(ds_api::CreateDirectoryResult {
        directory_id: Some(id),
    })
}

pub fn create_microsoft_ad(
    svc: &Service,
    cx: &Context,
    input: ds_api::CreateMicrosoftADRequest,
) -> Result<ds_api::CreateMicrosoftADResult, Error> {
    let edition = input.edition.unwrap_or(ds_api::DirectoryEdition::Enterprise);
    // A Hybrid Edition directory extends self-managed domain controllers, which do not exist here.
    if edition == ds_api::DirectoryEdition::Hybrid {
        return Err(Error::new(
            ErrorCode::UnsupportedOperationException,
            "Hybrid Edition needs self-managed Active Directory domain controllers; localspaces offers Standard and Enterprise.",
        ));
    }
    let id = create(
        svc,
        cx,
        NewDirectory {
            name: input.name,
            short_name: input.short_name,
            description: input.description,
            dtype: "MicrosoftAD",
            size: None,
            edition: Some(edition.as_str().to_string()),
            vpc_id: input.vpc_settings.vpc_id,
            subnet_ids: input.vpc_settings.subnet_ids,
            customer_dns_ips: Vec::new(),
            customer_user_name: None,
            tags: input.tags.unwrap_or_default(),
        },
    )?;
    Ok(ds_api::CreateMicrosoftADResult {
        directory_id: Some(id),
    })
}

pub fn connect_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::ConnectDirectoryRequest,
) -> Result<ds_api::ConnectDirectoryResult, Error> {
    let c = input.connect_settings;
    let dns = c.customer_dns_ips.unwrap_or_default();
    if dns.is_empty() {
        return Err(invalid(
            "CustomerDnsIps must contain the DNS addresses of your on-premises directory.",
        ));
    }
    let id = create(
        svc,
        cx,
        NewDirectory {
            name: input.name,
            short_name: input.short_name,
            description: input.description,
            dtype: "ADConnector",
            size: Some(input.size.as_str().to_string()),
            edition: None,
            vpc_id: c.vpc_id,
            subnet_ids: c.subnet_ids,
            customer_dns_ips: dns,
            customer_user_name: Some(c.customer_user_name),
            tags: input.tags.unwrap_or_default(),
        },
    )?;
    Ok(ds_api::ConnectDirectoryResult {
        directory_id: Some(id),
    })
}

pub fn describe_directories(
    svc: &Service,
    cx: &Context,
    input: ds_api::DescribeDirectoriesRequest,
) -> Result<ds_api::DescribeDirectoriesResult, Error> {
    const OP: &str = "DescribeDirectories";
    let limit = match input.limit {
        Some(n) if n > 0 => n as usize,
        _ => 100,
    };
    let ids = input.directory_ids.unwrap_or_default();
    let filter = pagination::fingerprint(ids.iter().map(String::as_str));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(
            ErrorCode::InvalidNextTokenException,
            "The NextToken value is not valid.",
        )
    })?;
    let mut found = if ids.is_empty() {
        svc.scan::<DsDirectory>(&cx.scope, None, after, Some(limit + 1))?
    } else {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut got = svc.load_many::<DsDirectory>(&cx.scope, &refs)?;
        if let Some(missing) = ids.iter().find(|id| got.iter().all(|d| &d.rec.id != *id)) {
            return Err(not_found(missing));
        }
        got.sort_by_key(|d| d.seq);
        got.dedup_by_key(|d| d.seq);
        got.retain(|d| after.is_none_or(|a| d.seq > a));
        got
    };
    let next_token = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|d| pagination::encode(OP, filter, d.seq))
    } else {
        None
    };
    Ok(ds_api::DescribeDirectoriesResult {
        directory_descriptions: Some(found.iter().map(|d| d.rec.to_wire(&cx.scope.region)).collect()),
        next_token,
    })
}

pub fn delete_directory(
    svc: &Service,
    cx: &Context,
    input: ds_api::DeleteDirectoryRequest,
) -> Result<ds_api::DeleteDirectoryResult, Error> {
    let id = input.directory_id;
    svc.write_as(Conflict::Changed("directory"), |tx| {
        let mut d = svc
            .load::<DsDirectory>(&cx.scope, &id)?
            .ok_or_else(|| not_found(&id))?;
        // A registration already shown as DEREGISTERED no longer holds the directory.
        let registered = directory_view(svc, &cx.scope, &id)?
            .is_some_and(|v| v.state != ws::WorkspaceDirectoryState::Deregistered);
        if registered {
            // Terraform retries DeleteDirectory while this text says "authorized applications".
            return Err(Error::new(
                ErrorCode::ClientException,
                "Cannot delete the directory because it still has authorized applications. Please deregister from WorkSpaces first.",
            ));
        }
        if d.rec.stage == "Deleting" {
            return Ok(());
        }
        d.rec.stage = "Deleting".to_string();
        d.rec.stage_updated = svc.clock.now();
        tx.put(&cx.scope, &d.rec, Expect::Rev(d.rev))?;
        tx.transition(&cx.scope, TransitionKind::DsDelete, DS_KIND, &id)?;
        Ok(())
    })?;
    Ok(ds_api::DeleteDirectoryResult {
        directory_id: Some(id),
    })
}

/// The directory `id` for a tag operation (gone once deleted).
fn tagged(svc: &Service, cx: &Context, id: &str) -> Result<Stored<DsDirectory>, Error> {
    svc.load::<DsDirectory>(&cx.scope, id)?
        .ok_or_else(|| not_found(id))
}

pub fn list_tags_for_resource(
    svc: &Service,
    cx: &Context,
    input: ds_api::ListTagsForResourceRequest,
) -> Result<ds_api::ListTagsForResourceResult, Error> {
    const OP: &str = "ListTagsForResource";
    let d = tagged(svc, cx, &input.resource_id)?;
    let limit = match input.limit {
        Some(n) if n > 0 => n as usize,
        _ => MAX_TAGS,
    };
    let filter = pagination::fingerprint([input.resource_id.as_str()]);
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(
            ErrorCode::InvalidNextTokenException,
            "The NextToken value is not valid.",
        )
    })?
    .map_or(0, |s| s as usize);
    let all = &d.rec.tags;
    let page: Vec<ds_api::Tag> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|t| ds_api::Tag {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
        })
        .collect();
    let next = start + page.len();
    Ok(ds_api::ListTagsForResourceResult {
        tags: Some(page),
        next_token: (next < all.len()).then(|| pagination::encode(OP, filter, next as u64)),
    })
}

pub fn add_tags_to_resource(
    svc: &Service,
    cx: &Context,
    input: ds_api::AddTagsToResourceRequest,
) -> Result<ds_api::AddTagsToResourceResult, Error> {
    svc.write_as(Conflict::Changed("directory"), |tx| {
        let mut d = tagged(svc, cx, &input.resource_id)?;
        for t in &input.tags {
            check_tag_key(t)?;
            match d.rec.tags.iter_mut().find(|s| s.key == t.key) {
                Some(s) => s.value = Some(t.value.clone()),
                None => d.rec.tags.push(StoredTag {
                    key: t.key.clone(),
                    value: Some(t.value.clone()),
                }),
            }
        }
        if d.rec.tags.len() > MAX_TAGS {
            return Err(Error::new(
                ErrorCode::TagLimitExceededException,
                format!("Tag limit exceeded: a directory can have at most {MAX_TAGS} tags."),
            ));
        }
        tx.put(&cx.scope, &d.rec, Expect::Rev(d.rev))?;
        Ok(ds_api::AddTagsToResourceResult {})
    })
}

pub fn remove_tags_from_resource(
    svc: &Service,
    cx: &Context,
    input: ds_api::RemoveTagsFromResourceRequest,
) -> Result<ds_api::RemoveTagsFromResourceResult, Error> {
    svc.write_as(Conflict::Changed("directory"), |tx| {
        let mut d = tagged(svc, cx, &input.resource_id)?;
        let before = d.rec.tags.len();
        d.rec.tags.retain(|t| !input.tag_keys.contains(&t.key));
        if d.rec.tags.len() != before {
            tx.put(&cx.scope, &d.rec, Expect::Rev(d.rev))?;
        }
        Ok(ds_api::RemoveTagsFromResourceResult {})
    })
}

/// Applies one due transition of this family's resources (called by the engine); returns
/// the follow-up transition, if any.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let Some(mut d) = svc.load::<DsDirectory>(scope, &t.resource_id)? else {
        return Ok(None);
    };
    match (t.kind, d.rec.stage.as_str()) {
        (TransitionKind::DsCreate, "Requested") => {
            d.rec.stage = "Creating".to_string();
            d.rec.stage_updated = now;
            tx.put(scope, &d.rec, Expect::Rev(d.rev))?;
            let due = now + svc.engine.timing().duration(TransitionKind::DsCreate);
            Ok(Some(PendingTransition { due, ..t.clone() }))
        }
        (TransitionKind::DsCreate, "Creating") => {
            d.rec.stage = "Active".to_string();
            d.rec.stage_updated = now;
            tx.put(scope, &d.rec, Expect::Rev(d.rev))?;
            Ok(None)
        }
        (TransitionKind::DsDelete, "Deleting") => {
            tx.delete::<DsDirectory>(scope, &d.rec.id, d.rev);
            Ok(None)
        }
        _ => Ok(None),
    }
}
