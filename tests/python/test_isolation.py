"""Account isolation, through boto3 on both protocols and engines.

Account A creates one of everything (IP group, directory + WorkSpace, connect client add-in,
connection alias, image, custom bundle, pool with a user session, account link invitation to
a third account). Account B then tries every describe, tag, modify, delete and associate
operation on A's ids: it sees nothing and gets not-found (or AccessDenied where the model
says so), and A's resources are unchanged afterwards. Only AWS's sharing operations (image
permission, connection alias permission) make exactly that resource visible to B."""
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, make_client, random_account
from flows import admin, bundle_id, create_one, ds_client, registered_directory
from test_pools import create_pool, pools_directory

NF = "ResourceNotFoundException"
DENIED = "AccessDeniedException"
WEST = "us-west-2"


@pytest.fixture
def server(instant_server):
    return instant_server


def empty(key):
    """Expectation: the call succeeds and `key` of the answer is empty."""
    return lambda out: out.get(key) in ([], None)


def failed_not_found(key="FailedRequests"):
    """Expectation: a batch call succeeds and reports every item as not found."""
    return lambda out: bool(out.get(key)) and all("NotFound" in f.get("ErrorCode", "") for f in out[key])


def check(calls):
    """Runs `(label, call, expectation)` rows; returns the rows that did not answer as expected.
    An expectation is an error code, a set of codes, or a predicate on a successful answer."""
    wrong = []
    for label, call, expect in calls:
        try:
            out = call()
        except ClientError as e:
            code = e.response["Error"]["Code"]
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            ok = status < 500 and (
                code == expect if isinstance(expect, str) else isinstance(expect, set) and code in expect
            )
            if not ok:
                wrong.append(f"{label}: got {code} (HTTP {status})")
            continue
        out.pop("ResponseMetadata", None)
        if not callable(expect) or not expect(out):
            wrong.append(f"{label}: got success {out!r}")
    return wrong


def everything_of(a, a_id, ids):
    """A's view of all its resources (compared before and after B's attempts)."""
    view = {
        "ip_groups": a.describe_ip_groups()["Result"],
        "directories": a.describe_workspace_directories(DirectoryIds=[ids["dir"]])["Directories"],
        "workspaces": a.describe_workspaces()["Workspaces"],
        "aliases": a.describe_connection_aliases()["ConnectionAliases"],
        "alias_perms": a.describe_connection_alias_permissions(AliasId=ids["alias"])["ConnectionAliasPermissions"],
        "images": a.describe_workspace_images(ImageType="OWNED")["Images"],
        "bundles": a.describe_workspace_bundles()["Bundles"],
        "pools": a.describe_workspaces_pools()["WorkspacesPools"],
        "sessions": a.describe_workspaces_pool_sessions(PoolId=ids["pool"])["Sessions"],
        "links": a.list_account_links()["AccountLinks"],
        "add_ins": a.describe_connect_client_add_ins(ResourceId=ids["dir"])["AddIns"],
        "client_props": a.describe_client_properties(ResourceIds=[ids["dir"]])["ClientPropertiesList"],
    }
    for k in ("group", "workspace", "dir", "alias", "image", "bundle", "pool"):
        view[f"tags:{k}"] = a.describe_tags(ResourceId=ids[k])["TagList"]
    return view


def setup_account_a(url, protocol, a_id):
    a = make_client(url, protocol, a_id)
    tags = [{"Key": "owner", "Value": "a"}]
    ids = {}
    ids["group"] = a.create_ip_group(GroupName="a-group", UserRules=[{"ipRule": "10.0.0.0/16"}], Tags=tags)["GroupId"]
    ids["dir"] = registered_directory(a, ds_client(url, a_id))
    a.associate_ip_groups(DirectoryId=ids["dir"], GroupIds=[ids["group"]])
    a.create_tags(ResourceId=ids["dir"], Tags=tags)
    ids["workspace"] = create_one(a, ids["dir"], bundle_id(a), "alice", Tags=tags)
    ids["add_in"] = a.create_connect_client_add_in(ResourceId=ids["dir"], Name="cc", URL="https://cc.example.com")[
        "AddInId"
    ]
    ids["alias"] = a.create_connection_alias(ConnectionString=f"desk-{a_id}.example.com", Tags=tags)["AliasId"]
    ids["image"] = a.create_workspace_image(Name="golden", Description="a", WorkspaceId=ids["workspace"], Tags=tags)[
        "ImageId"
    ]
    ids["bundle"] = a.create_workspace_bundle(
        BundleName="a-bundle", BundleDescription="a", ImageId=ids["image"], ComputeType={"Name": "STANDARD"},
        UserStorage={"Capacity": "50"}, Tags=tags,
    )["WorkspaceBundle"]["BundleId"]
    ids["pool_dir"] = pools_directory(a)
    ids["pool"] = create_pool(a, ids["pool_dir"], name="a-pool", Tags=tags)["PoolId"]
    a.start_workspaces_pool(PoolId=ids["pool"])
    status, body = admin(url, "pool-session", account=a_id, region=REGION, pool_id=ids["pool"], user="alice")
    assert status == 200, body
    ids["session"] = body["session_id"]
    ids["link"] = a.create_account_link_invitation(TargetAccountId=random_account())["AccountLink"]["AccountLinkId"]
    return a, ids


def attempts_on(b, ids, b_dir, b_group, b_west, b_west_dir):
    """Every operation B can aim at A's ids, with what B must get."""
    g, d, w, al, im, bu, p = (ids[k] for k in ("group", "dir", "workspace", "alias", "image", "bundle", "pool"))
    rules = [{"ipRule": "10.1.0.0/16"}]
    calls = [
        # IP groups
        ("DescribeIpGroups(id)", lambda: b.describe_ip_groups(GroupIds=[g]), empty("Result")),
        ("AuthorizeIpRules", lambda: b.authorize_ip_rules(GroupId=g, UserRules=rules), NF),
        ("RevokeIpRules", lambda: b.revoke_ip_rules(GroupId=g, UserRules=["10.0.0.0/16"]), NF),
        ("UpdateRulesOfIpGroup", lambda: b.update_rules_of_ip_group(GroupId=g, UserRules=rules), NF),
        ("DeleteIpGroup", lambda: b.delete_ip_group(GroupId=g), NF),
        ("AssociateIpGroups(own dir, A's group)", lambda: b.associate_ip_groups(DirectoryId=b_dir, GroupIds=[g]), NF),
        ("AssociateIpGroups(A's dir)", lambda: b.associate_ip_groups(DirectoryId=d, GroupIds=[b_group]), NF),
        ("DisassociateIpGroups(A's dir)", lambda: b.disassociate_ip_groups(DirectoryId=d, GroupIds=[g]), NF),
        # directories and their settings
        ("DescribeWorkspaceDirectories(id)", lambda: b.describe_workspace_directories(DirectoryIds=[d]),
         empty("Directories")),
        ("RegisterWorkspaceDirectory(A's DS directory)", lambda: b.register_workspace_directory(DirectoryId=d),
         {NF, "InvalidParameterValuesException"}),
        ("DeregisterWorkspaceDirectory", lambda: b.deregister_workspace_directory(DirectoryId=d), NF),
        ("ModifyWorkspaceCreationProperties", lambda: b.modify_workspace_creation_properties(
            ResourceId=d, WorkspaceCreationProperties={"EnableInternetAccess": True}), NF),
        ("ModifyWorkspaceAccessProperties", lambda: b.modify_workspace_access_properties(
            ResourceId=d, WorkspaceAccessProperties={"DeviceTypeWeb": "ALLOW"}), NF),
        ("ModifySelfservicePermissions", lambda: b.modify_selfservice_permissions(
            ResourceId=d, SelfservicePermissions={"RestartWorkspace": "DISABLED"}), NF),
        ("ModifyClientProperties", lambda: b.modify_client_properties(
            ResourceId=d, ClientProperties={"ReconnectEnabled": "DISABLED"}), NF),
        ("DescribeClientProperties", lambda: b.describe_client_properties(ResourceIds=[d]), NF),
        ("ModifySamlProperties", lambda: b.modify_saml_properties(
            ResourceId=d, SamlProperties={"Status": "DISABLED"}), NF),
        ("ModifyCertificateBasedAuthProperties", lambda: b.modify_certificate_based_auth_properties(
            ResourceId=d, CertificateBasedAuthProperties={"Status": "DISABLED"}), NF),
        ("ModifyStreamingProperties", lambda: b.modify_streaming_properties(
            ResourceId=d, StreamingProperties={"StreamingExperiencePreferredProtocol": "TCP"}), NF),
        ("ModifyEndpointEncryptionMode", lambda: b.modify_endpoint_encryption_mode(
            DirectoryId=d, EndpointEncryptionMode="FIPS_VALIDATED"), NF),
        ("DescribeClientBranding", lambda: b.describe_client_branding(ResourceId=d), NF),
        ("ImportClientBranding", lambda: b.import_client_branding(
            ResourceId=d, DeviceTypeWindows={"SupportEmail": "a@example.com"}), NF),
        ("DeleteClientBranding", lambda: b.delete_client_branding(ResourceId=d, Platforms=["DeviceTypeWindows"]), NF),
        ("CreateConnectClientAddIn", lambda: b.create_connect_client_add_in(
            ResourceId=d, Name="x", URL="https://x.example.com"), NF),
        ("DescribeConnectClientAddIns", lambda: b.describe_connect_client_add_ins(ResourceId=d), NF),
        ("UpdateConnectClientAddIn", lambda: b.update_connect_client_add_in(
            ResourceId=d, AddInId=ids["add_in"], Name="x"), NF),
        ("DeleteConnectClientAddIn", lambda: b.delete_connect_client_add_in(ResourceId=d, AddInId=ids["add_in"]), NF),
        # WorkSpaces
        ("DescribeWorkspaces(id)", lambda: b.describe_workspaces(WorkspaceIds=[w]), empty("Workspaces")),
        ("DescribeWorkspaces(directory)", lambda: b.describe_workspaces(DirectoryId=d), empty("Workspaces")),
        ("DescribeWorkspacesConnectionStatus", lambda: b.describe_workspaces_connection_status(WorkspaceIds=[w]),
         empty("WorkspacesConnectionStatus")),
        ("CreateWorkspaces(A's directory)", lambda: b.create_workspaces(
            Workspaces=[{"DirectoryId": d, "UserName": "mallory", "BundleId": bundle_id(b)}]),
         lambda out: out["PendingRequests"] == [] and len(out["FailedRequests"]) == 1),
        ("StartWorkspaces", lambda: b.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": w}]),
         failed_not_found()),
        ("StopWorkspaces", lambda: b.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": w}]), failed_not_found()),
        ("RebootWorkspaces", lambda: b.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": w}]),
         failed_not_found()),
        ("RebuildWorkspaces", lambda: b.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": w}]),
         failed_not_found()),
        ("TerminateWorkspaces", lambda: b.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": w}]),
         failed_not_found()),
        ("ModifyWorkspaceProperties", lambda: b.modify_workspace_properties(
            WorkspaceId=w, WorkspaceProperties={"RunningMode": "ALWAYS_ON"}), NF),
        ("ModifyWorkspaceState", lambda: b.modify_workspace_state(WorkspaceId=w, WorkspaceState="ADMIN_MAINTENANCE"),
         NF),
        ("DescribeWorkspaceSnapshots", lambda: b.describe_workspace_snapshots(WorkspaceId=w), NF),
        ("RestoreWorkspace", lambda: b.restore_workspace(WorkspaceId=w), NF),
        ("MigrateWorkspace", lambda: b.migrate_workspace(SourceWorkspaceId=w, BundleId=bundle_id(b)), NF),
        ("CreateWorkspaceImage(A's WorkSpace)", lambda: b.create_workspace_image(
            Name="stolen", Description="x", WorkspaceId=w), NF),
        ("DescribeWorkspaceAssociations", lambda: b.describe_workspace_associations(
            WorkspaceId=w, AssociatedResourceTypes=["APPLICATION"]), NF),
        ("DeployWorkspaceApplications", lambda: b.deploy_workspace_applications(WorkspaceId=w), NF),
        # (called in the standby Region, on B's directory there)
        ("CreateStandbyWorkspaces", lambda: b_west.create_standby_workspaces(
            PrimaryRegion=REGION, StandbyWorkspaces=[{"PrimaryWorkspaceId": w, "DirectoryId": b_west_dir}]),
         lambda out: out["PendingStandbyRequests"] == []
         and [f["ErrorCode"] for f in out["FailedStandbyRequests"]] == ["ResourceNotFound.Workspace"]),
        # connection aliases
        ("DescribeConnectionAliases(id)", lambda: b.describe_connection_aliases(AliasIds=[al]),
         empty("ConnectionAliases")),
        ("DescribeConnectionAliasPermissions", lambda: b.describe_connection_alias_permissions(AliasId=al), NF),
        ("UpdateConnectionAliasPermission", lambda: b.update_connection_alias_permission(
            AliasId=al, ConnectionAliasPermission={"SharedAccountId": random_account(), "AllowAssociation": True}), NF),
        ("AssociateConnectionAlias", lambda: b.associate_connection_alias(AliasId=al, ResourceId=b_dir), NF),
        ("DisassociateConnectionAlias", lambda: b.disassociate_connection_alias(AliasId=al), NF),
        ("DeleteConnectionAlias", lambda: b.delete_connection_alias(AliasId=al), NF),
        # images
        ("DescribeWorkspaceImages(id)", lambda: b.describe_workspace_images(ImageIds=[im]), empty("Images")),
        ("DescribeWorkspaceImagePermissions", lambda: b.describe_workspace_image_permissions(ImageId=im), NF),
        ("UpdateWorkspaceImagePermission", lambda: b.update_workspace_image_permission(
            ImageId=im, AllowCopyImage=True, SharedAccountId=random_account()), NF),
        # ResourceNotFound is not modeled here: B gets what an unknown id gets, a success
        # without effect (A's image is still there: see the before/after comparison).
        ("DeleteWorkspaceImage", lambda: b.delete_workspace_image(ImageId=im), empty("none")),
        ("DeleteWorkspaceImage(unknown id)", lambda: b.delete_workspace_image(ImageId="wsi-000000000"),
         empty("none")),
        ("DescribeImageAssociations", lambda: b.describe_image_associations(
            ImageId=im, AssociatedResourceTypes=["APPLICATION"]), NF),
        ("DescribeCustomWorkspaceImageImport", lambda: b.describe_custom_workspace_image_import(ImageId=im), NF),
        ("CopyWorkspaceImage", lambda: b.copy_workspace_image(Name="c", SourceImageId=im, SourceRegion=REGION), NF),
        ("CreateUpdatedWorkspaceImage", lambda: b.create_updated_workspace_image(
            Name="u", Description="u", SourceImageId=im), NF),
        ("CreateWorkspaceBundle(A's image)", lambda: b.create_workspace_bundle(
            BundleName="b", BundleDescription="b", ImageId=im, ComputeType={"Name": "STANDARD"},
            UserStorage={"Capacity": "50"}), NF),
        # bundles
        ("DescribeWorkspaceBundles(id)", lambda: b.describe_workspace_bundles(BundleIds=[bu]), empty("Bundles")),
        ("DescribeWorkspaceBundles(own)", lambda: b.describe_workspace_bundles(), empty("Bundles")),
        ("UpdateWorkspaceBundle", lambda: b.update_workspace_bundle(BundleId=bu, ImageId=im), NF),
        ("DeleteWorkspaceBundle", lambda: b.delete_workspace_bundle(BundleId=bu), NF),
        ("DescribeBundleAssociations", lambda: b.describe_bundle_associations(
            BundleId=bu, AssociatedResourceTypes=["APPLICATION"]), NF),
        ("CreateWorkspaces(A's bundle)", lambda: b.create_workspaces(
            Workspaces=[{"DirectoryId": b_dir, "UserName": "mallory", "BundleId": bu}]),
         lambda out: out["PendingRequests"] == [] and len(out["FailedRequests"]) == 1),
        # pools
        ("DescribeWorkspacesPools(id)", lambda: b.describe_workspaces_pools(PoolIds=[p]), NF),
        ("UpdateWorkspacesPool", lambda: b.update_workspaces_pool(PoolId=p, Description="x"), NF),
        ("StartWorkspacesPool", lambda: b.start_workspaces_pool(PoolId=p), NF),
        ("StopWorkspacesPool", lambda: b.stop_workspaces_pool(PoolId=p), NF),
        ("TerminateWorkspacesPool", lambda: b.terminate_workspaces_pool(PoolId=p), NF),
        ("DescribeWorkspacesPoolSessions", lambda: b.describe_workspaces_pool_sessions(PoolId=p), NF),
        ("TerminateWorkspacesPoolSession", lambda: b.terminate_workspaces_pool_session(SessionId=ids["session"]), NF),
        ("CreateWorkspacesPool(A's directory)", lambda: b.create_workspaces_pool(
            PoolName="b-pool", Description="b", BundleId=bundle_id(b), DirectoryId=ids["pool_dir"],
            Capacity={"DesiredUserSessions": 1}), NF),
        # account links
        ("GetAccountLink", lambda: b.get_account_link(LinkId=ids["link"]), NF),
        ("AcceptAccountLinkInvitation", lambda: b.accept_account_link_invitation(LinkId=ids["link"]), NF),
        ("RejectAccountLinkInvitation", lambda: b.reject_account_link_invitation(LinkId=ids["link"]), NF),
        ("DeleteAccountLinkInvitation", lambda: b.delete_account_link_invitation(LinkId=ids["link"]), NF),
        ("ListAccountLinks", lambda: b.list_account_links(), empty("AccountLinks")),
    ]
    for k in ("group", "workspace", "dir", "alias", "image", "bundle", "pool"):
        rid = ids[k]
        calls += [
            (f"DescribeTags({k})", lambda rid=rid: b.describe_tags(ResourceId=rid), NF),
            (f"CreateTags({k})", lambda rid=rid: b.create_tags(ResourceId=rid, Tags=[{"Key": "x", "Value": "y"}]), NF),
            (f"DeleteTags({k})", lambda rid=rid: b.delete_tags(ResourceId=rid, TagKeys=["owner"]), NF),
        ]
    # B's own listings show nothing of A's.
    calls += [
        ("DescribeIpGroups", lambda: b.describe_ip_groups(), lambda out: [x["groupId"] for x in out["Result"]] == [b_group]),
        ("DescribeWorkspaceDirectories", lambda: b.describe_workspace_directories(),
         lambda out: [x["DirectoryId"] for x in out["Directories"]] == [b_dir]),
        ("DescribeWorkspaces", lambda: b.describe_workspaces(), empty("Workspaces")),
        ("DescribeConnectionAliases", lambda: b.describe_connection_aliases(), empty("ConnectionAliases")),
        ("DescribeWorkspaceImages", lambda: b.describe_workspace_images(), empty("Images")),
        ("DescribeWorkspacesPools", lambda: b.describe_workspaces_pools(), empty("WorkspacesPools")),
    ]
    return calls


def test_account_b_sees_and_changes_nothing_of_account_a(server, protocol):
    a_id, b_id = random_account(), random_account()
    a, ids = setup_account_a(server.url, protocol, a_id)
    b = make_client(server.url, protocol, b_id)
    b_ds = ds_client(server.url, b_id)
    b_dir = registered_directory(b, b_ds)
    b_group = b.create_ip_group(GroupName="b-group")["GroupId"]
    b_west = make_client(server.url, protocol, b_id, region=WEST)
    b_west_dir = registered_directory(b_west, ds_client(server.url, b_id, region=WEST))
    before = everything_of(a, a_id, ids)

    calls = attempts_on(b, ids, b_dir, b_group, b_west, b_west_dir)
    # Directory Service: A's directory is not B's either.
    for label, call in [
        ("ds.DescribeDirectories(id)", lambda: b_ds.describe_directories(DirectoryIds=[ids["dir"]])),
        ("ds.DeleteDirectory", lambda: b_ds.delete_directory(DirectoryId=ids["dir"])),
    ]:
        calls.append((label, call, "EntityDoesNotExistException"))
    wrong = check(calls)
    assert not wrong, "B reached A's resources:\n" + "\n".join(wrong)
    assert everything_of(a, a_id, ids) == before, "B's attempts changed A's resources"
    print(f"{len(calls)} operations of account B on account A's ids")


def test_sharing_makes_exactly_the_shared_resource_visible(server, protocol):
    a_id, b_id = random_account(), random_account()
    a, ids = setup_account_a(server.url, protocol, a_id)
    b = make_client(server.url, protocol, b_id)
    b_dir = registered_directory(b, ds_client(server.url, b_id))
    b_group = b.create_ip_group(GroupName="b-group")["GroupId"]

    # Image permission: B sees that image (SHARED, owned by A), may copy it, cannot manage it.
    a.update_workspace_image_permission(ImageId=ids["image"], AllowCopyImage=True, SharedAccountId=b_id)
    shared = b.describe_workspace_images()["Images"]
    assert [(i["ImageId"], i["OwnerAccountId"]) for i in shared] == [(ids["image"], a_id)]
    assert [i["ImageId"] for i in b.describe_workspace_images(ImageType="SHARED")["Images"]] == [ids["image"]]
    wrong = check([
        ("DescribeWorkspaceImagePermissions(shared)",
         lambda: b.describe_workspace_image_permissions(ImageId=ids["image"]), NF),
        ("UpdateWorkspaceImagePermission(shared)", lambda: b.update_workspace_image_permission(
            ImageId=ids["image"], AllowCopyImage=True, SharedAccountId=random_account()), NF),
        ("DeleteWorkspaceImage(shared)", lambda: b.delete_workspace_image(ImageId=ids["image"]), DENIED),
        ("CreateTags(shared image)", lambda: b.create_tags(ResourceId=ids["image"], Tags=[{"Key": "x", "Value": "y"}]),
         NF),
    ])
    assert not wrong, "\n".join(wrong)
    copy = b.copy_workspace_image(Name="mine", SourceImageId=ids["image"], SourceRegion=REGION)["ImageId"]
    assert b.describe_workspace_images(ImageIds=[copy])["Images"][0]["OwnerAccountId"] == b_id

    # Alias permission: B may associate the alias with its own directory, nothing more.
    a.update_connection_alias_permission(
        AliasId=ids["alias"], ConnectionAliasPermission={"SharedAccountId": b_id, "AllowAssociation": True}
    )
    b.associate_connection_alias(AliasId=ids["alias"], ResourceId=b_dir)
    seen = b.describe_connection_aliases(AliasIds=[ids["alias"]])["ConnectionAliases"]
    assert [x["OwnerAccountId"] for x in seen] == [a_id]
    wrong = check([
        ("DescribeConnectionAliasPermissions(shared)",
         lambda: b.describe_connection_alias_permissions(AliasId=ids["alias"]), DENIED),
        ("UpdateConnectionAliasPermission(shared)", lambda: b.update_connection_alias_permission(
            AliasId=ids["alias"],
            ConnectionAliasPermission={"SharedAccountId": random_account(), "AllowAssociation": True}), DENIED),
        ("DeleteConnectionAlias(shared)", lambda: b.delete_connection_alias(AliasId=ids["alias"]), DENIED),
    ])
    assert not wrong, "\n".join(wrong)

    # Everything else stays invisible and untouchable.
    skip = {"DescribeWorkspaceImages(id)", "DescribeWorkspaceImagePermissions", "UpdateWorkspaceImagePermission",
            "DeleteWorkspaceImage", "DescribeImageAssociations", "CopyWorkspaceImage", "CreateUpdatedWorkspaceImage",
            "CreateWorkspaceBundle(A's image)", "DescribeWorkspaceImages", "DescribeConnectionAliases(id)",
            "DescribeConnectionAliasPermissions", "UpdateConnectionAliasPermission", "AssociateConnectionAlias",
            "DisassociateConnectionAlias", "DeleteConnectionAlias", "DescribeConnectionAliases",
            "UpdateWorkspaceBundle", "DescribeCustomWorkspaceImageImport", "DeleteWorkspaceImage(unknown id)",
            "CreateStandbyWorkspaces"}
    rest = [c for c in attempts_on(b, ids, b_dir, b_group, None, None) if c[0] not in skip]
    wrong = check(rest)
    assert not wrong, "after sharing, B reached other resources of A:\n" + "\n".join(wrong)
