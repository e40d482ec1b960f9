#!/usr/bin/env bash
# fuzz/fuzz-all.sh [SECONDS]: run every fuzz target for SECONDS (default 240) from its seeds.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-240}
for target in parse_any traceback legacy proto transport lint_package trace; do
	mkdir -p "corpus/$target"
	cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
	if [ "$target" = transport ]; then
		# The wrapped real captures are the seeds.
		cp -n ../testdata/transports/* "corpus/$target/"
	fi
	if [ "$target" = trace ]; then
		# The real execution traces are the seeds (libFuzzer reads their first -max_len bytes).
		cp -n ../testdata/traces/*.trace "corpus/$target/"
	fi
	if [ "$target" = lint_package ]; then
		# The lint rules' own fixtures are the seeds: one Go file per rule directory.
		for f in ../crates/goleash-lint/fixtures/GL*/*.go; do
			cp -n "$f" "corpus/$target/$(basename "$(dirname "$f")")-$(basename "$f")"
		done
	fi
	echo "fuzz: $target for ${secs}s" >&2
	# -fork keeps going after a crash (each is saved under artifacts/); one job per core.
	cargo +nightly fuzz run "$target" "corpus/$target" -- \
		-max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
		-fork="${FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 ||
		status=1
done
exit "${status:-0}"
