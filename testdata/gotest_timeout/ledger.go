// Package ledger is a tiny package whose test deadlocks, so that `go test -timeout 3s` prints
// the test harness's timeout panic and goroutine dump (testdata/dumps/formats/test_timeout.txt).
package ledger

import "sync"

// Account is a balance guarded by a mutex.
type Account struct {
	mu      sync.Mutex
	Balance int
}

// Transfer moves amount between accounts. BUG: it locks in argument order, so two opposite
// transfers running at the same time can deadlock.
func Transfer(from, to *Account, amount int, between func()) {
	from.mu.Lock()
	defer from.mu.Unlock()
	between()
	to.mu.Lock()
	defer to.mu.Unlock()
	from.Balance -= amount
	to.Balance += amount
}
