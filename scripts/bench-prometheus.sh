#!/usr/bin/env bash
# Measures Prometheus-driven watching over a fleet: N instances' go_goroutines for the last
# 30 minutes (one point every 15 s; 1% of them leak, the rest follow load or stay flat) are
# backfilled into a real Prometheus (promtool tsdb create-blocks-from openmetrics), then
# `goleash watch --prometheus … --once` reads them, judges every series and picks the growing
# ones; /usr/bin/time gives its wall time, CPU and peak memory. The growing instances point at
# closed ports, so the figure is the selection's cost, not scrapes.
#
#   scripts/bench-prometheus.sh            # 2000 instances
#   N=5000 scripts/bench-prometheus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-2000}
command -v prometheus >/dev/null || { echo "needs prometheus (apt-get install prometheus)" >&2; exit 2; }
cargo build --release --quiet --bin goleash
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

python3 - "$n" >"$tmp/series.om" <<'PY'
import math, random, sys, time
n = int(sys.argv[1])
now = int(time.time())
random.seed(7)
print("# HELP go_goroutines Number of goroutines that currently exist.")
print("# TYPE go_goroutines gauge")
for i in range(n):
    kind = "leak" if i % 100 == 0 else ("load" if i % 3 == 0 else "flat")
    for k in range(120):
        t = now - 1800 + k * 15
        if kind == "leak":
            v = 200 + 3 * k
        elif kind == "load":
            v = 200 + 150 * max(0.0, math.sin(k / 8.0)) + random.randint(0, 5)
        else:
            v = 200 + random.randint(0, 3)
        print(f'go_goroutines{{job="api",instance="127.0.0.1:{10000 + i}",kind="{kind}"}} {v} {t}')
print("# EOF")
PY
promtool tsdb create-blocks-from openmetrics -q "$tmp/series.om" "$tmp/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' >"$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.2; done

echo "== $n instances, 30 min of go_goroutines every 15 s ($((n * 120)) samples)"
/usr/bin/time -f 'goleash: %e s wall, %U s user, %S s sys, %M KB max RSS' \
    target/release/goleash watch --prometheus "http://127.0.0.1:$port" --once --no-db \
    --window 30m --min-span 10m --timeout 2s --format json 2>"$tmp/stderr" >/dev/null || true
grep -c 'grows' "$tmp/stderr" | sed 's/^/growing instances picked: /'
grep -o 'kind=[a-z]*' "$tmp/stderr" | sort | uniq -c || true
tail -n 1 "$tmp/stderr"
