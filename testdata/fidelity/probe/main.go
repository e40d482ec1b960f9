// probe: one program per runtime shape that goleash must read faithfully. Each mode prints a
// dump (or makes the runtime print one) on stdout or stderr. Lines that tests look up carry a
// `// SITE: name` comment, so tests take the expected file:line from this source.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type server struct{ jobs chan int }

// run is started as a method value (`go s.run(ch)`), which the compiler wraps in a
// `gowrap` function that SIGQUIT tracebacks at GOTRACEBACK=system print and debug=2 hides.
func (s *server) run(done chan struct{}) {
	<-done // SITE: method
}

func receive(ch chan int) {
	<-ch // SITE: receive
}

// leak starts goroutines that block forever on channels nobody else holds.
func leak(n int) {
	for i := 0; i < n; i++ {
		ch := make(chan int)
		go receive(ch)
		s := &server{}
		go s.run(make(chan struct{}))
		f := s.run
		go f(make(chan struct{}))
	}
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock() // SITE: lock
	}()
}

// deep blocks at the bottom of a recursion so that every goroutine's stack is long: a debug=2
// dump of many of them exceeds the 64 MiB Go's pprof handler writes at most.
func deep(depth int, ch chan int) {
	if depth == 0 {
		<-ch // SITE: deep
		return
	}
	deep(depth-1, ch)
}

func serve(many, depth int, hangLeak time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/pprof/", http.DefaultServeMux)
	if hangLeak > 0 {
		// A leak profile that takes longer than the client waits (a GC of a huge heap).
		mux.HandleFunc("/debug/pprof/goroutineleak", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(hangLeak)
			pprof.Lookup("goroutineleak").WriteTo(w, 0)
		})
	}
	block := make(chan int)
	for i := 0; i < many; i++ {
		go deep(depth, block)
	}
	leak(3)
	go http.Serve(ln, mux)
	fmt.Printf("listening on http://%s\n", ln.Addr())
	// Exit when the test that started us goes away.
	io.Copy(io.Discard, os.Stdin)
}

var spins atomic.Int64

func spinner() {
	for {
		spins.Add(1) // SITE: spin
	}
}

func panicServing() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]int
		m["x"] = 1 // SITE: panic-serving
	}), ErrorLog: log.New(os.Stderr, "", log.LstdFlags)}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err == nil {
		resp.Body.Close()
	}
	time.Sleep(100 * time.Millisecond)
}

func emptyLabel() {
	ready := make(chan struct{})
	pprof.Do(context.Background(), pprof.Labels("", "anonymous", "tenant", "t1"), func(ctx context.Context) {
		go func() {
			close(ready)
			select {} // SITE: empty-label
		}()
	})
	<-ready
	time.Sleep(50 * time.Millisecond)
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}

func smallBuffer() {
	leak(20)
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 4096)
	n := runtime.Stack(buf, true)
	os.Stdout.Write(buf[:n])
}

func garbageTail() {
	leak(2)
	time.Sleep(50 * time.Millisecond)
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
	// What a log holds after a dump when the process was killed mid-write.
	os.Stdout.WriteString("2026/12/04 12:00:00 shutting down: closing listen")
}

// moment writes the goroutineleak profile, a debug=2 dump and the goroutine profile of one
// moment into dir, prints the goroutine count, then sends itself SIGQUIT: four views of the
// same goroutines.
func moment(dir string) {
	leak(3)
	time.Sleep(50 * time.Millisecond)
	for _, c := range []struct {
		file, profile string
		debug         int
	}{
		{"leak.pb.gz", "goroutineleak", 0},
		{"dump.txt", "goroutine", 2},
		{"goroutine.pb.gz", "goroutine", 0},
	} {
		f, err := os.Create(filepath.Join(dir, c.file))
		if err != nil {
			log.Fatal(err)
		}
		pprof.Lookup(c.profile).WriteTo(f, c.debug)
		f.Close()
	}
	fmt.Printf("goroutines %d\n", runtime.NumGoroutine())
	syscall.Kill(os.Getpid(), syscall.SIGQUIT)
	select {}
}

func main() {
	out := flag.String("out", ".", "moment: directory for the profiles")
	mode := flag.String("mode", "serve", "serve | sigquit | moment | panic-serving | empty-label | small-buffer | garbage-tail")
	many := flag.Int("many", 0, "serve: extra goroutines blocked at the bottom of a deep stack")
	depth := flag.Int("depth", 30, "serve: recursion depth of those goroutines")
	hangLeak := flag.Duration("hang-leak", 0, "serve: the goroutineleak endpoint sleeps this long first")
	spin := flag.Int("spin", 0, "sigquit: goroutines that never block, so threads are running them when the signal comes")
	flag.Parse()
	switch *mode {
	case "serve":
		serve(*many, *depth, *hangLeak)
	case "sigquit":
		// Leaks, then waits for the test's SIGQUIT; prints `ready` once they are parked.
		leak(3)
		for i := 0; i < *spin; i++ {
			go spinner()
		}
		time.Sleep(50 * time.Millisecond)
		fmt.Printf("ready %d\n", runtime.NumGoroutine())
		select {}
	case "moment":
		moment(*out)
	case "panic-serving":
		panicServing()
	case "empty-label":
		emptyLabel()
	case "small-buffer":
		smallBuffer()
	case "garbage-tail":
		garbageTail()
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode, strings.Repeat("", 0))
		os.Exit(2)
	}
}
