"""The pytest plugin, through pytest's own `pytester`: each test writes a small test suite
and runs it in a subprocess (as a user would), against the real binary.

Runs with the plugin installed from the wheel (its `pytest11` entry point) or from the
source tree (`PYTHONPATH=python`, then it is loaded with `-p`)."""
import importlib.metadata

import pytest


def plugin_args():
    installed = any(
        ep.name == "localspaces" for ep in importlib.metadata.entry_points(group="pytest11")
    )
    return [] if installed else ["-p", "localspaces.pytest_plugin"]


def run(pytester, *args):
    return pytester.runpytest_subprocess(*plugin_args(), "-q", *args)


def test_fixture_points_boto3_at_the_server(pytester):
    pytester.makepyfile(
        """
        import os
        import boto3

        def test_ip_group(localspaces):
            assert os.environ["AWS_ENDPOINT_URL_WORKSPACES"] == localspaces.url
            assert os.environ["AWS_ENDPOINT_URL_DIRECTORY_SERVICE"] == localspaces.url
            ws = boto3.client("workspaces")
            ws.create_ip_group(GroupName="office", UserRules=[{"ipRule": "10.0.0.0/16"}])
            assert [g["groupName"] for g in ws.describe_ip_groups()["Result"]] == ["office"]
            ds = boto3.client("ds")
            did = ds.create_directory(Name="corp.example.com", Password="Passw0rd!", Size="Small",
                VpcSettings={"VpcId": "vpc-0123456789abcdef0",
                             "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]})["DirectoryId"]
            # --timing instant: the end state before the next call
            assert ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]["Stage"] == "Active"

        def test_same_server_for_the_session(localspaces):
            ws = boto3.client("workspaces")
            assert [g["groupName"] for g in ws.describe_ip_groups()["Result"]] == ["office"]
        """
    )
    run(pytester).assert_outcomes(passed=2)


def test_flag_runs_an_unchanged_suite_against_it(pytester):
    pytester.makepyfile(
        """
        import boto3

        def test_plain_boto3():
            ws = boto3.client("workspaces")
            assert "127.0.0.1" in ws.meta.endpoint_url
            assert ws.describe_ip_groups()["Result"] == []
        """
    )
    run(pytester, "--localspaces").assert_outcomes(passed=1)
    # without the flag, no server: the client's endpoint is AWS's (never called here)
    pytester.makepyfile(
        """
        import boto3

        def test_plain_boto3(monkeypatch):
            monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            monkeypatch.delenv("AWS_ENDPOINT_URL_WORKSPACES", raising=False)
            monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
            assert "amazonaws.com" in boto3.client("workspaces").meta.endpoint_url
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_reset_helper_empties_the_account_between_tests(pytester):
    pytester.makepyfile(
        """
        import boto3
        import pytest

        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_same_name_each_time(localspaces_reset, n):
            ws = boto3.client("workspaces")
            ws.create_ip_group(GroupName="office")
            assert len(ws.describe_ip_groups()["Result"]) == 1

        def test_after(localspaces):
            assert boto3.client("workspaces").describe_ip_groups()["Result"] == []
        """
    )
    run(pytester).assert_outcomes(passed=4)


def test_timing_option(pytester):
    pytester.makepyfile(
        """
        import boto3

        def test_fast_shows_intermediate_states(localspaces):
            ds = boto3.client("ds")
            did = ds.create_directory(Name="corp.example.com", Password="Passw0rd!", Size="Small",
                VpcSettings={"VpcId": "vpc-0123456789abcdef0",
                             "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]})["DirectoryId"]
            stage = ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]["Stage"]
            assert stage in ("Requested", "Creating")
            localspaces.settle()
            assert ds.describe_directories(DirectoryIds=[did])["DirectoryDescriptions"][0]["Stage"] == "Active"
        """
    )
    run(pytester, "--localspaces-timing=realistic").assert_outcomes(passed=1)


def test_strict_auth_option(pytester):
    pytester.makepyfile(
        """
        import boto3
        import pytest
        from botocore.exceptions import ClientError

        def test_signed_with_the_fixture_key(localspaces):
            assert boto3.client("workspaces").describe_ip_groups()["Result"] == []
            bad = boto3.client("workspaces", aws_access_key_id="test", aws_secret_access_key="wrong")
            with pytest.raises(ClientError) as e:
                bad.describe_ip_groups()
            assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
        """
    )
    run(pytester, "--localspaces-auth=strict").assert_outcomes(passed=1)


def test_extra_server_options_and_state(pytester):
    pytester.makepyfile(
        """
        import boto3

        def test_byol_and_saved_state(localspaces):
            ws = boto3.client("workspaces")
            # --byol-eligible came through --localspaces-arg
            ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.7.0.0/16")
            ws.create_ip_group(GroupName="kept")
            doc = localspaces.export_state()
            localspaces.reset()
            assert ws.describe_ip_groups()["Result"] == []
            localspaces.import_state(doc)
            assert [g["groupName"] for g in ws.describe_ip_groups()["Result"]] == ["kept"]
        """
    )
    run(pytester, "--localspaces-arg=--byol-eligible").assert_outcomes(passed=1)


def test_a_server_that_cannot_start_fails_clearly(pytester):
    pytester.makepyfile(
        """
        def test_x(localspaces):
            pass
        """
    )
    result = run(pytester, "--localspaces-arg=--no-such-option")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*localspaces did not start*"])
