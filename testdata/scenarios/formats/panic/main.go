// panic: a service whose request handler dereferences a nil pointer while other goroutines are
// alive and blocked. Run with GOTRACEBACK=all, the unrecovered panic prints the panic message,
// the SIGSEGV line, the panicking goroutine and then every other goroutine on stderr.
package main

import (
	"fmt"
	"sync"

	"goleash.test/scenarios/internal/snap"
)

type session struct {
	user *user
}

type user struct {
	name string
}

var (
	queue = make(chan int)
	mu    sync.Mutex
)

func worker(id int) {
	for j := range queue {
		fmt.Println(id, j)
	}
}

func lockedUpdate() {
	mu.Lock()
	defer mu.Unlock()
}

// greet crashes when the session has no user.
func greet(s *session) string {
	return "hello " + s.user.name // nil pointer dereference
}

func handle(s *session, done chan<- string) {
	done <- greet(s)
}

func start() {
	for i := 0; i < 3; i++ {
		go worker(i)
	}
	mu.Lock()
	go lockedUpdate()
}

func main() {
	start()
	snap.Settle()
	done := make(chan string)
	go handle(&session{}, done)
	fmt.Println(<-done)
}
