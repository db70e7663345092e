"""Helpers for the WorkSpaces flow tests: Directory Service clients, admin routes, polling
that records every state it sees, and the directory + WorkSpace setup most tests need."""
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config

from conftest import REGION

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
VPC = "vpc-0123456789abcdef0"
# A PCoIP Windows bundle (STANDARD, 80/50 GiB): every property of ModifyWorkspaceProperties
# applies to it, including the protocol.
WINDOWS_BUNDLE = "Standard with Windows 10 (Server 2022 based)"
LINUX_BUNDLE = "Standard with Amazon Linux 2"


def ds_client(url, account, region=REGION):
    return boto3.client(
        "ds",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=account,
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def admin(url, route, **params):
    """POSTs an admin route; returns (HTTP status, JSON body)."""
    q = urllib.parse.urlencode(params)
    req = urllib.request.Request(f"{url}/_localspaces/{route}" + (f"?{q}" if q else ""), data=b"", method="POST",
                                 headers={"X-Localspaces-Admin": "1"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def settle(url):
    status, body = admin(url, "settle")
    assert status == 200, body
    return body


class StateLog:
    """Every distinct consecutive state seen while polling one resource."""

    def __init__(self, first=None):
        self.states = [] if first is None else [first]

    def add(self, s):
        if not self.states or self.states[-1] != s:
            self.states.append(s)

    def __repr__(self):
        return " -> ".join(map(str, self.states))


def poll(read, done, allowed=None, timeout=15.0, interval=0.1, log=None):
    """Calls `read()` until `done(value)`; each value must be in `allowed` (when given).
    Returns the StateLog of the values seen (including the final one)."""
    log = log or StateLog()
    deadline = time.time() + timeout
    while True:
        v = read()
        log.add(v)
        if allowed is not None:
            assert v in allowed, f"unexpected state {v!r}; seen {log}"
        if done(v):
            return log
        assert time.time() < deadline, f"timed out; seen {log}"
        time.sleep(interval)


GONE = "<gone>"


def ws_state(ws, wid):
    got = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"]
    return got[0]["State"] if got else GONE


def dir_state(ws, did):
    got = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    return got[0]["State"] if got else GONE


def ds_stage(ds, did):
    try:
        return ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]["Stage"]
    except ds.exceptions.EntityDoesNotExistException:
        return GONE


def wait_ws(ws, wid, target, allowed=None, **kw):
    return poll(lambda: ws_state(ws, wid), lambda s: s == target, allowed, **kw)


def bundle_id(ws, name=WINDOWS_BUNDLE):
    return next(
        b["BundleId"]
        for p in ws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON")
        for b in p["Bundles"]
        if b["Name"] == name
    )


def create_ds_directory(ds, name="corp.example.com", subnets=SUBNETS):
    return ds.create_directory(
        Name=name,
        Password="Passw0rd!",
        Size="Small",
        VpcSettings={"VpcId": VPC, "SubnetIds": list(subnets)},
    )["DirectoryId"]


def active_directory(ds, **kw):
    did = create_ds_directory(ds, **kw)
    poll(lambda: ds_stage(ds, did), lambda s: s == "Active", {"Requested", "Creating", "Active"})
    return did


def registered_directory(ws, ds, **kw):
    """A Simple AD directory, Active and REGISTERED with WorkSpaces."""
    did = active_directory(ds, **kw)
    assert ws.register_workspace_directory(DirectoryId=did)["State"] == "REGISTERING"
    poll(lambda: dir_state(ws, did), lambda s: s == "REGISTERED", {"REGISTERING", "REGISTERED"})
    return did


def request(directory_id, bundle, user, **props):
    r = {"DirectoryId": directory_id, "BundleId": bundle, "UserName": user}
    tags = props.pop("Tags", None)
    if tags is not None:
        r["Tags"] = tags
    if props:
        r["WorkspaceProperties"] = props
    return r


def create_one(ws, directory_id, bundle, user, wait=True, **props):
    out = ws.create_workspaces(Workspaces=[request(directory_id, bundle, user, **props)])
    assert out["FailedRequests"] == [], out["FailedRequests"]
    (w,) = out["PendingRequests"]
    if wait:
        wait_ws(ws, w["WorkspaceId"], "AVAILABLE", {"PENDING", "AVAILABLE"})
    return w["WorkspaceId"]
