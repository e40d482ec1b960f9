package deadlock

import (
	"sync"
	"testing"
)

func TestTransferOnce(t *testing.T) {
	a, b := &Account{Balance: 10}, &Account{Balance: 10}
	Transfer(a, b, 5, func() {})
}

// TestTransferBothWays deadlocks until go test's -timeout panics.
func TestTransferBothWays(t *testing.T) {
	a, b := &Account{Balance: 100}, &Account{Balance: 100}
	var first sync.WaitGroup
	first.Add(2)
	both := func() { first.Done(); first.Wait() }
	var done sync.WaitGroup
	done.Add(2)
	go func() { defer done.Done(); Transfer(a, b, 10, both) }()
	go func() { defer done.Done(); Transfer(b, a, 20, both) }()
	done.Wait()
}
