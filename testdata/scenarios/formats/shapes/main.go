// shapes: function-name and frame shapes a parser must handle, all blocked on one channel and
// dumped with the goroutine profile at debug=2: generic functions and methods (main.Map[...],
// main.(*Cache[...]).Fill), nested closures (.func1.2), method values (-fm), methods on pointer
// and value receivers, inlined frames (printed with "(...)" and no +0x offset), and a deep
// recursion (>100 frames) so the middle of its stack is replaced by "...N frames elided...".
// The //go:noinline directives keep the frames this fixture is about from being inlined away;
// wait is left inlinable on purpose.
package main

import (
	"os"
	"runtime/pprof"
	"strconv"

	"goleash.test/scenarios/internal/snap"
)

var block = make(chan struct{})

// wait is small enough to be inlined into its callers.
func wait() { <-block }

// Map is generic; f blocks for every element.
//
//go:noinline
func Map[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

type Cache[K comparable, V any] struct {
	m map[K]V
}

// Fill is a method on a generic type with a pointer receiver.
//
//go:noinline
func (c *Cache[K, V]) Fill(k K, load func(K) V) {
	c.m[k] = load(k)
}

type server struct{ name string }

// run has a pointer receiver; it is started through a method value (server.run-fm).
//
//go:noinline
func (s *server) run() {
	wait()
}

// handle has a value receiver.
//
//go:noinline
func (s server) handle(req int) {
	<-block
}

// launch starts f in a goroutine.
//
//go:noinline
func launch(f func()) { go f() }

// invoke calls f through a func value, so the closure passed in keeps its own frame.
//
//go:noinline
func invoke(f func(int), n int) { f(n) }

// outer starts a closure that defines two closures and blocks in the second (outer.func1.2).
func outer() {
	go func() {
		first := func() int { return 1 }
		second := func(n int) {
			<-block
		}
		invoke(second, first())
	}()
}

// recurse goes depth frames deep before blocking.
//
//go:noinline
func recurse(depth int) int {
	if depth == 0 {
		<-block
		return 0
	}
	return recurse(depth-1) + 1
}

func start() {
	go Map([]int{1, 2, 3}, func(i int) string { wait(); return strconv.Itoa(i) })
	go func() {
		c := &Cache[string, []byte]{m: map[string][]byte{}}
		c.Fill("k", func(string) []byte { <-block; return nil })
	}()
	s := &server{name: "api"}
	launch(s.run)                   // method value: main.(*server).run-fm
	go server{name: "v"}.handle(42) // value receiver
	outer()
	go recurse(120)
}

func main() {
	start()
	snap.Settle()
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}
