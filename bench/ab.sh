#!/usr/bin/env bash
# The two read paths of the encode/SigV4 work, side by side with the plain hyper "limit"
# server, on both protocols: DescribeWorkspaces by one id (`describe_one`, 100 WorkSpaces in
# the account) and DescribeIpGroups by one id (`ipgroup_one`).
#
#   bench/ab.sh                                  # limit vs this tree's release build
#   BEFORE_BIN=/path/to/old/localspaces bench/ab.sh   # adds an older build in the same run
#
# REPS=3 DURATION=10s CONNS=32 by default. Every server is pinned to CPU 0, wrk (1 thread)
# to CPU 1; repetitions rotate the order. CPU µs per request comes from /proc/<pid>/stat.
# The summary also pairs each server's CPU per request with the limit server's in the same
# repetition (seconds apart): on a shared host whose speed drifts, the median of those
# paired ratios moves less than the ratio of medians. Many short repetitions (REPS=10
# DURATION=3s) pair closest.
# Writes bench/results/<stamp>-ab/{results.txt,summary.md,meta.txt}.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REPS=${REPS:-3}; DURATION=${DURATION:-10s}; CONNS=${CONNS:-32}
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit-server}
LIMIT_PORT=${LIMIT_PORT:-8099}; AFTER_PORT=${AFTER_PORT:-4598}; BEFORE_PORT=${BEFORE_PORT:-4597}
STAMP=$(date -u +%Y%m%dT%H%M%SZ); OUT="$HERE/results/$STAMP-ab"; mkdir -p "$OUT"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
AFTER_BIN=${AFTER_BIN:-$TARGET_DIR/release/localspaces}
[[ -n ${AFTER_BIN_PREBUILT:-} ]] || (cd "$ROOT" && cargo build --release -q -p localspaces)
LIMIT_TARGET=${LIMIT_TARGET:-/tmp/localspaces-limit-target}
(cd "$LIMIT_DIR" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release -q)

PIDS=(); DIRS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "${DIRS[@]}"; }
trap cleanup EXIT
taskset -c 0 "$LIMIT_TARGET/release/limit-server" "127.0.0.1:$LIMIT_PORT" >/dev/null 2>&1 &
LIMIT_PID=$!; PIDS+=("$LIMIT_PID")

start() { # bin port label -> sets STARTED_PID
  local d; d=$(mktemp -d); DIRS+=("$d")
  taskset -c 0 "$1" --port "$2" --data-dir "$d" --timing instant >"$OUT/$3.out" 2>/dev/null &
  STARTED_PID=$!; PIDS+=("$STARTED_PID")
  for _ in $(seq 100); do grep -q listening "$OUT/$3.out" 2>/dev/null && return; sleep 0.1; done
  echo "$3 did not start" >&2; exit 1
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
AUTH="AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))"
seed() { # port -> "WS_ID IPG_ID"
  local url="http://127.0.0.1:$1" s ipg
  s=$(python3 "$HERE/seed_workspaces.py" "$url" us-east-1 100)
  ipg=$(curl -sf -X POST "$url/" -H "Authorization: $AUTH" -H "X-Amz-Date: 20260101T000000Z" \
    -H "X-Amz-Target: WorkspacesService.CreateIpGroup" -H "Content-Type: application/x-amz-json-1.1" \
    --data-binary '{"GroupName":"bench","GroupDesc":"benchmark group","UserRules":[{"ipRule":"10.0.0.0/16","ruleDesc":"office"}],"Tags":[{"Key":"k","Value":"v"}]}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["GroupId"])')
  echo "$(field "$s" workspace) $ipg"
}

start "$AFTER_BIN" "$AFTER_PORT" after; AFTER_PID=$STARTED_PID
read -r AFTER_WS AFTER_IPG <<<"$(seed "$AFTER_PORT")"
WHO="limit after"
if [[ -n ${BEFORE_BIN:-} ]]; then
  start "$BEFORE_BIN" "$BEFORE_PORT" before; BEFORE_PID=$STARTED_PID
  read -r BEFORE_WS BEFORE_IPG <<<"$(seed "$BEFORE_PORT")"
  WHO="limit before after"
fi
{
  echo "date=$STAMP reps=$REPS duration=$DURATION conns=$CONNS"
  echo "after=$AFTER_BIN before=${BEFORE_BIN:-}"
  uname -a; nproc; git -C "$ROOT" rev-parse HEAD; uptime
} >"$OUT/meta.txt"

run() { # label url pid proto scenario [env...]
  local label=$1 url=$2 pid=$3 proto=$4 sc=$5; shift 5
  local t0 t1 s0 s1 u0 u1 res n
  read -r u0 s0 < <(awk '{print $14, $14+$15}' "/proc/$pid/stat"); t0=$(date +%s.%N)
  res=$(env "$@" LABEL="$label" PROTO="$proto" SCENARIO="$sc" \
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$HERE/workspaces.lua" "$url" | grep '^RESULT')
  read -r u1 s1 < <(awk '{print $14, $14+$15}' "/proc/$pid/stat"); t1=$(date +%s.%N)
  n=$(grep -o ' requests=[0-9]*' <<<"$res" | cut -d= -f2)
  awk -v r="$res" -v s=$((s1 - s0)) -v u=$((u1 - u0)) -v hz="$(getconf CLK_TCK)" -v t="$(echo "$t1 - $t0" | bc)" -v n="$n" -v c="$CONNS" -v d="$DURATION" \
    -v rep="$rep" \
    'BEGIN{ printf "%s conns=%s threads=1 duration=%s rep=%s server_cpu_util=%.2f server_cpu_us_per_req=%.1f server_user_us_per_req=%.1f\n", r, c, d, rep, s/hz/t, n ? s/hz*1e6/n : 0, n ? u/hz*1e6/n : 0 }'
}
for rep in $(seq "$REPS"); do
  # Rotate the order so that no server always runs first.
  read -ra order <<<"$WHO"
  order=("${order[@]:rep % ${#order[@]}}" "${order[@]:0:rep % ${#order[@]}}")
  for proto in json cbor; do
    for sc in describe_one ipgroup_one; do
      for who in "${order[@]}"; do
        case $who in
          limit) run limit "http://127.0.0.1:$LIMIT_PORT" "$LIMIT_PID" "$proto" "$sc" ;;
          after) run after "http://127.0.0.1:$AFTER_PORT" "$AFTER_PID" "$proto" "$sc" WS_ID="$AFTER_WS" IPG_ID="$AFTER_IPG" ;;
          before) run before "http://127.0.0.1:$BEFORE_PORT" "$BEFORE_PID" "$proto" "$sc" WS_ID="$BEFORE_WS" IPG_ID="$BEFORE_IPG" ;;
        esac
      done
    done
  done
done | tee "$OUT/results.txt"
python3 "$HERE/summarize.py" "$OUT/results.txt" | tee "$OUT/summary.md"
