#!/usr/bin/env bash
# Slack Events API ack throughput: deskbot serve vs Slack's Bolt (Node) vs
# nginx `return 200;` (the floor: no verification, no storage), in one run.
#
#   tests/bench/slack/ack_bench.sh [path/to/deskbot] [seconds per run] [bolt dir]
#
# Every request is a distinct signed delivery (unique event_id, fresh
# timestamp, signatures precomputed by make_pool.py right before the runs).
# deskbot acks each one only after the inbox writer's group commit stored it;
# the script checks afterwards that the inbox holds every acked event.
# Measured per server and connection count (16, 64; keep-alive, loopback):
# acks/s, p50/p99 ack latency (wrk --latency) and server CPU per event
# (utime+stime delta from /proc/<pid>/stat divided by requests answered).
# Needs: wrk, nginx, node + npm (installs @slack/bolt into the bolt dir when
# missing), python3. Prints a table and a final JSON line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
deskbot=${1:-$root/build/bot/cli/deskbot}
secs=${2:-8}
bolt_dir=${3:-${TMPDIR:-/tmp}/deskbot-bench-bolt}
secret=bench-signing-secret-0123456789abcdef
wrk_threads=2
conns=(16 64)

for tool in wrk nginx node npm python3; do
  command -v "$tool" >/dev/null || { echo "ack_bench: $tool not found (apt: wrk nginx nodejs npm)" >&2; exit 1; }
done
[ -x "$deskbot" ] || { echo "ack_bench: no deskbot binary at $deskbot" >&2; exit 1; }
if [ ! -d "$bolt_dir/node_modules/@slack/bolt" ]; then
  mkdir -p "$bolt_dir"
  (cd "$bolt_dir" && npm init -y >/dev/null && npm install --silent @slack/bolt >/dev/null)
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "ack_bench: nothing listening on $1" >&2; exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU ticks of a process's threads by name (deskbot names its threads:
# http-io, inbox-writer, inbox-worker, outbox-sender, ...): "name=ticks ...".
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{a[$1] += $2} END {for (n in a) printf "%s=%d ", n, a[n]}'
}
clk=$(getconf CLK_TCK)

# --- servers -------------------------------------------------------------------
port_deskbot=$(free_port)
mkdir -p "$work/deskbot"
# Default settings (server.threads = 1: /slack/events never holds the I/O
# thread while its event is stored). DESKBOT_BENCH_SERVER_THREADS overrides.
env ${DESKBOT_BENCH_SERVER_THREADS:+DESKBOT_SERVER_THREADS=$DESKBOT_BENCH_SERVER_THREADS} \
DESKBOT_DATA_DIR="$work/deskbot" DESKBOT_CONFIG="" DESKBOT_LISTEN="127.0.0.1:$port_deskbot" \
DESKBOT_LOG_LEVEL=warn \
DESKBOT_SLACK_SIGNING_SECRET=$secret DESKBOT_SLACK_BOT_TOKEN=xoxb-bench-dummy \
DESKBOT_SLACK_API_URL=http://127.0.0.1:1/api DESKBOT_AGENTS=U0AGENT \
  "$deskbot" serve >"$work/deskbot.out" 2>"$work/deskbot.err" &
pids+=($!); pid_deskbot=$!

port_nginx=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  client_max_body_size 1m;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port_nginx; location / { return 200; } }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!); pid_nginx=$!

port_bolt=$(free_port)
SLACK_SIGNING_SECRET=$secret NODE_PATH="$bolt_dir/node_modules" node "$here/bolt_server.js" "$port_bolt" \
  >"$work/bolt.out" 2>"$work/bolt.err" &
pids+=($!); pid_bolt=$!

wait_port "$port_deskbot"; wait_port "$port_nginx"; wait_port "$port_bolt"

# --- runs ----------------------------------------------------------------------
# One pool for all runs, big enough that no event_id repeats within a run.
pool=${DESKBOT_BENCH_POOL:-400000}
python3 "$here/make_pool.py" "$secret" "$pool" "$work/pool.lua"

results="$work/results.tsv"
: >"$results"
run() {  # name pid port conns pool-offset
  local name=$1 pid=$2 port=$3 c=$4 first=$5
  # Fresh, distinct ids for this run: shift the pool so runs do not overlap.
  local before after out
  before=$(cpu_ticks "$pid")
  local threads_before threads_after
  threads_before=$(thread_ticks "$pid")
  out=$(wrk -t"$wrk_threads" -c"$c" -d"${secs}s" --latency -s "$work/pool.lua" "http://127.0.0.1:$port" \
        -- "$wrk_threads" "$first" 2>&1)
  after=$(cpu_ticks "$pid")
  threads_after=$(thread_ticks "$pid")
  echo "$out" >"$work/wrk-$name-$c.txt"
  python3 - "$name" "$c" "$before" "$after" "$clk" "$work/wrk-$name-$c.txt" \
    "$threads_before" "$threads_after" >>"$results" <<'PY'
import re, sys
name, c, before, after, clk, path, tb, ta = sys.argv[1:]
text = open(path).read()
def lat(p):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, text, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1, "ms": 1e3, "s": 1e6}[u]
reqs = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = int(non2xx.group(1)) if non2xx else 0
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
cpu_us = (int(after) - int(before)) * 1e6 / int(clk)
# CPU per event by thread name (only meaningful for deskbot, whose threads
# are named): where the time goes, ack path (http-io, inbox-writer) or not.
def ticks(text):
    return {k: int(v) for k, v in (kv.split("=") for kv in text.split())}
b, a = ticks(tb), ticks(ta)
split = ",".join("%s:%.1f" % (n, (a[n] - b.get(n, 0)) * 1e6 / int(clk) / max(reqs, 1))
                 for n in sorted(a) if a[n] - b.get(n, 0) > 0)
print("\t".join(map(str, [name, c, reqs, errors, round(rate), lat(50), lat(99),
                          round(cpu_us / max(reqs, 1), 1), split or "-"])))
PY
}

# Each connection count gets its own slice of the pool (distinct event ids).
slice=$((pool / ${#conns[@]}))
offset=0
for c in "${conns[@]}"; do
  run nginx "$pid_nginx" "$port_nginx" "$c" "$offset"
  run bolt "$pid_bolt" "$port_bolt" "$c" "$offset"
  run deskbot "$pid_deskbot" "$port_deskbot" "$c" "$offset"
  offset=$((offset + slice))
done

# Every acked deskbot event is in the inbox (ids repeat only when a run sent
# more than its slice of the pool; repeats are stored once).
acked=$(awk -F'\t' -v slice="$slice" '$1=="deskbot" {a = $3 - $4; s += (a < slice ? a : slice)} END {print s+0}' "$results")
# A Prometheus scrape of the full store (every event above is in it), against
# /healthz (no store work) as the baseline: median of 5 each, in ms. /metrics
# counts the queues under the store lock the inbox writer needs, so its cost
# must not grow with the inbox.
scrape_ms() {
  for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port_deskbot$1"; done |
    sort -n | awk 'NR == 3 {printf "%.2f", $1 * 1000}'
}
metrics_ms=$(scrape_ms /metrics)
healthz_ms=$(scrape_ms /healthz)
kill -TERM "$pid_deskbot"; wait "$pid_deskbot" 2>/dev/null || true
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from inbox').fetchone()[0])" \
  "$work/deskbot/deskbot.db")
python3 - "$results" "$acked" "$stored" "$pool" "$metrics_ms" "$healthz_ms" <<'PY'
import json, sys
# acked: distinct event ids deskbot acknowledged (a run wrapping around its
# slice of the pool re-sends ids, which are stored once).
path, acked, stored, pool = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
metrics_ms, healthz_ms = float(sys.argv[5]), float(sys.argv[6])
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
print("%-8s %5s %9s %6s %9s %10s %10s %12s" % ("server", "conns", "requests", "non2xx", "acks/s",
                                                "p50 us", "p99 us", "cpu us/ev"))
res = {}
for name, c, reqs, err, rate, p50, p99, cpu, split in rows:
    print("%-8s %5s %9s %6s %9s %10.0f %10.0f %12s" % (name, c, reqs, err, rate, float(p50), float(p99), cpu))
    res.setdefault(name, {})[c] = {"requests": int(reqs), "non2xx": int(err), "acks_per_s": int(rate),
                                   "p50_us": float(p50), "p99_us": float(p99), "cpu_us_per_event": float(cpu)}
    if name == "deskbot":
        by_thread = {k: float(v) for k, v in (kv.split(":") for kv in split.split(",") if ":" in kv)}
        res[name][c]["cpu_us_per_event_by_thread"] = by_thread
        print("         deskbot CPU us/event by thread: " +
              ", ".join("%s %.1f" % kv for kv in sorted(by_thread.items())))
ratios = {c: round(res["deskbot"][c]["acks_per_s"] / max(res["bolt"][c]["acks_per_s"], 1), 2)
          for c in res["deskbot"]}
nginx_ratios = {c: round(res["deskbot"][c]["acks_per_s"] / max(res["nginx"][c]["acks_per_s"], 1), 2)
                for c in res["deskbot"]}
cpu_ratios = {c: round(res["bolt"][c]["cpu_us_per_event"] / max(res["deskbot"][c]["cpu_us_per_event"], 0.1), 2)
              for c in res["deskbot"]}
print("deskbot / bolt throughput:", ratios)
print("deskbot / nginx throughput:", nginx_ratios)
print("bolt CPU per event / deskbot CPU per event:", cpu_ratios)
print("deskbot acked %d distinct events, inbox holds %d rows (pool %d ids)" % (acked, stored, pool))
print("GET /metrics with %d inbox rows: %.2f ms (GET /healthz: %.2f ms)" % (stored, metrics_ms, healthz_ms))
ok = stored >= acked
print(json.dumps({"bench": "slack_ack", "results": res, "deskbot_vs_bolt": ratios,
                  "deskbot_vs_nginx": nginx_ratios, "bolt_cpu_over_deskbot_cpu": cpu_ratios,
                  "deskbot_acked": acked, "deskbot_stored": stored, "all_acked_stored": ok,
                  "scrape_ms": {"metrics": metrics_ms, "healthz": healthz_ms, "inbox_rows": stored}}))
PY
