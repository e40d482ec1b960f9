// loadfollow: a service whose goroutines track load and return to baseline: each /work
// request starts a worker that finishes its job after -hold, so the count rises with the
// request rate and falls back when requests stop.
package main

import (
	"flag"
	"net/http"
	"time"

	"goleash.test/watch/internal/svc"
)

// process simulates asynchronous work that always ends.
func process(done chan<- struct{}, hold time.Duration) {
	timer := time.NewTimer(hold)
	defer timer.Stop()
	<-timer.C
	close(done)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	hold := flag.Duration("hold", 500*time.Millisecond, "how long each request's worker lives")
	flag.Parse()
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go process(done, *hold)
		w.Write([]byte("accepted\n"))
	})
	svc.Serve(svc.Listen(*addr))
	svc.ExitOnStdinClose()
}
