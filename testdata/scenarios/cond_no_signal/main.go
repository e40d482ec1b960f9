// cond_no_signal: 4 consumers wait on a sync.Cond for items. push appends items but forgets
// to Signal/Broadcast, so the consumers stay in cond.Wait (sync.Cond.Wait) forever even though
// the queue is not empty.
package main

import (
	"strings"
	"sync"
	"time"

	"goleash.test/scenarios/internal/snap"
)

type queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []string
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// pop waits for an item.
func (q *queue) pop() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		q.cond.Wait() // blocks forever: push never signals
	}
	it := q.items[0]
	q.items = q.items[1:]
	return it
}

// push adds items. BUG: no q.cond.Signal() / Broadcast().
func (q *queue) push(items ...string) {
	q.mu.Lock()
	q.items = append(q.items, items...)
	q.mu.Unlock()
}

func consume(q *queue) {
	for {
		_ = strings.ToUpper(q.pop())
	}
}

func start() {
	q := newQueue()
	for i := 0; i < 4; i++ {
		go consume(q)
	}
	go func() {
		time.Sleep(100 * time.Millisecond) // after the consumers are waiting
		q.push("a", "b", "c")
	}()
}

func main() {
	start()
	snap.Take()
}
