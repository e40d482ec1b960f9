#!/usr/bin/env bash
# Measures goleash watch on N simulated services on loopback: one Go process (testdata/watch/
# fleet) serves net/http/pprof on N ports of 127.0.0.1. Reports goleash's CPU and peak memory,
# the scrape-and-analyze cost per target per round, and the history's growth per target per
# day. Usage: scripts/watch-measure.sh [N] [INTERVAL] [ROUNDS]   (defaults: 200 10s 18)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
INTERVAL=${2:-10s}
ROUNDS=${3:-18}

# shellcheck source=scripts/ensure-go.sh
. scripts/ensure-go.sh
cargo build --release --quiet -p goleash
tmp=$(mktemp -d)
(cd testdata/watch && go build -trimpath -o "$tmp/fleet" ./fleet)

# The fleet exits when its stdin closes: feed it from a sleep we kill at the end.
sleep 100000 | "$tmp/fleet" -n "$N" -groups 30 -per 10 -leak 1 > "$tmp/ports" &
fleet_pid=$!
feeder=$(jobs -p | head -1)
cleanup() { kill "$fleet_pid" "$feeder" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do
    [ "$(wc -l < "$tmp/ports")" -ge "$N" ] && break
    sleep 0.1
done
python3 - "$tmp/ports" > "$tmp/targets.json" <<'PY'
import json, sys
addrs = [l.split("http://", 1)[1].strip() for l in open(sys.argv[1]) if "http://" in l]
print(json.dumps([{"targets": addrs, "labels": {"job": "fleet"}}]))
PY

/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
    target/release/goleash watch --targets "$tmp/targets.json" --interval "$INTERVAL" \
    --rounds "$ROUNDS" --db "$tmp/watch.db" --format json > "$tmp/report.json" &
timer=$!
# Resident memory while watching, sampled each second (the peak from time(1) also counts
# building the final JSON report).
steady_kb=0
while kill -0 "$timer" 2>/dev/null; do
    pid=$(pgrep -P "$timer" goleash || true)
    if [ -n "$pid" ]; then
        kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$steady_kb" ] && steady_kb=$kb
    fi
    sleep 1
done
wait "$timer" || true
read -r wall user sys maxrss_kb < "$tmp/time"
db_bytes=$(stat -c %s "$tmp/watch.db")
python3 - "$tmp/report.json" "$wall" "$user" "$sys" "$maxrss_kb" "$db_bytes" "$N" "$ROUNDS" "$INTERVAL" "$steady_kb" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall, user, sys_, rss_kb, db, n, rounds = map(float, sys.argv[2:9])
interval = sys.argv[9]
steady_kb = float(sys.argv[10])
ts = report["targets"]
up = sum(1 for t in ts if t["up"])
scrape = sum(t["scrape_seconds_avg"] or 0 for t in ts) / len(ts)
analyze = sum(t["analyze_seconds_avg"] or 0 for t in ts) / len(ts)
secs = {"s": 1, "m": 60, "h": 3600}[interval[-1]] * float(interval[:-1]) if interval[-1] in "smh" else float(interval)
per_day_rounds = 86400 / secs
print(f"targets: {int(n)} ({up} up), rounds: {int(rounds)} every {interval}, wall {wall:.1f}s")
print(f"goleash CPU: {user + sys_:.2f}s user+sys = {100 * (user + sys_) / wall:.2f}% of one core; RSS while watching {steady_kb / 1024:.1f} MiB, peak with the final report {rss_kb / 1024:.1f} MiB")
print(f"per target per round: scrape+parse+analyze {scrape * 1000:.2f} ms wall (of which parse+analyze {analyze * 1000:.2f} ms)")
print(f"history: {db / 1024:.0f} KiB after {int(rounds)} rounds = {db / n / rounds:.0f} B per target per scrape"
      f" = {db / n / rounds * per_day_rounds / 1024 / 1024:.2f} MiB per target per day at {interval}")
PY
