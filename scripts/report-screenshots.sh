#!/usr/bin/env bash
# Regenerates the HTML report screenshots in docs/img/ from a real dump in testdata/dumps
# (http_no_timeout: a program whose HTTP calls without a timeout leak, captured with
# scripts/gen-fixtures.sh) and its source in testdata/scenarios: the whole page, then the
# flame graph zoomed into the leaking call with its group opened (the state a click gives,
# set through the page's #fragment). Needs Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 2; }
cargo build --quiet --bin goleash
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dump=testdata/dumps/http_no_timeout/goroutine.debug2.txt
target/debug/goleash analyze "$dump" --source testdata/scenarios --format html >"$tmp/report.html" || true
# The first group the page lists as likely or proven, and its blocking frame, for the zoom.
read -r group site < <(python3 - "$tmp/report.html" <<'PY'
import json, sys
html = open(sys.argv[1]).read()
start = html.index('<script id="data" type="application/json">') + len('<script id="data" type="application/json">')
data = json.loads(html[start:html.index("</script>", start)].replace("<\\/", "</"))
rank = {"proven": 3, "likely": 2, "possible": 1, "expected": 0}
i, g = max(enumerate(data["groups"]), key=lambda p: (rank[p[1]["verdict"]], p[1]["count"]))
print(i, g["site"])
PY
)
shoot() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$tmp/chromium" --window-size=1200,"$2" --virtual-time-budget=3000 \
        --screenshot="$1" "file://$tmp/report.html$3" 2>/dev/null
}
shoot docs/img/report.png 1100 ""
shoot docs/img/report-group.png 1500 "#open=$group"
echo "wrote docs/img/report.png and docs/img/report-group.png (group $group, site frame $site)"
