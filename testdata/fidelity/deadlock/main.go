// deadlock: every goroutine blocks for good, so the runtime itself stops the program with
// `fatal error: all goroutines are asleep - deadlock!` and prints them all. No timers and no
// network: either would keep the runtime from calling it a deadlock.
package main

import "sync"

func send(wg *sync.WaitGroup, ch chan int, v int) {
	defer wg.Done()
	ch <- v // SITE: deadlock-send
}

func main() {
	var wg sync.WaitGroup
	ch := make(chan int)
	wg.Add(3)
	for i := 0; i < 3; i++ {
		go send(&wg, ch, i)
	}
	<-ch
	wg.Wait() // SITE: deadlock-main
}
