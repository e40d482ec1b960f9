#!/usr/bin/env bash
# Regenerates the dashboard screenshots in docs/img/: a real leaking service
# (testdata/watch/leaky, leaking on its own every 200 ms) and a steady one are watched with
# --listen; the leaky one is killed and started again mid-run (a restart marker and a gap in
# the chart), then headless Chromium (Debian's chromium) photographs the page and a shared
# link to the leaking group. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ensure-go.sh
. scripts/ensure-go.sh
command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 2; }

cargo build --quiet --bin goleash
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
(cd testdata/watch && go build -trimpath -o "$tmp/" ./leaky ./steady)

leaky=127.0.0.1:18381 steady=127.0.0.1:18382 listen=127.0.0.1:18390
# The services exit when their stdin closes (so a dead test leaves none behind): feed them
# a pipe that stays open until this script ends.
mkfifo "$tmp/stdin"
sleep 600 >"$tmp/stdin" & pids+=($!)
exec 3<"$tmp/stdin"
"$tmp/leaky" -addr "$leaky" -leak-every 200ms <&3 >/dev/null & pids+=($!)
"$tmp/steady" -addr "$steady" <&3 >/dev/null & pids+=($!)
target/debug/goleash watch --no-db --interval 500ms --window 3m --min-span 10s --min-samples 8 \
    --listen "$listen" "http://$leaky" "http://$steady" >/dev/null 2>&1 & pids+=($!)
sleep 25
kill "${pids[1]}"; sleep 6
"$tmp/leaky" -addr "$leaky" -leak-every 200ms <&3 >/dev/null & pids+=($!)
sleep 30

shoot() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$tmp/chromium" --window-size=1040,1400 --virtual-time-budget=4000 \
        --screenshot="$1" "$2" 2>/dev/null
}
shoot docs/img/watch-dashboard.png "http://$listen/"
group=$(curl -s "http://$listen/api/state" | python3 -c '
import json, sys
state = json.load(sys.stdin)
print(next(g["hash"] for t in state["targets"] for g in t["groups"] if g["suspect"]))')
shoot docs/img/watch-dashboard-group.png "http://$listen/#target=http%3A%2F%2F$leaky%2Fdebug%2Fpprof&group=$group"
echo "wrote docs/img/watch-dashboard.png and docs/img/watch-dashboard-group.png (group $group)"
