// waitgroup_missed_done: each of 15 batches runs one goroutine per item under a WaitGroup. The
// path for an invalid item returns before `defer wg.Done()` is registered, so the counter never
// reaches zero: the goroutine that waits to close the results channel blocks forever in
// wg.Wait (sync.WaitGroup.Wait), and the collector ranging over the results blocks forever too
// (chan receive).
package main

import (
	"fmt"
	"strings"
	"sync"

	"goleash.test/scenarios/internal/snap"
)

type item struct {
	key   string
	valid bool
}

// closeWhenDone closes results once every item has been handled.
func closeWhenDone(wg *sync.WaitGroup, results chan<- string) {
	wg.Wait() // blocks forever: one item never called Done
	close(results)
}

// collect gathers the results of one batch.
func collect(batch int, results <-chan string) {
	var out []string
	for r := range results { // blocks forever: results is never closed
		out = append(out, r)
	}
	fmt.Println(batch, strings.Join(out, ","))
}

func runBatch(batch int, items []item) {
	var wg sync.WaitGroup
	results := make(chan string, len(items))
	for _, it := range items {
		wg.Add(1)
		go func() {
			if !it.valid {
				return // BUG: returns without wg.Done()
			}
			defer wg.Done()
			results <- strings.ToUpper(it.key)
		}()
	}
	go closeWhenDone(&wg, results)
	go collect(batch, results)
}

func start() {
	for b := 0; b < 15; b++ {
		runBatch(b, []item{
			{key: fmt.Sprintf("b%d-a", b), valid: true},
			{key: fmt.Sprintf("b%d-b", b), valid: false},
			{key: fmt.Sprintf("b%d-c", b), valid: true},
		})
	}
}

func main() {
	start()
	snap.Take()
}
