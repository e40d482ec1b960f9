// Package xmain has its TestMain in the external test package.
package xmain

// Fanout sends v to n new goroutines' channel. BUG: nobody receives.
func Fanout(v, n int) {
	ch := make(chan int)
	for range n {
		go func() { ch <- v }()
	}
}
