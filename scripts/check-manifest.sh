#!/usr/bin/env bash
# check-manifest.sh [DUMPS_DIR]: check testdata/scenarios/MANIFEST.tsv against generated dumps.
#
# For every row, groups DUMPS_DIR/<scenario>/goroutine.debug2.txt by site (scripts/dump-sites.awk)
# and checks that site_function/site_file is a group whose wait state matches the category and
# whose size is the row's count. Prints how many of those goroutines the runtime marked
# "(leaked)" in goroutine-after-leakgc.debug2.txt. Also checks that every scenario directory has a
# row and every row a scenario directory. DUMPS_DIR defaults to testdata/dumps.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dumps=${1:-$root/testdata/dumps}
manifest=$root/testdata/scenarios/MANIFEST.tsv
sites="awk -f $root/scripts/dump-sites.awk"

# wait states (debug=2 header status) that each category may have
states_for() {
	case $1 in
	chan_receive | ticker_loop) echo "chan receive" ;;
	chan_send) echo "chan send" ;;
	nil_chan) printf '%s\n' "chan receive (nil chan)" "chan send (nil chan)" ;;
	select) printf '%s\n' "select" "select (no cases)" ;;
	waitgroup) echo "sync.WaitGroup.Wait" ;;
	mutex) printf '%s\n' "sync.Mutex.Lock" "sync.RWMutex.Lock" "sync.RWMutex.RLock" ;;
	cond) echo "sync.Cond.Wait" ;;
	io_wait) echo "IO wait" ;;
	sleep) echo "sleep" ;;
	*) return 1 ;;
	esac
}

fail=0
err() { echo "check-manifest: $*" >&2; fail=1; }

expected_header=$'scenario\tkind\tcategory\tsite_function\tsite_file\tcount'
if [ "$(head -n 1 "$manifest")" != "$expected_header" ]; then
	err "$manifest: bad header"
fi

declare -A listed=()
line=1
while IFS=$'\t' read -r scenario kind category func file count extra; do
	line=$((line + 1))
	where="MANIFEST.tsv:$line ($scenario)"
	listed[$scenario]=1
	if [ -n "${extra:-}" ] || [ -z "${count:-}" ]; then err "$where: want 6 tab-separated fields"; continue; fi
	case $kind in leak | healthy) ;; *) err "$where: kind '$kind' is not leak or healthy" ;; esac
	if ! states=$(states_for "$category"); then err "$where: unknown category '$category'"; continue; fi
	dump=$dumps/$scenario/goroutine.debug2.txt
	if [ ! -s "$dump" ]; then err "$where: no $dump"; continue; fi

	groups=$($sites "$dump" | awk -F'\t' -v f="$func" -v p="$file" '$4 == f && $5 == p')
	if [ -z "$groups" ]; then err "$where: no goroutine in $dump has its site at $func ($file)"; continue; fi
	got=$(printf '%s\n' "$groups" | awk -F'\t' '{n += $1} END {print n}')
	bad=$(printf '%s\n' "$groups" | awk -F'\t' '{print $2}' | grep -vxF "$states" || true)
	if [ -n "$bad" ]; then err "$where: goroutines at $func are in state(s) '$(echo $bad)', category $category wants '$(echo $states)'"; fi
	if [ "$got" != "$count" ]; then err "$where: $got goroutines at $func, manifest says $count"; fi

	after=$dumps/$scenario/goroutine-after-leakgc.debug2.txt
	leaked=0
	if [ -s "$after" ]; then
		leaked=$($sites "$after" | awk -F'\t' -v f="$func" -v p="$file" '$4 == f && $5 == p && $3 == 1 {n += $1} END {print n + 0}')
	fi
	printf '%-24s %-7s %-12s %3s goroutines at %s; runtime marked %s (leaked)\n' "$scenario" "$kind" "$category" "$got" "$func" "$leaked"
done < <(tail -n +2 "$manifest")

for d in "$root"/testdata/scenarios/*/; do
	name=$(basename "$d")
	[ -f "$d/main.go" ] || continue
	[ "$name" = pprofserver ] && continue
	[ -n "${listed[$name]:-}" ] || err "scenario $name has no row in MANIFEST.tsv"
done
for name in "${!listed[@]}"; do
	[ -f "$root/testdata/scenarios/$name/main.go" ] || err "MANIFEST.tsv row $name has no testdata/scenarios/$name/main.go"
done

if [ "$fail" -ne 0 ]; then
	echo "check-manifest: FAILED" >&2
	exit 1
fi
echo "check-manifest: ok"
