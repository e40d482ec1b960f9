package gl032

import "sync"

type status struct{ code int }

type statusManager struct {
	mu       sync.Mutex
	statuses map[string]status
	updates  chan status
}

func newStatusManager() *statusManager {
	return &statusManager{statuses: map[string]status{}, updates: make(chan status)}
}

// Positive: sends with mu held; the only receiver locks mu before it receives.
func (m *statusManager) SetPodStatus(name string, s status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses[name] = s
	m.updates <- s // want GL032
}

func (m *statusManager) syncBatch() {
	m.mu.Lock()
	n := len(m.statuses)
	m.mu.Unlock()
	_ = n
	<-m.updates
}

func (m *statusManager) Start() {
	go func() {
		for {
			m.syncBatch()
		}
	}()
}

type queue struct {
	mu    sync.Mutex
	items []int
	ready chan int
}

// Negative: the receiver does not need the lock.
func (q *queue) push(v int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, v)
	q.ready <- v
}

func (q *queue) consume() int {
	return <-q.ready
}

func newQueue() *queue { return &queue{ready: make(chan int)} }

type pool struct {
	mu   sync.Mutex
	free chan int
}

func newPool() *pool { return &pool{free: make(chan int, 16)} }

// Negative: a literal buffer.
func (p *pool) put(v int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free <- v
}

func (p *pool) get() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return <-p.free
}

type broadcasts struct {
	mu      sync.Mutex
	updatec chan int
	donec   chan struct{}
}

func newBroadcasts() *broadcasts {
	b := &broadcasts{updatec: make(chan int, 1), donec: make(chan struct{})}
	go func() {
		defer close(b.donec)
		for u := range b.updatec {
			b.coalesce(u)
		}
	}()
	return b
}

func (b *broadcasts) coalesce(u int) {
	b.mu.Lock()
	_ = u
	b.mu.Unlock()
}

// Positive: the deferred close runs after a loop that takes b.mu, which stop holds.
func (b *broadcasts) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.updatec)
	<-b.donec // want GL032
}
