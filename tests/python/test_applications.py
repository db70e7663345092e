"""Managed applications through boto3 on both protocols and both engines: the catalog,
associate / disassociate / deploy with their association states, and every modeled error."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import LINUX_BUNDLE, bundle_id, create_one, ds_client, poll, registered_directory, settle

OFFICE_PRO = "Microsoft Office LTSC Professional Plus 2021"
OFFICE_STD = "Microsoft Office LTSC Standard 2021"
VISUAL_STUDIO = "Microsoft Visual Studio Professional 2022"
OFFICE_2019 = "Microsoft Office Professional Plus 2019"


@pytest.fixture
def server(instant_server):
    return instant_server


def apps_by_name(ws):
    """The whole catalog, page by page (botocore 1.44.3 has no paginator for it)."""
    out, token = {}, None
    while True:
        page = ws.describe_applications(MaxResults=3, **({"NextToken": token} if token else {}))
        out.update({a["Name"]: a for a in page["Applications"]})
        token = page.get("NextToken")
        if not token:
            return out


def windows_workspace(ws, account, url, user="alice", compute_bundle=None):
    d = registered_directory(ws, ds_client(url, account))
    return create_one(ws, d, compute_bundle or bundle_id(ws), user), d


def test_catalog_is_stable_and_filterable(ws):
    apps = apps_by_name(ws)
    assert len(apps) == 10
    office = apps[OFFICE_PRO]
    assert office["ApplicationId"].startswith("wsa-") and len(office["ApplicationId"]) == 13
    assert office["Owner"] == "AMAZON" and office["LicenseType"] == "LICENSED"
    assert office["State"] == "AVAILABLE"
    assert "WINDOWS_10" in office["SupportedOperatingSystemNames"]
    assert apps[OFFICE_2019]["State"] == "UNINSTALL_ONLY"
    # Same ids from another account (and on every machine).
    other = make_client(ws.meta.endpoint_url, "json", random_account())
    assert apps_by_name(other)[OFFICE_PRO]["ApplicationId"] == office["ApplicationId"]
    got = ws.describe_applications(ApplicationIds=[office["ApplicationId"]])["Applications"]
    assert [a["Name"] for a in got] == [OFFICE_PRO]
    value_only = ws.describe_applications(ComputeTypeNames=["VALUE"])["Applications"]
    assert value_only == []
    linux = ws.describe_applications(OperatingSystemNames=["AMAZON_LINUX_2"])["Applications"]
    assert linux == []
    assert ws.describe_applications(LicenseType="UNLICENSED")["Applications"] == []
    assert ws.describe_applications(Owner="123456789012")["Applications"] == []
    page = ws.describe_applications(MaxResults=4)
    assert len(page["Applications"]) == 4 and page["NextToken"]
    with pytest.raises(ClientError) as e:
        ws.describe_applications(NextToken="not-a-token")
    assert error_of(e)[0] == "InvalidParameterValuesException"


def test_associate_deploy_disassociate(server, protocol):
    account = random_account()
    ws = make_client(server.url, protocol, account)
    apps = apps_by_name(ws)
    wid, _ = windows_workspace(ws, account, server.url)
    office = apps[OFFICE_PRO]["ApplicationId"]
    a = ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=office)["Association"]
    assert a["AssociatedResourceId"] == office and a["WorkspaceId"] == wid
    assert a["AssociatedResourceType"] == "APPLICATION"
    assert a["State"] == "PENDING_INSTALL_DEPLOYMENT"
    with pytest.raises(ClientError) as e:
        ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=office)
    assert error_of(e)[0] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=apps[OFFICE_STD]["ApplicationId"])
    assert error_of(e)[0] == "IncompatibleApplicationsException"

    dep = ws.deploy_workspace_applications(WorkspaceId=wid)["Deployment"]["Associations"]
    assert [x["State"] for x in dep] == ["PENDING_INSTALL"]
    (x,) = ws.describe_workspace_associations(WorkspaceId=wid, AssociatedResourceTypes=["APPLICATION"])["Associations"]
    assert x["State"] == "COMPLETED"  # instant timing
    listed = ws.describe_application_associations(ApplicationId=office, AssociatedResourceTypes=["WORKSPACE"])
    assert [(y["AssociatedResourceId"], y["State"]) for y in listed["Associations"]] == [(wid, "COMPLETED")]
    assert ws.describe_application_associations(ApplicationId=office, AssociatedResourceTypes=["BUNDLE", "IMAGE"])[
        "Associations"
    ] == []

    d = ws.disassociate_workspace_application(WorkspaceId=wid, ApplicationId=office)["Association"]
    assert d["State"] == "PENDING_UNINSTALL_DEPLOYMENT"
    ws.deploy_workspace_applications(WorkspaceId=wid)
    (x,) = ws.describe_workspace_associations(WorkspaceId=wid, AssociatedResourceTypes=["APPLICATION"])["Associations"]
    assert x["State"] == "REMOVED"
    with pytest.raises(ClientError) as e:
        ws.disassociate_workspace_application(WorkspaceId=wid, ApplicationId=office)
    assert error_of(e)[0] == "ResourceNotFoundException"
    # Once removed, the Standard edition fits, and Office can come back later.
    ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=apps[OFFICE_STD]["ApplicationId"])
    never = ws.disassociate_workspace_application(WorkspaceId=wid, ApplicationId=apps[OFFICE_STD]["ApplicationId"])
    assert never["Association"]["State"] == "REMOVED", "never deployed: nothing to uninstall"
    assert ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=office)["Association"]["State"] == (
        "PENDING_INSTALL_DEPLOYMENT"
    )


def test_refusals(server, protocol):
    account = random_account()
    ws = make_client(server.url, protocol, account)
    apps = apps_by_name(ws)
    office = apps[OFFICE_PRO]["ApplicationId"]
    d = registered_directory(ws, ds_client(server.url, account))
    standard = create_one(ws, d, bundle_id(ws), "bob")
    linux = create_one(ws, d, bundle_id(ws, LINUX_BUNDLE), "carol")
    missing_ws, missing_app = "ws-000000000", "wsa-000000000"
    for op, kw, code in [
        ("associate_workspace_application", {"WorkspaceId": missing_ws, "ApplicationId": office}, "ResourceNotFoundException"),
        ("associate_workspace_application", {"WorkspaceId": standard, "ApplicationId": missing_app}, "ResourceNotFoundException"),
        ("associate_workspace_application", {"WorkspaceId": linux, "ApplicationId": office}, "OperatingSystemNotCompatibleException"),
        ("associate_workspace_application", {"WorkspaceId": standard, "ApplicationId": apps[OFFICE_2019]["ApplicationId"]}, "ApplicationNotSupportedException"),
        ("associate_workspace_application", {"WorkspaceId": standard, "ApplicationId": apps[VISUAL_STUDIO]["ApplicationId"]}, "ComputeNotCompatibleException"),
        ("disassociate_workspace_application", {"WorkspaceId": standard, "ApplicationId": office}, "ResourceNotFoundException"),
        ("deploy_workspace_applications", {"WorkspaceId": missing_ws}, "ResourceNotFoundException"),
        ("describe_workspace_associations", {"WorkspaceId": missing_ws, "AssociatedResourceTypes": ["APPLICATION"]}, "ResourceNotFoundException"),
        ("describe_application_associations", {"ApplicationId": missing_app, "AssociatedResourceTypes": ["WORKSPACE"]}, "ResourceNotFoundException"),
    ]:
        with pytest.raises(ClientError) as e:
            getattr(ws, op)(**kw)
        assert error_of(e)[0] == code, (op, kw)
    # Not AVAILABLE or STOPPED: refused while it reboots (forced through the admin route).
    from flows import admin

    status, _ = admin(server.url, "workspace-state", account=account, region="us-east-1", workspace_id=standard, state="REBOOTING")
    assert status == 200
    with pytest.raises(ClientError) as e:
        ws.associate_workspace_application(WorkspaceId=standard, ApplicationId=office)
    assert error_of(e)[0] == "ResourceInUseException"
    # Deploy with nothing pending is an empty deployment.
    status, _ = admin(server.url, "workspace-state", account=account, region="us-east-1", workspace_id=standard, state="AVAILABLE")
    assert ws.deploy_workspace_applications(WorkspaceId=standard)["Deployment"]["Associations"] == []


def test_deployment_states_on_fast_timing(servers, protocol):
    account = random_account()
    url = servers["memory"].url
    ws = make_client(url, protocol, account)
    d = registered_directory(ws, ds_client(url, account))
    wid = create_one(ws, d, bundle_id(ws), "dave")
    office = apps_by_name(ws)[OFFICE_PRO]["ApplicationId"]
    ws.associate_workspace_application(WorkspaceId=wid, ApplicationId=office)
    ws.deploy_workspace_applications(WorkspaceId=wid)
    state = lambda: ws.describe_workspace_associations(WorkspaceId=wid, AssociatedResourceTypes=["APPLICATION"])[  # noqa: E731
        "Associations"
    ][0]["State"]
    with pytest.raises(ClientError) as e:
        ws.deploy_workspace_applications(WorkspaceId=wid)
    assert error_of(e)[0] == "ResourceInUseException", "one deployment at a time"
    with pytest.raises(ClientError) as e:
        ws.disassociate_workspace_application(WorkspaceId=wid, ApplicationId=office)
    assert error_of(e)[0] == "ResourceInUseException"
    log = poll(state, lambda s: s == "COMPLETED", {"PENDING_INSTALL", "INSTALLING", "COMPLETED"})
    assert log.states[0] == "PENDING_INSTALL"
    settle(url)
