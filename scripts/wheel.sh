#!/usr/bin/env bash
# Builds the `localspaces` Python wheel (the server binary + the pytest plugin) for this
# platform into target/wheels/, with maturin (installed into target/wheel-venv).
#
#   scripts/wheel.sh                      # release build (what `pip install` users get)
#   LOCALSPACES_WHEEL_PROFILE=dev scripts/wheel.sh
#                                         # reuse the debug build (CI's smoke test: no second
#                                         # full compile)
#
# Extra arguments go to `maturin build`.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${LOCALSPACES_WHEEL_PROFILE:-release}
venv=target/wheel-venv
if ! "$venv/bin/maturin" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.5,<2"
fi
# The wheel's tag is the platform's; `--compatibility linux` keeps maturin from refusing a
# binary linked against a newer glibc than manylinux allows (a local wheel, not for PyPI).
compat=()
if [ "$profile" = release ]; then compat+=(--strip); fi
if [ "$(uname -s)" = Linux ]; then compat=(--compatibility linux); fi
root=$PWD
(cd python && "$root/$venv/bin/maturin" build --locked --profile "$profile" \
  --out "$root/target/wheels" "${compat[@]}" "$@")
ls -1 target/wheels/localspaces-*.whl
