// http_server_keepalive (healthy): a net/http server on 127.0.0.1 and a client that made 13
// concurrent requests with keep-alive. Afterwards the 13 connections sit idle: on the server
// side each conn.serve goroutine waits for the next request (IO wait); on the client side each
// connection has a readLoop (IO wait) and a writeLoop (select). All of this is normal.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"

	"goleash.test/scenarios/internal/snap"
)

// The server and the client live for the whole process, as they would in a real service.
var (
	server = &http.Server{Handler: http.HandlerFunc(hello)}
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
)

const conns = 13

// Every request is held until all of them are in flight, so that each gets its own connection.
var (
	arrived sync.WaitGroup
	ready   = make(chan struct{})
)

func hello(w http.ResponseWriter, r *http.Request) {
	arrived.Done()
	<-ready
	fmt.Fprintf(w, "hello %s\n", r.URL.Path)
}

func serve(ln net.Listener) {
	if err := server.Serve(ln); err != nil {
		log.Print(err)
	}
}

func get(url string) {
	resp, err := client.Get(url)
	if err != nil {
		log.Print(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close() // the connection goes back to the idle pool
}

func start() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go serve(ln)
	base := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	arrived.Add(conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(fmt.Sprintf("%s/item/%d", base, i))
		}()
	}
	arrived.Wait()
	close(ready)
	wg.Wait()
}

func main() {
	start()
	snap.Take()
}
