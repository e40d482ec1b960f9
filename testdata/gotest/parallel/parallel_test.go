package parallel

import (
	"testing"
	"time"
)

var shared = &Loader{Load: func(string) int { time.Sleep(100 * time.Millisecond); return 42 }}

func TestParallelFirst(t *testing.T) {
	t.Parallel()
	shared.Get("config")
}

func TestParallelSecond(t *testing.T) {
	t.Parallel()
	shared.Get("config")
}
