//go:build goleash_trace

// Package traced leaks from a helper goroutine inside one subtest of a table, for
// `goleash test --trace` (crates/goleash/tests/gotest.rs): without ancestors no frame of the
// leaked goroutines names a test, and the check's test-name label names only the top-level
// test; the execution trace names the subtest. Its files carry the build tag goleash_trace so
// that the module's `./...` runs leave it out.
package traced

import "sync"

// Pool hands jobs to workers, which a helper goroutine starts.
type Pool struct{ jobs chan int }

// Start starts the pool; Stop ends its workers. BUG (in the caller that forgets Stop): the
// workers range over jobs forever.
func Start(workers int) *Pool {
	p := &Pool{jobs: make(chan int)}
	go p.spawn(workers)
	return p
}

func (p *Pool) spawn(workers int) {
	for i := 0; i < workers; i++ {
		go p.worker()
	}
}

func (p *Pool) worker() {
	for range p.jobs {
	}
}

// Stop ends the workers.
func (p *Pool) Stop() { close(p.jobs) }

// Churn runs n short goroutines and waits for them: goroutines that end.
func Churn(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
}
