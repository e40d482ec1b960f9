//go:build goleak_current

package service

import (
	"testing"

	"go.uber.org/goleak"
)

// -tags goleak_current: each test checks only the goroutines it started
// (goleak.IgnoreCurrent() taken when the test begins).
func verifyNone(t *testing.T) func() {
	current := goleak.IgnoreCurrent()
	return func() {
		t.Helper()
		goleak.VerifyNone(t, current)
	}
}
