// Package svc is what the watch test services share: listen on 127.0.0.1 only, serve
// net/http/pprof and go_goroutines on /metrics, print the address, and exit when stdin closes so a dead test leaves no
// process behind.
package svc

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
	"runtime"
)

// /metrics: go_goroutines in the Prometheus text format, the one series Prometheus-driven
// watching reads (client_golang's Go collector exports it under the same name).
func init() {
	http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	})
}

// Listen opens a loopback listener on addr ("127.0.0.1:0" for any port); other hosts are
// refused so the tests can never reach beyond the machine.
func Listen(addr string) net.Listener {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		log.Fatal(err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		log.Fatalf("refusing to listen on %q: only 127.0.0.1 is allowed", addr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+addr[len(host)+1:])
	if err != nil {
		log.Fatal(err)
	}
	return ln
}

// Serve serves http.DefaultServeMux on ln, prints "listening on http://ADDR" and returns;
// the process exits when stdin reaches EOF.
func Serve(ln net.Listener) {
	go func() {
		if err := http.Serve(ln, nil); err != nil {
			log.Print(err)
		}
	}()
	fmt.Printf("listening on http://%s\n", ln.Addr())
}

// ExitOnStdinClose blocks until stdin is closed, then exits.
func ExitOnStdinClose() {
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	os.Exit(0)
}
