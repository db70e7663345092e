"""A throwaway PostgreSQL cluster for the replica tests: initdb on a temporary directory,
pg_ctl on a free port, stopped and removed at the end (as scripts/pg.sh does for CI)."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile


def bin_dir():
    """The directory of the PostgreSQL server binaries, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    found = shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server with database `localspaces`, trust auth on 127.0.0.1."""

    def __init__(self):
        self.bin = bin_dir()
        self.root = tempfile.mkdtemp(prefix="ls-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        # initdb and postgres refuse to run as root.
        self.runas = []
        if os.geteuid() == 0:
            if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
            shutil.chown(self.root, "postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self):
        return f"postgres://localspaces@127.0.0.1:{self.port}/localspaces"

    def _run(self, *args):
        subprocess.run([*self.runas, *args], check=True, capture_output=True, timeout=60)

    def init(self):
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "localspaces", "--auth=trust", "-E", "UTF8")
        self.start()
        subprocess.run(
            [os.path.join(self.bin, "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "localspaces", "localspaces"],
            check=True,
            capture_output=True,
        )
        return self

    def start(self):
        self._run(
            os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.root, "server.log"),
            "-w", "-t", "30", "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off",
            "start",
        )

    def stop(self, mode="fast"):
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self):
        subprocess.run(
            [*self.runas, os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
