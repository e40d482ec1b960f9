// select_loop_no_exit: 7 config watchers run `for { select { ... } }` over an updates channel
// and an errors channel they captured. Neither case returns and there is no done/ctx case, so
// after the producers stop the watchers block forever in select.
package main

import (
	"errors"
	"fmt"
	"log"

	"goleash.test/scenarios/internal/snap"
)

type watcher struct {
	name    string
	updates <-chan string
	errs    <-chan error
	last    string
}

// loop applies updates and logs errors. BUG: it has no way to exit.
func (w *watcher) loop() {
	for {
		select { // blocks forever once the producer is gone
		case u := <-w.updates:
			w.last = u
		case err := <-w.errs:
			log.Printf("%s: %v", w.name, err)
		}
	}
}

// watch starts a watcher and a producer that sends two updates and an error, then stops.
func watch(name string) {
	updates := make(chan string)
	errs := make(chan error)
	w := &watcher{name: name, updates: updates, errs: errs}
	go w.loop()
	go func() {
		updates <- name + "=v1"
		updates <- name + "=v2"
		errs <- errors.New("transient: connection reset")
	}()
}

func start() {
	for i := 0; i < 7; i++ {
		watch(fmt.Sprintf("cfg/%d", i))
	}
}

func main() {
	start()
	snap.Take()
}
