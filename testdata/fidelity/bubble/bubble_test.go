// Package bubble holds tests that fail the way goleash must read: a testing/synctest bubble
// whose goroutines outlive it, and a test that panics. Run with -run to pick one; both fail.
package bubble

import (
	"testing"
	"testing/synctest"
)

func wait(ch chan int) {
	<-ch // SITE: bubble
}

func TestBubbleLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int)
		go wait(ch)
		go wait(ch)
	})
}

func TestPanic(t *testing.T) {
	var items []int
	_ = items[len(items)+3] // SITE: test-panic
}
