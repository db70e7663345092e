#!/usr/bin/env bash
# Benchmark of --desktops kvm (not a test). By default through the API: CreateWorkspaces ->
# AVAILABLE p50 and idle QEMU RSS (bench/kvm_api.py, on the small test image, one WorkSpace at
# a time). MODULE=1 runs the VM module alone instead (examples/kvm_bench.rs: boot to
# agent-ready, RSS, ACPI stop time; BOOT=desktop IMAGE=... for the full desktop image).
# Usage: RUNS=5 bash bench/kvm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-target/kvm-test-image}
[ "${BOOT:-}" = desktop ] || bash images/test/build.sh "$IMAGE"
uptime
if [ "${MODULE:-}" = 1 ]; then
  cargo build -q -p localspaces --example kvm_bench
  IMAGE=$IMAGE ./target/debug/examples/kvm_bench
  exit
fi
cargo build -q -p localspaces
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q -r tests/python/requirements.txt; }
LOCALSPACES_BIN=${LOCALSPACES_BIN:-$PWD/target/debug/localspaces} IMAGE=$IMAGE .venv/bin/python bench/kvm_api.py
