// tracestates: counts the goroutines of an execution trace per state at its end with Go's own
// reader (golang.org/x/exp/trace, the exported copy of the runtime's internal/trace), without
// printing the events, to compare with goleash's reader (scripts/trace-bench.sh,
// docs/trace.md "Measured").
//
//	go run . FILE
//
// A goroutine's state at the end is the destination of its last state transition; goroutines
// that ended count as NotExist (and are dropped from the map then, so its memory is the live
// goroutines', like goleash's). It prints one `State N` line per state, then the events read,
// the goroutines seen and the read's wall time and speed on stderr.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracestates FILE")
		os.Exit(2)
	}
	path := os.Args[1]
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()
	size := int64(0)
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	start := time.Now()
	r, err := trace.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		os.Exit(2)
	}
	last := make(map[trace.GoID]trace.GoState)
	events, ended := 0, 0
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: after %d events: %v\n", path, events, err)
			os.Exit(2)
		}
		events++
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		_, to := st.Goroutine()
		id := st.Resource.Goroutine()
		if to == trace.GoNotExist {
			// Ended: final (ids are not reused), so counted and forgotten, which keeps the
			// map at the live goroutines as the reader's own state is.
			ended++
			delete(last, id)
			continue
		}
		last[id] = to
	}
	secs := time.Since(start).Seconds()
	counts := map[string]int{trace.GoNotExist.String(): ended}
	for _, s := range last {
		counts[s.String()]++
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("%s %d\n", name, counts[name])
	}
	fmt.Fprintf(os.Stderr, "%d events, %d goroutines, %.2f s, %.1f MB/s\n",
		events, len(last)+ended, secs, float64(size)/1e6/secs)
}
