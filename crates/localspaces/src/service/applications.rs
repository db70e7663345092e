//! Managed applications: DescribeApplications (a fixed AMAZON catalog with
//! name-derived `wsa-` ids, the same on every machine), AssociateWorkspaceApplication,
//! DisassociateWorkspaceApplication, DeployWorkspaceApplications,
//! DescribeApplicationAssociations, DescribeWorkspaceAssociations.
//!
//! Associate and Disassociate record intent (`PENDING_INSTALL_DEPLOYMENT`,
//! `PENDING_UNINSTALL_DEPLOYMENT`); DeployWorkspaceApplications starts the work, which the
//! lifecycle engine carries through `PENDING_INSTALL` → `INSTALLING` → `COMPLETED` (and
//! `PENDING_UNINSTALL` → `UNINSTALLING` → `REMOVED`). The intermediate states are inferred
//! from the model's `AssociationState` enum.

use super::tables::applications::{AssociationRec, DEPLOYMENT_KIND};
use super::tables::bundles::stable_id;
use super::tables::workspaces::WorkspaceRec;
use super::tables::{not_found, pagination, Conflict, Context, Fault, Service, Stored, Tx};
use crate::engine::{PendingTransition, TransitionKind};
use localspaces_api::workspaces::{self as ws, Error, ErrorCode};
use localspaces_store::{Expect, IndexEntry, Scope};
use std::sync::OnceLock;

/// When the catalog entries were published (fixed, so answers are reproducible).
const CATALOG_CREATED: f64 = 1_698_796_800.0; // 2023-11-01T00:00:00Z

/// One catalog entry.
pub struct App {
    pub id: String,
    pub name: &'static str,
    pub description: &'static str,
    pub state: ws::WorkSpaceApplicationState,
    /// Applications of one family exclude each other (e.g. two Office editions).
    pub family: &'static str,
    pub computes: &'static [ws::Compute],
}

const OFFICE_COMPUTE: &[ws::Compute] = &[
    ws::Compute::Standard,
    ws::Compute::Performance,
    ws::Compute::Power,
    ws::Compute::Powerpro,
    ws::Compute::Generalpurpose4xlarge,
    ws::Compute::Generalpurpose8xlarge,
    ws::Compute::GraphicsG4dn,
    ws::Compute::GraphicsproG4dn,
];
/// Visual Studio needs more than a Standard bundle (inferred from its system requirements).
const VS_COMPUTE: &[ws::Compute] = &[
    ws::Compute::Performance,
    ws::Compute::Power,
    ws::Compute::Powerpro,
    ws::Compute::Generalpurpose4xlarge,
    ws::Compute::Generalpurpose8xlarge,
    ws::Compute::GraphicsG4dn,
    ws::Compute::GraphicsproG4dn,
];
const WINDOWS: &[ws::OperatingSystemName] = &[
    ws::OperatingSystemName::Windows10,
    ws::OperatingSystemName::Windows11,
    ws::OperatingSystemName::WindowsServer2019,
    ws::OperatingSystemName::WindowsServer2022,
    ws::OperatingSystemName::WindowsServer2025,
];

/// The catalog the admin guide documents ("Manage applications").
pub fn catalog() -> &'static [App] {
    static CATALOG: OnceLock<Vec<App>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        use ws::WorkSpaceApplicationState::{Available, UninstallOnly};
        let entries: [(&str, &str, ws::WorkSpaceApplicationState, &str, &[ws::Compute]); 10] = [
            (
                "Microsoft Office LTSC Professional Plus 2021",
                "Word, Excel, PowerPoint, Outlook, OneNote, Access and Publisher",
                Available,
                "office",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Office LTSC Standard 2021",
                "Word, Excel, PowerPoint, Outlook and OneNote",
                Available,
                "office",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Visio LTSC Professional 2021",
                "Diagrams and flowcharts, professional edition",
                Available,
                "visio",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Visio LTSC Standard 2021",
                "Diagrams and flowcharts, standard edition",
                Available,
                "visio",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Project Professional 2021",
                "Project management, professional edition",
                Available,
                "project",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Project Standard 2021",
                "Project management, standard edition",
                Available,
                "project",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Visual Studio Professional 2022",
                "Integrated development environment, professional edition",
                Available,
                "visual-studio",
                VS_COMPUTE,
            ),
            (
                "Microsoft Visual Studio Enterprise 2022",
                "Integrated development environment, enterprise edition",
                Available,
                "visual-studio",
                VS_COMPUTE,
            ),
            (
                "Microsoft Office Professional Plus 2016",
                "Office 2016 bundled with older bundles; uninstall only",
                UninstallOnly,
                "office",
                OFFICE_COMPUTE,
            ),
            (
                "Microsoft Office Professional Plus 2019",
                "Office 2019 bundled with older bundles; uninstall only",
                UninstallOnly,
                "office",
                OFFICE_COMPUTE,
            ),
        ];
        entries
            .into_iter()
            .map(|(name, description, state, family, computes)| App {
                id: stable_id("wsa-", name),
                name,
                description,
                state,
                family,
                computes,
            })
            .collect()
    })
}

fn find_app(id: &str) -> Option<&'static App> {
    catalog().iter().find(|a| a.id == id)
}

impl App {
    fn to_wire(&self) -> ws::WorkSpaceApplication {
        ws::WorkSpaceApplication {
            application_id: Some(self.id.clone()),
            created: Some(CATALOG_CREATED),
            description: Some(self.description.to_string()),
            license_type: Some(ws::WorkSpaceApplicationLicenseType::Licensed),
            name: Some(self.name.to_string()),
            owner: Some("AMAZON".to_string()),
            state: Some(self.state),
            supported_compute_type_names: Some(self.computes.to_vec()),
            supported_operating_system_names: Some(WINDOWS.to_vec()),
        }
    }
}

fn app_not_found(id: &str) -> Error {
    not_found("application", id)
}

fn in_use(msg: String) -> Error {
    Error::new(ErrorCode::ResourceInUseException, msg)
}

/// The lost race of a change to a WorkSpace's applications.
const CHANGED: Conflict = Conflict::Changed("WorkSpace's application association");

/// The WorkSpace as DescribeWorkspaces shows it (state, compute, operating system).
fn workspace(svc: &Service, cx: &Context, id: &str) -> Result<ws::Workspace, Error> {
    svc.load::<WorkspaceRec>(&cx.scope, id)?
        .map(|w| w.rec.to_wire())
        .ok_or_else(|| not_found("WorkSpace", id))
}

/// Application management needs an AVAILABLE or STOPPED WorkSpace (doc; error code inferred).
fn require_managed_state(w: &ws::Workspace) -> Result<(), Error> {
    match w.state {
        Some(ws::WorkspaceState::Available | ws::WorkspaceState::Stopped) => Ok(()),
        other => Err(in_use(format!(
            "The WorkSpace {} is {}; applications can be managed only when it is AVAILABLE or STOPPED.",
            w.workspace_id.as_deref().unwrap_or_default(),
            other.map_or("in an unknown state", |s| s.as_str())
        ))),
    }
}

fn associations_of(
    svc: &Service,
    scope: &Scope,
    workspace: &str,
) -> Result<Vec<Stored<AssociationRec>>, Fault> {
    svc.scan::<AssociationRec>(
        scope,
        Some(IndexEntry {
            name: "workspace".into(),
            key: workspace.to_string(),
        }),
        None,
        None,
    )
}

pub fn describe_applications(
    _svc: &Service,
    _cx: &Context,
    input: ws::DescribeApplicationsRequest,
) -> Result<ws::DescribeApplicationsResult, Error> {
    const OP: &str = "DescribeApplications";
    let ids = input.application_ids.unwrap_or_default();
    let computes = input.compute_type_names.unwrap_or_default();
    let systems = input.operating_system_names.unwrap_or_default();
    let owner = input.owner.unwrap_or_else(|| "AMAZON".to_string());
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let filter = pagination::fingerprint(
        ids.iter()
            .map(String::as_str)
            .chain(computes.iter().map(|c| c.as_str()))
            .chain(systems.iter().map(|s| s.as_str()))
            .chain(input.license_type.map(|l| l.as_str()))
            .chain([owner.as_str()]),
    );
    let start = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(
            ErrorCode::InvalidParameterValuesException,
            "The pagination token is invalid.",
        )
    })?
    .map_or(0, |s| s as usize);
    // Only AMAZON publishes applications; no account owns any (inferred).
    let all: Vec<&App> = catalog()
        .iter()
        .filter(|_| owner == "AMAZON")
        .filter(|a| ids.is_empty() || ids.contains(&a.id))
        .filter(|a| computes.is_empty() || computes.iter().any(|c| a.computes.contains(c)))
        .filter(|_| systems.is_empty() || systems.iter().any(|s| WINDOWS.contains(s)))
        .filter(|_| {
            input
                .license_type
                .is_none_or(|l| l == ws::WorkSpaceApplicationLicenseType::Licensed)
        })
        .collect();
    let end = start + limit;
    Ok(ws::DescribeApplicationsResult {
        applications: Some(all.iter().skip(start).take(limit).map(|a| a.to_wire()).collect()),
        next_token: (end < all.len()).then(|| pagination::encode(OP, filter, end as u64)),
    })
}

pub fn associate_workspace_application(
    svc: &Service,
    cx: &Context,
    input: ws::AssociateWorkspaceApplicationRequest,
) -> Result<ws::AssociateWorkspaceApplicationResult, Error> {
    let w = workspace(svc, cx, &input.workspace_id)?;
    let app = find_app(&input.application_id).ok_or_else(|| app_not_found(&input.application_id))?;
    require_managed_state(&w)?;
    let props = w.workspace_properties.clone().unwrap_or_default();
    if props
        .operating_system_name
        .is_none_or(|os| !WINDOWS.contains(&os))
    {
        return Err(Error::new(
            ErrorCode::OperatingSystemNotCompatibleException,
            format!("{} can be installed only on Windows WorkSpaces.", app.name),
        ));
    }
    if app.state == ws::WorkSpaceApplicationState::UninstallOnly {
        return Err(Error::new(
            ErrorCode::ApplicationNotSupportedException,
            format!("{} can only be uninstalled.", app.name),
        ));
    }
    if props.compute_type_name.is_none_or(|c| !app.computes.contains(&c)) {
        return Err(Error::new(
            ErrorCode::ComputeNotCompatibleException,
            format!(
                "{} does not support the compute type {} of the WorkSpace.",
                app.name,
                props.compute_type_name.map_or("(unknown)", |c| c.as_str())
            ),
        ));
    }
    svc.write(CHANGED, |tx| {
        let existing = associations_of(svc, &cx.scope, &input.workspace_id)?;
        if existing
            .iter()
            .any(|a| a.rec.application == app.id && a.rec.live())
        {
            return Err(Error::new(
                ErrorCode::ResourceAlreadyExistsException,
                format!(
                    "{} is already associated with the WorkSpace {}.",
                    app.name, input.workspace_id
                ),
            ));
        }
        if let Some(other) = existing
            .iter()
            .filter(|a| a.rec.live() && !a.rec.state.starts_with("PENDING_UNINSTALL"))
            .filter_map(|a| find_app(&a.rec.application))
            .find(|o| o.family == app.family)
        {
            return Err(Error::new(
                ErrorCode::IncompatibleApplicationsException,
                format!("{} cannot be installed next to {}.", app.name, other.name),
            ));
        }
        let now = svc.clock.now();
        let id = format!("{}/{}", input.workspace_id, app.id);
        let prior = existing.iter().find(|a| a.rec.id == id).map(|a| a.rev);
        let rec = AssociationRec {
            id,
            workspace: input.workspace_id.clone(),
            application: app.id.clone(),
            state: "PENDING_INSTALL_DEPLOYMENT".into(),
            created: now,
            updated: now,
        };
        let expect = prior.map_or(Expect::Absent, Expect::Rev);
        tx.put(&cx.scope, &rec, expect)?;
        Ok(ws::AssociateWorkspaceApplicationResult {
            association: Some(rec.to_workspace_wire()),
        })
    })
}

pub fn disassociate_workspace_application(
    svc: &Service,
    cx: &Context,
    input: ws::DisassociateWorkspaceApplicationRequest,
) -> Result<ws::DisassociateWorkspaceApplicationResult, Error> {
    workspace(svc, cx, &input.workspace_id)?;
    svc.write(CHANGED, |tx| {
        let id = format!("{}/{}", input.workspace_id, input.application_id);
        let mut a = svc
            .load::<AssociationRec>(&cx.scope, &id)?
            .filter(|a| a.rec.live())
            .ok_or_else(|| {
                not_found(
                    "application association",
                    &format!("{} on {}", input.application_id, input.workspace_id),
                )
            })?;
        if a.rec.in_flight() {
            return Err(in_use(format!(
                "A deployment is {} the application; try again when it completes.",
                a.rec.state.to_ascii_lowercase().replace('_', " ")
            )));
        }
        // Never deployed: nothing to uninstall (inferred).
        a.rec.state = if a.rec.state == "PENDING_INSTALL_DEPLOYMENT" {
            "REMOVED".into()
        } else {
            "PENDING_UNINSTALL_DEPLOYMENT".into()
        };
        a.rec.updated = svc.clock.now();
        tx.put(&cx.scope, &a.rec, Expect::Rev(a.rev))?;
        Ok(ws::DisassociateWorkspaceApplicationResult {
            association: Some(a.rec.to_workspace_wire()),
        })
    })
}

pub fn deploy_workspace_applications(
    svc: &Service,
    cx: &Context,
    input: ws::DeployWorkspaceApplicationsRequest,
) -> Result<ws::DeployWorkspaceApplicationsResult, Error> {
    let w = workspace(svc, cx, &input.workspace_id)?;
    require_managed_state(&w)?;
    let force = input.force.unwrap_or(false);
    let affected = svc.write(CHANGED, |tx| {
        let all = associations_of(svc, &cx.scope, &input.workspace_id)?;
        if let Some(a) = all.iter().find(|a| a.rec.in_flight()) {
            return Err(in_use(format!(
                "A deployment is already running on {} ({} is {}).",
                input.workspace_id, a.rec.application, a.rec.state
            )));
        }
        let now = svc.clock.now();
        let mut affected = Vec::new();
        for mut a in all {
            let next = match a.rec.state.as_str() {
                "PENDING_INSTALL_DEPLOYMENT" => "PENDING_INSTALL",
                "PENDING_UNINSTALL_DEPLOYMENT" => "PENDING_UNINSTALL",
                "ERROR" if force => "PENDING_INSTALL",
                _ => continue,
            };
            a.rec.state = next.into();
            a.rec.updated = now;
            tx.put(&cx.scope, &a.rec, Expect::Rev(a.rev))?;
            affected.push(a.rec);
        }
        if !affected.is_empty() {
            tx.transition(
                &cx.scope,
                TransitionKind::AppDeploy,
                DEPLOYMENT_KIND,
                &input.workspace_id,
            )?;
        }
        Ok(affected)
    })?;
    Ok(ws::DeployWorkspaceApplicationsResult {
        deployment: Some(ws::WorkSpaceApplicationDeployment {
            associations: Some(affected.iter().map(|a| a.to_workspace_wire()).collect()),
        }),
    })
}

/// Keeps the associations whose WorkSpace still exists.
fn existing_workspaces(
    svc: &Service,
    cx: &Context,
    recs: Vec<Stored<AssociationRec>>,
) -> Result<Vec<Stored<AssociationRec>>, Error> {
    let mut out = Vec::with_capacity(recs.len());
    for chunk in recs.chunks(25) {
        let ids: Vec<&str> = chunk.iter().map(|a| a.rec.workspace.as_str()).collect();
        let present: Vec<String> = svc
            .load_many::<WorkspaceRec>(&cx.scope, &ids)?
            .into_iter()
            .map(|w| w.rec.id)
            .collect();
        out.extend(
            chunk
                .iter()
                .filter(|a| present.contains(&a.rec.workspace))
                .cloned(),
        );
    }
    Ok(out)
}

pub fn describe_application_associations(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeApplicationAssociationsRequest,
) -> Result<ws::DescribeApplicationAssociationsResult, Error> {
    const OP: &str = "DescribeApplicationAssociations";
    let app = find_app(&input.application_id).ok_or_else(|| app_not_found(&input.application_id))?;
    let limit = input.max_results.map_or(25, |n| n.clamp(1, 25) as usize);
    let types: Vec<&str> = input
        .associated_resource_types
        .iter()
        .map(|t| t.as_str())
        .collect();
    let filter = pagination::fingerprint(types.iter().copied().chain([app.id.as_str()]));
    let after = pagination::after(input.next_token.as_deref(), OP, filter, || {
        Error::new(
            ErrorCode::InvalidParameterValuesException,
            "The pagination token is invalid.",
        )
    })?;
    // AMAZON bundles and images carry no managed applications here; only WorkSpaces do.
    let mut found = Vec::new();
    if input
        .associated_resource_types
        .contains(&ws::ApplicationAssociatedResourceType::Workspace)
    {
        let mut cursor = after;
        while found.len() <= limit {
            let page = svc.scan::<AssociationRec>(
                &cx.scope,
                Some(IndexEntry {
                    name: "application".into(),
                    key: app.id.clone(),
                }),
                cursor,
                Some(limit + 1),
            )?;
            let Some(last) = page.last().map(|a| a.seq) else {
                break;
            };
            let short = page.len() <= limit;
            found.extend(existing_workspaces(svc, cx, page)?);
            cursor = Some(last);
            if short {
                break;
            }
        }
    }
    let next_token = (found.len() > limit).then(|| pagination::encode(OP, filter, found[limit - 1].seq));
    found.truncate(limit);
    Ok(ws::DescribeApplicationAssociationsResult {
        associations: Some(found.iter().map(|a| a.rec.to_application_wire()).collect()),
        next_token,
    })
}

pub fn describe_workspace_associations(
    svc: &Service,
    cx: &Context,
    input: ws::DescribeWorkspaceAssociationsRequest,
) -> Result<ws::DescribeWorkspaceAssociationsResult, Error> {
    workspace(svc, cx, &input.workspace_id)?;
    let all = associations_of(svc, &cx.scope, &input.workspace_id)?;
    Ok(ws::DescribeWorkspaceAssociationsResult {
        associations: Some(all.iter().map(|a| a.rec.to_workspace_wire()).collect()),
    })
}

/// Advances a WorkSpace's deployment: PENDING_* → *ING, then *ING → COMPLETED / REMOVED.
pub(crate) fn apply_transition(
    svc: &Service,
    tx: &mut Tx<'_>,
    scope: &Scope,
    t: &PendingTransition,
    now: f64,
) -> Result<Option<PendingTransition>, Fault> {
    let all = associations_of(svc, scope, &t.resource_id)?;
    let mut again = false;
    for mut a in all {
        let next = match a.rec.state.as_str() {
            "PENDING_INSTALL" => {
                again = true;
                "INSTALLING"
            }
            "PENDING_UNINSTALL" => {
                again = true;
                "UNINSTALLING"
            }
            "INSTALLING" => "COMPLETED",
            "UNINSTALLING" => "REMOVED",
            _ => continue,
        };
        a.rec.state = next.into();
        a.rec.updated = now;
        tx.put(scope, &a.rec, Expect::Rev(a.rev))?;
    }
    let next = again.then(|| PendingTransition {
        due: now + svc.engine.timing().duration(TransitionKind::AppDeploy),
        ..t.clone()
    });
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_stable_and_distinct() {
        let ids: Vec<&str> = catalog().iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), 10);
        for (i, id) in ids.iter().enumerate() {
            assert!(id.starts_with("wsa-") && id.len() == 13, "{id}");
            assert!(!ids[..i].contains(id), "duplicate {id}");
        }
        assert_eq!(
            catalog()[0].id,
            stable_id("wsa-", "Microsoft Office LTSC Professional Plus 2021")
        );
    }
}
