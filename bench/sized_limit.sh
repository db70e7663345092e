#!/usr/bin/env bash
# The plain hyper "limit" server answering with localspaces' own answer to DescribeWorkspaces
# by one id (the same body bytes, json and cbor), so that a side-by-side run can tell the
# cost of a real answer's size (the kernel's copy and loopback delivery of ~570 instead of
# ~20 body bytes) from the cost of producing it. The shared limit server is copied, not
# changed.
#
#   eval "$(bench/sized_limit.sh)"    # exports LIMIT_DIR and LIMIT_TARGET for bench/ab.sh
#   bench/ab.sh
#
# BIN: the localspaces binary whose answers are taken (default: this tree's release build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/localspaces}
DIR=${SIZED_DIR:-/tmp/localspaces-limit-sized}
TARGET=${SIZED_TARGET:-/tmp/localspaces-limit-sized-target}
PORT=${SIZED_PORT:-4593}

data=$(mktemp -d)
"$BIN" --port "$PORT" --data-dir "$data" --timing instant >"$data/out" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q listening "$data/out" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$PORT"
ws=$(python3 "$HERE/seed_workspaces.py" "$url" us-east-1 100 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace"])')
AUTH="AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))"

# The shared copy may be read-only: the copy is made writable (and removable next time).
[[ ! -d $DIR ]] || chmod -R u+w "$DIR"
rm -rf "$DIR"
cp -r "$ROOT/../shared/bench/limit-server" "$DIR"
chmod -R u+w "$DIR"
curl -sf -X POST "$url/" -H "Authorization: $AUTH" -H "X-Amz-Date: 20260101T000000Z" \
  -H "X-Amz-Target: WorkspacesService.DescribeWorkspaces" -H "Content-Type: application/x-amz-json-1.1" \
  --data-binary "{\"WorkspaceIds\":[\"$ws\"]}" -o "$DIR/src/answer.json"
# {"WorkspaceIds": [id]} in CBOR (the id is shorter than 24 bytes: one-byte heads).
python3 -c 'import sys; i=sys.argv[1].encode(); sys.stdout.buffer.write(bytes([0xa1, 0x6c]) + b"WorkspaceIds" + bytes([0x81, 0x60 + len(i)]) + i)' "$ws" >"$data/req.cbor"
curl -sf -X POST "$url/service/WorkspacesService/operation/DescribeWorkspaces" -H "Authorization: $AUTH" \
  -H "X-Amz-Date: 20260101T000000Z" -H "smithy-protocol: rpc-v2-cbor" -H "Content-Type: application/cbor" \
  -H "Accept: application/cbor" --data-binary @"$data/req.cbor" -o "$DIR/src/answer.cbor"
python3 - "$DIR/src/main.rs" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s, a = re.subn(r'static BODY: &\[u8\] = .*;', 'static BODY: &[u8] = include_bytes!("answer.json");', s)
s, b = re.subn(r'static CBOR_BODY: &\[u8\] = .*;', 'static CBOR_BODY: &[u8] = include_bytes!("answer.cbor");', s)
assert a == 1 and b == 1, "the limit server's bodies were not found"
open(p, "w").write(s)
EOF
(cd "$DIR" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q) >&2
echo "# answers: json $(wc -c <"$DIR/src/answer.json") bytes, cbor $(wc -c <"$DIR/src/answer.cbor") bytes" >&2
echo "export LIMIT_DIR=$DIR LIMIT_TARGET=$TARGET"
