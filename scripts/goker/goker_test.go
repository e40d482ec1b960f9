package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func goroot(t *testing.T) string {
	t.Helper()
	root, err := goEnv()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// expectedNames turns the runtime test's leak regexes into the function names they expect,
// e.g. `\(\*Stopper_cockroach1462\)\.RunWorker\.func1\(.* \[chan send\]` into
// "(*Stopper_cockroach1462).RunWorker.func1".
func expectedNames(t *testing.T, root string) map[string]string {
	tcs, err := runtimeTestCases(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for kernel, tc := range tcs {
		for _, re := range tc.Leaks {
			name := re
			for _, stop := range []string{`\(.*`, `.*`} {
				if i := strings.Index(name, stop); i >= 0 {
					name = name[:i]
				}
			}
			name = strings.ReplaceAll(name, `\`, "")
			out[name] = kernel
		}
	}
	return out
}

// Every function the runtime test expects a leak in has that name in our naming of the sources:
// closures numbered per enclosing function (F.func2, F.func2.1), methods ((*T).M, T.M).
func TestNamesMatchRuntimeTest(t *testing.T) {
	root := goroot(t)
	names := expectedNames(t, root)
	if len(names) < 80 {
		t.Fatalf("only %d names from the runtime test", len(names))
	}
	var srcs []*Source
	for _, s := range sets {
		src, err := LoadSource(filepath.Join(root, s.Rel))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	for name, kernel := range names {
		found := false
		for _, src := range srcs {
			if f, ok := src.ByName(name); ok {
				found = true
				if f.Start <= 0 || f.End < f.Start {
					t.Errorf("%s: bad range %d-%d", name, f.Start, f.End)
				}
			}
		}
		if !found {
			t.Errorf("%s (expected by the runtime test for %s) is not among the named functions", name, kernel)
		}
	}
}

// Runs real kernels of the micro-pattern set and checks what the truth takes from their dumps.
func TestRealDump(t *testing.T) {
	root := goroot(t)
	b, err := buildSet(root, sets[1], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ block, reason, entry string }
	cases := map[string][]want{
		// a closure and a closure nested in it
		"Mixed": {{"Mixed.func1", "sync.WaitGroup.Wait", "Mixed.func1"}, {"Mixed.func1.1", "chan send", "Mixed.func1.1"}},
		// a closure in a method with a value receiver
		"MethodContractViolation": {{"worker.Start.func1", "select", "worker.Start.func1"}},
		// the blocking function is not the goroutine's entry function
		"DoubleSend": {{"doubleSend", "chan send", "DoubleSend.func3"}},
		// a wait reason with parentheses of its own
		"NilRecv": {{"NilRecv.func1", "chan receive (nil chan)", "NilRecv.func1"}},
	}
	for kernel, wants := range cases {
		if b.Kernels[kernel] == "" {
			t.Fatalf("%s is not registered", kernel)
		}
		var got []want
		var dump string
		for attempt := 0; attempt < 3 && len(got) == 0; attempt++ {
			out, problem := runKernel(b.Bin, kernel, true, 30*time.Second)
			if problem != "" {
				t.Fatalf("%s: %s", kernel, problem)
			}
			dump = out
			gs := ParseDump(out)
			if len(gs) == 0 || gs[0].Leaked {
				t.Fatalf("%s: parsed %d goroutines; want the profiling goroutine first, not leaked:\n%s", kernel, len(gs), out)
			}
			for _, l := range Leaks(gs, sets[1].Module+"/") {
				if l.Block.Func == "" || !l.EntryKnown {
					t.Fatalf("%s: leak without a kernel frame or entry: %+v", kernel, l)
				}
				name := shortName(l.Block.Func)
				f, ok := resolve(b.Src, name, filepath.Base(l.Block.File), l.Block.Line)
				if !ok || f.Name != name || l.Block.Line < f.Start || l.Block.Line > f.End {
					t.Errorf("%s: %s at %s:%d resolved to %+v", kernel, name, l.Block.File, l.Block.Line, f)
				}
				if inner, _ := b.Src.Innermost(filepath.Base(l.Block.File), l.Block.Line); inner != f {
					t.Errorf("%s: by name %+v, innermost %+v", kernel, f, inner)
				}
				if !strings.HasSuffix(l.TestKey, "["+l.WaitReason+"]") {
					t.Errorf("%s: test key %q", kernel, l.TestKey)
				}
				w := want{name, l.WaitReason, shortName(l.Entry.Func)}
				if !containsWant(got, w) {
					got = append(got, w)
				}
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i].block < got[j].block })
		sort.Slice(wants, func(i, j int) bool { return wants[i].block < wants[j].block })
		if len(got) != len(wants) {
			t.Errorf("%s: leaks %+v, want %+v\n%s", kernel, got, wants, dump)
			continue
		}
		for i := range got {
			if got[i] != wants[i] {
				t.Errorf("%s: leak %+v, want %+v", kernel, got[i], wants[i])
			}
		}
	}
}

func containsWant[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestStripArgsAndFileLine(t *testing.T) {
	for in, want := range map[string]string{
		"main.(*gossip_cockroach584).manage(0x29d8e6314150)":             "main.(*gossip_cockroach584).manage",
		"main.Cockroach584.func2()":                                      "main.Cockroach584.func2",
		"sync.(*Mutex).Lock(...)":                                        "sync.(*Mutex).Lock",
		"runtime/pprof.writeGoroutineStacks({0x693ec8, 0x29d8e6302050})": "runtime/pprof.writeGoroutineStacks",
	} {
		if got := stripArgs(in); got != want {
			t.Errorf("stripArgs(%q) = %q, want %q", in, got, want)
		}
	}
	if f, l := parseFileLine("\tgoker/cockroach584.go:36 +0x38"); f != "goker/cockroach584.go" || l != 36 {
		t.Errorf("parseFileLine: %q %d", f, l)
	}
	if f, l := parseFileLine("\tsync/mutex.go:46"); f != "sync/mutex.go" || l != 46 {
		t.Errorf("parseFileLine: %q %d", f, l)
	}
}

func TestCheckExpectations(t *testing.T) {
	tc := TestCase{Simple: true, Leaks: []string{`Foo\.func1\(.* \[chan send\]`, `Baz\(.* \[select\]`}}
	notes := checkExpectations("goker/X", tc, []string{"Foo.func1() [chan send]", "Bar(0x1) [select]"})
	want := []string{
		"goker/X: leaks the runtime test does not list: Bar(0x1) [select]",
		"goker/X: the runtime test expects `Baz\\(.* \\[select\\]`, never seen",
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	tc.Flaky = true
	if notes := checkExpectations("goker/X", tc, []string{"Foo.func1() [chan send]"}); len(notes) != 0 {
		t.Errorf("flaky kernel: %q", notes)
	}
}
