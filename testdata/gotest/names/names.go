// Package names leaks from the places whose test name or test line is easy to get wrong:
// table subtests named at run time, a test that starts the goroutine itself, a constructor
// inlined into the test, a fuzz target and an example.
package names

// Waiter waits for a value nobody sends.
type Waiter struct{ ch chan int }

// NewWaiter is small enough to be inlined into its caller, so the caller's frame is missing
// from the stack the runtime remembers for the goroutine it starts.
func NewWaiter() *Waiter {
	w := &Waiter{ch: make(chan int)}
	w.start()
	return w
}

//go:noinline
func (w *Waiter) start() {
	go w.wait()
}

func (w *Waiter) wait() { <-w.ch }

// Forget starts a sender nobody receives from.
func Forget() {
	ch := make(chan int)
	go send(ch)
}

func send(ch chan int) { ch <- 1 }
