// steady: a service with a fixed pool of workers fed by a channel; /work hands them a job
// and waits for the answer, so the goroutine count does not move with load.
package main

import (
	"flag"
	"net/http"

	"goleash.test/watch/internal/svc"
)

type job struct {
	n     int
	reply chan int
}

func worker(jobs <-chan job) {
	for j := range jobs {
		j.reply <- j.n * 2
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	flag.Parse()
	jobs := make(chan job)
	for i := 0; i < 8; i++ {
		go worker(jobs)
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		j := job{n: 21, reply: make(chan int, 1)}
		jobs <- j
		<-j.reply
		w.Write([]byte("done\n"))
	})
	svc.Serve(svc.Listen(*addr))
	svc.ExitOnStdinClose()
}
