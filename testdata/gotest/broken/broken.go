// Package broken compiles, but its test does not under -tags goleash_broken: goleash test must
// report a build failure, not "no leaks".
package broken

// Answer is 42.
func Answer() int { return 42 }
