// Package clean starts goroutines and always ends them: goleash test must report nothing.
package clean

import (
	"context"
	"sync"
)

// Squares computes n*n for each input on its own goroutine and waits for all of them.
func Squares(in []int) []int {
	out := make([]int, len(in))
	var wg sync.WaitGroup
	for i, n := range in {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = n * n
		}()
	}
	wg.Wait()
	return out
}

// Generate sends 0, 1, 2, … until ctx is cancelled, then closes the channel.
func Generate(ctx context.Context) <-chan int {
	ch := make(chan int)
	go func() {
		defer close(ch)
		for i := 0; ; i++ {
			select {
			case ch <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
