// nil_channel: an RPC layer builds calls with a struct literal that forgets to make the reply
// channel. 6 callers block forever receiving from the nil channel (chan receive (nil chan)),
// and 2 event publishers block forever sending on a nil events channel (chan send (nil chan)).
package main

import (
	"fmt"

	"goleash.test/scenarios/internal/snap"
)

type call struct {
	id    int
	reply chan string // BUG: never made, so it is nil
}

type event struct{ name string }

type bus struct {
	events chan event // BUG: never made, so it is nil
}

// awaitReply waits for the answer to c.
func awaitReply(c *call) string {
	return <-c.reply // receive from a nil channel: blocks forever
}

// publish hands e to the bus.
func publish(b *bus, e event) {
	b.events <- e // send on a nil channel: blocks forever
}

func issue(id int) {
	c := &call{id: id} // reply channel left nil
	fmt.Println(c.id, awaitReply(c))
}

func start() {
	for i := 0; i < 6; i++ {
		go issue(i)
	}
	b := &bus{}
	for _, name := range []string{"started", "ready"} {
		go publish(b, event{name: name})
	}
}

func main() {
	start()
	snap.Take()
}
