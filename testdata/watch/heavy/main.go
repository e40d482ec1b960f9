// heavy: a service whose goroutine profiles are expensive, for goleash watch's scheduling
// tests. -n parks that many goroutines (a debug=2 dump of 10⁵ of them is tens of MB);
// -slow-debug2 and -slow-leak make the debug=2 dump and the goroutineleak profile take that
// long (standing in for formatting 5·10⁵ stacks or a full GC of a large heap: the work goes
// on whether or not the client still waits); -slow-all delays every request;
// -burst-debug2 parks that many more goroutines while it serves a debug=2 dump only (a burst
// between the protobuf and the dump, which the protobuf could not predict). GET /stats
// counts what it was asked: requests per kind and "overlaps", requests that arrived while an
// earlier debug=2 or goroutineleak request was still being served.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"goleash.test/watch/internal/svc"
)

func parkA(ch chan struct{}, depth int) {
	if depth > 0 {
		parkA(ch, depth-1)
		return
	}
	<-ch
}

func parkB(mu *sync.Mutex, depth int) {
	if depth > 0 {
		parkB(mu, depth-1)
		return
	}
	mu.Lock()
}

type stats struct {
	mu       sync.Mutex
	Requests int `json:"requests"`
	Debug2   int `json:"debug2"`
	Leak     int `json:"leak"`
	Proto    int `json:"proto"`
	Overlaps int `json:"overlaps"`
	heavy    int
}

func main() {
	n := flag.Int("n", 0, "goroutines to park")
	slowDebug2 := flag.Duration("slow-debug2", 0, "delay before a debug=2 dump")
	slowLeak := flag.Duration("slow-leak", 0, "delay before a goroutineleak profile")
	slowAll := flag.Duration("slow-all", 0, "delay before every pprof answer")
	burst := flag.Int("burst-debug2", 0, "goroutines parked only while a debug=2 dump is served")
	flag.Parse()
	never := make(chan struct{})
	var held sync.Mutex
	held.Lock()
	for i := 0; i < *n; i++ {
		if i%2 == 0 {
			go parkA(never, 8+i%5)
		} else {
			go parkB(&held, 8+i%7)
		}
	}
	st := &stats{}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		leak := strings.HasSuffix(r.URL.Path, "/goroutineleak")
		debug2 := strings.HasSuffix(r.URL.Path, "/goroutine") && r.URL.Query().Get("debug") == "2"
		heavy := leak || debug2
		st.mu.Lock()
		st.Requests++
		if st.heavy > 0 {
			st.Overlaps++
		}
		switch {
		case leak:
			st.Leak++
		case debug2:
			st.Debug2++
		default:
			st.Proto++
		}
		if heavy {
			st.heavy++
		}
		st.mu.Unlock()
		delay := *slowAll
		if leak {
			delay += *slowLeak
		}
		if debug2 {
			delay += *slowDebug2
		}
		time.Sleep(delay)
		if debug2 && *burst > 0 {
			release := make(chan struct{})
			var started sync.WaitGroup
			started.Add(*burst)
			for i := 0; i < *burst; i++ {
				go func(depth int) {
					started.Done()
					parkA(release, depth)
				}(8 + i%5)
			}
			started.Wait()
			defer close(release)
		}
		http.DefaultServeMux.ServeHTTP(w, r)
		if heavy {
			st.mu.Lock()
			st.heavy--
			st.mu.Unlock()
		}
	})
	ln := svc.Listen("127.0.0.1:0")
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	svc.ExitOnStdinClose()
}
