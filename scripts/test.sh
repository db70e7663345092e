#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and integration tests (including the official
# aws-sdk-workspaces crate against a running server), then boto3 and AWS CLI tests against
# the built binary on both protocols and both store engines. Sets up its Python venv itself.
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

echo "== QEMU and the KVM test image"
# The kvm desktop module's tests (crates/localspaces/tests/kvm.rs) boot real VMs of a small
# image built from Debian packages (images/test/build.sh, cached under target/).
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-img >/dev/null || ! command -v busybox >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-utils busybox-static e2fsprogs
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
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import boto3, pytest, xdist' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
fi

echo "== boto3 / AWS CLI tests"
# Four workers: most tests wait on lifecycle timing (the `fast` profile), not on CPU.
LOCALSPACES_BIN="$PWD/target/debug/localspaces" .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-4}" tests/python "$@"
