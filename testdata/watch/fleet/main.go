// fleet: one process that stands in for many services when measuring goleash watch: it
// serves net/http/pprof on -n loopback ports and runs -groups distinct goroutine stacks of
// -per goroutines each (one stack grows by -leak per second to keep the trend code busy).
// It prints one "listening on http://ADDR" line per port.
package main

import (
	"flag"
	"net/http"
	"time"

	"goleash.test/watch/internal/svc"
)

func park(ch chan struct{}, depth int) {
	if depth > 0 {
		park(ch, depth-1)
		return
	}
	<-ch
}

func main() {
	n := flag.Int("n", 200, "ports to serve")
	groups := flag.Int("groups", 30, "distinct parked stacks")
	per := flag.Int("per", 10, "goroutines per stack")
	leak := flag.Int("leak", 1, "goroutines leaked per second")
	flag.Parse()
	never := make(chan struct{})
	for g := 0; g < *groups; g++ {
		for i := 0; i < *per; i++ {
			go park(never, g) // a different recursion depth is a different stack
		}
	}
	go func() {
		for range time.Tick(time.Second) {
			for i := 0; i < *leak; i++ {
				go func() { <-never }()
			}
		}
	}()
	for i := 0; i < *n; i++ {
		svc.Serve(svc.Listen("127.0.0.1:0"))
	}
	_ = http.DefaultServeMux
	svc.ExitOnStdinClose()
}
