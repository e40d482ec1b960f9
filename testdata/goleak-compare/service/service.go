// Package service has the goroutine patterns of a typical backend package, some used
// correctly by its tests and some not: the module on which goleash test and goleak are
// compared (docs/test.md).
package service

import (
	"sync"
	"time"
)

// FetchFirst asks every source at once and returns the first answer. The channel has no
// buffer: the slower senders block forever once the first answer is taken.
func FetchFirst(sources []string, fetch func(string) string) string {
	answers := make(chan string)
	for _, s := range sources {
		go func(s string) { answers <- fetch(s) }(s)
	}
	return <-answers
}

// Poller calls a function on every tick until Stop.
type Poller struct {
	stop chan struct{}
	done chan struct{}
}

func StartPoller(every time.Duration, poll func()) *Poller {
	p := &Poller{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				poll()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

func (p *Poller) Stop() {
	close(p.stop)
	<-p.done
}

// Cache drops expired entries in the background until Close.
type Cache struct {
	mu      sync.Mutex
	entries map[string]time.Time
	closed  chan struct{}
}

func NewCache(ttl time.Duration) *Cache {
	c := &Cache{entries: map[string]time.Time{}, closed: make(chan struct{})}
	go c.janitor(ttl)
	return c
}

func (c *Cache) janitor(ttl time.Duration) {
	for {
		select {
		case <-time.After(ttl):
			c.mu.Lock()
			for k, t := range c.entries {
				if time.Since(t) > ttl {
					delete(c.entries, k)
				}
			}
			c.mu.Unlock()
		case <-c.closed:
			return
		}
	}
}

func (c *Cache) Put(key string) {
	c.mu.Lock()
	c.entries[key] = time.Now()
	c.mu.Unlock()
}

func (c *Cache) Close() { close(c.closed) }

// Pool runs jobs on n workers and waits for them.
func Pool(n int, jobs []func()) {
	queue := make(chan func())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range queue {
				job()
			}
		}()
	}
	for _, job := range jobs {
		queue <- job
	}
	close(queue)
	wg.Wait()
}

// FlushLater writes in the background and is done shortly after the caller returns.
func FlushLater(d time.Duration, flush func()) {
	go func() {
		time.Sleep(d)
		flush()
	}()
}
