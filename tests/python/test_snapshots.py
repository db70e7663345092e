"""Snapshots and recovery through boto3 on both protocols and engines (DescribeWorkspaceSnapshots,
RestoreWorkspace and MigrateWorkspace).

- `instant` servers (the module's `server`): happy paths end before the next call, and every
  modeled error;
- the default `fast` servers (the slower cases JSON only): the transitional states (RESTORING; a migration's source
  TERMINATING -> TERMINATED -> gone while the new WorkSpace goes PENDING -> AVAILABLE) and the
  errors only an in-flight transition can show (OperationInProgressException);
- a private instant server whose clock is advanced (periodic snapshots every 12 hours).

Choices AWS leaves unobservable (flagged "inferred" in service/tables/workspaces.rs): the first snapshot
pair is taken when a WorkSpace first becomes AVAILABLE; RestoreSnapshots lists the retained
pairs newest first and RebuildSnapshots the latest; Restore in a wrong state or without a
snapshot answers OperationNotSupportedException; Migrate from an unsuitable state answers
ResourceUnavailableException, to an unknown bundle ResourceNotFoundException.
"""
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Server, error_of, make_client
from flows import (
    GONE,
    LINUX_BUNDLE,
    WINDOWS_BUNDLE,
    admin,
    bundle_id,
    create_one,
    ds_client,
    poll,
    registered_directory,
    wait_ws,
    ws_state,
)

PERFORMANCE_WINDOWS = "Performance with Windows 10 (Server 2022 based)"
WINDOWS_11 = "Standard with Windows 11"
UNKNOWN_WS = "ws-000000000"
UNKNOWN_BUNDLE = "wsb-000000000"
TWELVE_HOURS = 12 * 3600


@pytest.fixture
def server(instant_server):
    return instant_server


@pytest.fixture(params=["memory", "sqlite"])
def fast_server(request, servers):
    """The session's default servers (`--timing fast`: about 1 s per transition)."""
    return servers[request.param]


@pytest.fixture
def fws(fast_server, protocol, account):
    return make_client(fast_server.url, protocol, account)


@pytest.fixture
def jfws(fast_server, account):
    """JSON only, for the slower fast-server cases whose wire shapes the others cover."""
    return make_client(fast_server.url, "json", account)


@pytest.fixture(scope="module")
def clock_server():
    """A private instant server whose clock this module may advance."""
    srv = Server("--in-memory", "--timing", "instant").start()
    yield srv
    assert srv.stop() == 0


_bundles = {}


def bundle(ws, name=WINDOWS_BUNDLE):
    if name not in _bundles:
        _bundles[name] = bundle_id(ws, name)
    return _bundles[name]


def setup(ws, url, account, user="alice", wait=True, **props):
    did = registered_directory(ws, ds_client(url, account))
    return did, create_one(ws, did, bundle(ws), user, wait=wait, **props)


def force(url, account, wid, state):
    status, body = admin(url, "workspace-state", account=account, region=REGION, workspace_id=wid, state=state)
    assert status == 200, body


def describe(ws, wid):
    (w,) = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"]
    return w


def snapshot_times(ws, wid):
    out = ws.describe_workspace_snapshots(WorkspaceId=wid)
    rebuild = [s["SnapshotTime"].timestamp() for s in out["RebuildSnapshots"]]
    restore = [s["SnapshotTime"].timestamp() for s in out["RestoreSnapshots"]]
    return rebuild, restore


def raises(code, call, *args, **kw):
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    got, message = error_of(e)
    assert got == code, (got, message)
    assert message, "an error carries a message"
    return e.value.response


# ---------------------------------------------------------------------------------------------
# DescribeWorkspaceSnapshots


def test_first_snapshot_when_available(ws, server, account):
    before = time.time()
    _, wid = setup(ws, server.url, account)
    rebuild, restore = snapshot_times(ws, wid)
    assert len(restore) == 1 and rebuild == restore
    assert before - 5 <= restore[0] <= time.time() + 5


def test_describe_snapshots_errors(ws, raw_ws, server, account):
    resp = raises("ResourceNotFoundException", ws.describe_workspace_snapshots, WorkspaceId=UNKNOWN_WS)
    assert resp["ResourceId"] == UNKNOWN_WS
    raises("ValidationException", raw_ws.describe_workspace_snapshots, WorkspaceId="not-a-workspace")
    raises("ValidationException", raw_ws.describe_workspace_snapshots)


def test_periodic_snapshots_every_twelve_healthy_hours(clock_server, protocol, account):
    ws = make_client(clock_server.url, protocol, account)
    _, wid = setup(ws, clock_server.url, account)
    status, body = admin(clock_server.url, "advance", seconds=TWELVE_HOURS + 60)
    assert status == 200, body
    rebuild, restore = snapshot_times(ws, wid)
    assert len(restore) == 2 and restore[0] > restore[1], "newest first"
    assert abs(restore[0] - restore[1] - TWELVE_HOURS) < 1
    assert rebuild == [restore[0]], "a rebuild uses the latest user-volume snapshot"


def test_no_snapshot_before_the_first_availability(jfws, fast_server, account):
    did = registered_directory(jfws, ds_client(fast_server.url, account))
    wid = create_one(jfws, did, bundle(jfws), "early", wait=False)
    assert snapshot_times(jfws, wid) == ([], [])
    # Forced into ERROR before it was ever AVAILABLE: nothing to restore from.
    force(fast_server.url, account, wid, "ERROR")
    raises("OperationNotSupportedException", jfws.restore_workspace, WorkspaceId=wid)
    assert ws_state(jfws, wid) == "ERROR"


# ---------------------------------------------------------------------------------------------
# RestoreWorkspace


def test_restore_from_each_allowed_state(ws, server, account):
    _, wid = setup(ws, server.url, account, RunningMode="AUTO_STOP")
    assert ws.restore_workspace(WorkspaceId=wid)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ws_state(ws, wid) == "AVAILABLE", "instant: restored before the next call"

    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": wid}])
    assert ws_state(ws, wid) == "STOPPED"
    ws.restore_workspace(WorkspaceId=wid)
    assert ws_state(ws, wid) == "AVAILABLE", "a restored WorkSpace runs"

    for fault in ["ERROR", "UNHEALTHY"]:
        force(server.url, account, wid, fault)
        ws.restore_workspace(WorkspaceId=wid)
        w = describe(ws, wid)
        assert w["State"] == "AVAILABLE", fault
        assert "ErrorCode" not in w and "ErrorMessage" not in w
    assert len(snapshot_times(ws, wid)[1]) == 1, "restoring does not add snapshots"


def test_restore_errors(ws, raw_ws, server, account):
    resp = raises("ResourceNotFoundException", ws.restore_workspace, WorkspaceId=UNKNOWN_WS)
    assert resp["ResourceId"] == UNKNOWN_WS
    raises("ValidationException", raw_ws.restore_workspace, WorkspaceId="ws-")
    _, wid = setup(ws, server.url, account)
    ws.modify_workspace_state(WorkspaceId=wid, WorkspaceState="ADMIN_MAINTENANCE")
    raises("OperationNotSupportedException", ws.restore_workspace, WorkspaceId=wid)
    ws.modify_workspace_state(WorkspaceId=wid, WorkspaceState="AVAILABLE")
    for state in ["IMPAIRED", "SUSPENDED", "MAINTENANCE", "REBOOTING"]:
        force(server.url, account, wid, state)
        raises("OperationNotSupportedException", ws.restore_workspace, WorkspaceId=wid)
        assert ws_state(ws, wid) == state


def test_restore_states_on_the_fast_server(fws, fast_server, account):
    _, wid = setup(fws, fast_server.url, account, user="bob")
    fws.restore_workspace(WorkspaceId=wid)
    assert ws_state(fws, wid) == "RESTORING"
    # A restoring WorkSpace refuses another restore and the batch actions.
    raises("OperationNotSupportedException", fws.restore_workspace, WorkspaceId=wid)
    failed = fws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": wid}])["FailedRequests"]
    assert [f["ErrorCode"] for f in failed] == ["InvalidResourceState.Workspace"]
    log = wait_ws(fws, wid, "AVAILABLE", {"RESTORING", "AVAILABLE"})
    assert log.states == ["RESTORING", "AVAILABLE"]


# ---------------------------------------------------------------------------------------------
# MigrateWorkspace


def test_migrate(ws, server, account):
    did, src = setup(ws, server.url, account, user="carol", RunningMode="AUTO_STOP", Tags=[{"Key": "team", "Value": "a"}])
    target_bundle = bundle(ws, PERFORMANCE_WINDOWS)
    out = ws.migrate_workspace(SourceWorkspaceId=src, BundleId=target_bundle)
    assert out["SourceWorkspaceId"] == src
    dst = out["TargetWorkspaceId"]
    assert dst.startswith("ws-") and dst != src
    # instant: the new WorkSpace is AVAILABLE and the source is gone before the next call
    assert ws_state(ws, src) == GONE
    w = describe(ws, dst)
    assert w["State"] == "AVAILABLE"
    assert (w["DirectoryId"], w["UserName"], w["BundleId"]) == (did, "carol", target_bundle)
    props = w["WorkspaceProperties"]
    assert props["ComputeTypeName"] == "PERFORMANCE" and props["RunningMode"] == "AUTO_STOP"
    assert props["RootVolumeSizeGib"] == 80 and props["UserVolumeSizeGib"] == 100
    assert w.get("IpAddress") and w.get("ComputerName")
    assert ws.describe_tags(ResourceId=dst)["TagList"] == [{"Key": "team", "Value": "a"}]
    assert [x["WorkspaceId"] for x in ws.describe_workspaces(DirectoryId=did, UserName="carol")["Workspaces"]] == [dst]
    assert len(snapshot_times(ws, dst)[1]) == 1, "the new WorkSpace's first snapshot"
    # The user can be migrated back, and a STOPPED or ERROR WorkSpace can be migrated too.
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": dst}])
    assert ws_state(ws, dst) == "STOPPED"
    back = ws.migrate_workspace(SourceWorkspaceId=dst, BundleId=bundle(ws))["TargetWorkspaceId"]
    force(server.url, account, back, "ERROR")
    again = ws.migrate_workspace(SourceWorkspaceId=back, BundleId=target_bundle)["TargetWorkspaceId"]
    assert ws_state(ws, again) == "AVAILABLE"
    assert [x["WorkspaceId"] for x in ws.describe_workspaces(DirectoryId=did)["Workspaces"]] == [again]


def test_migrate_errors(ws, raw_ws, server, account):
    resp = raises(
        "ResourceNotFoundException", ws.migrate_workspace, SourceWorkspaceId=UNKNOWN_WS, BundleId=bundle(ws)
    )
    assert resp["ResourceId"] == UNKNOWN_WS
    raises("ValidationException", raw_ws.migrate_workspace, SourceWorkspaceId=UNKNOWN_WS, BundleId="b-1")
    raises("ValidationException", raw_ws.migrate_workspace, SourceWorkspaceId=UNKNOWN_WS)
    did, wid = setup(ws, server.url, account, user="dan")
    resp = raises("ResourceNotFoundException", ws.migrate_workspace, SourceWorkspaceId=wid, BundleId=UNKNOWN_BUNDLE)
    assert resp["ResourceId"] == UNKNOWN_BUNDLE
    raises("InvalidParameterValuesException", ws.migrate_workspace, SourceWorkspaceId=wid, BundleId=bundle(ws))
    raises(
        "OperationNotSupportedException",
        ws.migrate_workspace,
        SourceWorkspaceId=wid,
        BundleId=bundle(ws, LINUX_BUNDLE),
    )
    # Windows 11 cannot go back to Windows 10.
    w11 = create_one(ws, did, bundle(ws, WINDOWS_11), "eve")
    raises("OperationNotSupportedException", ws.migrate_workspace, SourceWorkspaceId=w11, BundleId=bundle(ws))
    for state in ["IMPAIRED", "UNHEALTHY", "SUSPENDED", "ADMIN_MAINTENANCE"]:
        force(server.url, account, wid, state)
        resp = raises(
            "ResourceUnavailableException",
            ws.migrate_workspace,
            SourceWorkspaceId=wid,
            BundleId=bundle(ws, PERFORMANCE_WINDOWS),
        )
        assert resp["ResourceId"] == wid
        assert ws_state(ws, wid) == state
    # Nothing was created by the refused calls.
    assert sorted(x["WorkspaceId"] for x in ws.describe_workspaces(DirectoryId=did)["Workspaces"]) == sorted([wid, w11])


def test_migrate_states_on_the_fast_server(fws, fast_server, account):
    did, src = setup(fws, fast_server.url, account, user="fay")
    target_bundle = bundle(fws, PERFORMANCE_WINDOWS)
    dst = fws.migrate_workspace(SourceWorkspaceId=src, BundleId=target_bundle)["TargetWorkspaceId"]
    assert ws_state(fws, src) == "TERMINATING"
    assert ws_state(fws, dst) == "PENDING"
    raises("OperationInProgressException", fws.migrate_workspace, SourceWorkspaceId=src, BundleId=bundle(fws))
    raises("OperationNotSupportedException", fws.restore_workspace, WorkspaceId=src)
    raises("ResourceUnavailableException", fws.migrate_workspace, SourceWorkspaceId=dst, BundleId=bundle(fws))
    # One DescribeWorkspaces call sees both: the source is TERMINATED when (and not before) the
    # new WorkSpace is AVAILABLE, then it is removed.
    def both():
        got = {w["WorkspaceId"]: w["State"] for w in fws.describe_workspaces(WorkspaceIds=[src, dst])["Workspaces"]}
        return got.get(src, GONE), got.get(dst, GONE)

    seq = [("TERMINATING", "PENDING"), ("TERMINATED", "AVAILABLE"), (GONE, "AVAILABLE")]
    log = poll(both, lambda s: s == seq[-1], set(seq), interval=0.05)
    assert log.states == seq
    assert [x["WorkspaceId"] for x in fws.describe_workspaces(DirectoryId=did)["Workspaces"]] == [dst]


def test_migrate_while_properties_are_modified(jfws, fast_server, account):
    _, wid = setup(jfws, fast_server.url, account, user="gus")
    jfws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"Protocols": ["WSP"]})
    assert ws_state(jfws, wid) == "UPDATING"
    raises(
        "OperationInProgressException",
        jfws.migrate_workspace,
        SourceWorkspaceId=wid,
        BundleId=bundle(jfws, PERFORMANCE_WINDOWS),
    )
    wait_ws(jfws, wid, "AVAILABLE", {"UPDATING", "AVAILABLE"})


def test_a_failed_migration_keeps_the_source(jfws, fast_server, account):
    _, src = setup(jfws, fast_server.url, account, user="hal")
    dst = jfws.migrate_workspace(SourceWorkspaceId=src, BundleId=bundle(jfws, PERFORMANCE_WINDOWS))["TargetWorkspaceId"]
    # The new WorkSpace is terminated before it is created: the migration fails.
    assert jfws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": dst}])["FailedRequests"] == []
    wait_ws(jfws, dst, GONE, {"TERMINATING", "TERMINATED", GONE})
    wait_ws(jfws, src, "AVAILABLE", {"TERMINATING", "AVAILABLE"})
    assert describe(jfws, src)["BundleId"] == bundle(jfws)
