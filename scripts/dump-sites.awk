#!/usr/bin/awk -f
# dump-sites.awk: group the goroutines of a debug=2 goroutine dump by blocking site.
#
#   awk -f scripts/dump-sites.awk testdata/dumps/forgotten_sender/goroutine.debug2.txt
#
# A goroutine's site is its first frame in user code (package main, or a package whose import
# path starts with a domain-like element such as goleash.test/...), or, for a goroutine that never
# enters user code (e.g. net/http's per-connection goroutines), its outermost frame other than
# runtime.goexit: the function it was started with. Output, one line per group, sorted by count (descending):
#
#   count <TAB> state <TAB> leaked <TAB> site_function <TAB> site_file
#
# where state is the header's status without " (leaked)", ", N minutes" or other suffixes, and
# leaked is 1 for goroutines the header marks "(leaked)". Understands the debug=2 / panic /
# runtime.Stack format: "created by" trailers, "...N frames elided...", and
# "[originating from goroutine N]:" ancestor blocks (ignored) are skipped, and a line that is
# not a frame (a register dump, a log line) ends a goroutine, so dumps embedded in logs and
# crash output work too.

function is_user(fn,   first) {
	if (fn ~ /^main\./) return 1
	if (index(fn, "/") == 0) return 0
	first = substr(fn, 1, index(fn, "/") - 1)
	return index(first, ".") > 0
}

function flush(   key) {
	if (inblock && lastfn != "") {
		if (site == "") { site = lastfn; sitefile = lastfile }
		key = state "\t" leaked "\t" site "\t" sitefile
		count[key]++
	}
	inblock = 0; site = ""; sitefile = ""; lastfn = ""; lastfile = ""; expect = ""
}

/^goroutine [0-9]+ / {
	flush()
	inblock = 1
	s = $0
	s = substr(s, index(s, "[") + 1)
	s = substr(s, 1, index(s, "]") - 1)
	sub(/, .*/, "", s)                 # ", 1 minutes", ", locked to thread", ...
	leaked = (s ~ / \(leaked\)$/) ? 1 : 0
	sub(/ \(leaked\)$/, "", s)
	state = s
	next
}
!inblock { next }
/^$/ { flush(); next }
/^\[originating from goroutine/ { flush(); next }     # ancestors: not this goroutine's stack
/^created by / { expect = "skip"; next }
/^\.\.\.[0-9]+ frames elided\.\.\.$/ { next }
/^\t/ {
	if (expect == "file") {
		f = substr($0, 2)
		sub(/ \+0x[0-9a-f]+( .*)?$/, "", f)   # " +0x9d", and " fp=… sp=… pc=…" in crash dumps
		sub(/:[0-9]+$/, "", f)
		lastfile = f
		if (site == "" && is_user(lastfn)) { site = lastfn; sitefile = f }
	}
	expect = ""
	next
}
{
	# a frame line is "pkg.Func(args)" with no space before the argument list; anything else
	# (register dumps, "-----", "FAIL\t...", a log line) ends the goroutine's block
	if (!match($0, /\([^()]*\)$/) || index(substr($0, 1, RSTART - 1), " ") > 0) {
		flush()
		next
	}
	fn = substr($0, 1, RSTART - 1)
	if (fn == "runtime.goexit") { expect = "skip"; next }   # crash dumps show it; not a site
	lastfn = fn
	expect = "file"
}
END {
	flush()
	for (k in count) printf "%d\t%s\n", count[k], k | "sort -t '\t' -k1,1nr -k4,4"
}
