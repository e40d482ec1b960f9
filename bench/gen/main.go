// Command gen starts N goroutines spread over about thirty distinct stack shapes, waits until
// every one of them is parked, and writes the goroutine profile in the three formats Go emits:
//
//	goroutine.debug2.txt  traceback text (pprof debug=2, without its 64 MB cap)
//	goroutine.pb.gz       gzipped pprof protobuf (debug=0)
//	goroutine.debug1.txt  legacy text profile (debug=1)
//
// It is the load generator for goleash's benchmarks (bench/run.sh). Shapes differ in
// functions, depth (3 to 20 frames), wait reason (channel send and receive, nil channels,
// select, mutexes, WaitGroup, Cond, sleep), creator, pprof labels, closures and generics.
//
//	go run . -n 100000 -out ../out/100000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// parked counts goroutines that are about to block; main waits until it reaches N.
var parked atomic.Int64

func ready() { parked.Add(1) }

// Everything the goroutines block on. Nothing is ever sent, closed, unlocked or signalled,
// and no channel has both senders and receivers, so no two goroutines can unblock each other.
var (
	never      = make(chan int)      // receivers only
	never2     = make(chan string)   // receivers only
	never3     = make(chan struct{}) // receivers only
	sendTo     = make(chan int)      // senders only
	sendTo2    = make(chan string)   // senders only
	sendTo3    = make(chan struct{}) // senders only
	sem        = make(chan struct{}) // senders only
	heldMu     sync.Mutex
	heldRW     sync.RWMutex
	heldRW2    sync.RWMutex
	pendingWG  sync.WaitGroup
	condMu     sync.Mutex
	cond       = sync.NewCond(&condMu)
	once       sync.Once
	pipeR, _   = io.Pipe()
	ticker     = time.NewTicker(time.Hour)
	neverCtx   context.Context
	neverStop  context.CancelFunc
	genericInt = make(chan int)    // receivers only
	genericStr = make(chan string) // receivers only
	genericOut = make(chan int)    // senders only
)

// shape is one way of blocking forever.
type shape func()

// The shapes. Each calls ready() right before the call that parks it.
var shapes = []shape{
	// 0-3: channel operations.
	func() { sendUnbuffered(1) },
	func() { recvPlain() },
	func() { recvNil() },
	func() { sendNil() },
	// 4-6: selects.
	func() { selectTwo() },
	func() { selectThree() },
	func() { selectNoCases() },
	// 7-11: sync primitives.
	func() { lockHeld() },
	func() { rlockWriterHeld() },
	func() { lockRWHeld() },
	func() { waitGroupWait() },
	func() { condWait() },
	// 12: sleep.
	func() { sleepLong() },
	// 13-16: deep recursion (distinct depths are distinct stacks).
	func() { descend(3, recvPlain) },
	func() { descend(9, selectTwo) },
	func() { descend(14, lockHeld) },
	func() { descend(15, waitGroupWait) },
	// 17-18: closures.
	func() {
		f := func() {
			ready()
			<-never3
		}
		f()
	},
	func() {
		outer := func(g func()) { g() }
		outer(func() {
			ready()
			sendTo3 <- struct{}{}
		})
	},
	// 19-21: generics.
	func() { genericRecv(genericInt) },
	func() { genericRecv(genericStr) },
	func() { genericSend(genericOut, 7) },
	// 22-24: pprof labels (the same stack under different label sets is a different group).
	func() { labelled("tenant", "alpha", recvPlain) },
	func() { labelled("tenant", "beta", recvPlain) },
	func() { labelled("job", "report batch", selectTwo) },
	// 25-26: methods.
	func() { (&server{}).serve() },
	func() { var w waiter = &pump{}; w.wait() },
	// 27-30: library-shaped waits.
	func() { rangeOver() },
	func() { ctxDone() },
	func() { onceBlocked() },
	func() { tickLoop() },
	func() { pipeRead() },
	func() { semAcquire() },
}

//go:noinline
func sendUnbuffered(v int) {
	ready()
	sendTo <- v
}

//go:noinline
func recvPlain() {
	ready()
	<-never
}

//go:noinline
func recvNil() {
	var c chan int
	ready()
	<-c
}

//go:noinline
func sendNil() {
	var c chan int
	ready()
	c <- 1
}

//go:noinline
func selectTwo() {
	ready()
	select {
	case <-never:
	case <-never2:
	}
}

//go:noinline
func selectThree() {
	ready()
	select {
	case <-never:
	case sendTo2 <- "x":
	case <-never3:
	}
}

//go:noinline
func selectNoCases() {
	ready()
	select {}
}

//go:noinline
func lockHeld() {
	ready()
	heldMu.Lock()
}

//go:noinline
func rlockWriterHeld() {
	ready()
	heldRW.RLock()
}

//go:noinline
func lockRWHeld() {
	ready()
	heldRW2.Lock()
}

//go:noinline
func waitGroupWait() {
	ready()
	pendingWG.Wait()
}

//go:noinline
func condWait() {
	condMu.Lock()
	ready()
	for {
		cond.Wait()
	}
}

//go:noinline
func sleepLong() {
	ready()
	time.Sleep(24 * time.Hour)
}

//go:noinline
func descend(depth int, leaf func()) {
	if depth == 0 {
		leaf()
		return
	}
	descend(depth-1, leaf)
}

//go:noinline
func genericRecv[T any](c chan T) T {
	ready()
	return <-c
}

//go:noinline
func genericSend[T any](c chan T, v T) {
	ready()
	c <- v
}

//go:noinline
func labelled(key, value string, leaf func()) {
	pprof.Do(context.Background(), pprof.Labels(key, value), func(context.Context) { leaf() })
}

type server struct{ requests chan int }

//go:noinline
func (s *server) serve() {
	s.requests = never
	s.loop()
}

//go:noinline
func (s *server) loop() {
	ready()
	for range s.requests {
	}
}

type waiter interface{ wait() }

type pump struct{}

//go:noinline
func (*pump) wait() {
	ready()
	<-never2
}

//go:noinline
func rangeOver() {
	ready()
	for v := range never2 {
		_ = v
	}
}

//go:noinline
func ctxDone() {
	ready()
	<-neverCtx.Done()
}

//go:noinline
func onceBlocked() {
	// The first caller blocks inside f; every other one blocks on the Once's mutex.
	ready()
	once.Do(func() {
		<-never3
	})
}

//go:noinline
func tickLoop() {
	ready()
	for range ticker.C {
	}
}

//go:noinline
func pipeRead() {
	buf := make([]byte, 1)
	ready()
	_, _ = pipeR.Read(buf)
}

//go:noinline
func semAcquire() {
	ready()
	sem <- struct{}{}
}

// Two spawners so that goroutines differ in their `created by` frame too.

//go:noinline
func spawnEven(s shape, count int) {
	for i := 0; i < count; i++ {
		go s()
	}
}

//go:noinline
func spawnOdd(s shape, count int) {
	for i := 0; i < count; i++ {
		go s()
	}
}

func main() {
	n := flag.Int("n", 10000, "how many goroutines to start")
	out := flag.String("out", ".", "directory to write the dumps into")
	flag.Parse()
	if err := run(*n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(n int, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	neverCtx, neverStop = context.WithCancel(context.Background())
	defer neverStop()
	heldMu.Lock()
	heldRW.Lock()
	heldRW2.RLock()
	pendingWG.Add(1)

	start := time.Now()
	// Shape s gets n/len(shapes) goroutines (the first n%len(shapes) shapes one more), from
	// the even or odd spawner by the shape's index.
	for s, f := range shapes {
		count := n / len(shapes)
		if s < n%len(shapes) {
			count++
		}
		if s%2 == 0 {
			spawnEven(f, count)
		} else {
			spawnOdd(f, count)
		}
	}
	for parked.Load() < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	// ready() runs just before the parking call: give the last ones time to park.
	settle := 200*time.Millisecond + time.Duration(n/1000)*time.Millisecond
	time.Sleep(settle)
	runtime.GC()
	if got := runtime.NumGoroutine(); got < n+1 {
		return fmt.Errorf("only %d of %d goroutines are alive: a shape returned", got-1, n)
	}
	fmt.Fprintf(os.Stderr, "gen: %d goroutines (%d total) parked in %v\n",
		n, runtime.NumGoroutine(), time.Since(start).Round(time.Millisecond))

	for _, d := range []struct {
		name  string
		debug int
	}{
		{"goroutine.debug2.txt", 2},
		{"goroutine.pb.gz", 0},
		{"goroutine.debug1.txt", 1},
	} {
		t := time.Now()
		if err := write(filepath.Join(out, d.name), d.debug); err != nil {
			return err
		}
		info, _ := os.Stat(filepath.Join(out, d.name))
		fmt.Fprintf(os.Stderr, "gen: wrote %s (%d bytes) in %v\n",
			filepath.Join(out, d.name), info.Size(), time.Since(t).Round(time.Millisecond))
	}
	return nil
}

func write(path string, debug int) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if debug == 2 {
		err = writeAllStacks(f)
	} else {
		err = pprof.Lookup("goroutine").WriteTo(f, debug)
	}
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Rename last so an interrupted run never leaves a file that looks complete.
	return os.Rename(tmp, path)
}

// writeAllStacks writes what pprof's goroutine profile writes at debug=2 — runtime.Stack of
// all goroutines — but without its 64 MB cap: pprof gives up doubling its buffer at 64 MB and
// writes a dump cut mid-goroutine, which at 10^6 goroutines (~500 MB) would be most of it.
func writeAllStacks(w io.Writer) error {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			_, err := w.Write(buf[:n])
			return err
		}
		buf = make([]byte, 2*len(buf))
	}
}
