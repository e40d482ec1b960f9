#!/usr/bin/env bash
# Remote-write throughput into a real Prometheus (receiver on), and what a 30-second outage of
# the receiver loses: 1,000 series × 600 points (a watcher's series for 10 minutes), first
# straight through, then again with Prometheus stopped for 30 s in the middle of the run.
# Prints the sender's counters and what Prometheus holds afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || { echo "needs prometheus (apt-get install prometheus)" >&2; exit 2; }
series=${SERIES:-1000}
points=${POINTS:-600}
cargo build --release --quiet -p goleash-watch --example remote_write_load
load=target/release/examples/remote_write_load
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' >"$tmp/prometheus.yml"
start_prometheus() {
    prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && return; sleep 0.2; done
}
count() {
    curl -s "http://127.0.0.1:$port/api/v1/query" --data-urlencode \
        "query=sum(count_over_time(goleash_bench_goroutines[1h]))" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}
start_prometheus
echo "== straight through: $series series x $points points"
/usr/bin/time -f 'sender: %e s wall, %U s user, %M KB max RSS' "$load" "http://127.0.0.1:$port/api/v1/write" "$series" "$points"
echo "Prometheus holds $(count) samples"

kill "$pid"; wait "$pid" 2>/dev/null || true
rm -rf "$tmp/data"
start_prometheus
echo "== with a 30 s outage of the receiver (pushed over 60 s)"
"$load" "http://127.0.0.1:$port/api/v1/write" "$series" "$points" 100 &
sender=$!
sleep 15
kill "$pid"; wait "$pid" 2>/dev/null || true
sleep 30
start_prometheus
wait "$sender"
echo "Prometheus holds $(count) samples"
