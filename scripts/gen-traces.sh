#!/usr/bin/env bash
# gen-traces.sh: regenerate the execution traces in testdata/traces from the real Go programs in
# testdata/scenarios (one per MANIFEST.tsv row), with runtime/trace.
#
#   scripts/gen-traces.sh
#
# Every program is built with -trimpath by Go 1.27.3 (scripts/ensure-go.sh) and run with
# SNAP_TRACE set: internal/snap starts the trace before main, lets the goroutines settle
# (SNAP_SETTLE, default 1s), runs two GCs, waits SNAP_WAIT (default 2s here), stops the trace
# and exits. Go 1.27 writes the `go 1.26 trace` format.
#
# The older v2 formats come from testdata/tracever (a module of go 1.22) built by the Go 1.22,
# 1.23, 1.24, 1.25 and 1.26 toolchains, which `go` fetches from the Go module proxy (GOTOOLCHAIN=goX.Y.Z),
# into testdata/traces/versions/goX.Y.Z.trace (formats go 1.22, 1.23, 1.25, 1.26).
#
# Nothing in testdata/traces is touched unless every program succeeded.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
scen=$root/testdata/scenarios
traces=$root/testdata/traces

. "$root/scripts/ensure-go.sh"

export SNAP_WAIT=${SNAP_WAIT:-2s}
unset SNAP_OUT SNAP_SETTLE GOTRACEBACK GODEBUG

work=$(mktemp -d "${TMPDIR:-/tmp}/goleash-traces.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/out"

scenarios=$(awk -F'\t' 'NR > 1 { print $1 }' "$scen/MANIFEST.tsv")
(cd "$scen" && for s in $scenarios; do go build -trimpath -o "$work/bin/$s" "./$s"; done)

# Run them all at once (each mostly sleeps), each with a time limit.
declare -A pids=()
for s in $scenarios; do
	SNAP_TRACE=$work/out/$s.trace timeout 60 "$work/bin/$s" >"$work/out/$s.log" 2>&1 &
	pids[$s]=$!
done
failed=0
for s in $scenarios; do
	if ! wait "${pids[$s]}"; then
		echo "gen-traces: $s failed:" >&2
		cat "$work/out/$s.log" >&2
		failed=1
	fi
done
[ "$failed" = 0 ] || exit 1

for s in $scenarios; do
	head -c 16 "$work/out/$s.trace" | grep -q '^go 1\.26 trace' || {
		echo "gen-traces: $s: not a go 1.26 trace" >&2
		exit 1
	}
done
# toolchain:the trace format it writes (Go 1.24 kept 1.23's, Go 1.26 started 1.26's).
old_toolchains="1.22.12:1.22 1.23.12:1.23 1.24.11:1.23 1.25.5:1.25 1.26.8:1.26"
for pair in $old_toolchains; do
	v=${pair%%:*} format=${pair#*:}
	(cd "$root/testdata/tracever" && GOTOOLCHAIN=go$v go build -trimpath -o "$work/bin/tracever-$v" .)
	"$work/bin/tracever-$v" -out "$work/out/go$v.trace"
	head -c 16 "$work/out/go$v.trace" | grep -q "^go $format trace" || {
		echo "gen-traces: go$v: expected a go $format trace" >&2
		exit 1
	}
done

mkdir -p "$traces/versions"
for s in $scenarios; do cp "$work/out/$s.trace" "$traces/$s.trace"; done
for pair in $old_toolchains; do v=${pair%%:*}; cp "$work/out/go$v.trace" "$traces/versions/go$v.trace"; done
go version >"$traces/GO_VERSION"
ls -l "$traces" "$traces/versions"
