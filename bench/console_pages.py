"""Console page cost with many WorkSpaces: bytes and time of the WorkSpaces list page, its
live fragment and the dashboard's fragment.

    python bench/console_pages.py path/to/localspaces [WORKSPACES]

Starts the binary in memory with `--timing instant`, launches WORKSPACES (default 5000)
WorkSpaces through boto3, then fetches each page five times and prints size and median time.
"""
import subprocess, sys, time, re, urllib.request, json, os
import boto3
binary = sys.argv[1]
p = subprocess.Popen([binary, "--in-memory", "--port", "0", "--timing", "instant", "--quota", "workspaces=6000"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    line = p.stdout.readline()
    url = re.search(r"http://[0-9.:]+", line).group(0)
    ws = boto3.client("workspaces", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    ds = boto3.client("ds", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    d = ds.create_directory(Name="corp.example.com", Password="Passw0rd!x", Size="Small", VpcSettings={"VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1b2c3d", "subnet-0a1b2c3e"]})["DirectoryId"]
    urllib.request.urlopen(urllib.request.Request(url + "/_localspaces/settle", method="POST", data=b""))
    ws.register_workspace_directory(DirectoryId=d)
    urllib.request.urlopen(urllib.request.Request(url + "/_localspaces/settle", method="POST", data=b""))
    b = ws.describe_workspace_bundles(Owner="AMAZON")["Bundles"][0]["BundleId"]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    for i in range(0, n, 25):
        ws.create_workspaces(Workspaces=[{"DirectoryId": d, "BundleId": b, "UserName": f"u{i+j}"} for j in range(25)])
    urllib.request.urlopen(urllib.request.Request(url + "/_localspaces/settle", method="POST", data=b""))
    q = "account=123456789012&region=us-east-1"
    for name, path in [("list", f"/console/workspaces?{q}"), ("fragment", f"/console/workspaces?{q}&fragment=1"), ("dashboard fragment", f"/console/?{q}&fragment=1")]:
        times = []
        for _ in range(5):
            t = time.perf_counter(); body = urllib.request.urlopen(url + path).read(); times.append(time.perf_counter() - t)
        print(f"{name}: {len(body)} bytes, median {sorted(times)[2]*1000:.0f} ms")
finally:
    p.terminate(); p.wait()
