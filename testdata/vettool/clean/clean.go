// Package clean has nothing to report. It imports leaky, so vetting it alone still runs goleash
// on leaky, as a dependency (VetxOnly), which must report nothing.
package clean

import (
	"context"
	"time"

	"goleash.test/vettool/leaky"
)

// Fetch buffers the channel, so the sender always completes even when nobody waits.
func Fetch(ctx context.Context) (int, error) {
	ch := make(chan int, 1)
	go func() {
		ch <- 7
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Both calls leaky.Fetch too, with a deadline.
func Both() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return leaky.Fetch(ctx)
}
