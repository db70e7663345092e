#!/usr/bin/env bash
# User-space instructions per request for DescribeWorkspaces by one id (`describe_one`, 100
# WorkSpaces in the account), json and cbor, under callgrind: a count that does not depend on
# how loaded the machine is (CPU time does), so that small changes can be compared anywhere.
#
#   bench/instructions.sh [BIN...]      # default: this tree's release build
#   LIMIT=1 bench/instructions.sh BIN   # also the plain hyper "limit" server
#
# Each server runs under `valgrind --tool=callgrind` pinned to CPU 0, is seeded and warmed up,
# its counters are zeroed, then wrk (1 thread, 8 connections) runs on CPU 1 for DURATION per
# protocol and the counters are dumped. Prints "<bin> <proto> <requests> <Ir/request>".
# The dumps stay in OUT (callgrind_annotate them to see where the instructions go).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DURATION=${DURATION:-6s}; PORT=${PORT:-4596}
OUT=${OUT:-$(mktemp -d /tmp/ls-instructions.XXXX)}; mkdir -p "$OUT"
BINS=("$@"); [[ ${#BINS[@]} -gt 0 ]] || BINS=("${CARGO_TARGET_DIR:-$ROOT/target}/release/localspaces")
AUTH="AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))"

PID=
cleanup() { [[ -z $PID ]] || kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT

measure() { # label url ws_id
  local label=$1 url=$2 ws=$3 proto n ir
  for proto in json cbor; do
    # Warm up (caches, connection set-up) outside the measured window.
    WS_ID=$ws PROTO=$proto SCENARIO=describe_one taskset -c 1 wrk -t1 -c8 -d2s -s "$HERE/workspaces.lua" "$url" >/dev/null
    callgrind_control -z "$PID" >/dev/null 2>&1
    n=$(WS_ID=$ws PROTO=$proto SCENARIO=describe_one LABEL=$label taskset -c 1 \
      wrk -t1 -c8 -d"$DURATION" -s "$HERE/workspaces.lua" "$url" | grep -o ' requests=[0-9]*' | cut -d= -f2)
    callgrind_control -d "$label-$proto" "$PID" >/dev/null 2>&1
    sleep 0.5
    ir=$(ls -t "$OUT"/cg.*."$PID".* | head -1 | xargs awk '/^summary:/{s+=$2} /^totals:/{t+=$2} END{print (s ? s : t)}')
    printf '%s %s requests=%s Ir/req=%.0f\n' "$label" "$proto" "$n" "$(echo "$ir / $n" | bc -l)"
  done
}

if [[ -n ${LIMIT:-} ]]; then
  LIMIT_TARGET=${LIMIT_TARGET:-/tmp/localspaces-limit-target}
  (cd "$ROOT/../shared/bench/limit-server" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release -q)
  taskset -c 0 valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$OUT/cg.limit.%p" \
    "$LIMIT_TARGET/release/limit-server" "127.0.0.1:$PORT" >/dev/null 2>&1 &
  PID=$!; sleep 3
  measure limit "http://127.0.0.1:$PORT" ws-000000000
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
fi

i=0
for bin in "${BINS[@]}"; do
  i=$((i + 1)); d=$(mktemp -d)
  taskset -c 0 valgrind --tool=callgrind --compress-strings=no --compress-pos=no --callgrind-out-file="$OUT/cg.ls$i.%p" \
    "$bin" --port "$PORT" --data-dir "$d" --timing instant >"$OUT/ls$i.out" 2>&1 &
  PID=$!
  for _ in $(seq 300); do grep -q listening "$OUT/ls$i.out" 2>/dev/null && break; sleep 0.1; done
  ws=$(python3 "$HERE/seed_workspaces.py" "http://127.0.0.1:$PORT" us-east-1 100 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace"])')
  measure "ls$i" "http://127.0.0.1:$PORT" "$ws"
  echo "ls$i = $bin"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; rm -rf "$d"
done
echo "dumps: $OUT"
