// tracediff: a program whose leak grows between two moments, each recorded both as a
// runtime/trace execution trace and as a debug=2 goroutine dump, for `goleash diff` of two
// traces, of a trace and a dump, and of two dumps (crates/goleash/tests/trace.rs).
//
//	go run . -out DIR
//
// Moment 1 (DIR/before.trace, DIR/before.txt): 5 subscribers leaked at one site, a watcher
// that stays, and 20 workers that come and go. Moment 2 (DIR/after.trace, DIR/after.txt): 7
// more subscribers leaked at the same site. Each trace is started just before its moment's
// goroutines are created and stopped before its dump is written, so the dump does not show
// the trace's own goroutine; the goroutines of moment 1 are still blocked in the second trace,
// which knows them only from the status the runtime writes at the start of each generation.
//
// scripts/gen-tracediff.sh builds it with -trimpath and writes DIR = testdata/traces/diff.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

type event struct{ name string }

// subscribe returns a channel of events fed by a goroutine that nobody ever stops: each call
// whose caller drops the channel leaks the feeder, blocked on its send.
func subscribe(topic string) <-chan event {
	ch := make(chan event)
	go func() {
		ch <- event{name: topic} // blocks forever once the caller has dropped ch
	}()
	return ch
}

// poll asks for an event but gives up at once, dropping the subscription.
func poll(topic string) {
	ch := subscribe(topic)
	select {
	case e := <-ch:
		_ = e
	default:
	}
}

// watch blocks until the program ends: one goroutine in both moments.
func watch(stop <-chan struct{}) {
	<-stop
}

// work starts n goroutines that finish: churn, not a leak.
func work(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Millisecond)
		}()
	}
	wg.Wait()
}

func moment(dir, name string, leaks int, before func()) error {
	f, err := os.Create(filepath.Join(dir, name+".trace"))
	if err != nil {
		return err
	}
	if err := trace.Start(f); err != nil {
		return err
	}
	if before != nil {
		before()
	}
	for i := 0; i < leaks; i++ {
		poll(fmt.Sprintf("%s-%d", name, i))
	}
	work(20)
	// Let every feeder reach its send.
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	trace.Stop()
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Create(filepath.Join(dir, name+".txt"))
	if err != nil {
		return err
	}
	if err := pprof.Lookup("goroutine").WriteTo(d, 2); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

func main() {
	dir := flag.String("out", ".", "directory to write before.trace, before.txt, after.trace and after.txt into")
	flag.Parse()
	stop := make(chan struct{})
	start := func() { go watch(stop) }
	if err := moment(*dir, "before", 5, start); err != nil {
		fmt.Fprintln(os.Stderr, "tracediff:", err)
		os.Exit(1)
	}
	if err := moment(*dir, "after", 7, nil); err != nil {
		fmt.Fprintln(os.Stderr, "tracediff:", err)
		os.Exit(1)
	}
	close(stop)
}
