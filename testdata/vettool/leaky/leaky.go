// Package leaky has one goroutine leak that goleash's GL001 (forgotten-sender) reports and the
// standard go vet does not: `go vet ./...` passes, `go vet -vettool=$(command -v goleash)` fails.
package leaky

import (
	"context"
	"time"
)

// Fetch gives up after a second, and then the goroutine blocks forever on its send:
// nothing receives from the unbuffered channel any more.
func Fetch(ctx context.Context) (int, error) {
	ch := make(chan int)
	go func() {
		ch <- slow() // the leak: line 15
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func slow() int {
	time.Sleep(2 * time.Second)
	return 42
}
