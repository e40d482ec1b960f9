// ticker_loop: every session starts a metrics reporter that does `for range ticker.C` with no
// context and no way out. The sessions end; the 9 reporters keep ticking every 10s forever.
// Between ticks they wait in chan receive on the ticker's channel. The ticker is referenced by
// the runtime's timer heap, so the runtime's leak detector does not flag them.
package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"goleash.test/scenarios/internal/snap"
)

var flushed atomic.Int64

type reporter struct {
	session string
	every   time.Duration
	samples []float64
}

// run flushes the session's metrics on every tick, forever: it has no exit.
func (r *reporter) run() {
	t := time.NewTicker(r.every)
	for range t.C { // blocks here between ticks, forever
		r.flush()
	}
}

func (r *reporter) flush() {
	r.samples = r.samples[:0]
	flushed.Add(1)
}

func startSession(i int) {
	r := &reporter{session: fmt.Sprintf("sess-%d", i), every: 10 * time.Second}
	go r.run()
}

func start() {
	for i := 0; i < 9; i++ {
		startSession(i)
	}
}

func main() {
	start()
	snap.Take()
}
