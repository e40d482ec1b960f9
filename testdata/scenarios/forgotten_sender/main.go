// forgotten_sender: a request fans out to 12 backends. Each fetch runs in a goroutine that sends
// its result on an unbuffered channel while the caller selects on that channel and a timeout.
// The backends are slower than the timeout, so every caller gives up and returns, and every
// sender blocks forever on `ch <- ...` (chan send). The fan-out runs under the pprof labels
// {tenant: acme, req: 7}, which the senders inherit.
package main

import (
	"context"
	"fmt"
	"log"
	"runtime/pprof"
	"time"

	"goleash.test/scenarios/internal/snap"
)

type result struct {
	backend string
	body    string
}

// fetchResult asks one backend and waits at most timeout for the answer.
func fetchResult(backend string, timeout time.Duration) (result, error) {
	ch := make(chan result) // unbuffered: the send below needs a receiver
	go func() {
		ch <- query(backend) // blocks forever once fetchResult has returned on the timeout
	}()
	select {
	case r := <-ch:
		return r, nil
	case <-time.After(timeout):
		return result{}, fmt.Errorf("%s: no answer within %v", backend, timeout)
	}
}

// query stands for a backend call that is slower than the caller is willing to wait.
func query(backend string) result {
	time.Sleep(50 * time.Millisecond)
	return result{backend: backend, body: "ok"}
}

func handleRequest(ctx context.Context, backends []string) {
	for _, b := range backends {
		if _, err := fetchResult(b, 2*time.Millisecond); err != nil {
			log.Printf("req %s: %v", pprofLabel(ctx, "req"), err)
		}
	}
}

func pprofLabel(ctx context.Context, key string) string {
	v, _ := pprof.Label(ctx, key)
	return v
}

func start() {
	backends := make([]string, 12)
	for i := range backends {
		backends[i] = fmt.Sprintf("shard-%02d.internal:8443", i)
	}
	pprof.Do(context.Background(), pprof.Labels("tenant", "acme", "req", "7"), func(ctx context.Context) {
		handleRequest(ctx, backends)
	})
}

func main() {
	start()
	snap.Take()
}
