// Package leaky holds one goroutine leak per seed pattern; each test in leaky_test.go leaks
// through one of them, so goleash test must name every test here (and no other).
package leaky

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// FirstResult runs every query and returns the first answer. BUG: the channel is unbuffered,
// so every sender but the first blocks forever (the forgotten sender).
func FirstResult(queries ...func() int) int {
	ch := make(chan int)
	for _, q := range queries {
		go func() { ch <- q() }()
	}
	return <-ch
}

// StartSummer sums what is sent on the returned channel. BUG: nothing tells the caller to
// close it, so the range never ends (range without close).
func StartSummer(total *atomic.Int64) chan<- int {
	ch := make(chan int)
	go func() {
		for v := range ch {
			total.Add(int64(v))
		}
	}()
	return ch
}

// StartHeartbeat counts ticks. BUG: no context or stop channel: the loop runs forever
// (ticker loop without ctx).
func StartHeartbeat(beats *atomic.Int64) {
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		for range t.C {
			beats.Add(1)
		}
	}()
}

// Store is a map guarded by a mutex.
type Store struct {
	mu sync.Mutex
	m  map[string]int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{m: map[string]int{}} }

// Put stores a positive value. BUG: the early return keeps the lock (mutex held forever).
func (s *Store) Put(k string, v int) bool {
	s.mu.Lock()
	if v <= 0 {
		return false
	}
	s.m[k] = v
	s.mu.Unlock()
	return true
}

// FlushLater writes the store out in the background.
func (s *Store) FlushLater() {
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		clear(s.m)
	}()
}

// Client reads lines a server pushes. BUG: nothing closes the conn, so the read loop waits
// forever when the server goes quiet (blocked network read on a loopback conn).
type Client struct {
	conn net.Conn
	got  atomic.Int64
}

// Dial connects to addr and starts the read loop.
func Dial(addr string) (*Client, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn}
	go c.readLoop()
	return c, nil
}

func (c *Client) readLoop() {
	buf := make([]byte, 512)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return
		}
		c.got.Add(int64(n))
	}
}

// spawnChild starts a goroutine that starts the leaking one and returns: the leak is two
// goroutines away from the test that caused it.
func spawnChild(done chan<- struct{}) {
	go func() {
		defer close(done)
		go FirstResult(func() int { return 1 }, func() int { return 2 })
	}()
}
