// Package many leaks a thousand goroutines from one test: the report must group them.
package many

// Broadcast starts n goroutines that each send v to a channel nobody reads. The value is
// passed as an argument: a sender that captured v would keep its closure, and through it the
// channel, reachable for the runtime's leak GC (see xmain), so it would only be `likely`.
func Broadcast(v, n int) {
	ch := make(chan int)
	for range n {
		go func(x int) { ch <- x }(v)
	}
}
