"""The AWS CLI over the later families: connection aliases, account and BYOL, images and
custom bundles, applications, pools' and client branding's describes, standby creation."""
import json
import os
import subprocess
import sys

import pytest

from conftest import random_account
from flows import admin


@pytest.fixture
def server(instant_server):
    return instant_server


def aws(url, account, *args, region="us-east-1"):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION=region)
    env.pop("AWS_PROFILE", None)
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    r = subprocess.run([cli, "workspaces", *args, "--endpoint-url", url, "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else {}), r.stderr


def ok(*a, **kw):
    code, out, err = aws(*a, **kw)
    assert code == 0, err
    return out


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_cli_later_families(instant_servers, engine):
    url, acct = instant_servers[engine].url, random_account()
    alias = ok(url, acct, "create-connection-alias", "--connection-string", f"cli-{acct}.example.com")["AliasId"]
    (a,) = ok(url, acct, "describe-connection-aliases", "--alias-ids", alias)["ConnectionAliases"]
    assert a["State"] == "CREATED"
    ok(url, acct, "delete-connection-alias", "--alias-id", alias)

    assert ok(url, acct, "describe-account")["DedicatedTenancySupport"] == "DISABLED"
    code, _, err = aws(url, acct, "list-available-management-cidr-ranges", "--management-cidr-range-constraint", "10.0.0.0/8")
    assert code != 0 and "AccessDeniedException" in err
    assert admin(url, "byol", account=acct, region="us-east-1", eligible="true")[0] == 200
    ranges = ok(url, acct, "list-available-management-cidr-ranges", "--management-cidr-range-constraint", "10.0.0.0/8")
    assert ranges["ManagementCidrRanges"][0] == "10.0.0.0/16"
    ok(url, acct, "modify-account", "--dedicated-tenancy-support", "ENABLED", "--dedicated-tenancy-management-cidr-range", "10.3.0.0/16")
    assert ok(url, acct, "describe-account-modifications")["AccountModifications"][0]["ModificationState"] == "COMPLETED"

    img = ok(url, acct, "import-workspace-image", "--ec2-image-id", "ami-0123456789abcdef0", "--ingestion-process", "BYOL_REGULAR",
             "--image-name", "cli-byol", "--image-description", "from the CLI")["ImageId"]
    (i,) = ok(url, acct, "describe-workspace-images", "--image-ids", img)["Images"]
    assert i["State"] == "AVAILABLE" and i["Name"] == "cli-byol"
    b = ok(url, acct, "create-workspace-bundle", "--bundle-name", "cli-bundle", "--bundle-description", "d", "--image-id", img,
           "--compute-type", "Name=STANDARD", "--user-storage", "Capacity=50")["WorkspaceBundle"]
    assert b["ImageId"] == img
    mine = ok(url, acct, "describe-workspace-bundles", "--owner", acct)["Bundles"]
    assert [x["BundleId"] for x in mine] == [b["BundleId"]]
    ok(url, acct, "delete-workspace-bundle", "--bundle-id", b["BundleId"])
    ok(url, acct, "delete-workspace-image", "--image-id", img)

    apps = ok(url, acct, "describe-applications", "--max-results", "25")["Applications"]
    assert len(apps) == 10
    assert ok(url, acct, "describe-workspaces-pools")["WorkspacesPools"] == []
    code, _, err = aws(url, acct, "describe-client-branding", "--resource-id", "d-0000000000")
    assert code != 0 and "ResourceNotFoundException" in err
    code, _, err = aws(url, acct, "create-standby-workspaces", "--primary-region", "us-east-1",
                       "--standby-workspaces", "PrimaryWorkspaceId=ws-000000000,DirectoryId=d-0000000000")
    assert code != 0 and "InvalidParameterValuesException" in err
