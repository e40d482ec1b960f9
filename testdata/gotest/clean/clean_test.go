package clean

import (
	"context"
	"os"
	"testing"
)

func TestSquares(t *testing.T) {
	got := Squares([]int{1, 2, 3})
	if got[0] != 1 || got[1] != 4 || got[2] != 9 {
		t.Fatalf("got %v", got)
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := Generate(ctx)
	for i := 0; i < 3; i++ {
		<-ch
	}
	cancel()
	// Draining until close waits for the generator to return.
	for range ch {
	}
}

// TestNoGoleashEnv: the check's settings are hidden from the tests (and from any copy of the
// test binary a test starts).
func TestNoGoleashEnv(t *testing.T) {
	if dir := os.Getenv("GOLEASH_TEST_DIR"); dir != "" {
		t.Fatalf("GOLEASH_TEST_DIR=%q visible to tests", dir)
	}
}
