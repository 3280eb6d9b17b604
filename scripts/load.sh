#!/usr/bin/env bash
# Ingest throughput of Klaxon on the embedded store and on Redis, and of
# Alertmanager's own POST /api/v2/alerts as the peer, on this machine: each
# server on free loopback ports, loaded by cmd/klaxon-load with Alertmanager
# bodies of 100 alerts (1,000 groups, 100,000 distinct alerts cycling).
# During each Klaxon run it takes a CPU profile of klaxon through --pprof.
# See docs/benchmarks.md. Run it with `make load`.
#
# Settings (environment): DURATION (20s) and WARMUP (5s), in whole seconds
# or minutes; CONCURRENCY (64); ALERTS_PER_BODY (100); ALERT_GROUPS (1000);
# DISTINCT (100000); RUNS, which of "embedded redis alertmanager" to run;
# OUT, where figures, logs and profiles go (default a new temporary
# folder); LOAD_FLAGS, more klaxon-load flags (e.g. --spread).
set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
CONCURRENCY=${CONCURRENCY:-64}
ALERTS_PER_BODY=${ALERTS_PER_BODY:-100}
ALERT_GROUPS=${ALERT_GROUPS:-1000}
DISTINCT=${DISTINCT:-100000}
RUNS=${RUNS:-embedded redis alertmanager}
LOAD_FLAGS=${LOAD_FLAGS:-}
GO=${GO:-go}
ALERTMANAGER=${ALERTMANAGER:-$($GO env GOPATH)/bin/alertmanager}
OUT=${OUT:-$(mktemp -d -t klaxon-load.XXXXXX)}
mkdir -p "$OUT"
TOKEN=load-token

cd "$(dirname "$0")/.."
work=$(mktemp -d -t klaxon-load-work.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building into $work"
CGO_ENABLED=0 $GO build -trimpath -o "$work/klaxon" ./cmd/klaxon
CGO_ENABLED=0 $GO build -trimpath -o "$work/klaxon-load" ./cmd/klaxon-load

# free_port prints a loopback port that nothing listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# wait_http URL: until URL answers 2xx, at most 20 s.
wait_http() {
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# cpu PID: CPU seconds (user + system) the process used so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat"; }

# config STORE_YAML: a klaxon.yaml with one alertmanager integration and a
# one-step policy, printed to $work/klaxon.yaml.
config() {
  mkdir -p "$work/policies"
  cat >"$work/policies/load.yaml" <<EOF
name: load
steps:
  - targets: [user:oncall]
    escalate_after: 1h
EOF
  cat >"$work/users.yaml" <<EOF
users:
  - {id: oncall, name: On Call, email: oncall@example.com, notify: [{via: email, after: 0s}]}
EOF
  cat >"$work/klaxon.yaml" <<EOF
listen: 127.0.0.1:0
store: $1
api:
  tokens: [{name: ops, token: load-api-token}]
integrations:
  - {name: prometheus, type: alertmanager, token: $TOKEN}
route:
  policy: load
  group_by: [alertname, service]
policies: policies/
users: users.yaml
notify:
  console: {}
EOF
}

# busy: "<busy> <total>" jiffies of all CPUs so far, from /proc/stat.
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

# measure NAME URL FORMAT TOKEN PID...: runs klaxon-load and prints its
# figures and the CPU seconds the listed processes used meanwhile.
measure() {
  local name=$1 url=$2 format=$3 token=$4; shift 4
  local before=() after=() i
  for pid in "$@"; do before+=("$(cpu "$pid")"); done
  local machine_before machine_after
  machine_before=$(busy)
  "$work/klaxon-load" --url "$url" --token "$token" --format "$format" \
    --duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY" \
    --alerts-per-body "$ALERTS_PER_BODY" --groups "$ALERT_GROUPS" --distinct "$DISTINCT" $LOAD_FLAGS \
    | tee "$OUT/$name.txt"
  for pid in "$@"; do after+=("$(cpu "$pid")"); done
  machine_after=$(busy)
  local line="cpu seconds over warm-up and run:"
  i=0
  for pid in "$@"; do
    line+=" $(cat "/proc/$pid/comm")=$(awk -v a="${after[$i]}" -v b="${before[$i]}" 'BEGIN{printf "%.1f", a-b}')"
    i=$((i + 1))
  done
  line+=" (machine busy $(echo "$machine_before $machine_after" | awk '{printf "%.0f%%", 100*($3-$1)/($4-$2)}'), the rest is mostly klaxon-load)"
  echo "$line" | tee -a "$OUT/$name.txt"
}

# start_klaxon LOG ARGS...: starts klaxon serve, sets klaxon_pid and
# klaxon_url from its log.
start_klaxon() {
  local log=$1; shift
  "$work/klaxon" serve --config "$work/klaxon.yaml" --watch=false "$@" 2>"$log" &
  klaxon_pid=$!
  pids+=("$klaxon_pid")
  for _ in $(seq 200); do
    klaxon_url=$(sed -n 's/.*msg="klaxon listening" addr=\([^ ]*\).*/http:\/\/\1/p' "$log" | head -1)
    [ -n "$klaxon_url" ] && return 0
    kill -0 "$klaxon_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "klaxon did not start:" >&2
  cat "$log" >&2
  return 1
}

stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# seconds DURATION: whole seconds of a Go duration like 20s or 1m.
seconds() {
  case $1 in
  *m) echo $((${1%m} * 60)) ;;
  *s) echo "${1%s}" ;;
  *) echo "$1" ;;
  esac
}

# profile NAME PORT: in the background, a CPU profile of the klaxon whose
# --pprof listens on PORT over the middle half of the measured run; sets
# prof_pid. report NAME prints its top 25 functions.
profile() {
  local run
  run=$(seconds "$DURATION")
  (sleep $(($(seconds "$WARMUP") + run / 4)) &&
    curl -fsS -o "$OUT/$1.cpu.pprof" "http://127.0.0.1:$2/debug/pprof/profile?seconds=$((run / 2 > 0 ? run / 2 : 1))") &
  prof_pid=$!
}
report() {
  if ! wait "$prof_pid"; then
    echo "no profile of $1" >&2
    return 0
  fi
  $GO tool pprof -top -nodecount=25 "$work/klaxon" "$OUT/$1.cpu.pprof" 2>/dev/null | tee "$OUT/$1.pprof-top.txt"
}

echo "== $(nproc) CPUs, $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f3); output in $OUT"

for run in $RUNS; do
  case $run in
  embedded)
    echo "== Klaxon, embedded store (bbolt, one fsync per commit)"
    config "{path: $work/data/klaxon.db}"
    pport=$(free_port)
    start_klaxon "$OUT/klaxon-embedded.log" --pprof "127.0.0.1:$pport"
    profile klaxon-embedded "$pport"
    measure klaxon-embedded "$klaxon_url" webhook "$TOKEN" "$klaxon_pid"
    stop "$klaxon_pid"
    report klaxon-embedded
    ;;
  redis)
    echo "== Klaxon, Redis store (redis-server --appendonly yes, everysec)"
    rport=$(free_port)
    mkdir -p "$work/redis"
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save "" \
      --daemonize no >"$OUT/redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    config "{redis: {addrs: [127.0.0.1:$rport]}}"
    pport=$(free_port)
    start_klaxon "$OUT/klaxon-redis.log" --pprof "127.0.0.1:$pport"
    profile klaxon-redis "$pport"
    measure klaxon-redis "$klaxon_url" webhook "$TOKEN" "$klaxon_pid" "$redis_pid"
    stop "$klaxon_pid"
    stop "$redis_pid"
    report klaxon-redis
    ;;
  alertmanager)
    echo "== Alertmanager $($GO version -m "$ALERTMANAGER" | awk '$1 == "mod" {print $3}'), POST /api/v2/alerts, in memory"
    aport=$(free_port)
    mkdir -p "$work/am"
    printf 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n' >"$work/am/alertmanager.yml"
    "$ALERTMANAGER" --config.file "$work/am/alertmanager.yml" --storage.path "$work/am" \
      --web.listen-address "127.0.0.1:$aport" --cluster.listen-address= >"$OUT/alertmanager.log" 2>&1 &
    am_pid=$!
    pids+=("$am_pid")
    wait_http "http://127.0.0.1:$aport/-/ready"
    measure alertmanager "http://127.0.0.1:$aport" alertmanager-api "" "$am_pid"
    stop "$am_pid"
    ;;
  *)
    echo "unknown run $run: want embedded, redis or alertmanager" >&2
    exit 2
    ;;
  esac
done
echo "== figures, logs and profiles in $OUT"
