"""Terraform's AWS provider (from the image's filesystem mirror, offline) against localspaces."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import make_client, random_account, scratch_dir

MIRROR = os.environ.get("LOCALSPACES_TF_MIRROR", "/opt/tf-plugins")

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None or not os.path.isdir(os.path.join(MIRROR, "registry.terraform.io/hashicorp/aws")),
    reason="terraform or its AWS provider mirror is not installed on this machine",
)


def provider_version():
    return sorted(os.listdir(os.path.join(MIRROR, "registry.terraform.io/hashicorp/aws")))[-1]


# The provider block every configuration here shares: the mirror's provider, the account as
# the access key, and the workspaces endpoint pointed at localspaces.
PROVIDER_TF = """
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "{version}" }}
  }}
}}
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "{account}"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
    workspaces = "{url}"
  }}
}}
"""

MAIN_TF = PROVIDER_TF + """
resource "aws_workspaces_ip_group" "office" {{
  name        = "office"
  description = "head office"
  {rules}
  tags = {{ env = "{env}" }}
}}
output "id" {{ value = aws_workspaces_ip_group.office.id }}
"""


def rule(cidr, desc):
    return f'rules {{\n    source      = "{cidr}"\n    description = "{desc}"\n  }}'


class Tf:
    def __init__(self, url, account):
        self.dir = scratch_dir("ls-tf-")
        self.url, self.account = url, account
        rc = os.path.join(self.dir, "terraformrc")
        with open(rc, "w") as f:
            f.write(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n}}\n')
        self.env = dict(os.environ, TF_CLI_CONFIG_FILE=rc, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")

    def write(self, rules, env):
        with open(os.path.join(self.dir, "main.tf"), "w") as f:
            f.write(MAIN_TF.format(version=provider_version(), account=self.account, url=self.url, rules="\n  ".join(rules), env=env))

    def run(self, *args):
        r = subprocess.run(["terraform", *args, "-no-color"], cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        return r.stdout


def test_ip_group_apply_update_destroy(servers):
    url, account = servers["sqlite"].url, random_account()
    ws = make_client(url, "json", account)
    tf = Tf(url, account)
    tf.write([rule("10.0.0.0/16", "hq")], "ci")
    tf.run("init", "-input=false")
    tf.run("apply", "-auto-approve", "-input=false")
    gid = json.loads(tf.run("output", "-json"))["id"]["value"]
    (g,) = ws.describe_ip_groups(GroupIds=[gid])["Result"]
    assert g["groupName"] == "office" and g["userRules"] == [{"ipRule": "10.0.0.0/16", "ruleDesc": "hq"}]
    assert ws.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "env", "Value": "ci"}]
    # A second plan sees no drift: what localspaces returns matches what Terraform wrote.
    assert "No changes." in tf.run("plan", "-input=false")
    tf.write([rule("10.0.0.0/16", "hq"), rule("192.168.0.0/24", "branch")], "prod")
    tf.run("apply", "-auto-approve", "-input=false")
    (g,) = ws.describe_ip_groups(GroupIds=[gid])["Result"]
    assert sorted(r["ipRule"] for r in g["userRules"]) == ["10.0.0.0/16", "192.168.0.0/24"]
    assert ws.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "env", "Value": "prod"}]
    tf.run("destroy", "-auto-approve", "-input=false")
    assert ws.describe_ip_groups(GroupIds=[gid])["Result"] == []


WS_TF = PROVIDER_TF + """
resource "aws_workspaces_ip_group" "office" {{
  name = "office"
  rules {{
    source = "10.0.0.0/16"
  }}
}}
resource "aws_workspaces_directory" "main" {{
  directory_id = "{directory_id}"
  ip_group_ids = [aws_workspaces_ip_group.office.id]
  self_service_permissions {{
    change_compute_type  = true
    increase_volume_size = true
    rebuild_workspace    = true
    restart_workspace    = true
    switch_running_mode  = true
  }}
  workspace_creation_properties {{
    enable_internet_access              = true
    user_enabled_as_local_administrator = false
  }}
  tags = {{ env = "ci" }}
}}
resource "aws_workspaces_workspace" "alice" {{
  directory_id = aws_workspaces_directory.main.id
  bundle_id    = "{bundle_id}"
  user_name    = "alice"
  workspace_properties {{
    running_mode                              = "{mode}"
    running_mode_auto_stop_timeout_in_minutes = {timeout}
  }}
  tags = {{ team = "vdi" }}
}}
output "workspace_id" {{ value = aws_workspaces_workspace.alice.id }}
"""


@pytest.fixture(scope="module")
def instant_server():
    from conftest import Server

    srv = Server("--in-memory", "--timing", "instant").start()
    yield srv
    assert srv.stop() == 0


def test_directory_and_workspace_lifecycle(instant_server):
    import boto3

    url, account = instant_server.url, random_account()
    ds = boto3.client("ds", endpoint_url=url, region_name="us-east-1", aws_access_key_id=account, aws_secret_access_key="x")
    directory_id = ds.create_directory(
        Name="corp.example.com",
        Password="Passw0rd!",
        Size="Small",
        VpcSettings={"VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
    )["DirectoryId"]
    ws = make_client(url, "json", account)
    bundle_id = next(
        b["BundleId"]
        for p in ws.get_paginator("describe_workspace_bundles").paginate(Owner="AMAZON")
        for b in p["Bundles"]
        if b["Name"] == "Standard with Amazon Linux 2"
    )
    tf = Tf(url, account)

    def write(mode, timeout):
        with open(os.path.join(tf.dir, "main.tf"), "w") as f:
            f.write(WS_TF.format(version=provider_version(), account=account, url=url, directory_id=directory_id, bundle_id=bundle_id, mode=mode, timeout=timeout))

    write("AUTO_STOP", 60)
    tf.run("init", "-input=false")
    tf.run("apply", "-auto-approve", "-input=false")
    wid = json.loads(tf.run("output", "-json"))["workspace_id"]["value"]
    (w,) = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"]
    assert w["State"] == "AVAILABLE" and w["WorkspaceProperties"]["RunningMode"] == "AUTO_STOP"
    (d,) = ws.describe_workspace_directories(DirectoryIds=[directory_id])["Directories"]
    assert d["State"] == "REGISTERED" and len(d["ipGroupIds"]) == 1
    assert d["WorkspaceCreationProperties"]["EnableInternetAccess"] is True
    assert d["SelfservicePermissions"]["RebuildWorkspace"] == "ENABLED"
    assert "No changes." in tf.run("plan", "-input=false")
    write("AUTO_STOP", 120)
    tf.run("apply", "-auto-approve", "-input=false")
    (w,) = ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"]
    assert w["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 120
    tf.run("destroy", "-auto-approve", "-input=false")
    assert ws.describe_workspaces(WorkspaceIds=[wid])["Workspaces"] == []
    # The provider reads DEREGISTERED as gone (as AWS shows it briefly before the registration
    # disappears), so right after destroy the directory is absent or DEREGISTERED.
    left = ws.describe_workspace_directories(DirectoryIds=[directory_id])["Directories"]
    assert [d["State"] for d in left] in ([], ["DEREGISTERED"])


ALIAS_TF = PROVIDER_TF + """
resource "aws_workspaces_connection_alias" "desk" {{
  connection_string = "{fqdn}"
  tags = {{ team = "{team}" }}
}}
output "alias_id" {{ value = aws_workspaces_connection_alias.desk.id }}
output "state" {{ value = aws_workspaces_connection_alias.desk.state }}
"""


def test_connection_alias_create_update_destroy(servers):
    """The provider's waiters poll through CREATING -> CREATED and DELETING -> gone on the
    default `fast` timing."""
    url, account = servers["sqlite"].url, random_account()
    fqdn = f"desk-{account}.example.com"
    tf = Tf(url, account)

    def write(team):
        with open(os.path.join(tf.dir, "main.tf"), "w") as f:
            f.write(ALIAS_TF.format(version=provider_version(), account=account, url=url, fqdn=fqdn, team=team))

    write("vdi")
    tf.run("init", "-input=false")
    tf.run("apply", "-auto-approve", "-input=false")
    out = json.loads(tf.run("output", "-json"))
    alias_id = out["alias_id"]["value"]
    assert out["state"]["value"] == "CREATED"
    ws = make_client(url, "json", account)
    (a,) = ws.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"]
    assert a["ConnectionString"] == fqdn and a["OwnerAccountId"] == account
    assert "No changes." in tf.run("plan", "-input=false")
    write("desktops")
    tf.run("apply", "-auto-approve", "-input=false")
    assert ws.describe_tags(ResourceId=alias_id)["TagList"] == [{"Key": "team", "Value": "desktops"}]
    tf.run("destroy", "-auto-approve", "-input=false")
    assert ws.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"] == []


# Items Terraform depends on: AWS's published bundle ids (by id and by owner and name, owner
# "Amazon"), Directory Service tags (read on every refresh), and a destroy of a directory with
# IP groups on the default `fast` timing while its WorkSpaces registration is being removed.
DS_TF = PROVIDER_TF.replace("workspaces = \"{url}\"", "workspaces = \"{url}\"\n    ds         = \"{url}\"") + """
data "aws_workspaces_bundle" "by_id" {{
  bundle_id = "wsb-bh8rsxt14"
}}
data "aws_workspaces_bundle" "by_name" {{
  owner = "AMAZON"
  name  = "Value with Windows 10 and Office 2016"
}}
resource "aws_directory_service_directory" "corp" {{
  name     = "corp.example.com"
  password = "Super-Secret-1"
  size     = "Small"
  vpc_settings {{
    vpc_id     = "vpc-0123456789abcdef0"
    subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  }}
  tags = {{ env = "{env}", team = "vdi" }}
}}
resource "aws_workspaces_ip_group" "office" {{
  name = "office"
  rules {{
    source = "10.0.0.0/16"
  }}
}}
resource "aws_workspaces_directory" "corp" {{
  directory_id = aws_directory_service_directory.corp.id
  ip_group_ids = [aws_workspaces_ip_group.office.id]
}}
output "by_id" {{ value = [data.aws_workspaces_bundle.by_id.name, data.aws_workspaces_bundle.by_id.owner, data.aws_workspaces_bundle.by_id.compute_type[0].name] }}
output "by_name" {{ value = data.aws_workspaces_bundle.by_name.id }}
output "directory_id" {{ value = aws_directory_service_directory.corp.id }}
output "group_id" {{ value = aws_workspaces_ip_group.office.id }}
"""


def test_bundles_ds_tags_and_directory_destroy_on_fast_timing(servers):
    url, account = servers["sqlite"].url, random_account()
    tf = Tf(url, account)

    def write(env):
        with open(os.path.join(tf.dir, "main.tf"), "w") as f:
            f.write(DS_TF.format(version=provider_version(), account=account, url=url, env=env))

    write("ci")
    tf.run("init", "-input=false")
    tf.run("apply", "-auto-approve", "-input=false")
    out = {k: v["value"] for k, v in json.loads(tf.run("output", "-json")).items()}
    assert out["by_id"] == ["Value with Windows 10", "Amazon", "VALUE"]
    assert out["by_name"] == "wsb-df76rqys9"
    import boto3

    ds = boto3.client("ds", endpoint_url=url, region_name="us-east-1", aws_access_key_id=account, aws_secret_access_key="x")
    did = out["directory_id"]
    assert {t["Key"]: t["Value"] for t in ds.list_tags_for_resource(ResourceId=did)["Tags"]} == {"env": "ci", "team": "vdi"}
    ws = make_client(url, "json", account)
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert d["State"] == "REGISTERED" and d["ipGroupIds"] == [out["group_id"]]
    assert "No changes." in tf.run("plan", "-input=false")
    write("prod")  # a tag change is an in-place update through Add/RemoveTagsToResource
    tf.run("apply", "-auto-approve", "-input=false")
    assert {t["Key"]: t["Value"] for t in ds.list_tags_for_resource(ResourceId=did)["Tags"]} == {"env": "prod", "team": "vdi"}
    # The provider waits a minute before it first polls a deleted DS directory.
    tf.run("destroy", "-auto-approve", "-input=false")
    assert ws.describe_ip_groups(GroupIds=[out["group_id"]])["Result"] == []
    left = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert [d["State"] for d in left] in ([], ["DEREGISTERED"])
    with pytest.raises(Exception) as e:
        ds.describe_directories(DirectoryIds=[did])
    assert "EntityDoesNotExistException" in str(e.value)
