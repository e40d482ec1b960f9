//go:build goleak_main

package service

import (
	"testing"

	"go.uber.org/goleak"
)

// -tags goleak_main: one check for the package after all its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func verifyNone(*testing.T) func() { return func() {} }
