package helpermain

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain holds the setup and teardown around the tests, so that its defers run before
// os.Exit.
func runMain(m *testing.M) int {
	defer func() {}()
	return m.Run()
}

func TestNotify(t *testing.T) { Notify() }
