#!/usr/bin/env bash
# gen-fixtures.sh: regenerate the golden goroutine dumps in testdata/dumps from the real Go
# programs in testdata/scenarios (and testdata/gotest_timeout).
#
#   scripts/gen-fixtures.sh
#
# Every program is built with -trimpath (except the one abs_paths build) into a temporary
# directory and all of them run in parallel, so a run takes about SNAP_WAIT + 10s (~75s).
# Nothing in testdata/dumps is touched unless every program succeeded and every check passed.
#
# Environment: SNAP_WAIT (default 65s) is how long the programs keep their goroutines blocked
# after the GCs that stamp wait times; 65s makes debug=2 headers show ", 1 minutes". A shorter
# value is fine for trying things out, but do not commit dumps made with it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
scen=$root/testdata/scenarios
gotest=$root/testdata/gotest_timeout
dumps=$root/testdata/dumps

. "$root/scripts/ensure-go.sh"

export SNAP_WAIT=${SNAP_WAIT:-65s}
unset SNAP_OUT SNAP_SETTLE GOTRACEBACK GODEBUG
case $SNAP_WAIT in
*ms) wait_s=0 ;;
*m) wait_s=${SNAP_WAIT%m} mult=60 ;;
*s) wait_s=${SNAP_WAIT%s} mult=1 ;;
*) wait_s=x ;;
esac
case $wait_s in '' | *[!0-9]*)
	echo "gen-fixtures: SNAP_WAIT=$SNAP_WAIT: use whole seconds or minutes, like 65s or 2m" >&2
	exit 1
	;;
esac
wait_s=$((wait_s * ${mult:-1}))
limit=$((wait_s + 60)) # seconds any one program may take

work=$(mktemp -d "${TMPDIR:-/tmp}/goleash-fixtures.XXXXXX")
bin=$work/bin
out=$work/out
logs=$work/logs
mkdir -p "$bin" "$work/abs-bin" "$out/formats" "$out/abs_paths" "$logs"
: >"$work/pids"

# starttime PID: the process's start time (clock ticks since boot), to tell it from a later
# process that got the same pid; empty where there is no /proc.
starttime() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

cleanup() {
	local p t
	# On an early exit, stop what this script started and is still running: the programs (only
	# if the pid still belongs to the process we started), then the job subshells.
	while read -r p t; do
		if [ "$(starttime "$p")" = "$t" ]; then kill -KILL "$p" 2>/dev/null || true; fi
	done <"$work/pids"
	for p in "${jobpids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
declare -A jobpids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "ERROR: $*" >&2
	exit 1
}

# spawn OUTFILE ERRFILE CMD...: start CMD in the background, record its pid in $pid.
spawn() {
	local o=$1 e=$2
	shift 2
	"$@" >"$o" 2>"$e" &
	pid=$!
	echo "$pid $(starttime "$pid")" >>"$work/pids"
}

# finish NAME: wait for $pid at most until the deadline; sets $rc to its exit status.
finish() {
	local name=$1 t=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$t" -ge $((limit * 10)) ]; then
			kill -KILL "$pid" 2>/dev/null || true
			die "$name: still running after ${limit}s, killed"
		fi
		sleep 0.1
		t=$((t + 1))
	done
	rc=0
	wait "$pid" || rc=$?
}

# await_ready NAME FILE N: wait until FILE has N lines "ready" (the program's stdout), or fail.
await_ready() {
	local name=$1 file=$2 n=$3 t=0 got
	while :; do
		got=$(grep -cx ready "$file" 2>/dev/null) || true
		[ "${got:-0}" -lt "$n" ] || break
		kill -0 "$pid" 2>/dev/null || die "$name: exited before printing ready #$n"
		if [ "$t" -ge $((limit * 10)) ]; then
			kill -KILL "$pid" 2>/dev/null || true
			die "$name: no ready #$n after ${limit}s"
		fi
		sleep 0.1
		t=$((t + 1))
	done
}

# must_contain FILE STRING...: each STRING must occur in FILE.
must_contain() {
	local f=$1 s
	shift
	for s in "$@"; do
		grep -qF -- "$s" "$f" || die "$(basename "$f"): expected to contain '$s'"
	done
}

# ---- jobs: each runs in its own background subshell, logs to $logs/NAME.log ----

scenario() {
	local name=$1 f
	spawn "$work/$name.stdout" "$work/$name.stderr" env SNAP_OUT="$out/$name" "$bin/$name"
	finish "$name"
	cat "$work/$name.stdout" "$work/$name.stderr"
	[ "$rc" -eq 0 ] || die "$name: exit status $rc"
	for f in goroutine.debug2.txt goroutine.debug1.txt goroutine.pb.gz \
		goroutineleak.pb.gz goroutineleak.debug1.txt goroutine-after-leakgc.debug2.txt; do
		[ -s "$out/$name/$f" ] || die "$name: $f missing or empty"
	done
	# the ticker_loop reporters wake every 10s, so their wait never reaches a minute
	if [ "$wait_s" -ge 60 ] && [ "$name" != ticker_loop ]; then
		must_contain "$out/$name/goroutine.debug2.txt" ", 1 minutes]"
	fi
}

abs_paths() {
	local f goroot goroot_real moddir_logical
	spawn "$work/abs.stdout" "$work/abs.stderr" env SNAP_OUT="$work/abs-out" "$work/abs-bin/forgotten_sender"
	finish abs_paths
	cat "$work/abs.stdout" "$work/abs.stderr"
	[ "$rc" -eq 0 ] || die "abs_paths: exit status $rc"
	goroot=$(go env GOROOT)
	goroot_real=$(cd "$goroot" && pwd -P)
	moddir_logical=$(cd "$scen" && pwd -L)
	for f in goroutine.debug2.txt goroutine.debug1.txt goroutineleak.debug1.txt goroutine-after-leakgc.debug2.txt; do
		sed -e "s|$(re "$goroot_real")/|/usr/local/go/|g" -e "s|$(re "$goroot")/|/usr/local/go/|g" \
			-e "s|$(re "$scen")/|/src/app/|g" -e "s|$(re "$moddir_logical")/|/src/app/|g" \
			"$work/abs-out/$f" >"$out/abs_paths/$f"
		must_contain "$out/abs_paths/$f" "/src/app/forgotten_sender/main.go:"
		if grep -qF -e "$goroot" -e "$goroot_real" -e "$root" "$out/abs_paths/$f"; then
			die "abs_paths/$f: a machine path survived the rewrite"
		fi
	done
	must_contain "$out/abs_paths/goroutine.debug2.txt" "/usr/local/go/src/runtime/pprof/pprof.go:"
}

# re STRING: STRING escaped for use in a sed basic regular expression with | delimiters.
re() { printf '%s' "$1" | sed -e 's/[][\.*^$|]/\\&/g'; }

sigquit_crash() {
	local f=$out/formats/sigquit_crash.txt
	spawn "$work/sigquit.stdout" "$f" bash -c 'ulimit -c 0; GOTRACEBACK=crash exec "$0"' "$bin/sigquit_crash"
	await_ready sigquit_crash "$work/sigquit.stdout" 1
	kill -QUIT "$pid"
	finish sigquit_crash
	# GOTRACEBACK=crash ends the process with SIGABRT after the dump
	[ "$rc" -ne 0 ] || die "sigquit_crash: exit status 0 after SIGQUIT"
	must_contain "$f" "SIGQUIT: quit" " gp=0x" " m=nil [" "runtime.gopark(" "main.(*cache).loop-fm()" "rip "
}

panic_job() {
	local f=$out/formats/panic.txt
	spawn "$work/panic.stdout" "$f" env GOTRACEBACK=all "$bin/panic"
	finish panic
	[ "$rc" -eq 2 ] || die "panic: exit status $rc, want 2"
	must_contain "$f" "panic: runtime error: invalid memory address or nil pointer dereference" "[signal SIGSEGV" "[sync.Mutex.Lock"
}

stdout_fixture() {
	local name=$1 f=$out/formats/$1.txt
	shift
	spawn "$f" "$work/$name.stderr" env "$@" "$bin/$name"
	finish "$name"
	cat "$work/$name.stderr"
	[ "$rc" -eq 0 ] || die "$name: exit status $rc"
}

ancestors() {
	stdout_fixture ancestors GODEBUG=tracebackancestors=5
	must_contain "$out/formats/ancestors.txt" "[originating from goroutine 1]:"
	# leaves are three generations below main: supervisor, shard, main
	[ "$(grep -c '^\[originating from goroutine' "$out/formats/ancestors.txt")" -ge 12 ] ||
		die "ancestors.txt: too few [originating from goroutine N] blocks"
}

labels() {
	stdout_fixture labels
	must_contain "$out/formats/labels.txt" "{req: 7, tenant: a}:" '{tenant: "t 1"}:'
}

locked() {
	stdout_fixture locked
	must_contain "$out/formats/locked.txt" "[running, locked to thread]:" ", locked to thread]:"
}

shapes() {
	stdout_fixture shapes
	must_contain "$out/formats/shapes.txt" "main.Map[...](" "main.(*Cache[...]).Fill(" "main.outer.func1.2(" \
		"main.(*server).run(" "main.server.handle(" "(...)" "frames elided..."
}

embedded_log() {
	local f=$out/formats/embedded_log.txt
	spawn "$work/elog.stdout" "$f" "$bin/embedded_log"
	await_ready embedded_log "$work/elog.stdout" 1
	kill -QUIT "$pid" # caught: the program writes a debug=2 dump into its log and carries on
	await_ready embedded_log "$work/elog.stdout" 2
	kill -QUIT "$pid" # not caught any more: the runtime's own SIGQUIT dump, exit status 2
	finish embedded_log
	[ "$rc" -eq 2 ] || die "embedded_log: exit status $rc after the second SIGQUIT, want 2"
	# the restarted service's first log lines
	spawn "$work/elog2.stdout" "$work/elog2.stderr" "$bin/embedded_log" -restart
	finish embedded_log-restart
	[ "$rc" -eq 0 ] || die "embedded_log -restart: exit status $rc"
	cat "$work/elog2.stderr" >>"$f"
	must_contain "$f" "SIGQUIT received: dumping goroutines" "goroutine dump complete" "SIGQUIT: quit" \
		"previous instance exited abnormally"
	[ "$(grep -c '^SIGQUIT: quit' "$f")" -eq 1 ] || die "embedded_log: want exactly one runtime SIGQUIT dump"
}

test_timeout() {
	local f=$out/formats/test_timeout.txt
	spawn "$f" "$f.stderr" bash -c 'cd "$0" && exec go test -trimpath -count=1 -v -timeout 3s ./... 2>&1' "$gotest"
	finish test_timeout
	rm -f "$f.stderr"
	[ "$rc" -eq 1 ] || die "test_timeout: go test exit status $rc, want 1"
	must_contain "$f" "=== RUN   TestTransferConcurrent" "panic: test timed out after 3s" "running tests:" "FAIL"
}

# ---- build ----

scenarios=()
for d in "$scen"/*/; do
	name=$(basename "$d")
	[ -f "$d/main.go" ] && [ "$name" != pprofserver ] && scenarios+=("$name")
done
[ "${#scenarios[@]}" -gt 0 ] || die "no scenarios under $scen"

echo "gen-fixtures: vet and build (${#scenarios[@]} scenarios, formats, pprofserver)"
(cd "$scen" && go vet ./... && go build -trimpath -o "$bin/" ./...) || die "build of testdata/scenarios failed"
(cd "$gotest" && go vet ./...) || die "vet of testdata/gotest_timeout failed"
(cd "$scen" && go build -o "$work/abs-bin/" ./forgotten_sender) || die "build of abs_paths (no -trimpath) failed"

# ---- run everything in parallel ----

echo "gen-fixtures: running all programs in parallel (SNAP_WAIT=$SNAP_WAIT, about $((wait_s + 10))s)"
start=$(date +%s)
for name in "${scenarios[@]}"; do
	(scenario "$name") >"$logs/$name.log" 2>&1 &
	jobpids[$name]=$!
done
for job in abs_paths sigquit_crash panic_job ancestors labels locked shapes embedded_log test_timeout; do
	("$job") >"$logs/$job.log" 2>&1 &
	jobpids[$job]=$!
done

failed=()
for job in "${!jobpids[@]}"; do
	if ! wait "${jobpids[$job]}"; then
		failed+=("$job")
	fi
done
jobpids=()
: >"$work/pids" # all reaped
echo "gen-fixtures: programs finished in $(($(date +%s) - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
	for job in "${failed[@]}"; do
		echo "---- $job FAILED; its log:" >&2
		tail -n 40 "$logs/$job.log" >&2
	done
	die "${#failed[@]} job(s) failed: ${failed[*]}; testdata/dumps left as it was"
fi

# ---- checks on the new dumps, then install them ----

"$root/scripts/check-manifest.sh" "$out" || die "MANIFEST.tsv does not match the new dumps; testdata/dumps left as it was"

big=$(find "$out" -type f -size +200k)
[ -z "$big" ] || die "dumps over 200 KB: $big"

mkdir -p "$dumps"
for d in "$out"/*/; do
	name=$(basename "$d")
	rm -rf "${dumps:?}/$name"
	cp -R "$d" "$dumps/$name"
done

# No path of the machine that made the dumps may end up in them.
bad=$(grep -rIl -e /root/ -e /home/ -e site-packages "$dumps" || true)
for f in $(find "$dumps" -name '*.gz'); do
	if gzip -dc "$f" | grep -aq -e /root/ -e /home/ -e site-packages; then bad="$bad $f"; fi
done
[ -z "$bad" ] || die "machine paths (/root/, /home/ or site-packages) found in: $bad"

echo "gen-fixtures: wrote $(find "$out" -type f | wc -l) files to ${dumps#"$root"/}"
