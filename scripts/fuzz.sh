#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time and reports crashes (needs a nightly
# toolchain and cargo-fuzz: `cargo install cargo-fuzz`). The targets live in fuzz/, outside
# the workspace, so the stable build and CI never see them.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGETS="spec trace config"]
#
# Seeds come from the repository's examples and the heads of the bundled traces. Prints one
# line per target (runs, seconds, crashes) and exits 1 if any target crashed; crashing inputs
# are kept under fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET=${1:-60}
TARGETS=${2:-"spec trace config"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz"

seed() {
  local target=$1 dir=corpus/$1
  mkdir -p "$dir"
  case $target in
    spec) cp "$ROOT"/examples/jobs/*.yaml "$dir"/ ;;
    config) cp "$ROOT"/examples/*.toml "$dir"/ ;;
    trace)
      for f in "$ROOT"/data/traces/*/*.csv "$ROOT"/data/gavel/generated/*.trace; do
        [ -f "$f" ] && head -n 40 "$f" > "$dir/$(basename "$f")"
      done
      ;;
  esac
}

failed=0
for target in $TARGETS; do
  seed "$target"
  log=$(mktemp)
  started=$(date +%s)
  if cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096 > "$log" 2>&1; then
    crashes=0
  else
    crashes=$(find "artifacts/$target" -type f 2>/dev/null | wc -l)
    [ "$crashes" -eq 0 ] && crashes="build or run failed (see $log)"
    failed=1
  fi
  runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  echo "$target: $runs runs in $(( $(date +%s) - started )) s (build included), crashes: $crashes"
done
exit "$failed"
