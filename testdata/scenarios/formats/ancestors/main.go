// ancestors: goroutines created by goroutines created by goroutines, dumped with
// runtime.Stack(buf, true) while GODEBUG=tracebackancestors=5 is set, so every goroutine's
// traceback is followed by "[originating from goroutine N]:" blocks for its creators.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"goleash.test/scenarios/internal/snap"
)

var block = make(chan struct{})

// leaf blocks; it is three goroutine generations below main.
func leaf(id int) {
	<-block
	fmt.Println(id)
}

// shard starts the leaves of one shard and then waits as well.
func shard(id int, started *sync.WaitGroup) {
	for i := 0; i < 2; i++ {
		started.Add(1)
		go func() {
			started.Done()
			leaf(id*10 + i)
		}()
	}
	started.Done()
	<-block
}

// supervisor starts the shards.
func supervisor(started *sync.WaitGroup) {
	for i := 0; i < 2; i++ {
		started.Add(1)
		go shard(i, started)
	}
	started.Done()
	<-block
}

func main() {
	var started sync.WaitGroup
	started.Add(1)
	go supervisor(&started)
	started.Wait()
	snap.Settle()
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	os.Stdout.Write(buf[:n])
}
