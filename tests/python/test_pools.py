"""WorkSpaces Pools through boto3 on both protocols and engines: the lifecycle
states Terraform's waiters expect (create -> STOPPED, start -> RUNNING, stop -> STOPPED,
terminate -> gone), UpdateWorkspacesPool, DescribeWorkspacesPools filters and pages, tags,
every modeled error, and sessions opened by the admin `pool-session` route."""
import re

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Server, error_of, make_client
from flows import GONE, LINUX_BUNDLE, admin, bundle_id, ds_client, poll, registered_directory, settle


def pools_directory(ws, name="pools-dir"):
    """A REGISTERED WorkSpaces Pools directory (wsd-…, SAML / CUSTOMER_MANAGED)."""
    out = ws.register_workspace_directory(
        WorkspaceDirectoryName=name,
        WorkspaceDirectoryDescription="Pools directory",
        UserIdentityType="CUSTOMER_MANAGED",
        WorkspaceType="POOLS",
    )
    did = out["DirectoryId"]
    assert did.startswith("wsd-") and out["State"] == "REGISTERING"
    poll(
        lambda: ws.describe_workspace_directories(DirectoryIds=[did])["Directories"][0]["State"],
        lambda s: s == "REGISTERED",
        {"REGISTERING", "REGISTERED"},
    )
    return did


def create_pool(ws, did, name="pool1", desired=2, **kw):
    kw.setdefault("Description", "test pool")
    return ws.create_workspaces_pool(
        PoolName=name, BundleId=bundle_id(ws), DirectoryId=did, Capacity={"DesiredUserSessions": desired}, **kw
    )["WorkspacesPool"]


def pool_of(ws, pid):
    try:
        return ws.describe_workspaces_pools(PoolIds=[pid])["WorkspacesPools"][0]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def pool_state(ws, pid):
    p = pool_of(ws, pid)
    return p["State"] if p else GONE


def wait_pool(ws, pid, target, allowed):
    return poll(lambda: pool_state(ws, pid), lambda s: s == target, allowed)


def code_of(call, *args, **kw):
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    return error_of(e)[0]


def open_session(url, account, pid, user):
    return admin(url, "pool-session", account=account, region=REGION, pool_id=pid, user=user)


@pytest.fixture
def iws(instant_server, protocol, account):
    """A client of an `--timing instant` server (end states before the next call)."""
    return make_client(instant_server.url, protocol, account)


@pytest.fixture
def raw_iws(instant_server, protocol, account):
    return make_client(instant_server.url, protocol, account, validate=False)


# ---------------------------------------------------------------- states (fast timing)


def test_states_create_start_stop_terminate(ws, server, account):
    did = pools_directory(ws)
    p = create_pool(ws, did, desired=3)
    pid = p["PoolId"]
    assert p["State"] == "CREATING"
    log = wait_pool(ws, pid, "STOPPED", {"CREATING", "STOPPED"})
    assert log.states[0] == "CREATING", log
    ws.start_workspaces_pool(PoolId=pid)
    log = wait_pool(ws, pid, "RUNNING", {"STARTING", "RUNNING"})
    assert log.states[0] == "STARTING", log
    status = pool_of(ws, pid)["CapacityStatus"]
    assert status == {
        "AvailableUserSessions": 3,
        "DesiredUserSessions": 3,
        "ActualUserSessions": 3,
        "ActiveUserSessions": 0,
    }
    ws.stop_workspaces_pool(PoolId=pid)
    assert pool_state(ws, pid) in ("STOPPING", "STOPPED")
    log = wait_pool(ws, pid, "STOPPED", {"STOPPING", "STOPPED"})
    assert pool_of(ws, pid)["CapacityStatus"]["ActualUserSessions"] == 0
    ws.terminate_workspaces_pool(PoolId=pid)
    log = wait_pool(ws, pid, GONE, {"DELETING", GONE})
    assert log.states == ["DELETING", GONE], log
    assert ws.describe_workspaces_pools()["WorkspacesPools"] == []


# Pool transitions that take ten minutes, each ended by the admin `advance` route: every
# intermediate state is seen and every "in progress" answer checked, however slow the machine.
HELD = "fast," + ",".join(f"pool_{k}=600" for k in ("create", "start", "stop", "update", "terminate"))


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def held_server(request, tmp_path_factory):
    engine = ["--in-memory"] if request.param == "memory" else ["--data-dir", str(tmp_path_factory.mktemp("held"))]
    srv = Server(*engine, "--timing", HELD).start()
    yield srv
    assert srv.stop() == 0


def test_waiter_sequence_and_busy_errors(held_server, protocol, account):
    ws = make_client(held_server.url, protocol, account)

    def advance():
        assert admin(held_server.url, "advance", seconds=600)[0] == 200

    did = pools_directory(ws)
    pid = create_pool(ws, did)["PoolId"]
    # While CREATING every state-changing call is "in progress".
    assert pool_state(ws, pid) == "CREATING"
    assert code_of(ws.start_workspaces_pool, PoolId=pid) == "OperationInProgressException"
    assert code_of(ws.stop_workspaces_pool, PoolId=pid) == "OperationInProgressException"
    assert code_of(ws.terminate_workspaces_pool, PoolId=pid) == "OperationInProgressException"
    advance()
    assert pool_state(ws, pid) == "STOPPED"
    ws.start_workspaces_pool(PoolId=pid)
    assert pool_state(ws, pid) == "STARTING"
    advance()
    assert pool_state(ws, pid) == "RUNNING"
    # A running pool's capacity change rolls out through UPDATING, then back to RUNNING.
    out = ws.update_workspaces_pool(PoolId=pid, Capacity={"DesiredUserSessions": 5})["WorkspacesPool"]
    assert out["State"] == "UPDATING" and out["CapacityStatus"]["DesiredUserSessions"] == 5
    assert code_of(ws.stop_workspaces_pool, PoolId=pid) == "OperationInProgressException"
    advance()
    assert pool_state(ws, pid) == "RUNNING"
    assert pool_of(ws, pid)["CapacityStatus"]["ActualUserSessions"] == 5
    # Terminating a running pool stops it first.
    ws.terminate_workspaces_pool(PoolId=pid)
    ws.terminate_workspaces_pool(PoolId=pid)  # already on its way out: accepted again
    assert pool_state(ws, pid) == "STOPPING"
    advance()
    assert pool_state(ws, pid) == "DELETING"
    advance()
    assert pool_state(ws, pid) == GONE


def test_session_termination_in_progress(ws, server, account):
    did = pools_directory(ws)
    pid = create_pool(ws, did)["PoolId"]
    settle(server.url)
    ws.start_workspaces_pool(PoolId=pid)
    settle(server.url)
    status, body = open_session(server.url, account, pid, "alice")
    assert status == 200, body
    sid = body["session_id"]
    ws.terminate_workspaces_pool_session(SessionId=sid)
    (s,) = ws.describe_workspaces_pool_sessions(PoolId=pid)["Sessions"]
    assert s["ConnectionState"] == "NOT_CONNECTED"
    assert code_of(ws.terminate_workspaces_pool_session, SessionId=sid) == "OperationInProgressException"
    poll(lambda: len(ws.describe_workspaces_pool_sessions(PoolId=pid)["Sessions"]), lambda n: n == 0)


# ---------------------------------------------------------------- instant timing


def test_create_answer_and_defaults(iws, account):
    did = pools_directory(iws)
    bid = bundle_id(iws)
    p = iws.create_workspaces_pool(
        PoolName="Pool.one_A-1",
        Description="Sales pool (EU)",
        BundleId=bid,
        DirectoryId=did,
        Capacity={"DesiredUserSessions": 4},
        Tags=[{"Key": "team", "Value": "sales"}],
    )["WorkspacesPool"]
    assert re.fullmatch(r"wspool-[0-9a-z]{9}", p["PoolId"])
    assert p["PoolArn"] == f"arn:aws:workspaces:{REGION}:{account}:workspacespool/{p['PoolId']}"
    assert p["State"] == "CREATING"
    assert p["PoolName"] == "Pool.one_A-1" and p["Description"] == "Sales pool (EU)"
    assert p["BundleId"] == bid and p["DirectoryId"] == did
    assert p["RunningMode"] == "AUTO_STOP"
    assert p["CapacityStatus"] == {
        "AvailableUserSessions": 0,
        "DesiredUserSessions": 4,
        "ActualUserSessions": 0,
        "ActiveUserSessions": 0,
    }
    assert p["ApplicationSettings"] == {"Status": "DISABLED"}
    assert p["TimeoutSettings"] == {
        "DisconnectTimeoutInSeconds": 900,
        "IdleDisconnectTimeoutInSeconds": 900,
        "MaxUserDurationInSeconds": 57600,
    }
    assert p["CreatedAt"] is not None
    got = pool_of(iws, p["PoolId"])
    assert got["State"] == "STOPPED"
    assert {k: v for k, v in got.items() if k != "State"} == {k: v for k, v in p.items() if k != "State"}
    # Tags: given at creation, then through the tags API.
    assert iws.describe_tags(ResourceId=p["PoolId"])["TagList"] == [{"Key": "team", "Value": "sales"}]
    iws.create_tags(ResourceId=p["PoolId"], Tags=[{"Key": "env", "Value": "dev"}])
    iws.delete_tags(ResourceId=p["PoolId"], TagKeys=["team"])
    assert iws.describe_tags(ResourceId=p["PoolId"])["TagList"] == [{"Key": "env", "Value": "dev"}]
    assert code_of(iws.describe_tags, ResourceId="wspool-000000000") == "ResourceNotFoundException"

    q = iws.create_workspaces_pool(
        PoolName="pool2",
        Description="always on",
        BundleId=bid,
        DirectoryId=did,
        Capacity={"DesiredUserSessions": 0},
        RunningMode="ALWAYS_ON",
        TimeoutSettings={"MaxUserDurationInSeconds": 600},
        ApplicationSettings={"Status": "ENABLED", "SettingsGroup": "group-1"},
    )["WorkspacesPool"]
    assert q["RunningMode"] == "ALWAYS_ON"
    assert q["TimeoutSettings"]["MaxUserDurationInSeconds"] == 600
    assert q["TimeoutSettings"]["DisconnectTimeoutInSeconds"] == 900
    bucket = q["ApplicationSettings"]["S3BucketName"]
    assert re.fullmatch(rf"wspool-app-settings-{REGION}-{account}-[0-9a-z]+", bucket)
    assert q["ApplicationSettings"]["SettingsGroup"] == "group-1"
    assert q["ApplicationSettings"]["Status"] == "ENABLED"
    # One bucket per account and Region.
    r = iws.update_workspaces_pool(PoolId=p["PoolId"], ApplicationSettings={"Status": "ENABLED"})
    assert r["WorkspacesPool"]["ApplicationSettings"]["S3BucketName"] == bucket


def test_create_errors(iws, raw_iws, instant_server, account):
    did = pools_directory(iws)
    bid = bundle_id(iws)
    base = dict(Description="d", BundleId=bid, DirectoryId=did, Capacity={"DesiredUserSessions": 1})

    def code(**kw):
        return code_of(iws.create_workspaces_pool, **{**base, "PoolName": "p", **kw})

    assert code(DirectoryId="wsd-000000000") == "ResourceNotFoundException"
    assert code(BundleId="wsb-000000000") == "ResourceNotFoundException"
    assert code(BundleId=bundle_id(iws, LINUX_BUNDLE)) == "OperationNotSupportedException"  # inferred
    assert code(Tags=[{"Key": "aws:x", "Value": "y"}]) == "InvalidParameterValuesException"
    assert code(Capacity={"DesiredUserSessions": 100000}) == "ResourceLimitExceededException"
    # A personal (Directory Service) directory cannot host pools.
    personal = registered_directory(iws, ds_client(instant_server.url, account))
    assert code(DirectoryId=personal) == "InvalidParameterValuesException"  # inferred
    iws.create_workspaces_pool(PoolName="p", **base)
    assert code() == "ResourceAlreadyExistsException"
    # Model constraints (validated before the handler).
    raw = lambda **kw: code_of(raw_iws.create_workspaces_pool, **{**base, "PoolName": "q", **kw})  # noqa: E731
    assert raw(PoolName="-bad") == "ValidationException"
    assert raw(TimeoutSettings={"DisconnectTimeoutInSeconds": 10}) == "ValidationException"
    assert raw(Capacity={"DesiredUserSessions": -1}) == "ValidationException"
    assert raw(RunningMode="SOMETIMES") == "ValidationException"
    # The directory stays while a pool uses it.
    assert code_of(iws.deregister_workspace_directory, DirectoryId=did) == "OperationNotSupportedException"


def test_describe_filters_and_pages(iws, account):
    did = pools_directory(iws)
    names = ["alpha", "beta", "alphabet", "gamma", "delta"]
    ids = {n: create_pool(iws, did, n)["PoolId"] for n in names}

    def names_of(**kw):
        return sorted(p["PoolName"] for p in iws.describe_workspaces_pools(**kw)["WorkspacesPools"])

    assert names_of() == sorted(names)
    f = lambda op, *v: [{"Name": "PoolName", "Operator": op, "Values": list(v)}]  # noqa: E731
    assert names_of(Filters=f("EQUALS", "alpha", "gamma")) == ["alpha", "gamma"]
    assert names_of(Filters=f("NOTEQUALS", "alpha")) == ["alphabet", "beta", "delta", "gamma"]
    assert names_of(Filters=f("CONTAINS", "alpha")) == ["alpha", "alphabet"]
    assert names_of(Filters=f("NOTCONTAINS", "alpha", "eta")) == ["delta", "gamma"]
    assert names_of(Filters=f("CONTAINS", "ta") + f("NOTCONTAINS", "el")) == ["beta"]
    assert names_of(PoolIds=[ids["beta"], ids["delta"]]) == ["beta", "delta"]
    assert names_of(PoolIds=[ids["beta"]], Filters=f("EQUALS", "alpha")) == []
    # Pages of 2, in creation order, nothing repeated or skipped.
    seen, token, pages = [], None, 0
    while True:
        kw = {"Limit": 2, **({"NextToken": token} if token else {})}
        out = iws.describe_workspaces_pools(**kw)
        seen += [p["PoolName"] for p in out["WorkspacesPools"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert seen == names and pages == 3
    out = iws.describe_workspaces_pools(Limit=1, Filters=f("CONTAINS", "alpha"))
    assert [p["PoolName"] for p in out["WorkspacesPools"]] == ["alpha"]
    out = iws.describe_workspaces_pools(Limit=1, Filters=f("CONTAINS", "alpha"), NextToken=out["NextToken"])
    assert [p["PoolName"] for p in out["WorkspacesPools"]] == ["alphabet"] and "NextToken" not in out
    # Errors.
    assert code_of(iws.describe_workspaces_pools, PoolIds=["wspool-000000000"]) == "ResourceNotFoundException"
    assert code_of(iws.describe_workspaces_pools, NextToken="bm9wZQ") == "InvalidParameterValuesException"


def test_start_stop_terminate_errors(iws, account):
    did = pools_directory(iws)
    pid = create_pool(iws, did)["PoolId"]
    missing = "wspool-000000000"
    for call in (iws.start_workspaces_pool, iws.stop_workspaces_pool, iws.terminate_workspaces_pool):
        assert code_of(call, PoolId=missing) == "ResourceNotFoundException"
    assert code_of(iws.stop_workspaces_pool, PoolId=pid) == "InvalidResourceStateException"
    iws.start_workspaces_pool(PoolId=pid)
    assert pool_state(iws, pid) == "RUNNING"
    assert code_of(iws.start_workspaces_pool, PoolId=pid) == "InvalidResourceStateException"
    iws.stop_workspaces_pool(PoolId=pid)
    assert pool_state(iws, pid) == "STOPPED"
    iws.terminate_workspaces_pool(PoolId=pid)
    assert pool_state(iws, pid) == GONE
    assert code_of(iws.terminate_workspaces_pool, PoolId=pid) == "ResourceNotFoundException"
    assert code_of(iws.update_workspaces_pool, PoolId=pid, Description="x") == "ResourceNotFoundException"
    # With the pool gone the directory can go.
    iws.deregister_workspace_directory(DirectoryId=did)


def test_update(iws, raw_iws, account):
    did = pools_directory(iws)
    other = pools_directory(iws, "pools-dir-2")
    pid = create_pool(iws, did)["PoolId"]
    # A stopped pool changes at once.
    out = iws.update_workspaces_pool(
        PoolId=pid,
        Description="new text",
        RunningMode="ALWAYS_ON",
        DirectoryId=other,
        Capacity={"DesiredUserSessions": 7},
        TimeoutSettings={"IdleDisconnectTimeoutInSeconds": 0},
    )["WorkspacesPool"]
    assert out["State"] == "STOPPED"
    assert out["Description"] == "new text" and out["RunningMode"] == "ALWAYS_ON"
    assert out["DirectoryId"] == other and out["CapacityStatus"]["DesiredUserSessions"] == 7
    assert out["TimeoutSettings"]["IdleDisconnectTimeoutInSeconds"] == 0
    assert pool_of(iws, pid) == out
    # The running mode changes only while STOPPED (documented).
    iws.start_workspaces_pool(PoolId=pid)
    code = lambda **kw: code_of(iws.update_workspaces_pool, PoolId=pid, **kw)  # noqa: E731
    assert code(RunningMode="AUTO_STOP") == "InvalidResourceStateException"
    assert iws.update_workspaces_pool(PoolId=pid, RunningMode="ALWAYS_ON")["WorkspacesPool"]["State"] == "RUNNING"
    assert code(BundleId="wsb-000000000") == "ResourceNotFoundException"
    assert code(BundleId=bundle_id(iws, LINUX_BUNDLE)) == "OperationNotSupportedException"  # inferred
    assert code(DirectoryId="wsd-000000000") == "ResourceNotFoundException"
    assert code(Capacity={"DesiredUserSessions": 5000}) == "ResourceLimitExceededException"
    assert code_of(raw_iws.update_workspaces_pool, PoolId="wspool-bad") == "ValidationException"
    # Capacity on a running pool: UPDATING (instantly) back to RUNNING with the new capacity.
    out = iws.update_workspaces_pool(PoolId=pid, Capacity={"DesiredUserSessions": 2})["WorkspacesPool"]
    assert out["State"] == "UPDATING"
    got = pool_of(iws, pid)
    assert got["State"] == "RUNNING" and got["CapacityStatus"]["ActualUserSessions"] == 2
    # The old directory is free again.
    iws.deregister_workspace_directory(DirectoryId=did)


def test_sessions(iws, instant_server, account):
    url = instant_server.url
    did = pools_directory(iws)
    pid = create_pool(iws, did, desired=2)["PoolId"]
    status, body = open_session(url, account, pid, "alice")
    assert status == 400 and body["__type"] == "InvalidResourceStateException", body
    assert open_session(url, account, "wspool-000000000", "alice")[0] == 404
    iws.start_workspaces_pool(PoolId=pid)
    a = open_session(url, account, pid, "alice")[1]["session_id"]
    assert re.fullmatch(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", a)
    assert open_session(url, account, pid, "alice")[1]["session_id"] == a, "same user, same session"
    b = open_session(url, account, pid, "bob@example.com")[1]["session_id"]
    status, body = open_session(url, account, pid, "carol")
    assert status == 400 and body["__type"] == "ResourceLimitExceededException", body
    assert pool_of(iws, pid)["CapacityStatus"] == {
        "AvailableUserSessions": 0,
        "DesiredUserSessions": 2,
        "ActualUserSessions": 2,
        "ActiveUserSessions": 2,
    }
    sessions = iws.describe_workspaces_pool_sessions(PoolId=pid)["Sessions"]
    assert [s["SessionId"] for s in sessions] == [a, b]
    s = sessions[1]
    assert s["UserId"] == "bob@example.com" and s["PoolId"] == pid
    assert s["AuthenticationType"] == "SAML" and s["ConnectionState"] == "CONNECTED"
    assert re.fullmatch(r"i-[a-f0-9]{17}", s["InstanceId"])
    assert s["NetworkAccessConfiguration"]["EniId"].startswith("eni-")
    assert (s["ExpirationTime"] - s["StartTime"]).total_seconds() == pytest.approx(57600, abs=1)
    assert [x["SessionId"] for x in iws.describe_workspaces_pool_sessions(PoolId=pid, UserId="alice")["Sessions"]] == [a]
    page = iws.describe_workspaces_pool_sessions(PoolId=pid, Limit=1)
    assert [x["SessionId"] for x in page["Sessions"]] == [a]
    page = iws.describe_workspaces_pool_sessions(PoolId=pid, Limit=1, NextToken=page["NextToken"])
    assert [x["SessionId"] for x in page["Sessions"]] == [b] and "NextToken" not in page
    # Errors.
    missing = "00000000-0000-0000-0000-000000000000"
    assert code_of(iws.terminate_workspaces_pool_session, SessionId=missing) == "ResourceNotFoundException"
    assert code_of(iws.describe_workspaces_pool_sessions, PoolId="wspool-000000000") == "ResourceNotFoundException"
    assert (
        code_of(iws.describe_workspaces_pool_sessions, PoolId=pid, NextToken="bm9wZQ")
        == "InvalidParameterValuesException"
    )
    # Ending a session frees its capacity.
    iws.terminate_workspaces_pool_session(SessionId=a)
    assert [x["SessionId"] for x in iws.describe_workspaces_pool_sessions(PoolId=pid)["Sessions"]] == [b]
    assert pool_of(iws, pid)["CapacityStatus"]["AvailableUserSessions"] == 1
    c = open_session(url, account, pid, "carol")[1]["session_id"]
    # Stopping the pool ends every session.
    iws.stop_workspaces_pool(PoolId=pid)
    assert iws.describe_workspaces_pool_sessions(PoolId=pid)["Sessions"] == []
    assert code_of(iws.terminate_workspaces_pool_session, SessionId=c) == "ResourceNotFoundException"
