// Command lintgen writes the adversarial Go files `bench/lint.sh` times `goleash lint` on:
// one file per nesting shape at a given depth, and a dense file of many small functions full
// of the shapes the lint rules inspect (goroutines, channels, selects, locks, timers,
// contexts), so that the prefilter passes it and every rule has work.
//
//	go run . -out ../out/lint -depth 5000 -dense-mb 50
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

const header = "package p\n\nimport (\n\t\"context\"\n\t\"sync\"\n\t\"time\"\n)\n\n" +
	"var _ = context.Background\nvar _ = time.Second\n\n" +
	"func g(args ...any) any { return nil }\n\n"

// A shape is an opening repeated depth times, a middle, and a closing repeated depth times.
type shape struct {
	name, open, middle, close string
}

// Every level uses the function's local channel, so the channel rules classify a use at each
// depth; the innermost level also locks.
var shapes = []shape{
	{"go", "go func() {\n<-ch\n", "mu.Lock()\nch <- 1\n", "}()\n"},
	{"if", "if x {\n<-ch\n", "mu.Lock()\nreturn\n", "}\n"},
	{"for", "for {\n<-ch\n", "mu.Lock()\n", "}\n"},
	{"forselect", "for {\nselect {\ncase <-ch:\n", "mu.Lock()\nreturn\n", "}\n}\n"},
	{"funclit", "f := func() {\n<-ch\n", "mu.Lock()\n", "}\n_ = f\n"},
	{"block", "{\n<-ch\n", "mu.Lock()\n", "}\n"},
	{"composite", "[]any{\n<-ch,\n", "func() { mu.Lock() },\n", "},\n"},
	{"call", "g(\n<-ch,\n", "func() { mu.Lock() },\n", "),\n"},
	{"paren", "(", "<-ch", ")"},
	{"switch", "switch {\ncase x:\n<-ch\n", "mu.Lock()\n", "}\n"},
}

func nested(s shape, depth int) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("func f(ctx context.Context, mu *sync.Mutex, x bool) {\n")
	b.WriteString("ch := make(chan int)\nctx, cancel := context.WithCancel(ctx)\ndefer cancel()\n")
	switch s.name {
	case "composite", "call", "paren":
		// Expression shapes nest inside one statement.
		b.WriteString("_ = ")
	}
	b.WriteString(strings.Repeat(s.open, depth))
	b.WriteString(s.middle)
	b.WriteString(strings.Repeat(s.close, depth))
	switch s.name {
	case "composite", "call":
		b.WriteString("nil\n")
	case "paren":
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Function templates of the dense file; %d is a unique suffix.
var dense = []string{
	`func worker%d(ctx context.Context, jobs chan int) {
	ch := make(chan int)
	go func() {
		for j := range jobs {
			ch <- j * 2
		}
	}()
	select {
	case v := <-ch:
		_ = v
	case <-ctx.Done():
		return
	}
}
`,
	`func locked%d(mu *sync.Mutex, m map[int]int, k int) int {
	mu.Lock()
	if v, ok := m[k]; ok {
		mu.Unlock()
		return v
	}
	m[k] = k
	mu.Unlock()
	return k
}
`,
	`func timed%d(ctx context.Context, in chan string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case s := <-in:
			return s, nil
		case <-t.C:
			return "", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
`,
	`func fan%d(n int) int {
	var wg sync.WaitGroup
	out := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out <- i
		}(i)
	}
	wg.Wait()
	close(out)
	sum := 0
	for v := range out {
		sum += v
	}
	return sum
}
`,
}

func main() {
	out := flag.String("out", "out/lint", "directory to write into")
	depth := flag.Int("depth", 5000, "nesting depth of the nesting files")
	denseMB := flag.Int("dense-mb", 50, "size of the dense file in MB (0: none)")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, s := range shapes {
		name := filepath.Join(*out, fmt.Sprintf("nest_%s_%d.go", s.name, *depth))
		if err := os.WriteFile(name, []byte(nested(s, *depth)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *denseMB > 0 {
		var b strings.Builder
		b.WriteString(header)
		for i := 0; b.Len() < *denseMB*1000*1000; i++ {
			fmt.Fprintf(&b, dense[i%len(dense)], i)
		}
		name := filepath.Join(*out, fmt.Sprintf("dense_%dmb.go", *denseMB))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
