#!/usr/bin/env bash
# gen-transports.sh: wrap real captures from testdata/dumps in the transports that logs,
# pastes and archives put around goroutine dumps, into testdata/transports.
#
#   scripts/gen-transports.sh
#
# Compression uses the real tools (gzip, zstd, xz, bzip2; `apt-get install zstd xz-utils
# bzip2`), tab damage the real `expand`, UTF-16 `iconv`, and the go test -json capture is a
# real `go test -json` run of testdata/gotest_timeout. Log formats whose writer does not run
# here (kubelet's CRI files, Docker's json-file driver, kubectl, compose, journald, rsyslog,
# GitHub Actions) are written by the Python below, one function per format, each following
# the writer's documented line format. Timestamps are fixed, so a rerun gives the same files
# (except go-test.json, whose Time fields are the run's).
#
# testdata/transports/MANIFEST.tsv lists each file, the capture(s) inside it (one per source),
# and the transport goleash must name; crates/goleash/tests/transports.rs reads it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
dumps=$root/testdata/dumps
out=$root/testdata/transports

. "$root/scripts/ensure-go.sh"

for tool in gzip zstd xz bzip2 iconv expand python3; do
	command -v "$tool" >/dev/null || {
		echo "gen-transports: $tool is missing (apt-get install -y zstd xz-utils bzip2)" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/goleash-transports.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/t"
t=$work/t

d2=$dumps/forgotten_sender/goroutine.debug2.txt
d1=$dumps/forgotten_sender/goroutine.debug1.txt
other=$dumps/nil_channel/goroutine.debug2.txt

# ---- compression and encodings (real tools) ----
gzip -9nc "$d2" >"$t/debug2.txt.gz"
zstd -q -19 -c "$d2" >"$t/debug2.txt.zst"
xz -9 -c "$d2" >"$t/debug2.txt.xz"
bzip2 -9 -c "$d2" >"$t/debug2.txt.bz2"
zstd -q -c "$d1" >"$t/debug1.txt.zst"
# PowerShell 5's `>` writes UTF-16LE with a byte-order mark and CRLF line ends.
{
	printf '\xff\xfe'
	sed 's/$/\r/' "$d2" | iconv -f UTF-8 -t UTF-16LE
} >"$t/debug2.utf16le.txt"

# ---- pastes (real tools for the damage) ----
# An editor or chat client that turns tabs into spaces.
expand -t 8 "$d2" >"$t/debug2.tabs-expanded.txt"
expand -t 4 "$d1" | sed 's/$/  /' >"$t/debug1.tabs-expanded.txt"
# A Markdown code block in a list: four spaces before every line, tabs expanded, blanks after.
expand -t 8 "$d2" | sed 's/^/    /; s/$/ /' >"$t/debug2.indented.md"
# A quoted reply of a fenced paste, with the command that made it.
{
	echo '$ curl -s localhost:6060/debug/pprof/goroutine?debug=2 > g.txt'
	echo '```'
	cat "$d2"
	echo '```'
} | sed 's/^/> /' | sed 's/^> $/>/' >"$t/debug2.quoted.md"
{
	echo '$ curl -s localhost:6060/debug/pprof/goroutine?debug=1'
	echo '```text'
	cat "$d1"
	echo '```'
} >"$t/debug1.prompt-fence.md"

# ---- go test -json (a real run) ----
(cd "$root/testdata/gotest_timeout" && go test -trimpath -count=1 -json -timeout 3s ./... >"$t/go-test.json" 2>&1) && {
	echo "gen-transports: go test -json passed; expected a timeout panic" >&2
	exit 1
}
grep -q '"Output":"panic: test timed out after 3s' "$t/go-test.json"
# The same run's text, as go test without -json would print it, for comparison.
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("Action") == "output":
        sys.stdout.write(event["Output"])
' "$t/go-test.json" >"$t/go-test.plain.txt"

# ---- logs (formats written as their writers do) ----
python3 - "$t" "$d2" "$other" <<'EOF'
import json, sys
t, d2, other = sys.argv[1:]

def lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]

def stamp(i, digits=9, trim=False):
    # One line every 137 microseconds from 13:00:00 on 2026-12-04, UTC.
    ns = i * 137_000 + 1_000
    s, frac = divmod(ns, 1_000_000_000)
    text = f"{frac:09d}"[:digits]
    if trim:
        text = text.rstrip("0")
    frac = f".{text}" if text else ""
    return f"2026-12-04T13:{s // 60:02d}:{s % 60:02d}{frac}Z"

def write(name, text):
    with open(f"{t}/{name}", "w", encoding="utf-8", newline="") as f:
        f.write(text)

def interleave(a, b):
    out = []
    for i in range(max(len(a), len(b))):
        if i < len(a): out.append(a[i])
        if i < len(b): out.append(b[i])
    return out

main, second = lines(d2), lines(other)

# Kubelet CRI file (/var/log/pods/…/0.log): `<RFC3339Nano> <stream> <P|F> <message>`. The
# kubelet splits lines longer than 16 KiB into P parts; split at 40 bytes here so that the
# short lines of a real dump exercise the joining.
cri = []
for i, line in enumerate(main):
    parts = [line[k:k + 40] for k in range(0, len(line), 40)] or [""]
    for j, part in enumerate(parts):
        tag = "F" if j == len(parts) - 1 else "P"
        cri.append(f"{stamp(i)} stderr {tag} {part}")
write("debug2.cri.log", "\n".join(cri) + "\n")

# Docker json-file driver: one JSON object per line, `log` ends with \n unless the line was
# split (Docker splits at 16 KiB; at 40 bytes here, as for CRI).
docker = []
for i, line in enumerate(main):
    parts = [line[k:k + 40] for k in range(0, len(line), 40)] or [""]
    for j, part in enumerate(parts):
        log = part + ("\n" if j == len(parts) - 1 else "")
        docker.append(json.dumps({"log": log, "stream": "stderr", "time": stamp(i)}, separators=(",", ":")))
write("debug2.docker.json.log", "\n".join(docker) + "\n")

# kubectl logs --timestamps: RFC3339Nano (trailing zeros trimmed) and a space.
write("debug2.kubectl-timestamps.log", "".join(f"{stamp(i, trim=True)} {l}\n" for i, l in enumerate(main)))

# kubectl logs -f --prefix --timestamps -l app=api: two pods, lines interleaved as they arrive.
a = [f"[pod/api-7d9c5-x2k4q/api] {stamp(i, trim=True)} {l}" for i, l in enumerate(main)]
b = [f"[pod/api-7d9c5-m8r2z/api] {stamp(i, trim=True)} {l}" for i, l in enumerate(second)]
write("two-pods.kubectl-prefix.log", "\n".join(interleave(a, b)) + "\n")

# docker compose logs: `<service>-<n>  | ` padded to the longest name, coloured prefixes.
a = [f"\x1b[36mapi-1     |\x1b[0m {l}" for l in main]
b = [f"\x1b[33mworker-1  |\x1b[0m {l}" for l in second]
db = ["\x1b[32mdb-1      |\x1b[0m LOG:  database system is ready to accept connections"]
write("two-services.compose.log", "\n".join(db + interleave(a, b)) + "\n")

# journalctl (default short format): `Mon DD HH:MM:SS host ident[pid]: message`; tabs are
# printed as they are.
write("debug2.journald.log", "".join(f"Dec 04 13:00:{i // 100:02d} node-3 api[2417]: {l}\n" for i, l in enumerate(main)))

# rsyslog file (/var/log/syslog, traditional format): control characters escaped as `#ooo`,
# so a tab is `#011`; day padded with a space.
write("debug2.syslog.log", "".join(f"Dec  4 13:00:{i // 100:02d} node-3 api[2417]: {l.replace(chr(9), '#011')}\n" for i, l in enumerate(main)))

# GitHub Actions raw log: seven fractional digits, a group marker, then the step's output.
gha = [f"{stamp(0, 7)} ##[group]Run go run ./cmd/api", f"{stamp(0, 7)} ##[endgroup]"]
gha += [f"{stamp(i, 7)} {l}" for i, l in enumerate(main)]
write("debug2.github-actions.log", "\n".join(gha) + "\n")

# A coloured terminal capture (`script`, a CI console): SGR codes around the headers and the
# blocking frames, as a colourising pager or logger writes them.
coloured = []
for l in main:
    if l.startswith("goroutine "):
        coloured.append(f"\x1b[1;33m{l}\x1b[0m")
    elif l.startswith("\t"):
        coloured.append(f"\t\x1b[2m{l[1:]}\x1b[22m")
    else:
        coloured.append(l)
write("debug2.ansi.txt", "\n".join(coloured) + "\n")
EOF

# A compressed log: the CRI file as a log collector ships it.
zstd -q -c "$t/debug2.cri.log" >"$t/debug2.cri.log.zst"

rm -rf "$out.new"
mv "$t" "$out.new"
cat >"$out.new/MANIFEST.tsv" <<'EOF'
# file	capture inside (one per source, in order; relative to testdata/)	transport goleash names
debug2.txt.gz	dumps/forgotten_sender/goroutine.debug2.txt	gzip
debug2.txt.zst	dumps/forgotten_sender/goroutine.debug2.txt	zstd
debug2.txt.xz	dumps/forgotten_sender/goroutine.debug2.txt	xz
debug2.txt.bz2	dumps/forgotten_sender/goroutine.debug2.txt	bzip2
debug1.txt.zst	dumps/forgotten_sender/goroutine.debug1.txt	zstd
debug2.utf16le.txt	dumps/forgotten_sender/goroutine.debug2.txt	UTF-16LE
debug2.tabs-expanded.txt	dumps/forgotten_sender/goroutine.debug2.txt	tabs turned to spaces
debug1.tabs-expanded.txt	dumps/forgotten_sender/goroutine.debug1.txt	tabs turned to spaces, trailing blanks
debug2.indented.md	dumps/forgotten_sender/goroutine.debug2.txt	indentation, tabs turned to spaces, trailing blanks
debug2.quoted.md	dumps/forgotten_sender/goroutine.debug2.txt	Markdown quote, Markdown fence
debug1.prompt-fence.md	dumps/forgotten_sender/goroutine.debug1.txt	Markdown fence, text before the profile
go-test.json	transports/go-test.plain.txt	go test -json
debug2.cri.log	dumps/forgotten_sender/goroutine.debug2.txt	CRI log
debug2.cri.log.zst	dumps/forgotten_sender/goroutine.debug2.txt	zstd, CRI log
debug2.docker.json.log	dumps/forgotten_sender/goroutine.debug2.txt	Docker json-file
debug2.kubectl-timestamps.log	dumps/forgotten_sender/goroutine.debug2.txt	kubectl --timestamps
two-pods.kubectl-prefix.log	dumps/forgotten_sender/goroutine.debug2.txt dumps/nil_channel/goroutine.debug2.txt	kubectl --prefix, kubectl --timestamps
two-services.compose.log	dumps/forgotten_sender/goroutine.debug2.txt dumps/nil_channel/goroutine.debug2.txt	ANSI escapes, compose
debug2.journald.log	dumps/forgotten_sender/goroutine.debug2.txt	journald/syslog
debug2.syslog.log	dumps/forgotten_sender/goroutine.debug2.txt	journald/syslog, syslog #011 escapes
debug2.github-actions.log	dumps/forgotten_sender/goroutine.debug2.txt	CI timestamps
debug2.ansi.txt	dumps/forgotten_sender/goroutine.debug2.txt	ANSI escapes
EOF
rm -rf "$out"
mv "$out.new" "$out"
echo "gen-transports: wrote $(($(wc -l <"$out/MANIFEST.tsv") - 1)) transports into testdata/transports"
