package leaky

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestForgottenSender(t *testing.T) {
	got := FirstResult(func() int { return 1 }, func() int { return 2 }, func() int { return 3 })
	if got < 1 || got > 3 {
		t.Fatalf("got %d", got)
	}
}

func TestRangeWithoutClose(t *testing.T) {
	var total atomic.Int64
	ch := StartSummer(&total)
	for i := 1; i <= 3; i++ {
		ch <- i
	}
}

func TestTickerWithoutCtx(t *testing.T) {
	var beats atomic.Int64
	StartHeartbeat(&beats)
	time.Sleep(20 * time.Millisecond)
}

func TestMutexHeldForever(t *testing.T) {
	s := NewStore()
	if s.Put("a", 0) {
		t.Fatal("zero stored")
	}
	s.FlushLater()
}

// keepConns keeps the server side of the loopback connection reachable: a collected
// net.Conn's finalizer would close the socket and end the client's read with EOF.
var keepConns []net.Conn

func TestBlockedRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	if _, err := Dial(ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	keepConns = append(keepConns, <-accepted)
}

// TestSubtests leaks only in its second subtest.
func TestSubtests(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		if FirstResult(func() int { return 7 }) != 7 {
			t.Fatal("wrong")
		}
	})
	t.Run("leaks", func(t *testing.T) {
		FirstResult(func() int { return 1 }, func() int { return 2 })
	})
}

func TestNested(t *testing.T) {
	done := make(chan struct{})
	spawnChild(done)
	<-done
}
