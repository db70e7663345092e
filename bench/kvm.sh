#!/usr/bin/env bash
# Benchmark of the kvm desktop module (not a test): boot to guest-agent-ready p50, idle QEMU
# RSS, stop time, on the small test image (or BOOT=desktop IMAGE=... for the full image).
# Usage: RUNS=5 bash bench/kvm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-target/kvm-test-image}
[ "${BOOT:-}" = desktop ] || bash images/test/build.sh "$IMAGE"
cargo build -q -p localspaces --example kvm_bench
uptime
IMAGE=$IMAGE ./target/debug/examples/kvm_bench
