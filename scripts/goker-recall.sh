#!/usr/bin/env bash
# goker-recall.sh: how many of the goroutine-leak kernels shipped with Go 1.27.3 `goleash lint`
# points at (docs/goker-recall.md explains the method and holds the baseline).
#
#   scripts/goker-recall.sh                      # build goleash (release), score default + ALL
#   scripts/goker-recall.sh --goleash BIN        # score that binary instead of building one
#   scripts/goker-recall.sh --regen-truth [--runs 10] [--retry 40]
#                                                # first re-run the kernels (N runs each, R more
#                                                # for kernels that leaked in none) and rewrite
#                                                # scripts/goker/truth.tsv (~1.5 min on 2 cores)
#   scripts/goker-recall.sh --select GL001,GL005 # score one extra selection as well
#
# Writes target/goker-recall/{default,all[,extra]}.md (and prints them). Exit 2 when it cannot
# measure (wrong Go, build failure, missing binary, truth made from other sources).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

regen=0 runs=10 retry=40 goleash="" extra="" label=""
out="$root/target/goker-recall"
while [ $# -gt 0 ]; do
	case $1 in
	--regen-truth) regen=1 ;;
	--runs) runs=$2; shift ;;
	--retry) retry=$2; shift ;;
	--goleash) goleash=$2; shift ;;
	--select) extra=$2; shift ;;
	--out) out=$2; shift ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "goker-recall: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=scripts/ensure-go.sh
. scripts/ensure-go.sh >&2 || { echo "goker-recall: Go 1.27.3 is required (the kernels' line numbers are its tree's)" >&2; exit 2; }
mkdir -p "$out"

if [ -z "$goleash" ]; then
	target=${CARGO_TARGET_DIR:-$root/target}
	if [ "$(cd "$target" 2>/dev/null && pwd -P)" != "$root/target" ]; then
		# A target dir shared with other checkouts holds whichever checkout built last, and
		# cargo judges path crates fresh by mtime, so it can take another checkout's build for
		# this one's. Touching this checkout's crate sources makes it rebuild them from here.
		echo "== CARGO_TARGET_DIR is shared ($target): touching crates/*/src so goleash is built from this checkout" >&2
		find crates -path '*/src/*' -name '*.rs' -exec touch {} +
	fi
	echo "== cargo build --release -p goleash" >&2
	cargo build --release -p goleash >&2 || { echo "goker-recall: building goleash failed" >&2; exit 2; }
	# ... and may be rebuilt from another checkout at any time: score a copy.
	cp "$target/release/goleash" "$out/goleash"
	goleash=$out/goleash
	label="built from $(git rev-parse --short HEAD)"
	git diff --quiet HEAD -- crates Cargo.toml Cargo.lock || label="$label + uncommitted changes"
else
	label="binary $(basename "$goleash")"
fi
if [ ! -x "$goleash" ]; then
	echo "goker-recall: goleash binary '$goleash' not found or not executable" >&2
	exit 2
fi
goleash=$(cd "$(dirname "$goleash")" && pwd -P)/$(basename "$goleash")

# Built rather than `go run`, which would turn the tool's exit status 2 into 1.
(cd scripts/goker && go build -o "$out/goker" .) || { echo "goker-recall: building scripts/goker failed" >&2; exit 2; }
goker() { "$out/goker" "$@"; }
truth=$root/scripts/goker/truth.tsv

if [ "$regen" = 1 ]; then
	echo "== goker truth -runs $runs -retry $retry" >&2
	goker truth -runs "$runs" -retry "$retry" -o "$truth"
fi

echo "== goker score (default rule set, --select ALL${extra:+, --select $extra})" >&2
goker score -goleash "$goleash" -label "$label" -truth "$truth" -o "$out/default.md"
echo
goker score -goleash "$goleash" -label "$label" -truth "$truth" -select ALL -o "$out/all.md"
if [ -n "$extra" ]; then
	echo
	goker score -goleash "$goleash" -label "$label" -truth "$truth" -select "$extra" -o "$out/extra.md"
fi
echo "goker-recall: tables written to ${out#"$root"/}/" >&2
