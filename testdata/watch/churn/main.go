// churn: a busy service that starts and ends goroutines all the time, so any goroutine
// profile taken from it catches some of them starting or exiting (only runtime.goexit on their
// stacks) and some running on another thread.
package main

import (
	"flag"
	"runtime"
	"sync/atomic"

	"goleash.test/watch/internal/svc"
)

var finished atomic.Int64

func short(n int) {
	sum := 0
	for i := 0; i < n; i++ {
		sum += i
	}
	if sum < 0 {
		runtime.Gosched()
	}
	finished.Add(1)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	spawners := flag.Int("spawners", 2, "goroutines that keep starting short-lived goroutines")
	mapCrash := flag.Bool("map-crash", false, "after starting, write one map from several goroutines until the runtime aborts (fatal error: concurrent map writes)")
	flag.Parse()
	for s := 0; s < *spawners; s++ {
		go func() {
			for {
				for i := 0; i < 64; i++ {
					go short(i * 16)
				}
				runtime.Gosched()
			}
		}()
	}
	svc.Serve(svc.Listen(*addr))
	if *mapCrash {
		shared := map[int]int{}
		for w := 0; w < 4; w++ {
			go func() {
				for i := 0; ; i++ {
					shared[i%128] = i
				}
			}()
		}
	}
	svc.ExitOnStdinClose()
}
