#!/usr/bin/env bash
# Issue 4's benchmarks, in one run, side by side with the plain hyper "limit" server:
#  - DescribeWorkspaces by one id with 100 and with 10,000 WorkSpaces in the account
#    (both protocols), and the limit server on the same requests;
#  - a page of 25 (Limit=25) with 100 and with 100,000 WorkSpaces;
#  - CreateWorkspaces throughput (25 per call, durable commits, 32 connections);
#  - resident memory per WorkSpace after seeding 110,100 of them.
#
#   bench/workspaces.sh            # REPS=3 DURATION=10s CONNS=32
#
# Each population lives in its own Region of the default account (the Region comes from
# the SigV4 scope), seeded by bench/seed_workspaces.py with `--timing instant`. Server(s)
# pinned to CPU 0, wrk (1 thread) to CPU 1; repetitions alternate the order. Writes
# bench/results/<stamp>-workspaces/{results.txt,summary.md,meta.txt}.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REPS=${REPS:-3}; DURATION=${DURATION:-10s}; CONNS=${CONNS:-32}; BIG=${BIG:-100000}
LIMIT_DIR=${LIMIT_DIR:-$ROOT/../shared/bench/limit-server}
LIMIT_PORT=${LIMIT_PORT:-8099}; OURS_PORT=${OURS_PORT:-4598}
STAMP=$(date -u +%Y%m%dT%H%M%SZ); OUT="$HERE/results/$STAMP-workspaces"; mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p localspaces)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIMIT_TARGET=${LIMIT_TARGET:-/tmp/localspaces-limit-target}
(cd "$LIMIT_DIR" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release -q)

DATA=$(mktemp -d)
taskset -c 0 "$LIMIT_TARGET/release/limit-server" "127.0.0.1:$LIMIT_PORT" >/dev/null 2>&1 &
LIMIT_PID=$!
taskset -c 0 "$TARGET_DIR/release/localspaces" --port "$OURS_PORT" --data-dir "$DATA" \
  --timing instant --quota workspaces=1000000 >"$OUT/ours.out" 2>/dev/null &
OURS_PID=$!
trap 'kill $LIMIT_PID $OURS_PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do grep -q listening "$OUT/ours.out" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$OURS_PORT"
rss() { awk '/VmRSS/{print $2}' "/proc/$OURS_PID/status"; }

{ echo "date=$STAMP reps=$REPS duration=$DURATION conns=$CONNS big=$BIG"; uname -a; nproc; git -C "$ROOT" rev-parse HEAD; } >"$OUT/meta.txt"
RSS0=$(rss)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
S100=$(python3 "$HERE/seed_workspaces.py" "$URL" us-east-1 100)
S10K=$(python3 "$HERE/seed_workspaces.py" "$URL" us-west-2 10000)
SBIG=$(python3 "$HERE/seed_workspaces.py" "$URL" eu-west-1 "$BIG")
RSS1=$(rss)
{
  echo "seed 100: $S100"; echo "seed 10000: $S10K"; echo "seed $BIG: $SBIG"
  echo "rss_before_kib=$RSS0 rss_after_kib=$RSS1 workspaces=$((100 + 10000 + BIG))"
  awk -v a="$RSS0" -v b="$RSS1" -v n=$((100 + 10000 + BIG)) 'BEGIN{printf "rss_per_workspace_bytes=%.0f\n", (b-a)*1024/n}'
  echo "db_bytes=$(du -b "$DATA/localspaces.db" | cut -f1)"
} | tee -a "$OUT/meta.txt"

run() { # label url pid proto scenario region [extra env...]
  local label=$1 url=$2 pid=$3 proto=$4 sc=$5 region=$6; shift 6
  local t0 t1 s0 s1 res n
  s0=$(awk '{print $14+$15}' "/proc/$pid/stat"); t0=$(date +%s.%N)
  res=$(env "$@" LABEL="$label" PROTO="$proto" SCENARIO="$sc" REGION="$region" \
    taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s "$HERE/workspaces.lua" "$url" | grep '^RESULT')
  s1=$(awk '{print $14+$15}' "/proc/$pid/stat"); t1=$(date +%s.%N)
  n=$(grep -o ' requests=[0-9]*' <<<"$res" | cut -d= -f2)
  awk -v r="$res" -v s=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" -v t="$(echo "$t1 - $t0" | bc)" -v n="$n" -v c="$CONNS" -v d="$DURATION" \
    'BEGIN{ printf "%s conns=%s threads=1 duration=%s server_cpu_util=%.2f server_cpu_us_per_req=%.1f\n", r, c, d, s/hz/t, n ? s/hz*1e6/n : 0 }'
}
WS100=$(field "$S100" workspace); WS10K=$(field "$S10K" workspace)
LIM="http://127.0.0.1:$LIMIT_PORT"
for rep in $(seq "$REPS"); do
  for proto in json cbor; do
    if (( rep % 2 )); then order="limit ws100 ws10k"; else order="ws10k ws100 limit"; fi
    for who in $order; do
      case $who in
        limit) run limit "$LIM" $LIMIT_PID $proto describe_one us-east-1 WS_ID="$WS100" ;;
        ws100) run ws100 "$URL" $OURS_PID $proto describe_one us-east-1 WS_ID="$WS100" ;;
        ws10k) run ws10k "$URL" $OURS_PID $proto describe_one us-west-2 WS_ID="$WS10K" ;;
      esac
    done
  done
  if (( rep % 2 )); then order="page100 pagebig"; else order="pagebig page100"; fi
  for who in $order; do
    case $who in
      page100) run page100 "$URL" $OURS_PID json describe_page us-east-1 ;;
      pagebig) run "page$BIG" "$URL" $OURS_PID json describe_page eu-west-1 ;;
    esac
  done
done | tee "$OUT/results.txt"

# CreateWorkspaces throughput in a fresh Region (its own directory), 25 users per call.
SC=$(python3 "$HERE/seed_workspaces.py" "$URL" ap-south-1 0)
run create "$URL" $OURS_PID json create_workspaces ap-south-1 \
  DIR_ID="$(field "$SC" directory)" BUNDLE_ID="$(field "$SC" bundle)" RUN="r$STAMP" | tee -a "$OUT/results.txt"
python3 "$HERE/summarize.py" "$OUT/results.txt" | tee "$OUT/summary.md"
echo "resident memory at the end: $(rss) KiB" | tee -a "$OUT/meta.txt"
