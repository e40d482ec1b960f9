// Package withtest is clean; its test file is not. go vet lints a package together with its
// _test.go files (the test variant), so the finding must show up once, in the test file.
package withtest

// Double doubles.
func Double(n int) int { return 2 * n }
