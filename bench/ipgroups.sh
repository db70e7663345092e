#!/usr/bin/env bash
# DescribeIpGroups with one group id, side by side with the plain hyper "limit" server,
# on both protocols, in one run (issue 3's benchmark).
#
#   bench/ipgroups.sh            # REPS=3 DURATION=10s CONNS=32
#
# Server(s) pinned to CPU 0, wrk (1 thread) to CPU 1; repetitions alternate which server
# goes first. Needs wrk (apt-get install wrk) and the limit server from the shared harness
# (LIMIT_DIR, default ../shared/bench/limit-server; it is built here in release mode).
# Writes bench/results/<stamp>-ipgroups/{results.txt,summary.md}.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REPS=${REPS:-3}; DURATION=${DURATION:-10s}; CONNS=${CONNS:-32}
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit-server}
LIMIT_PORT=${LIMIT_PORT:-8099}; OURS_PORT=${OURS_PORT:-4598}
STAMP=$(date -u +%Y%m%dT%H%M%SZ); OUT="$HERE/results/$STAMP-ipgroups"; mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p localspaces)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIMIT_TARGET=${LIMIT_TARGET:-/tmp/localspaces-limit-target}
(cd "$LIMIT_DIR" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release -q)

DATA=$(mktemp -d)
taskset -c 0 "$LIMIT_TARGET/release/limit-server" "127.0.0.1:$LIMIT_PORT" >/dev/null 2>&1 &
LIMIT_PID=$!
taskset -c 0 "$TARGET_DIR/release/localspaces" --port "$OURS_PORT" --data-dir "$DATA" \
  >"$OUT/ours.out" 2>/dev/null &
OURS_PID=$!
trap 'kill $LIMIT_PID $OURS_PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do grep -q listening "$OUT/ours.out" 2>/dev/null && break; sleep 0.1; done

AUTH="AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))"
IPG_ID=$(curl -sf -X POST "http://127.0.0.1:$OURS_PORT/" -H "Authorization: $AUTH" -H "X-Amz-Date: 20260101T000000Z" \
  -H "X-Amz-Target: WorkspacesService.CreateIpGroup" -H "Content-Type: application/x-amz-json-1.1" \
  --data-binary '{"GroupName":"bench","GroupDesc":"benchmark group","UserRules":[{"ipRule":"10.0.0.0/16","ruleDesc":"office"}],"Tags":[{"Key":"k","Value":"v"}]}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["GroupId"])')
export IPG_ID SCENARIO=ipgroup_one
echo "seeded $IPG_ID" | tee "$OUT/meta.txt"
{ echo "date=$STAMP reps=$REPS duration=$DURATION conns=$CONNS"; uname -a; nproc; git -C "$ROOT" rev-parse HEAD; } >>"$OUT/meta.txt"

run() { # label url pid proto
  local t0 t1 s0 s1 res n
  s0=$(awk '{print $14+$15}' "/proc/$3/stat"); t0=$(date +%s.%N)
  res=$(LABEL=$1 PROTO=$4 taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$HERE/workspaces.lua" "$2" | grep '^RESULT')
  s1=$(awk '{print $14+$15}' "/proc/$3/stat"); t1=$(date +%s.%N)
  n=$(grep -o ' requests=[0-9]*' <<<"$res" | cut -d= -f2)
  awk -v r="$res" -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" -v t="$(echo "$t1 - $t0" | bc)" -v n="$n" -v c="$CONNS" -v d="$DURATION" \
    'BEGIN{ printf "%s conns=%s threads=1 duration=%s server_cpu_util=%.2f server_cpu_us_per_req=%.1f\n", r, c, d, s/hz/t, n ? s/hz*1e6/n : 0 }'
}
for rep in $(seq "$REPS"); do
  for proto in json cbor; do
    if (( rep % 2 )); then order="limit ours"; else order="ours limit"; fi
    for who in $order; do
      if [[ $who == limit ]]; then run limit "http://127.0.0.1:$LIMIT_PORT" $LIMIT_PID $proto
      else run localspaces "http://127.0.0.1:$OURS_PORT" $OURS_PID $proto; fi
    done
  done
done | tee "$OUT/results.txt"
python3 "$HERE/summarize.py" "$OUT/results.txt" | tee "$OUT/summary.md"
echo "resident memory of localspaces: $(awk '/VmRSS/{print $2, $3}' /proc/$OURS_PID/status)" | tee -a "$OUT/meta.txt"
