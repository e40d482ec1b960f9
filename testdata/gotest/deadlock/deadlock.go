// Package deadlock locks two accounts in argument order: two opposite transfers deadlock.
package deadlock

import "sync"

// Account is a balance guarded by a mutex.
type Account struct {
	mu      sync.Mutex
	Balance int
}

// Transfer moves amount from one account to the other, calling between after the first lock.
func Transfer(from, to *Account, amount int, between func()) {
	from.mu.Lock()
	defer from.mu.Unlock()
	between()
	to.mu.Lock()
	defer to.mu.Unlock()
	from.Balance -= amount
	to.Balance += amount
}
