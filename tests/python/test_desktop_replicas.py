"""Desktops across replicas: two `--desktops local` replicas on one throwaway PostgreSQL.

A WorkSpace created through replica A gets its desktop (and volumes) on A only; the console's
desktop stream and desktop-exec reach it through replica B, which relays them to A; when A
is SIGKILLed, B reports the WorkSpace UNHEALTHY within a few heartbeat leases and refuses to
act on it, naming A; when A comes back, RebootWorkspaces (through B) makes it AVAILABLE with
its home volume kept.

Needs the PostgreSQL server binaries and the desktop packages (as test_replicas.py and
test_desktops.py)."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import pg
from conftest import REGION, Server, binary, random_account
from flows import poll, ws_state
from test_desktops import Rfb, connection, exec_in, run, setup, xvnc_pids

pytestmark = [
    pytest.mark.skipif(pg.bin_dir() is None, reason="PostgreSQL server binaries not found"),
    pytest.mark.skipif(os.environ.get("LOCALSPACES_SKIP_DESKTOPS") == "1", reason="LOCALSPACES_SKIP_DESKTOPS=1"),
]

# The heartbeat lease (crate::membership::LEASE).
LEASE = 5.0


def replica(url, ddir, log):
    srv = Server(
        "--store-url", url, "--desktops", "local", "--desktops-dir", ddir,
        "--timing", "instant", "--max-desktops", "2",
    )
    srv.stderr = log
    srv.wids = []
    return srv.start()


def test_desktops_live_on_their_replica_and_survive_its_death():
    cluster = pg.Cluster().init()
    root = tempfile.mkdtemp(prefix="ls-desk-replicas-")
    da, db = os.path.join(root, "a"), os.path.join(root, "b")
    log = open(os.path.join(root, "servers.log"), "w")
    a = b = wid = None
    try:
        a = replica(cluster.url, da, log)
        b = replica(cluster.url, db, log)
        # A directory another live replica holds is refused.
        out = subprocess.run(
            [binary(), "--port", "0", "--store-url", cluster.url, "--desktops", "local", "--desktops-dir", da],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode != 0 and "is in use by another localspaces" in out.stderr, out.stderr
        assert "--desktops-dir" in out.stderr

        account = random_account()
        ws_a, (wid,) = setup(a, account, "ALWAYS_ON")
        # The desktop and its volumes are on A only.
        vol = os.path.join("desktops", "ws", account, REGION, wid)
        assert os.path.isdir(os.path.join(da, vol))
        assert not os.path.exists(os.path.join(db, vol))
        assert xvnc_pids(wid)
        with open(os.path.join(da, "replica-id")) as f:
            a_id = f.read().strip()

        # desktop-exec through B runs on A's desktop.
        out = run(b, account, wid, "echo kept > ~/home-file.txt && hostname")
        assert out["exit_code"] == 0, out
        assert run(a, account, wid, "cat ~/home-file.txt")["stdout"] == "kept\n"

        # The console's desktop stream through B: an RFB handshake with A's desktop, and the
        # connection status follows the viewer on every replica.
        from conftest import make_client

        ws_b = make_client(b.url, "json", account)
        viewer = Rfb(b, account, wid)
        w, h = viewer.handshake()
        assert w > 0 and h > 0
        assert viewer.frame()
        poll(lambda: connection(ws_b, wid)["ConnectionState"], lambda s: s == "CONNECTED", timeout=10)
        viewer.close()
        poll(lambda: connection(ws_a, wid)["ConnectionState"], lambda s: s == "DISCONNECTED", timeout=10)

        # A dies: B reports its WorkSpace UNHEALTHY (not lost) within a few leases.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        killed = time.time()
        poll(lambda: ws_state(ws_b, wid), lambda s: s == "UNHEALTHY", {"AVAILABLE", "UNHEALTHY"}, timeout=3 * LEASE)
        print(f"SIGKILL to UNHEALTHY: {time.time() - killed:.2f} s")
        # B cannot act on a desktop whose volumes are on A's disk: it says so, naming A.
        (failed,) = ws_b.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": wid}])["FailedRequests"]
        assert failed["ErrorCode"] == "ResourceUnavailableException", failed
        assert a_id in failed["ErrorMessage"]
        status, body = exec_in(b, account, wid, "true")
        assert status == 503 and a_id in body["message"], (status, body)
        assert ws_state(ws_b, wid) == "UNHEALTHY"

        # A comes back on the same directory (a new port): it reconciles its desktop, and a
        # reboot through B recovers the WorkSpace with its home volume.
        a = replica(cluster.url, da, log)
        poll(lambda: xvnc_pids(wid), bool, timeout=60)

        def reboot():
            return ws_b.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": wid}])["FailedRequests"]

        poll(reboot, lambda f: f == [], timeout=3 * LEASE, interval=0.25)
        poll(lambda: ws_state(ws_b, wid), lambda s: s == "AVAILABLE", {"UNHEALTHY", "REBOOTING", "AVAILABLE"}, timeout=60)
        assert run(b, account, wid, "cat ~/home-file.txt")["stdout"] == "kept\n"
        assert not os.path.exists(os.path.join(db, vol))
    finally:
        for s in (a, b):
            if s and s.proc.poll() is None:
                s.stop()
        if wid:
            poll(lambda: xvnc_pids(wid), lambda p: not p, timeout=10)
        log.close()
        shutil.copy(os.path.join(root, "servers.log"), os.path.join(tempfile.gettempdir(), "ls-desk-replicas-last.log"))
        shutil.rmtree(root, ignore_errors=True)
        cluster.destroy()
