// Package snap takes the goroutine snapshots that become goleash's golden dumps.
//
// A scenario starts its goroutines, lets the function that started them return (so that
// nothing on main's stack keeps their channels or locks reachable), and then calls Take:
//
//	func main() {
//		start()
//		snap.Take()
//	}
//
// Environment:
//
//	SNAP_OUT     directory the dumps are written to (required by Take)
//	SNAP_WAIT    how long to stay blocked after the GC that stamps wait start times before
//	             dumping, as a Go duration; default 65s, so debug=2 headers show ", 1 minutes"
//	SNAP_TRACE   file to write a runtime/trace execution trace to, from before main until the
//	             dumps; with SNAP_OUT unset, Take writes only the trace
//	SNAP_SETTLE  how long to give the scenario's goroutines to reach their blocking statement
//	             before that GC; default 1s
package snap

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// Settle gives the goroutines started so far time to block, runs the GCs that make the
// runtime stamp their wait start time, and then sleeps SNAP_WAIT.
//
// The runtime only records when a goroutine started waiting (g.waitsince, from which debug=2
// headers print ", N minutes") while a GC scans its stack, and it stamps it with work.tstart,
// which is only assigned at mark termination. In a process's first GC that is still 0 when the
// stacks are scanned, so nothing is recorded: it takes a second GC, which stamps the first
// one's mark-termination time.
func Settle() {
	settle := envDuration("SNAP_SETTLE", time.Second)
	wait := envDuration("SNAP_WAIT", 65*time.Second)
	time.Sleep(settle)
	runtime.GC()
	runtime.GC()
	time.Sleep(wait)
}

// Take calls Settle, writes the dumps into SNAP_OUT and exits the process with status 0
// (status 1 if a dump cannot be written). It never returns.
//
// Files, in the order they are taken:
//
//	goroutine.debug2.txt               goroutine profile, debug=2 (full per-goroutine tracebacks)
//	goroutine.debug1.txt               goroutine profile, debug=1 (stacks aggregated by count)
//	goroutine.pb.gz                    goroutine profile, debug=0 (gzipped profile.proto)
//	goroutineleak.pb.gz                goroutineleak profile, debug=0 (runs a leak-detecting GC)
//	goroutineleak.debug1.txt           goroutineleak profile, debug=1 (runs another one)
//	goroutine-after-leakgc.debug2.txt  goroutine profile, debug=2, after those GCs: the
//	                                   goroutines the runtime found leaked show "(leaked)"
func Take() {
	out := os.Getenv("SNAP_OUT")
	if out == "" && traceFile != nil {
		// SNAP_TRACE without SNAP_OUT: only the execution trace is wanted.
		Settle()
		stopTrace()
		os.Exit(0)
	}
	if out == "" {
		fail(fmt.Errorf("SNAP_OUT is not set"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err)
	}
	Settle()
	stopTrace()
	for _, d := range []struct {
		file    string
		profile string
		debug   int
	}{
		{"goroutine.debug2.txt", "goroutine", 2},
		{"goroutine.debug1.txt", "goroutine", 1},
		{"goroutine.pb.gz", "goroutine", 0},
		{"goroutineleak.pb.gz", "goroutineleak", 0},
		{"goroutineleak.debug1.txt", "goroutineleak", 1},
		{"goroutine-after-leakgc.debug2.txt", "goroutine", 2},
	} {
		if err := write(filepath.Join(out, d.file), d.profile, d.debug); err != nil {
			fail(err)
		}
	}
	os.Exit(0)
}

func write(path, profile string, debug int) error {
	p := pprof.Lookup(profile)
	if p == nil {
		return fmt.Errorf("no %q profile in this Go runtime", profile)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.WriteTo(f, debug); err != nil {
		f.Close()
		return fmt.Errorf("%s: %v", path, err)
	}
	return f.Close()
}

func envDuration(name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		fail(fmt.Errorf("%s=%q: %v", name, s, err))
	}
	return d
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "snap: %v\n", err)
	os.Exit(1)
}
