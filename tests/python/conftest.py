"""Fixtures: localspaces binaries on both store engines, boto3 clients on both protocols.

The binary comes from LOCALSPACES_BIN (scripts/test.sh sets it). Each test acts in its own
random account (an access key of 12 digits is the account id), so session-wide servers are
shared without interference.
"""
import atexit
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import boto3
import botocore.session
import pytest
from botocore.config import Config

REGION = "us-east-1"


def binary():
    path = os.environ.get("LOCALSPACES_BIN")
    if not path or not os.path.exists(path):
        pytest.fail("set LOCALSPACES_BIN to the localspaces binary (scripts/test.sh does)")
    return path


class Server:
    """One localspaces process."""

    def __init__(self, *args, env=None):
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.url = None
        self.stderr = subprocess.DEVNULL

    def start(self):
        self.proc = subprocess.Popen(
            [binary(), "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=self.env,
            text=True,
        )
        deadline = time.time() + 30
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if "listening on" in line or self.proc.poll() is not None:
                break
        assert "listening on http://" in line, f"no ready line, got {line!r}"
        self.url = line.split("listening on ")[1].split()[0]
        return self

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)


def random_account():
    return "".join(random.choice("0123456789") for _ in range(12))


# The tests' scratch directories and files live under one root per test process (each xdist
# worker too), removed when the process exits, after every session fixture has stopped its
# servers (a bare `mkdtemp` is never removed: ~50 were left in /tmp per run).
# The desktop and kvm tests keep their own short paths (Unix socket paths of at most 107
# bytes live in their data directories) and remove them themselves.
_SCRATCH = tempfile.mkdtemp(prefix="ls-t-")
atexit.register(shutil.rmtree, _SCRATCH, True)


def scratch_dir(prefix):
    """A new directory under this process's scratch root."""
    return tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH)


def scratch_file(prefix, suffix=""):
    """A new file under this process's scratch root: `(fd, path)`, as `mkstemp` gives."""
    return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=_SCRATCH)


_cbor_sessions = {}


def _cbor_botocore_session():
    """A botocore session whose WorkSpaces model lists only smithy-rpc-v2-cbor."""
    if "s" not in _cbor_sessions:
        session = botocore.session.get_session()
        loader = session.get_component("data_loader")
        model = copy.deepcopy(loader.load_service_model("workspaces", "service-2"))
        model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
        model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
        root = scratch_dir("ls-cbor-model-")
        d = os.path.join(root, "workspaces", model["metadata"]["apiVersion"])
        os.makedirs(d)
        with open(os.path.join(d, "service-2.json"), "w") as f:
            json.dump(model, f)
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, root)
        _cbor_sessions["s"] = session
    return _cbor_sessions["s"]


def make_client(url, protocol="json", account=None, region=REGION, validate=True, secret="secret", key=None):
    session = boto3.Session(botocore_session=_cbor_botocore_session()) if protocol == "cbor" else boto3.Session()
    return session.client(
        "workspaces",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key or account or random_account(),
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
    )


@pytest.fixture(scope="session")
def servers():
    data = scratch_dir("ls-py-")
    s = {
        "memory": Server("--in-memory").start(),
        "sqlite": Server("--data-dir", data).start(),
    }
    yield s
    for srv in s.values():
        assert srv.stop() == 0


@pytest.fixture(params=["memory", "sqlite"])
def server(request, servers):
    return servers[request.param]


@pytest.fixture(scope="session")
def instant_servers():
    """Both engines with `--timing instant`: end states before the next call."""
    data = scratch_dir("ls-py-instant-")
    s = {
        "memory": Server("--in-memory", "--timing", "instant").start(),
        "sqlite": Server("--data-dir", data, "--timing", "instant").start(),
    }
    yield s
    for srv in s.values():
        assert srv.stop() == 0


@pytest.fixture(params=["memory", "sqlite"])
def instant_server(request, instant_servers):
    return instant_servers[request.param]


@pytest.fixture(params=["json", "cbor"])
def protocol(request):
    return request.param


@pytest.fixture
def account():
    return random_account()


@pytest.fixture
def ws(server, protocol, account):
    """A client for a fresh account, on every engine x protocol."""
    return make_client(server.url, protocol, account)


@pytest.fixture
def raw_ws(server, protocol, account):
    """Like `ws` but without botocore's client-side validation."""
    return make_client(server.url, protocol, account, validate=False)


def error_of(excinfo):
    err = excinfo.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400, err
    assert err["ResponseMetadata"].get("RequestId"), err
    return err["Error"]["Code"], err["Error"].get("Message", "")
