//go:build !goleak && !goleak_current && !goleak_main

package service

import "testing"

// Without a goleak tag the tests check nothing themselves: goleash test does it.
func verifyNone(*testing.T) func() { return func() {} }
