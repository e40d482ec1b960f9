package many

import (
	"os"
	"sync"
	"testing"
	"time"
)

func TestLeakThousand(t *testing.T) { Broadcast(1, 1000) }

// The check's cost at scale (docs/test.md, Figures): only when GOLEASH_SCALE_TEST is set,
// since it leaves 100,000 goroutines.
func TestLeakHundredThousand(t *testing.T) {
	if os.Getenv("GOLEASH_SCALE_TEST") == "" {
		t.Skip("set GOLEASH_SCALE_TEST=1 to run")
	}
	Broadcast(1, 100_000)
}

// What GODEBUG=tracebackancestors costs a test that starts many goroutines from a deep
// stack (docs/test.md, Figures): 200,000 goroutines that end at once, started 100 calls deep.
func TestStartFromDeepStack(t *testing.T) {
	if os.Getenv("GOLEASH_SCALE_TEST") == "" {
		t.Skip("set GOLEASH_SCALE_TEST=1 to run")
	}
	start := time.Now()
	deep(100, func() {
		var wg sync.WaitGroup
		for range 200_000 {
			wg.Add(1)
			go wg.Done()
		}
		wg.Wait()
	})
	t.Logf("200000 goroutines started and ended in %v", time.Since(start))
}

func deep(n int, f func()) {
	if n == 0 {
		f()
		return
	}
	deep(n-1, f)
}
