package many

import (
	"os"
	"testing"
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
