#!/usr/bin/env bash
# A/B of one throughput scenario of scripts/load.sh between this tree and
# another commit: round by round, the scenario runs on the base and on
# this tree, then on Alertmanager, each a fresh server, so that both
# builds meet the machine as it is at that minute. It prints each round's rates
# and the medians of this tree's rate over the base's and of each over
# Alertmanager's, the ratios taken round by round. On this project's
# two-CPU machine a single run's ratio moves by a fifth with
# Alertmanager's own rate, and a change of a few percent shows only as
# a median over many short rounds. See docs/benchmarks.md.
#
# Usage: scripts/ab.sh BASE   (a commit, e.g. HEAD~1)
#
# The base runs its own scripts/load.sh: compare commits whose scenario
# is the same (a base older than the scenario spread takes SCENARIO=c
# LOAD_FLAGS=--spread instead). The base and this tree take turns going
# first.
#
# Settings (environment): ROUNDS (8); SCENARIO (c), one of load.sh's
# throughput scenarios (a, b, c, spread, repeat); STORE (embedded or redis);
# DURATION (8s) and WARMUP (3s), as load.sh takes them; OUT, where every
# run's figures go (default a new temporary folder).
set -euo pipefail

base=${1:?usage: scripts/ab.sh BASE}
ROUNDS=${ROUNDS:-8}
SCENARIO=${SCENARIO:-c}
STORE=${STORE:-embedded}
export DURATION=${DURATION:-8s} WARMUP=${WARMUP:-3s}
OUT=${OUT:-$(mktemp -d -t klaxon-ab.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

cd "$(dirname "$0")/.."
tree=$(mktemp -d -t klaxon-ab-base.XXXXXX)
git worktree add --detach "$tree" "$base" >/dev/null
trap 'git worktree remove --force "$tree"' EXIT

# run NAME DIR RUN: one run of the scenario from DIR's load.sh; prints
# its alerts/s.
run() {
  ROUNDS=1 SCENARIOS=$SCENARIO RUNS=$3 OUT="$OUT/$1" "$2/scripts/load.sh" >"$OUT/$1.log" 2>&1 ||
    { echo "$1 failed: see $OUT/$1.log" >&2; exit 1; }
  local rate
  rate=$(awk '/^alerts\/s/ {print $2; exit}' "$OUT/$1.log")
  [ -n "$rate" ] || { echo "$1 gave no rate: see $OUT/$1.log" >&2; exit 1; }
  echo "$rate"
}

echo "== $SCENARIO on $STORE: $(git rev-parse --short "$base") (base) against this tree, then Alertmanager, $ROUNDS rounds; figures in $OUT"
printf '%-6s %10s %10s %12s\n' round base this alertmanager
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    b=$(run "r$r-base" "$tree" "$STORE")
    t=$(run "r$r-this" . "$STORE")
  else
    t=$(run "r$r-this" . "$STORE")
    b=$(run "r$r-base" "$tree" "$STORE")
  fi
  a=$(run "r$r-alertmanager" . alertmanager)
  printf '%-6s %10s %10s %12s\n' "$r" "$b" "$t" "$a" | tee -a "$OUT/rates.txt"
done

# median COLUMN_EXPRESSION: the median over the rounds of an awk
# expression of $2 (base), $3 (this) and $4 (Alertmanager).
median() {
  awk "{printf \"%.4f\\n\", $1}" "$OUT/rates.txt" | sort -g |
    awk '{v[NR] = $1} END {printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo "== medians of the rounds' ratios"
echo "this tree × base:          $(median '$3/$2')"
echo "this tree × Alertmanager:  $(median '$3/$4')"
echo "base × Alertmanager:       $(median '$2/$4')"
