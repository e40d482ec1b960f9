package ledger

import (
	"sync"
	"testing"
)

func TestTransferSequential(t *testing.T) {
	a, b := &Account{Balance: 100}, &Account{Balance: 100}
	Transfer(a, b, 30, func() {})
	if a.Balance != 70 || b.Balance != 130 {
		t.Fatalf("balances %d/%d", a.Balance, b.Balance)
	}
}

// TestTransferConcurrent runs two opposite transfers that both hold their first lock before
// taking the second: a deterministic deadlock, ended by the -timeout panic.
func TestTransferConcurrent(t *testing.T) {
	a, b := &Account{Balance: 100}, &Account{Balance: 100}
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	both := func() { firstLocks.Done(); firstLocks.Wait() }
	var done sync.WaitGroup
	done.Add(2)
	go func() { defer done.Done(); Transfer(a, b, 10, both) }()
	go func() { defer done.Done(); Transfer(b, a, 20, both) }()
	done.Wait()
	if a.Balance+b.Balance != 200 {
		t.Fatalf("money was created or lost: %d", a.Balance+b.Balance)
	}
}
