package external_test

import (
	"sync"
	"testing"

	"goleash.test/gotest/external"
)

// TestForgottenDone leaks a goroutine waiting for a WaitGroup nobody marks done.
func TestForgottenDone(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	go external.Wait(&wg)
}
