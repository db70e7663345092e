"""Strict SigV4 verification with boto3 on both protocols, and the AWS CLI end to end."""
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from conftest import Server, error_of, make_client


@pytest.fixture(scope="module")
def strict():
    srv = Server("--in-memory", "--auth", "strict", "--credentials", "AKIDSTRICT:secret1:111111111111,AKIDOTHER:secret2").start()
    yield srv
    assert srv.stop() == 0


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_strict_accepts_correct_signatures(strict, protocol):
    c = make_client(strict.url, protocol, key="AKIDSTRICT", secret="secret1")
    gid = c.create_ip_group(GroupName=f"s-{protocol}")["GroupId"]
    assert [g["groupId"] for g in c.describe_ip_groups(GroupIds=[gid])["Result"]] == [gid]
    # The key's configured account owns it: a key mapped to the default account does not see it.
    other = make_client(strict.url, protocol, key="AKIDOTHER", secret="secret2")
    assert other.describe_ip_groups(GroupIds=[gid])["Result"] == []


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_strict_refuses_wrong_secret_and_unknown_key(strict, protocol):
    with pytest.raises(ClientError) as e:
        make_client(strict.url, protocol, key="AKIDSTRICT", secret="wrong").describe_ip_groups()
    assert error_of(e)[0] == "InvalidSignatureException"
    with pytest.raises(ClientError) as e:
        make_client(strict.url, protocol, key="AKIDNOBODY", secret="x").describe_ip_groups()
    assert error_of(e)[0] == "UnrecognizedClientException"


def test_strict_admin_routes_refused_without_token(strict):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        strict.url + "/_localspaces/settle", method="POST", headers={"X-Localspaces-Admin": "1"}
    )
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 403


def aws(url, *args, account="210987654321"):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    return subprocess.run([cli, "workspaces", *args, "--endpoint-url", url, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_end_to_end(servers):
    url = servers["sqlite"].url
    r = aws(url, "create-ip-group", "--group-name", "cli", "--user-rules", "ipRule=10.0.0.0/16,ruleDesc=hq")
    assert r.returncode == 0, r.stderr
    gid = json.loads(r.stdout)["GroupId"]
    r = aws(url, "describe-ip-groups", "--group-ids", gid)
    assert json.loads(r.stdout)["Result"][0]["userRules"] == [{"ipRule": "10.0.0.0/16", "ruleDesc": "hq"}]
    assert aws(url, "create-tags", "--resource-id", gid, "--tags", "Key=env,Value=ci").returncode == 0
    assert json.loads(aws(url, "describe-tags", "--resource-id", gid).stdout)["TagList"] == [{"Key": "env", "Value": "ci"}]
    assert aws(url, "delete-ip-group", "--group-id", gid).returncode == 0
    r = aws(url, "delete-ip-group", "--group-id", gid)
    assert r.returncode != 0 and "ResourceNotFoundException" in r.stderr
