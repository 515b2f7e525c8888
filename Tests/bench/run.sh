#!/usr/bin/env bash
# `make bench`: durable message POSTs vs a no-op POST on the same server, same run.
#
# Starts a release `parley serve` on a free loopback port with a fresh data folder, opens 256
# tickets on the demo widget, then runs wrk at 1, 64 and 256 connections against
#   durable: POST /api/tickets/{id}/messages (acknowledged only after fdatasync), and
#   noop:    POST /api/bench/noop (decodes the same body, returns 200; enabled by PARLEY_BENCH=1),
# prints messages/s, p50, p99, noop/s and the durable/noop ratio, checks that every acknowledged
# message is on disk; then serves /widget.js (gzip, keep-alive) from parley and from nginx on the
# same files; then uploads 100 MB (tus) to a second server and measures its peak RSS growth.
# Exits non-zero on any error or if a spec budget (durable >= 60 % of noop at 256 connections;
# /widget.js >= 70 % of nginx's rate; a 100 MB upload adds <= 10 MB RSS) is missed.
#
# Environment:
#   PARLEY_BIN         server binary (default .build/release/parley)
#   BENCH_DURATION     wrk duration per run (default 10s)
#   BENCH_CONNECTIONS  concurrency levels (default "1 64 256")
#   BENCH_MIN_RATIO    budget for durable/noop at 256 connections (default 0.60)
#   BENCH_MIN_LOADER_RATIO  budget for parley/nginx requests/s serving /widget.js (default 0.70)
#   BENCH_UPLOAD_MB    size of the upload-memory run (default 100); BENCH_MAX_UPLOAD_RSS_MB its budget (default 10)
#   BENCH_KEEP=1       keep the work folder (wrk outputs, server log, data) for inspection
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${PARLEY_BIN:-$root/.build/release/parley}
duration=${BENCH_DURATION:-10s}
read -r -a connections <<<"${BENCH_CONNECTIONS:-1 64 256}"
tickets=256
helper=(python3 "$here/bench.py")

[[ -x $bin ]] || { echo "bench: no server binary at $bin (run: swift build -c release)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk not found (run: make bench-deps)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
server_pid=""

cleanup() {
  local status=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # Give it 10 s to finish in-flight syncs, then stop it hard.
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    echo "bench: failed; last lines of the server log:" >&2
    tail -n 20 "$work/server.log" >&2 || true
  fi
  if [[ ${BENCH_KEEP:-0} == 1 || $status -ne 0 ]]; then
    echo "bench: outputs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$("${helper[@]}" free-port)
base="http://127.0.0.1:$port"

# Rate limits off: the bench sends far more messages per ticket than any visitor may.
PARLEY_BENCH=1 PARLEY_RATE_LIMITS=off \
  "$bin" serve --data "$work/data" --host 127.0.0.1 --port "$port" --public "$root/Public" \
  >"$work/server.log" 2>&1 </dev/null &
server_pid=$!

"${helper[@]}" wait "$base" "$server_pid"
"${helper[@]}" tickets "$base" "$tickets" "$work/tickets.txt"
echo "bench: server on $base ($bin), $tickets tickets, wrk ${duration} per run"

# run MODE CONNECTIONS DURATION OUTFILE: one wrk run; keep-alive is wrk's default.
run() {
  local mode=$1 conns=$2 dur=$3 out=$4
  local threads=$(( conns < 2 ? conns : 2 ))   # wrk needs at least one connection per thread
  # Start each run from a quiet disk: the write-back a durable run leaves behind (its logs are
  # synced at checkpoints, after the run) would otherwise be charged to the run that follows.
  sync
  wrk --threads "$threads" --connections "$conns" --duration "$dur" --timeout 5s --latency \
    --script "$here/post.lua" "$base" -- "$mode" "$work/tickets.txt" "$(basename "$out" .out)" "$threads" \
    >"$out"
}

# Short warm-up, not reported (its acknowledged messages still count in the on-disk check).
run durable 64 2s "$work/warmup.out"

for c in "${connections[@]}"; do
  echo "bench: $c connections: durable…"
  run durable "$c" "$duration" "$work/durable-$c.out"
  echo "bench: $c connections: noop…"
  run noop "$c" "$duration" "$work/noop-$c.out"
done

# Serving the loader: GET /widget.js with keep-alive and gzip, parley vs nginx on the same file in
# the same run (nginx: Debian's nginx-light, gzip on, as a shop's own site would serve it).
if command -v nginx >/dev/null; then
  nginx_port=$("${helper[@]}" free-port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  types { text/javascript js; }
  gzip on; gzip_types text/javascript; gzip_min_length 256;
  server { listen 127.0.0.1:$nginx_port; root $root/Public; }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
  # Stop nginx too on exit, keeping the exit status cleanup reports.
  trap 'st=$?; nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true; (exit $st); cleanup' EXIT
  loader() {  # loader NAME URL
    wrk --threads 2 --connections 64 --duration "$duration" --latency -H 'Accept-Encoding: gzip' "$2/widget.js" >"$work/loader-$1.out"
  }
  echo "bench: GET /widget.js, 64 connections: parley…"
  loader parley "$base"
  echo "bench: GET /widget.js, 64 connections: nginx…"
  loader nginx "http://127.0.0.1:$nginx_port"
fi

loader_status=0
if [[ -f $work/loader-nginx.out ]]; then
  "${helper[@]}" loader "$work" "${BENCH_MIN_LOADER_RATIO:-0.70}" || loader_status=$?
else
  echo "bench: nginx not installed, /widget.js not compared (make bench-deps installs it)"
fi
# A large upload: a second server whose demo widget takes files up to 1 GB.
upload_status=0
mkdir -p "$work/data-upload/config/widgets"
echo '{"id": "demo", "name": "Demo", "maxFileSize": 1073741824}' >"$work/data-upload/config/widgets/demo.json"
up_port=$("${helper[@]}" free-port)
PARLEY_RATE_LIMITS=off "$bin" serve --data "$work/data-upload" --host 127.0.0.1 --port "$up_port" --public "$root/Public" \
  >"$work/server-upload.log" 2>&1 </dev/null &
up_pid=$!
"${helper[@]}" wait "http://127.0.0.1:$up_port" "$up_pid"
"${helper[@]}" upload-memory "http://127.0.0.1:$up_port" "$up_pid" "${BENCH_UPLOAD_MB:-100}" "${BENCH_MAX_UPLOAD_RSS_MB:-10}" || upload_status=$?
kill -TERM "$up_pid" 2>/dev/null || true
wait "$up_pid" 2>/dev/null || true

"${helper[@]}" report "$work" "$work/data" "${connections[@]}"
[[ $loader_status -eq 0 ]] || exit "$loader_status"
exit "$upload_status"
