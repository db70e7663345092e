#!/usr/bin/env bash
# Memory and threads under many concurrent writers: CONNS connections of CreateTags (an
# upsert on one IP group) for DURATION, while the server's peak resident memory (VmHWM),
# its thread count and its answers per second are recorded.
#
#   bench/writers.sh [BINARY]    # CONNS=256 DURATION=20s; BINARY: target/release/localspaces
#
# Needs wrk (apt-get install wrk). Loopback only; stops by itself.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN=${1:-$ROOT/target/release/localspaces}
CONNS=${CONNS:-256}; DURATION=${DURATION:-20s}; PORT=${PORT:-4597}
DATA=$(mktemp -d)
"$BIN" --port "$PORT" --data-dir "$DATA" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$URL/_localspaces/health" >/dev/null && break; sleep 0.1; done
AUTH='AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000'
IPG=$(curl -sf "$URL/" -H 'Content-Type: application/x-amz-json-1.1' \
  -H 'X-Amz-Target: WorkspacesService.CreateIpGroup' -H "Authorization: $AUTH" \
  -H 'X-Amz-Date: 20260101T000000Z' -d '{"GroupName":"bench"}' | sed 's/.*"GroupId":"\([^"]*\)".*/\1/')
echo "ip group: $IPG; rss before: $(awk '/VmRSS/{print $2" kB"}' /proc/$PID/status)"
MAXT=0
( while kill -0 $PID 2>/dev/null; do
    t=$(awk '/Threads/{print $2}' /proc/$PID/status 2>/dev/null || echo 0)
    echo "$t"; sleep 0.2; done ) > "$DATA/threads" &
SAMPLER=$!
SCENARIO=create_tags WS_ID=$IPG wrk -t2 -c"$CONNS" -d"$DURATION" -s "$HERE/workspaces.lua" "$URL" | grep -E 'Requests/sec|RESULT|Non-2xx|Socket errors' || true
MAXT=$(sort -n "$DATA/threads" | tail -1)
kill $SAMPLER 2>/dev/null || true
echo "peak rss (VmHWM): $(awk '/VmHWM/{print $2" kB"}' /proc/$PID/status); rss after: $(awk '/VmRSS/{print $2" kB"}' /proc/$PID/status); peak threads: $MAXT"
