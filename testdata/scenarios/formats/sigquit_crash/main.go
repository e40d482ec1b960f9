// sigquit_crash: a small service with goroutines blocked in the usual ways (chan receive, select,
// sync.Mutex.Lock, sync.WaitGroup.Wait, IO wait on a loopback listener, sleep, and a loop
// started through a method value, whose "-fm" wrapper only shows at GOTRACEBACK=system or
// higher). After the
// goroutines have waited a minute it prints "ready" on stdout and sleeps; gen-fixtures.sh then
// sends SIGQUIT with GOTRACEBACK=crash, so stderr gets the runtime's crash dump: gp=/m=/mp=
// in the headers, runtime frames, system goroutines, registers.
package main

import (
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"goleash.test/scenarios/internal/snap"
)

var (
	listener net.Listener
	events   = make(chan string)
	mu       sync.Mutex
	pending  sync.WaitGroup
)

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept() // IO wait
		if err != nil {
			return
		}
		c.Close()
	}
}

func consumeEvents() {
	for e := range events { // chan receive
		log.Print(e)
	}
}

func pollLoop(stop <-chan struct{}, kick <-chan int) {
	for {
		select { // select
		case <-stop:
			return
		case n := <-kick:
			log.Print(n)
		}
	}
}

func updateShared(id int) {
	mu.Lock() // sync.Mutex.Lock: main holds mu
	defer mu.Unlock()
	log.Print(id)
}

func awaitPending() {
	pending.Wait() // sync.WaitGroup.Wait
}

type cache struct{ refresh chan string }

// loop is started as a method value (go through launch), so its frame sits in (*cache).loop-fm.
func (c *cache) loop() {
	for k := range c.refresh { // chan receive
		log.Print(k)
	}
}

func launch(f func()) { go f() }

func refresher() {
	for {
		time.Sleep(time.Hour) // sleep
	}
}

func start() {
	var err error
	listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go acceptLoop(listener)
	for i := 0; i < 3; i++ {
		go consumeEvents()
	}
	stop, kick := make(chan struct{}), make(chan int)
	for i := 0; i < 2; i++ {
		go pollLoop(stop, kick)
	}
	mu.Lock()
	for i := 0; i < 2; i++ {
		go updateShared(i)
	}
	pending.Add(1)
	go awaitPending()
	go refresher()
	c := &cache{refresh: make(chan string)}
	launch(c.loop)
}

func main() {
	start()
	snap.Settle()
	fmt.Println("ready")
	time.Sleep(time.Hour) // SIGQUIT arrives here
}
