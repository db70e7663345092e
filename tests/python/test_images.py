"""Images and custom bundles through boto3 on both protocols and engines:
capture from a WorkSpace (SUSPENDED meanwhile), copy to another Region, BYOL imports, updated
images, sharing with another account, custom bundles (create, launch WorkSpaces from them,
update, delete), their errors, pagination and tags.

Most tests run with `--timing instant`; the state sequences run on the default (fast) servers."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import (
    GONE,
    admin,
    bundle_id,
    create_one,
    ds_client,
    poll,
    registered_directory,
    request,
    ws_state,
)

REGION = "us-east-1"
OTHER_REGION = "us-west-2"


@pytest.fixture
def server(instant_server):
    return instant_server


def err(fn, *args, **kw):
    with pytest.raises(ClientError) as e:
        fn(*args, **kw)
    return error_of(e)[0]


def available_workspace(ws, url, account, user="alice", **props):
    did = registered_directory(ws, ds_client(url, account))
    return did, create_one(ws, did, bundle_id(ws), user, **props)


def image(ws, image_id):
    got = ws.describe_workspace_images(ImageIds=[image_id])["Images"]
    return got[0] if got else None


def image_state(ws, image_id):
    i = image(ws, image_id)
    return i["State"] if i else GONE


def enable_byol(ws, url, account, region=REGION):
    status, body = admin(url, "byol", account=account, region=region, eligible="true")
    assert status == 200, body
    ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.7.0.0/16")
    poll(lambda: ws.describe_account()["DedicatedTenancySupport"], lambda s: s == "ENABLED")


def captured_image(ws, url, account, name="golden"):
    _, wid = available_workspace(ws, url, account)
    out = ws.create_workspace_image(Name=name, Description="from alice", WorkspaceId=wid)
    return wid, out["ImageId"]


# ---------------------------------------------------------------------------------------------
# CreateWorkspaceImage and DescribeWorkspaceImages


def test_capture_and_describe(ws, server, account):
    _, wid = available_workspace(ws, server.url, account)
    out = ws.create_workspace_image(
        Name="golden-1", Description="from alice", WorkspaceId=wid, Tags=[{"Key": "team", "Value": "eng"}]
    )
    iid = out["ImageId"]
    assert iid.startswith("wsi-") and len(iid) == 13
    assert out["Name"] == "golden-1" and out["Description"] == "from alice"
    assert out["OperatingSystem"] == {"Type": "WINDOWS"}
    assert out["State"] == "PENDING" and out["RequiredTenancy"] == "DEFAULT"
    assert out["OwnerAccountId"] == account and out["Created"].year >= 2024
    # instant timing: the capture has ended and the WorkSpace is AVAILABLE again
    i = image(ws, iid)
    assert i["State"] == "AVAILABLE" and i["OwnerAccountId"] == account
    assert i["Updates"]["UpdateAvailable"] is False and i["Updates"]["Description"]
    assert ws_state(ws, wid) == "AVAILABLE"
    assert [x["ImageId"] for x in ws.describe_workspace_images()["Images"]] == [iid]
    assert [x["ImageId"] for x in ws.describe_workspace_images(ImageType="OWNED")["Images"]] == [iid]
    assert ws.describe_workspace_images(ImageType="SHARED")["Images"] == []
    assert ws.describe_workspace_images(ImageIds=["wsi-000000000"])["Images"] == []
    assert ws.describe_image_associations(ImageId=iid, AssociatedResourceTypes=["APPLICATION"])[
        "Associations"
    ] == []
    assert ws.describe_tags(ResourceId=iid)["TagList"] == [{"Key": "team", "Value": "eng"}]
    # a Linux WorkSpace gives a LINUX image
    did = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"][0]["DirectoryId"]
    lid = create_one(ws, did, bundle_id(ws, "Standard with Amazon Linux 2"), "bob")
    out = ws.create_workspace_image(Name="linux-1", Description="linux", WorkspaceId=lid)
    assert out["OperatingSystem"] == {"Type": "LINUX"}


def test_capture_errors(ws, raw_ws, server, account):
    did, wid = available_workspace(ws, server.url, account)
    assert err(ws.create_workspace_image, Name="x", Description="d", WorkspaceId="ws-000000000") == (
        "ResourceNotFoundException"
    )
    ws.create_workspace_image(Name="taken", Description="d", WorkspaceId=wid)
    assert err(ws.create_workspace_image, Name="taken", Description="d", WorkspaceId=wid) == (
        "ResourceAlreadyExistsException"
    )
    # a STOPPED WorkSpace is not AVAILABLE
    sid = create_one(ws, did, bundle_id(ws), "stopper", RunningMode="AUTO_STOP")
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": sid}])
    assert ws_state(ws, sid) == "STOPPED"
    assert err(ws.create_workspace_image, Name="y", Description="d", WorkspaceId=sid) == (
        "InvalidResourceStateException"
    )
    # encrypted WorkSpaces cannot be captured
    req = request(did, bundle_id(ws), "crypt")
    req.update(VolumeEncryptionKey="alias/aws/workspaces", UserVolumeEncryptionEnabled=True)
    (enc,) = ws.create_workspaces(Workspaces=[req])["PendingRequests"]
    assert err(ws.create_workspace_image, Name="z", Description="d", WorkspaceId=enc["WorkspaceId"]) == (
        "OperationNotSupportedException"
    )
    # model validation (server side)
    assert err(raw_ws.create_workspace_image, Name="bad name!", Description="d", WorkspaceId=wid) == (
        "ValidationException"
    )
    assert err(raw_ws.describe_workspace_images, ImageIds=["ami-123"]) == "ValidationException"
    assert err(raw_ws.describe_workspace_images, MaxResults=26) == "ValidationException"
    assert err(raw_ws.describe_workspace_images, NextToken="garbage") == "ValidationException"


def test_describe_images_pagination(ws, server, account):
    _, iid = captured_image(ws, server.url, account, "img-00")
    ids = [iid] + [
        ws.copy_workspace_image(Name=f"img-{n:02}", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
        for n in range(1, 12)
    ]
    first = ws.describe_workspace_images(MaxResults=5)
    assert [i["ImageId"] for i in first["Images"]] == ids[:5] and first["NextToken"]
    pages = list(ws.get_paginator("describe_workspace_images").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Images"]) for p in pages] == [5, 5, 2]
    assert [i["ImageId"] for p in pages for i in p["Images"]] == ids
    assert "NextToken" not in pages[-1]
    # a token is tied to its filters
    assert err(ws.describe_workspace_images, ImageType="OWNED", NextToken=first["NextToken"]) == (
        "ValidationException"
    )
    got = ws.describe_workspace_images(ImageIds=[ids[3], "wsi-000000000", ids[1]])["Images"]
    assert [i["ImageId"] for i in got] == [ids[3], ids[1]]


def test_image_quota(ws, server, account):
    _, iid = captured_image(ws, server.url, account, "q-00")
    for n in range(1, 40):
        ws.copy_workspace_image(Name=f"q-{n:02}", SourceImageId=iid, SourceRegion=REGION)
    assert err(ws.copy_workspace_image, Name="q-40", SourceImageId=iid, SourceRegion=REGION) == (
        "ResourceLimitExceededException"
    )


# ---------------------------------------------------------------------------------------------
# states on the fast servers


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_capture_states_on_fast_timing(servers, engine, protocol):
    url, account = servers[engine].url, random_account()
    ws = make_client(url, protocol, account)
    _, wid = available_workspace(ws, url, account)
    out = ws.create_workspace_image(Name="golden", Description="d", WorkspaceId=wid)
    iid = out["ImageId"]
    assert out["State"] == "PENDING"
    assert ws_state(ws, wid) == "SUSPENDED", "the WorkSpace is SUSPENDED during capture"
    # while capturing, the WorkSpace cannot be terminated, and the image is not usable yet
    failed = ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": wid}])["FailedRequests"]
    assert [f["WorkspaceId"] for f in failed] == [wid]
    assert err(
        ws.create_workspace_bundle,
        BundleName="early",
        BundleDescription="d",
        ImageId=iid,
        ComputeType={"Name": "STANDARD"},
        UserStorage={"Capacity": "50"},
    ) == "ResourceUnavailableException"
    assert err(ws.copy_workspace_image, Name="c", SourceImageId=iid, SourceRegion=REGION) == (
        "ResourceUnavailableException"
    )
    assert err(ws.update_workspace_image_permission, ImageId=iid, AllowCopyImage=True,
               SharedAccountId=random_account()) == "ResourceUnavailableException"
    assert err(ws.delete_workspace_image, ImageId=iid) == "InvalidResourceStateException"
    log = poll(lambda: image_state(ws, iid), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"})
    assert log.states == ["PENDING", "AVAILABLE"]
    poll(lambda: ws_state(ws, wid), lambda s: s == "AVAILABLE", {"SUSPENDED", "AVAILABLE"})
    # a copy into another Region: PENDING there, then AVAILABLE
    west = make_client(url, protocol, account, region=OTHER_REGION)
    cid = west.copy_workspace_image(Name="golden", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    log = poll(lambda: image_state(west, cid), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"})
    assert log.states == ["PENDING", "AVAILABLE"]


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_custom_import_states_on_fast_timing(servers, engine, protocol):
    url, account = servers[engine].url, random_account()
    ws = make_client(url, protocol, account)
    enable_byol(ws, url, account)
    out = ws.import_custom_workspace_image(
        ImageName="custom",
        ImageDescription="d",
        ComputeType="BASE",
        Protocol="DCV",
        ImageSource={"Ec2ImageId": "ami-0123456789abcdef0"},
        InfrastructureConfigurationArn="arn:aws:imagebuilder:us-east-1:123456789012:infrastructure-configuration/ws",
        Platform="WINDOWS",
        OsVersion="Windows_11",
    )
    iid = out["ImageId"]
    assert out["State"] == "PENDING"
    log = poll(
        lambda: ws.describe_custom_workspace_image_import(ImageId=iid)["State"],
        lambda s: s == "COMPLETED",
        {"PENDING", "IN_PROGRESS", "COMPLETED"},
    )
    assert log.states == ["PENDING", "IN_PROGRESS", "COMPLETED"]
    assert image(ws, iid)["State"] == "AVAILABLE"
    imp = ws.import_workspace_image(
        Ec2ImageId="ami-0123456789abcdef1", IngestionProcess="BYOL_REGULAR_WSP", ImageName="byol", ImageDescription="d"
    )["ImageId"]
    log = poll(lambda: image_state(ws, imp), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"})
    assert log.states == ["PENDING", "AVAILABLE"]


# ---------------------------------------------------------------------------------------------
# copy to another Region


def test_copy_to_another_region(ws, server, protocol, account):
    _, iid = captured_image(ws, server.url, account)
    west = make_client(server.url, protocol, account, region=OTHER_REGION)
    cid = west.copy_workspace_image(
        Name="golden-west", Description="copy", SourceImageId=iid, SourceRegion=REGION,
        Tags=[{"Key": "copy", "Value": "yes"}],
    )["ImageId"]
    assert cid != iid
    got = west.describe_workspace_images()["Images"]
    assert [i["ImageId"] for i in got] == [cid], "the copy lives in the destination Region"
    assert got[0]["OwnerAccountId"] == account and got[0]["Name"] == "golden-west"
    assert got[0]["OperatingSystem"] == {"Type": "WINDOWS"} and got[0]["State"] == "AVAILABLE"
    assert west.describe_tags(ResourceId=cid)["TagList"] == [{"Key": "copy", "Value": "yes"}]
    assert [i["ImageId"] for i in ws.describe_workspace_images()["Images"]] == [iid]
    assert image(ws, cid) is None
    # the same name in the destination Region is taken; the source Region's names are not
    assert west.copy_workspace_image(Name="golden", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    assert err(west.copy_workspace_image, Name="golden-west", SourceImageId=iid, SourceRegion=REGION) == (
        "ResourceAlreadyExistsException"
    )
    # the source must exist in the source Region
    assert err(west.copy_workspace_image, Name="n", SourceImageId=iid, SourceRegion="eu-west-1") == (
        "ResourceNotFoundException"
    )
    assert err(west.copy_workspace_image, Name="n", SourceImageId="wsi-000000000", SourceRegion=REGION) == (
        "ResourceNotFoundException"
    )
    china = make_client(server.url, protocol, account, region="cn-north-1")
    assert err(china.copy_workspace_image, Name="n", SourceImageId=iid, SourceRegion=REGION) == (
        "OperationNotSupportedException"
    )


# ---------------------------------------------------------------------------------------------
# sharing with another account


def test_sharing_between_two_accounts(ws, server, protocol, account):
    _, iid = captured_image(ws, server.url, account)
    other_id = random_account()
    other = make_client(server.url, protocol, other_id)
    assert image(other, iid) is None
    assert ws.describe_workspace_image_permissions(ImageId=iid)["ImagePermissions"] == []
    ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=True, SharedAccountId=other_id)
    ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=True, SharedAccountId=other_id)  # no-op
    perms = ws.describe_workspace_image_permissions(ImageId=iid)
    assert perms["ImageId"] == iid and perms["ImagePermissions"] == [{"SharedAccountId": other_id}]
    # the other account sees it as SHARED, owned by the first
    shared = other.describe_workspace_images(ImageType="SHARED")["Images"]
    assert [i["ImageId"] for i in shared] == [iid] and shared[0]["OwnerAccountId"] == account
    assert other.describe_workspace_images(ImageType="OWNED")["Images"] == []
    assert [i["ImageId"] for i in other.describe_workspace_images()["Images"]] == [iid]
    assert image(other, iid)["OwnerAccountId"] == account
    assert other.describe_image_associations(ImageId=iid, AssociatedResourceTypes=["APPLICATION"])[
        "Associations"
    ] == []
    # only the owner manages it
    # (permissions: ResourceNotFoundException for the recipient, inferred, was AccessDenied;
    # deleting: AccessDenied, inferred)
    assert err(other.describe_workspace_image_permissions, ImageId=iid) == "ResourceNotFoundException"
    assert err(other.update_workspace_image_permission, ImageId=iid, AllowCopyImage=True,
               SharedAccountId=random_account()) == "ResourceNotFoundException"
    assert err(other.delete_workspace_image, ImageId=iid) == "AccessDeniedException"
    assert err(
        other.create_workspace_bundle, BundleName="b", BundleDescription="d", ImageId=iid,
        ComputeType={"Name": "STANDARD"}, UserStorage={"Capacity": "50"},
    ) == "ResourceNotFoundException"
    # the other account may copy it, and owns the copy
    cid = other.copy_workspace_image(Name="mine-now", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    assert image(other, cid)["OwnerAccountId"] == other_id
    assert {i["ImageId"] for i in other.describe_workspace_images(ImageType="OWNED")["Images"]} == {cid}
    # a shared image cannot be deleted until unshared
    assert err(ws.delete_workspace_image, ImageId=iid) == "InvalidResourceStateException"
    ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=False, SharedAccountId=other_id)
    assert image(other, iid) is None
    assert other.describe_workspace_images(ImageType="SHARED")["Images"] == []
    assert ws.describe_workspace_image_permissions(ImageId=iid)["ImagePermissions"] == []
    ws.delete_workspace_image(ImageId=iid)
    assert image(ws, iid) is None
    assert image(other, cid)["State"] == "AVAILABLE", "the copy is independent"


def test_sharing_errors_and_permission_pages(ws, raw_ws, server, account):
    _, iid = captured_image(ws, server.url, account)
    assert err(ws.update_workspace_image_permission, ImageId=iid, AllowCopyImage=True,
               SharedAccountId=account) == "InvalidParameterValuesException"
    assert err(ws.update_workspace_image_permission, ImageId="wsi-000000000", AllowCopyImage=True,
               SharedAccountId=random_account()) == "ResourceNotFoundException"
    assert err(ws.describe_workspace_image_permissions, ImageId="wsi-000000000") == "ResourceNotFoundException"
    assert err(raw_ws.update_workspace_image_permission, ImageId=iid, AllowCopyImage=True,
               SharedAccountId="12345") == "ValidationException"
    accounts = [random_account() for _ in range(5)]
    for a in accounts:
        ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=True, SharedAccountId=a)
    first = ws.describe_workspace_image_permissions(ImageId=iid, MaxResults=2)
    assert [p["SharedAccountId"] for p in first["ImagePermissions"]] == accounts[:2] and first["NextToken"]
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = ws.describe_workspace_image_permissions(ImageId=iid, MaxResults=2, **kw)
        seen += [p["SharedAccountId"] for p in page["ImagePermissions"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == accounts
    assert err(ws.describe_workspace_image_permissions, ImageId=iid, NextToken="garbage") == (
        "InvalidParameterValuesException"
    )


# ---------------------------------------------------------------------------------------------
# DeleteWorkspaceImage


def test_delete_image(ws, server, account):
    wid, iid = captured_image(ws, server.url, account)
    ws.delete_workspace_image(ImageId=iid)
    assert image(ws, iid) is None
    assert ws.describe_workspace_images()["Images"] == []
    # ResourceNotFoundException is not modeled: deleting an unknown image succeeds (inferred)
    assert ws.delete_workspace_image(ImageId="wsi-000000000")["ResponseMetadata"]["HTTPStatusCode"] == 200
    # the name is free again
    again = ws.create_workspace_image(Name="golden", Description="d", WorkspaceId=wid)["ImageId"]
    assert again != iid and image(ws, again)["State"] == "AVAILABLE"


# ---------------------------------------------------------------------------------------------
# BYOL imports and updated images


def test_byol_imports(ws, raw_ws, server, account):
    kw = dict(Ec2ImageId="ami-0123456789abcdef0", IngestionProcess="BYOL_REGULAR", ImageName="byol",
              ImageDescription="imported")
    assert err(ws.import_workspace_image, **kw) == "AccessDeniedException"
    custom = dict(
        ImageName="custom", ImageDescription="d", ComputeType="BASE", Protocol="DCV",
        ImageSource={"Ec2ImageId": "ami-0123456789abcdef0"},
        InfrastructureConfigurationArn="arn:aws:imagebuilder:us-east-1:123456789012:infrastructure-configuration/ws",
        Platform="WINDOWS", OsVersion="Windows_10",
    )
    assert err(ws.import_custom_workspace_image, **custom) == "AccessDeniedException"
    enable_byol(ws, server.url, account)
    iid = ws.import_workspace_image(**kw, Tags=[{"Key": "k", "Value": "v"}])["ImageId"]
    i = image(ws, iid)
    assert i["State"] == "AVAILABLE" and i["RequiredTenancy"] == "DEDICATED"
    assert i["OperatingSystem"] == {"Type": "WINDOWS"} and i["Description"] == "imported"
    assert i["Updates"]["UpdateAvailable"] is True
    assert ws.describe_tags(ResourceId=iid)["TagList"] == [{"Key": "k", "Value": "v"}]
    assert err(ws.import_workspace_image, **kw) == "ResourceAlreadyExistsException"
    assert err(ws.import_workspace_image, **dict(kw, ImageName="two-apps"),
               Applications=["Microsoft_Office_2016", "Microsoft_Office_2019"]) == "InvalidParameterValuesException"
    assert err(raw_ws.import_workspace_image, **dict(kw, Ec2ImageId="ami-xyz")) == "ValidationException"
    # CreateUpdatedWorkspaceImage: a new image with the updates; the source stays
    uid = ws.create_updated_workspace_image(Name="byol-updated", Description="updated", SourceImageId=iid)["ImageId"]
    u = image(ws, uid)
    assert u["State"] == "AVAILABLE" and u["Updates"]["UpdateAvailable"] is False
    assert u["RequiredTenancy"] == "DEDICATED"
    assert image(ws, iid)["State"] == "AVAILABLE"
    assert err(ws.create_updated_workspace_image, Name="again", Description="d", SourceImageId=uid) == (
        "OperationNotSupportedException"
    )
    assert err(ws.create_updated_workspace_image, Name="byol-updated", Description="d", SourceImageId=iid) == (
        "ResourceAlreadyExistsException"
    )
    assert err(ws.create_updated_workspace_image, Name="x", Description="d", SourceImageId="wsi-000000000") == (
        "ResourceNotFoundException"
    )
    # a BYOL account's captures require dedicated tenancy
    _, wid = available_workspace(ws, server.url, account)
    assert ws.create_workspace_image(Name="cap", Description="d", WorkspaceId=wid)["RequiredTenancy"] == "DEDICATED"
    # ImportCustomWorkspaceImage and its progress
    cid = ws.import_custom_workspace_image(**custom)
    assert cid["State"] == "PENDING"
    prog = ws.describe_custom_workspace_image_import(ImageId=cid["ImageId"])
    assert prog["State"] == "COMPLETED" and prog["ProgressPercentage"] == 100
    assert prog["ImageSource"] == {"Ec2ImageId": "ami-0123456789abcdef0"}
    assert prog["InfrastructureConfigurationArn"] == custom["InfrastructureConfigurationArn"]
    assert prog["ImageBuilderInstanceId"].startswith("i-")
    assert image(ws, cid["ImageId"])["RequiredTenancy"] == "DEDICATED"
    assert err(ws.import_custom_workspace_image, **custom) == "ResourceAlreadyExistsException"
    assert err(ws.import_custom_workspace_image, **dict(custom, ImageName="w11", OsVersion="Windows_11",
                                                        Protocol="PCOIP")) == "InvalidParameterValuesException"
    code = err(raw_ws.import_custom_workspace_image, **dict(custom, ImageName="two", ImageSource={
        "Ec2ImageId": "ami-0123456789abcdef0", "Ec2ImportTaskId": "import-ami-0123456789abcdef0"}))
    assert code in ("ValidationException", "InvalidParameterValuesException")
    assert err(ws.describe_custom_workspace_image_import, ImageId=iid) == "ResourceNotFoundException"
    assert err(ws.describe_custom_workspace_image_import, ImageId="wsi-000000000") == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------------
# custom bundles


def make_bundle(ws, iid, name="custom-std", compute="STANDARD", user="50", root=None, **kw):
    args = dict(BundleName=name, BundleDescription="my bundle", ImageId=iid, ComputeType={"Name": compute},
                UserStorage={"Capacity": user}, **kw)
    if root:
        args["RootStorage"] = {"Capacity": root}
    return ws.create_workspace_bundle(**args)["WorkspaceBundle"]


def test_custom_bundle_lifecycle(ws, server, account):
    did, wid = available_workspace(ws, server.url, account)
    iid = ws.create_workspace_image(Name="golden", Description="d", WorkspaceId=wid)["ImageId"]
    b = make_bundle(ws, iid, Tags=[{"Key": "tier", "Value": "gold"}])
    bid = b["BundleId"]
    assert bid.startswith("wsb-") and len(bid) == 13
    assert b["Owner"] == account and b["Name"] == "custom-std" and b["Description"] == "my bundle"
    assert b["ImageId"] == iid and b["State"] == "AVAILABLE" and b["BundleType"] == "REGULAR"
    assert b["ComputeType"] == {"Name": "STANDARD"}
    assert b["UserStorage"] == {"Capacity": "50"} and b["RootStorage"] == {"Capacity": "80"}
    assert ws.describe_tags(ResourceId=bid)["TagList"] == [{"Key": "tier", "Value": "gold"}]
    # listed by owner: none given / the caller's account = its custom bundles; AMAZON = public ones
    assert [x["BundleId"] for x in ws.describe_workspace_bundles()["Bundles"]] == [bid]
    assert [x["BundleId"] for x in ws.describe_workspace_bundles(Owner=account)["Bundles"]] == [bid]
    assert ws.describe_workspace_bundles(Owner=random_account())["Bundles"] == []
    public = [x for p in ws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON") for x in p["Bundles"]]
    assert bid not in {x["BundleId"] for x in public}
    mixed = ws.describe_workspace_bundles(BundleIds=[bid, bundle_id(ws)])["Bundles"]
    assert {x["BundleId"] for x in mixed} == {bid, bundle_id(ws)}
    assert ws.describe_bundle_associations(BundleId=bid, AssociatedResourceTypes=["APPLICATION"])[
        "Associations"
    ] == []
    # WorkSpaces launch from it
    cw = create_one(ws, did, bid, "carol")
    got = ws.describe_workspaces(WorkspaceIds=[cw])["Workspaces"][0]
    assert got["BundleId"] == bid and got["State"] == "AVAILABLE"
    assert got["WorkspaceProperties"]["ComputeTypeName"] == "STANDARD"
    assert got["WorkspaceProperties"]["RootVolumeSizeGib"] == 80
    assert got["WorkspaceProperties"]["UserVolumeSizeGib"] == 50
    assert got["WorkspaceProperties"]["OperatingSystemName"] == ws.describe_workspaces(WorkspaceIds=[wid])[
        "Workspaces"][0]["WorkspaceProperties"]["OperatingSystemName"]
    # the image is in use by the bundle, the bundle by a WorkSpace
    assert err(ws.delete_workspace_image, ImageId=iid) == "ResourceAssociatedException"
    assert err(ws.delete_workspace_bundle, BundleId=bid) == "ResourceAssociatedException"
    # UpdateWorkspaceBundle points it at another image; the WorkSpace keeps its bundle
    iid2 = ws.create_workspace_image(Name="golden-2", Description="d", WorkspaceId=wid)["ImageId"]
    ws.update_workspace_bundle(BundleId=bid, ImageId=iid2)
    after = ws.describe_workspace_bundles(BundleIds=[bid])["Bundles"][0]
    assert after["ImageId"] == iid2 and after["LastUpdatedTime"] >= b["LastUpdatedTime"]
    assert ws.describe_workspaces(WorkspaceIds=[cw])["Workspaces"][0]["BundleId"] == bid
    ws.delete_workspace_image(ImageId=iid)  # no longer used
    # once its WorkSpaces are gone, the bundle can be deleted, then its image
    ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": cw}])
    poll(lambda: ws_state(ws, cw), lambda s: s == GONE)
    ws.delete_workspace_bundle(BundleId=bid)
    assert ws.describe_workspace_bundles()["Bundles"] == []
    assert ws.describe_workspace_bundles(BundleIds=[bid])["Bundles"] == []
    ws.delete_workspace_image(ImageId=iid2)
    # CreateWorkspaces no longer knows the bundle
    out = ws.create_workspaces(Workspaces=[request(did, bid, "dave")])
    assert [f["ErrorCode"] for f in out["FailedRequests"]] == ["ResourceNotFound.Bundle"]


def test_custom_bundle_errors(ws, raw_ws, server, account):
    _, iid = captured_image(ws, server.url, account)
    make_bundle(ws, iid, "one")
    assert err(make_bundle, ws, iid, "one") == "ResourceAlreadyExistsException"
    assert err(make_bundle, ws, "wsi-000000000", "two") == "ResourceNotFoundException"
    assert err(make_bundle, ws, iid, "gpu", compute="GRAPHICS_G4DN", user="100", root="100") == (
        "InvalidParameterValuesException"
    )
    assert err(make_bundle, ws, iid, "odd-storage", user="20") == "InvalidParameterValuesException"
    assert err(make_bundle, ws, iid, "nan-storage", user="lots") == "InvalidParameterValuesException"
    assert make_bundle(ws, iid, "big", compute="POWER", user="100", root="175")["RootStorage"] == {"Capacity": "175"}
    assert err(raw_ws.create_workspace_bundle, BundleName="bad name!", BundleDescription="d", ImageId=iid,
               ComputeType={"Name": "STANDARD"}, UserStorage={"Capacity": "50"}) == "ValidationException"
    public = bundle_id(ws)
    # Public bundles (codes inferred; these used to be AccessDenied): not the caller's to update,
    # not a value DeleteWorkspaceBundle takes.
    assert err(ws.update_workspace_bundle, BundleId=public, ImageId=iid) == "ResourceNotFoundException"
    assert err(ws.delete_workspace_bundle, BundleId=public) == "InvalidParameterValuesException"
    assert err(ws.update_workspace_bundle, BundleId="wsb-000000000", ImageId=iid) == "ResourceNotFoundException"
    assert err(ws.delete_workspace_bundle, BundleId="wsb-000000000") == "ResourceNotFoundException"
    assert err(ws.delete_workspace_bundle) == "InvalidParameterValuesException"
    assert err(ws.update_workspace_bundle, BundleId=public) == "InvalidParameterValuesException"
    bid = ws.describe_workspace_bundles()["Bundles"][0]["BundleId"]
    assert err(ws.update_workspace_bundle, BundleId=bid, ImageId="wsi-000000000") == "ResourceNotFoundException"
    assert err(ws.describe_bundle_associations, BundleId="wsb-000000000",
               AssociatedResourceTypes=["APPLICATION"]) == "ResourceNotFoundException"
    assert ws.describe_bundle_associations(BundleId=public, AssociatedResourceTypes=["APPLICATION"])[
        "Associations"
    ] == []
    assert err(ws.describe_image_associations, ImageId="wsi-000000000",
               AssociatedResourceTypes=["APPLICATION"]) == "ResourceNotFoundException"
    assert err(ws.describe_workspace_bundles, Owner=account, BundleIds=[bid]) == "InvalidParameterValuesException"
    # public bundles cannot be tagged
    assert err(ws.create_tags, ResourceId=public, Tags=[{"Key": "k", "Value": "v"}]) == "ResourceNotFoundException"


def test_custom_bundle_quota_and_pages(ws, server, account):
    _, iid = captured_image(ws, server.url, account)
    ids = [make_bundle(ws, iid, f"b-{n:02}")["BundleId"] for n in range(50)]
    assert err(make_bundle, ws, iid, "b-50") == "ResourceLimitExceededException"
    pages = list(ws.get_paginator("describe_workspace_bundles").paginate())
    assert [len(p["Bundles"]) for p in pages] == [25, 25]
    assert [b["BundleId"] for p in pages for b in p["Bundles"]] == ids


# ---------------------------------------------------------------------------------------------
# tags


def test_tags_on_images_and_bundles(ws, server, account):
    _, iid = captured_image(ws, server.url, account)
    bid = make_bundle(ws, iid)["BundleId"]
    for rid in (iid, bid):
        ws.create_tags(ResourceId=rid, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        ws.create_tags(ResourceId=rid, Tags=[{"Key": "a", "Value": "3"}])
        assert sorted((t["Key"], t["Value"]) for t in ws.describe_tags(ResourceId=rid)["TagList"]) == [
            ("a", "3"), ("b", "2")]
        ws.delete_tags(ResourceId=rid, TagKeys=["a", "zzz"])
        assert ws.describe_tags(ResourceId=rid)["TagList"] == [{"Key": "b", "Value": "2"}]
    for rid in ("wsi-000000000", "wsb-000000000"):
        assert err(ws.describe_tags, ResourceId=rid) == "ResourceNotFoundException"
