#!/usr/bin/env python3
"""Seeds one (account, Region) of a running localspaces with N WorkSpaces (stdlib only).

    seed_workspaces.py URL REGION N  ->  prints JSON {"directory": d-…, "bundle": wsb-…,
                                          "workspace": ws-… (the first), "seconds": …}

Creates a Simple AD directory through the Directory Service API, registers it, then calls
CreateWorkspaces with 25 users per call over one keep-alive connection; the server should
run with `--timing instant` and `--quota workspaces=…` above N. Requests carry a fake SigV4
header (the open auth mode accepts any signature; the account is the default one).
"""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, region, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def call(target, body, service="workspaces"):
        auth = (
            f"AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
        )
        conn.request("POST", "/", json.dumps(body), {
            "Authorization": auth,
            "X-Amz-Date": "20260101T000000Z",
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.1",
        })
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"{target}: {r.status} {data[:300]!r}")
        return json.loads(data)

    def settle():
        conn.request("POST", "/_localspaces/settle", headers={"X-Localspaces-Admin": "1"})
        r = conn.getresponse()
        r.read()

    d = call("DirectoryService_20150416.CreateDirectory", {
        "Name": "bench.example.com", "Password": "Bench-Passw0rd!", "Size": "Small",
        "VpcSettings": {"VpcId": "vpc-0123456789abcdef0",
                        "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]},
    }, service="ds")["DirectoryId"]
    settle()
    call("WorkspacesService.RegisterWorkspaceDirectory", {"DirectoryId": d})
    settle()
    bundles = call("WorkspacesService.DescribeWorkspaceBundles", {"Owner": "AMAZON"})["Bundles"]
    bundle = next(b["BundleId"] for b in bundles if b["ComputeType"]["Name"] == "STANDARD")
    first = None
    t0 = time.time()
    for start in range(0, n, 25):
        batch = [{"DirectoryId": d, "UserName": f"user{i:06d}", "BundleId": bundle,
                  "WorkspaceProperties": {"RunningMode": "AUTO_STOP",
                                          "RunningModeAutoStopTimeoutInMinutes": 60}}
                 for i in range(start, min(start + 25, n))]
        out = call("WorkspacesService.CreateWorkspaces", {"Workspaces": batch})
        if out.get("FailedRequests"):
            sys.exit(f"failed: {out['FailedRequests'][:2]}")
        first = first or out["PendingRequests"][0]["WorkspaceId"]
    secs = time.time() - t0
    settle()
    print(json.dumps({"directory": d, "bundle": bundle, "workspace": first, "seconds": round(secs, 2)}))


if __name__ == "__main__":
    main()
