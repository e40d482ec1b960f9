// tracever: the forgotten_sender leak under runtime/trace, in a module old enough (go 1.22)
// for every toolchain that writes the v2 trace format, so scripts/gen-traces.sh can record
// the same program with Go 1.22, 1.23 and 1.25 (formats go 1.22, 1.23, 1.25).
//
//	go run . -out trace.out
package main

import (
	"flag"
	"log"
	"os"
	"runtime/trace"
	"time"
)

// fetchResult gives up after the timeout; the sender then blocks forever on the unbuffered
// channel.
func fetchResult(timeout time.Duration) bool {
	ch := make(chan string)
	go func() {
		time.Sleep(20 * time.Millisecond)
		ch <- "ok" // blocks forever: nobody receives once fetchResult has returned
	}()
	select {
	case <-ch:
		return true
	case <-time.After(timeout):
		return false
	}
}

func main() {
	out := flag.String("out", "trace.out", "trace file to write")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		fetchResult(time.Millisecond)
	}
	// Long enough for the senders to block and for more than one generation.
	time.Sleep(2500 * time.Millisecond)
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
