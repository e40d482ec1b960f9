// lock_order_deadlock: transfer locks the source account, then the destination. Four pairs of
// opposite transfers (A→B and B→A at the same time) each take their first lock and then wait
// forever for the other's (sync.Mutex.Lock): 8 deadlocked goroutines.
package main

import (
	"fmt"
	"sync"
	"time"

	"goleash.test/scenarios/internal/snap"
)

type account struct {
	mu      sync.Mutex
	id      string
	balance int
}

// transfer moves amount from one account to another. BUG: lock order depends on the
// argument order, so two opposite transfers deadlock.
func transfer(from, to *account, amount int) {
	from.mu.Lock()
	defer from.mu.Unlock()
	audit(from, amount) // slow enough that the opposite transfer takes its first lock meanwhile
	to.mu.Lock()        // blocks forever: the opposite transfer holds to.mu and wants from.mu
	defer to.mu.Unlock()
	from.balance -= amount
	to.balance += amount
}

func audit(a *account, amount int) {
	time.Sleep(50 * time.Millisecond)
	_ = fmt.Sprintf("%s -%d", a.id, amount)
}

func start() {
	for i := 0; i < 4; i++ {
		a := &account{id: fmt.Sprintf("acct-%dA", i), balance: 100}
		b := &account{id: fmt.Sprintf("acct-%dB", i), balance: 100}
		go transfer(a, b, 10)
		go transfer(b, a, 20)
	}
}

func main() {
	start()
	snap.Take()
}
