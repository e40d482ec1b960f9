#!/usr/bin/env bash
# gen-tracediff.sh: regenerate testdata/traces/diff (two moments of one growing leak, each as an
# execution trace and a debug=2 dump) from the real Go program in testdata/tracediff.
#
#   scripts/gen-tracediff.sh
#
# The program is built with -trimpath by Go 1.27.3 (scripts/ensure-go.sh), so frames read
# `goleash.test/tracediff/main.go:36`, never a path of this machine. It writes before.trace,
# before.txt, after.trace and after.txt; nothing in testdata/traces/diff is touched unless the
# run succeeded and every file has the expected header.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
out=$root/testdata/traces/diff

. "$root/scripts/ensure-go.sh"
unset GOTRACEBACK GODEBUG

work=$(mktemp -d "${TMPDIR:-/tmp}/goleash-tracediff.XXXXXX")
trap 'rm -rf "$work"' EXIT

(cd "$root/testdata/tracediff" && go vet ./... && go build -trimpath -o "$work/tracediff" .)
mkdir "$work/out"
timeout 60 "$work/tracediff" -out "$work/out"

for m in before after; do
	head -c 16 "$work/out/$m.trace" | grep -q '^go 1\.26 trace' || {
		echo "gen-tracediff: $m.trace: not a go 1.26 trace" >&2
		exit 1
	}
	head -1 "$work/out/$m.txt" | grep -q '^goroutine 1 \[running\]:' || {
		echo "gen-tracediff: $m.txt: not a debug=2 goroutine dump" >&2
		exit 1
	}
done
if grep -q "$HOME" "$work/out/"*; then
	echo "gen-tracediff: a path of this machine ($HOME) is in the output; was -trimpath lost?" >&2
	exit 1
fi

mkdir -p "$out"
cp "$work/out/before.trace" "$work/out/before.txt" "$work/out/after.trace" "$work/out/after.txt" "$out/"
go version >"$out/GO_VERSION"
ls -l "$out"
