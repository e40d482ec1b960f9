package snap

import (
	"os"
	"runtime/trace"
)

// traceFile is the execution trace being written when SNAP_TRACE names a file: it starts
// before main (so it sees every goroutine the scenario creates) and Take stops it.
var traceFile *os.File

func init() {
	path := os.Getenv("SNAP_TRACE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	if err := trace.Start(f); err != nil {
		fail(err)
	}
	traceFile = f
}

// stopTrace ends the execution trace, if one is running, and closes its file.
func stopTrace() {
	if traceFile == nil {
		return
	}
	trace.Stop()
	if err := traceFile.Close(); err != nil {
		fail(err)
	}
	traceFile = nil
}
