// locked: goroutines wired to their OS thread with runtime.LockOSThread: main (locked in init,
// as GUI and cgo programs do), a worker blocked in chan receive, and one blocked in a raw
// read(2) on a pipe (syscall). The debug=2 goroutine dump shows ", locked to thread".
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"

	"goleash.test/scenarios/internal/snap"
)

func init() {
	runtime.LockOSThread()
}

var work = make(chan func())

// renderLoop owns its thread, like an OpenGL context would.
func renderLoop() {
	runtime.LockOSThread()
	for f := range work { // blocks: chan receive, locked to thread
		f()
	}
}

// readControl blocks in a raw read(2) on a pipe nobody writes to.
func readControl(fd int) {
	runtime.LockOSThread()
	buf := make([]byte, 1)
	syscall.Read(fd, buf) // blocks: syscall, locked to thread
}

var pipe [2]int

func start() {
	if err := syscall.Pipe(pipe[:]); err != nil {
		panic(err)
	}
	go renderLoop()
	go readControl(pipe[0])
}

func main() {
	start()
	snap.Settle()
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}
