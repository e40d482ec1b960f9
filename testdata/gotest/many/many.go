// Package many leaks a thousand goroutines from one test: the report must group them.
package many

// Broadcast starts n goroutines that each send v to a channel nobody reads.
func Broadcast(v, n int) {
	ch := make(chan int)
	for range n {
		go func() { ch <- v }()
	}
}
