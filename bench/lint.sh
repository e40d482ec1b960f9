#!/usr/bin/env bash
# bench/lint.sh: `goleash lint` against `gofmt -l` (the cheapest public tool that parses every
# Go file it is given) on Go's own source tree, on files nested 5,000 deep in ten shapes, and
# on dense generated files (one just under the 10 MiB parse limit, one of 50 MB).
#
#   bench/lint.sh                  # depth 5000, 50 MB dense file, 5 hyperfine runs
#   LINT_DEPTH=20000 LINT_RUNS=3 bench/lint.sh
#
# 1. builds goleash in release (cargo build --release -p goleash) and copies the binary;
# 2. writes the inputs with bench/lintgen into bench/out/lint (not marked generated, so that
#    they are linted);
# 3. times the Go tree with hyperfine (mean and min wall, user CPU) and every other input once
#    with /usr/bin/time (wall and peak RSS), cutting runs off after LINT_TIMEOUT seconds (30):
#    gofmt takes minutes on some of the nesting files;
# 4. prints a Markdown table and writes it to bench/out/lint-results.md.
#
# goleash runs with --fail-on never so its exit status says only whether it worked.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
depth=${LINT_DEPTH:-5000}
runs=${LINT_RUNS:-5}
dense_mb=${LINT_DENSE_MB:-50}
# gofmt is superlinear on some nesting shapes (minutes at depth 5000): runs are cut off here.
limit=${LINT_TIMEOUT:-30}
results="$out/lint-results.md"

log() { printf 'bench: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1 || [ "$(go env GOVERSION 2>/dev/null)" != go1.27.3 ]; then
	# shellcheck source=/dev/null
	. "$root/scripts/ensure-go.sh" >/dev/null
fi
export GOTOOLCHAIN=local
gofmt="$(go env GOROOT)/bin/gofmt"
gosrc="$(go env GOROOT)/src"
if ! command -v hyperfine >/dev/null 2>&1; then
	log "installing hyperfine"
	apt-get install -y hyperfine >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y hyperfine >/dev/null; }
fi
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null

log "building goleash (release)"
(cd "$root" && cargo build --release -p goleash --quiet)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$out/lint"
# A copy, so that a rebuild in a shared target directory cannot swap the binary mid-run.
goleash="$out/goleash-lint-bench"
cp "$target/release/goleash" "$goleash"

log "generating inputs (depth $depth, dense ${dense_mb} MB and 9 MB)"
(cd "$here/lintgen" && go run . -out "$out/lint" -depth "$depth" -dense-mb "$dense_mb" &&
	go run . -out "$out/lint" -depth "$depth" -dense-mb 9)

# once CMD...: "wall_s peak_rss_mib" of one run (">limit -" when it ran past $limit s).
once() {
	local stats="$out/lint-time.txt" status=0
	/usr/bin/time -o "$stats" -f '%e %M' timeout "$limit" "$@" >/dev/null 2>&1 || status=$?
	if [ "$status" = 124 ]; then
		echo ">$limit -"
	else
		# The last line: a failing command (gofmt -l on files that do not parse) adds a first one.
		tail -n 1 "$stats" | awk '{ printf "%.2f %d\n", $1, $2 / 1024 }'
	fi
}

{
	echo "Machine: $(nproc) cores, shared with other jobs (load average $(cut -d' ' -f1-3 /proc/loadavg) at the start);"
	echo "$(go version | cut -d' ' -f3), $("$goleash" --version 2>/dev/null || echo goleash). Wall seconds; peak RSS in MiB."
	echo
	echo "### Go source tree (GOROOT/src: $(find "$gosrc" -name '*.go' | wc -l) .go files)"
	echo
	json="$out/lint-hyperfine.json"
	hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$json" \
		"$goleash lint $gosrc --fail-on never --format json" \
		"$goleash lint $gosrc --select ALL --fail-on never --format json" \
		"$gofmt -l $gosrc" >&2
	echo "| command | mean wall (s) | min wall (s) | user CPU (s) | peak RSS (MiB) |"
	echo "|---|---:|---:|---:|---:|"
	for i in 0 1 2; do
		name=$(jq -r ".results[$i].command" "$json" | sed "s|$goleash|goleash|; s|$gofmt|gofmt|; s|$gosrc|GOROOT/src|")
		read -r mean min user < <(jq -r ".results[$i] | \"\(.mean) \(.min) \(.user)\"" "$json")
		read -r _ rss < <(once $(jq -r ".results[$i].command" "$json"))
		printf '| `%s` | %.2f | %.2f | %.2f | %s |\n' "$name" "$mean" "$min" "$user" "$rss"
	done
	echo
	echo "### Nesting depth $depth and dense files (one run each)"
	echo
	echo "| input | size | goleash \`--select ALL\` wall / RSS | goleash default wall / RSS | \`gofmt -l\` wall / RSS |"
	echo "|---|---:|---|---|---|"
	for file in "$out"/lint/nest_*_"$depth".go "$out/lint/dense_9mb.go" "$out/lint/dense_${dense_mb}mb.go"; do
		size=$(du -k "$file" | cut -f1)
		read -r aw ar < <(once "$goleash" lint "$file" --select ALL --fail-on never --format json)
		read -r dw dr < <(once "$goleash" lint "$file" --fail-on never --format json)
		read -r gw gr < <(once "$gofmt" -l "$file")
		printf '| %s | %s KiB | %s s / %s | %s s / %s | %s s / %s |\n' \
			"$(basename "$file")" "$size" "$aw" "$ar" "$dw" "$dr" "$gw" "$gr"
	done
	echo
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Reproduce: \`bench/lint.sh\`."
} | tee "$results"
log "wrote $results"
