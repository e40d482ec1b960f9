package ownmain

import (
	"os"
	"testing"
)

var events = make(chan string)

func TestMain(m *testing.M) {
	// Alive before the first test: goleash ignores it, like goleak's IgnoreCurrent.
	go Events(events)
	code := m.Run()
	// Teardown after the tests: the janitor a test started ends here, before goleash looks.
	StopJanitor()
	if code == 0 {
		events <- "done"
	}
	os.Exit(code)
}

func TestRace(t *testing.T) {
	if got := Race(func() string { return "a" }, func() string { return "b" }); got == "" {
		t.Fatal("empty")
	}
}

func TestNoLeak(t *testing.T) {
	StartJanitor()
}
