"""Benchmark of real desktops (`--desktops local`): CreateWorkspaces -> AVAILABLE with a real
desktop (p50 over sequential creates, default `fast` timing), resident memory of an idle
desktop (all its processes: RSS sum and PSS), and the API's p99 with N desktops running.

    LOCALSPACES_BIN=target/debug/localspaces /work/main/.venv/bin/python bench/desktops.py [N]
    LOCALSPACES_BIN=target/debug/localspaces /work/main/.venv/bin/python bench/desktops.py --disk

`--disk` measures the root volumes instead (run as root): create -> AVAILABLE and the disk
each WorkSpace adds, from the base image and from an image holding 64 MiB under /opt, with
copy-on-write roots (overlayfs, the default as root) and with full copies
(`LOCALSPACES_PRIVATE_MOUNTS=0`).

Run from the repository root; it starts and stops its own server on 127.0.0.1.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))

from conftest import Server, make_client, random_account  # noqa: E402
from flows import LINUX_BUNDLE, admin, bundle_id, ds_client, registered_directory, request  # noqa: E402


def descendants(pid):
    out, i = [pid], 0
    while i < len(out):
        p = out[i]
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except OSError:
            pass
        i += 1
    return out


def sandbox_root(wid):
    """The host pid of the outer bwrap of a WorkSpace's desktop sandbox."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"bwrap") and any(a.endswith(f"/{wid}/root".encode()) for a in argv) and b"Xvnc" in b" ".join(argv):
            return int(p)
    return None


def memory_kib(pid):
    rss = pss = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def api_latencies(ws, n=300):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        ws.describe_workspace_directories()
        out.append((time.perf_counter() - t) * 1000)
    return out


def wait_available(ws, ids, timeout=120):
    deadline = time.time() + timeout
    pending = set(ids)
    while pending:
        assert time.time() < deadline, f"not AVAILABLE: {pending}"
        got = ws.describe_workspaces(WorkspaceIds=list(pending)[:25])["Workspaces"]
        for w in got:
            assert w["State"] in ("PENDING", "AVAILABLE"), w
            if w["State"] == "AVAILABLE":
                pending.discard(w["WorkspaceId"])
        time.sleep(0.05)


def du_kib(path):
    out = subprocess.run(["du", "-sk", path], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def exec_in(url, account, wid, script):
    import json
    import urllib.request

    req = urllib.request.Request(
        f"{url}/_localspaces/desktop-exec?account={account}&workspace_id={wid}",
        data=json.dumps({"command": ["sh", "-c", script], "user": "root"}).encode(),
        method="POST", headers={"X-Localspaces-Admin": "1"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.loads(r.read())
    assert out["exit_code"] == 0, out
    return out


def disk(copies, n=5):
    """Create times and disk per WorkSpace from the base image and from a 64 MiB image."""
    data = tempfile.mkdtemp(prefix="ls-bench-disk-")
    env = {"LOCALSPACES_PRIVATE_MOUNTS": "0"} if copies else {}
    srv = Server("--data-dir", data, "--desktops", "local", "--max-desktops", str(2 * n + 2), env=env).start()
    desktops = os.path.join(data, "desktops")
    rows = {}
    try:
        account = random_account()
        ws = make_client(srv.url, "json", account)
        admin(srv.url, "core", account=account, enabled="true")
        did = registered_directory(ws, ds_client(srv.url, account))

        def launch(bundle, prefix):
            before = du_kib(desktops)
            times, ids = [], []
            for i in range(n):
                t = time.perf_counter()
                out = ws.create_workspaces(Workspaces=[request(did, bundle, f"{prefix}{i}", RunningMode="MANUAL")])
                wid = out["PendingRequests"][0]["WorkspaceId"]
                wait_available(ws, [wid])
                times.append(time.perf_counter() - t)
                ids.append(wid)
            time.sleep(1)  # the creation snapshots
            return statistics.median(times), (du_kib(desktops) - before) / n, ids

        rows["base image"] = launch(bundle_id(ws, LINUX_BUNDLE), "b")
        src = rows["base image"][2][0]
        exec_in(srv.url, account, src, "head -c 67108864 /dev/urandom > /opt/big.bin")
        iid = ws.create_workspace_image(Name="big", Description="64 MiB in /opt", WorkspaceId=src)["ImageId"]
        while ws.describe_workspace_images(ImageIds=[iid])["Images"][0]["State"] != "AVAILABLE":
            time.sleep(0.2)
        bundle = ws.create_workspace_bundle(
            BundleName="big", BundleDescription="64 MiB image", ImageId=iid, ComputeType={"Name": "STANDARD"},
            UserStorage={"Capacity": "50"}, RootStorage={"Capacity": "80"},
        )["WorkspaceBundle"]["BundleId"]
        while ws.describe_workspaces(WorkspaceIds=[src])["Workspaces"][0]["State"] != "AVAILABLE":
            time.sleep(0.2)
        rows["64 MiB image"] = launch(bundle, "i")
    finally:
        srv.stop()
        subprocess.run(["rm", "-rf", data], check=False)
    mode = "full copies" if copies else "copy-on-write (overlayfs)"
    for name, (p50, kib, _) in rows.items():
        print(f"{mode}, from the {name}: create -> AVAILABLE p50 {p50:.2f} s; disk per WorkSpace "
              f"(root + home + creation snapshot) {kib / 1024:.2f} MiB")


def main():
    if sys.argv[1:] == ["--disk"]:
        disk(copies=True)
        disk(copies=False)
        return
    many = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    data = tempfile.mkdtemp(prefix="ls-bench-desktops-")
    srv = Server("--data-dir", data, "--desktops", "local", "--max-desktops", str(many + 10)).start()
    try:
        account = random_account()
        ws = make_client(srv.url, "json", account)
        admin(srv.url, "core", account=account, enabled="true")  # MANUAL needs a Core account
        did = registered_directory(ws, ds_client(srv.url, account))
        bundle = bundle_id(ws, LINUX_BUNDLE)
        base = api_latencies(ws)

        # Sequential creates: time from CreateWorkspaces to the first AVAILABLE seen.
        times, ids = [], []
        for i in range(5):
            t = time.perf_counter()
            out = ws.create_workspaces(Workspaces=[request(did, bundle, f"seq{i}", RunningMode="MANUAL")])
            wid = out["PendingRequests"][0]["WorkspaceId"]
            wait_available(ws, [wid])
            times.append(time.perf_counter() - t)
            ids.append(wid)
        time.sleep(3)  # idle
        mems = [memory_kib(sandbox_root(w)) for w in ids]

        # Many at once: one CreateWorkspaces call for the rest, then the API with all running.
        reqs = [request(did, bundle, f"many{i}", RunningMode="MANUAL") for i in range(many - len(ids))]
        t = time.perf_counter()
        created = []
        for k in range(0, len(reqs), 25):
            out = ws.create_workspaces(Workspaces=reqs[k : k + 25])
            assert not out["FailedRequests"], out["FailedRequests"]
            created += [w["WorkspaceId"] for w in out["PendingRequests"]]
        wait_available(ws, created, timeout=300)
        all_up = time.perf_counter() - t
        time.sleep(3)
        loaded = api_latencies(ws)
        running = sum(1 for w in ids + created if sandbox_root(w))

        print(f"create -> AVAILABLE (fast timing, 5 sequential): p50 {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s ({', '.join(f'{x:.2f}' for x in times)})")
        print(f"idle desktop memory (all processes): RSS sum median {statistics.median(m[0] for m in mems) / 1024:.0f} MiB, "
              f"PSS median {statistics.median(m[1] for m in mems) / 1024:.0f} MiB")
        print(f"{len(created)} more created in one call: all AVAILABLE after {all_up:.1f} s; {running} desktops running")
        print(f"DescribeWorkspaceDirectories latency, no desktops: p50 {p(base, 0.5):.2f} ms p99 {p(base, 0.99):.2f} ms")
        print(f"DescribeWorkspaceDirectories latency, {running} desktops: p50 {p(loaded, 0.5):.2f} ms p99 {p(loaded, 0.99):.2f} ms")
    finally:
        srv.stop()
        subprocess.run(["rm", "-rf", data], check=False)


if __name__ == "__main__":
    main()
