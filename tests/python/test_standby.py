"""Standby WorkSpaces (Multi-Region Resilience) through boto3 on both protocols and engines:
a primary in us-east-1, its standby created from us-west-2, the relationship on both sides,
data replication, per-item failures and the standby quota."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import bundle_id, create_one, ds_client, registered_directory

STANDBY_REGION = "us-west-2"


@pytest.fixture
def server(instant_server):
    return instant_server


def pair(server, protocol):
    account = random_account()
    east = make_client(server.url, protocol, account)
    west = make_client(server.url, protocol, account, region=STANDBY_REGION)
    d_east = registered_directory(east, ds_client(server.url, account))
    d_west = registered_directory(west, ds_client(server.url, account, region=STANDBY_REGION))
    return account, east, west, d_east, d_west


def test_standby_is_linked_to_its_primary(server, protocol):
    account, east, west, d_east, d_west = pair(server, protocol)
    primary = create_one(east, d_east, bundle_id(east), "alice", RunningMode="AUTO_STOP", RunningModeAutoStopTimeoutInMinutes=60)
    out = west.create_standby_workspaces(
        PrimaryRegion="us-east-1",
        StandbyWorkspaces=[{"PrimaryWorkspaceId": primary, "DirectoryId": d_west, "DataReplication": "PRIMARY_AS_SOURCE",
                            "Tags": [{"Key": "role", "Value": "standby"}]}],
    )
    assert out["FailedStandbyRequests"] == []
    (p,) = out["PendingStandbyRequests"]
    assert p["UserName"] == "alice" and p["DirectoryId"] == d_west and p["State"] == "PENDING"
    standby = p["WorkspaceId"]

    (s,) = west.describe_workspaces(WorkspaceIds=[standby])["Workspaces"]
    assert s["State"] == "AVAILABLE"  # instant timing
    assert s["RelatedWorkspaces"] == [{"WorkspaceId": primary, "Region": "us-east-1", "State": "AVAILABLE", "Type": "PRIMARY"}]
    assert s["DataReplicationSettings"]["DataReplication"] == "PRIMARY_AS_SOURCE"
    assert s["WorkspaceProperties"]["RunningMode"] == "AUTO_STOP"
    assert west.describe_tags(ResourceId=standby)["TagList"] == [{"Key": "role", "Value": "standby"}]
    (w,) = east.describe_workspaces(WorkspaceIds=[primary])["Workspaces"]
    assert w["RelatedWorkspaces"] == [{"WorkspaceId": standby, "Region": STANDBY_REGION, "State": "AVAILABLE", "Type": "STANDBY"}]
    assert w["StandbyWorkspacesProperties"][0]["StandbyWorkspaceId"] == standby
    assert w["StandbyWorkspacesProperties"][0]["DataReplication"] == "PRIMARY_AS_SOURCE"

    # Data replication is changed on the primary, for both.
    east.modify_workspace_properties(WorkspaceId=primary, DataReplication="NO_REPLICATION")
    (s,) = west.describe_workspaces(WorkspaceIds=[standby])["Workspaces"]
    assert s["DataReplicationSettings"]["DataReplication"] == "NO_REPLICATION"
    # The primary's state shows on the standby's side.
    east.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": primary}])
    (s,) = west.describe_workspaces(WorkspaceIds=[standby])["Workspaces"]
    assert s["RelatedWorkspaces"][0]["State"] == "STOPPED"


def test_per_item_failures_and_refusals(server, protocol):
    account, east, west, d_east, d_west = pair(server, protocol)
    primary = create_one(east, d_east, bundle_id(east), "bob")
    lone = create_one(west, d_west, bundle_id(west), "carol")
    out = west.create_standby_workspaces(
        PrimaryRegion="us-east-1",
        StandbyWorkspaces=[
            {"PrimaryWorkspaceId": "ws-000000000", "DirectoryId": d_west},
            {"PrimaryWorkspaceId": primary, "DirectoryId": "d-0000000000"},
            {"PrimaryWorkspaceId": primary, "DirectoryId": d_west},
        ],
    )
    codes = [f["ErrorCode"] for f in out["FailedStandbyRequests"]]
    assert codes == ["ResourceNotFound.Workspace", "ResourceNotFound.Directory"], out["FailedStandbyRequests"]
    assert out["FailedStandbyRequests"][0]["StandbyWorkspaceRequest"]["PrimaryWorkspaceId"] == "ws-000000000"
    assert len(out["PendingStandbyRequests"]) == 1
    again = west.create_standby_workspaces(PrimaryRegion="us-east-1",
                                           StandbyWorkspaces=[{"PrimaryWorkspaceId": primary, "DirectoryId": d_west}])
    assert [f["ErrorCode"] for f in again["FailedStandbyRequests"]] == ["ResourceExists.StandbyWorkspace"]
    with pytest.raises(ClientError) as e:
        west.create_standby_workspaces(PrimaryRegion=STANDBY_REGION,
                                       StandbyWorkspaces=[{"PrimaryWorkspaceId": primary, "DirectoryId": d_west}])
    assert error_of(e)[0] == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as e:
        west.modify_workspace_properties(WorkspaceId=lone, DataReplication="PRIMARY_AS_SOURCE")
    assert error_of(e)[0] == "UnsupportedWorkspaceConfigurationException"
    # Another account's primary is invisible.
    other = make_client(server.url, protocol, random_account(), region=STANDBY_REGION)
    out = other.create_standby_workspaces(PrimaryRegion="us-east-1",
                                          StandbyWorkspaces=[{"PrimaryWorkspaceId": primary, "DirectoryId": d_west}])
    assert [f["ErrorCode"] for f in out["FailedStandbyRequests"]] == ["ResourceNotFound.Workspace"]


def test_standby_quota(server, protocol):
    account, east, west, d_east, d_west = pair(server, protocol)
    b = bundle_id(east)
    primaries = [create_one(east, d_east, b, f"user{i}") for i in range(6)]
    out = west.create_standby_workspaces(
        PrimaryRegion="us-east-1",
        StandbyWorkspaces=[{"PrimaryWorkspaceId": p, "DirectoryId": d_west} for p in primaries[:5]],
    )
    assert len(out["PendingStandbyRequests"]) == 5
    with pytest.raises(ClientError) as e:
        west.create_standby_workspaces(PrimaryRegion="us-east-1",
                                       StandbyWorkspaces=[{"PrimaryWorkspaceId": primaries[5], "DirectoryId": d_west}])
    assert error_of(e)[0] == "ResourceLimitExceededException"
