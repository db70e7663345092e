"""Fidelity round 2 with boto3 on both protocols: AWS's published AMAZON bundle ids and
`--bundle-catalog`, `Owner: "Amazon"`, Directory Service tags, `RequestId` and quotas, the
"authorized applications" refusal, dedicated tenancy after BYOL, the rules around directories
and users, and IP groups around a deregistration on the default `fast` timing.

Directory Service is served on both protocols too: the `ds` client here is botocore's own
(awsJson1_1) or the same model switched to Smithy RPC v2 CBOR.
"""
import copy
import json
import os
import subprocess

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, Server, binary, error_of, make_client, random_account, scratch_dir
from flows import (
    LINUX_BUNDLE,
    SUBNETS,
    VPC,
    active_directory,
    admin,
    bundle_id,
    dir_state,
    ds_stage,
    poll,
    registered_directory,
    request,
)

# Ids real Terraform modules, templates and AWS's own CLI examples hard-code.
PUBLISHED = {
    "wsb-bh8rsxt14": ("Value with Windows 10", "VALUE", "80", "10"),
    "wsb-b0s22j3d7": ("Performance with Windows 7", "PERFORMANCE", "80", "100"),
    "wsb-df76rqys9": ("Value with Windows 10 and Office 2016", "VALUE", "80", "10"),
    "wsb-clj85qzj1": ("Standard with Amazon Linux 2", "STANDARD", "80", "50"),
    "wsb-gm4d5tx2v": ("Performance with Windows 10 (Server 2016 based)", "PERFORMANCE", "80", "100"),
    "wsb-1pzkp0bx4": ("PowerPro with Windows 7", "POWERPRO", "175", "100"),
    "wsb-2bs6k5lgn": ("Power with Amazon Linux 2", "POWER", "175", "100"),
    "wsb-03gyjnfyy": ("Graphics with Windows 10 (Server 2019 based)", "GRAPHICS", "100", "100"),
}

_ds_cbor = {}


def ds_for(url, protocol, account, region=REGION):
    """A Directory Service client speaking `protocol` (json or cbor)."""
    if protocol == "cbor":
        if "s" not in _ds_cbor:
            loader = botocore.session.get_session().get_component("data_loader")
            model = copy.deepcopy(loader.load_service_model("ds", "service-2"))
            model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
            model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
            root = scratch_dir("ls-ds-cbor-")
            d = os.path.join(root, "ds", model["metadata"]["apiVersion"])
            os.makedirs(d)
            with open(os.path.join(d, "service-2.json"), "w") as f:
                json.dump(model, f)
            s = botocore.session.get_session()
            s.get_component("data_loader").search_paths.insert(0, root)
            _ds_cbor["s"] = s
        session = boto3.Session(botocore_session=_ds_cbor["s"])
    else:
        session = boto3.Session()
    return session.client(
        "ds",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=account,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def simple_ad(ds, name="corp.example.com", **kw):
    return ds.create_directory(
        Name=name, Password="Passw0rd!", Size="Small", VpcSettings={"VpcId": VPC, "SubnetIds": SUBNETS}, **kw
    )["DirectoryId"]


def ds_error(excinfo):
    """(code, message, RequestId member) of a Directory Service error."""
    r = excinfo.value.response
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 400, r
    return r["Error"]["Code"], r["Error"]["Message"], r.get("RequestId")


@pytest.fixture
def ds(instant_server, protocol, account):
    return ds_for(instant_server.url, protocol, account)


@pytest.fixture
def iws(instant_server, protocol, account):
    return make_client(instant_server.url, protocol, account)


# ---------------------------------------------------------------- bundles


def test_published_bundle_ids_in_every_region(instant_server, protocol, account):
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        ws = make_client(instant_server.url, protocol, account, region=region)
        got = {b["BundleId"]: b for b in ws.describe_workspace_bundles(BundleIds=list(PUBLISHED))["Bundles"]}
        assert set(got) == set(PUBLISHED), region
        for bid, (name, compute, root, user) in PUBLISHED.items():
            b = got[bid]
            assert (b["Name"], b["ComputeType"]["Name"]) == (name, compute)
            assert (b["RootStorage"]["Capacity"], b["UserStorage"]["Capacity"]) == (root, user)
            # AWS answers "Amazon" for public bundles although the filter value is AMAZON.
            assert b["Owner"] == "Amazon" and b["State"] == "AVAILABLE" and b["BundleType"] == "REGULAR"


def test_owner_filter_amazon_any_case(iws):
    def ids(owner):
        return [b["BundleId"] for p in iws.get_paginator("describe_workspace_bundles").paginate(Owner=owner) for b in p["Bundles"]]

    amazon = ids("AMAZON")
    assert set(PUBLISHED) <= set(amazon)
    assert ids("Amazon") == amazon and ids("amazon") == amazon  # inferred: case-insensitive
    # Terraform's by-name lookup takes the first match: its acceptance test expects this id.
    first = next(
        b for p in iws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON") for b in p["Bundles"]
        if b["Name"] == "Value with Windows 10 and Office 2016"
    )
    assert first["BundleId"] == "wsb-df76rqys9"


def test_workspace_from_published_bundle(iws, instant_server, account):
    did = registered_directory(iws, ds_for(instant_server.url, "json", account))
    out = iws.create_workspaces(Workspaces=[request(did, "wsb-bh8rsxt14", "alice")])
    assert out["FailedRequests"] == []
    (w,) = out["PendingRequests"]
    assert w["BundleId"] == "wsb-bh8rsxt14" and w["WorkspaceProperties"]["ComputeTypeName"] == "VALUE"
    assert w["WorkspaceProperties"]["RootVolumeSizeGib"] == 80 and w["WorkspaceProperties"]["UserVolumeSizeGib"] == 10


CATALOG = {
    "Bundles": [
        {
            "BundleId": "wsb-abcd12345",
            "Name": "Standard with Ubuntu 22.04",
            "Owner": "Amazon",
            "Description": "Ubuntu 22.04 (WSP) 2 vCPU 4GiB Memory 50GB Storage",
            "ImageId": "wsi-abcd12345",
            "RootStorage": {"Capacity": "80"},
            "UserStorage": {"Capacity": "50"},
            "ComputeType": {"Name": "STANDARD"},
            "LastUpdatedTime": "2024-05-01T10:20:30.123000+00:00",
            "CreationTime": "2023-01-02T03:04:05+00:00",
            "State": "AVAILABLE",
            "BundleType": "REGULAR",
        },
        {
            "BundleId": "wsb-bh8rsxt14",
            "Name": "Value with Windows 10 (English)",
            "Owner": "Amazon",
            "Description": "Windows 10 Experience provided by Windows Server 2016",
            "ImageId": "wsi-bh8rsxt14",
            "RootStorage": {"Capacity": "80"},
            "UserStorage": {"Capacity": "10"},
            "ComputeType": {"Name": "VALUE"},
        },
    ]
}


def test_bundle_catalog_file_replaces_the_catalog(tmp_path):
    path = tmp_path / "bundles.json"
    path.write_text(json.dumps(CATALOG))
    srv = Server("--in-memory", "--timing", "instant", "--bundle-catalog", str(path)).start()
    try:
        for protocol in ("json", "cbor"):
            ws = make_client(srv.url, protocol)
            got = [b for p in ws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON") for b in p["Bundles"]]
            assert [b["BundleId"] for b in got] == ["wsb-abcd12345", "wsb-bh8rsxt14"]
            b = got[0]
            assert b["Owner"] == "Amazon" and b["ImageId"] == "wsi-abcd12345" and b["Description"].startswith("Ubuntu")
            assert b["CreationTime"].year == 2023 and b["LastUpdatedTime"].year == 2024
            assert ws.describe_workspace_bundles(BundleIds=["wsb-b0s22j3d7"])["Bundles"] == []  # not in the file
            # WorkSpaces launch from the file's bundles with their OS and protocol.
            account = random_account()
            ws = make_client(srv.url, protocol, account)
            did = registered_directory(ws, ds_for(srv.url, "json", account))
            (w,) = ws.create_workspaces(Workspaces=[request(did, "wsb-abcd12345", "u1")])["PendingRequests"]
            props = w["WorkspaceProperties"]
            assert props["OperatingSystemName"] == "UBUNTU_22_04" and props["Protocols"] == ["WSP"]
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize(
    "content,message",
    [
        ("not json", "not JSON"),
        ('{"Bundles": []}', "no bundles"),
        ('{"Bundles": [{"BundleId": "wsb-abc", "Name": "x"}]}', "Bundles[0]: BundleId 'wsb-abc' is not a bundle id"),
        (
            '{"Bundles": [{"BundleId": "wsb-abcd12345", "Name": "x", "ComputeType": {"Name": "HUGE"}, "UserStorage": {"Capacity": "10"}}]}',
            "ComputeType.Name 'HUGE' is not a WorkSpaces compute type",
        ),
    ],
)
def test_bad_bundle_catalog_stops_the_server_with_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bundles.json"
    path.write_text(content)
    r = subprocess.run(
        [binary(), "--port", "0", "--in-memory", "--bundle-catalog", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert "--bundle-catalog" in r.stderr and str(path) in r.stderr and message in r.stderr, r.stderr


# ---------------------------------------------------------------- Directory Service


def test_ds_tags(ds):
    did = simple_ad(ds, Tags=[{"Key": "env", "Value": "ci"}, {"Key": "team", "Value": "vdi"}])
    assert ds.list_tags_for_resource(ResourceId=did)["Tags"] == [
        {"Key": "env", "Value": "ci"},
        {"Key": "team", "Value": "vdi"},
    ]
    ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": ""}])
    tags = {t["Key"]: t["Value"] for t in ds.list_tags_for_resource(ResourceId=did)["Tags"]}
    assert tags == {"env": "prod", "team": "vdi", "cost": ""}  # upsert
    ds.remove_tags_from_resource(ResourceId=did, TagKeys=["team", "never-there"])
    assert {t["Key"] for t in ds.list_tags_for_resource(ResourceId=did)["Tags"]} == {"env", "cost"}
    # Pages.
    ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(10)])
    first = ds.list_tags_for_resource(ResourceId=did, Limit=5)
    assert len(first["Tags"]) == 5 and first["NextToken"]
    rest = ds.list_tags_for_resource(ResourceId=did, NextToken=first["NextToken"])
    assert len(first["Tags"]) + len(rest["Tags"]) == 12 and "NextToken" not in rest
    with pytest.raises(ClientError) as e:
        ds.list_tags_for_resource(ResourceId=did, NextToken="garbage")
    assert ds_error(e)[0] == "InvalidNextTokenException"


def test_ds_tag_limits_and_errors(ds):
    did = simple_ad(ds)
    ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as e:
        ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": "one-more", "Value": "v"}])
    code, _, request_id = ds_error(e)
    assert code == "TagLimitExceededException" and request_id == e.value.response["ResponseMetadata"]["RequestId"]
    assert len(ds.list_tags_for_resource(ResourceId=did)["Tags"]) == 50  # nothing written
    ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": "k0", "Value": "changed"}])  # overwrite fits
    unknown = "d-0000000000"
    for call in (
        lambda: ds.list_tags_for_resource(ResourceId=unknown),
        lambda: ds.add_tags_to_resource(ResourceId=unknown, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: ds.remove_tags_from_resource(ResourceId=unknown, TagKeys=["a"]),
    ):
        with pytest.raises(ClientError) as e:
            call()
        code, _, request_id = ds_error(e)
        assert code == "EntityDoesNotExistException" and request_id
    with pytest.raises(ClientError) as e:
        ds.add_tags_to_resource(ResourceId=did, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert ds_error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        simple_ad(ds, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert ds_error(e)[0] == "InvalidParameterException"
    assert len(ds.describe_directories()["DirectoryDescriptions"]) == 1  # nothing created


def test_ds_errors_carry_request_id(ds):
    with pytest.raises(ClientError) as e:
        ds.describe_directories(DirectoryIds=["d-0000000000"])
    code, _, request_id = ds_error(e)
    assert code == "EntityDoesNotExistException"
    assert request_id == e.value.response["ResponseMetadata"]["RequestId"]


def test_deleting_a_registered_directory_names_authorized_applications(instant_server, protocol, account):
    ws = make_client(instant_server.url, protocol, account)
    ds = ds_for(instant_server.url, protocol, account)
    did = registered_directory(ws, ds)
    with pytest.raises(ClientError) as e:
        ds.delete_directory(DirectoryId=did)
    code, message, _ = ds_error(e)
    # Terraform retries DeleteDirectory only while the text says so.
    assert code == "ClientException" and "authorized applications" in message
    assert ds_stage(ds, did) == "Active"


@pytest.fixture(scope="module")
def quota_server():
    srv = Server("--in-memory", "--timing", "instant", "--quota", "simple_ad=1,microsoft_ad=2,ad_connector=1").start()
    yield srv
    assert srv.stop() == 0


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_directory_quotas_per_type(quota_server, protocol):
    ds = ds_for(quota_server.url, protocol, random_account())
    simple_ad(ds)
    with pytest.raises(ClientError) as e:
        simple_ad(ds, name="second.example.com")
    code, message, request_id = ds_error(e)
    assert code == "DirectoryLimitExceededException" and "Simple AD" in message and request_id
    vpc = {"VpcId": VPC, "SubnetIds": SUBNETS}
    for _ in range(2):  # another type has its own quota
        ds.create_microsoft_ad(Name="ms.example.com", Password="Passw0rd!", VpcSettings=vpc)
    with pytest.raises(ClientError) as e:
        ds.create_microsoft_ad(Name="ms.example.com", Password="Passw0rd!", VpcSettings=vpc)
    assert ds_error(e)[0] == "DirectoryLimitExceededException"
    connect = dict(vpc, CustomerDnsIps=["10.0.0.2"], CustomerUserName="svc")
    ds.connect_directory(Name="on.example.com", Password="x", Size="Small", ConnectSettings=connect)
    with pytest.raises(ClientError) as e:
        ds.connect_directory(Name="on.example.com", Password="x", Size="Small", ConnectSettings=connect)
    assert ds_error(e)[0] == "DirectoryLimitExceededException"
    assert len(ds.describe_directories()["DirectoryDescriptions"]) == 4


# ---------------------------------------------------------------- BYOL / dedicated tenancy


def test_dedicated_tenancy_after_byol_is_enabled(instant_server, protocol, account):
    ws = make_client(instant_server.url, protocol, account)
    ds = ds_for(instant_server.url, "json", account)
    did = active_directory(ds)
    with pytest.raises(ClientError) as e:
        ws.register_workspace_directory(DirectoryId=did, Tenancy="DEDICATED")
    assert error_of(e)[0] == "InvalidParameterValuesException"  # BYOL not enabled yet
    status, _ = admin(instant_server.url, "byol", account=account, eligible="true")
    assert status == 200
    ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.20.0.0/16")
    poll(lambda: ws.describe_account()["DedicatedTenancySupport"], lambda s: s == "ENABLED")
    assert ws.register_workspace_directory(DirectoryId=did, Tenancy="DEDICATED")["State"] == "REGISTERING"
    poll(lambda: dir_state(ws, did), lambda s: s == "REGISTERED")
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert d["Tenancy"] == "DEDICATED"
    # Enabling again, with the same or another range, is refused and changes nothing.
    for cidr in ("10.20.0.0/16", "10.21.0.0/16"):
        with pytest.raises(ClientError) as e:
            ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange=cidr)
        assert error_of(e)[0] == "InvalidResourceStateException"
    assert ws.describe_account()["DedicatedTenancyManagementCidrRange"] == "10.20.0.0/16"
    assert len(ws.describe_account_modifications()["AccountModifications"]) == 1


# ---------------------------------------------------------------- directories and users


def pools_directory(ws):
    did = ws.register_workspace_directory(
        WorkspaceDirectoryName="pools-dir",
        WorkspaceDirectoryDescription="Pools directory",
        UserIdentityType="CUSTOMER_MANAGED",
        WorkspaceType="POOLS",
    )["DirectoryId"]
    poll(lambda: dir_state(ws, did), lambda s: s == "REGISTERED")
    return did


def test_pools_directory_takes_no_workspaces_or_personal_settings(iws):
    did = pools_directory(iws)
    out = iws.create_workspaces(Workspaces=[request(did, bundle_id(iws, LINUX_BUNDLE), "alice")])
    (f,) = out["FailedRequests"]
    assert f["ErrorCode"] == "InvalidResourceState.Directory" and out["PendingRequests"] == []  # code inferred
    with pytest.raises(ClientError) as e:
        iws.modify_selfservice_permissions(ResourceId=did, SelfservicePermissions={"RestartWorkspace": "ENABLED"})
    assert error_of(e)[0] == "OperationNotSupportedException"
    for props in ({"EnableMaintenanceMode": True}, {"UserEnabledAsLocalAdministrator": False}, {"DefaultOu": "OU=a,DC=b,DC=c"}):
        with pytest.raises(ClientError) as e:
            iws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties=props)
        assert error_of(e)[0] == "OperationNotSupportedException", props
    iws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties={"EnableInternetAccess": True})


@pytest.fixture
def personal(instant_server, protocol, account):
    ws = make_client(instant_server.url, protocol, account)
    raw = make_client(instant_server.url, protocol, account, validate=False)
    did = registered_directory(ws, ds_for(instant_server.url, "json", account))
    return ws, raw, did, bundle_id(ws, LINUX_BUNDLE)


def test_workspaces_without_a_user_need_a_name(personal):
    ws, _, did, b = personal
    out = ws.create_workspaces(
        Workspaces=[
            request(did, b, "[UNDEFINED]"),
            dict(request(did, b, "bob"), WorkspaceName="bobs-desk"),
            dict(request(did, b, "[UNDEFINED]"), WorkspaceName="kiosk-1"),
            dict(request(did, b, "[UNDEFINED]"), WorkspaceName="kiosk-2"),
            dict(request(did, b, "[UNDEFINED]"), WorkspaceName="kiosk-1"),
        ]
    )
    failed = [(f["WorkspaceRequest"].get("WorkspaceName"), f["ErrorCode"]) for f in out["FailedRequests"]]
    assert failed == [
        (None, "InvalidParameterValuesException"),
        ("bobs-desk", "InvalidParameterValuesException"),
        ("kiosk-1", "ResourceExists.WorkSpace"),
    ]
    assert sorted(w["WorkspaceName"] for w in out["PendingRequests"]) == ["kiosk-1", "kiosk-2"]
    assert [w["WorkspaceName"] for w in ws.describe_workspaces(WorkspaceName="kiosk-2")["Workspaces"]] == ["kiosk-2"]


def test_manual_running_mode_is_for_workspaces_core_accounts(personal, instant_server, account):
    ws, _, did, b = personal
    (f,) = ws.create_workspaces(Workspaces=[request(did, b, "m1", RunningMode="MANUAL")])["FailedRequests"]
    assert f["ErrorCode"] == "InvalidParameterValuesException" and "Core" in f["ErrorMessage"]
    wid = ws.create_workspaces(Workspaces=[request(did, b, "m2", RunningMode="AUTO_STOP")])["PendingRequests"][0]["WorkspaceId"]
    poll(lambda: ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"][0]["State"], lambda s: s == "AVAILABLE")
    with pytest.raises(ClientError) as e:
        ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningMode": "MANUAL"})
    assert error_of(e)[0] == "InvalidParameterValuesException"
    status, body = admin(instant_server.url, "core", account=account, enabled="true")
    assert status == 200 and body == {"workspaces_core": True}
    out = ws.create_workspaces(Workspaces=[request(did, b, "m1", RunningMode="MANUAL")])
    assert out["FailedRequests"] == [] and out["PendingRequests"][0]["WorkspaceProperties"]["RunningMode"] == "MANUAL"
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningMode": "MANUAL"})
    assert ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"][0]["WorkspaceProperties"]["RunningMode"] == "MANUAL"


def test_batch_items_without_id_are_reported(personal):
    ws, raw, did, b = personal
    wid = ws.create_workspaces(Workspaces=[request(did, b, "s1", RunningMode="AUTO_STOP")])["PendingRequests"][0]["WorkspaceId"]
    poll(lambda: ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"][0]["State"], lambda s: s == "AVAILABLE")
    out = raw.stop_workspaces(StopWorkspaceRequests=[{}, {"WorkspaceId": wid}, {"WorkspaceId": wid}])
    assert [(f.get("WorkspaceId"), f["ErrorCode"]) for f in out["FailedRequests"]] == [
        (None, "InvalidParameterValuesException"),
        (wid, "InvalidResourceState.Workspace"),  # the same WorkSpace twice (inferred)
    ]
    out = raw.start_workspaces(StartWorkspaceRequests=[{}])
    assert [(f.get("WorkspaceId"), f["ErrorCode"]) for f in out["FailedRequests"]] == [(None, "InvalidParameterValuesException")]


def test_directory_setting_values(personal):
    ws, raw, did, _ = personal
    for ou in ("", "Desks", "OU=Desks", "OU=Desks,DC=corp", "DC=corp,OU=x,DC=com", "OU=,DC=a,DC=b"):
        with pytest.raises(ClientError) as e:
            raw.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties={"DefaultOu": ou})
        assert error_of(e)[0] == "InvalidParameterValuesException", ou
    ou = "OU=Desks,OU=Corp,DC=corp,DC=example,DC=com"
    ws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties={"DefaultOu": ou})
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert d["WorkspaceCreationProperties"]["DefaultOu"] == ou
    with pytest.raises(ClientError) as e:
        ws.modify_client_properties(ResourceId=did, ClientProperties={"ClientExperiencePolicy": "FORCE_NEW"})
    assert error_of(e)[0] == "InvalidParameterValuesException"
    for policy in ("FORCE_CLASSIC", "FORCE_UI_2026", "USER_CHOICE"):
        ws.modify_client_properties(ResourceId=did, ClientProperties={"ClientExperiencePolicy": policy})
        (c,) = ws.describe_client_properties(ResourceIds=[did])["ClientPropertiesList"]
        assert c["ClientProperties"]["ClientExperiencePolicy"] == policy
    for name in ("", " "):
        with pytest.raises(ClientError) as e:
            raw.create_ip_group(GroupName=name)
        assert error_of(e)[0] == "InvalidParameterValuesException", repr(name)


# ---------------------------------------------------------------- IP groups around deregistration (fast timing)


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_ip_groups_after_deregistration_on_fast_timing(servers, engine, protocol):
    """What Terraform does when it destroys a directory with IP groups: deregister, wait until
    the directory reads as gone (DEREGISTERED counts), then find directories holding the group,
    disassociate, delete the group."""
    url, account = servers[engine].url, random_account()
    ws = make_client(url, protocol, account)
    did = registered_directory(ws, ds_for(url, "json", account))
    g1, g2 = (ws.create_ip_group(GroupName=n, UserRules=[{"ipRule": "10.0.0.0/16"}])["GroupId"] for n in ("a", "b"))
    ws.associate_ip_groups(DirectoryId=did, GroupIds=[g1, g2])
    # A group removed from the configuration is deleted first (its own delete disassociates),
    # then the directory update disassociates it again: that succeeds.
    ws.disassociate_ip_groups(DirectoryId=did, GroupIds=[g2])
    ws.delete_ip_group(GroupId=g2)
    ws.disassociate_ip_groups(DirectoryId=did, GroupIds=[g2])
    assert ws.describe_workspace_directories(DirectoryIds=[did])["Directories"][0]["ipGroupIds"] == [g1]
    ws.deregister_workspace_directory(DirectoryId=did)
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert d["State"] == "DEREGISTERING" and "ipGroupIds" not in d
    ws.delete_ip_group(GroupId=g1)  # no longer held by the directory
    assert ws.describe_ip_groups(GroupIds=[g1])["Result"] == []
    with pytest.raises(ClientError) as e:
        ws.deregister_workspace_directory(DirectoryId=did)
    assert error_of(e)[0] == "InvalidResourceStateException"  # still DEREGISTERING (Terraform retries)
    poll(lambda: dir_state(ws, did), lambda s: s in ("DEREGISTERED", "<gone>"), timeout=20)


def test_microsoft_ad_hybrid_edition_is_unsupported(ds):
    vpc = {"VpcId": VPC, "SubnetIds": SUBNETS}
    with pytest.raises(ClientError) as e:
        ds.create_microsoft_ad(Name="ms.example.com", Password="Passw0rd!", Edition="Hybrid", VpcSettings=vpc)
    code, message, request_id = ds_error(e)
    assert code == "UnsupportedOperationException" and "Hybrid" in message and request_id
    assert ds.describe_directories()["DirectoryDescriptions"] == []
    did = ds.create_microsoft_ad(Name="ms.example.com", Password="Passw0rd!", Edition="Standard", VpcSettings=vpc)["DirectoryId"]
    (d,) = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"]
    assert d["Edition"] == "Standard" and d["Type"] == "MicrosoftAD"


def test_microsoft_ad_registration_reports_its_admin(ds, iws):
    vpc = {"VpcId": VPC, "SubnetIds": SUBNETS}
    did = ds.create_microsoft_ad(Name="ms.example.com", Password="Passw0rd!", VpcSettings=vpc)["DirectoryId"]
    poll(lambda: ds_stage(ds, did), lambda s: s == "Active")
    iws.register_workspace_directory(DirectoryId=did)
    poll(lambda: dir_state(iws, did), lambda s: s == "REGISTERED")
    (d,) = iws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    # No DirectoryType value names Microsoft AD; AD_CONNECTOR is the reference's choice (inferred).
    assert d["CustomerUserName"] == "Admin" and d["DirectoryType"] == "AD_CONNECTOR"


def test_pools_refuse_new_customers_when_switched_on(iws, instant_server, account):
    did = pools_directory(iws)
    status, body = admin(instant_server.url, "pools-new-customer", account=account, enabled="true")
    assert status == 200 and body == {"pools_new_customer": True}
    kw = dict(
        PoolName="p1", Description="d", BundleId=bundle_id(iws, "Standard with Windows 10 (Server 2022 based)"),
        DirectoryId=did, Capacity={"DesiredUserSessions": 1},
    )
    with pytest.raises(ClientError) as e:
        iws.create_workspaces_pool(**kw)
    code, message = error_of(e)
    assert code == "AccessDeniedException" and "no longer available to new customers" in message
    admin(instant_server.url, "pools-new-customer", account=account, enabled="false")
    assert iws.create_workspaces_pool(**kw)["WorkspacesPool"]["PoolName"] == "p1"
