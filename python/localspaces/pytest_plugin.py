"""pytest plugin: a localspaces server for the test session.

Fixtures:
- `localspaces` (session): starts `localspaces --in-memory --timing instant` on a free port,
  points boto3 / the AWS CLI at it through `AWS_ENDPOINT_URL_WORKSPACES` and
  `AWS_ENDPOINT_URL_DIRECTORY_SERVICE` with dummy credentials and Region, and stops it at the
  end (the environment is restored). Yields a `localspaces.Server` (`.url`, `.reset()`,
  `.settle()`, `.advance(s)`, `.export_state()`, `.import_state(doc)`).
- `localspaces_reset` (function): the same server, emptied (the default account and Region)
  after the test.

Options: `--localspaces` (every test gets the fixture, so an unchanged boto3 suite runs
against localspaces), `--localspaces-timing`, `--localspaces-auth`, `--localspaces-desktops`,
`--localspaces-arg` (any other server option); `LOCALSPACES_BIN` names a binary to use
instead of the packaged one."""
import os
import secrets

import pytest

from . import DEFAULT_ACCOUNT, DEFAULT_REGION, Server, binary_path

#: Credentials the fixture sets (strict mode configures the server with them).
ACCESS_KEY = "test"
SECRET_KEY = "test"


def pytest_addoption(parser):
    group = parser.getgroup("localspaces", "localspaces (AWS WorkSpaces emulator)")
    group.addoption(
        "--localspaces", action="store_true", default=False,
        help="run every test against a localspaces server (the `localspaces` fixture for all)",
    )
    group.addoption(
        "--localspaces-timing", default=os.environ.get("LOCALSPACES_TEST_TIMING", "instant"),
        help="lifecycle timing of the server: instant (default), fast, realistic, or with overrides",
    )
    group.addoption(
        "--localspaces-auth", default="open", choices=["open", "strict"],
        help="open (any signature, default) or strict (SigV4 verified against the fixture's key)",
    )
    group.addoption(
        "--localspaces-desktops", default=None,
        help="the server's --desktops mode (real desktops behind WorkSpaces; needs a binary with it)",
    )
    group.addoption(
        "--localspaces-arg", action="append", default=[],
        help="one more server option, e.g. --localspaces-arg=--byol-eligible (repeatable)",
    )


def _server_args(config):
    args = ["--in-memory", "--timing", config.getoption("localspaces_timing")]
    auth = config.getoption("localspaces_auth")
    args += ["--auth", auth]
    if auth == "strict":
        args += ["--credentials", f"{ACCESS_KEY}:{SECRET_KEY}"]
    desktops = config.getoption("localspaces_desktops")
    if desktops:
        args += ["--desktops", desktops]
    return args + list(config.getoption("localspaces_arg"))


def _client_environment(url):
    return {
        "AWS_ENDPOINT_URL_WORKSPACES": url,
        "AWS_ENDPOINT_URL_DIRECTORY_SERVICE": url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
        "AWS_REGION": DEFAULT_REGION,
    }


# Variables that would send calls elsewhere or sign them as someone else.
_CLEARED = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL")


@pytest.fixture(scope="session")
def localspaces(request):
    """A localspaces server for the session, with the AWS environment pointing at it."""
    config = request.config
    server = Server(_server_args(config), binary=binary_path(), admin_token=secrets.token_hex(16))
    server.start()
    mp = pytest.MonkeyPatch()
    try:
        for name in _CLEARED:
            mp.delenv(name, raising=False)
        for name, value in _client_environment(server.url).items():
            mp.setenv(name, value)
        yield server
    finally:
        mp.undo()
        server.stop()


@pytest.fixture
def localspaces_reset(localspaces):
    """The session's server; the default account and Region are emptied after the test."""
    yield localspaces
    localspaces.reset(DEFAULT_ACCOUNT, DEFAULT_REGION)


@pytest.fixture(autouse=True)
def _localspaces_everywhere(request):
    """With `--localspaces`, every test runs with the server's environment."""
    if request.config.getoption("localspaces"):
        request.getfixturevalue("localspaces")
    yield
