"""Strict SigV4 (`--auth strict`) across the request shapes real clients send.

test_strict_auth_and_cli.py covers boto3's plain accept / wrong secret / unknown key; this
file covers the rest: the AWS CLI, requests signed here byte by byte (so the scope, the clock,
the payload hash and the signed headers can each be varied), both protocols' routes, replays,
and the AWS SDK for JavaScript v3 (installed with npm into a temporary directory; skipped with
a message when npm is missing). The Rust SDK's shape is in crates/localspaces/tests/edge_hardening.rs.

What AWS does and this checks: any Region the key signs for is accepted (the Region is part of
the scope, and resources are per Region); a wrong service in the scope, a clock skew over 15
minutes, a changed body or signed header are refused with InvalidSignatureException; a request
without Authorization gets MissingAuthenticationTokenException; a replayed request within the
skew window is accepted (SigV4 has no nonce); `x-amz-content-sha256` may be `UNSIGNED-PAYLOAD`
or the body's hash, not another hash."""
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import cbor2
import pytest

from conftest import Server, make_client

KEY, SECRET, ACCOUNT = "AKIDSHAPES", "sh4pes-secret", "222222222222"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def strict():
    srv = Server("--in-memory", "--timing", "instant", "--auth", "strict",
                 "--credentials", f"{KEY}:{SECRET}:{ACCOUNT}").start()
    yield srv
    assert srv.stop() == 0


# ------------------------------------------------------------------------- a SigV4 signer


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed(url, target, body, *, secret=SECRET, key=KEY, region=REGION, service="workspaces", when=None,
           protocol="json", payload_hash=None, extra=None, unsigned=None):
    """A signed request as `(path, headers, body)`. `payload_hash` is sent (and signed) as
    `x-amz-content-sha256`; `extra` headers are signed, `unsigned` ones are sent unsigned."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    host = url.split("://", 1)[1]
    if protocol == "json":
        path = "/"
        headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": f"WorkspacesService.{target}"}
        data = json.dumps(body).encode()
    else:
        path = f"/service/WorkspacesService/operation/{target}"
        headers = {"content-type": "application/cbor", "accept": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        data = cbor2.dumps(body)
    headers.update({"host": host, "x-amz-date": amz_date})
    if payload_hash is not None:
        headers["x-amz-content-sha256"] = payload_hash
    headers.update(extra or {})
    names = sorted(headers)
    canonical_headers = "".join(f"{n}:{headers[n].strip()}\n" for n in names)
    hashed = payload_hash if payload_hash == "UNSIGNED-PAYLOAD" else hashlib.sha256(data).hexdigest()
    creq = "\n".join(["POST", path, "", canonical_headers, ";".join(names), hashed])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), amz_date[:8]), region), service), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={sig}")
    headers.update(unsigned or {})
    return path, headers, data


def send(url, req, body=None):
    """Sends a `signed()` request (optionally with another body); returns `(status, code, doc)`."""
    path, headers, data = req
    headers = {k: v for k, v in headers.items() if k != "host"}
    r = urllib.request.Request(url + path, data=data if body is None else body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            status, raw, ctype = resp.status, resp.read(), resp.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        status, raw, ctype = e.code, e.read(), e.headers.get("content-type", "")
    doc = cbor2.loads(raw) if "cbor" in ctype and raw else json.loads(raw or b"{}")
    code = doc.get("__type", "").split("#")[-1] if isinstance(doc, dict) else ""
    return status, code, doc


def call(url, target, body, **kw):
    return send(url, signed(url, target, body, **kw))


# ------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_signed_requests_on_both_routes(strict, protocol):
    status, code, doc = call(strict.url, "CreateIpGroup", {"GroupName": f"shape-{protocol}"}, protocol=protocol)
    assert status == 200, doc
    gid = doc["GroupId"]
    status, _, doc = call(strict.url, "DescribeIpGroups", {"GroupIds": [gid]}, protocol=protocol)
    assert status == 200 and [g["groupId"] for g in doc["Result"]] == [gid]
    # boto3 on the same route sees it: the key's configured account owns it.
    c = make_client(strict.url, protocol, key=KEY, secret=SECRET)
    assert [g["groupId"] for g in c.describe_ip_groups(GroupIds=[gid])["Result"]] == [gid]


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_refusals(strict, protocol):
    url = strict.url
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = {
        "wrong secret": (dict(secret="not-it"), "InvalidSignatureException", "signature we calculated"),
        "unknown key": (dict(key="AKIDNOBODY"), "UnrecognizedClientException", "security token"),
        "wrong service": (dict(service="ec2"), "InvalidSignatureException", "Credential should be scoped"),
        "20 min old": (dict(when=now - datetime.timedelta(minutes=20)), "InvalidSignatureException",
                       "Signature expired"),
        "20 min ahead": (dict(when=now + datetime.timedelta(minutes=20)), "InvalidSignatureException",
                         "Signature not yet current"),
        "other payload hash": (dict(payload_hash="0" * 64), "InvalidSignatureException", "x-amz-content-sha256"),
    }
    for name, (kw, want, text) in cases.items():
        status, code, doc = call(url, "DescribeIpGroups", {}, protocol=protocol, **kw)
        assert (status, code) == (400, want), (name, doc)  # status: model/framework-errors.json
        assert text in json.dumps(doc), (name, doc)
    # 14 minutes of skew is within AWS's window.
    status, _, doc = call(url, "DescribeIpGroups", {}, protocol=protocol, when=now - datetime.timedelta(minutes=14))
    assert status == 200, doc
    # A body changed after signing, or a signed header changed, breaks the signature.
    req = signed(url, "DescribeIpGroups", {}, protocol=protocol)
    other = json.dumps({"MaxResults": 5}).encode() if protocol == "json" else cbor2.dumps({"MaxResults": 5})
    status, code, doc = send(url, req, body=other)
    assert code == "InvalidSignatureException", doc
    path, headers, data = signed(url, "DescribeIpGroups", {}, protocol=protocol, extra={"x-custom": "a"})
    status, code, doc = send(url, (path, dict(headers, **{"x-custom": "b"}), data))
    assert code == "InvalidSignatureException", doc
    # No Authorization at all.
    path, headers, data = signed(url, "DescribeIpGroups", {}, protocol=protocol)
    del headers["authorization"]
    status, code, doc = send(url, (path, headers, data))
    assert (status, code) == (400, "MissingAuthenticationTokenException"), doc


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_accepted_variations(strict, protocol):
    url = strict.url
    # Any Region the key signs for is accepted; resources are per Region.
    status, _, doc = call(url, "CreateIpGroup", {"GroupName": f"west-{protocol}"}, protocol=protocol,
                          region="eu-west-1")
    assert status == 200, doc
    gid = doc["GroupId"]
    assert call(url, "DescribeIpGroups", {"GroupIds": [gid]}, protocol=protocol, region="eu-west-1")[2]["Result"]
    assert call(url, "DescribeIpGroups", {"GroupIds": [gid]}, protocol=protocol)[2]["Result"] == []
    # x-amz-content-sha256: the body's hash, or UNSIGNED-PAYLOAD (then the body is not covered).
    body = {"GroupIds": [gid]}
    ok = hashlib.sha256(json.dumps(body).encode() if protocol == "json" else cbor2.dumps(body)).hexdigest()
    status, _, doc = call(url, "DescribeIpGroups", body, protocol=protocol, region="eu-west-1", payload_hash=ok)
    assert status == 200 and doc["Result"], doc
    req = signed(url, "DescribeIpGroups", {}, protocol=protocol, region="eu-west-1", payload_hash="UNSIGNED-PAYLOAD")
    other = json.dumps(body).encode() if protocol == "json" else cbor2.dumps(body)
    status, _, doc = send(url, req, body=other)
    assert status == 200 and [g["groupId"] for g in doc["Result"]] == [gid], doc
    # An unsigned extra header (e.g. a proxy's) does not matter; neither does an unsigned
    # x-amz-content-sha256 with the right hash.
    status, _, doc = call(url, "DescribeIpGroups", {}, protocol=protocol, unsigned={"x-forwarded-for": "10.0.0.1"})
    assert status == 200, doc
    # A replay within the skew window is accepted (SigV4 has no nonce): the second create is
    # authenticated and then fails on the duplicate name, as on AWS.
    req = signed(url, "CreateIpGroup", {"GroupName": f"replay-{protocol}"}, protocol=protocol)
    assert send(url, req)[0] == 200
    status, code, doc = send(url, req)
    assert (status, code) == (400, "ResourceAlreadyExistsException"), doc
    req = signed(url, "DescribeIpGroups", {}, protocol=protocol)
    assert send(url, req)[0] == send(url, req)[0] == 200


def test_aws_cli_signs_for_a_strict_server(strict):
    def aws(secret, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION)
        env.pop("AWS_PROFILE", None)
        cli = os.path.join(os.path.dirname(sys.executable), "aws")
        return subprocess.run([cli, "workspaces", *args, "--endpoint-url", strict.url, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)

    r = aws(SECRET, "create-ip-group", "--group-name", "cli-strict")
    assert r.returncode == 0, r.stderr
    gid = json.loads(r.stdout)["GroupId"]
    r = aws(SECRET, "describe-ip-groups", "--group-ids", gid)
    assert r.returncode == 0 and json.loads(r.stdout)["Result"][0]["groupId"] == gid, r.stderr
    r = aws("wrong", "describe-ip-groups")
    assert r.returncode != 0 and "InvalidSignatureException" in r.stderr, r.stderr


JS = r"""
const { WorkSpacesClient, DescribeIpGroupsCommand } = require("@aws-sdk/client-workspaces");
async function one(secret) {
  const c = new WorkSpacesClient({ region: "us-east-1", endpoint: process.env.URL, maxAttempts: 1,
    credentials: { accessKeyId: process.env.KEY, secretAccessKey: secret } });
  try { const out = await c.send(new DescribeIpGroupsCommand({})); return { ok: true, n: out.Result.length }; }
  catch (e) { return { ok: false, name: e.name }; }
}
(async () => {
  console.log(JSON.stringify([await one(process.env.SECRET), await one("wrong")]));
})();
"""


def test_javascript_sdk_v3(strict, tmp_path):
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("npm/node not installed: the JavaScript SDK check needs them (CI has them)")
    # LOCALSPACES_JS_SDK_DIR keeps the installed SDK between runs; without it the install goes
    # to pytest's temporary directory, which pytest prunes (a `mkdtemp` here was never removed).
    d = os.environ.get("LOCALSPACES_JS_SDK_DIR") or str(tmp_path)
    if not os.path.isdir(os.path.join(d, "node_modules", "@aws-sdk", "client-workspaces")):
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", d,
                            "@aws-sdk/client-workspaces"], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.skip(f"npm could not install @aws-sdk/client-workspaces: {r.stderr[-500:]}")
    script = os.path.join(d, "strict.js")
    with open(script, "w") as f:
        f.write(JS)
    env = dict(os.environ, URL=strict.url, KEY=KEY, SECRET=SECRET)
    r = subprocess.run([node, script], cwd=d, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    good, bad = json.loads(r.stdout.strip().splitlines()[-1])
    assert good["ok"], good
    assert bad == {"ok": False, "name": "InvalidSignatureException"}, bad
