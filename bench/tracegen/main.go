// tracegen: writes a large Go execution trace of goroutine churn, for measuring
// `goleash trace`'s read speed (docs/trace.md).
//
//	go run . -out big.trace -for 20s
//	go run . -out big.trace -for 10m -size 1000000000   # stops at about 1 GB
//
// Workers keep creating short-lived goroutines that block on a channel, are answered and end;
// one in a thousand is never answered (a forgotten receiver) and stays blocked to the end.
package main

import (
	"flag"
	"log"
	"os"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

func request(leak bool, wg *sync.WaitGroup) {
	reply := make(chan int)
	go func() {
		if !leak {
			defer wg.Done()
		}
		<-reply // the leaked ones wait here forever
	}()
	if !leak {
		reply <- 1
	}
}

func main() {
	out := flag.String("out", "big.trace", "trace file to write")
	dur := flag.Duration("for", 20*time.Second, "how long to trace")
	workers := flag.Int("workers", 4, "goroutines creating requests")
	size := flag.Int64("size", 0, "stop as soon as the trace file holds this many bytes (0: only -for counts)")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	var stop atomic.Bool
	time.AfterFunc(*dur, func() { stop.Store(true) })
	if *size > 0 {
		// The trace is flushed to the file as it is written: its size says how far it got.
		go func() {
			for !stop.Load() {
				if info, err := f.Stat(); err == nil && info.Size() >= *size {
					stop.Store(true)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	var done sync.WaitGroup
	for w := 0; w < *workers; w++ {
		done.Add(1)
		go func() {
			defer done.Done()
			var wg sync.WaitGroup
			for i := 0; !stop.Load(); i++ {
				leak := i%1000 == 999
				if !leak {
					wg.Add(1)
				}
				request(leak, &wg)
			}
			wg.Wait()
		}()
	}
	done.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
