#!/usr/bin/env bash
# trace-bench.sh: the "Measured" figures of docs/trace.md. Writes a large execution trace with
# bench/tracegen, then reads it with `goleash trace --format json`, with the trace_states
# example (goleash's reader alone) and with bench/tracestates (Go's own reader,
# golang.org/x/exp/trace, counting goroutines per final state without printing events), each
# under /usr/bin/time -v, and prints one table row per reader plus both readers' state counts.
#
#   scripts/trace-bench.sh                   # a trace of about 1 GB (SIZE=1000000000)
#   SIZE=150000000 scripts/trace-bench.sh    # a smaller one
#   KEEP=1 scripts/trace-bench.sh            # keep the trace (deleted by default: it is large)
#
# tracegen stops when the file reaches SIZE bytes or after FOR (default 10m), whichever comes
# first, so the size does not depend on how busy the machine is.
#
# The trace is written under ${TMPDIR:-/tmp} and never anywhere in the repository. Go 1.27.3
# comes from scripts/ensure-go.sh; bench/tracestates needs golang.org/x/exp from the Go module
# proxy (pinned by its go.sum). CARGO_TARGET_DIR is honoured.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
. "$root/scripts/ensure-go.sh" >/dev/null
target=${CARGO_TARGET_DIR:-$root/target}
for_=${FOR:-10m}
size=${SIZE:-1000000000}

work=$(mktemp -d "${TMPDIR:-/tmp}/goleash-trace-bench.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
	trap 'echo "kept $work" >&2' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

echo "== building" >&2
(cd "$root/bench/tracegen" && go build -trimpath -o "$work/tracegen" .)
(cd "$root/bench/tracestates" && go build -trimpath -o "$work/tracestates" .)
(cd "$root" && cargo build --quiet --release -p goleash && cargo build --quiet --release -p goleash-parse --example trace_states)

echo "== writing the trace (tracegen -for $for_ -size $size)" >&2
"$work/tracegen" -out "$work/big.trace" -for "$for_" -size "$size"
bytes=$(stat -c %s "$work/big.trace")
echo "trace: $bytes bytes, header $(head -c 13 "$work/big.trace")" >&2

# run NAME OUT CMD...: runs CMD under /usr/bin/time -v with stdout to OUT, prints a table row.
run() {
	local name=$1 out=$2
	shift 2
	/usr/bin/time -v -o "$work/time.txt" "$@" >"$out" 2>"$out.err" || {
		local rc=$?
		# goleash exits 1 when it finds leaks, as it does here.
		[ "$rc" = 1 ] || { cat "$out.err" >&2; return "$rc"; }
	}
	awk -v name="$name" -v bytes="$bytes" -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
		/User time/ { user = $2 }
		/Maximum resident set size/ { rss = $2 }
		END { printf "| %s | %.2f s (%.2f s user) | %.0f MB/s | %.0f MB |\n", name, wall, user, bytes / 1e6 / wall, rss / 1024 }
	' "$work/time.txt"
}

echo "| reader | wall | read speed | peak RSS |"
echo "|---|---:|---:|---:|"
run '`goleash trace … --format json`' "$work/goleash.json" "$target/release/goleash" trace "$work/big.trace" --format json --max-bytes 64G
run '`trace_states` example' "$work/goleash.states" "$target/release/examples/trace_states" "$work/big.trace"
run '`tracestates` (golang.org/x/exp/trace)' "$work/go.states" "$work/tracestates" "$work/big.trace"

echo
echo "goleash's reader (trace_states: $(cat "$work/goleash.states.err")):"
cat "$work/goleash.states"
echo "Go's reader (tracestates: $(cat "$work/go.states.err")):"
cat "$work/go.states"
echo "goleash trace: $(grep -o '"total": [0-9]*' "$work/goleash.json" | head -1) goroutines judged"
