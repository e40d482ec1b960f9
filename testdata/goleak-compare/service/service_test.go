package service

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFetchFirst(t *testing.T) {
	defer verifyNone(t)()
	got := FetchFirst([]string{"a", "b", "c"}, func(s string) string { return s })
	if got == "" {
		t.Fatal("no answer")
	}
}

func TestPollerStopped(t *testing.T) {
	defer verifyNone(t)()
	var n atomic.Int32
	p := StartPoller(time.Millisecond, func() { n.Add(1) })
	time.Sleep(5 * time.Millisecond)
	p.Stop()
}

func TestPollerForgotten(t *testing.T) {
	defer verifyNone(t)()
	StartPoller(time.Hour, func() {})
}

func TestCacheClosed(t *testing.T) {
	defer verifyNone(t)()
	c := NewCache(time.Minute)
	defer c.Close()
	c.Put("k")
}

func TestCacheNotClosed(t *testing.T) {
	defer verifyNone(t)()
	c := NewCache(time.Minute)
	c.Put("k")
}

func TestServerLeftOpen(t *testing.T) {
	defer verifyNone(t)()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestPool(t *testing.T) {
	defer verifyNone(t)()
	var n atomic.Int32
	jobs := make([]func(), 10)
	for i := range jobs {
		jobs[i] = func() { n.Add(1) }
	}
	Pool(3, jobs)
	if n.Load() != 10 {
		t.Fatal(n.Load())
	}
}

func TestLateFlush(t *testing.T) {
	defer verifyNone(t)()
	FlushLater(20*time.Millisecond, func() {})
}

func TestSources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sources []string
	}{
		{"one source", []string{"a"}},
		{"two sources", []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer verifyNone(t)()
			FetchFirst(tc.sources, func(s string) string { return s })
		})
	}
}
