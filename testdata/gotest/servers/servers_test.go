// Package servers holds tests that leave a server, a listener or a database pool open, and
// tests that close theirs: goleash test must report the first kind (goleak does) and not the
// second.
package servers

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestLeavesServerOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	get(t, srv.URL) // srv.Close() is missing
}

func TestClosesServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	get(t, srv.URL)
	http.DefaultClient.CloseIdleConnections()
}

func TestLeavesListenerOpen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// ln.Close() is missing: the accept loop lives on.
}
