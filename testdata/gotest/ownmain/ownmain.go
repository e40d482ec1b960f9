// Package ownmain has its own TestMain, which starts a goroutine before the tests (to be
// ignored: it was alive before the first test), stops a janitor the tests started lazily
// (after m.Run, so not a leak), and leaks in one test.
package ownmain

import (
	"sync"
	"time"
)

// Events is a long-lived event loop the TestMain starts.
func Events(in <-chan string) {
	for range in {
	}
}

// Race returns the faster of two answers. BUG: the slower sender blocks forever.
func Race(a, b func() string) string {
	ch := make(chan string)
	go func() { ch <- a() }()
	go func() { ch <- b() }()
	return <-ch
}

var (
	janitorOnce sync.Once
	janitorStop = make(chan struct{})
	janitorDone = make(chan struct{})
)

// StartJanitor starts the background janitor the first time it is called.
func StartJanitor() {
	janitorOnce.Do(func() {
		go func() {
			defer close(janitorDone)
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
				case <-janitorStop:
					return
				}
			}
		}()
	})
}

// StopJanitor ends the janitor and waits for it.
func StopJanitor() {
	close(janitorStop)
	<-janitorDone
}
