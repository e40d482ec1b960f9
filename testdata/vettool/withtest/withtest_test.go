package withtest

import (
	"testing"
	"time"
)

// firstOrTimeout leaks its goroutine when the timeout wins.
func firstOrTimeout(d time.Duration) int {
	results := make(chan int)
	go func() {
		results <- Double(21) // the leak: line 12
	}()
	select {
	case v := <-results:
		return v
	case <-time.After(d):
		return 0
	}
}

func TestDouble(t *testing.T) {
	if got := firstOrTimeout(time.Second); got != 42 {
		t.Fatalf("got %d", got)
	}
}
