// fakepprof: many pprof targets in one process, for measuring goleash watch
// (scripts/bench-watch.sh). At start it runs -groups distinct parked goroutine stacks of -per
// goroutines each, captures its own goroutine profile (debug=0 protobuf and debug=2 text: a
// real Go 1.27 profile), and then serves those captured bytes on -n ports of 127.0.0.1 at
// /debug/pprof/goroutine. Serving bytes instead of a live profile keeps the fake's cost
// per request flat, so the watcher's cost is what gets measured. It prints one
// "listening on http://ADDR" line per port and exits when stdin closes.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// Four ways to wait, each at ten call depths: forty distinct stacks of a realistic size.
func recv(ch chan struct{}, depth int) {
	if depth > 0 {
		recv(ch, depth-1)
		return
	}
	<-ch
}

func sel(ch chan struct{}, depth int) {
	if depth > 0 {
		sel(ch, depth-1)
		return
	}
	select {
	case <-ch:
	case <-time.After(time.Hour):
	}
}

func lock(mu *sync.Mutex, depth int) {
	if depth > 0 {
		lock(mu, depth-1)
		return
	}
	mu.Lock()
}

func wait(c *sync.Cond, depth int) {
	if depth > 0 {
		wait(c, depth-1)
		return
	}
	c.L.Lock()
	c.Wait()
}

func main() {
	n := flag.Int("n", 1000, "ports to serve")
	groups := flag.Int("groups", 40, "distinct parked stacks")
	per := flag.Int("per", 12, "goroutines per stack")
	flag.Parse()
	never := make(chan struct{})
	var held sync.Mutex
	held.Lock()
	cond := sync.NewCond(&sync.Mutex{})
	for g := 0; g < *groups; g++ {
		for i := 0; i < *per; i++ {
			switch depth := g / 4 % 10; g % 4 {
			case 0:
				go recv(never, depth)
			case 1:
				go sel(never, depth)
			case 2:
				go lock(&held, depth)
			default:
				go wait(cond, depth)
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	var proto, text bytes.Buffer
	p := pprof.Lookup("goroutine")
	if err := p.WriteTo(&proto, 0); err != nil {
		log.Fatal(err)
	}
	if err := p.WriteTo(&text, 2); err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/goroutine" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("debug") == "2" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(text.Bytes())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(proto.Bytes())
	})
	out := bufio.NewWriter(os.Stdout)
	for i := 0; i < *n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatalf("port %d of %d: %v (raise ulimit -n)", i+1, *n, err)
		}
		go func() { _ = http.Serve(ln, handler) }()
		fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	}
	out.Flush()
	fmt.Fprintf(os.Stderr, "fakepprof: %d ports; profile %d bytes (debug=0), %d bytes (debug=2), %d goroutines\n",
		*n, proto.Len(), text.Len(), *groups**per)
	_, _ = io.Copy(io.Discard, os.Stdin)
}
