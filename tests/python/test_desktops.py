"""Real desktops behind WorkSpaces (`--desktops local`): boto3 drives the API, a real RFB
client connects over the console's WebSocket, desktop-exec reads and writes the volumes, and
the host's /proc shows whether the desktop's processes run.

Needs bubblewrap, TigerVNC's Xvnc, openbox, xterm and pcmanfm (scripts/test.sh installs them);
LOCALSPACES_SKIP_DESKTOPS=1 skips these tests on a machine without them.
"""
import concurrent.futures
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
import websocket

from conftest import REGION, Server, make_client, random_account
from flows import LINUX_BUNDLE, admin, bundle_id, ds_client, poll, registered_directory, request, wait_ws, ws_state

pytestmark = pytest.mark.skipif(
    os.environ.get("LOCALSPACES_SKIP_DESKTOPS") == "1", reason="LOCALSPACES_SKIP_DESKTOPS=1"
)

TIMEOUT = 60
ADMIN = {"X-Localspaces-Admin": "1"}


@pytest.fixture
def desk():
    """A server with desktops on a fresh data directory."""
    assert shutil.which("Xvnc") and shutil.which("bwrap"), "install the desktop packages (scripts/test.sh does)"
    data = tempfile.mkdtemp(prefix="ls-desktops-")
    srv = Server("--data-dir", data, "--desktops", "local", "--timing", "instant", "--max-desktops", "6")
    # The server's log, for a failing test's report.
    srv.stderr = open(os.path.join(data, "server.log"), "w")
    srv.start()
    srv.data = data
    srv.wids = []
    yield srv
    if srv.proc.poll() is None:
        assert srv.stop() == 0
    poll(lambda: [p for w in srv.wids for p in xvnc_pids(w)], lambda p: not p, timeout=10)
    srv.stderr.close()
    shutil.copy(os.path.join(data, "server.log"), os.path.join(tempfile.gettempdir(), "ls-desktops-last.log"))
    shutil.rmtree(data, ignore_errors=True)


def xvnc_pids(wid=None):
    """Host pids of Xvnc processes (of one WorkSpace's desktop when `wid` is given)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"Xvnc") and (wid is None or wid.encode() in argv):
            out.append(int(p))
    return out


def cgroup_of(wid):
    """The desktop's cgroup v1 memory group, if the machine has one."""
    for root, dirs, _ in os.walk("/sys/fs/cgroup/memory"):
        for d in dirs:
            if d.startswith("localspaces-") and d.endswith(f"-{wid}"):
                return os.path.join(root, d)
        if root.count("/") > 7:
            dirs[:] = []
    return None


def setup(srv, account, *modes):
    """Registered directory and one Linux WorkSpace per running mode, all AVAILABLE."""
    ws = make_client(srv.url, "json", account)
    if "MANUAL" in modes:
        # Running mode MANUAL is for WorkSpaces Core accounts.
        assert admin(srv.url, "core", account=account, region=REGION, enabled="true")[0] == 200
    did = registered_directory(ws, ds_client(srv.url, account))
    bundle = bundle_id(ws, LINUX_BUNDLE)
    reqs = []
    for i, mode in enumerate(modes):
        props = {"RunningMode": mode}
        if mode == "AUTO_STOP":
            props["RunningModeAutoStopTimeoutInMinutes"] = 60
        reqs.append(request(did, bundle, f"user{i}", **props))
    out = ws.create_workspaces(Workspaces=reqs)
    assert out["FailedRequests"] == [], out
    ids = [w["WorkspaceId"] for w in out["PendingRequests"]]
    srv.wids.extend(ids)
    with concurrent.futures.ThreadPoolExecutor(len(ids)) as pool:
        list(pool.map(lambda w: wait_ws(ws, w, "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT), ids))
    return ws, ids


def exec_in(srv, account, wid, script, user=None, region=REGION):
    body = {"command": ["sh", "-c", script]}
    if user:
        body["user"] = user
    url = f"{srv.url}/_localspaces/desktop-exec?account={account}&region={region}&workspace_id={wid}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=ADMIN)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def run(srv, account, wid, script, user=None, region=REGION):
    status, out = exec_in(srv, account, wid, script, user, region)
    assert status == 200, out
    return out


class Rfb:
    """A minimal RFB 3.8 client over the console's WebSocket."""

    def __init__(self, srv, account, wid, timeout=30):
        url = srv.url.replace("http://", "ws://") + f"/console/workspaces/{wid}/rfb?account={account}&region={REGION}"
        self.ws = websocket.create_connection(url, timeout=timeout)
        self.buf = b""

    def read(self, n):
        while len(self.buf) < n:
            op, data = self.ws.recv_data()
            assert op == websocket.ABNF.OPCODE_BINARY, op
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, b):
        self.ws.send_binary(b)

    def handshake(self):
        assert self.read(12) == b"RFB 003.008\n"
        self.send(b"RFB 003.008\n")
        (n,) = struct.unpack("B", self.read(1))
        types = self.read(n)
        assert 1 in types, types  # None at this hop
        self.send(b"\x01")
        assert struct.unpack(">I", self.read(4))[0] == 0  # SecurityResult OK
        self.send(b"\x01")  # ClientInit: shared
        w, h = struct.unpack(">HH", self.read(4))
        self.pixel_format = self.read(16)
        (name_len,) = struct.unpack(">I", self.read(4))
        self.name = self.read(name_len).decode()
        self.size = (w, h)
        return w, h

    def frame(self):
        """Asks for the whole screen in raw encoding; returns the set of distinct pixels."""
        w, h = self.size
        bpp = self.pixel_format[0] // 8
        self.send(struct.pack(">BBH", 2, 0, 1) + struct.pack(">i", 0))  # SetEncodings: raw
        self.send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))  # FramebufferUpdateRequest
        while True:
            (msg,) = struct.unpack("B", self.read(1))
            if msg == 0:
                break
            if msg == 2:  # Bell
                continue
            if msg == 3:  # ServerCutText
                self.read(3)
                (n,) = struct.unpack(">I", self.read(4))
                self.read(n)
                continue
            raise AssertionError(f"unexpected server message {msg}")
        self.read(1)
        (rects,) = struct.unpack(">H", self.read(2))
        pixels = set()
        for _ in range(rects):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", self.read(12))
            assert enc == 0, enc
            data = self.read(rw * rh * bpp)
            pixels.update(data[i : i + bpp] for i in range(0, len(data), bpp * 97))
        return pixels

    def close(self):
        self.ws.close()


def connection(ws, wid):
    (s,) = ws.describe_workspaces_connection_status(WorkspaceIds=[wid])["WorkspacesConnectionStatus"]
    return s


def test_desktop_lifecycle(desk):
    account = random_account()
    ws, (wid,) = setup(desk, account, "MANUAL")
    assert xvnc_pids(wid), "AVAILABLE without a running X server"
    # The compute type's limits (STANDARD: 1 GiB) hold the desktop's processes, where this
    # machine has a writable cgroup v1 memory controller.
    group = cgroup_of(wid)
    if group:
        with open(os.path.join(group, "memory.limit_in_bytes")) as f:
            assert int(f.read()) == 1 << 30
        with open(os.path.join(group, "cgroup.procs")) as f:
            assert f.read().split(), "no process in the desktop's cgroup"

    # A real viewer: handshake, ServerInit, a frame with more than one colour; CONNECTED.
    rfb = Rfb(desk, account, wid)
    w, h = rfb.handshake()
    assert (w, h) == (1280, 800) and rfb.name == wid
    assert len(rfb.frame()) > 1, "the desktop's frame is one flat colour"
    s = connection(ws, wid)
    assert s["ConnectionState"] == "CONNECTED", s
    assert s["ConnectionStateCheckTimestamp"] and s["LastKnownUserConnectionTimestamp"]
    rfb.close()
    poll(lambda: connection(ws, wid)["ConnectionState"], lambda c: c == "DISCONNECTED", timeout=10)

    # The home survives stop and start; the processes do not.
    run(desk, account, wid, "echo hello > ~/note.txt && id -un")
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": wid}])
    wait_ws(ws, wid, "STOPPED", {"STOPPING", "STOPPED"}, timeout=TIMEOUT)
    assert not xvnc_pids(wid), "STOPPED with the X server still running"
    ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": wid}])
    wait_ws(ws, wid, "AVAILABLE", {"STARTING", "AVAILABLE"}, timeout=TIMEOUT)
    assert xvnc_pids(wid)
    assert run(desk, account, wid, "cat ~/note.txt")["stdout"] == "hello\n"
    # The same through the CLI: output on stdout, the command's exit code as its own.
    cli = subprocess.run(
        [desk.proc.args[0], "desktop", "exec", "--endpoint-url", desk.url, "--account", account, wid, "--",
         "sh", "-c", "cat ~/note.txt; exit 3"],
        capture_output=True, text=True, timeout=60,
    )
    assert (cli.returncode, cli.stdout) == (3, "hello\n"), cli

    # A periodic snapshot (12 hours on) holds the home file; a rebuild recreates the root
    # volume from the image and the home from that snapshot.
    snaps = os.path.join(desk.data, "desktops", "ws", account, REGION, wid, "snapshots")
    assert len(os.listdir(snaps)) == 1  # the creation snapshot
    status, _ = admin(desk.url, "advance", seconds=12 * 3600 + 60)
    assert status == 200
    poll(lambda: len([n for n in os.listdir(snaps) if not n.startswith(".")]), lambda n: n == 2, timeout=10)
    run(desk, account, wid, "echo changed > /opt/marker && echo later > ~/later.txt")
    ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": wid}])
    wait_ws(ws, wid, "AVAILABLE", {"REBUILDING", "AVAILABLE"}, timeout=TIMEOUT)
    out = run(desk, account, wid, "cat ~/note.txt; test -e /opt/marker && echo root-kept; cat /opt/README >/dev/null && echo image")
    assert out["stdout"] == "hello\nimage\n", out
    # Written after the latest snapshot: lost, as on AWS.
    assert run(desk, account, wid, "test -e ~/later.txt || echo lost")["stdout"] == "lost\n"

    # Restore: both volumes from the last snapshot; files written since are gone.
    run(desk, account, wid, "echo gone > /home/user/after.txt && echo root > /srv/x", user="root")
    ws.restore_workspace(WorkspaceId=wid)
    wait_ws(ws, wid, "AVAILABLE", {"RESTORING", "AVAILABLE"}, timeout=TIMEOUT)
    out = run(desk, account, wid, "cat ~/note.txt; ls ~/after.txt /srv/x 2>/dev/null; true")
    assert out["stdout"] == "hello\n", out

    # Terminate: the processes and volumes are gone.
    vol = os.path.join(desk.data, "desktops", "ws", account, REGION, wid)
    assert os.path.isdir(vol)
    ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": wid}])
    poll(lambda: ws_state(ws, wid), lambda s: s in ("TERMINATED", "<gone>"), timeout=TIMEOUT)
    assert not os.path.exists(vol)
    assert not xvnc_pids(wid)


def test_auto_stop_wake_and_unhealthy(desk):
    account = random_account()
    ws, (wid,) = setup(desk, account, "AUTO_STOP")
    # Connected: the clock passing the timeout does not stop it.
    rfb = Rfb(desk, account, wid)
    rfb.handshake()
    poll(lambda: connection(ws, wid)["ConnectionState"], lambda c: c == "CONNECTED", timeout=10)
    assert admin(desk.url, "advance", seconds=2 * 3600)[0] == 200
    time.sleep(0.5)
    assert ws_state(ws, wid) == "AVAILABLE"
    # Disconnected: the timeout counts from the disconnection.
    rfb.close()
    poll(lambda: connection(ws, wid)["ConnectionState"], lambda c: c == "DISCONNECTED", timeout=10)
    assert admin(desk.url, "advance", seconds=59 * 60)[0] == 200
    time.sleep(0.5)
    assert ws_state(ws, wid) == "AVAILABLE"
    assert admin(desk.url, "advance", seconds=2 * 60)[0] == 200
    wait_ws(ws, wid, "STOPPED", {"AVAILABLE", "STOPPING", "STOPPED"}, timeout=TIMEOUT)
    assert not xvnc_pids(wid)

    # Connecting to the STOPPED AUTO_STOP WorkSpace starts it.
    rfb = Rfb(desk, account, wid)
    rfb.handshake()
    assert ws_state(ws, wid) == "AVAILABLE"
    assert len(rfb.frame()) > 1
    rfb.close()

    # The X server dies: UNHEALTHY; a reboot brings the desktop back.
    for pid in xvnc_pids(wid):
        os.kill(pid, signal.SIGKILL)
    wait_ws(ws, wid, "UNHEALTHY", {"AVAILABLE", "UNHEALTHY"}, timeout=10)
    ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": wid}])
    wait_ws(ws, wid, "AVAILABLE", {"UNHEALTHY", "REBOOTING", "AVAILABLE"}, timeout=TIMEOUT)
    assert xvnc_pids(wid)


def test_restart_reconciles_and_capacity(desk):
    account = random_account()
    ws, (running, stopped) = setup(desk, account, "MANUAL", "MANUAL")
    ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": stopped}])
    wait_ws(ws, stopped, "STOPPED", {"AVAILABLE", "STOPPING", "STOPPED"}, timeout=TIMEOUT)
    # Volumes no record owns (a WorkSpace deleted while the server was down).
    orphan = os.path.join(desk.data, "desktops", "ws", account, REGION, "ws-orphan0000")
    os.makedirs(os.path.join(orphan, "home"))

    before = set(xvnc_pids(running))
    assert before
    desk.stop(signal.SIGKILL)
    # SIGKILL leaves the sandboxes behind; the restart's reconciliation ends them.
    again = Server("--data-dir", desk.data, "--desktops", "local", "--timing", "instant", "--max-desktops", "2")
    desk.proc, desk.url = again.start().proc, again.url
    ws = make_client(desk.url, "json", account)
    # The old desktops are gone; the AVAILABLE one runs again (a new X server).
    poll(lambda: set(xvnc_pids(running)), lambda p: p and not p & before, timeout=TIMEOUT)
    for pid in before:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    assert ws_state(ws, running) == "AVAILABLE"
    assert not xvnc_pids(stopped)
    poll(lambda: os.path.exists(orphan), lambda e: not e, timeout=10)
    assert run(desk, account, running, "echo ok")["stdout"] == "ok\n"

    # --max-desktops 2: one running plus one more; a third is refused for capacity.
    did = ws.describe_workspaces(WorkspaceIds=[running])["Workspaces"][0]["DirectoryId"]
    bundle = bundle_id(ws, LINUX_BUNDLE)
    out = ws.create_workspaces(
        Workspaces=[request(did, bundle, "extra1", RunningMode="MANUAL"), request(did, bundle, "extra2", RunningMode="MANUAL")]
    )
    assert len(out["PendingRequests"]) == 1, out
    (failed,) = out["FailedRequests"]
    assert failed["ErrorCode"] == "ResourceLimitExceededException", failed
    out = ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": stopped}])
    (failed,) = out["FailedRequests"]
    assert failed["ErrorCode"] == "ResourceLimitExceededException", failed
    assert ws_state(ws, stopped) == "STOPPED"


def test_exec_route_rules(desk):
    account = random_account()
    status, body = exec_in(desk, account, "ws-nosuch0000", "true")
    assert status == 404, body
    url = f"{desk.url}/_localspaces/desktop-exec?account={account}&workspace_id=ws-abc"
    req = urllib.request.Request(url, data=b'{"command": []}', method="POST", headers=ADMIN)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    # Admin routes refuse what a web page can send.
    req = urllib.request.Request(url, data=b'{"command": ["true"]}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    req = urllib.request.Request(url, data=b'{"command": ["true"]}', method="POST",
                                 headers={**ADMIN, "Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403


def test_stream_is_same_origin_and_signed_in(desk):
    account = random_account()
    base = desk.url.replace("http://", "ws://") + f"/console/workspaces/ws-abc123/rfb?account={account}&region={REGION}"
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(base, timeout=10, origin="http://evil.example")
    assert e.value.status_code == 403
    # Its own data directory: a driver owns the desktops under its data directory.
    strict_data = tempfile.mkdtemp(prefix="ls-desktops-strict-")
    strict = Server("--in-memory", "--data-dir", strict_data, "--auth", "strict", "--credentials", "AKIDEXAMPLE:secret",
                    "--desktops", "local").start()
    try:
        url = strict.url.replace("http://", "ws://") + f"/console/workspaces/ws-abc123/rfb?account={account}&region={REGION}"
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(url, timeout=10)
        assert e.value.status_code == 401
    finally:
        strict.stop()
        shutil.rmtree(strict_data, ignore_errors=True)


def launch(srv, account, bundle, user, region=REGION, ws=None):
    """One AUTO_STOP WorkSpace of `bundle` in its own registered directory, AVAILABLE."""
    ws = ws or make_client(srv.url, "json", account, region=region)
    did = registered_directory(ws, ds_client(srv.url, account, region))
    out = ws.create_workspaces(
        Workspaces=[request(did, bundle, user, RunningMode="AUTO_STOP", RunningModeAutoStopTimeoutInMinutes=60)]
    )
    assert out["FailedRequests"] == [], out
    wid = out["PendingRequests"][0]["WorkspaceId"]
    srv.wids.append(wid)
    wait_ws(ws, wid, "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    return wid


def image_state(ws, image_id):
    (i,) = ws.describe_workspace_images(ImageIds=[image_id])["Images"]
    return i["State"]


def image_files(srv, account, region, image_id):
    return os.path.join(srv.data, "desktops", "images", account, region, image_id)


def custom_bundle(ws, image_id, name):
    return ws.create_workspace_bundle(
        BundleName=name, BundleDescription="from a desktop", ImageId=image_id,
        ComputeType={"Name": "STANDARD"}, UserStorage={"Capacity": "50"}, RootStorage={"Capacity": "80"},
    )["WorkspaceBundle"]["BundleId"]


def test_images_from_desktops(desk):
    account, other = random_account(), random_account()
    ws, (wid,) = setup(desk, account, "AUTO_STOP")
    # Outside the home: part of the image. The home: not (as on AWS).
    run(desk, account, wid, "echo captured > /opt/app.txt && echo mine > ~/home.txt")
    image = ws.create_workspace_image(Name="desk-img", Description="captured", WorkspaceId=wid)
    assert image["State"] == "PENDING"
    iid = image["ImageId"]
    poll(lambda: image_state(ws, iid), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    wait_ws(ws, wid, "AVAILABLE", {"SUSPENDED", "AVAILABLE"}, timeout=TIMEOUT)
    assert os.listdir(os.path.join(image_files(desk, account, REGION, iid), "layers"))

    # A custom bundle of the image launches WorkSpaces whose root volume starts from it.
    bundle = custom_bundle(ws, iid, "desk-bundle")
    w2 = launch(desk, account, bundle, "second")
    out = run(desk, account, w2, "cat /opt/app.txt; cat /opt/README >/dev/null && echo base; test -e ~/home.txt || echo no-home")
    assert out["stdout"] == "captured\nbase\nno-home\n", out
    # A rebuild goes back to the image, not to the bare base image.
    run(desk, account, w2, "echo later > /opt/later.txt")
    ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": w2}])
    wait_ws(ws, w2, "AVAILABLE", {"REBUILDING", "AVAILABLE"}, timeout=TIMEOUT)
    out = run(desk, account, w2, "cat /opt/app.txt; test -e /opt/later.txt || echo gone")
    assert out["stdout"] == "captured\ngone\n", out

    # Copied into another Region: the copy has the files and launches there.
    west = make_client(desk.url, "json", account, region="us-west-2")
    cid = west.copy_workspace_image(Name="desk-img-west", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    poll(lambda: image_state(west, cid), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    w3 = launch(desk, account, custom_bundle(west, cid, "west-bundle"), "third", region="us-west-2", ws=west)
    assert run(desk, account, w3, "cat /opt/app.txt", region="us-west-2")["stdout"] == "captured\n"

    # Shared with another account, which copies it and launches from its copy.
    ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=True, SharedAccountId=other)
    theirs = make_client(desk.url, "json", other)
    sid = theirs.copy_workspace_image(Name="shared-copy", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    poll(lambda: image_state(theirs, sid), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    w4 = launch(desk, other, custom_bundle(theirs, sid, "their-bundle"), "fourth", ws=theirs)
    assert run(desk, other, w4, "cat /opt/app.txt")["stdout"] == "captured\n"

    # Deleting an image deletes its files; WorkSpaces launched from it keep their root volume.
    # (Its bundle first moves to a copy in the same Region.)
    same = ws.copy_workspace_image(Name="desk-img-2", SourceImageId=iid, SourceRegion=REGION)["ImageId"]
    poll(lambda: image_state(ws, same), lambda s: s == "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    ws.update_workspace_bundle(BundleId=bundle, ImageId=same)
    ws.update_workspace_image_permission(ImageId=iid, AllowCopyImage=False, SharedAccountId=other)
    ws.delete_workspace_image(ImageId=iid)
    poll(lambda: os.path.exists(image_files(desk, account, REGION, iid)), lambda e: not e, timeout=10)
    ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": w2}])
    wait_ws(ws, w2, "AVAILABLE", {"AVAILABLE", "REBOOTING"}, timeout=TIMEOUT)
    assert run(desk, account, w2, "cat /opt/app.txt")["stdout"] == "captured\n"


def test_migrate_moves_volumes(desk):
    account = random_account()
    ws, (wid,) = setup(desk, account, "ALWAYS_ON")
    run(desk, account, wid, "echo kept > ~/kept.txt && echo root > /opt/source-root.txt")
    # The new user volume comes from the latest snapshot: let the 12-hour one be taken.
    snaps = os.path.join(desk.data, "desktops", "ws", account, REGION, wid, "snapshots")
    assert admin(desk.url, "advance", seconds=12 * 3600 + 60)[0] == 200
    poll(lambda: len([n for n in os.listdir(snaps) if not n.startswith(".")]), lambda n: n == 2, timeout=10)
    run(desk, account, wid, "echo after > ~/after-snapshot.txt")
    source_pids = xvnc_pids(wid)
    assert source_pids

    target = ws.migrate_workspace(SourceWorkspaceId=wid, BundleId=bundle_id(ws, "Performance with Amazon Linux 2"))[
        "TargetWorkspaceId"
    ]
    desk.wids.append(target)
    wait_ws(ws, target, "AVAILABLE", {"PENDING", "AVAILABLE"}, timeout=TIMEOUT)
    out = run(desk, account, target, "cat ~/kept.txt; ls ~/after-snapshot.txt /opt/source-root.txt 2>/dev/null; cat /opt/README >/dev/null && echo fresh-root")
    assert out["stdout"] == "kept\nfresh-root\n", out
    # The source's desktop and volumes went with it.
    poll(lambda: ws_state(ws, wid), lambda s: s == "<gone>", {"TERMINATING", "TERMINATED", "<gone>"}, timeout=TIMEOUT)
    vol = os.path.join(desk.data, "desktops", "ws", account, REGION, wid)
    poll(lambda: os.path.exists(vol), lambda e: not e, timeout=10)
    assert not xvnc_pids(wid)


SANDBOX_PROGRAMS = {"bwrap", "sh", "Xvnc", "openbox", "xterm", "pcmanfm"}


def desktop_processes(server_pid):
    """Host pids of the long-lived processes of the server's desktop sandboxes (not the
    short-lived helpers such as a snapshot's `cp`)."""
    out, todo = [], [server_pid]
    while todo:
        p = todo.pop()
        for t in os.listdir(f"/proc/{p}/task") if os.path.exists(f"/proc/{p}/task") else []:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except OSError:
                kids = []
            for k in kids:
                try:
                    with open(f"/proc/{k}/comm") as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                if comm in SANDBOX_PROGRAMS:
                    out.append(k)
                    todo.append(k)
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def worker_threads(server_pid):
    names = []
    for t in os.listdir(f"/proc/{server_pid}/task"):
        try:
            with open(f"/proc/{server_pid}/task/{t}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return [n for n in names if n.startswith("desktop-worker")]


def test_desktops_outlive_workers_and_die_with_the_server(desk):
    account = random_account()
    ws, (wid,) = setup(desk, account, "AUTO_STOP")
    server = desk.proc.pid
    time.sleep(1)  # past the creation snapshot's helpers
    procs = desktop_processes(server)
    assert {"bwrap", "Xvnc", "openbox", "xterm", "pcmanfm"} <= {open(f"/proc/{p}/comm").read().strip() for p in procs}
    assert xvnc_pids(wid) and set(xvnc_pids(wid)) <= set(procs), procs
    # The worker threads that started the desktop end when idle; the desktop lives on.
    poll(lambda: worker_threads(server), lambda w: not w, timeout=15)
    time.sleep(0.5)
    assert all(alive(p) for p in procs), [p for p in procs if not alive(p)]
    assert ws_state(ws, wid) == "AVAILABLE"
    assert run(desk, account, wid, "echo up")["stdout"] == "up\n"

    # SIGKILL: every process of the sandbox (bwrap, Xvnc, openbox, xterm, …) goes with it.
    desk.stop(signal.SIGKILL)
    poll(lambda: [p for p in procs if alive(p)], lambda left: not left, timeout=5)


def test_start_kills_sandboxes_a_killed_server_left():
    """A sandbox over this data directory's volumes that outlived its server (its parent-death
    signal lost) is killed when the next server starts, before reconciliation."""
    data = tempfile.mkdtemp(prefix="ls-desktops-")
    vol = os.path.join(data, "desktops", "ws", random_account(), REGION, "ws-orphan1")
    os.makedirs(vol)
    # A stand-in for the leftover: a process named bwrap with the volume among its arguments
    # (`; true` keeps sh from replacing itself with sleep).
    orphan = subprocess.Popen(["/usr/bin/bwrap", "-c", "sleep 300; true", vol], executable="/bin/sh", start_new_session=True)
    srv = Server("--data-dir", data, "--desktops", "local", "--timing", "instant")
    srv.stderr = open(os.path.join(data, "server.log"), "w")
    try:
        srv.start()
        poll(lambda: orphan.poll(), lambda r: r is not None, timeout=10)
        assert orphan.returncode == -signal.SIGKILL
        assert srv.stop() == 0
    finally:
        if orphan.poll() is None:
            orphan.kill()
        try:
            os.killpg(orphan.pid, signal.SIGKILL)
        except OSError:
            pass
        orphan.wait()
        srv.stderr.close()
        shutil.rmtree(data, ignore_errors=True)
