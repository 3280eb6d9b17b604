#!/usr/bin/env bash
# Ingest throughput and paging latency of Klaxon on the embedded store and
# on Redis, with Alertmanager's own POST /api/v2/alerts as the peer, on this
# machine: each server on free loopback ports, loaded by cmd/klaxon-load.
# Every scenario runs against each server in RUNS, a fresh server each time.
# During each Klaxon throughput run it takes a CPU profile of klaxon through
# --pprof. See docs/benchmarks.md. Run it with `make load`.
#
# Scenarios (SCENARIOS, default "a b c spread d e"):
#   a       bodies of 100 alerts, one group each, 1,000 groups, 100,000
#           distinct alerts, every cycle a new occurrence (--new-occurrences)
#   b       the same into 10 groups (each incident grows to 10,000 alerts)
#   c       single events, 100,000 distinct over 1,000 groups: PagerDuty
#           Events v2 to Klaxon's /v2/enqueue (route group_by: [group]),
#           single-alert posts to Alertmanager; new occurrences each cycle
#   spread  (c) with event j in group j mod 1,000 (--spread): the events
#           in flight at once go to as many groups, each a commit of its
#           own, where in (c) they go to one or two groups and fold
#   d       alert → first page latency of new incidents at PROBE_RATE/s
#           (klaxon-load probe, pages by webhook), idle, then during (b);
#           on Klaxon each page's incident is acknowledged as it arrives
#           (page → ack)
#   e       memory (VmRSS, VmHWM) of each server after (b); runs (b)
#   repeat  the earlier measurement: ALERTS_PER_BODY (100), ALERT_GROUPS
#           (1000), DISTINCT (100000), the same startsAt every cycle
#
# Settings (environment): DURATION (15s) and WARMUP (5s), in whole seconds
# or minutes; CONCURRENCY (64); PROBE_RATE (50); RUNS, which of "embedded
# redis alertmanager" to run; ROUNDS (1), how many times each throughput
# scenario (a, b, c, spread, repeat) runs every one of RUNS in turn, the ratios
# to Alertmanager then taken round by round and their median printed
# (rounds after the first are named NAME-r2, NAME-r3...); OUT, where figures, logs and profiles go
# (default a new temporary folder); LOAD_FLAGS, more klaxon-load flags for
# every throughput run (e.g. --spread); TRACE, if set, an execution trace
# of one second of each Klaxon throughput run, after its CPU profile
# (NAME.trace, for go tool trace); ALLOCS, if set, a profile of what
# each Klaxon throughput run allocates over the CPU profile's window
# (NAME.allocs.pprof, for go tool pprof -sample_index=alloc_space); TRACING, if set, Klaxon runs with
# OpenTelemetry tracing on, every span sampled and exported over OTLP/HTTP
# to `klaxon-load sink`, which discards them (OUT/sink.txt counts them).
set -euo pipefail

DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-5s}
CONCURRENCY=${CONCURRENCY:-64}
ALERTS_PER_BODY=${ALERTS_PER_BODY:-100}
ALERT_GROUPS=${ALERT_GROUPS:-1000}
DISTINCT=${DISTINCT:-100000}
PROBE_RATE=${PROBE_RATE:-50}
ROUNDS=${ROUNDS:-1}
SCENARIOS=${SCENARIOS:-a b c spread d e}
RUNS=${RUNS:-embedded redis alertmanager}
LOAD_FLAGS=${LOAD_FLAGS:-}
TRACE=${TRACE:-}
ALLOCS=${ALLOCS:-}
TRACING=${TRACING:-}
GO=${GO:-go}
ALERTMANAGER=${ALERTMANAGER:-$($GO env GOPATH)/bin/alertmanager}
OUT=${OUT:-$(mktemp -d -t klaxon-load.XXXXXX)}
mkdir -p "$OUT"
TOKEN=load-token
PD_TOKEN=load-routing-key

# e is measured after b: run b for it when it is not asked for.
case " $SCENARIOS " in
*" e "*) case " $SCENARIOS " in *" b "*) ;; *) SCENARIOS="b $SCENARIOS" ;; esac ;;
esac

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

# With TRACING, each klaxon exports its spans to a sink.
tracing_env=()
if [ -n "$TRACING" ]; then
  "$work/klaxon-load" sink >"$OUT/sink.txt" &
  pids+=($!)
  sink_url=
  for _ in $(seq 100); do
    sink_url=$(sed -n 's/^sink listening on //p' "$OUT/sink.txt")
    [ -n "$sink_url" ] && break
    sleep 0.1
  done
  [ -n "$sink_url" ] || { echo "the trace sink did not start" >&2; exit 1; }
  tracing_env=(OTEL_EXPORTER_OTLP_ENDPOINT="$sink_url" OTEL_TRACES_SAMPLER=always_on)
  echo "== tracing on: every span to $sink_url"
fi

# free_port prints a loopback port that nothing listens on, below the
# range the kernel hands out to outgoing connections, so that no client
# socket takes it meanwhile.
ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$ephemeral" -gt 11000 ] || ephemeral=32768
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (ephemeral - 10000)))
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

# config STORE_YAML GROUP_BY [PAGE_PORT]: a klaxon.yaml with an alertmanager
# and a pagerduty integration, route group_by GROUP_BY and a one-step
# policy, in $work/klaxon.yaml. With PAGE_PORT the user is paged by webhook
# at once, to http://127.0.0.1:PAGE_PORT/; without, by email, which the
# console stands in for.
config() {
  local rule="{via: email, after: 0s}" notify="console: {}"
  if [ -n "${3:-}" ]; then
    rule="{via: webhook, after: 0s}"
    notify="webhook: {url: \"http://127.0.0.1:$3/\", format: json}"
  fi
  mkdir -p "$work/policies"
  cat >"$work/policies/load.yaml" <<EOF
name: load
steps:
  - targets: [user:oncall]
    escalate_after: 1h
EOF
  cat >"$work/users.yaml" <<EOF
users:
  - {id: oncall, name: On Call, email: oncall@example.com, notify: [$rule]}
EOF
  cat >"$work/klaxon.yaml" <<EOF
listen: 127.0.0.1:0
store: $1
api:
  tokens: [{name: ops, token: load-api-token}]
integrations:
  - {name: prometheus, type: alertmanager, token: $TOKEN}
  - {name: tools, type: pagerduty, token: $PD_TOKEN}
route:
  policy: load
  group_by: $2
policies: policies/
users: users.yaml
notify:
  $notify
EOF
}

# am_config [PAGE_PORT]: an alertmanager.yml whose route groups by
# alertname and service into a receiver with no integration; with
# PAGE_PORT, alerts of service "probe" go at once (group_wait 0s), one
# group per alertname, to a webhook at http://127.0.0.1:PAGE_PORT/.
am_config() {
  mkdir -p "$work/am"
  if [ -z "${1:-}" ]; then
    printf 'route: {receiver: "null", group_by: [alertname, service]}\nreceivers: [{name: "null"}]\n' >"$work/am/alertmanager.yml"
    return
  fi
  cat >"$work/am/alertmanager.yml" <<EOF
route:
  receiver: "null"
  group_by: [alertname, service]
  routes:
    - {matchers: ['service="probe"'], receiver: probe, group_by: [alertname], group_wait: 0s}
receivers:
  - name: "null"
  - name: probe
    webhook_configs: [{url: "http://127.0.0.1:$1/", send_resolved: false}]
EOF
}

# busy: "<busy> <total>" jiffies of all CPUs so far, from /proc/stat.
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

# children FILE: the CPU seconds that this shell's finished children used
# so far, noted in FILE (times runs in this shell, not in a subshell, to
# see its own children).
children() {
  times >"$1"
  awk 'NR == 2 {
    n = 0
    for (i = 1; i <= 2; i++) { split($i, t, "m"); sub("s", "", t[2]); n += t[1] * 60 + t[2] }
    print n
  }' "$1" >"$1.s"
}

# measure NAME URL FORMAT TOKEN PID...: runs klaxon-load with the flags in
# load_flags and prints its figures and the CPU seconds that the listed
# processes, klaxon-load and everything else on the machine used
# meanwhile: other work on the machine shows as "others".
measure() {
  local name=$1 url=$2 format=$3 token=$4; shift 4
  local before=() after=() i
  for pid in "$@"; do before+=("$(cpu "$pid")"); done
  local machine_before machine_after load_before load_after
  machine_before=$(busy)
  children "$work/times.$name"
  load_before=$(cat "$work/times.$name.s")
  echo "klaxon-load --url $url --token '$token' --format $format --duration $DURATION --warmup $WARMUP --concurrency $CONCURRENCY ${load_flags[*]} $LOAD_FLAGS" >"$OUT/$name.cmd"
  # shellcheck disable=SC2086
  "$work/klaxon-load" --url "$url" --token "$token" --format "$format" \
    --duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY" \
    "${load_flags[@]}" $LOAD_FLAGS | tee "$OUT/$name.txt"
  for pid in "$@"; do after+=("$(cpu "$pid")"); done
  machine_after=$(busy)
  children "$work/times.$name"
  load_after=$(cat "$work/times.$name.s")
  local line="cpu seconds over warm-up and run:" servers=0 d
  i=0
  for pid in "$@"; do
    d=$(awk -v a="${after[$i]}" -v b="${before[$i]}" 'BEGIN{printf "%.1f", a-b}')
    line+=" $(cat "/proc/$pid/comm")=$d"
    servers=$(awk -v s="$servers" -v d="$d" 'BEGIN{print s+d}')
    i=$((i + 1))
  done
  line+=$(echo "$machine_before $machine_after $load_before $load_after $servers $(getconf CLK_TCK)" |
    awk '{load = $6 - $5; printf " klaxon-load=%.1f others=%.1f (machine busy %.0f%%)", load, ($3 - $1) / $8 - $7 - load, 100 * ($3 - $1) / ($4 - $2)}')
  echo "$line" | tee -a "$OUT/$name.txt"
  # The same per alert accepted at the measured rate over warm-up and run:
  # klaxon-load's own figure moves with the machine, not with the server,
  # and tells a slow minute from a slow build.
  awk -v secs="$(($(seconds "$WARMUP") + $(seconds "$DURATION")))" '
    /^alerts\/s/ && !rate { rate = $2 }
    /^cpu seconds/ { for (i = 6; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] != "others") cpu = cpu sprintf(" %s=%.0f", kv[1], 1e6 * kv[2] / (rate * secs)) }
    END { if (rate > 0) print "cpu µs an alert:" cpu }' "$OUT/$name.txt" | tee -a "$OUT/$name.txt"
}

# memory NAME PID...: the resident memory of each process now (VmRSS, of
# which RssAnon is the heap and stacks and RssFile mapped files, such as
# the embedded store's) and at its peak (VmHWM), in MiB.
memory() {
  local name=$1 line="memory:"; shift
  for pid in "$@"; do
    line+=" $(cat "/proc/$pid/comm") $(awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2}
      END{printf "VmRSS %.0f MiB (anon %.0f, file %.0f) VmHWM %.0f MiB", r/1024, a/1024, f/1024, h/1024}' "/proc/$pid/status");"
  done
  echo "$line" | tee "$OUT/$name.memory.txt"
}

# start_klaxon LOG ARGS...: starts klaxon serve, sets klaxon_pid and
# klaxon_url from its log.
start_klaxon() {
  local log=$1; shift
  : >"$log" # there before the loop below reads it
  env "${tracing_env[@]}" "$work/klaxon" serve --config "$work/klaxon.yaml" --watch=false "$@" 2>"$log" &
  klaxon_pid=$!
  pids+=("$klaxon_pid")
  for _ in $(seq 200); do
    klaxon_url=$(sed -n 's/.*msg="klaxon listening" addr=\([^ ]*\).*/http:\/\/\1/p' "$log" | head -1)
    if [ -n "$klaxon_url" ]; then
      sleep 0.3 # it may yet fail to listen for --pprof
      kill -0 "$klaxon_pid" 2>/dev/null && return 0
      break
    fi
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
# prof_pid. report NAME prints its top 25 functions, and keeps the top 150
# by cumulative time in NAME.pprof-cum.txt.
profile() {
  local run
  run=$(seconds "$DURATION")
  (sleep $(($(seconds "$WARMUP") + run / 4)) &&
    curl -fsS -o "$OUT/$1.cpu.pprof" "http://127.0.0.1:$2/debug/pprof/profile?seconds=$((run / 2 > 0 ? run / 2 : 1))" &&
    if [ -n "$TRACE" ]; then curl -fsS -o "$OUT/$1.trace" "http://127.0.0.1:$2/debug/pprof/trace?seconds=1"; fi) &
  prof_pid=$!
  if [ -n "$ALLOCS" ]; then
    (sleep $(($(seconds "$WARMUP") + run / 4)) &&
      curl -fsS -o "$OUT/$1.allocs.pprof" "http://127.0.0.1:$2/debug/pprof/allocs?seconds=$((run / 2 > 0 ? run / 2 : 1))") &
  fi
}
report() {
  if ! wait "$prof_pid"; then
    echo "no profile of $1" >&2
    return 0
  fi
  $GO tool pprof -top -nodecount=25 "$work/klaxon" "$OUT/$1.cpu.pprof" 2>/dev/null | tee "$OUT/$1.pprof-top.txt"
  $GO tool pprof -top -cum -nodecount=150 "$work/klaxon" "$OUT/$1.cpu.pprof" 2>/dev/null >"$OUT/$1.pprof-cum.txt"
}

# start_server RUN NAME GROUP_BY [PAGE_PORT]: starts a fresh server of RUN
# (embedded, redis or alertmanager) whose route groups by GROUP_BY and,
# with PAGE_PORT, pages by webhook to it. Sets url, format and token (of
# an Alertmanager load), server_pids (to watch), for klaxon pprof_port,
# and for redis redis_port.
start_server() {
  local run=$1 name=$2 group_by=$3 page_port=${4:-}
  rm -rf "$work/data" "$work/redis" "$work/am"
  pprof_port= redis_port=
  case $run in
  embedded)
    config "{path: $work/data/klaxon.db}" "$group_by" "$page_port"
    pprof_port=$(free_port)
    start_klaxon "$OUT/$name.log" --pprof "127.0.0.1:$pprof_port"
    url=$klaxon_url format=webhook token=$TOKEN
    server_pids=("$klaxon_pid")
    ;;
  redis)
    local rport
    rport=$(free_port)
    redis_port=$rport
    mkdir -p "$work/redis"
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save "" \
      --daemonize no >"$OUT/$name.redis.log" 2>&1 &
    redis_pid=$!
    pids+=("$redis_pid")
    for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    config "{redis: {addrs: [127.0.0.1:$rport]}}" "$group_by" "$page_port"
    pprof_port=$(free_port)
    start_klaxon "$OUT/$name.log" --pprof "127.0.0.1:$pprof_port"
    url=$klaxon_url format=webhook token=$TOKEN
    server_pids=("$klaxon_pid" "$redis_pid")
    ;;
  alertmanager)
    local aport
    aport=$(free_port)
    am_config "$page_port"
    "$ALERTMANAGER" --config.file "$work/am/alertmanager.yml" --storage.path "$work/am" \
      --web.listen-address "127.0.0.1:$aport" --cluster.listen-address= >"$OUT/$name.log" 2>&1 &
    am_pid=$!
    pids+=("$am_pid")
    wait_http "http://127.0.0.1:$aport/-/ready"
    url=http://127.0.0.1:$aport format=alertmanager-api token=
    server_pids=("$am_pid")
    ;;
  *)
    echo "unknown run $run: want embedded, redis or alertmanager" >&2
    exit 2
    ;;
  esac
}

stop_server() {
  local pid
  for pid in "${server_pids[@]}"; do stop "$pid"; done
}

# throughput SCENARIO RUN GROUP_BY: one run of klaxon-load with
# load_flags against a fresh server of RUN, profiled when it is klaxon;
# scenarios c and spread post PagerDuty events to klaxon. After scenario b it notes
# the servers' memory (scenario e).
throughput() {
  local scenario=$1 run=$2 group_by=$3 name="$1-$2$round_suffix"
  start_server "$run" "$name" "$group_by"
  if [[ $scenario =~ ^(c|spread)$ ]] && [ "$run" != alertmanager ]; then format=pagerduty token=$PD_TOKEN; fi
  if [ -n "$pprof_port" ]; then profile "$name" "$pprof_port"; fi
  measure "$name" "$url" "$format" "$token" "${server_pids[@]}"
  if [ "$scenario" = b ]; then memory "$name" "${server_pids[@]}"; fi
  if [ "$run" != alertmanager ]; then curl -fsS -o "$OUT/$name.metrics" "$url/metrics" || true; fi
  # What redis-server spent its time on: calls and µs a call of each command.
  if [ -n "$redis_port" ]; then redis-cli -p "$redis_port" INFO commandstats >"$OUT/$name.redis-commandstats.txt" || true; fi
  stop_server
  if [ -n "$pprof_port" ]; then report "$name"; fi
}

# latency RUN: klaxon-load probe against a fresh server of RUN that pages
# it by webhook, idle and then during scenario b's storm. The probe starts
# with the storm's measured window and stops 2 s before it ends; it waits
# up to 20 s more for the pages still due, so that a slow page counts as
# slow, not as missing.
latency() {
  local run=$1 name="d-$1" page_port secs
  page_port=$(free_port)
  start_server "$run" "$name" "[alertname, service]" "$page_port"
  local probe=(probe --url "$url" --token "$token" --format "$format" --listen "127.0.0.1:$page_port" --rate "$PROBE_RATE")
  # On Klaxon the probe acknowledges each page's incident as it arrives,
  # as a responder does: page → ack is how long an act waits in a storm.
  if [ "$run" != alertmanager ]; then probe+=(--ack-token load-api-token); fi
  echo "-- idle"
  printf 'klaxon-load%s --duration %s\n' "$(printf ' %q' "${probe[@]}")" "$DURATION" >"$OUT/$name-idle.cmd"
  "$work/klaxon-load" "${probe[@]}" --duration "$DURATION" | tee "$OUT/$name-idle.txt"
  echo "-- during scenario b"
  load_flags=(--alerts-per-body 100 --groups 10 --distinct 100000 --new-occurrences)
  measure "$name-storm" "$url" "$format" "$token" "${server_pids[@]}" &
  local storm=$!
  secs=$(($(seconds "$DURATION") - 2))
  sleep "$(seconds "$WARMUP")"
  printf 'klaxon-load%s --duration %ss --grace 20s\n' "$(printf ' %q' "${probe[@]}")" "$secs" >"$OUT/$name-storm-probe.cmd"
  "$work/klaxon-load" "${probe[@]}" --duration "${secs}s" --grace 20s | tee "$OUT/$name-storm-probe.txt"
  wait "$storm"
  stop_server
}

echo "== $(nproc) CPUs, $($GO version | cut -d' ' -f3), redis $(redis-server --version | cut -d' ' -f3), Alertmanager $($GO version -m "$ALERTMANAGER" | awk '$1 == "mod" {print $3}'); scenarios $SCENARIOS; output in $OUT"

for scenario in $SCENARIOS; do
  for round in $(seq "$ROUNDS"); do
  round_suffix=
  if [ "$round" -gt 1 ]; then
    case $scenario in d | e) continue ;; esac
    round_suffix=-r$round
    echo "== round $round of $scenario"
  fi
  for run in $RUNS; do
    case $scenario in
    a)
      echo "== a: $run, bodies of 100 alerts, 1,000 groups, 100,000 distinct, new occurrences"
      load_flags=(--alerts-per-body 100 --groups 1000 --distinct 100000 --new-occurrences)
      throughput a "$run" "[alertname, service]"
      ;;
    b)
      echo "== b: $run, bodies of 100 alerts, 10 groups, 100,000 distinct, new occurrences"
      load_flags=(--alerts-per-body 100 --groups 10 --distinct 100000 --new-occurrences)
      throughput b "$run" "[alertname, service]"
      ;;
    c)
      echo "== c: $run, single events, 1,000 groups, 100,000 distinct, new occurrences"
      load_flags=(--alerts-per-body 1 --groups 1000 --distinct 100000 --new-occurrences)
      throughput c "$run" "[group]"
      ;;
    spread)
      echo "== spread: $run, single events, 1,000 groups, 100,000 distinct, event j in group j mod 1,000, new occurrences"
      load_flags=(--alerts-per-body 1 --groups 1000 --distinct 100000 --new-occurrences --spread)
      throughput spread "$run" "[group]"
      ;;
    d)
      echo "== d: $run, alert → page latency of $PROBE_RATE new incidents/s"
      latency "$run"
      ;;
    e) ;; # noted after b
    repeat)
      echo "== repeat: $run, $ALERTS_PER_BODY alerts per body, $ALERT_GROUPS groups, $DISTINCT distinct, the same startsAt"
      load_flags=(--alerts-per-body "$ALERTS_PER_BODY" --groups "$ALERT_GROUPS" --distinct "$DISTINCT")
      throughput repeat "$run" "[alertname, service]"
      ;;
    *)
      echo "unknown scenario $scenario: want a, b, c, spread, d, e or repeat" >&2
      exit 2
      ;;
    esac
  done
  done
done

echo "== summary"
for f in "$OUT"/*.txt; do
  case $f in *.pprof-top.txt | *.pprof-cum.txt | */summary.txt | */sink.txt) continue ;; esac
  printf '%-24s %s\n' "$(basename "$f" .txt)" "$(grep -E '^(alerts/s|pages|memory)' "$f" | head -1)"
done | tee "$OUT/summary.txt"

# Each Klaxon run's alerts/s over Alertmanager's in the same scenario and
# round of this run; with ROUNDS, the median of each scenario's rounds.
echo "== × Alertmanager (alerts/s of the same scenario in this run)"
for f in "$OUT"/*.txt; do
  name=$(basename "$f" .txt)
  [[ $name =~ ^[a-z]+-(embedded|redis)(-r[0-9]+)?$ ]] || continue
  peer="$OUT/${name/-${BASH_REMATCH[1]}/-alertmanager}.txt"
  [ -e "$peer" ] || continue
  mine=$(awk '/^alerts\/s/ {print $2; exit}' "$f")
  theirs=$(awk '/^alerts\/s/ {print $2; exit}' "$peer")
  [ -n "$mine" ] && [ -n "$theirs" ] || continue
  load=$(awk '/^cpu µs an alert/ { for (i = 1; i <= NF; i++) if ($i ~ /^klaxon-load=/) { sub(/.*=/, "", $i); print $i } }' "$f" "$peer" | paste -sd' ')
  awk -v n="$name" -v a="$mine" -v b="$theirs" -v l="$load" 'BEGIN { split(l, u, " ")
    printf "%-24s %.2f", n, a / b; if (u[2] != "") printf "   (klaxon-load: %s CPU-µs an alert, %s in the peer run)", u[1], u[2]; print "" }'
done | tee "$work/ratios" | tee -a "$OUT/summary.txt"
if [ "$ROUNDS" -gt 1 ]; then
  sed -E 's/-r[0-9]+ / /' "$work/ratios" | sort -k1,1 -k2,2n |
    awk '{ r[$1] = r[$1] " " $2; n[$1]++; v[$1, n[$1]] = $2 }
      END { for (k in n) { m = n[k] % 2 ? v[k, (n[k] + 1) / 2] : (v[k, n[k] / 2] + v[k, n[k] / 2 + 1]) / 2
        printf "%-24s median %.2f of%s\n", k, m, r[k] } }' | sort | tee -a "$OUT/summary.txt"
fi
echo "== figures, logs and profiles in $OUT"
