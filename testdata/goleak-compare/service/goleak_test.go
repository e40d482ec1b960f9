//go:build goleak

package service

import (
	"testing"

	"go.uber.org/goleak"
)

// -tags goleak: each test ends with goleak's check as its README shows it; goroutines an
// earlier test left are reported again by every later test.
func verifyNone(t *testing.T) func() {
	return func() {
		t.Helper()
		goleak.VerifyNone(t)
	}
}
