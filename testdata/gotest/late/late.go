// Package late starts a goroutine that outlives its test by a little: it ends within
// goleash's retry window, so it is not a leak.
package late

import (
	"sync/atomic"
	"time"
)

// Flushed counts background flushes.
var Flushed atomic.Int64

// FlushSoon flushes after d in the background.
func FlushSoon(d time.Duration) {
	go func() {
		time.Sleep(d)
		Flushed.Add(1)
	}()
}
