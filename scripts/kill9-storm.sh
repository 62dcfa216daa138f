#!/usr/bin/env bash
# The kill -9 storm: submit JOBS jobs to `spillway serve` while killing it with SIGKILL
# KILLS times at random points (seeded), restarting it on the same data directory each time;
# then wait for every job to end and check that every job ran exactly once and succeeded.
#
#   scripts/kill9-storm.sh [JOBS=5000] [KILLS=20] [SEED=1]
#
# Uses target/release/spillway if it exists, else target/debug/spillway (or $SPILLWAY_BIN).
# Each job appends its id to ran.txt once, so a job launched twice shows up twice. Submits
# carry an Idempotency-Key, so a submit cut off by a kill is retried without a second job.
# Talks only to 127.0.0.1. Prints one summary line; exits 1 if any job ran twice, never, or
# did not succeed.
set -euo pipefail

JOBS=${1:-5000}
KILLS=${2:-20}
SEED=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SPILLWAY_BIN:-}
if [ -z "$BIN" ]; then
  if [ -x "$ROOT/target/release/spillway" ]; then BIN=$ROOT/target/release/spillway; else BIN=$ROOT/target/debug/spillway; fi
fi
[ -x "$BIN" ] || { echo "no spillway binary at $BIN: cargo build -p spillway first" >&2; exit 2; }

WORK=$(mktemp -d)
DATA=$WORK/data
RAN=$WORK/ran.txt
: > "$RAN"
cat > "$WORK/spillway.toml" <<EOF
[[pool]]
name = "local"
executor = "local"
accelerator = "H100"
count = 8
max_jobs = 32
EOF
SERVER_PID=
ADDR=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  echo "(work directory kept: $WORK)" >&2
}
trap cleanup EXIT

# Seeded choices (bash's RANDOM is reproducible for a given seed).
RANDOM=$SEED

start_server() {
  rm -f "$WORK/addr"
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" --config "$WORK/spillway.toml" \
    --addr-file "$WORK/addr" >> "$WORK/serve.out" 2>> "$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    if [ -s "$WORK/addr" ]; then
      ADDR=$(cat "$WORK/addr")
      if curl -sf "http://$ADDR/healthz" > /dev/null; then return 0; fi
    fi
    sleep 0.05
  done
  echo "server did not become ready (see $WORK/serve.err)" >&2
  exit 1
}

# Submits job number $1 until the server answers 200 or 201 (retrying across restarts).
submit() {
  local key="storm-$1" code
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$ADDR/v1/jobs" \
      -H 'Content-Type: application/yaml' -H "Idempotency-Key: $key" \
      --data-binary $'max_restarts: 3\nrun: echo "$SPILLWAY_JOB_ID" >> '"$RAN"$'; sleep 0.$((RANDOM % 5))\nresources: {accelerators: H100:1}\n' \
      || true)
    case $code in 200|201) return 0 ;; esac
    sleep 0.05
  done
  echo "job $1 could not be submitted" >&2
  exit 1
}

start_server
started=$(date +%s)
per_round=$(( (JOBS + KILLS) / (KILLS + 1) ))
submitted=0
kills=0
while [ "$submitted" -lt "$JOBS" ]; do
  # Submit a random share of this round's jobs, then kill -9 at a random point: sometimes
  # between submits, sometimes while launches are in flight.
  n=$(( per_round / 2 + RANDOM % (per_round + 1) ))
  for _ in $(seq 1 "$n"); do
    [ "$submitted" -ge "$JOBS" ] && break
    submitted=$((submitted + 1))
    submit "$submitted"
  done
  if [ "$kills" -lt "$KILLS" ]; then
    sleep "0.$((RANDOM % 10))"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    kills=$((kills + 1))
    start_server
  fi
done
while [ "$kills" -lt "$KILLS" ]; do
  sleep "0.$((RANDOM % 10))"
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  kills=$((kills + 1))
  start_server
done

# Wait (bounded: 30 minutes) until no job is queued or running.
for _ in $(seq 1 3600); do
  busy=0
  for s in queued running; do
    n=$(curl -sf "http://$ADDR/v1/jobs?state=$s&limit=1" | jq '.jobs | length')
    busy=$((busy + n))
  done
  [ "$busy" -eq 0 ] && break
  sleep 0.5
done
elapsed=$(( $(date +%s) - started ))

# Every job: succeeded, and its id in ran.txt exactly once.
succeeded=0
before=
while :; do
  page=$(curl -sf "http://$ADDR/v1/jobs?limit=1000${before:+&before=$before}")
  succeeded=$((succeeded + $(jq '[.jobs[] | select(.state == "succeeded")] | length' <<< "$page")))
  before=$(jq -r '.next_before // empty' <<< "$page")
  [ -z "$before" ] && break
done
total=$(curl -sf "http://$ADDR/v1/jobs?limit=1" | jq '.jobs[0].id')
twice=$(sort -n "$RAN" | uniq -d | wc -l)
distinct=$(sort -nu "$RAN" | wc -l)
echo "jobs=$JOBS submitted_ids=$total kills=$kills seed=$SEED elapsed_s=$elapsed ran_distinct=$distinct ran_twice=$twice succeeded=$succeeded"
if [ "$total" -ne "$JOBS" ] || [ "$twice" -ne 0 ] || [ "$distinct" -ne "$JOBS" ] || [ "$succeeded" -ne "$JOBS" ]; then
  echo "FAILED: every job must run exactly once and succeed" >&2
  exit 1
fi
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
rm -rf "$WORK"
trap - EXIT
echo "ok: every job ran exactly once"
