package clean_test

import (
	"testing"

	"goleash.test/gotest/clean"
)

func TestSquaresExternal(t *testing.T) {
	if got := clean.Squares([]int{4}); got[0] != 16 {
		t.Fatalf("got %v", got)
	}
}
