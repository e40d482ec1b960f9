// conn_read_no_deadline: 10 clients dial a loopback TCP peer and read a reply frame without
// setting a read deadline. The peer accepted the connections but never writes, so every
// client blocks forever in conn.Read (IO wait). The peer's connections are kept referenced
// (as a real, stuck peer would keep them) so that no finalizer closes them. IO wait is not
// something the runtime's leak detector looks at.
package main

import (
	"io"
	"log"
	"net"
	"sync"

	"goleash.test/scenarios/internal/snap"
)

// peer accepts connections and never writes to them.
type peer struct {
	mu    sync.Mutex
	conns []net.Conn
}

var stuckPeer = &peer{}

func (p *peer) accept(ln net.Listener, n int) {
	for i := 0; i < n; i++ {
		c, err := ln.Accept()
		if err != nil {
			log.Print(err)
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
	}
	ln.Close()
}

// readFrame reads one fixed-size frame. BUG: no SetReadDeadline, so a silent peer blocks it forever.
func readFrame(c net.Conn) ([]byte, error) {
	buf := make([]byte, 16)
	_, err := io.ReadFull(c, buf) // blocks forever: the peer never writes
	return buf, err
}

func client(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		log.Print(err)
		return
	}
	defer c.Close()
	if _, err := c.Write([]byte("HELLO\n")); err != nil {
		log.Print(err)
		return
	}
	if _, err := readFrame(c); err != nil {
		log.Print(err)
	}
}

func start() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	const n = 10
	go stuckPeer.accept(ln, n)
	for i := 0; i < n; i++ {
		go client(ln.Addr().String())
	}
}

func main() {
	start()
	snap.Take()
}
