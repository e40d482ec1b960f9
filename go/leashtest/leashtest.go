// Package leashtest fails tests that leave goroutines running, with goleak's API (so moving
// from go.uber.org/goleak is a change of import) and goleash's report: when the `goleash`
// binary is on PATH, the leftover goroutines are grouped, judged and explained by
// `goleash analyze`; otherwise by a built-in report that groups identical stacks.
//
//	func TestMain(m *testing.M) { leashtest.VerifyTestMain(m) }
//
//	func TestWorker(t *testing.T) {
//		defer leashtest.VerifyNone(t)
//		…
//	}
//
// Standard library only. With Go 1.26 or later, each look runs the runtime's leak-detecting
// GC (the goroutineleak profile): a goroutine it proves leaked can never end, so it is not
// waited for.
package leashtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TestingT is the part of *testing.T (or *testing.B, *testing.F) VerifyNone uses.
type TestingT interface {
	Error(args ...any)
}

// TestingM is the part of *testing.M VerifyTestMain uses.
type TestingM interface {
	Run() int
}

// Option changes what Find and the Verify functions ignore and how long they wait.
type Option interface {
	apply(*settings)
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

type settings struct {
	top, any, createdBy []string
	before              map[uint64]bool
	maxRetries          int
	maxSleep            time.Duration
	cleanup             func(int)
	goleash             string // path of the goleash binary; "" for the built-in report
}

// IgnoreTopFunction ignores goroutines whose topmost function outside package runtime is f
// (goleak's option of the same name; a trailing * matches a prefix).
func IgnoreTopFunction(f string) Option {
	return optionFunc(func(s *settings) { s.top = append(s.top, f) })
}

// IgnoreAnyFunction ignores goroutines with f anywhere in their stack.
func IgnoreAnyFunction(f string) Option {
	return optionFunc(func(s *settings) { s.any = append(s.any, f) })
}

// IgnoreCreatedBy ignores goroutines started by a go statement in f.
func IgnoreCreatedBy(f string) Option {
	return optionFunc(func(s *settings) { s.createdBy = append(s.createdBy, f) })
}

// IgnoreCurrent ignores every goroutine running when the option is created.
func IgnoreCurrent() Option {
	before := map[uint64]bool{}
	for _, g := range parse(stacks()) {
		before[g.id] = true
	}
	return optionFunc(func(s *settings) {
		if s.before == nil {
			s.before = map[uint64]bool{}
		}
		for id := range before {
			s.before[id] = true
		}
	})
}

// MaxRetryAttempts is how many more times goroutines are looked at before they count as
// leaked (default 20, as goleak).
func MaxRetryAttempts(n int) Option {
	return optionFunc(func(s *settings) { s.maxRetries = n })
}

// MaxSleepInterval caps the backoff between looks (default 100ms, as goleak).
func MaxSleepInterval(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.maxSleep = d })
}

// Cleanup runs f with the exit code right before VerifyTestMain exits.
func Cleanup(f func(exitCode int)) Option {
	return optionFunc(func(s *settings) { s.cleanup = f })
}

// Goleash chooses the goleash binary for the report: a path, or "" for the built-in
// report. By default it is `goleash` on PATH, if there is one; the environment variable
// LEASHTEST_GOLEASH overrides PATH the same way ("off" for the built-in report).
func Goleash(path string) Option {
	return optionFunc(func(s *settings) { s.goleash = path })
}

// Goroutines of the runtime's and the testing package's own, and of signal delivery and
// profiling, which live as long as the test binary.
var defaultIgnores = []string{
	"testing.RunTests",
	"testing.(*T).Run",
	"testing.(*T).Parallel",
	"testing.(*F).Fuzz.func1",
	"testing.runFuzzing",
	"testing.runFuzzTests",
	"testing.(*M).startAlarm",
	"testing.tRunner.func1", // a test waiting for its parallel subtests
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ReadTrace",
	"runtime/trace.Start.func1",
	"runtime/pprof.profileWriter",
}

func build(options []Option) *settings {
	s := &settings{maxRetries: 20, maxSleep: 100 * time.Millisecond, goleash: findGoleash()}
	for _, o := range options {
		o.apply(s)
	}
	return s
}

func findGoleash() string {
	switch env := os.Getenv("LEASHTEST_GOLEASH"); env {
	case "off":
		return ""
	case "":
		path, err := exec.LookPath("goleash")
		if err != nil {
			return ""
		}
		return path
	default:
		return env
	}
}

// Find returns an error naming the goroutines still running (besides the caller's and the
// ignored ones) after retrying with backoff; nil when there are none.
func Find(options ...Option) error {
	s := build(options)
	leftover := s.wait()
	if len(leftover) == 0 {
		return nil
	}
	return &LeakError{Goroutines: len(leftover), Report: s.report(leftover)}
}

// LeakError is Find's error: how many goroutines were left and the report on them.
type LeakError struct {
	Goroutines int
	Report     string
}

func (e *LeakError) Error() string {
	return fmt.Sprintf("found unexpected goroutines (%d):\n%s", e.Goroutines, e.Report)
}

// VerifyNone marks the test failed when goroutines are left (see Find). Deferred at the top
// of a test, it checks what that test left running.
func VerifyNone(t TestingT, options ...Option) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	if err := Find(options...); err != nil {
		t.Error(err)
	}
}

// VerifyTestMain runs the tests and, when they passed, fails the binary (exit 1) if
// goroutines are left; it calls os.Exit.
func VerifyTestMain(m TestingM, options ...Option) {
	code := m.Run()
	s := build(options)
	if code == 0 {
		if err := Find(options...); err != nil {
			fmt.Fprintf(os.Stderr, "leashtest: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	if s.cleanup != nil {
		s.cleanup(code)
	}
	os.Exit(code)
}

type goroutine struct {
	id        uint64
	leaked    bool
	state     string
	functions []string // leaf first
	createdBy string
	text      []byte
}

// wait looks at the goroutines until none is left to wait for or the retries run out, and
// returns those left. One proven leaked (Go 1.26's leak-detecting GC) is not waited for.
func (s *settings) wait() []goroutine {
	self := selfID()
	leakProfile := pprof.Lookup("goroutineleak")
	pause := time.Microsecond
	var left []goroutine
	for attempt := 0; ; attempt++ {
		if leakProfile != nil {
			_ = leakProfile.WriteTo(io.Discard, 0)
		}
		left = left[:0]
		pending := 0
		for _, g := range parse(stacks()) {
			if g.id == self || s.before[g.id] || s.ignored(&g) {
				continue
			}
			left = append(left, g)
			if !g.leaked {
				pending++
			}
		}
		if pending == 0 || attempt >= s.maxRetries {
			return left
		}
		time.Sleep(pause)
		if pause *= 2; pause > s.maxSleep {
			pause = s.maxSleep
		}
	}
}

func (s *settings) ignored(g *goroutine) bool {
	top := ""
	for _, f := range g.functions {
		if !strings.HasPrefix(f, "runtime.") {
			top = f
			break
		}
	}
	for _, f := range s.top {
		if match(f, top) {
			return true
		}
	}
	for _, f := range s.createdBy {
		if match(f, g.createdBy) {
			return true
		}
	}
	for _, pattern := range append(s.any[:len(s.any):len(s.any)], defaultIgnores...) {
		for _, f := range g.functions {
			if match(pattern, f) {
				return true
			}
		}
	}
	return false
}

func match(pattern, function string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(function, prefix)
	}
	return pattern == function
}

func (s *settings) report(left []goroutine) string {
	var dump bytes.Buffer
	for _, g := range left {
		dump.Write(g.text)
		dump.WriteString("\n\n")
	}
	if s.goleash != "" {
		cmd := exec.Command(s.goleash, "analyze", "--color", "never", "-")
		cmd.Stdin = bytes.NewReader(dump.Bytes())
		out, err := cmd.Output()
		// analyze exits 1 when it finds leaks: its report is still the output.
		if exitErr, ok := err.(*exec.ExitError); len(out) > 0 && (err == nil || ok && exitErr.ExitCode() == 1) {
			return string(out)
		}
		// An unusable goleash is no reason to hide the leak: the built-in report follows.
	}
	return builtinReport(left)
}

// builtinReport groups goroutines by identical stack and creator, largest group first.
func builtinReport(left []goroutine) string {
	type group struct {
		count     int
		state     string
		functions []string
		createdBy string
		ids       []uint64
		leaked    bool
	}
	groups := map[string]*group{}
	var order []string
	for _, g := range left {
		key := strings.Join(g.functions, "\n") + "\ncreated by " + g.createdBy
		gr, ok := groups[key]
		if !ok {
			gr = &group{state: g.state, functions: g.functions, createdBy: g.createdBy, leaked: g.leaked}
			groups[key] = gr
			order = append(order, key)
		}
		gr.count++
		if len(gr.ids) < 5 {
			gr.ids = append(gr.ids, g.id)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return groups[order[i]].count > groups[order[j]].count })
	var out strings.Builder
	fmt.Fprintf(&out, "leashtest: %d goroutine(s) left running, in %d group(s) (install goleash for a judged report)\n", len(left), len(order))
	for _, key := range order {
		g := groups[key]
		top := "?"
		for _, f := range g.functions {
			if !strings.HasPrefix(f, "runtime.") {
				top = f
				break
			}
		}
		proven := ""
		if g.leaked {
			proven = ", proven leaked by the runtime"
		}
		fmt.Fprintf(&out, "\n  ×%d  [%s%s]  %s\n", g.count, g.state, proven, top)
		if g.createdBy != "" {
			fmt.Fprintf(&out, "      created by %s\n", g.createdBy)
		}
		ids := make([]string, len(g.ids))
		for i, id := range g.ids {
			ids[i] = strconv.FormatUint(id, 10)
		}
		fmt.Fprintf(&out, "      goroutines %s\n", strings.Join(ids, ", "))
		for _, f := range g.functions {
			fmt.Fprintf(&out, "        %s\n", f)
		}
	}
	return out.String()
}

// stacks is runtime.Stack of every goroutine, in a buffer grown until it fits.
func stacks() []byte {
	for size := 1 << 16; ; size *= 4 {
		buf := make([]byte, size)
		if n := runtime.Stack(buf, true); n < size {
			return buf[:n]
		}
	}
}

// parse splits a traceback of all goroutines: `goroutine N [state]:` headers, function
// lines, tab-indented file lines, `created by F in goroutine M`, a blank line between.
func parse(dump []byte) []goroutine {
	var out []goroutine
	for _, block := range bytes.Split(dump, []byte("\n\n")) {
		block = bytes.Trim(block, "\n")
		lines := strings.Split(string(block), "\n")
		rest, ok := strings.CutPrefix(lines[0], "goroutine ")
		if !ok {
			continue
		}
		idText, header, _ := strings.Cut(rest, " ")
		id, err := strconv.ParseUint(idText, 10, 64)
		if err != nil {
			continue
		}
		g := goroutine{id: id, text: block, leaked: strings.Contains(header, " (leaked)")}
		if open, close := strings.IndexByte(header, '['), strings.IndexByte(header, ']'); open >= 0 && close > open {
			g.state = strings.TrimSuffix(header[open+1:close], " (leaked)")
		}
		for _, line := range lines[1:] {
			if line == "" || line[0] == '\t' {
				continue
			}
			if after, ok := strings.CutPrefix(line, "created by "); ok {
				g.createdBy, _, _ = strings.Cut(after, " in goroutine ")
				break
			}
			if i := strings.LastIndexByte(line, '('); i > 0 {
				line = line[:i]
			}
			g.functions = append(g.functions, line)
		}
		out = append(out, g)
	}
	return out
}

// selfID is the calling goroutine's id, from its own traceback header.
func selfID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	rest, _ := strings.CutPrefix(string(buf[:n]), "goroutine ")
	idText, _, _ := strings.Cut(rest, " ")
	id, _ := strconv.ParseUint(idText, 10, 64)
	return id
}
