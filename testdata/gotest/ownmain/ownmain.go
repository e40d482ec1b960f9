// Package ownmain has its own TestMain, which starts a goroutine before the tests (to be
// ignored: it was alive before the first test) and leaks in one test.
package ownmain

// Events is a long-lived event loop the TestMain starts.
func Events(in <-chan string) {
	for range in {
	}
}

// Race returns the faster of two answers. BUG: the slower sender blocks forever.
func Race(a, b func() string) string {
	ch := make(chan string)
	go func() { ch <- a() }()
	go func() { ch <- b() }()
	return <-ch
}
