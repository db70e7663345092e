//! What WorkSpaces clients show and load per directory (spec §9.3): client branding
//! (ImportClientBranding, DescribeClientBranding, DeleteClientBranding) and the Amazon
//! Connect client add-in (Create/Describe/Update/DeleteConnectClientAddIn).
//!
//! Both are records keyed by directory id, each remembering the `seq` of the registration
//! it belongs to: a directory that is deregistered and registered again gets a new
//! registration record (new `seq`), so the old branding and add-in are discarded with the
//! old registration (spec §12 DeregisterWorkspaceDirectory) without the deregistration
//! having to know about them.
//!
//! Logos are kept as a digest and size, not as bytes: the API only ever answers with URLs
//! (`LogoUrl`, `Logo2xUrl`, `Logo3xUrl`). The URLs are local and not served (inferred: AWS
//! answers with URLs of its own content delivery; their form is undocumented).

use super::directories::WsDirectory;
use super::pagination;
use super::records::{not_found, Resource};
use super::{Context, Service};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::Expect;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Data one ImportClientBranding request may carry ("up to 6 MB", doc; MiB inferred).
const MAX_IMPORT_BYTES: usize = 6 * 1024 * 1024;
/// The only `LoginMessage` locale AWS accepts (doc).
const LOGIN_LOCALE: &str = "en_US";
/// HTML tags a `LoginMessage` may use (doc).
const LOGIN_TAGS: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "cite",
    "code",
    "dd",
    "dl",
    "dt",
    "div",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "u",
    "ul",
];
/// The PNG file signature (logos must be PNG, doc).
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Host of the (unserved) logo URLs; `.invalid` never resolves (RFC 2606).
const LOGO_HOST: &str = "https://client-branding.localspaces.invalid";

/// A stored logo: what its URL is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Logo {
    /// FNV-1a of the bytes, hex.
    digest: String,
    size: usize,
}

/// One platform's imported branding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PlatformBranding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logo: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logo2x: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logo3x: Option<Logo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    support_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    support_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forgot_password_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login_message: Option<Vec<(String, String)>>,
}

/// A directory's client branding (id = directory id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Branding {
    id: String,
    /// `seq` of the directory registration this belongs to.
    directory_seq: u64,
    /// By `ClientDeviceType` wire name.
    platforms: BTreeMap<String, PlatformBranding>,
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
    id: String,
    directory_seq: u64,
    add_in_id: String,
    name: String,
    url: String,
}

impl Resource for AddIn {
    const KIND: &'static str = "connect_client_add_in";
    const VERSION: u32 = 1;
    fn id(&self) -> &str {
        &self.id
    }
}

impl AddIn {
    fn wire(&self) -> ws::ConnectClientAddIn {
        ws::ConnectClientAddIn {
            add_in_id: Some(self.add_in_id.clone()),
            name: Some(self.name.clone()),
            resource_id: Some(self.id.clone()),
            url: Some(self.url.clone()),
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameterValuesException, msg)
}

fn changed_meanwhile() -> Error {
    // Every operation here models InvalidParameterValuesException; a lost race is retried.
    invalid("The directory's client settings were modified by another request. Try again.")
}

/// How far a directory must be registered for an operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// REGISTERED (changes).
    Registered,
    /// Registered in any state short of DEREGISTERING (reads and deletes).
    Known,
}

/// The `seq` of directory `id`'s registration, if it is registered as `need` says;
/// otherwise `ResourceNotFoundException` (the only modeled fit, inferred for a directory
/// that is still REGISTERING or already DEREGISTERING).
fn registration(svc: &Service, cx: &Context, id: &str, need: Need) -> Result<u64, Error> {
    let d = svc
        .load::<WsDirectory>(&cx.scope, id)?
        .ok_or_else(|| not_found("directory", id))?;
    let state = ws::WorkspaceDirectoryState::from_wire(&d.rec.state);
    let usable = match need {
        Need::Registered => state == Some(ws::WorkspaceDirectoryState::Registered),
        Need::Known => !matches!(
            state,
            Some(ws::WorkspaceDirectoryState::Deregistering | ws::WorkspaceDirectoryState::Deregistered)
        ),
    };
    if !usable {
        return Err(Error::new(
            ErrorCode::ResourceNotFoundException,
            format!(
                "The directory {id} is not registered with Amazon WorkSpaces (it is {}).",
                d.rec.state
            ),
        )
        .with_resource(id));
    }
    Ok(d.seq)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Platform names as the API spells them, with short URL path names.
fn url_name(platform: &str) -> &'static str {
    match platform {
        "DeviceTypeWindows" => "windows",
        "DeviceTypeOsx" => "osx",
        "DeviceTypeAndroid" => "android",
        "DeviceTypeIos" => "ios",
        "DeviceTypeLinux" => "linux",
        _ => "web",
    }
}

/// The URL a stored logo is reported under (inferred form, see the module doc).
fn logo_url(cx: &Context, directory: &str, platform: &str, variant: &str, logo: &Logo) -> String {
    format!(
        "{LOGO_HOST}/{}/{}/{directory}/{}/{variant}-{}.png",
        cx.scope.region,
        cx.scope.account,
        url_name(platform),
        logo.digest
    )
}

/// What one platform of an import carries, whatever its shape (default or iOS).
struct Imported<'a> {
    platform: ws::ClientDeviceType,
    logo: Option<&'a Vec<u8>>,
    logo2x: Option<&'a Vec<u8>>,
    logo3x: Option<&'a Vec<u8>>,
    support_email: Option<&'a String>,
    support_link: Option<&'a String>,
    forgot_password_link: Option<&'a String>,
    login_message: Option<&'a Vec<(String, String)>>,
}

impl<'a> Imported<'a> {
    fn default_shape(
        platform: ws::ClientDeviceType,
        a: &'a ws::DefaultImportClientBrandingAttributes,
    ) -> Self {
        Imported {
            platform,
            logo: a.logo.as_ref(),
            logo2x: None,
            logo3x: None,
            support_email: a.support_email.as_ref(),
            support_link: a.support_link.as_ref(),
            forgot_password_link: a.forgot_password_link.as_ref(),
            login_message: a.login_message.as_ref(),
        }
    }

    fn ios(a: &'a ws::IosImportClientBrandingAttributes) -> Self {
        Imported {
            platform: ws::ClientDeviceType::DeviceTypeIos,
            logo: a.logo.as_ref(),
            logo2x: a.logo2x.as_ref(),
            logo3x: a.logo3x.as_ref(),
            support_email: a.support_email.as_ref(),
            support_link: a.support_link.as_ref(),
            forgot_password_link: a.forgot_password_link.as_ref(),
            login_message: a.login_message.as_ref(),
        }
    }

    fn logos(&self) -> impl Iterator<Item = &'a Vec<u8>> {
        [self.logo, self.logo2x, self.logo3x].into_iter().flatten()
    }

    /// Bytes this platform adds to the request's data.
    fn size(&self) -> usize {
        let strings = [self.support_email, self.support_link, self.forgot_password_link]
            .into_iter()
            .flatten()
            .map(String::len)
            .sum::<usize>();
        let message = self
            .login_message
            .map_or(0, |m| m.iter().map(|(k, v)| k.len() + v.len()).sum());
        self.logos().map(Vec::len).sum::<usize>() + strings + message
    }

    /// The rules the model's shapes cannot express (doc).
    fn check(&self) -> Result<(), Error> {
        let p = self.platform.as_str();
        if self.logo.is_none()
            && self.logo2x.is_none()
            && self.logo3x.is_none()
            && self.support_email.is_none()
            && self.support_link.is_none()
            && self.forgot_password_link.is_none()
            && self.login_message.is_none()
        {
            // Inferred: an empty platform would configure nothing.
            return Err(invalid(format!(
                "{p} must specify at least one branding attribute."
            )));
        }
        if self.support_email.is_some() && self.support_link.is_some() {
            return Err(invalid(format!(
                "{p}: SupportEmail and SupportLink are mutually exclusive; specify only one of them."
            )));
        }
        if self.logos().any(|l| !l.starts_with(PNG_SIGNATURE)) {
            return Err(invalid(format!("{p}: a logo must be a PNG image.")));
        }
        for (locale, text) in self.login_message.into_iter().flatten() {
            if locale != LOGIN_LOCALE {
                return Err(invalid(format!(
                    "{p}: the LoginMessage locale {locale} is not supported; the only supported locale is {LOGIN_LOCALE}."
                )));
            }
            if let Some(tag) = unsupported_tag(text) {
                return Err(invalid(format!(
                    "{p}: the LoginMessage uses the HTML tag <{tag}>, which is not supported."
                )));
            }
        }
        Ok(())
    }

    fn stored(&self) -> PlatformBranding {
        let logo = |b: Option<&Vec<u8>>| {
            b.map(|b| Logo {
                digest: format!("{:016x}", fnv(b)),
                size: b.len(),
            })
        };
        PlatformBranding {
            logo: logo(self.logo),
            logo2x: logo(self.logo2x),
            logo3x: logo(self.logo3x),
            support_email: self.support_email.cloned(),
            support_link: self.support_link.cloned(),
            forgot_password_link: self.forgot_password_link.cloned(),
            login_message: self.login_message.cloned(),
        }
    }
}

/// The first HTML tag name in `text` that is not one AWS supports (inferred parsing: a `<`
/// or `</` followed by a letter opens a tag; anything else is text).
fn unsupported_tag(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let body = rest.strip_prefix('/').unwrap_or(rest);
        let name: String = body.chars().take_while(char::is_ascii_alphanumeric).collect();
        if name.starts_with(|c: char| c.is_ascii_alphabetic())
            && !LOGIN_TAGS.contains(&name.to_ascii_lowercase().as_str())
        {
            return Some(name);
        }
    }
    None
}

fn default_view(
    cx: &Context,
    directory: &str,
    platform: &str,
    b: &PlatformBranding,
) -> ws::DefaultClientBrandingAttributes {
    ws::DefaultClientBrandingAttributes {
        forgot_password_link: b.forgot_password_link.clone(),
        login_message: b.login_message.clone(),
        logo_url: b
            .logo
            .as_ref()
            .map(|l| logo_url(cx, directory, platform, "logo", l)),
        support_email: b.support_email.clone(),
        support_link: b.support_link.clone(),
    }
}

fn ios_view(cx: &Context, directory: &str, b: &PlatformBranding) -> ws::IosClientBrandingAttributes {
    let platform = ws::ClientDeviceType::DeviceTypeIos.as_str();
    let url =
        |l: &Option<Logo>, variant: &str| l.as_ref().map(|l| logo_url(cx, directory, platform, variant, l));
    ws::IosClientBrandingAttributes {
        forgot_password_link: b.forgot_password_link.clone(),
        login_message: b.login_message.clone(),
        logo_url: url(&b.logo, "logo"),
        logo2x_url: url(&b.logo2x, "logo2x"),
        logo3x_url: url(&b.logo3x, "logo3x"),
        support_email: b.support_email.clone(),
        support_link: b.support_link.clone(),
    }
}

/// The Describe/Import answer for the given platforms of `branding`.
fn view<'a>(
    cx: &Context,
    directory: &str,
    platforms: impl Iterator<Item = (&'a String, &'a PlatformBranding)>,
) -> ws::DescribeClientBrandingResult {
    let mut out = ws::DescribeClientBrandingResult::default();
    for (name, b) in platforms {
        match ws::ClientDeviceType::from_wire(name) {
            Some(ws::ClientDeviceType::DeviceTypeIos) => {
                out.device_type_ios = Some(ios_view(cx, directory, b))
            }
            Some(p) => {
                let v = Some(default_view(cx, directory, name, b));
                match p {
                    ws::ClientDeviceType::DeviceTypeWindows => out.device_type_windows = v,
                    ws::ClientDeviceType::DeviceTypeOsx => out.device_type_osx = v,
                    ws::ClientDeviceType::DeviceTypeAndroid => out.device_type_android = v,
                    ws::ClientDeviceType::DeviceTypeLinux => out.device_type_linux = v,
                    ws::ClientDeviceType::DeviceTypeWeb => out.device_type_web = v,
                    ws::ClientDeviceType::DeviceTypeIos => {}
                }
            }
            None => {}
        }
    }
    out
}

/// The directory's current branding record (a stale one of an earlier registration reads
/// as none) with its revision, if stored at all.
fn current_branding(
    svc: &Service,
    cx: &Context,
    id: &str,
    seq: u64,
) -> Result<(Option<Branding>, Option<u64>), Error> {
    Ok(match svc.load::<Branding>(&cx.scope, id)? {
        Some(b) if b.rec.directory_seq == seq => (Some(b.rec), Some(b.rev)),
        Some(b) => (None, Some(b.rev)),
        None => (None, None),
    })
}

fn expect(rev: Option<u64>) -> Expect {
    rev.map_or(Expect::Absent, Expect::Rev)
}

pub fn import_client_branding(
    svc: &Service,
    cx: &Context,
    input: ws::ImportClientBrandingRequest,
) -> Result<ws::ImportClientBrandingResult, Error> {
    use ws::ClientDeviceType as T;
    let defaults = [
        (T::DeviceTypeWindows, &input.device_type_windows),
        (T::DeviceTypeOsx, &input.device_type_osx),
        (T::DeviceTypeAndroid, &input.device_type_android),
        (T::DeviceTypeLinux, &input.device_type_linux),
        (T::DeviceTypeWeb, &input.device_type_web),
    ];
    let imported: Vec<Imported> = defaults
        .into_iter()
        .filter_map(|(t, a)| a.as_ref().map(|a| Imported::default_shape(t, a)))
        .chain(input.device_type_ios.as_ref().map(Imported::ios))
        .collect();
    if imported.is_empty() {
        return Err(invalid(
            "You must specify at least one platform type when importing client branding.",
        ));
    }
    for i in &imported {
        i.check()?;
    }
    let total: usize = imported.iter().map(Imported::size).sum();
    if total > MAX_IMPORT_BYTES {
        return Err(invalid(format!(
            "The request imports {total} bytes of branding data; at most 6 MB can be imported per request. Import the platforms in separate requests."
        )));
    }
    let id = input.resource_id;
    let stored = {
        let _w = svc.write.lock();
        let seq = registration(svc, cx, &id, Need::Registered)?;
        let (current, rev) = current_branding(svc, cx, &id, seq)?;
        let mut b = current.unwrap_or_else(|| Branding {
            id: id.clone(),
            directory_seq: seq,
            platforms: BTreeMap::new(),
        });
        for i in &imported {
            b.platforms.insert(i.platform.as_str().to_string(), i.stored());
        }
        svc.commit(vec![Service::put(&cx.scope, &b, expect(rev))?], changed_meanwhile)?;
        b
    };
    let names: Vec<&str> = imported.iter().map(|i| i.platform.as_str()).collect();
    let v = view(
        cx,
        &id,
        stored
            .platforms
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str())),
    );
    Ok(ws::ImportClientBrandingResult {
        device_type_android: v.device_type_android,
        device_type_ios: v.device_type_ios,
        device_type_linux: v.device_type_linux,
        device_type_osx: v.device_type_osx,
        device_type_web: v.device_type_web,
        device_type_windows: v.device_type_windows,
    })
}

pub fn describe_client_branding(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeClientBrandingRequest,
) -> Result<ws::DescribeClientBrandingResult, Error> {
    let id = input.resource_id;
    let seq = registration(svc, cx, &id, Need::Known)?;
    let (current, _) = current_branding(svc, cx, &id, seq)?;
    Ok(match current {
        Some(b) => view(cx, &id, b.platforms.iter()),
        None => ws::DescribeClientBrandingResult::default(),
    })
}

pub fn delete_client_branding(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteClientBrandingRequest,
) -> Result<ws::DeleteClientBrandingResult, Error> {
    let id = input.resource_id;
    let _w = svc.write.lock();
    let seq = registration(svc, cx, &id, Need::Known)?;
    let (current, rev) = current_branding(svc, cx, &id, seq)?;
    // Platforms without branding are already at the default: nothing to do (inferred).
    let (Some(mut b), Some(rev)) = (current, rev) else {
        return Ok(ws::DeleteClientBrandingResult {});
    };
    let before = b.platforms.len();
    for p in &input.platforms {
        b.platforms.remove(p.as_str());
    }
    if b.platforms.len() == before {
        return Ok(ws::DeleteClientBrandingResult {});
    }
    let write = if b.platforms.is_empty() {
        Service::delete::<Branding>(&cx.scope, &id, rev)
    } else {
        Service::put(&cx.scope, &b, Expect::Rev(rev))?
    };
    svc.commit(vec![write], changed_meanwhile)?;
    Ok(ws::DeleteClientBrandingResult {})
}

/// The directory's current add-in (a stale one of an earlier registration reads as none)
/// with the revision of whatever record is stored.
fn current_add_in(
    svc: &Service,
    cx: &Context,
    id: &str,
    seq: u64,
) -> Result<(Option<AddIn>, Option<u64>, u64), Error> {
    Ok(match svc.load::<AddIn>(&cx.scope, id)? {
        Some(a) if a.rec.directory_seq == seq => (Some(a.rec), Some(a.rev), a.seq),
        Some(a) => (None, Some(a.rev), a.seq),
        None => (None, None, 0),
    })
}

fn add_in_not_found(add_in_id: &str) -> Error {
    not_found("Amazon Connect client add-in", add_in_id)
}

pub fn create_connect_client_add_in(
    svc: &Service,
    cx: &Context,
    input: ws::CreateConnectClientAddInRequest,
) -> Result<ws::CreateConnectClientAddInResult, Error> {
    let id = input.resource_id;
    let _w = svc.write.lock();
    let seq = registration(svc, cx, &id, Need::Registered)?;
    let (current, rev, _) = current_add_in(svc, cx, &id, seq)?;
    if let Some(a) = current {
        return Err(Error::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!(
                "The directory {id} already has an Amazon Connect client add-in ({}); a directory can have only one.",
                a.add_in_id
            ),
        ));
    }
    let a = AddIn {
        id: id.clone(),
        directory_seq: seq,
        add_in_id: uuid::Uuid::new_v4().to_string(),
        name: input.name,
        url: input.url,
    };
    svc.commit(vec![Service::put(&cx.scope, &a, expect(rev))?], || {
        Error::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("The directory {id} already has an Amazon Connect client add-in."),
        )
    })?;
    Ok(ws::CreateConnectClientAddInResult {
        add_in_id: Some(a.add_in_id),
    })
}

pub fn describe_connect_client_add_ins(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeConnectClientAddInsRequest,
) -> Result<ws::DescribeConnectClientAddInsResult, Error> {
    const OP: &str = "DescribeConnectClientAddIns";
    let id = input.resource_id;
    let filter = pagination::fingerprint([id.as_str()]);
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        invalid("The pagination token is invalid.")
    })?;
    let limit = input.max_results.map_or(25, |n| usize::try_from(n).unwrap_or(25));
    let seq = registration(svc, cx, &id, Need::Known)?;
    let (current, _, rec_seq) = current_add_in(svc, cx, &id, seq)?;
    // The list holds at most one add-in per directory, so a page never ends early; the
    // token machinery is the shared one so that a later page size or count changes nothing.
    let mut add_ins: Vec<(u64, ws::ConnectClientAddIn)> = current
        .filter(|_| after.is_none_or(|a| rec_seq > a))
        .map(|a| (rec_seq, a.wire()))
        .into_iter()
        .collect();
    let next_token = if add_ins.len() > limit {
        add_ins.truncate(limit);
        add_ins.last().map(|(s, _)| pagination::encode(OP, filter, *s))
    } else {
        None
    };
    Ok(ws::DescribeConnectClientAddInsResult {
        add_ins: Some(add_ins.into_iter().map(|(_, a)| a).collect()),
        next_token,
    })
}

pub fn update_connect_client_add_in(
    svc: &Service,
    cx: &Context,
    input: ws::UpdateConnectClientAddInRequest,
) -> Result<ws::UpdateConnectClientAddInResult, Error> {
    let id = input.resource_id;
    let _w = svc.write.lock();
    let seq = registration(svc, cx, &id, Need::Registered)?;
    let (current, rev, _) = current_add_in(svc, cx, &id, seq)?;
    let (Some(mut a), Some(rev)) = (current, rev) else {
        return Err(add_in_not_found(&input.add_in_id));
    };
    if a.add_in_id != input.add_in_id {
        return Err(add_in_not_found(&input.add_in_id));
    }
    if let Some(n) = input.name {
        a.name = n;
    }
    if let Some(u) = input.url {
        a.url = u;
    }
    svc.commit(
        vec![Service::put(&cx.scope, &a, Expect::Rev(rev))?],
        changed_meanwhile,
    )?;
    Ok(ws::UpdateConnectClientAddInResult {})
}

pub fn delete_connect_client_add_in(
    svc: &Service,
    cx: &Context,
    input: ws::DeleteConnectClientAddInRequest,
) -> Result<ws::DeleteConnectClientAddInResult, Error> {
    let id = input.resource_id;
    let _w = svc.write.lock();
    let seq = registration(svc, cx, &id, Need::Known)?;
    let (current, rev, _) = current_add_in(svc, cx, &id, seq)?;
    match (current, rev) {
        (Some(a), Some(rev)) if a.add_in_id == input.add_in_id => {
            svc.commit(vec![Service::delete::<AddIn>(&cx.scope, &id, rev)], || {
                add_in_not_found(&input.add_in_id)
            })?;
            Ok(ws::DeleteConnectClientAddInResult {})
        }
        _ => Err(add_in_not_found(&input.add_in_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::unsupported_tag;

    #[test]
    fn login_message_tags() {
        assert_eq!(unsupported_tag("Welcome <b>home</b>, a < b"), None);
        assert_eq!(unsupported_tag("<p>ok</p><br/><A href='x'>x</A>"), None);
        assert_eq!(unsupported_tag("<script>x</script>"), Some("script".into()));
        assert_eq!(unsupported_tag("<p><img src=x></p>"), Some("img".into()));
        assert_eq!(unsupported_tag("1 <2 and <= 3"), None);
    }
}
