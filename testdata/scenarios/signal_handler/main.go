// signal_handler (healthy): a daemon installs three signal watchers with signal.Notify (reload
// on SIGHUP, reopen logs on SIGUSR1, dump stats on SIGUSR2). Each waits in chan receive on its
// signal channel, which the os/signal package keeps registered: idle, not leaked.
package main

import (
	"log"
	"os"
	"os/signal"
	"syscall"

	"goleash.test/scenarios/internal/snap"
)

// watchSignal runs action every time sig arrives.
func watchSignal(sig os.Signal, action func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	for range ch { // waits here until the signal arrives
		action()
	}
}

func start() {
	go watchSignal(syscall.SIGHUP, func() { log.Print("reloading config") })
	go watchSignal(syscall.SIGUSR1, func() { log.Print("reopening log files") })
	go watchSignal(syscall.SIGUSR2, func() { log.Print("stats: ok") })
}

func main() {
	start()
	snap.Take()
}
