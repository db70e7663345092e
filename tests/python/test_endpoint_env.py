"""Unchanged client code reaches localspaces through the endpoint environment variables
alone (no endpoint_url / --endpoint-url / provider `endpoints` block):
`AWS_ENDPOINT_URL_WORKSPACES`, `AWS_ENDPOINT_URL_DIRECTORY_SERVICE` and the general
`AWS_ENDPOINT_URL`, with boto3, the AWS CLI and Terraform's AWS provider. Each client runs in
a subprocess with a clean environment so nothing leaks between cases."""
import json
import os
import shutil
import subprocess
import sys

import boto3
import pytest

from conftest import make_client, random_account, scratch_dir
from test_terraform import MIRROR, provider_version

BOTO3_SCRIPT = """
import json, boto3
ws = boto3.client("workspaces")
ds = boto3.client("ds")
ws.create_ip_group(GroupName="from-env")
did = ds.create_directory(Name="corp.example.com", Password="Passw0rd!", Size="Small",
    VpcSettings={"VpcId": "vpc-0123456789abcdef0",
                 "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]})["DirectoryId"]
print(json.dumps({"ws": ws.meta.endpoint_url, "ds": ds.meta.endpoint_url, "directory": did}))
"""


@pytest.fixture
def srv(instant_servers):
    """One engine is enough: which endpoint a client calls does not depend on the store."""
    return instant_servers["memory"]


def clean_env(account, **endpoints):
    """Only what a client needs: credentials, Region, the given endpoint variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=account,
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(endpoints)
    return env


def run_boto3(env):
    out = subprocess.run([sys.executable, "-c", BOTO3_SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def check_created(url, account, directory):
    ws = make_client(url, "json", account)
    assert [g["groupName"] for g in ws.describe_ip_groups()["Result"]] == ["from-env"]
    ds = boto3.client("ds", endpoint_url=url, region_name="us-east-1", aws_access_key_id=account,
                      aws_secret_access_key="test")
    assert ds.describe_directories(DirectoryIds=[directory])["DirectoryDescriptions"][0]["Name"] == "corp.example.com"


@pytest.mark.parametrize("style", ["service-specific", "general", "specific-wins"])
def test_boto3(srv, style):
    url, account = srv.url, random_account()
    env = {
        "service-specific": {"AWS_ENDPOINT_URL_WORKSPACES": url, "AWS_ENDPOINT_URL_DIRECTORY_SERVICE": url},
        "general": {"AWS_ENDPOINT_URL": url},
        # nothing listens on port 9: only the specific variables can have been used
        "specific-wins": {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_WORKSPACES": url,
                          "AWS_ENDPOINT_URL_DIRECTORY_SERVICE": url},
    }[style]
    got = run_boto3(clean_env(account, **env))
    assert got["ws"] == url and got["ds"] == url
    check_created(url, account, got["directory"])


def test_boto3_without_them_is_aws():
    out = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.client('workspaces').meta.endpoint_url)"],
        env=clean_env(random_account()), capture_output=True, text=True, timeout=60,
    )
    assert out.stdout.strip() == "https://workspaces.us-east-1.amazonaws.com"


def aws_cli():
    exe = os.path.join(os.path.dirname(sys.executable), "aws")
    return exe if os.path.exists(exe) else shutil.which("aws")


@pytest.mark.skipif(aws_cli() is None, reason="the AWS CLI is not installed")
def test_aws_cli(srv):
    url, account = srv.url, random_account()
    env = clean_env(account, AWS_ENDPOINT_URL_WORKSPACES=url, AWS_ENDPOINT_URL_DIRECTORY_SERVICE=url)

    def aws(*args):
        out = subprocess.run([aws_cli(), *args, "--output", "json"], env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout) if out.stdout.strip() else {}

    aws("workspaces", "create-ip-group", "--group-name", "from-env")
    did = aws("ds", "create-directory", "--name", "corp.example.com", "--password", "Passw0rd!", "--size", "Small",
              "--vpc-settings", "VpcId=vpc-0123456789abcdef0,SubnetIds=subnet-0123456789abcdef0,subnet-0123456789abcdef1")[
        "DirectoryId"]
    assert [g["groupName"] for g in aws("workspaces", "describe-ip-groups")["Result"]] == ["from-env"]
    check_created(url, account, did)


TF = """
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "{version}" }}
  }}
}}
provider "aws" {{
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}}
resource "aws_workspaces_ip_group" "office" {{
  name = "from-env"
}}
output "id" {{ value = aws_workspaces_ip_group.office.id }}
"""


@pytest.mark.skipif(
    shutil.which("terraform") is None or not os.path.isdir(os.path.join(MIRROR, "registry.terraform.io/hashicorp/aws")),
    reason="terraform or its AWS provider mirror is not installed on this machine",
)
def test_terraform_provider(srv):
    url, account = srv.url, random_account()
    d = scratch_dir("ls-tf-env-")
    rc = os.path.join(d, "terraformrc")
    with open(rc, "w") as f:
        f.write(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n}}\n')
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write(TF.format(version=provider_version()))
    env = clean_env(account, AWS_ENDPOINT_URL_WORKSPACES=url)
    env.update(TF_CLI_CONFIG_FILE=rc, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")

    def tf(*args):
        r = subprocess.run(["terraform", *args, "-no-color"], cwd=d, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return r.stdout

    tf("init", "-input=false")
    tf("apply", "-auto-approve", "-input=false")
    gid = json.loads(tf("output", "-json"))["id"]["value"]
    (g,) = make_client(url, "json", account).describe_ip_groups(GroupIds=[gid])["Result"]
    assert g["groupName"] == "from-env"
    tf("destroy", "-auto-approve", "-input=false")
    assert make_client(url, "json", account).describe_ip_groups(GroupIds=[gid])["Result"] == []
