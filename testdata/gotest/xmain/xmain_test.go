package xmain_test

import (
	"flag"
	"os"
	"testing"

	"goleash.test/gotest/xmain"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}

func TestFanout(t *testing.T) {
	xmain.Fanout(1, 4)
}
