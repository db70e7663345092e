#!/usr/bin/env bash
# Issue 16's benchmark, in one run: DescribeWorkspaces by one id and CreateTags (an upsert
# of one tag) on
#  - sqlite: one server on the embedded SQLite store (the default, durable);
#  - pg1:    one replica on PostgreSQL (`--store-url`);
#  - pg2:    two replicas on the same database, each driven by its own wrk (half the
#            connections each; req/s summed, p99 the worse of the two).
#
#   bench/postgres.sh              # REPS=3 DURATION=8s CONNS=32
#   ONLY=create_tags PG_PROFILE=1 bench/postgres.sh   # one scenario, per-statement costs
#   PG_OPTS="-c synchronous_commit=off" bench/postgres.sh   # how much is the commit's fsync
#   LOCALSPACES_BIN=/tmp/before bench/postgres.sh   # a given binary, no build
#
# Servers and PostgreSQL pinned to CPU 0, wrk to CPU 1; PostgreSQL runs with fsync on (as
# SQLite's synchronous=FULL). CPU per request is given for localspaces alone and for
# PostgreSQL (every postgres process's CPU time in the interval, backends that exited
# included), and per request the WAL PostgreSQL wrote (bytes, records) and its WAL syncs
# (count and time). PG_PROFILE=1 loads pg_stat_statements (nested statements too) and
# writes each PostgreSQL run's statements, per request, to pgstat-<label>-<scenario>-<rep>.txt.
# Writes bench/results/<stamp>-postgres/{results.txt,summary.md,meta.txt}.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
REPS=${REPS:-3}; DURATION=${DURATION:-8s}; CONNS=${CONNS:-32}
ONLY=${ONLY:-describe_one create_tags}; PG_PROFILE=${PG_PROFILE:-0}
BASE_PORT=${BASE_PORT:-4590}
STAMP=$(date -u +%Y%m%dT%H%M%SZ); OUT="$HERE/results/$STAMP-postgres"; mkdir -p "$OUT"

# LOCALSPACES_BIN: a binary to measure instead of a fresh release build (before/after).
if [ -n "${LOCALSPACES_BIN:-}" ]; then BIN=$LOCALSPACES_BIN; else
  (cd "$ROOT" && cargo build --release -q -p localspaces)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/localspaces
fi

# shellcheck source=../scripts/pg.sh
source "$ROOT/scripts/pg.sh"
if [ "$PG_PROFILE" = 1 ]; then
  PG_OPTS="${PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
fi
PG_FSYNC=on PG_OPTS="${PG_OPTS:-} -c track_wal_io_timing=on" pg_start
PSQL=("$PG_BIN/psql" -X -q -At "$LOCALSPACES_TEST_PG_URL")
if [ "$PG_PROFILE" = 1 ]; then "${PSQL[@]}" -c "CREATE EXTENSION pg_stat_statements"; fi
DATA=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pg_stop; rm -rf "$DATA"; }
trap cleanup EXIT
taskset -pc 0 "$(head -1 "$PG_DATA/postmaster.pid")" >/dev/null
for p in $(pgrep -P "$(head -1 "$PG_DATA/postmaster.pid")"); do taskset -pc 0 "$p" >/dev/null; done

start() { # name port args...
  local name=$1 port=$2; shift 2
  taskset -c 0 "$BIN" --port "$port" --timing instant --quota workspaces=100000 "$@" >"$OUT/$name.out" 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 200); do grep -q listening "$OUT/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start" >&2; exit 1
}
start sqlite "$BASE_PORT" --data-dir "$DATA"; SQLITE_PID=${PIDS[-1]}
start pg_a $((BASE_PORT + 1)) --store-url "$LOCALSPACES_TEST_PG_URL"; PG_A=${PIDS[-1]}
start pg_b $((BASE_PORT + 2)) --store-url "$LOCALSPACES_TEST_PG_URL"; PG_B=${PIDS[-1]}
URL_SQLITE="http://127.0.0.1:$BASE_PORT"; URL_A="http://127.0.0.1:$((BASE_PORT + 1))"; URL_B="http://127.0.0.1:$((BASE_PORT + 2))"

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
SEED_SQLITE=$(python3 "$HERE/seed_workspaces.py" "$URL_SQLITE" us-east-1 100)
SEED_PG=$(python3 "$HERE/seed_workspaces.py" "$URL_A" us-east-1 100)
WS_SQLITE=$(field "$SEED_SQLITE" workspace); WS_PG=$(field "$SEED_PG" workspace)
{ echo "date=$STAMP reps=$REPS duration=$DURATION conns=$CONNS bin=$BIN"; uname -a; nproc; git -C "$ROOT" rev-parse HEAD; uptime
  "$PG_BIN/postgres" --version; echo "pg options: ${PG_OPTS:-}"; echo "seed sqlite: $SEED_SQLITE"
  echo "seed pg: $SEED_PG"; } >"$OUT/meta.txt"

cpu() { # CPU ticks of the given pids, each counted once (gone ones count 0): utime+stime
  # and those of their exited children (the postmaster's: backends that ended)
  local t=0 p
  for p in $(printf '%s\n' "$@" | sort -u); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat")))
  done
  echo "$t"
}
pg_pids() { local pm; pm=$(head -1 "$PG_DATA/postmaster.pid"); echo "$pm" $(pgrep -P "$pm"); }
wal() { "${PSQL[@]}" -F' ' -c "SELECT wal_bytes, wal_records, wal_sync, wal_sync_time FROM pg_stat_wal"; }

run() { # label scenario ws_id pids_of_servers -- url...
  local label=$1 sc=$2 ws=$3; shift 3
  local servers=() urls=()
  while [ "$1" != -- ]; do servers+=("$1"); shift; done; shift; urls=("$@")
  local n=${#urls[@]} conns=$((CONNS / ${#urls[@]})) pgp s0 p0 s1 p1 t0 t1 outs=() i
  local w0 w1 pg=0
  case $label in pg*) pg=1 ;; esac
  if (( pg && PG_PROFILE )); then "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null; fi
  w0=$(wal)
  pgp=$(pg_pids)
  s0=$(cpu "${servers[@]}"); p0=$(cpu $pgp); t0=$(date +%s.%N)
  for i in "${!urls[@]}"; do
    outs+=("$(mktemp)")
    LABEL="$label" PROTO=json SCENARIO="$sc" REGION=us-east-1 WS_ID="$ws" \
      taskset -c 1 wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$HERE/workspaces.lua" "${urls[$i]}" \
      | grep '^RESULT' >"${outs[$i]}" &
  done
  wait $(jobs -p | tail -n "$n")
  s1=$(cpu "${servers[@]}"); p1=$(cpu $pgp $(pg_pids)); t1=$(date +%s.%N)
  w1=$(wal)
  python3 - "$label" "$sc" "$((s1 - s0))" "$((p1 - p0))" "$(getconf CLK_TCK)" "$(echo "$t1 - $t0" | bc)" "$CONNS" "$DURATION" "$w0" "$w1" "$(cut -d' ' -f1 /proc/loadavg)" "${outs[@]}" <<'EOF'
import sys
label, sc, s, p, hz, t, conns, dur, w0, w1, load, *files = sys.argv[1:]
s, p, hz, t = int(s), int(p), int(hz), float(t)
wal = [float(b) - float(a) for a, b in zip(w0.split(), w1.split())]
rows = []
for f in files:
    line = open(f).read().split()
    rows.append({k: v for k, v in (x.split("=", 1) for x in line[1:] if "=" in x)})
req = sum(int(r["requests"]) for r in rows)
rps = sum(float(r["rps"]) for r in rows)
err = sum(int(r["errors"]) for r in rows)
worst = lambda k: max(float(r[k]) for r in rows)
print(f"RESULT label={label} scenario={sc} proto=json rps={rps:.1f} p50_ms={worst('p50_ms'):.3f} "
      f"p90_ms={worst('p90_ms'):.3f} p99_ms={worst('p99_ms'):.3f} p999_ms={worst('p999_ms'):.3f} "
      f"max_ms={worst('max_ms'):.3f} requests={req} errors={err} "
      f"status_errors={sum(int(r['status_errors']) for r in rows)} timeouts={sum(int(r['timeouts']) for r in rows)} conns={conns} threads={len(rows)} duration={dur} "
      f"server_cpu_util={s / hz / t:.2f} server_cpu_us_per_req={s / hz * 1e6 / max(req, 1):.1f} "
      f"db_cpu_us_per_req={p / hz * 1e6 / max(req, 1):.1f} total_cpu_us_per_req={(s + p) / hz * 1e6 / max(req, 1):.1f} "
      f"wal_bytes_per_req={wal[0] / max(req, 1):.0f} wal_records_per_req={wal[1] / max(req, 1):.2f} "
      f"wal_syncs_per_req={wal[2] / max(req, 1):.3f} wal_sync_us_per_req={wal[3] * 1e3 / max(req, 1):.1f} load1={load}")
EOF
  if (( pg && PG_PROFILE )); then
    local n; n=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "${outs[@]}")
    "${PSQL[@]}" -F' | ' -c "SELECT round(calls::numeric / $n, 3) AS calls_per_req,
        round((total_exec_time * 1000 / $n)::numeric, 1) AS us_per_req, round(mean_exec_time::numeric * 1000, 1) AS us_each,
        round(wal_bytes::numeric / $n) AS wal_bytes_per_req, left(regexp_replace(query, '\s+', ' ', 'g'), 140)
        FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 30" \
      >"$OUT/pgstat-$label-$sc-$REP.txt"
  fi
  rm -f "${outs[@]}"
}

for rep in $(seq "$REPS"); do
  REP=$rep
  for sc in $ONLY; do
    if (( rep % 2 )); then order="sqlite pg1 pg2"; else order="pg2 pg1 sqlite"; fi
    for who in $order; do
      case $who in
        sqlite) run sqlite "$sc" "$WS_SQLITE" "$SQLITE_PID" -- "$URL_SQLITE" ;;
        pg1) run pg1 "$sc" "$WS_PG" "$PG_A" -- "$URL_A" ;;
        pg2) run pg2 "$sc" "$WS_PG" "$PG_A" "$PG_B" -- "$URL_A" "$URL_B" ;;
      esac
    done
  done
done | tee "$OUT/results.txt"
python3 "$HERE/summarize.py" "$OUT/results.txt" | tee "$OUT/summary.md"
