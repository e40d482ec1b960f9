package withtest_test

import (
	"testing"

	"goleash.test/vettool/withtest"
)

func TestDoubleExternal(t *testing.T) {
	if withtest.Double(2) != 4 {
		t.Fatal("2*2")
	}
}
