package xmain_test

import (
	"flag"
	"testing"

	"goleash.test/gotest/xmain"
)

// TestMain returns instead of calling os.Exit (allowed since Go 1.15).
func TestMain(m *testing.M) {
	flag.Parse()
	m.Run()
}

func TestFanout(t *testing.T) {
	xmain.Fanout(1, 4)
}
