// leaky: a service whose /work handler leaks one goroutine per request — the classic
// forgotten sender: lookupBackend gives up after a timeout and nobody ever receives the
// answer the helper goroutine tries to send. /ok does not leak.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"goleash.test/watch/internal/svc"
)

type answer struct{ value string }

// lookupBackend waits at most timeout for the backend; the sender is left blocked forever
// on the unbuffered channel when the timeout wins.
func lookupBackend(key string, timeout time.Duration) (answer, bool) {
	ch := make(chan answer)
	go func() {
		time.Sleep(2 * timeout)  // the backend is slower than the caller's patience
		ch <- answer{value: key} // blocks forever once lookupBackend has returned
	}()
	select {
	case a := <-ch:
		return a, true
	case <-time.After(timeout):
		return answer{}, false
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only)")
	leakEvery := flag.Duration("leak-every", 0, "also leak one goroutine every this long (0: only on /work)")
	exitAfter := flag.Duration("exit-after", 0, "exit with status 2 after this long, like a crash (0: never)")
	leakAfter := flag.Duration("leak-after", 0, "start -leak-every only after this long (a leak that begins mid-window)")
	flag.Parse()
	if *leakEvery > 0 {
		go func() {
			time.Sleep(*leakAfter)
			for range time.Tick(*leakEvery) {
				lookupBackend("tick", time.Millisecond)
			}
		}()
	}
	if *exitAfter > 0 {
		time.AfterFunc(*exitAfter, func() {
			fmt.Fprintln(os.Stderr, "leaky: exiting as asked by -exit-after")
			os.Exit(2)
		})
	}
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := lookupBackend(r.URL.Query().Get("k"), time.Millisecond); !ok {
			http.Error(w, "backend timeout", http.StatusGatewayTimeout)
		}
	})
	http.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	svc.Serve(svc.Listen(*addr))
	svc.ExitOnStdinClose()
}
