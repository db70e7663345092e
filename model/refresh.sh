#!/usr/bin/env bash
# Refresh the vendored service models from a pinned botocore release.
# Usage: model/refresh.sh [botocore-version]   (default 1.44.5)
set -euo pipefail
ver=${1:-1.44.5}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps -q -d "$tmp" "botocore==$ver"
(cd "$tmp" && python3 -m zipfile -e botocore-*.whl x >/dev/null)
d="$tmp/x/botocore/data"
python3 "$here/strip.py" "$d/workspaces/2015-04-08/service-2.json.gz" "$here/workspaces/service-2.json"
cp "$d/workspaces/2015-04-08/paginators-1.json" "$here/workspaces/paginators-1.json"
python3 "$here/strip.py" "$d/ds/2015-04-16/service-2.json.gz" "$here/ds/service-2.json"
cp "$d/ds/2015-04-16/paginators-1.json" "$here/ds/paginators-1.json"
echo "botocore $ver" > "$here/VERSION"
echo "refreshed from botocore $ver; now run: cargo run -p localspaces-codegen"
