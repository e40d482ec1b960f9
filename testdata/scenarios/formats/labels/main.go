// labels: goroutines running under various pprof label sets, dumped with the goroutine profile
// at debug=2, which prints the labels on the header line ({tenant: a, req: 7}). Covers values
// that need quoting (space, comma, colon, quote, braces, hyphen, non-ASCII), an empty value,
// nested pprof.Do (labels merged), SetGoroutineLabels, inheritance by child goroutines, and an
// unlabelled goroutine for contrast.
package main

import (
	"context"
	"os"
	"runtime/pprof"

	"goleash.test/scenarios/internal/snap"
)

var block = make(chan struct{})

// serve blocks as a request handler would.
func serve(ctx context.Context) {
	<-block
}

func spawn(labels ...string) {
	pprof.Do(context.Background(), pprof.Labels(labels...), func(ctx context.Context) {
		go serve(ctx)
	})
}

func start() {
	spawn("tenant", "a", "req", "7")
	spawn("tenant", "a", "req", "8")
	spawn("tenant", "t 1")                    // space: quoted
	spawn("tenant", "b", "route", "/v1/{id}") // slash and braces
	spawn("note", `say "hi"`, "csv", "x,y", "kv", "k: v")
	spawn("user", "zoë", "empty", "")
	spawn("trace-id", "4bf92f3577b34da6") // hyphen in the key
	// nested pprof.Do: the inner set is merged into the outer one
	pprof.Do(context.Background(), pprof.Labels("tenant", "c", "req", "9"), func(ctx context.Context) {
		pprof.Do(ctx, pprof.Labels("stage", "retry"), func(ctx context.Context) {
			go serve(ctx)
		})
	})
	// SetGoroutineLabels in a goroutine, inherited by the goroutine it starts
	go func() {
		ctx := pprof.WithLabels(context.Background(), pprof.Labels("job", "nightly", "tenant", "d"))
		pprof.SetGoroutineLabels(ctx)
		go serve(ctx)
		serve(ctx)
	}()
	go serve(context.Background()) // no labels
}

func main() {
	start()
	snap.Settle()
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}
