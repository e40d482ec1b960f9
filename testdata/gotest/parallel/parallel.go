// Package parallel leaks only when two callers overlap, which its tests do only under
// t.Parallel: run with -parallel 1, nothing leaks.
package parallel

import (
	"sync"
	"time"
)

// Loader deduplicates concurrent loads of one key.
type Loader struct {
	mu       sync.Mutex
	inflight map[string]*call
	Load     func(string) int
}

type call struct{ waiters []chan int }

// Get returns Load(key), sharing one load among concurrent callers. BUG: a waiter gives up
// after 10 ms, but the loader still sends to its unbuffered channel and blocks forever.
func (l *Loader) Get(key string) int {
	l.mu.Lock()
	if c, ok := l.inflight[key]; ok {
		ch := make(chan int)
		c.waiters = append(c.waiters, ch)
		l.mu.Unlock()
		select {
		case v := <-ch:
			return v
		case <-time.After(10 * time.Millisecond):
			return -1
		}
	}
	c := &call{}
	if l.inflight == nil {
		l.inflight = map[string]*call{}
	}
	l.inflight[key] = c
	l.mu.Unlock()
	v := l.Load(key)
	go func() {
		l.mu.Lock()
		delete(l.inflight, key)
		waiters := c.waiters
		l.mu.Unlock()
		for _, w := range waiters {
			w <- v
		}
	}()
	return v
}
