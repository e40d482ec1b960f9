// Command goker measures how many of the goroutine-leak kernels that ship with Go (GoBench's
// "goker" kernels and the runtime's micro patterns, under
// $GOROOT/src/runtime/testdata/testgoroutineleakprofile) `goleash lint` points at.
//
//	goker truth [-runs 10] [-j N] [-timeout 30s] [-o truth.tsv]
//	goker score -goleash PATH [-select CODES] [-truth truth.tsv] [-o table.md]
//
// truth builds the kernels, runs each one several times the way the runtime's
// TestGoroutineLeakProfile does, and records for every goroutine the runtime marked "(leaked)"
// which function of the kernel source holds the blocking operation, with its line range.
// score lints the kernels in place and prints, per kernel, whether a finding lies inside one of
// those functions. scripts/goker-recall.sh wraps both. Exit status 2 means the tool could not
// do its job (wrong Go version, missing goleash binary, stale truth, …).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// wantGo is the Go release whose kernel sources (and line numbers) truth.tsv describes.
const wantGo = "go1.27.3"

// leakDir is where the kernels live, relative to GOROOT.
const leakDir = "src/runtime/testdata/testgoroutineleakprofile"

// testFile is the runtime test that runs the kernels, relative to GOROOT.
const testFile = "src/runtime/goroutineleakprofile_test.go"

// A Set is one directory of kernels built as one program.
type Set struct {
	Name   string // "goker" or "patterns" (the set column of truth.tsv)
	Rel    string // directory relative to GOROOT
	Module string // module name used for the build: frames then read "<Module>/<file>.go"
}

var sets = []Set{
	{Name: "goker", Rel: leakDir + "/goker", Module: "goker"},
	{Name: "patterns", Rel: leakDir, Module: "testgoroutineleakprofile"},
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "truth":
		err = cmdTruth(os.Args[2:])
	case "score":
		err = cmdScore(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "goker: unknown subcommand %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "goker: %v\n", err)
		os.Exit(2)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  goker truth [-runs N] [-j N] [-timeout D] [-o FILE]     run the kernels, write the ground truth TSV
  goker score -goleash BIN [-select CODES] [-truth FILE] [-o FILE]
                                                         lint the kernels, print the recall table
Run "goker truth -h" or "goker score -h" for the flags. Needs `+wantGo+` on PATH.
`)
}

// goEnv checks the Go toolchain and returns its GOROOT.
func goEnv() (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("cannot run `go env` (is Go on PATH? `. scripts/ensure-go.sh` installs %s): %v", wantGo, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", fmt.Errorf("unexpected `go env` output: %q", out)
	}
	if lines[0] != wantGo {
		return "", fmt.Errorf("go on PATH is %s, need %s: the kernels' line numbers are those of %s's tree (run `. scripts/ensure-go.sh`)", lines[0], wantGo, wantGo)
	}
	root := lines[1]
	if _, err := os.Stat(filepath.Join(root, leakDir, "goker")); err != nil {
		return "", fmt.Errorf("%s has no kernels: %v", root, err)
	}
	return root, nil
}

// digest hashes the non-test .go files of dir (names and contents, sorted), so that score can
// tell whether truth.tsv was made from the sources it lints.
func digest(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// TestCase is what the runtime test says about one kernel.
type TestCase struct {
	Simple bool     // makeTest: run with GOMAXPROCS=1 (makeFlakyTest: all CPUs)
	Flaky  bool     // makeFlakyTest
	Leaks  []string // the expected leak regexes, "Entry(.* [wait reason]"
}

// runtimeTestCases reads makeTest/makeFlakyTest calls from the runtime's test file.
func runtimeTestCases(goroot string) (map[string]TestCase, error) {
	path := filepath.Join(goroot, testFile)
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	out := map[string]TestCase{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		id, ok := call.Fun.(*ast.Ident)
		if !ok || (id.Name != "makeTest" && id.Name != "makeFlakyTest") {
			return true
		}
		var strs []string
		for _, a := range call.Args {
			lit, ok := a.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			strs = append(strs, s)
		}
		out[strs[0]] = TestCase{Simple: id.Name == "makeTest", Flaky: id.Name == "makeFlakyTest", Leaks: strs[1:]}
		return true
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: found no makeTest/makeFlakyTest calls", path)
	}
	return out, nil
}
