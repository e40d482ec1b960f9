package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Built is one kernel set copied out of GOROOT and compiled.
type Built struct {
	Set     Set
	Dir     string // the copy
	Bin     string
	Src     *Source
	Kernels map[string]string // kernel name -> file with its register call
	Digest  string
}

// buildSet copies the set's sources from GOROOT into tmp (GOROOT is read-only and has no go.mod
// for testdata), adds a go.mod and builds with -trimpath so frames read "<module>/<file>.go".
func buildSet(goroot string, s Set, tmp string) (*Built, error) {
	src := filepath.Join(goroot, s.Rel)
	dst := filepath.Join(tmp, s.Module)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), []byte("module "+s.Module+"\n\ngo 1.27\n"), 0o644); err != nil {
		return nil, err
	}
	b := &Built{Set: s, Dir: dst, Bin: filepath.Join(tmp, s.Module+".bin")}
	cmd := exec.Command("go", "build", "-trimpath", "-o", b.Bin, ".")
	cmd.Dir = dst
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the %s kernels (copy of $GOROOT/%s): %v\n%s", s.Name, s.Rel, err, out)
	}
	if b.Src, err = LoadSource(dst); err != nil {
		return nil, err
	}
	b.Kernels = b.Src.Registered()
	if len(b.Kernels) == 0 {
		return nil, fmt.Errorf("$GOROOT/%s: no register(\"Name\", fn) calls found", s.Rel)
	}
	if b.Digest, err = digest(src); err != nil {
		return nil, err
	}
	return b, nil
}

// kernelEnv is the environment of one kernel run, as TestGoroutineLeakProfile sets it.
func kernelEnv(simple bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "GODEBUG" || k == "GOMAXPROCS" || k == "GOTRACEBACK" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GODEBUG=asyncpreemptoff=1")
	if simple {
		env = append(env, "GOMAXPROCS=1")
	}
	return env
}

// runKernel runs one kernel once and returns its stdout (the debug=2 goroutineleak profile) and
// a problem ("" when it exited 0 and printed something).
func runKernel(bin, kernel string, simple bool, timeout time.Duration) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, kernel)
	cmd.Env = kernelEnv(simple)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return stdout.String(), fmt.Sprintf("timed out after %v", timeout)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			first, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			return stdout.String(), fmt.Sprintf("exit %d (%s)", ee.ExitCode(), first)
		}
		return stdout.String(), err.Error()
	case stdout.Len() == 0:
		return "", "no output (profile not written)"
	}
	return stdout.String(), ""
}

// Row is one line of truth.tsv.
type Row struct {
	Set, Kernel, WaitReason, Func, File string
	BlockLine, FuncStart, FuncEnd       int
	Entry                               string
	SeenRuns                            int
}

var tsvHeader = []string{"set", "kernel", "wait_reason", "func", "file", "block_line", "func_start", "func_end", "entry_func", "seen_runs"}

func cmdTruth(args []string) error {
	fs := flag.NewFlagSet("truth", flag.ExitOnError)
	runs := fs.Int("runs", 10, "runs per kernel (the runtime test runs flaky kernels 10 times)")
	retry := fs.Int("retry", 40, "extra runs for each kernel that leaked in none of the -runs runs (0: none)")
	jobs := fs.Int("j", runtime.NumCPU(), "kernel processes run in parallel")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of one kernel run")
	out := fs.String("o", "truth.tsv", "output file")
	fs.Parse(args)
	if *runs < 1 || *jobs < 1 || *retry < 0 {
		return fmt.Errorf("-runs and -j must be at least 1, -retry at least 0")
	}
	goroot, err := goEnv()
	if err != nil {
		return err
	}
	tcs, err := runtimeTestCases(goroot)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "goker-truth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	fmt.Fprintf(os.Stderr, "goker truth: building the kernel sets (copies of $GOROOT/%s)…\n", leakDir)
	built := make([]*Built, len(sets))
	errs := make([]error, len(sets))
	var wg sync.WaitGroup
	for i, s := range sets {
		wg.Go(func() { built[i], errs[i] = buildSet(goroot, s, tmp) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	rows, notes := collectTruth(built, tcs, *runs, *retry, *jobs, *timeout, os.Stderr)
	if err := writeTruth(*out, built, rows, notes, *runs, *retry); err != nil {
		return err
	}
	leaked, total := 0, 0
	for _, b := range built {
		total += len(b.Kernels)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Func != "" && !seen[r.Set+"/"+r.Kernel] {
			seen[r.Set+"/"+r.Kernel] = true
			leaked++
		}
	}
	fmt.Fprintf(os.Stderr, "goker truth: %d of %d kernels leaked in at least one run (%d runs each, %d more for those that had not); %d rows, %d notes → %s (%.0fs)\n",
		leaked, total, *runs, *retry, len(rows), len(notes), *out, time.Since(start).Seconds())
	return nil
}

type job struct {
	b      *Built
	kernel string
	run    int
}

type leakKey struct {
	set, kernel, reason, fn, file string
	line                          int
	entry                         string
}

type result struct {
	job
	leaks   []Leak
	problem string
}

// runJobs runs the jobs on `workers` processes at a time.
func runJobs(all []job, tcs map[string]TestCase, workers int, timeout time.Duration, log io.Writer) []result {
	results := make([]result, len(all))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := range next {
				j := all[i]
				stdout, problem := runKernel(j.b.Bin, j.kernel, tcs[j.kernel].Simple, timeout)
				results[i] = result{j, Leaks(ParseDump(stdout), j.b.Set.Module+"/"), problem}
				mu.Lock()
				done++
				if done%100 == 0 || done == len(all) {
					fmt.Fprintf(log, "goker truth: %d/%d runs\n", done, len(all))
				}
				mu.Unlock()
			}
		})
	}
	for i := range all {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// collectTruth runs every kernel of every set `runs` times on `workers` processes, then the
// kernels that leaked in none of those runs `retry` more times (flaky kernels such as
// Kubernetes13135 leak in a few percent of runs), and aggregates the leaked goroutines into rows;
// notes explain anything a reader of the table should know.
func collectTruth(built []*Built, tcs map[string]TestCase, runs, retry, workers int, timeout time.Duration, log io.Writer) ([]Row, []string) {
	var all []job
	for _, b := range built {
		for _, k := range sortedKeys(b.Kernels) {
			for r := 0; r < runs; r++ {
				all = append(all, job{b, k, r})
			}
		}
	}
	results := runJobs(all, tcs, workers, timeout, log)
	totalRuns := map[string]int{} // set/kernel -> runs made
	leakedIn := map[string]bool{}
	for _, r := range results {
		totalRuns[r.b.Set.Name+"/"+r.kernel]++
		if len(r.leaks) > 0 {
			leakedIn[r.b.Set.Name+"/"+r.kernel] = true
		}
	}
	if retry > 0 {
		var again []job
		for _, b := range built {
			for _, k := range sortedKeys(b.Kernels) {
				if tc, ok := tcs[k]; leakedIn[b.Set.Name+"/"+k] || (ok && len(tc.Leaks) == 0) {
					continue // leaked already, or the runtime test says it never leaks
				}
				for r := runs; r < runs+retry; r++ {
					again = append(again, job{b, k, r})
				}
			}
		}
		if len(again) > 0 {
			fmt.Fprintf(log, "goker truth: %d kernels leaked in none of %d runs: %d more runs each\n", len(again)/retry, runs, retry)
			more := runJobs(again, tcs, workers, timeout, log)
			for _, r := range more {
				totalRuns[r.b.Set.Name+"/"+r.kernel]++
			}
			results = append(results, more...)
		}
	}

	var notes []string
	seen := map[leakKey]map[int]bool{}
	problems := map[string][]string{} // set/kernel -> problems
	testKeys := map[string][]string{} // set/kernel -> observed "Entry(args) [reason]"
	noFrame := map[string]int{}       // set/kernel -> leaked goroutines with no kernel frame
	for _, r := range results {
		id := r.b.Set.Name + "/" + r.kernel
		if r.problem != "" {
			problems[id] = append(problems[id], fmt.Sprintf("run %d: %s", r.run+1, r.problem))
		}
		for _, l := range r.leaks {
			if l.TestKey != "" {
				testKeys[id] = append(testKeys[id], l.TestKey)
			}
			if l.Block.Func == "" {
				noFrame[id]++
				continue
			}
			entry := "?"
			if l.EntryKnown {
				entry = shortName(l.Entry.Func)
			}
			k := leakKey{r.b.Set.Name, r.kernel, l.WaitReason, shortName(l.Block.Func), filepath.Base(l.Block.File), l.Block.Line, entry}
			if seen[k] == nil {
				seen[k] = map[int]bool{}
			}
			seen[k][r.run] = true
		}
	}

	var rows []Row
	leakedKernels := map[string]bool{}
	mismatch := map[string]bool{}
	srcOf := map[string]*Built{}
	for _, b := range built {
		srcOf[b.Set.Name] = b
	}
	for k, rs := range seen {
		row := Row{Set: k.set, Kernel: k.kernel, WaitReason: k.reason, Func: k.fn, File: k.file, BlockLine: k.line, Entry: k.entry, SeenRuns: len(rs)}
		if f, ok := resolve(srcOf[k.set].Src, k.fn, k.file, k.line); ok {
			row.FuncStart, row.FuncEnd = f.Start, f.End
			if f.Name != k.fn && !mismatch[k.fn] {
				mismatch[k.fn] = true
				notes = append(notes, fmt.Sprintf("%s/%s: the stack names %s (line %d) but no function of that name contains the line; the range is the innermost function there, %s (%s:%d-%d)",
					k.set, k.kernel, k.fn, k.line, f.Name, f.File, f.Start, f.End))
			}
		} else {
			notes = append(notes, fmt.Sprintf("%s/%s: no function of %s contains line %d (%s)", k.set, k.kernel, k.file, k.line, k.fn))
		}
		rows = append(rows, row)
		leakedKernels[k.set+"/"+k.kernel] = true
	}
	for _, b := range built {
		for _, k := range sortedKeys(b.Kernels) {
			id := b.Set.Name + "/" + k
			tc, inTest := tcs[k]
			if !leakedKernels[id] {
				rows = append(rows, Row{Set: b.Set.Name, Kernel: k, File: b.Kernels[k]})
				why := fmt.Sprintf("no goroutine marked (leaked) in any of %d runs", totalRuns[id])
				switch {
				case inTest && len(tc.Leaks) == 0:
					why += " (expected: the runtime test lists no leak for it)"
				case inTest && tc.Flaky:
					why += " (flaky in the runtime test too)"
				}
				notes = append(notes, id+": "+why)
			}
			if !inTest {
				notes = append(notes, id+": not in the runtime test's list; run without GOMAXPROCS=1")
			}
			if n := totalRuns[id]; n != runs && leakedKernels[id] {
				notes = append(notes, fmt.Sprintf("%s: no leak in the first %d runs, so run %d times in all (seen_runs counts all of them)", id, runs, n))
			}
			if n := noFrame[id]; n > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d leaked goroutines had no frame in the kernel sources (ignored)", id, n))
			}
			if ps := problems[id]; len(ps) > 0 {
				notes = append(notes, fmt.Sprintf("%s: %d of %d runs failed: %s", id, len(ps), runs, strings.Join(uniq(ps, 3), "; ")))
			}
			if inTest {
				notes = append(notes, checkExpectations(id, tc, testKeys[id])...)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Set != b.Set {
			return a.Set < b.Set
		}
		if a.Kernel != b.Kernel {
			return a.Kernel < b.Kernel
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.BlockLine != b.BlockLine {
			return a.BlockLine < b.BlockLine
		}
		if a.WaitReason != b.WaitReason {
			return a.WaitReason < b.WaitReason
		}
		return a.Entry < b.Entry
	})
	sort.Strings(notes)
	return rows, notes
}

// checkExpectations compares the observed leaks with the runtime test's regexes: leaks no regex
// explains, and (for non-flaky kernels) expected leaks that never showed up.
func checkExpectations(id string, tc TestCase, keys []string) []string {
	var notes []string
	var res []*regexp.Regexp
	for _, l := range tc.Leaks {
		re, err := regexp.Compile(l)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: runtime test regex %q does not compile: %v", id, l, err))
			continue
		}
		res = append(res, re)
	}
	matched := make([]bool, len(res))
	var unexpected []string
	for _, k := range uniq(keys, 0) {
		hit := false
		for i, re := range res {
			if re.MatchString(k) {
				matched[i], hit = true, true
			}
		}
		if !hit {
			unexpected = append(unexpected, k)
		}
	}
	if len(unexpected) > 0 {
		notes = append(notes, fmt.Sprintf("%s: leaks the runtime test does not list: %s", id, strings.Join(uniq(unexpected, 5), ", ")))
	}
	if !tc.Flaky {
		for i, re := range res {
			if !matched[i] {
				notes = append(notes, fmt.Sprintf("%s: the runtime test expects `%s`, never seen", id, re))
			}
		}
	}
	return notes
}

// uniq returns the distinct strings of xs in first-seen order, at most max of them (0: all).
func uniq(xs []string, max int) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if seen[x] {
			continue
		}
		seen[x] = true
		if max > 0 && len(out) == max {
			out = append(out, "…")
			break
		}
		out = append(out, x)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeTruth(path string, built []*Built, rows []Row, notes []string, runs, retry int) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# Ground truth for `+"`scripts/goker-recall.sh`"+` (scripts/goker score): for every goroutine the Go
# runtime marked "(leaked)" when running the goroutine-leak kernels under
# $GOROOT/%s (set "patterns") and its goker/ subdirectory
# (set "goker", GoBench kernels), which function holds the blocking operation.
# Regenerate with: scripts/goker-recall.sh --regen-truth
#
# go: %s; runs per kernel: %d (+%d for kernels without a leak in those); generated: %s
# Each run: the kernel's own process, GODEBUG=asyncpreemptoff=1, and GOMAXPROCS=1 for the kernels
# the runtime test declares with makeTest (non-flaky), as TestGoroutineLeakProfile runs them.
`, leakDir, wantGo, runs, retry, time.Now().UTC().Format("2006-01-02"))
	for _, bt := range built {
		fmt.Fprintf(&b, "# digest %s %s (sha256 prefix of $GOROOT/%s/*.go; score refuses other sources)\n", bt.Set.Name, bt.Digest, bt.Set.Rel)
	}
	fmt.Fprint(&b, `#
# Columns: set; kernel (registered name); wait_reason (goroutine header); func (the topmost stack
# frame in the kernel sources = the function holding the blocking operation, compiler name without
# "main."); file; block_line (that frame's line); func_start, func_end (line range of the innermost
# function declaration or literal containing block_line); entry_func (the frame above "created
# by"); seen_runs (runs in which this row showed up). A kernel that never leaked has one row with
# an empty func (file: where it is registered).
#
`)
	for _, n := range notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	b.WriteString(strings.Join(tsvHeader, "\t") + "\n")
	for _, r := range rows {
		line := []string{r.Set, r.Kernel, r.WaitReason, r.Func, r.File, itoa0(r.BlockLine), itoa0(r.FuncStart), itoa0(r.FuncEnd), r.Entry, fmt.Sprint(r.SeenRuns)}
		b.WriteString(strings.Join(line, "\t") + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// itoa0 formats n, with 0 as the empty string.
func itoa0(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}
