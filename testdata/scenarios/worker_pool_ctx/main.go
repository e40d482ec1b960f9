// worker_pool_ctx (healthy): an ingest pool of 16 workers that select on ctx.Done() and the jobs
// channel. The pool (with its context and cancel func) lives in a package variable for the whole
// process, so the workers are idle, not leaked. The workers run under the pprof labels
// {pool: ingest, tenant: initech}.
package main

import (
	"context"
	"hash/crc32"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"goleash.test/scenarios/internal/snap"
)

type job struct {
	id      int
	payload []byte
}

type pool struct {
	jobs   chan job
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sum    atomic.Uint32
}

// ingest lives as long as the process; Stop would cancel its context.
var ingest *pool

func newPool(n int) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool{jobs: make(chan job), cancel: cancel}
	pprof.Do(ctx, pprof.Labels("pool", "ingest", "tenant", "initech"), func(ctx context.Context) {
		for i := 0; i < n; i++ {
			p.wg.Add(1)
			go p.worker(ctx)
		}
	})
	return p
}

// worker handles jobs until the pool's context is cancelled.
func (p *pool) worker(ctx context.Context) {
	defer p.wg.Done()
	for {
		select { // idle here while there is no work
		case <-ctx.Done():
			return
		case j := <-p.jobs:
			p.sum.Add(crc32.ChecksumIEEE(j.payload))
		}
	}
}

// Stop cancels the workers and waits for them.
func (p *pool) Stop() {
	p.cancel()
	p.wg.Wait()
}

func start() {
	ingest = newPool(16)
	for i := 0; i < 40; i++ {
		ingest.jobs <- job{id: i, payload: []byte{byte(i), 1, 2, 3}}
	}
}

func main() {
	start()
	snap.Take()
}
