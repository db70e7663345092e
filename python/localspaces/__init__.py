"""localspaces: an AWS WorkSpaces-compatible service for offline development and CI.

This package ships the `localspaces` binary and a pytest plugin (`localspaces.pytest_plugin`).
`Server` starts the binary on a free port and talks to its admin routes."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Server", "binary_path", "DEFAULT_ACCOUNT", "DEFAULT_REGION"]

#: The account of access keys that are not 12-digit account ids.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


def binary_path():
    """The `localspaces` binary: `$LOCALSPACES_BIN`, else the one this package installed
    (the interpreter's scripts directory), else the first on PATH."""
    env = os.environ.get("LOCALSPACES_BIN")
    if env:
        if not os.path.isfile(env):
            raise FileNotFoundError(f"LOCALSPACES_BIN={env} does not exist")
        return env
    name = "localspaces.exe" if sys.platform == "win32" else "localspaces"
    for scheme in (None, "posix_user" if os.name == "posix" else "nt_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidate = os.path.join(scripts, name)
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError("no localspaces binary: pip install localspaces, or set LOCALSPACES_BIN")


class Server:
    """One localspaces process on 127.0.0.1 and a free port.

    `args` are extra command-line options (e.g. `["--timing", "fast"]`); an `admin_token`
    is given to the server (`--admin-token`) and sent with every admin call."""

    def __init__(self, args=(), binary=None, admin_token=None, startup_timeout=30.0):
        self.binary = binary or binary_path()
        self.args = list(args)
        self.admin_token = admin_token
        self.startup_timeout = startup_timeout
        self.proc = None
        self.url = None
        self._log = None

    def start(self):
        """Starts the server and waits for its ready line."""
        self._log = tempfile.TemporaryFile(mode="w+", prefix="localspaces-", suffix=".log")
        cmd = [self.binary, "--host", "127.0.0.1", "--port", "0", *self.args]
        if self.admin_token:
            cmd += ["--admin-token", self.admin_token]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True)
        line = {}

        def read():
            line["v"] = self.proc.stdout.readline()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        ready = line.get("v", "")
        if "listening on http://" not in ready:
            self.stop()
            raise RuntimeError(f"localspaces did not start ({' '.join(cmd)}): {self.log()}")
        self.url = ready.split("listening on ", 1)[1].split()[0]
        return self

    def log(self):
        """What the server wrote on stderr so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()

    def stop(self, timeout=10.0):
        """Stops the server (SIGTERM, then SIGKILL after `timeout`); returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def admin(self, route, method="POST", body=None, **params):
        """Calls an admin route (`settle`, `reset`, `advance`, …); returns its JSON answer.
        Raises `RuntimeError` on an error status."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.url}/_localspaces/{route}" + (f"?{query}" if query else "")
        headers = {"X-Localspaces-Admin": "1", "Content-Type": "application/json"}
        if self.admin_token:
            headers["X-Localspaces-Admin-Token"] = self.admin_token
        data = body if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{route}: HTTP {e.code}: {e.read().decode(errors='replace')}") from None

    def reset(self, account=DEFAULT_ACCOUNT, region=DEFAULT_REGION):
        """Deletes every resource of one account and Region."""
        return self.admin("reset", account=account, region=region)

    def settle(self):
        """Applies every pending lifecycle transition now."""
        return self.admin("settle")

    def advance(self, seconds):
        """Moves the service clock ahead and applies what became due."""
        return self.admin("advance", seconds=seconds)

    def export_state(self, account=None, region=None):
        """The saved-environment document of the server (optionally one account/Region)."""
        return self.admin("state/export", method="GET", account=account, region=region)

    def import_state(self, document):
        """Imports a saved-environment document (a dict or a path to a JSON file)."""
        if not isinstance(document, dict):
            with open(document, encoding="utf-8") as f:
                document = json.load(f)
        return self.admin("state/import", body=json.dumps(document).encode())
