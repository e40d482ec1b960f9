// range_unclosed: a dispatcher starts 5 workers that range over a jobs channel, hands them a
// batch of jobs and returns without close(jobs). Once the batch is done every worker blocks
// forever in `for j := range jobs` (chan receive).
package main

import (
	"strings"
	"sync/atomic"

	"goleash.test/scenarios/internal/snap"
)

type job struct {
	id   int
	text string
}

var processed atomic.Int64

// worker handles jobs until the channel is closed, which never happens.
func worker(id int, jobs <-chan job) {
	for j := range jobs { // blocks forever: nobody closes jobs
		if strings.TrimSpace(j.text) != "" {
			processed.Add(1)
		}
	}
}

// dispatch starts the workers and feeds them one batch. BUG: it never closes jobs.
func dispatch(batch []string) {
	jobs := make(chan job)
	for i := 0; i < 5; i++ {
		go worker(i, jobs)
	}
	for i, t := range batch {
		jobs <- job{id: i, text: t}
	}
}

func main() {
	dispatch([]string{"alpha", "beta", " ", "gamma", "delta", "epsilon", "zeta"})
	snap.Take()
}
