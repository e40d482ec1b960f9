// ws_pump: a websocket-style chat hub (the shape of gorilla/websocket's chat example, over plain
// TCP). Each client connection gets a readPump and a writePump goroutine. When a client
// disconnects, readPump unregisters it and the hub removes it from its map, but the hub never
// closes the client's send channel, so writePump blocks forever in `for msg := range c.send`
// (chan receive). 14 clients connect, chat and disconnect: 14 leaked writePumps.
package main

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"goleash.test/scenarios/internal/snap"
)

type client struct {
	hub  *hub
	conn net.Conn
	send chan []byte
}

type hub struct {
	clients    map[*client]bool
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		broadcast:  make(chan []byte),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			// BUG: forgets close(c.send), so c.writePump never returns.
			delete(h.clients, c)
		case msg := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- msg:
				default:
					delete(h.clients, c)
				}
			}
		}
	}
}

// readPump reads lines from the connection and broadcasts them; on EOF it unregisters.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	sc := bufio.NewScanner(c.conn)
	for sc.Scan() {
		c.hub.broadcast <- append([]byte(nil), sc.Bytes()...)
	}
}

// writePump writes queued messages to the connection until send is closed, which never happens.
func (c *client) writePump() {
	for msg := range c.send { // blocks forever after unregister
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.conn.Write(append(msg, '\n')); err != nil {
			continue
		}
	}
}

// server is the listening side; kept in package variables like a real server's.
var (
	chat     = newHub()
	listener net.Listener
)

func serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		c := &client{hub: chat, conn: conn, send: make(chan []byte, 16)}
		chat.register <- c
		go c.writePump()
		go c.readPump()
	}
}

// browser connects, says something and leaves.
func browser(addr string, i int, wg *sync.WaitGroup) {
	defer wg.Done()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Fprintf(conn, "hello from %d\n", i)
	time.Sleep(100 * time.Millisecond)
	conn.Close()
}

func start() {
	var err error
	listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go chat.run()
	go serve(listener)
	var wg sync.WaitGroup
	for i := 0; i < 14; i++ {
		wg.Add(1)
		go browser(listener.Addr().String(), i, &wg)
	}
	wg.Wait()
}

func main() {
	start()
	snap.Take()
}
