"""Directories and WorkSpaces end to end: Directory Service → registration → the WorkSpace
lifecycle, every per-item failure and error code, Terraform-style state
sequences, the AWS CLI, and account isolation.

Servers (session-wide, started on first use):
- engine {memory, sqlite} x timing {instant, fast}: the main flow runs on all four and both
  protocols; error cases run on the instant ones;
- "manual": `--timing realistic`, so nothing moves on its own within a test; transitional
  states (PENDING, STOPPING, REBOOTING, UPDATING, REGISTERING, DS Requested, …) are held as
  long as needed and `/_localspaces/settle` completes them;
- "quota": instant, WorkSpaces quota 2.
"""
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Server, error_of, make_client, random_account, scratch_dir
from flows import (
    GONE,
    LINUX_BUNDLE,
    WINDOWS_BUNDLE,
    SUBNETS,
    StateLog,
    active_directory,
    admin,
    bundle_id,
    create_ds_directory,
    create_one,
    dir_state,
    ds_client,
    ds_stage,
    poll,
    registered_directory,
    request,
    settle,
    wait_ws,
    ws_state,
)

NOT_FOUND_WS = (
    "ResourceNotFound.Workspace",
    "The specified WorkSpace cannot be found. Confirm that the workspace exists in your AWS account, and try again.",
)
BAD_STATE_WS = ("InvalidResourceState.Workspace", "The specified WorkSpace has an invalid state for this operation.")
DIR_NOT_FOUND_ITEM = ("ResourceNotFound.Directory", "The specified directory could not be found in the specified region.")
USER_EXISTS_ITEM = ("ResourceExists.WorkSpace", "A WorkSpace already exists for the specified user.")
NOT_ACTIVE_MSG = "The specified directory is not in a valid state. Confirm that the directory has a status of Active, and try again."
IN_PROGRESS_MSG = "The properties of this WorkSpace are currently under modification. Please try again in a moment."
UNKNOWN_WS = "ws-000000000"
UNKNOWN_DS = "d-0000000000"
UNKNOWN_BUNDLE = "wsb-000000000"
SIX_HOURS = 6 * 3600 + 60


# ---------------------------------------------------------------------------------------------
# servers and per-test environments


class Servers:
    SPECS = {
        ("memory", "instant"): lambda d: ["--in-memory", "--timing", "instant"],
        ("sqlite", "instant"): lambda d: ["--data-dir", os.path.join(d, "instant"), "--timing", "instant"],
        ("memory", "fast"): lambda d: ["--in-memory", "--timing", "fast"],
        ("sqlite", "fast"): lambda d: ["--data-dir", os.path.join(d, "fast"), "--timing", "fast"],
        "manual": lambda d: ["--in-memory", "--timing", "realistic"],
        "quota": lambda d: ["--in-memory", "--timing", "instant", "--quota", "workspaces=2"],
    }

    def __init__(self):
        self.dir = scratch_dir("ls-ws-")
        self.running = {}

    def __getitem__(self, key):
        if key not in self.running:
            self.running[key] = Server(*self.SPECS[key](self.dir)).start()
        return self.running[key]

    def stop_all(self):
        for srv in self.running.values():
            assert srv.stop() == 0


@pytest.fixture(scope="session")
def pool():
    p = Servers()
    yield p
    p.stop_all()


class Env:
    """One fresh account on one server: WorkSpaces + DS clients and shortcuts."""

    def __init__(self, server, protocol="json", account=None):
        self.url = server.url
        self.account = account or random_account()
        self.ws = make_client(self.url, protocol, self.account)
        self.raw = make_client(self.url, protocol, self.account, validate=False)
        self.ds = ds_client(self.url, self.account)

    def directory(self):
        return registered_directory(self.ws, self.ds)

    def workspace(self, did, user, **props):
        return create_one(self.ws, did, self.bundle, user, **props)


_bundles = {}


def cached_bundle(ws, name):
    if name not in _bundles:
        _bundles[name] = bundle_id(ws, name)
    return _bundles[name]


# The PCoIP Windows bundle of flows.WINDOWS_BUNDLE (STANDARD, 80/50 GiB).
Env.bundle = property(lambda self: cached_bundle(self.ws, WINDOWS_BUNDLE))


@pytest.fixture(params=["memory", "sqlite"])
def engine(request):
    return request.param


@pytest.fixture(params=["json", "cbor"])
def protocol(request):
    return request.param


@pytest.fixture
def env(pool, engine, protocol):
    """Instant timing, every engine x protocol."""
    return Env(pool[(engine, "instant")], protocol)


@pytest.fixture
def jenv(pool, engine):
    """Instant timing, every engine, JSON only (for the long tables of cases)."""
    return Env(pool[(engine, "instant")], "json")


@pytest.fixture
def manual(pool):
    return Env(pool["manual"], "json")


def settled(ws, wid, target):
    """Waits briefly for `target`. Instant timing promises the end state before the next call
    (test_full_flow checks that strictly); the case tables just wait, to stay independent of it."""
    wait_ws(ws, wid, target, timeout=5, interval=0.02)


def dir_settled(ws, did, target):
    poll(lambda: dir_state(ws, did), lambda s: s == target, timeout=5, interval=0.02)


def ids_of(workspaces):
    return [w["WorkspaceId"] for w in workspaces]


def failures(resp):
    return [(f["WorkspaceId"], f["ErrorCode"], f["ErrorMessage"]) for f in resp["FailedRequests"]]


def describe(ws, wid):
    (w,) = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"]
    return w


def the_directory(ws, did):
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    return d


# Batch operations by name: (method, request-list member, item for one id).
BATCH = {
    "start": ("start_workspaces", "StartWorkspaceRequests"),
    "stop": ("stop_workspaces", "StopWorkspaceRequests"),
    "reboot": ("reboot_workspaces", "RebootWorkspaceRequests"),
    "rebuild": ("rebuild_workspaces", "RebuildWorkspaceRequests"),
    "terminate": ("terminate_workspaces", "TerminateWorkspaceRequests"),
}


def act(ws, op, *wids):
    method, member = BATCH[op]
    return getattr(ws, method)(**{member: [{"WorkspaceId": w} for w in wids]})


# ---------------------------------------------------------------------------------------------
# 1-2. the whole flow, on every engine x timing x protocol


COMBOS = [("memory", "instant"), ("sqlite", "instant"), ("memory", "fast"), ("sqlite", "fast")]


@pytest.mark.parametrize("engine_name,timing", COMBOS, ids=[f"{e}-{t}" for e, t in COMBOS])
def test_full_flow(pool, engine_name, timing, protocol):
    srv = pool[(engine_name, timing)]
    e = Env(srv, protocol)
    ws, ds, url = e.ws, e.ds, e.url
    fast = timing == "fast"
    # With `fast` timing one combination waits out every transition on the clock; the others
    # observe each transitional state and then settle, to keep the suite quick.
    natural = fast and engine_name == "memory" and protocol == "json"

    def step(read, path):
        """After an action: `path` is the full state sequence it goes through."""
        first = read()
        log = StateLog(first)
        if fast and not natural:
            settle(url)
        poll(read, lambda s: s == path[-1], set(path), log=log, timeout=20)
        if natural:
            assert log.states == path
        elif fast:
            assert log.states == [path[0], path[-1]]
        else:
            # instant: the caller applies the transitions, the next call sees the end state
            assert log.states == [path[-1]]
        return log

    # Directory Service: Requested → Creating → Active
    did = create_ds_directory(ds)
    assert did.startswith("d-") and len(did) == 12 and all(c in "0123456789abcdef" for c in did[2:])
    step(lambda: ds_stage(ds, did), ["Requested", "Creating", "Active"])
    (d,) = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"]
    assert d["Type"] == "SimpleAD" and d["Name"] == "corp.example.com" and d["Size"] == "Small"
    assert d["ShortName"] == "CORP" and d["Alias"] == did and d["AccessUrl"] == f"{did}.awsapps.com"
    assert d["VpcSettings"]["SubnetIds"] == SUBNETS and len(d["DnsIpAddrs"]) == 2

    # Registration: REGISTERING → REGISTERED
    reg = ws.register_workspace_directory(DirectoryId=did, EnableSelfService=False)
    assert reg["DirectoryId"] == did and reg["State"] == "REGISTERING"
    step(lambda: dir_state(ws, did), ["REGISTERING", "REGISTERED"])
    wd = the_directory(ws, did)
    assert wd["DirectoryId"] == did and wd["Alias"] == did and wd["DirectoryName"] == "corp.example.com"
    assert wd["RegistrationCode"].startswith("SLiad+") and len(wd["RegistrationCode"]) == 12
    assert wd["SubnetIds"] == SUBNETS and wd["DnsIpAddresses"] == d["DnsIpAddrs"]
    assert wd["CustomerUserName"] == "Administrator"
    assert wd["IamRoleId"] == f"arn:aws:iam::{e.account}:role/workspaces_DefaultRole"
    assert wd["DirectoryType"] == "SIMPLE_AD" and wd["WorkspaceType"] == "PERSONAL"
    assert wd["UserIdentityType"] == "AWS_DIRECTORY_SERVICE" and wd["Tenancy"] == "SHARED"
    assert wd["WorkspaceSecurityGroupId"].startswith("sg-") and "ipGroupIds" not in wd
    assert wd["WorkspaceCreationProperties"] == {
        "EnableInternetAccess": False,
        "UserEnabledAsLocalAdministrator": True,
        "EnableMaintenanceMode": True,
    }
    assert wd["SelfservicePermissions"]["RestartWorkspace"] == "ENABLED"
    assert wd["SelfservicePermissions"]["RebuildWorkspace"] == "DISABLED"
    assert wd["SamlProperties"] == {"Status": "DISABLED", "RelayStateParameterName": "RelayState"}
    assert wd["CertificateBasedAuthProperties"] == {"Status": "DISABLED"}
    assert wd["EndpointEncryptionMode"] == "STANDARD_TLS"
    listed = [x["DirectoryId"] for p in ws.get_paginator("describe_workspace_directories").paginate() for x in p["Directories"]]
    assert listed == [did]

    # CreateWorkspaces from an AMAZON bundle: PENDING → AVAILABLE
    bundle = cached_bundle(ws, WINDOWS_BUNDLE)
    out = ws.create_workspaces(
        Workspaces=[
            request(did, bundle, "alice", RunningMode="AUTO_STOP", Tags=[{"Key": "team", "Value": "vdi"}]),
        ]
    )
    assert out["FailedRequests"] == []
    (p,) = out["PendingRequests"]
    wid = p["WorkspaceId"]
    assert wid.startswith("ws-") and len(wid) == 12
    assert p["State"] == "PENDING" and p["DirectoryId"] == did and p["UserName"] == "alice" and p["BundleId"] == bundle
    assert "IpAddress" not in p and "ComputerName" not in p
    step(lambda: ws_state(ws, wid), ["PENDING", "AVAILABLE"])
    w = describe(ws, wid)
    assert w["IpAddress"].startswith("10.") and w["ComputerName"].startswith("WSAMZN-") and w["SubnetId"] in SUBNETS
    assert w["ModificationStates"] == []
    props = w["WorkspaceProperties"]
    assert props["RunningMode"] == "AUTO_STOP" and props["RunningModeAutoStopTimeoutInMinutes"] == 60
    assert (props["RootVolumeSizeGib"], props["UserVolumeSizeGib"]) == (80, 50)
    assert props["ComputeTypeName"] == "STANDARD" and props["Protocols"] == ["PCOIP"]
    assert w["RootVolumeEncryptionEnabled"] is False and w["UserVolumeEncryptionEnabled"] is False
    assert ws.describe_tags(ResourceId=wid)["TagList"] == [{"Key": "team", "Value": "vdi"}]

    # Stop / start / reboot / rebuild
    assert act(ws, "stop", wid)["FailedRequests"] == []
    step(lambda: ws_state(ws, wid), ["STOPPING", "STOPPED"])
    (c,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
    assert c["ConnectionState"] == "UNKNOWN"
    assert act(ws, "start", wid)["FailedRequests"] == []
    step(lambda: ws_state(ws, wid), ["STARTING", "AVAILABLE"])
    assert act(ws, "reboot", wid)["FailedRequests"] == []
    step(lambda: ws_state(ws, wid), ["REBOOTING", "AVAILABLE"])
    ip_before = describe(ws, wid)["IpAddress"]
    assert act(ws, "rebuild", wid)["FailedRequests"] == []
    step(lambda: ws_state(ws, wid), ["REBUILDING", "AVAILABLE"])
    # A rebuild gives the WorkSpace a new primary network interface (doc).
    assert describe(ws, wid)["IpAddress"] != ip_before

    # ModifyWorkspaceProperties: running mode and timeout apply at once (no UPDATING)
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningModeAutoStopTimeoutInMinutes": 120})
    w = describe(ws, wid)
    assert w["State"] == "AVAILABLE" and w["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 120

    def modify(change, resource):
        ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties=change)
        if fast:
            w = describe(ws, wid)
            assert w["State"] == "UPDATING"
            assert w["ModificationStates"] == [{"Resource": resource, "State": "UPDATE_IN_PROGRESS"}]
        step(lambda: ws_state(ws, wid), ["UPDATING", "AVAILABLE"])
        w = describe(ws, wid)
        assert w["ModificationStates"] == []
        return w["WorkspaceProperties"]

    assert modify({"UserVolumeSizeGib": 100}, "USER_VOLUME")["UserVolumeSizeGib"] == 100
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    props = describe(ws, wid)["WorkspaceProperties"]
    assert props["RunningMode"] == "ALWAYS_ON" and "RunningModeAutoStopTimeoutInMinutes" not in props
    # Compute type changes need 6 hours since creation; the next volume change 6 hours since the last.
    status, body = admin(url, "advance", seconds=SIX_HOURS)
    assert status == 200, body
    assert describe(ws, wid)["State"] == "AVAILABLE"  # ALWAYS_ON: no auto-stop
    assert modify({"ComputeTypeName": "PERFORMANCE"}, "COMPUTE_TYPE")["ComputeTypeName"] == "PERFORMANCE"
    assert modify({"RootVolumeSizeGib": 175}, "ROOT_VOLUME")["RootVolumeSizeGib"] == 175
    assert modify({"Protocols": ["WSP"]}, "PROTOCOL")["Protocols"] == ["WSP"]
    props = describe(ws, wid)["WorkspaceProperties"]
    assert (props["RootVolumeSizeGib"], props["UserVolumeSizeGib"], props["ComputeTypeName"]) == (175, 100, "PERFORMANCE")

    # ModifyWorkspaceState: AVAILABLE ↔ ADMIN_MAINTENANCE; maintenance refuses a reboot
    ws.modify_workspace_state(WorkspaceId=wid, WorkspaceState="ADMIN_MAINTENANCE")
    assert ws_state(ws, wid) == "ADMIN_MAINTENANCE"
    assert failures(act(ws, "reboot", wid)) == [(wid, *BAD_STATE_WS)]
    ws.modify_workspace_state(WorkspaceId=wid, WorkspaceState="AVAILABLE")
    assert ws_state(ws, wid) == "AVAILABLE"

    # Connection status (and the admin connection route, when this build has it)
    (c,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
    assert c["WorkspaceId"] == wid and c["ConnectionState"] == "DISCONNECTED" and "ConnectionStateCheckTimestamp" in c
    status, _ = admin(url, "connection", account=e.account, region=REGION, workspace_id=wid, state="CONNECTED")
    if status == 200:  # see test_admin_connection_route (the route is missing in admin.rs)
        (c,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
        assert c["ConnectionState"] == "CONNECTED" and "LastKnownUserConnectionTimestamp" in c

    # Terminate: TERMINATING → TERMINATED → gone
    assert act(ws, "terminate", wid)["FailedRequests"] == []
    path = ["TERMINATING", "TERMINATED", GONE]
    first = ws_state(ws, wid)
    log = StateLog(first)
    if fast and not natural:
        settle(url)
    poll(lambda: ws_state(ws, wid), lambda s: s == GONE, set(path), log=log, timeout=20)
    assert log.states == (path if natural else [path[0], GONE] if fast else [GONE])
    assert ws.describe_workspaces(DirectoryId=did)["Workspaces"] == []
    with pytest.raises(ClientError) as ex:
        ws.describe_tags(ResourceId=wid)
    assert error_of(ex)[0] == "ResourceNotFoundException"

    # Deregister: DEREGISTERING → DEREGISTERED (briefly) → gone; then the DS directory: Deleting → gone
    ws.deregister_workspace_directory(DirectoryId=did)
    step(lambda: dir_state(ws, did), ["DEREGISTERING", "DEREGISTERED", GONE])
    assert ws.describe_workspace_directories()["Directories"] == []
    assert ds.delete_directory(DirectoryId=did)["DirectoryId"] == did
    step(lambda: ds_stage(ds, did), ["Deleting", GONE])
    with pytest.raises(ClientError) as ex:
        ds.describe_directories(DirectoryIds=[did])
    assert error_of(ex)[0] == "EntityDoesNotExistException"


# ---------------------------------------------------------------------------------------------
# 4. Terraform-waiter state sequences (fast timing, polled every 100 ms, nothing settled)


def test_terraform_waiter_state_sequences(pool):
    e = Env(pool[("sqlite", "fast")], "json")
    ws, ds = e.ws, e.ds
    did = active_directory(ds)
    ws.register_workspace_directory(DirectoryId=did)
    log = poll(lambda: dir_state(ws, did), lambda s: s == "REGISTERED", {"REGISTERING", "REGISTERED"})
    assert log.states == ["REGISTERING", "REGISTERED"]

    out = ws.create_workspaces(Workspaces=[request(did, e.bundle, "tf-user", RunningMode="AUTO_STOP")])
    (wid,) = ids_of(out["PendingRequests"])
    log = wait_ws(ws, wid, "AVAILABLE", {"PENDING", "AVAILABLE"})
    assert log.states == ["PENDING", "AVAILABLE"]

    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"UserVolumeSizeGib": 100})
    modify_ok = {"UPDATING", "AVAILABLE", "STOPPED"}
    # Terraform waits until the state is AVAILABLE or STOPPED and no modification is pending.
    log = poll(lambda: (describe(ws, wid)["State"], len(describe(ws, wid)["ModificationStates"])), lambda s: s[0] != "UPDATING" and s[1] == 0)
    assert {s for s, _ in log.states} <= modify_ok and log.states[0] == ("UPDATING", 1), log
    assert describe(ws, wid)["WorkspaceProperties"]["UserVolumeSizeGib"] == 100

    # Mode change only: never UPDATING
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    log = poll(lambda: ws_state(ws, wid), lambda s: s == "AVAILABLE", modify_ok)
    assert log.states == ["AVAILABLE"]

    act(ws, "terminate", wid)
    log = poll(lambda: ws_state(ws, wid), lambda s: s == GONE, {"TERMINATING", "TERMINATED", GONE})
    assert log.states == ["TERMINATING", "TERMINATED", GONE]

    ws.deregister_workspace_directory(DirectoryId=did)
    log = poll(lambda: dir_state(ws, did), lambda s: s == GONE, {"DEREGISTERING", "DEREGISTERED", GONE})
    assert log.states[0] == "DEREGISTERING" and log.states[-1] == GONE


# ---------------------------------------------------------------------------------------------
# 3. CreateWorkspaces failures


def test_create_workspaces_per_item_failures(env):
    ws = env.ws
    did = env.directory()
    other = env.directory()
    unregistered = active_directory(env.ds, name="spare.example.com")
    b = env.bundle
    many_tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    items = [
        request(did, b, "u-ok"),
        request(UNKNOWN_DS, b, "u1"),
        request(unregistered, b, "u2"),
        request(did, UNKNOWN_BUNDLE, "u3"),
        request(did, b, "U-OK"),  # user names are not case-sensitive
        request(did, b, "u4", RunningMode="ALWAYS_ON", RunningModeAutoStopTimeoutInMinutes=60),
        request(did, b, "u5", RunningMode="MANUAL", RunningModeAutoStopTimeoutInMinutes=60),
        request(did, b, "u6", RunningMode="AUTO_STOP", RunningModeAutoStopTimeoutInMinutes=90),
        request(did, b, "u7", RootVolumeSizeGib=80, UserVolumeSizeGib=20),
        request(did, b, "u8", RootVolumeSizeGib=100, UserVolumeSizeGib=100),
        request(did, b, "u9", RootVolumeSizeGib=175, UserVolumeSizeGib=50),
        request(did, b, "u10", Tags=many_tags),
        request(did, b, "u11", Tags=[{"Key": "aws:reserved", "Value": "x"}]),
        request(other, b, "u-ok"),  # same user, other directory: fine
        request(did, b, "u12", RunningMode="AUTO_STOP", RunningModeAutoStopTimeoutInMinutes=180, RootVolumeSizeGib=175, UserVolumeSizeGib=100),
    ]
    out = ws.create_workspaces(Workspaces=items)
    got = [(f["WorkspaceRequest"], f["ErrorCode"]) for f in out["FailedRequests"]]
    expected_codes = {
        1: DIR_NOT_FOUND_ITEM[0],
        2: DIR_NOT_FOUND_ITEM[0],  # Active in Directory Service, not registered
        3: "ResourceNotFound.Bundle",
        4: USER_EXISTS_ITEM[0],  # same batch
        5: "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace",
        6: "AutoStopTimeoutIsNotDefaultForManualWorkspace",
        7: "InvalidParameterValuesException",  # timeout not a multiple of 60
        8: "InvalidParameterValuesException",  # volumes (80, 20)
        9: "InvalidParameterValuesException",  # volumes (100, 100)
        10: "InvalidParameterValuesException",  # volumes (175, 50)
        11: "ResourceLimitExceededException",  # 51 tags: the tag quota
        12: "InvalidParameterValuesException",  # aws: keys are reserved
    }
    # The failed item echoes the request exactly.
    assert got == [(items[i], code) for i, code in sorted(expected_codes.items())]
    msgs = {f["ErrorCode"]: f["ErrorMessage"] for f in out["FailedRequests"]}
    assert msgs[DIR_NOT_FOUND_ITEM[0]] == DIR_NOT_FOUND_ITEM[1]
    assert msgs[USER_EXISTS_ITEM[0]] == USER_EXISTS_ITEM[1]
    assert msgs["AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace"] == (
        "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to ALWAYS_ON."
    )
    pending = out["PendingRequests"]
    assert [(w["DirectoryId"], w["UserName"]) for w in pending] == [(did, "u-ok"), (other, "u-ok"), (did, "u12")]
    assert all(w["State"] == "PENDING" for w in pending)
    p12 = pending[2]["WorkspaceProperties"]
    assert (p12["RunningMode"], p12["RunningModeAutoStopTimeoutInMinutes"], p12["RootVolumeSizeGib"], p12["UserVolumeSizeGib"]) == (
        "AUTO_STOP",
        180,
        175,
        100,
    )
    # A user that already has a WorkSpace (created by an earlier call) fails per item too.
    again = ws.create_workspaces(Workspaces=[request(did, b, "u-ok")])
    assert again["PendingRequests"] == []
    assert [(f["ErrorCode"], f["ErrorMessage"]) for f in again["FailedRequests"]] == [USER_EXISTS_ITEM]
    assert len(ws.describe_workspaces()["Workspaces"]) == 3


def test_create_workspaces_in_registering_directory_fails_per_item(manual):
    ws, ds = manual.ws, manual.ds
    did = create_ds_directory(ds)
    settle(manual.url)
    assert ws.register_workspace_directory(DirectoryId=did)["State"] == "REGISTERING"
    out = ws.create_workspaces(Workspaces=[request(did, manual.bundle, "early")])
    assert out["PendingRequests"] == []
    assert [(f["ErrorCode"], f["ErrorMessage"]) for f in out["FailedRequests"]] == [DIR_NOT_FOUND_ITEM]
    settle(manual.url)
    assert dir_state(ws, did) == "REGISTERED"


def test_create_workspaces_whole_call_errors(pool, engine):
    e = Env(pool[(engine, "instant")])
    did = e.directory()
    with pytest.raises(ClientError) as ex:
        e.raw.create_workspaces(Workspaces=[request(did, e.bundle, f"u{i}") for i in range(26)])
    assert error_of(ex)[0] == "ValidationException"
    with pytest.raises(ClientError) as ex:
        e.raw.create_workspaces(Workspaces=[])
    assert error_of(ex)[0] == "ValidationException"
    assert e.ws.describe_workspaces()["Workspaces"] == []


def test_create_workspaces_quota_fails_whole_call(pool):
    e = Env(pool["quota"])
    did = e.directory()
    e.workspace(did, "first")
    with pytest.raises(ClientError) as ex:
        e.ws.create_workspaces(Workspaces=[request(did, e.bundle, "second"), request(did, e.bundle, "third")])
    assert error_of(ex)[0] == "ResourceLimitExceededException"
    assert len(e.ws.describe_workspaces()["Workspaces"]) == 1
    out = e.ws.create_workspaces(Workspaces=[request(did, e.bundle, "second")])
    assert out["FailedRequests"] == [] and len(out["PendingRequests"]) == 1


# ---------------------------------------------------------------------------------------------
# 3. batch actions on wrong states and unknown ids


@pytest.mark.parametrize("op", list(BATCH))
def test_batch_unknown_ids_fail_per_item(env, op):
    did = env.directory()
    wid = env.workspace(did, "known", RunningMode="AUTO_STOP")
    if op == "start":
        act(env.ws, "stop", wid)
        settled(env.ws, wid, "STOPPED")
    # Rebuild takes a single WorkSpace per call.
    ids = [UNKNOWN_WS, wid] if op != "rebuild" else [UNKNOWN_WS]
    out = act(env.ws, op, *ids)
    assert failures(out) == [(UNKNOWN_WS, *NOT_FOUND_WS)]
    # the known one was acted on in the same call
    settled(env.ws, wid, {"start": "AVAILABLE", "stop": "STOPPED", "reboot": "AVAILABLE", "rebuild": "AVAILABLE", "terminate": GONE}[op])


def test_batch_duplicate_ids_reported_once(jenv):
    # The repeat of an id in one call fails on its own (inferred); it used to be dropped.
    out = act(jenv.ws, "stop", UNKNOWN_WS, UNKNOWN_WS)
    assert failures(out) == [(UNKNOWN_WS, *NOT_FOUND_WS), (UNKNOWN_WS, *BAD_STATE_WS)]


def test_batch_wrong_states(env):
    ws = env.ws
    did = env.directory()
    always_on = env.workspace(did, "always-on")
    auto = env.workspace(did, "auto", RunningMode="AUTO_STOP")
    # ALWAYS_ON cannot be stopped or started; AVAILABLE cannot be started
    assert failures(act(ws, "stop", always_on)) == [(always_on, *BAD_STATE_WS)]
    assert failures(act(ws, "start", always_on, auto)) == [(always_on, *BAD_STATE_WS), (auto, *BAD_STATE_WS)]
    # STOPPED: no stop, no reboot; rebuild is allowed
    assert act(ws, "stop", auto)["FailedRequests"] == []
    settled(ws, auto, "STOPPED")
    assert failures(act(ws, "stop", auto)) == [(auto, *BAD_STATE_WS)]
    assert failures(act(ws, "reboot", auto)) == [(auto, *BAD_STATE_WS)]
    assert act(ws, "rebuild", auto)["FailedRequests"] == []
    settled(ws, auto, "AVAILABLE")
    # ADMIN_MAINTENANCE refuses start, stop, reboot, rebuild; terminate is allowed
    ws.modify_workspace_state(WorkspaceId=auto, WorkspaceState="ADMIN_MAINTENANCE")
    for op in ("start", "stop", "reboot", "rebuild"):
        assert failures(act(ws, op, auto)) == [(auto, *BAD_STATE_WS)], op
    assert ws_state(ws, auto) == "ADMIN_MAINTENANCE"
    assert act(ws, "terminate", auto, always_on)["FailedRequests"] == []
    settled(ws, auto, GONE)
    settled(ws, always_on, GONE)
    # gone: every action now fails with not-found
    for op in BATCH:
        assert failures(act(ws, op, auto)) == [(auto, *NOT_FOUND_WS)], op


def test_rebuild_takes_one_workspace(jenv):
    with pytest.raises(ClientError) as ex:
        jenv.raw.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": UNKNOWN_WS}, {"WorkspaceId": "ws-111111111"}])
    assert error_of(ex)[0] == "ValidationException"
    with pytest.raises(ClientError) as ex:
        jenv.raw.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": f"ws-{i:09d}"} for i in range(26)])
    assert error_of(ex)[0] == "ValidationException"


def test_transitional_states_refuse_actions(manual):
    """Held in PENDING, STOPPING, REBOOTING, UPDATING (realistic timing, completed by settle)."""
    ws, url = manual.ws, manual.url
    did = create_ds_directory(manual.ds)
    settle(url)
    ws.register_workspace_directory(DirectoryId=did)
    settle(url)
    pending = create_one(ws, did, manual.bundle, "p", wait=False, RunningMode="AUTO_STOP")
    assert ws_state(ws, pending) == "PENDING"
    for op in ("start", "stop", "reboot", "rebuild"):
        assert failures(act(ws, op, pending)) == [(pending, *BAD_STATE_WS)], op
    settle(url)
    assert ws_state(ws, pending) == "AVAILABLE"

    act(ws, "stop", pending)
    assert ws_state(ws, pending) == "STOPPING"
    for op in ("start", "stop", "reboot", "rebuild"):
        assert failures(act(ws, op, pending)) == [(pending, *BAD_STATE_WS)], op
    settle(url)
    act(ws, "start", pending)
    assert ws_state(ws, pending) == "STARTING"
    assert failures(act(ws, "start", pending)) == [(pending, *BAD_STATE_WS)]
    settle(url)

    # REBOOTING: reboot again is allowed (stuck reboot), and so is rebuild
    act(ws, "reboot", pending)
    assert ws_state(ws, pending) == "REBOOTING"
    assert act(ws, "reboot", pending)["FailedRequests"] == []
    assert ws_state(ws, pending) == "REBOOTING"
    assert act(ws, "rebuild", pending)["FailedRequests"] == []
    assert ws_state(ws, pending) == "REBUILDING"
    assert failures(act(ws, "reboot", pending)) == [(pending, *BAD_STATE_WS)]
    settle(url)
    assert ws_state(ws, pending) == "AVAILABLE"

    # UPDATING: no actions, no further modification
    ws.modify_workspace_properties(WorkspaceId=pending, WorkspaceProperties={"UserVolumeSizeGib": 100})
    w = describe(ws, pending)
    assert w["State"] == "UPDATING" and w["ModificationStates"] == [{"Resource": "USER_VOLUME", "State": "UPDATE_IN_PROGRESS"}]
    for op in ("start", "stop", "reboot", "rebuild"):
        assert failures(act(ws, op, pending)) == [(pending, *BAD_STATE_WS)], op
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_properties(WorkspaceId=pending, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    assert error_of(ex) == ("OperationInProgressException", IN_PROGRESS_MSG)
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_state(WorkspaceId=pending, WorkspaceState="ADMIN_MAINTENANCE")
    assert error_of(ex)[0] == "InvalidResourceStateException"
    settle(url)
    assert ws_state(ws, pending) == "AVAILABLE" and describe(ws, pending)["ModificationStates"] == []

    # PENDING: ModifyWorkspaceProperties needs AVAILABLE or STOPPED
    fresh = create_one(ws, did, manual.bundle, "fresh", wait=False)
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_properties(WorkspaceId=fresh, WorkspaceProperties={"UserVolumeSizeGib": 100})
    assert error_of(ex)[0] == "InvalidResourceStateException"
    # Terminate works from a transitional state; terminating again succeeds idempotently
    assert act(ws, "terminate", fresh, pending)["FailedRequests"] == []
    assert ws_state(ws, fresh) == "TERMINATING"
    assert act(ws, "terminate", fresh)["FailedRequests"] == []
    assert ws_state(ws, fresh) == "TERMINATING"
    for op in ("start", "stop", "reboot", "rebuild"):
        assert failures(act(ws, op, fresh)) == [(fresh, *BAD_STATE_WS)], op
    # While its WorkSpaces are terminating the directory cannot be deregistered
    with pytest.raises(ClientError) as ex:
        ws.deregister_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "OperationNotSupportedException"
    settle(url)
    assert ws.describe_workspaces(WorkspaceIds=[fresh, pending])["Workspaces"] == []
    ws.deregister_workspace_directory(DirectoryId=did)
    assert dir_state(ws, did) == "DEREGISTERING"
    # Already on its way: refused as an invalid state (Terraform retries that error), no
    # longer the silent success this used to be.
    with pytest.raises(ClientError) as ex:
        ws.deregister_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "InvalidResourceStateException"
    settle(url)
    assert dir_state(ws, did) == GONE


def test_auto_stop_after_timeout(manual):
    ws, url = manual.ws, manual.url
    did = create_ds_directory(manual.ds)
    settle(url)
    ws.register_workspace_directory(DirectoryId=did)
    settle(url)
    wid = create_one(ws, did, manual.bundle, "sleepy", wait=False, RunningMode="AUTO_STOP")
    always = create_one(ws, did, manual.bundle, "awake", wait=False)
    settle(url)
    assert ws_state(ws, wid) == "AVAILABLE"
    status, _ = admin(url, "advance", seconds=59 * 60)
    assert status == 200 and ws_state(ws, wid) == "AVAILABLE"
    # The timer counts from when the WorkSpace became AVAILABLE; `settle` applied that "as if
    # its time had come" (creation takes 20 minutes in the realistic profile), so go well past.
    admin(url, "advance", seconds=30 * 60)
    assert ws_state(ws, wid) == "STOPPING" and ws_state(ws, always) == "AVAILABLE"
    settle(url)
    assert ws_state(ws, wid) == "STOPPED"
    act(ws, "terminate", wid, always)
    settle(url)


# ---------------------------------------------------------------------------------------------
# 3. ModifyWorkspaceProperties / ModifyWorkspaceState errors


def test_modify_workspace_properties_errors(env):
    ws, url = env.ws, env.url
    did = env.directory()
    wid = env.workspace(did, "props", RunningMode="AUTO_STOP")
    linux = create_one(ws, did, cached_bundle(ws, LINUX_BUNDLE), "penguin")

    def err(props, target=wid):
        with pytest.raises(ClientError) as ex:
            ws.modify_workspace_properties(WorkspaceId=target, WorkspaceProperties=props)
        return error_of(ex)

    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_properties(WorkspaceId=UNKNOWN_WS, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    code, _ = error_of(ex)
    assert code == "ResourceNotFoundException" and ex.value.response["ResourceId"] == UNKNOWN_WS
    # Bad combinations are InvalidParameterValuesException (the only parameter error the model
    # lists for this operation).
    assert err({"RootVolumeSizeGib": 175, "UserVolumeSizeGib": 100})[0] == "InvalidParameterValuesException"
    assert err({"ComputeTypeName": "POWER", "UserVolumeSizeGib": 100})[0] == "InvalidParameterValuesException"
    assert err({"RunningMode": "ALWAYS_ON", "RunningModeAutoStopTimeoutInMinutes": 60})[0] == "InvalidParameterValuesException"
    assert err({"RunningMode": "MANUAL", "RunningModeAutoStopTimeoutInMinutes": 60})[0] == "InvalidParameterValuesException"
    assert err({"RunningModeAutoStopTimeoutInMinutes": 90})[0] == "InvalidParameterValuesException"
    assert err({"UserVolumeSizeGib": 10})[0] == "InvalidParameterValuesException"  # shrink
    assert err({"UserVolumeSizeGib": 75})[0] == "InvalidParameterValuesException"  # not an allowed group
    assert err({"RootVolumeSizeGib": 100})[0] == "InvalidParameterValuesException"
    # Compute: GPU ↔ non-GPU needs MigrateWorkspace; otherwise 6 hours after creation
    assert err({"ComputeTypeName": "GRAPHICS_G4DN"})[0] == "UnsupportedWorkspaceConfigurationException"
    assert err({"ComputeTypeName": "POWER"})[0] == "InvalidResourceStateException"
    # Protocol: only Windows non-GPU WorkSpaces
    assert err({"Protocols": ["PCOIP"]}, linux)[0] == "UnsupportedWorkspaceConfigurationException"
    # One volume increase per 6 hours
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"UserVolumeSizeGib": 100})
    settled(ws, wid, "AVAILABLE")
    assert describe(ws, wid)["WorkspaceProperties"]["UserVolumeSizeGib"] == 100
    assert err({"RootVolumeSizeGib": 175})[0] == "InvalidResourceStateException"
    # Nothing changed by the failures
    props = describe(ws, wid)["WorkspaceProperties"]
    assert (props["RunningMode"], props["RunningModeAutoStopTimeoutInMinutes"], props["ComputeTypeName"], props["RootVolumeSizeGib"]) == (
        "AUTO_STOP",
        60,
        "STANDARD",
        80,
    )
    # STOPPED is allowed (and stays STOPPED); ADMIN_MAINTENANCE is not
    act(ws, "stop", wid)
    settled(ws, wid, "STOPPED")
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"RunningModeAutoStopTimeoutInMinutes": 180})
    w = describe(ws, wid)
    assert w["State"] == "STOPPED" and w["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 180
    ws.modify_workspace_state(WorkspaceId=linux, WorkspaceState="ADMIN_MAINTENANCE")
    assert err({"RunningMode": "AUTO_STOP"}, linux)[0] == "InvalidResourceStateException"
    # Missing WorkspaceProperties
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_properties(WorkspaceId=wid)
    assert error_of(ex)[0] == "InvalidParameterValuesException"
    # After 6 hours the compute type may change (STOPPED → UPDATING → STOPPED)
    admin(url, "advance", seconds=SIX_HOURS)
    ws.modify_workspace_properties(WorkspaceId=wid, WorkspaceProperties={"ComputeTypeName": "POWER"})
    settled(ws, wid, "STOPPED")
    w = describe(ws, wid)
    assert w["State"] == "STOPPED" and w["WorkspaceProperties"]["ComputeTypeName"] == "POWER"


def test_modify_workspace_state_errors(env):
    ws = env.ws
    did = env.directory()
    wid = env.workspace(did, "state", RunningMode="AUTO_STOP")
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_state(WorkspaceId=UNKNOWN_WS, WorkspaceState="ADMIN_MAINTENANCE")
    assert error_of(ex)[0] == "ResourceNotFoundException"
    act(ws, "stop", wid)
    settled(ws, wid, "STOPPED")
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_state(WorkspaceId=wid, WorkspaceState="ADMIN_MAINTENANCE")
    assert error_of(ex)[0] == "InvalidResourceStateException"
    assert ws_state(ws, wid) == "STOPPED"
    with pytest.raises(ClientError) as ex:
        env.raw.modify_workspace_state(WorkspaceId=wid, WorkspaceState="STOPPED")
    assert error_of(ex)[0] == "ValidationException"


# ---------------------------------------------------------------------------------------------
# 3. directories: registration, deregistration, IP groups, settings


def test_register_directory_errors(env):
    ws, ds = env.ws, env.ds
    with pytest.raises(ClientError) as ex:
        ws.register_workspace_directory(DirectoryId=UNKNOWN_DS)
    assert error_of(ex)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as ex:
        ws.register_workspace_directory()
    assert error_of(ex) == ("ValidationException", "The following arguments are required - DirectoryId.")
    did = active_directory(ds)
    with pytest.raises(ClientError) as ex:
        ws.register_workspace_directory(DirectoryId=did, Tenancy="DEDICATED")
    assert error_of(ex)[0] == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as ex:
        env.raw.register_workspace_directory(DirectoryId=did, SubnetIds=[SUBNETS[0], SUBNETS[0]])
    assert error_of(ex)[0] == "OperationNotSupportedException"
    with pytest.raises(ClientError) as ex:
        env.raw.register_workspace_directory(DirectoryId=did, SubnetIds=SUBNETS + ["subnet-0123456789abcdef2"])
    assert error_of(ex)[0] == "ValidationException"  # model: SubnetIds max 2
    assert ws.describe_workspace_directories()["Directories"] == []
    ws.register_workspace_directory(DirectoryId=did, EnableSelfService=True, Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(ClientError) as ex:
        ws.register_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "ResourceAlreadyExistsException"
    dir_settled(ws, did, "REGISTERED")
    d = the_directory(ws, did)
    assert {k: v for k, v in d["SelfservicePermissions"].items() if k not in ("NestedVirtualization", "EnableEndUserAdvisor")} == {
        "RestartWorkspace": "ENABLED",
        "IncreaseVolumeSize": "ENABLED",
        "ChangeComputeType": "ENABLED",
        "SwitchRunningMode": "ENABLED",
        "RebuildWorkspace": "ENABLED",
    }
    assert ws.describe_tags(ResourceId=did)["TagList"] == [{"Key": "k", "Value": "v"}]


def test_register_directory_not_active(manual):
    ws, ds = manual.ws, manual.ds
    did = create_ds_directory(ds)
    assert ds_stage(ds, did) == "Requested"
    with pytest.raises(ClientError) as ex:
        ws.register_workspace_directory(DirectoryId=did)
    assert error_of(ex) == ("InvalidResourceStateException", NOT_ACTIVE_MSG)
    settle(manual.url)
    assert ds_stage(ds, did) == "Active"
    ws.register_workspace_directory(DirectoryId=did)
    assert dir_state(ws, did) == "REGISTERING"
    # transitional: deregistration and IP group association refused
    with pytest.raises(ClientError) as ex:
        ws.deregister_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "InvalidResourceStateException"
    gid = ws.create_ip_group(GroupName="early")["GroupId"]
    with pytest.raises(ClientError) as ex:
        ws.associate_ip_groups(DirectoryId=did, GroupIds=[gid])
    assert error_of(ex)[0] == "InvalidResourceStateException"
    settle(manual.url)
    assert dir_state(ws, did) == "REGISTERED"
    # the DS directory cannot be deleted while registered
    with pytest.raises(ClientError) as ex:
        ds.delete_directory(DirectoryId=did)
    assert error_of(ex)[0] == "ClientException"
    ws.deregister_workspace_directory(DirectoryId=did)
    settle(manual.url)
    ds.delete_directory(DirectoryId=did)
    assert ds_stage(ds, did) == "Deleting"
    settle(manual.url)
    assert ds_stage(ds, did) == GONE


def test_deregister_directory_errors(env):
    ws = env.ws
    with pytest.raises(ClientError) as ex:
        ws.deregister_workspace_directory(DirectoryId=UNKNOWN_DS)
    assert error_of(ex)[0] == "ResourceNotFoundException"
    did = env.directory()
    wid = env.workspace(did, "blocker", RunningMode="AUTO_STOP")
    act(ws, "stop", wid)
    settled(ws, wid, "STOPPED")
    with pytest.raises(ClientError) as ex:
        ws.deregister_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "OperationNotSupportedException"
    assert dir_state(ws, did) == "REGISTERED"
    act(ws, "terminate", wid)
    settled(ws, wid, GONE)
    ws.deregister_workspace_directory(DirectoryId=did)
    dir_settled(ws, did, GONE)
    # the DS directory is still there and can be registered again
    assert ds_stage(env.ds, did) == "Active"
    ws.register_workspace_directory(DirectoryId=did)
    dir_settled(ws, did, "REGISTERED")


def test_ip_group_association(env):
    ws = env.ws
    did = env.directory()
    g1 = ws.create_ip_group(GroupName="one")["GroupId"]
    g2 = ws.create_ip_group(GroupName="two")["GroupId"]
    ws.associate_ip_groups(DirectoryId=did, GroupIds=[g1, g2])
    assert the_directory(ws, did)["ipGroupIds"] == [g1, g2]
    ws.associate_ip_groups(DirectoryId=did, GroupIds=[g1])  # already associated: no-op
    assert the_directory(ws, did)["ipGroupIds"] == [g1, g2]
    with pytest.raises(ClientError) as ex:
        ws.associate_ip_groups(DirectoryId=did, GroupIds=[g1, "wsipg-000000000"])
    assert error_of(ex)[0] == "ResourceNotFoundException"
    assert the_directory(ws, did)["ipGroupIds"] == [g1, g2]
    with pytest.raises(ClientError) as ex:
        ws.associate_ip_groups(DirectoryId=UNKNOWN_DS, GroupIds=[g1])
    assert error_of(ex)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as ex:
        ws.disassociate_ip_groups(DirectoryId=UNKNOWN_DS, GroupIds=[g1])
    assert error_of(ex)[0] == "ResourceNotFoundException"
    ws.disassociate_ip_groups(DirectoryId=did, GroupIds=[g1])
    assert the_directory(ws, did)["ipGroupIds"] == [g2]
    ws.disassociate_ip_groups(DirectoryId=did, GroupIds=[g2, g1])
    assert "ipGroupIds" not in the_directory(ws, did)


def test_directory_settings_reflected(env):
    ws = env.ws
    did = env.directory()

    def not_found(call, **kw):
        with pytest.raises(ClientError) as ex:
            call(ResourceId=UNKNOWN_DS, **kw)
        assert error_of(ex)[0] == "ResourceNotFoundException", call

    creation = {
        "EnableInternetAccess": True,
        "DefaultOu": "OU=WorkSpaces,DC=corp,DC=example,DC=com",
        "CustomSecurityGroupId": "sg-0123456789abcdef0",
        "UserEnabledAsLocalAdministrator": False,
        "EnableMaintenanceMode": False,
    }
    ws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties=creation)
    assert the_directory(ws, did)["WorkspaceCreationProperties"] == creation
    ws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties={"EnableInternetAccess": False})
    assert the_directory(ws, did)["WorkspaceCreationProperties"] == dict(creation, EnableInternetAccess=False)
    with pytest.raises(ClientError) as ex:
        ws.modify_workspace_creation_properties(ResourceId=did, WorkspaceCreationProperties={"DefaultOu": ""})
    assert error_of(ex) == ("InvalidParameterValuesException", "An invalid or out-of-range value was supplied for the input parameter.")
    not_found(ws.modify_workspace_creation_properties, WorkspaceCreationProperties={"EnableInternetAccess": True})

    ws.modify_workspace_access_properties(ResourceId=did, WorkspaceAccessProperties={"DeviceTypeWeb": "ALLOW", "DeviceTypeLinux": "ALLOW", "DeviceTypeAndroid": "DENY"})
    acc = the_directory(ws, did)["WorkspaceAccessProperties"]
    assert (acc["DeviceTypeWeb"], acc["DeviceTypeLinux"], acc["DeviceTypeAndroid"], acc["DeviceTypeWindows"]) == ("ALLOW", "ALLOW", "DENY", "ALLOW")
    not_found(ws.modify_workspace_access_properties, WorkspaceAccessProperties={"DeviceTypeWeb": "ALLOW"})

    ws.modify_selfservice_permissions(ResourceId=did, SelfservicePermissions={"RebuildWorkspace": "ENABLED", "RestartWorkspace": "DISABLED"})
    sp = the_directory(ws, did)["SelfservicePermissions"]
    assert (sp["RebuildWorkspace"], sp["RestartWorkspace"], sp["ChangeComputeType"]) == ("ENABLED", "DISABLED", "DISABLED")
    not_found(ws.modify_selfservice_permissions, SelfservicePermissions={"RebuildWorkspace": "ENABLED"})

    with pytest.raises(ClientError) as ex:
        ws.modify_saml_properties(ResourceId=did, SamlProperties={"Status": "ENABLED"})
    assert error_of(ex)[0] == "InvalidParameterValuesException"
    ws.modify_saml_properties(ResourceId=did, SamlProperties={"Status": "ENABLED", "UserAccessUrl": "https://idp.example.com/sso", "RelayStateParameterName": "RS"})
    assert the_directory(ws, did)["SamlProperties"] == {"Status": "ENABLED", "UserAccessUrl": "https://idp.example.com/sso", "RelayStateParameterName": "RS"}
    with pytest.raises(ClientError) as ex:
        ws.modify_saml_properties(ResourceId=did, PropertiesToDelete=["SAML_PROPERTIES_USER_ACCESS_URL"])
    assert error_of(ex)[0] == "InvalidParameterValuesException"
    ws.modify_saml_properties(ResourceId=did, PropertiesToDelete=["SAML_PROPERTIES_RELAY_STATE_PARAMETER_NAME"])
    assert the_directory(ws, did)["SamlProperties"] == {"Status": "ENABLED", "UserAccessUrl": "https://idp.example.com/sso"}
    not_found(ws.modify_saml_properties, SamlProperties={"Status": "DISABLED"})

    with pytest.raises(ClientError) as ex:
        ws.modify_certificate_based_auth_properties(ResourceId=did, CertificateBasedAuthProperties={"Status": "ENABLED"})
    assert error_of(ex)[0] == "InvalidParameterValuesException"
    arn = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
    ws.modify_certificate_based_auth_properties(ResourceId=did, CertificateBasedAuthProperties={"Status": "ENABLED", "CertificateAuthorityArn": arn})
    assert the_directory(ws, did)["CertificateBasedAuthProperties"] == {"Status": "ENABLED", "CertificateAuthorityArn": arn}
    not_found(ws.modify_certificate_based_auth_properties, CertificateBasedAuthProperties={"Status": "DISABLED"})

    ws.modify_streaming_properties(ResourceId=did, StreamingProperties={"StreamingExperiencePreferredProtocol": "UDP"})
    assert the_directory(ws, did)["StreamingProperties"]["StreamingExperiencePreferredProtocol"] == "UDP"
    not_found(ws.modify_streaming_properties, StreamingProperties={"StreamingExperiencePreferredProtocol": "TCP"})

    (cp,) = ws.describe_client_properties(ResourceIds=[did])["ClientPropertiesList"]
    assert cp == {"ResourceId": did, "ClientProperties": {"ReconnectEnabled": "ENABLED", "LogUploadEnabled": "ENABLED"}}
    ws.modify_client_properties(ResourceId=did, ClientProperties={"ReconnectEnabled": "DISABLED"})
    (cp,) = ws.describe_client_properties(ResourceIds=[did])["ClientPropertiesList"]
    assert cp["ClientProperties"] == {"ReconnectEnabled": "DISABLED", "LogUploadEnabled": "ENABLED"}
    not_found(ws.modify_client_properties, ClientProperties={"ReconnectEnabled": "DISABLED"})
    with pytest.raises(ClientError) as ex:
        ws.describe_client_properties(ResourceIds=[did, UNKNOWN_DS])
    assert error_of(ex)[0] == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------------
# 3. DescribeWorkspaces filters and pagination; DescribeWorkspaceBundles


def test_describe_workspaces_filters_and_pages(env):
    ws = env.ws
    a = env.directory()
    b = env.directory()
    linux = cached_bundle(ws, LINUX_BUNDLE)
    w1 = env.workspace(a, "Ann")
    w2 = create_one(ws, a, linux, "bob")
    w3 = env.workspace(a, "cy")
    w4 = create_one(ws, b, linux, "ann")
    assert ids_of(ws.describe_workspaces()["Workspaces"]) == [w1, w2, w3, w4]
    assert ids_of(ws.describe_workspaces(WorkspaceIds=[w3, UNKNOWN_WS, w1, w3])["Workspaces"]) == [w1, w3]
    assert ids_of(ws.describe_workspaces(DirectoryId=a)["Workspaces"]) == [w1, w2, w3]
    assert ids_of(ws.describe_workspaces(DirectoryId=a, UserName="ANN")["Workspaces"]) == [w1]
    assert ids_of(ws.describe_workspaces(DirectoryId=b, UserName="ann")["Workspaces"]) == [w4]
    assert ids_of(ws.describe_workspaces(DirectoryId=a, UserName="nobody")["Workspaces"]) == []
    assert ids_of(ws.describe_workspaces(DirectoryId=UNKNOWN_DS)["Workspaces"]) == []
    assert ids_of(ws.describe_workspaces(BundleId=linux)["Workspaces"]) == [w2, w4]
    # pages
    p1 = ws.describe_workspaces(Limit=3)
    assert ids_of(p1["Workspaces"]) == [w1, w2, w3] and p1["NextToken"]
    p2 = ws.describe_workspaces(Limit=3, NextToken=p1["NextToken"])
    assert ids_of(p2["Workspaces"]) == [w4] and "NextToken" not in p2
    q1 = ws.describe_workspaces(DirectoryId=a, Limit=2)
    assert ids_of(q1["Workspaces"]) == [w1, w2]
    assert ids_of(ws.describe_workspaces(DirectoryId=a, Limit=2, NextToken=q1["NextToken"])["Workspaces"]) == [w3]
    paged = ws.get_paginator("describe_workspaces").paginate(PaginationConfig={"PageSize": 1})
    assert [ids_of(p["Workspaces"]) for p in paged] == [[w1], [w2], [w3], [w4]]
    by_ids = ws.get_paginator("describe_workspaces").paginate(WorkspaceIds=[w4, w2, w1], PaginationConfig={"PageSize": 2})
    assert [ids_of(p["Workspaces"]) for p in by_ids] == [[w1, w2], [w4]]

    def invalid(**kw):
        with pytest.raises(ClientError) as ex:
            env.raw.describe_workspaces(**kw)
        return error_of(ex)[0]

    assert invalid(NextToken="garbage") == "InvalidParameterValuesException"
    assert invalid(DirectoryId=b, NextToken=q1["NextToken"]) == "InvalidParameterValuesException"  # token of other filters
    assert invalid(DirectoryId=a, BundleId=linux) == "InvalidParameterValuesException"
    assert invalid(WorkspaceIds=[w1], DirectoryId=a) == "InvalidParameterValuesException"
    assert invalid(UserName="ann") == "InvalidParameterValuesException"
    assert invalid(Limit=26) == "ValidationException"
    assert invalid(Limit=0) == "ValidationException"
    assert invalid(WorkspaceIds=[f"ws-{i:09d}" for i in range(26)]) == "ValidationException"


def test_describe_workspace_bundles(env):
    ws = env.ws
    pages = list(ws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON"))
    bundles = [b for p in pages for b in p["Bundles"]]
    assert len(pages) >= 2 and len(pages[0]["Bundles"]) == 25
    ids = [b["BundleId"] for b in bundles]
    assert len(set(ids)) == len(ids)
    for b in bundles:
        # AWS answers "Amazon" for its public bundles (the filter value is AMAZON).
        assert b["Owner"] == "Amazon" and b["State"] == "AVAILABLE" and b["BundleType"] == "REGULAR"
        assert b["BundleId"].startswith("wsb-") and len(b["BundleId"]) == 13
        assert isinstance(b["RootStorage"]["Capacity"], str) and isinstance(b["UserStorage"]["Capacity"], str)
    names = {b["Name"] for b in bundles}
    assert {"Standard with Windows 10 (Server 2022 based)", LINUX_BUNDLE} <= names
    first = ws.describe_workspace_bundles(Owner="AMAZON")
    assert [b["BundleId"] for b in first["Bundles"]] == ids[:25] and first["NextToken"]
    second = ws.describe_workspace_bundles(Owner="AMAZON", NextToken=first["NextToken"])
    assert [b["BundleId"] for b in second["Bundles"]] == ids[25:50]
    got = ws.describe_workspace_bundles(BundleIds=[ids[3], UNKNOWN_BUNDLE, ids[0]])["Bundles"]
    assert sorted(b["BundleId"] for b in got) == sorted([ids[0], ids[3]])
    assert ws.describe_workspace_bundles()["Bundles"] == []  # no custom bundles of the caller
    for kw in ({"Owner": "AMAZON", "BundleIds": [ids[0]]}, {"Owner": "AMAZON", "NextToken": "garbage"}):
        with pytest.raises(ClientError) as ex:
            ws.describe_workspace_bundles(**kw)
        assert error_of(ex)[0] == "InvalidParameterValuesException"


# ---------------------------------------------------------------------------------------------
# 3. tags on WorkSpaces and directories


def test_tags_on_workspaces_and_directories(env):
    ws = env.ws
    did = env.directory()
    wid = create_one(ws, did, env.bundle, "tagged", Tags=[{"Key": "a", "Value": "1"}])
    for rid in (wid, did):
        ws.create_tags(ResourceId=rid, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
        assert ws.describe_tags(ResourceId=rid)["TagList"] == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}]
        ws.delete_tags(ResourceId=rid, TagKeys=["a", "absent"])
        assert ws.describe_tags(ResourceId=rid)["TagList"] == [{"Key": "b", "Value": ""}]
        with pytest.raises(ClientError) as ex:
            ws.create_tags(ResourceId=rid, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
        assert error_of(ex)[0] == "ResourceLimitExceededException"
        with pytest.raises(ClientError) as ex:
            ws.create_tags(ResourceId=rid, Tags=[{"Key": "aws:owner", "Value": "x"}])
        assert error_of(ex)[0] == "InvalidParameterValuesException"
        assert ws.describe_tags(ResourceId=rid)["TagList"] == [{"Key": "b", "Value": ""}]
    for rid in (UNKNOWN_WS, UNKNOWN_DS, "wsd-000000000"):
        for call in (
            lambda: ws.describe_tags(ResourceId=rid),
            lambda: ws.create_tags(ResourceId=rid, Tags=[{"Key": "k", "Value": "v"}]),
            lambda: ws.delete_tags(ResourceId=rid, TagKeys=["k"]),
        ):
            with pytest.raises(ClientError) as ex:
                call()
            assert error_of(ex)[0] == "ResourceNotFoundException"
    # A Directory Service directory that is not registered has no WorkSpaces tags
    unregistered = active_directory(env.ds, name="other.example.com")
    with pytest.raises(ClientError) as ex:
        ws.describe_tags(ResourceId=unregistered)
    assert error_of(ex)[0] == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------------
# 3. Directory Service errors


def test_ds_errors_and_paging(jenv):
    ds = jenv.ds
    with pytest.raises(ClientError) as ex:
        ds.describe_directories(DirectoryIds=[UNKNOWN_DS])
    code, msg = error_of(ex)
    assert code == "EntityDoesNotExistException" and UNKNOWN_DS in msg
    with pytest.raises(ClientError) as ex:
        ds.delete_directory(DirectoryId=UNKNOWN_DS)
    assert error_of(ex)[0] == "EntityDoesNotExistException"
    with pytest.raises(ClientError) as ex:
        create_ds_directory(ds, subnets=SUBNETS[:1])
    assert error_of(ex)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as ex:
        ds.create_directory(Name="corp.example.com", Password="Passw0rd!", Size="Small")
    assert error_of(ex)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as ex:
        ds.describe_directories(NextToken="garbage")
    assert error_of(ex)[0] == "InvalidNextTokenException"
    d1 = active_directory(ds, name="one.example.com")
    d2 = active_directory(ds, name="two.example.com")
    with pytest.raises(ClientError) as ex:
        ds.describe_directories(DirectoryIds=[d1, UNKNOWN_DS])
    assert error_of(ex)[0] == "EntityDoesNotExistException"
    p1 = ds.describe_directories(Limit=1)
    assert [d["DirectoryId"] for d in p1["DirectoryDescriptions"]] == [d1] and p1["NextToken"]
    p2 = ds.describe_directories(Limit=1, NextToken=p1["NextToken"])
    assert [d["DirectoryId"] for d in p2["DirectoryDescriptions"]] == [d2] and "NextToken" not in p2
    assert [d["DirectoryId"] for d in ds.describe_directories()["DirectoryDescriptions"]] == [d1, d2]
    ds.delete_directory(DirectoryId=d1)
    poll(lambda: ds_stage(ds, d1), lambda s: s == GONE, {"Deleting", GONE}, timeout=5, interval=0.02)


# ---------------------------------------------------------------------------------------------
# connection status and the admin routes


def test_connection_status(env):
    ws = env.ws
    did = env.directory()
    on = env.workspace(did, "on")
    auto = env.workspace(did, "auto", RunningMode="AUTO_STOP")
    act(ws, "stop", auto)
    settled(ws, auto, "STOPPED")
    got = ws.describe_workspaces_connection_status(WorkspaceIds=[auto, on, UNKNOWN_WS])["WorkspacesConnectionStatus"]
    assert [(c["WorkspaceId"], c["ConnectionState"]) for c in got] == [(on, "DISCONNECTED"), (auto, "UNKNOWN")]
    assert all("LastKnownUserConnectionTimestamp" not in c for c in got)
    every = [c["WorkspaceId"] for p in ws.get_paginator("describe_workspaces_connection_status").paginate() for c in p["WorkspacesConnectionStatus"]]
    assert every == [on, auto]


def test_admin_connection_route(jenv):
    ws = jenv.ws
    did = jenv.directory()
    wid = jenv.workspace(did, "conn")
    status, body = admin(jenv.url, "connection", account=jenv.account, region=REGION, workspace_id=wid, state="CONNECTED")
    if status == 404:
        # BUG: admin.rs documents this route and Service::admin_set_connection exists, but
        # the route is not wired up (admin.rs is outside what this change may touch).
        pytest.xfail(f"admin route /_localspaces/connection missing: {body}")
    assert status == 200, body
    (c,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
    assert c["ConnectionState"] == "CONNECTED" and c["LastKnownUserConnectionTimestamp"]
    status, _ = admin(jenv.url, "connection", account=jenv.account, region=REGION, workspace_id=wid, state="DISCONNECTED")
    assert status == 200
    (c,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
    assert c["ConnectionState"] == "DISCONNECTED" and c["LastKnownUserConnectionTimestamp"]


def test_admin_fault_injection_states(jenv):
    ws = jenv.ws
    did = jenv.directory()
    wid = jenv.workspace(did, "faulty", RunningMode="AUTO_STOP")
    status, body = admin(jenv.url, "workspace-state", account=jenv.account, region=REGION, workspace_id=wid, state="ERROR")
    if status == 404:
        # BUG: documented in admin.rs, Service::admin_force_state exists, route not wired up.
        pytest.xfail(f"admin route /_localspaces/workspace-state missing: {body}")
    assert status == 200, body
    w = describe(ws, wid)
    assert w["State"] == "ERROR" and w["ErrorCode"] and w["ErrorMessage"]
    # ERROR: reboot refused, stop and rebuild allowed
    assert failures(act(ws, "reboot", wid)) == [(wid, *BAD_STATE_WS)]
    assert act(ws, "rebuild", wid)["FailedRequests"] == []
    settled(ws, wid, "AVAILABLE")
    admin(jenv.url, "workspace-state", account=jenv.account, region=REGION, workspace_id=wid, state="UNHEALTHY")
    assert act(ws, "reboot", wid)["FailedRequests"] == []
    settled(ws, wid, "AVAILABLE")
    admin(jenv.url, "workspace-state", account=jenv.account, region=REGION, workspace_id=wid, state="SUSPENDED")
    assert failures(act(ws, "terminate", wid)) == [(wid, *BAD_STATE_WS)]


# ---------------------------------------------------------------------------------------------
# 5. the AWS CLI


def aws(url, account, service, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION=REGION)
    env.pop("AWS_PROFILE", None)
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    r = subprocess.run([cli, service, *args, "--endpoint-url", url, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else {}


def test_aws_cli_workspace_flow(pool):
    e = Env(pool[("sqlite", "instant")])
    url, account = e.url, e.account
    did = aws(url, account, "ds", "create-directory", "--name", "cli.example.com", "--password", "Passw0rd!", "--size", "Small",
              "--vpc-settings", f"VpcId=vpc-0123456789abcdef0,SubnetIds={SUBNETS[0]},{SUBNETS[1]}")["DirectoryId"]
    poll(lambda: ds_stage(e.ds, did), lambda s: s == "Active", timeout=5, interval=0.02)
    assert aws(url, account, "ds", "describe-directories", "--directory-ids", did)["DirectoryDescriptions"][0]["Stage"] == "Active"
    assert aws(url, account, "workspaces", "register-workspace-directory", "--directory-id", did)["State"] == "REGISTERING"
    dir_settled(e.ws, did, "REGISTERED")
    out = aws(url, account, "workspaces", "create-workspaces", "--workspaces",
              f"DirectoryId={did},UserName=cli-user,BundleId={e.bundle},WorkspaceProperties={{RunningMode=AUTO_STOP,RunningModeAutoStopTimeoutInMinutes=120}}",
              f"DirectoryId={did},UserName=cli-user2,BundleId={UNKNOWN_BUNDLE}")
    (pending,) = out["PendingRequests"]
    (failed,) = out["FailedRequests"]
    assert failed["ErrorCode"] == "ResourceNotFound.Bundle" and failed["WorkspaceRequest"]["UserName"] == "cli-user2"
    wid = pending["WorkspaceId"]
    settled(e.ws, wid, "AVAILABLE")
    (w,) = aws(url, account, "workspaces", "describe-workspaces", "--workspace-ids", wid)["Workspaces"]
    assert w["State"] == "AVAILABLE" and w["UserName"] == "cli-user" and w["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 120
    (w,) = aws(url, account, "workspaces", "describe-workspaces", "--directory-id", did, "--user-name", "CLI-USER")["Workspaces"]
    assert w["WorkspaceId"] == wid
    reqs = json.dumps([{"WorkspaceId": wid}, {"WorkspaceId": UNKNOWN_WS}])
    out = aws(url, account, "workspaces", "terminate-workspaces", "--terminate-workspace-requests", reqs)
    assert [(f["WorkspaceId"], f["ErrorCode"]) for f in out["FailedRequests"]] == [(UNKNOWN_WS, NOT_FOUND_WS[0])]
    settled(e.ws, wid, GONE)
    assert aws(url, account, "workspaces", "describe-workspaces", "--workspace-ids", wid)["Workspaces"] == []


# ---------------------------------------------------------------------------------------------
# 6. account isolation


def test_accounts_are_isolated(pool, engine, protocol):
    srv = pool[(engine, "instant")]
    a = Env(srv, protocol)
    b = Env(srv, protocol)
    did = a.directory()
    wid = a.workspace(did, "alice")
    assert b.ws.describe_workspace_directories()["Directories"] == []
    assert b.ws.describe_workspace_directories(DirectoryIds=[did])["Directories"] == []
    assert b.ws.describe_workspaces()["Workspaces"] == []
    assert b.ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"] == []
    assert b.ws.describe_workspaces(DirectoryId=did)["Workspaces"] == []
    assert b.ds.describe_directories()["DirectoryDescriptions"] == []
    with pytest.raises(ClientError) as ex:
        b.ds.describe_directories(DirectoryIds=[did])
    assert error_of(ex)[0] == "EntityDoesNotExistException"
    with pytest.raises(ClientError) as ex:
        b.ws.register_workspace_directory(DirectoryId=did)
    assert error_of(ex)[0] == "ResourceNotFoundException"
    out = b.ws.create_workspaces(Workspaces=[request(did, b.bundle, "mallory")])
    assert [(f["ErrorCode"], f["ErrorMessage"]) for f in out["FailedRequests"]] == [DIR_NOT_FOUND_ITEM]
    for op in BATCH:
        assert failures(act(b.ws, op, wid)) == [(wid, *NOT_FOUND_WS)], op
    for call in (lambda: b.ws.describe_tags(ResourceId=wid), lambda: b.ws.deregister_workspace_directory(DirectoryId=did)):
        with pytest.raises(ClientError) as ex:
            call()
        assert error_of(ex)[0] == "ResourceNotFoundException"
    # A's resources are untouched
    assert ws_state(a.ws, wid) == "AVAILABLE" and dir_state(a.ws, did) == "REGISTERED"
    # the same user name in B's own directory is fine
    bdid = b.directory()
    b.workspace(bdid, "alice")
    assert len(a.ws.describe_workspaces()["Workspaces"]) == 1
