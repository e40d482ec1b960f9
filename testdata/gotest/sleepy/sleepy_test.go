package sleepy

import (
	"os"
	"testing"
	"time"
)

// Only goleash's signal test runs it (it names the pid file); elsewhere it would hold
// `go test ./...` for ten minutes.
func TestSleepsUntilStopped(t *testing.T) {
	path := os.Getenv("GOLEASH_SLEEPY_PID_FILE")
	if path == "" {
		t.Skip("set GOLEASH_SLEEPY_PID_FILE to run")
	}
	if err := Nap(path, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
}
