#!/usr/bin/env bash
# Measures goleash watch's schedule and cost on N loopback targets against curl doing the
# same scrapes on the same schedule. One Go process (scripts/fakepprof) serves a real captured
# goroutine profile (480 goroutines in 40 stacks; debug=0 and debug=2) on N ports of 127.0.0.1.
#
#   scripts/bench-watch.sh [N] [INTERVAL_SECONDS] [CYCLES] [CONCURRENCY]   (defaults 1000 10 12 16)
#
# Prints: the watcher's cycle durations, missed slots, errors, CPU, RSS (while watching, and
# peak), CPU per scrape; curl's CPU per scrape for the same URLs on the same schedule (one
# process per scrape as `xargs -P16 curl` does, and 100 URLs per process over keep-alive);
# and, with hyperfine, one cycle of protobuf scrapes (`--once --full-every 0`) against curl.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
INTERVAL=${2:-10}
CYCLES=${3:-12}
CONC=${4:-16}

# Each target is a socket in the watcher and two (listener, connection) in the fake.
ulimit -n "$(ulimit -Hn)"
need=$((2 * N + 200))
if [ "$(ulimit -n)" -lt "$need" ]; then
    echo "bench-watch: ulimit -n is $(ulimit -n); $N targets need $need" >&2
    exit 2
fi

# shellcheck source=scripts/ensure-go.sh
. scripts/ensure-go.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -j1 --quiet -p goleash
goleash=$CARGO_TARGET_DIR/release/goleash
tmp=$(mktemp -d)
(cd scripts/fakepprof && GOTOOLCHAIN=local go build -trimpath -o "$tmp/fakepprof" .)

sleep 1000000 | "$tmp/fakepprof" -n "$N" > "$tmp/ports" 2> "$tmp/fake.err" &
fake_pid=$!
feeder=$(jobs -p | head -1)
cleanup() { kill "$fake_pid" "$feeder" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 600); do
    [ "$(wc -l < "$tmp/ports")" -ge "$N" ] && break
    sleep 0.1
done
cat "$tmp/fake.err"
sed 's/^listening on //' "$tmp/ports" > "$tmp/bases"
python3 - "$tmp/bases" > "$tmp/targets.json" <<'PY'
import json, sys
addrs = [l.strip().split("http://", 1)[1] for l in open(sys.argv[1]) if l.strip()]
print(json.dumps([{"targets": addrs, "labels": {"job": "fake"}}]))
PY
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"

# --- the watcher ---------------------------------------------------------------------------
/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
    "$goleash" watch --targets "$tmp/targets.json" --interval "${INTERVAL}s" \
    --rounds "$CYCLES" --concurrency "$CONC" --db "$tmp/watch.db" --format json \
    > "$tmp/report.json" 2> "$tmp/watch.err" &
timer=$!
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
grep -E '^goleash watch: [0-9]+ cycle' "$tmp/watch.err" || tail -5 "$tmp/watch.err"
read -r wall user sys maxrss_kb < "$tmp/time"

# --- curl, the same scrapes on the same schedule -------------------------------------------
# Cycle k: every target's protobuf, and the debug=2 text of the targets whose full round it
# is (all in cycle 0, then target i when (k + i) mod 10 == 0), as the watcher fetches them.
python3 - "$tmp/bases" "$CYCLES" "$tmp" <<'PY'
import sys
bases = [l.strip() for l in open(sys.argv[1]) if l.strip()]
cycles, tmp = int(sys.argv[2]), sys.argv[3]
for k in range(cycles):
    with open(f"{tmp}/urls.{k}", "w") as f:
        for i, b in enumerate(bases):
            f.write(f"{b}/debug/pprof/goroutine?debug=0\n")
            if k == 0 or (k + i) % 10 == 0:
                f.write(f"{b}/debug/pprof/goroutine?debug=2\n")
PY
curl_loop() { # $1: URLs per curl process
    for k in $(seq 0 $((CYCLES - 1))); do
        start=$(date +%s.%N)
        xargs -P "$CONC" -n "$1" curl -s -m 10 < "$tmp/urls.$k" > /dev/null || true
        left=$(echo "$start + $INTERVAL - $(date +%s.%N)" | bc)
        if [ "$(echo "$left > 0" | bc)" = 1 ] && [ "$k" -lt $((CYCLES - 1)) ]; then sleep "$left"; fi
    done
}
export -f curl_loop
export CYCLES INTERVAL CONC tmp
/usr/bin/time -f '%e %U %S' -o "$tmp/curl1" bash -c 'curl_loop 1'
/usr/bin/time -f '%e %U %S' -o "$tmp/curl100" bash -c 'curl_loop 100'
requests=$(cat "$tmp"/urls.* | wc -l)

python3 - "$tmp/report.json" "$wall" "$user" "$sys" "$maxrss_kb" "$steady_kb" "$N" "$CYCLES" "$INTERVAL" "$requests" "$tmp/curl1" "$tmp/curl100" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
wall, user, sys_, rss_kb, steady_kb = map(float, sys.argv[2:7])
n, cycles, interval, requests = int(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10])
c1 = list(map(float, open(sys.argv[11]).read().split()))
c100 = list(map(float, open(sys.argv[12]).read().split()))
ts = report["targets"]
up = sum(1 for t in ts if t["up"])
scrapes = sum(t["scrapes"] for t in ts)
errors = {}
for t in ts:
    for k, v in t["errors"].items():
        errors[k] = errors.get(k, 0) + v
cpu = user + sys_
print(f"targets: {n} ({up} up at the end), {cycles} cycles every {interval:g}s, watcher wall {wall:.1f}s")
print(f"scrapes: {scrapes} of {n * cycles} slots; errors: {errors or 'none'}")
print(f"watcher CPU: {cpu:.2f}s user+sys = {100 * cpu / wall:.1f}% of one core; {1000 * cpu / scrapes:.3f} ms per scrape")
print(f"watcher RSS: {steady_kb / 1024:.0f} MiB while watching, {rss_kb / 1024:.0f} MiB peak")
for name, c in (("curl, one process per request", c1), ("curl, 100 URLs per process", c100)):
    ccpu = c[1] + c[2]
    print(f"{name}: {requests} requests in {c[0]:.1f}s, CPU {ccpu:.2f}s = {1000 * ccpu / (n * cycles):.3f} ms per scrape"
          f" -> watcher/curl {cpu / ccpu:.2f}x")
PY

# --- one cycle of protobuf scrapes, watcher against curl, with hyperfine -------------------
sed 's|$|/debug/pprof/goroutine?debug=0|' "$tmp/bases" > "$tmp/proto-urls"
hyperfine --warmup 1 --runs 5 --export-json "$tmp/hf.json" \
    "$goleash watch --targets $tmp/targets.json --once --no-db --full-every 0 --concurrency $CONC --format json > /dev/null 2>&1 || true" \
    "xargs -P $CONC -n 100 curl -s -m 10 < $tmp/proto-urls > /dev/null" > "$tmp/hf.out" 2>&1 || cat "$tmp/hf.out"
python3 - "$tmp/hf.json" "$N" <<'PY'
import json, sys
n = int(sys.argv[2])
rs = json.load(open(sys.argv[1]))["results"]
names = ["watcher --once (protobuf)", "curl, 100 URLs per process"]
cpu = [r["user"] + r["system"] for r in rs]
for name, r, c in zip(names, rs, cpu):
    print(f"hyperfine, one cycle of {n} protobuf scrapes, {name}: wall {r['mean']:.3f}s ± {r['stddev']:.3f}, CPU {c:.3f}s = {1000 * c / n:.3f} ms per scrape")
print(f"hyperfine: watcher/curl CPU {cpu[0] / cpu[1]:.2f}x (the watcher's includes its start, parsing and judging)")
PY
