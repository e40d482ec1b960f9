// embedded_log: a service that logs to stderr with the log package and log/slog (text and JSON)
// while serving. gen-fixtures.sh runs it and sends SIGQUIT twice:
//   - the first SIGQUIT is caught (as many servers do) and answered with a debug=2 goroutine
//     dump written into the same log stream, after which the service keeps logging;
//   - the second one, after signal.Reset, is the runtime's own SIGQUIT dump, which exits.
//
// Then the script runs it again with -restart to get the startup log lines of the restarted
// service. The concatenated stderr is the fixture: logs, dump, logs, dump, logs.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"goleash.test/scenarios/internal/snap"
)

var (
	jobs     = make(chan string)
	listener net.Listener
	jsonLog  = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	textLog  = slog.New(slog.NewTextHandler(os.Stderr, nil))
)

// syncWorker waits for jobs that never come.
func syncWorker(id int) {
	for j := range jobs {
		textLog.Info("job done", "worker", id, "job", j)
	}
}

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func startup() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	log.Printf("billing-api v1.8.2 starting (pid %d)", os.Getpid())
	var err error
	listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go acceptLoop(listener)
	log.Printf("listening on %s", listener.Addr())
	textLog.Info("connected to database", "dsn", "postgres://billing@db:5432/billing", "pool", 8)
	for i := 0; i < 4; i++ {
		go syncWorker(i)
	}
	jsonLog.Info("workers started", "count", 4, "queue", "invoices")
}

func main() {
	restart := flag.Bool("restart", false, "log the startup lines of a restarted service and exit")
	flag.Parse()
	startup()
	if *restart {
		textLog.Warn("previous instance exited abnormally", "signal", "SIGQUIT")
		jsonLog.Info("ready", "after", "0.2s")
		return
	}
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGQUIT)

	snap.Settle()
	textLog.Warn("slow request", "method", "POST", "path", "/v1/invoices", "took", 2*time.Second+340*time.Millisecond)
	log.Printf("GET /healthz 200 0.4ms")
	fmt.Println("ready") // stdout: tells gen-fixtures.sh to send the first SIGQUIT

	<-quit
	log.Printf("SIGQUIT received: dumping goroutines")
	pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	log.Printf("goroutine dump complete")
	signal.Reset(syscall.SIGQUIT)
	jsonLog.Error("upstream timeout", "upstream", "ledger", "attempt", 3)
	log.Printf("GET /healthz 200 0.3ms")
	fmt.Println("ready") // the second SIGQUIT is handled by the runtime and ends the process
	time.Sleep(time.Hour)
}
