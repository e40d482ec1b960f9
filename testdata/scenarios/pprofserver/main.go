// pprofserver: a live target for goleash's HTTP tests (not a fixture generator).
//
// It serves net/http/pprof (/debug/pprof/..., including goroutineleak) plus:
//
//	/hang  the handler blocks until the request's context ends (client gone)
//	/html  an HTML page with status 200 (for "this is not a profile" tests)
//
// At startup it leaks 5 goroutines (forgotten senders, like the forgotten_sender scenario),
// then prints exactly "listening on http://127.0.0.1:PORT" on stdout.
// It exits when its stdin is closed, so a test that dies does not leave it running: start it
// with a pipe on stdin, not with stdin closed or /dev/null.
//
// -addr (default 127.0.0.1:0) must name 127.0.0.1 or localhost; anything else is refused.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"time"
)

type result struct{ body string }

// fetchResult gives up after timeout and leaves the sender blocked on the unbuffered channel.
// The backend answers only when late is closed, i.e. after the caller has given up.
func fetchResult(backend string, timeout time.Duration, late <-chan struct{}, answering *sync.WaitGroup) (result, error) {
	ch := make(chan result)
	answering.Add(1)
	go func() {
		<-late
		answering.Done()
		ch <- result{body: backend} // blocks forever: fetchResult has returned
	}()
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(timeout):
		return result{}, fmt.Errorf("%s: timeout", backend)
	}
}

// leakSenders leaves 5 goroutines blocked in fetchResult.func1 (chan send, leaked).
func leakSenders() {
	late := make(chan struct{})
	var answering sync.WaitGroup
	for i := 0; i < 5; i++ {
		fetchResult(fmt.Sprintf("backend-%d", i), time.Millisecond, late, &answering)
	}
	close(late)
	answering.Wait()
	time.Sleep(50 * time.Millisecond) // from Done to parked on the send is a few instructions
}

func hang(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

func html(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>pprofserver</title></head>\n"+
		"<body><h1>Not a profile</h1><p>This page is HTML on purpose.</p></body></html>\n")
}

// loopbackAddr checks that addr names 127.0.0.1 or localhost and returns the address to listen
// on (always 127.0.0.1, never a resolved name).
func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host != "127.0.0.1" && host != "localhost" {
		return "", fmt.Errorf("refusing to listen on %q: only 127.0.0.1 or localhost is allowed", addr)
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address; must be 127.0.0.1:PORT or localhost:PORT")
	flag.Parse()
	log.SetPrefix("pprofserver: ")
	log.SetFlags(0)

	listen, err := loopbackAddr(*addr)
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}

	leakSenders()

	http.HandleFunc("/hang", hang)
	http.HandleFunc("/html", html)

	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()

	fmt.Printf("listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
