#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and integration tests (including the official
# aws-sdk-workspaces crate against a running server), then boto3 and AWS CLI tests against
# the built binary on both protocols and both store engines, and replicas on a throwaway
# PostgreSQL. Sets up its Python venv itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

echo "== browser for the console tests"
# The web console's tests drive Debian's headless Chromium through chromedriver.
if ! command -v chromedriver >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver
  else
    echo "chromedriver is missing: install Debian's chromium and chromium-driver (or set LOCALSPACES_SKIP_BROWSER=1)" >&2
  fi
fi

echo "== desktop packages for the --desktops local tests"
# tests/python/test_desktops.py runs real desktops: bubblewrap, TigerVNC's Xvnc, openbox,
# xterm, pcmanfm, xdotool (LOCALSPACES_SKIP_DESKTOPS=1 skips those tests instead).
if [ "${LOCALSPACES_SKIP_DESKTOPS:-}" != 1 ] && ! { command -v Xvnc && command -v bwrap && command -v openbox \
    && command -v xterm && command -v pcmanfm && command -v xdotool; } >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends tigervnc-standalone-server \
      bubblewrap openbox xterm pcmanfm xdotool
  else
    echo "desktop packages are missing: apt-get install tigervnc-standalone-server bubblewrap openbox xterm pcmanfm xdotool (or set LOCALSPACES_SKIP_DESKTOPS=1)" >&2
  fi
fi

echo "== PostgreSQL (the store suite's Postgres engine, replica tests)"
# A throwaway server on a temporary directory and a free port, removed at exit (also on
# failure); installs Debian's postgresql when the server binaries are missing (as root).
source scripts/pg.sh
if pg_start; then
  trap pg_stop EXIT
elif [ "${CI:-}" = true ]; then
  echo "CI needs PostgreSQL for the store suite" >&2; exit 1
else
  echo "no PostgreSQL: the store suite's Postgres cases and the replica tests are skipped" >&2
fi

echo "== QEMU and the KVM test image"
# The kvm desktop module's tests (crates/localspaces/tests/kvm.rs) boot real VMs of a small
# image built from Debian packages (images/test/build.sh, cached under target/).
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-img >/dev/null || ! command -v busybox >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    if ! apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-utils busybox-static e2fsprogs; then
      # An image may carry qemu-utils from <codename>-backports, which Breaks the release's
      # own qemu-system: take QEMU from the suite that qemu-utils came from.
      codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
      if [ -n "$codename" ] && dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q '~bpo'; then
        echo "deb http://deb.debian.org/debian ${codename}-backports main" >/etc/apt/sources.list.d/localspaces-backports.list
        apt-get update -qq || true
        apt-get install -y -qq --no-install-recommends -t "${codename}-backports" qemu-system-x86 qemu-utils ||
          echo "QEMU could not be installed from ${codename}-backports (the kvm tests skip)" >&2
        apt-get install -y -qq --no-install-recommends busybox-static e2fsprogs || true
      else
        echo "QEMU could not be installed (the kvm tests skip)" >&2
      fi
    fi
  else
    echo "QEMU is missing: install Debian's qemu-system-x86, qemu-utils and busybox-static (the kvm tests skip otherwise)" >&2
  fi
fi
if command -v qemu-img >/dev/null && command -v busybox >/dev/null; then
  bash images/test/build.sh target/kvm-test-image || echo "the KVM test image did not build (the kvm tests skip)" >&2
fi

echo "== cargo test"
cargo build --locked -p localspaces
cargo test --locked --workspace

echo "== python venv"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import boto3, pytest, xdist, websocket' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
fi

echo "== wheel: build, install into a fresh venv, plugin tests"
# The wheel packages the debug build (LOCALSPACES_WHEEL_PROFILE=dev: only the binary is
# relinked, no second full compile); users' wheels come from `scripts/wheel.sh` (release).
rm -f target/wheels/localspaces-*.whl
LOCALSPACES_WHEEL_PROFILE=dev bash scripts/wheel.sh >/dev/null
rm -rf target/wheel-smoke-venv
python3 -m venv target/wheel-smoke-venv
target/wheel-smoke-venv/bin/pip install -q --disable-pip-version-check target/wheels/localspaces-*.whl \
  "$(grep '^boto3==' tests/python/requirements.txt)" "$(grep '^pytest==' tests/python/requirements.txt)"
# No LOCALSPACES_BIN and no source tree on the path: the installed binary and entry point.
(cd target && env -u LOCALSPACES_BIN -u PYTHONPATH wheel-smoke-venv/bin/python -m pytest -q \
  -p no:cacheprovider ../python/tests)

echo "== boto3 / AWS CLI tests"
# Four workers: most tests wait on lifecycle timing (the `fast` profile), not on CPU.
LOCALSPACES_BIN="$PWD/target/debug/localspaces" .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-4}" tests/python "$@"
