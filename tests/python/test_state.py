"""Saved environments: `localspaces state export|import`, the admin routes behind them and
`serve --seed`, on both engines.

A source server gets one of every resource kind (two accounts, tags, shares, a pool
session, an account link, BYOL, application associations, …). Its document imports into
a fresh server, whose own export is the same document and whose API answers are the same;
a second import conflicts and changes nothing; resources exported mid-transition continue
after the import."""
import json
import os
import signal
import sqlite3
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Server, binary, make_client, random_account, scratch_dir, scratch_file
from flows import admin, bundle_id, create_one, ds_client, registered_directory, ws_state
from test_isolation import everything_of, setup_account_a

# Every kind of record the service stores (a kind missing from exports fails the coverage test).
ALL_KINDS = {
    "account", "account_link", "app_association", "workspace_bundle", "client_branding",
    "connect_client_add_in", "connection_alias", "connection_string", "connection_alias_share",
    "directory", "ds_directory", "workspace_image", "workspace_image_share", "ipgroup",
    "workspaces_pool", "workspaces_pool_session", "workspaces_pool_settings_bucket", "workspace",
}


def cli(*args, input=None, env=None):
    return subprocess.run(
        [binary(), *args], capture_output=True, text=True, input=input, timeout=60,
        env=dict(os.environ, **(env or {})),
    )


def export(url, *extra):
    out = cli("state", "export", "--endpoint-url", url, *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def import_file(url, path, *extra, env=None):
    return cli("state", "import", "--endpoint-url", url, *extra, str(path), env=env)


def write_doc(doc):
    fd, path = scratch_file("ls-state-", ".json")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    return path


def start(engine, *args):
    if engine == "memory":
        return Server("--in-memory", *args).start()
    return Server("--data-dir", scratch_dir("ls-state-"), *args).start()


def split_timers(doc):
    """The document without transitions' remaining times (they count down between two
    exports), and those times by resource."""
    doc = json.loads(json.dumps(doc))
    times = {}
    for s in doc["scopes"]:
        for t in s.get("transitions", []):
            times[(s["account"], s["region"], t["resource_kind"], t["resource_id"])] = t.pop("remaining_seconds")
    return doc, times


def assert_same_document(a, b, slack=5.0):
    a, ta = split_timers(a)
    b, tb = split_timers(b)
    assert a == b
    assert ta.keys() == tb.keys()
    for k, v in ta.items():
        assert abs(v - tb[k]) <= slack, (k, v, tb[k])


def populate(url):
    """Two accounts with one of every resource kind; returns their clients and ids."""
    a_id, b_id = random_account(), random_account()
    a, ids = setup_account_a(url, "json", a_id)
    b = make_client(url, "json", b_id)
    # shares: an image and an alias shared with B, the alias associated with A's directory
    a.update_workspace_image_permission(ImageId=ids["image"], AllowCopyImage=True, SharedAccountId=b_id)
    a.update_connection_alias_permission(
        AliasId=ids["alias"], ConnectionAliasPermission={"SharedAccountId": b_id, "AllowAssociation": True}
    )
    a.associate_connection_alias(AliasId=ids["alias"], ResourceId=ids["dir"])
    a.import_client_branding(ResourceId=ids["dir"], DeviceTypeWindows={"SupportLink": "https://example.com/desk"})
    office = next(
        x["ApplicationId"] for x in a.describe_applications()["Applications"] if x["State"] == "AVAILABLE"
    )
    a.associate_workspace_application(WorkspaceId=ids["workspace"], ApplicationId=office)
    a.deploy_workspace_applications(WorkspaceId=ids["workspace"])
    a.create_workspaces_pool(
        PoolName="with-settings", BundleId=bundle_id(a), DirectoryId=ids["pool_dir"],
        Capacity={"DesiredUserSessions": 1}, Description="settings",
        ApplicationSettings={"Status": "ENABLED", "SettingsGroup": "team"},
    )
    assert admin(url, "byol", account=a_id, region=REGION, eligible="true")[0] == 200
    a.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.7.0.0/16")
    # B: a directory in another Region with an AUTO_STOP WorkSpace (a pending timer)
    b_west = make_client(url, "json", b_id, region="us-west-2")
    west_dir = registered_directory(b_west, ds_client(url, b_id, region="us-west-2"))
    create_one(b_west, west_dir, bundle_id(b_west), "bob", RunningMode="AUTO_STOP",
               RunningModeAutoStopTimeoutInMinutes=60)
    b.create_ip_group(GroupName="b-group", Tags=[{"Key": "k", "Value": "v"}])
    return {"a": a, "a_id": a_id, "ids": ids, "b": b, "b_id": b_id, "b_west": b_west}


def views(env):
    v = everything_of(env["a"], env["a_id"], env["ids"])
    v["b_groups"] = env["b"].describe_ip_groups()["Result"]
    v["b_shared_images"] = env["b"].describe_workspace_images(ImageType="SHARED")["Images"]
    v["b_aliases"] = env["b"].describe_connection_aliases()["ConnectionAliases"]
    v["b_west"] = env["b_west"].describe_workspaces()["Workspaces"]
    v["a_account"] = env["a"].describe_account()
    v["a_apps"] = env["a"].describe_workspace_associations(
        WorkspaceId=env["ids"]["workspace"], AssociatedResourceTypes=["APPLICATION"]
    )["Associations"]
    for x in v.values():
        if isinstance(x, dict):
            x.pop("ResponseMetadata", None)
    return v


def same_clients(env, url):
    """The clients of `env`, pointed at another server."""
    out = dict(env)
    out["a"] = make_client(url, "json", env["a_id"])
    out["b"] = make_client(url, "json", env["b_id"])
    out["b_west"] = make_client(url, "json", env["b_id"], region="us-west-2")
    return out


@pytest.fixture(params=["memory", "sqlite"])
def engine(request):
    return request.param


def test_round_trip_of_every_kind(engine):
    src = start(engine, "--timing", "instant")
    dst = start(engine, "--timing", "instant")
    try:
        env = populate(src.url)
        doc = export(src.url)
        assert doc["localspaces_state"] == 1
        kinds = {k for s in doc["scopes"] for k in s.get("resources", {})}
        assert kinds == ALL_KINDS
        if engine == "sqlite":
            db = sqlite3.connect(os.path.join(src.args[1], "localspaces.db"))
            stored = {k for (k,) in db.execute("SELECT DISTINCT kind FROM records")}
            db.close()
            assert stored - {"transition"} <= kinds, "a stored kind is missing from the export"
        # tags and lifecycle position are in it
        a_scope = next(s for s in doc["scopes"] if s["account"] == env["a_id"] and s["region"] == REGION)
        (wsrec,) = a_scope["resources"]["workspace"]["records"]
        assert {"key": "owner", "value": "a"} in wsrec["tags"]
        b_west = next(s for s in doc["scopes"] if s["account"] == env["b_id"] and s["region"] == "us-west-2")
        (timer,) = b_west["transitions"]
        assert timer["kind"] == "workspace_auto_stop" and 3500 < timer["remaining_seconds"] <= 3600

        path = write_doc(doc)
        out = import_file(dst.url, path)
        assert out.returncode == 0, out.stderr
        # not a terminal: no progress bar, one summary line
        n = sum(len(k["records"]) for s in doc["scopes"] for k in s.get("resources", {}).values())
        t = sum(len(s.get("transitions", [])) for s in doc["scopes"])
        assert out.stderr == f"imported {n} resources and {t} pending transitions\n"
        assert_same_document(doc, export(dst.url))
        before = views(env)
        assert views(same_clients(env, dst.url)) == before
        # A restored WorkSpace still works: stop B's AUTO_STOP one and see it STOPPED.
        moved = same_clients(env, dst.url)
        (bob,) = moved["b_west"].describe_workspaces()["Workspaces"]
        out = moved["b_west"].stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": bob["WorkspaceId"]}])
        assert out["FailedRequests"] == []
        assert ws_state(moved["b_west"], bob["WorkspaceId"]) == "STOPPED"

        # Importing again conflicts: every key is reported, nothing changes.
        moved_doc = export(dst.url)
        again = import_file(dst.url, path)
        assert again.returncode != 0
        assert "already exist" in again.stderr and env["ids"]["workspace"] in again.stderr
        assert_same_document(moved_doc, export(dst.url))
    finally:
        src.stop()
        dst.stop()


def test_partial_conflict_imports_nothing(engine):
    src = start(engine, "--timing", "instant")
    dst = start(engine, "--timing", "instant")
    try:
        acct = random_account()
        ws = make_client(src.url, "json", acct)
        for i in range(5):
            ws.create_ip_group(GroupName=f"g{i}")
        doc = export(src.url, "--account", acct)
        # dst already has the third group's name taken by another group (a unique index).
        make_client(dst.url, "json", acct).create_ip_group(GroupName="g2")
        before = export(dst.url)
        out = import_file(dst.url, write_doc(doc))
        assert out.returncode != 0 and "409" in out.stderr, out.stderr
        assert export(dst.url) == before
        # into an empty account it goes in whole, in creation order
        dst_ws = make_client(dst.url, "json", acct)
        dst_ws.delete_ip_group(GroupId=dst_ws.describe_ip_groups()["Result"][0]["groupId"])
        assert import_file(dst.url, write_doc(doc)).returncode == 0
        names = [g["groupName"] for g in dst_ws.describe_ip_groups()["Result"]]
        assert names == [f"g{i}" for i in range(5)]
        # the name index was re-created: the name is taken again
        with pytest.raises(Exception) as e:
            dst_ws.create_ip_group(GroupName="g3")
        assert "ResourceAlreadyExists" in str(e.value)
    finally:
        src.stop()
        dst.stop()


def test_mid_transition_resources_continue_after_import(engine):
    # realistic timing: every transition takes minutes unless the clock is moved
    src = start(engine, "--timing", "realistic")
    dst = start(engine, "--timing", "fast")
    try:
        acct = random_account()
        ws = make_client(src.url, "json", acct)
        ds = ds_client(src.url, acct)
        did = ds.create_directory(
            Name="corp.example.com", Password="Passw0rd!", Size="Small",
            VpcSettings={"VpcId": "vpc-0123456789abcdef0",
                         "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
        )["DirectoryId"]
        assert admin(src.url, "settle")[0] == 200
        ws.register_workspace_directory(DirectoryId=did)
        assert admin(src.url, "settle")[0] == 200
        create_one(ws, did, bundle_id(ws), "alice", wait=False)
        doomed = ds.create_directory(
            Name="old.example.com", Password="Passw0rd!", Size="Small",
            VpcSettings={"VpcId": "vpc-0123456789abcdef0",
                         "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
        )["DirectoryId"]
        assert admin(src.url, "settle")[0] == 200  # completes those; now start the ones exported
        wid = create_one(ws, did, bundle_id(ws), "bob", wait=False)
        alias = ws.create_connection_alias(ConnectionString=f"mid2-{acct}.example.com")["AliasId"]
        ds.delete_directory(DirectoryId=doomed)
        doc = export(src.url, "--account", acct, "--region", REGION)
        (scope,) = doc["scopes"]
        kinds = {t["resource_id"]: t["kind"] for t in scope["transitions"]}
        assert kinds == {wid: "workspace_create", alias: "alias_create", doomed: "ds_delete"}, kinds
        (t,) = [t for t in scope["transitions"] if t["resource_id"] == wid]
        assert t["remaining_seconds"] > 60

        assert import_file(dst.url, write_doc(doc)).returncode == 0
        if engine == "sqlite":
            # the import is durable: killed and restarted, the server still has the
            # transition pending
            dst.stop(signal.SIGKILL)
            dst = Server(*dst.args).start()
        dws = make_client(dst.url, "json", acct)
        dds = ds_client(dst.url, acct)
        assert ws_state(dws, wid) == "PENDING"
        assert dws.describe_connection_aliases(AliasIds=[alias])["ConnectionAliases"][0]["State"] == "CREATING"
        assert dds.describe_directories(DirectoryIds=[doomed])["DirectoryDescriptions"][0]["Stage"] == "Deleting"
        # not due yet; moving the clock past the longest remaining time completes them all
        longest = max(t["remaining_seconds"] for t in scope["transitions"])
        status, body = admin(dst.url, "advance", seconds=longest + 1)
        assert status == 200 and body["applied"] >= 3, body
        assert ws_state(dws, wid) == "AVAILABLE"
        assert dws.describe_connection_aliases(AliasIds=[alias])["ConnectionAliases"][0]["State"] == "CREATED"
        with pytest.raises(ClientError) as e:
            dds.describe_directories(DirectoryIds=[doomed])
        assert e.value.response["Error"]["Code"] == "EntityDoesNotExistException"
    finally:
        src.stop()
        dst.stop()


def test_seed_at_start_and_restart(engine):
    src = start(engine, "--timing", "instant")
    try:
        acct = random_account()
        make_client(src.url, "json", acct).create_ip_group(GroupName="seeded", Tags=[{"Key": "a", "Value": "b"}])
        doc = export(src.url, "--account", acct)
    finally:
        src.stop()
    path = write_doc(doc)
    data = scratch_dir("ls-seed-")
    store = ["--in-memory"] if engine == "memory" else ["--data-dir", data]
    for _ in range(2):  # the second start finds the seed already there (sqlite) or seeds again
        srv = Server(*store, "--seed", path).start()
        try:
            groups = make_client(srv.url, "json", acct).describe_ip_groups()["Result"]
            assert [g["groupName"] for g in groups] == ["seeded"]
            assert export(srv.url) == doc
        finally:
            assert srv.stop() == 0


def test_seed_with_partial_overlap_refuses_to_start():
    data = scratch_dir("ls-seed-")
    srv = Server("--data-dir", data, "--timing", "instant").start()
    acct = random_account()
    try:
        ws = make_client(srv.url, "json", acct)
        ws.create_ip_group(GroupName="one")
        doc = export(srv.url)
        ws.create_ip_group(GroupName="two")
        bigger = export(srv.url)
        ws.delete_ip_group(GroupId=ws.describe_ip_groups()["Result"][1]["groupId"])
    finally:
        srv.stop()
    assert doc != bigger
    out = subprocess.run(
        [binary(), "--data-dir", data, "--port", "0", "--seed", write_doc(bigger)],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode != 0 and "already exist" in out.stderr


def post(url, path, body, headers=None):
    headers = {"X-Localspaces-Admin": "1"} if headers is None else headers
    req = urllib.request.Request(url + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_bad_documents_are_refused_and_write_nothing(instant_server):
    url = instant_server.url
    acct = random_account()
    good = {"localspaces_state": 1, "scopes": [{"account": acct, "region": REGION, "resources": {
        "ipgroup": {"version": 1, "records": [
            {"id": "wsipg-abcdefghi", "name": "ok", "rules": [], "tags": [],
             "created": 1.0}]}}}]}
    cases = [
        {"localspaces_state": 2, "scopes": []},
        {"localspaces_state": 1, "scopes": [{"account": acct, "region": REGION, "resources": {
            "nonsense": {"version": 1, "records": [{}]}}}]},
        {"localspaces_state": 1, "scopes": [{"account": acct, "region": REGION, "resources": {
            "ipgroup": {"version": 1, "records": [{"id": 3}]}}}]},
        {"localspaces_state": 1, "scopes": [{"account": acct, "region": REGION, "transitions": [
            {"kind": "workspace_create", "resource_kind": "workspace", "resource_id": "ws-1",
             "remaining_seconds": -1}]}]},
        {"localspaces_state": 1, "scopes": [], "extra": True},
        # the good group, then a broken one: nothing of it is written
        {"localspaces_state": 1, "scopes": good["scopes"] + [{"account": acct, "region": "eu-west-1",
                                                              "resources": {"ipgroup": {"version": 1,
                                                                                        "records": [{}]}}}]},
    ]
    for doc in cases:
        status, body = post(url, "/_localspaces/state/import", json.dumps(doc).encode())
        assert status == 400, (doc, body)
    status, body = post(url, "/_localspaces/state/import", b"{not json")
    assert status == 400
    assert make_client(url, "json", acct).describe_ip_groups()["Result"] == []
    # the CLI checks before uploading
    out = import_file(url, write_doc(cases[1]))
    assert out.returncode != 0 and "unknown resource kind" in out.stderr


def test_a_web_page_cannot_import_or_export(instant_server):
    # The saved-environment routes refuse what a browser can send cross-site, like every
    # admin route: no admin header, or an Origin / cross-site Sec-Fetch-Site.
    url = instant_server.url
    acct = random_account()
    doc = {"localspaces_state": 1, "scopes": [{"account": acct, "region": REGION, "resources": {
        "ipgroup": {"version": 1, "records": [
            {"id": "wsipg-crosssite", "name": "x", "rules": [], "tags": [], "created": 1.0}]}}}]}
    for headers in [{}, {"Content-Type": "text/plain"},
                    {"X-Localspaces-Admin": "1", "Origin": "http://evil.example"},
                    {"X-Localspaces-Admin": "1", "Sec-Fetch-Site": "cross-site"}]:
        status, _ = post(url, "/_localspaces/state/import", json.dumps(doc).encode(), headers=headers)
        assert status == 403, headers
        status, _ = post(url, "/_localspaces/state/export", b"", headers=headers)
        assert status == 403, headers
    assert make_client(url, "json", acct).describe_ip_groups()["Result"] == []


def test_admin_token_protects_the_routes():
    srv = Server("--in-memory", "--admin-token", "s3cret").start()
    try:
        out = cli("state", "export", "--endpoint-url", srv.url)
        assert out.returncode != 0 and "403" in out.stderr
        doc = export(srv.url, "--admin-token", "s3cret")
        assert doc == {"localspaces_state": 1, "scopes": []}
        ok = import_file(srv.url, write_doc(doc), env={"LOCALSPACES_ADMIN_TOKEN": "s3cret"})
        assert ok.returncode == 0, ok.stderr
        status, _ = post(srv.url, "/_localspaces/state/import", json.dumps(doc).encode())
        assert status == 403
    finally:
        srv.stop()


def test_serve_is_also_an_explicit_subcommand():
    proc = subprocess.Popen(
        [binary(), "serve", "--in-memory", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://" in line, line
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def test_console_download_and_upload(instant_server):
    url = instant_server.url
    acct = random_account()
    make_client(url, "json", acct).create_ip_group(GroupName="from-console", Tags=[{"Key": "a", "Value": "b"}])
    with urllib.request.urlopen(f"{url}/console/environment.json?account={acct}&region={REGION}", timeout=10) as r:
        assert "attachment" in r.headers["Content-Disposition"]
        doc = json.loads(r.read())
    assert doc == export(url, "--account", acct, "--region", REGION)
    assert "download" in urllib.request.urlopen(f"{url}/console/?account={acct}&region={REGION}").read().decode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)

    def upload(account, document):
        body = urllib.parse.urlencode({"document": json.dumps(document)}).encode()
        req = urllib.request.Request(f"{url}/console/environment?account={account}&region={REGION}", data=body,
                                     method="POST")
        try:
            opener.open(req, timeout=10)
        except urllib.error.HTTPError as e:
            assert e.code == 303
            return urllib.parse.unquote(e.headers["Set-Cookie"].split(";")[0])
        raise AssertionError("no redirect")

    # into the account it came from: every resource exists already, nothing changes
    assert "already exist" in upload(acct, doc)
    # the console imports only into the account and Region it shows
    other = random_account()
    assert "imports only into" in upload(other, doc)
    moved = json.loads(json.dumps(doc).replace(acct, other))
    assert "ok:Imported 1 resources" in upload(other, moved)
    groups = make_client(url, "json", other).describe_ip_groups()["Result"]
    assert [g["groupName"] for g in groups] == ["from-console"]
