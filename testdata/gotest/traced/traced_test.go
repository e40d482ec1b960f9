//go:build goleash_trace

package traced

import "testing"

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop bool
	}{
		{"stops", true},
		{"forgets", false},
		{"stops_again", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Start(3)
			Churn(5)
			if tc.stop {
				p.Stop()
			}
		})
	}
}

func TestOnlyChurns(t *testing.T) {
	Churn(4)
}
