"""Benchmark of `--desktops kvm` through the API (not a test), one WorkSpace at a time:
CreateWorkspaces -> AVAILABLE (the guest agent answered), then the host memory (RSS) of its
QEMU process after IDLE_SECS idle, then TerminateWorkspaces (so that no idle VM takes CPU from
the next boot). `bash bench/kvm.sh` runs it; see bench/README.md.

Env: LOCALSPACES_BIN, IMAGE (a directory of images/test/build.sh or images/desktop/build.sh),
RUNS (default 5), IDLE_SECS (wait before reading RSS, default 10), ACCEL_ARGS (default
--kvm-allow-tcg when /dev/kvm cannot boot a stock kernel).
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))

from conftest import Server, make_client, random_account  # noqa: E402
from flows import LINUX_BUNDLE, bundle_id, ds_client, registered_directory, request, ws_state  # noqa: E402
from test_kvm import kvm_usable, qemu_pids  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    image = os.path.abspath(os.environ.get("IMAGE", "target/kvm-test-image"))
    runs = int(os.environ.get("RUNS", "5"))
    idle = float(os.environ.get("IDLE_SECS", "10"))
    why = kvm_usable()
    accel = os.environ.get("ACCEL_ARGS", "--kvm-allow-tcg" if why else "").split()
    print(f"accel: {'TCG (KVM unusable: ' + why + ')' if why else 'KVM'} · image {image} · load {os.getloadavg()[0]:.1f}")
    data = tempfile.mkdtemp(prefix="ls-kvm-bench-")
    srv = Server("--data-dir", data, "--desktops", "kvm", "--kvm-image", image, *accel,
                 "--timing", "instant", "--max-desktops", str(runs + 1)).start()
    try:
        account = random_account()
        ws = make_client(srv.url, "json", account)
        did = registered_directory(ws, ds_client(srv.url, account))
        bundle = bundle_id(ws, LINUX_BUNDLE)
        boots, rss = [], []
        for i in range(runs):
            t0 = time.monotonic()
            out = ws.create_workspaces(Workspaces=[request(did, bundle, f"bench{i}", RunningMode="ALWAYS_ON")])
            assert out["FailedRequests"] == [], out
            wid = out["PendingRequests"][0]["WorkspaceId"]
            while (state := ws_state(ws, wid)) != "AVAILABLE":
                assert state == "PENDING", state
                time.sleep(0.1)
            boots.append(time.monotonic() - t0)
            time.sleep(idle)
            rss.extend(rss_mib(p) for p in qemu_pids(data, wid))
            print(f"  boot {i}: {boots[-1]:.1f} s, RSS {rss[-1]:.0f} MiB (load {os.getloadavg()[0]:.1f})")
            ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": wid}])
            while ws_state(ws, wid) not in ("TERMINATED", "<gone>"):
                time.sleep(0.2)
        print(f"create -> AVAILABLE: p50 {statistics.median(boots):.1f} s, min {min(boots):.1f}, max {max(boots):.1f} ({runs} runs, one at a time)")
        print(f"idle QEMU RSS after {idle:.0f} s: p50 {statistics.median(rss):.0f} MiB, max {max(rss):.0f} MiB")
    finally:
        srv.stop()
        import shutil

        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
