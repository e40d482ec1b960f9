package gl030

import "sync"

type Mapping struct {
	mut   sync.RWMutex
	addrs map[string]int
}

// Positive (with notify.go): the lock is held when notify, in another file, read-locks it.
func (m *Mapping) clearAddresses() {
	m.mut.Lock()
	removed := len(m.addrs)
	m.addrs = map[string]int{}
	if removed > 0 {
		m.notify(removed)
	}
	m.mut.Unlock()
}

// Negative: released before the call.
func (m *Mapping) reset() {
	m.mut.Lock()
	m.addrs = map[string]int{}
	m.mut.Unlock()
	m.notify(0)
}

// Negative: a different instance of the same type.
func (m *Mapping) copyTo(other *Mapping) {
	m.mut.Lock()
	defer m.mut.Unlock()
	other.notify(len(m.addrs))
}

type Proxy struct {
	connTrackLock sync.Mutex
}

func dial(i int) error { return nil }

// Positive: `continue` reaches the next iteration still holding the lock.
func (p *Proxy) Run() {
	for i := 0; i < 2; i++ {
		p.connTrackLock.Lock() // want GL030
		if err := dial(i); err != nil {
			continue
		}
		p.connTrackLock.Unlock()
	}
}

type gossip struct {
	mu     sync.Mutex
	closed bool
}

// Returns with g.mu held when closed (break without unlock).
func (g *gossip) bootstrap() {
	for {
		g.mu.Lock()
		if g.closed {
			break
		}
		g.mu.Unlock()
	}
}

func (g *gossip) manage() {
	g.mu.Lock() // want GL030
	defer g.mu.Unlock()
}

// Positive: bootstrap returns holding g.mu, then manage locks it.
func startGossip(g *gossip) {
	g.bootstrap()
	g.manage()
}

type node struct {
	mu     sync.Mutex
	parent *node
}

// Negative: hand-over-hand locking up a chain of distinct nodes.
func (n *node) lockAncestors() {
	for p := n.parent; p != nil; p = p.parent {
		p.mu.Lock()
		defer p.mu.Unlock()
	}
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) lock()   { c.mu.Lock() }
func (c *counter) unlock() { c.mu.Unlock() }

// Negative: lock/unlock helpers, the unlock deferred.
func (c *counter) incr() {
	c.lock()
	defer c.unlock()
	c.n++
}

// Negative: the callee expects the lock held and releases it around its wait.
func (c *counter) incrLocked() {
	c.mu.Unlock()
	c.mu.Lock()
	c.n++
}

func (c *counter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.incrLocked()
}

// Negative: the callee locks only when told to (a flag the caller controls).
func (c *counter) bump(locked bool) {
	if !locked {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	c.n++
}

func (c *counter) bumpTwice() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bump(true)
}

type pump struct {
	mu      sync.Mutex
	pending []int
}

func (p *pump) flush(items []int) {}

// Negative: the lock is held across the loop as an invariant; each iteration lets go of it
// before taking it again.
func (p *pump) drain() {
	p.mu.Lock()
	for len(p.pending) > 0 {
		items := p.pending
		p.pending = nil
		p.mu.Unlock()
		p.flush(items)
		p.mu.Lock()
	}
	p.mu.Unlock()
}

// Negative: a mutex used as a signal between goroutines.
func signalled(work func()) {
	var m sync.Mutex
	m.Lock()
	go func() {
		work()
		m.Unlock()
	}()
	m.Lock()
}

// Negative: locked once, remembered in a flag.
func (c *counter) lockOnce(items []int) {
	held := false
	for range items {
		if !held {
			c.mu.Lock()
			held = true
		}
		c.n++
	}
	if held {
		c.mu.Unlock()
	}
}
