package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Truth is truth.tsv read back.
type Truth struct {
	Rows    []Row
	Digests map[string]string // set -> digest of the sources the truth was made from
	Meta    string            // the "# go: …" header line
}

func readTruth(file string) (*Truth, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading the truth: %v (generate it with scripts/goker-recall.sh --regen-truth)", err)
	}
	defer f.Close()
	t := &Truth{Digests: map[string]string{}}
	sc := bufio.NewScanner(f)
	header := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# digest "); ok {
			fs := strings.Fields(rest)
			if len(fs) >= 2 {
				t.Digests[fs[0]] = fs[1]
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# go: "); ok {
			t.Meta = strings.Join(strings.Fields(rest), " ")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if !header {
			if strings.Join(cols, "\t") != strings.Join(tsvHeader, "\t") {
				return nil, fmt.Errorf("%s:%d: expected the column header %q", file, n, strings.Join(tsvHeader, " "))
			}
			header = true
			continue
		}
		if len(cols) != len(tsvHeader) {
			return nil, fmt.Errorf("%s:%d: %d columns, want %d", file, n, len(cols), len(tsvHeader))
		}
		r := Row{Set: cols[0], Kernel: cols[1], WaitReason: cols[2], Func: cols[3], File: cols[4], Entry: cols[8]}
		for i, dst := range []*int{&r.BlockLine, &r.FuncStart, &r.FuncEnd, &r.SeenRuns} {
			c := cols[[]int{5, 6, 7, 9}[i]]
			if c == "" {
				continue
			}
			if *dst, err = strconv.Atoi(c); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, n, err)
			}
		}
		if r.Func != "" && (r.FuncStart == 0 || r.FuncEnd < r.FuncStart) {
			return nil, fmt.Errorf("%s:%d: %s has no line range", file, n, r.Func)
		}
		t.Rows = append(t.Rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", file)
	}
	return t, nil
}

// Diag is the part of a `goleash lint --format json` diagnostic the score needs
// (crates/goleash-lint/src/render.rs, json(); Diagnostic in diagnostic.rs).
type Diag struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Span     struct {
		Line    int `json:"line"`
		EndLine int `json:"end_line"`
	} `json:"span"`
	Message string `json:"message"`
}

type lintOutput struct {
	Diagnostics *[]Diag         `json:"diagnostics"`
	IOErrors    json.RawMessage `json:"io_errors"`
}

// runLint lints the kernel directory in place (it is read-only in GOROOT) and returns the
// diagnostics with paths relative to it ("simple.go", "goker/etcd5509.go").
func runLint(bin, dir, sel string) ([]Diag, error) {
	args := []string{"lint", ".", "--format", "json", "--fail-on", "never", "--no-config"}
	if sel != "" {
		args = append(args, "--select", sel)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	var out lintOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("goleash lint --format json: unexpected output (%v): %.200s", err, stdout.String())
	}
	if out.Diagnostics == nil {
		return nil, fmt.Errorf("goleash lint --format json: no \"diagnostics\" array in its output: %.200s", stdout.String())
	}
	if s := strings.TrimSpace(string(out.IOErrors)); s != "" && s != "[]" && s != "null" {
		return nil, fmt.Errorf("goleash lint reported I/O errors: %s", s)
	}
	ds := *out.Diagnostics
	for i := range ds {
		ds[i].Path = path.Clean(filepath.ToSlash(ds[i].Path))
	}
	return ds, nil
}

// KernelScore is one line of the table.
type KernelScore struct {
	Kernel  string
	Funcs   []Row    // one per distinct blocking function (range)
	Reasons []string // distinct wait reasons
	Files   []string // files of the blocking functions, or the registering file
	Leaked  bool
	Found   bool     // a finding inside a blocking function
	InFile  bool     // a finding anywhere in Files
	Codes   []string // codes of the findings inside blocking functions
	Inside  []Diag
	Outside []Diag // findings elsewhere in Files
}

// scoreSet compares the truth rows of one set with the diagnostics in that set's directory.
func scoreSet(set Set, rows []Row, diags []Diag) []KernelScore {
	dir := strings.TrimPrefix(strings.TrimPrefix(set.Rel, leakDir), "/")
	if dir == "" {
		dir = "."
	}
	byFile := map[string][]Diag{}
	for _, d := range diags {
		if path.Dir(d.Path) == dir {
			byFile[path.Base(d.Path)] = append(byFile[path.Base(d.Path)], d)
		}
	}
	byKernel := map[string][]Row{}
	for _, r := range rows {
		if r.Set == set.Name {
			byKernel[r.Kernel] = append(byKernel[r.Kernel], r)
		}
	}
	var out []KernelScore
	for _, k := range sortedKeys(byKernel) {
		ks := KernelScore{Kernel: k}
		seenFunc, seenReason, seenFile := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, r := range byKernel[k] {
			if !seenFile[r.File] {
				seenFile[r.File] = true
				ks.Files = append(ks.Files, r.File)
			}
			if r.Func == "" {
				continue
			}
			ks.Leaked = true
			if key := fmt.Sprintf("%s %s %d", r.Func, r.File, r.FuncStart); !seenFunc[key] {
				seenFunc[key] = true
				ks.Funcs = append(ks.Funcs, r)
			}
			if !seenReason[r.WaitReason] {
				seenReason[r.WaitReason] = true
				ks.Reasons = append(ks.Reasons, r.WaitReason)
			}
		}
		seenCode := map[string]bool{}
		for _, file := range ks.Files {
			for _, d := range byFile[file] {
				inside := false
				for _, f := range ks.Funcs {
					if f.File == file && f.FuncStart <= d.Span.Line && d.Span.Line <= f.FuncEnd {
						inside = true
					}
				}
				if inside {
					ks.Inside = append(ks.Inside, d)
					if !seenCode[d.Code] {
						seenCode[d.Code] = true
						ks.Codes = append(ks.Codes, d.Code)
					}
				} else {
					ks.Outside = append(ks.Outside, d)
				}
			}
		}
		ks.Found = len(ks.Inside) > 0
		ks.InFile = len(ks.Inside)+len(ks.Outside) > 0
		sort.Strings(ks.Codes)
		out = append(out, ks)
	}
	return out
}

func cmdScore(args []string) error {
	fs := flag.NewFlagSet("score", flag.ExitOnError)
	bin := fs.String("goleash", "", "path to the goleash binary (required; cargo build --release -p goleash)")
	sel := fs.String("select", "", "passed to goleash lint --select (default: goleash's default rule set)")
	truthFile := fs.String("truth", "truth.tsv", "the ground truth written by `goker truth`")
	out := fs.String("o", "", "also write the Markdown to this file")
	label := fs.String("label", "", "what the binary was built from, for the report header (e.g. a commit)")
	fs.Parse(args)
	if *bin == "" {
		return fmt.Errorf("score: -goleash PATH is required (build it with `cargo build --release -p goleash`)")
	}
	if st, err := os.Stat(*bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("score: goleash binary %q not found or not executable (build it with `cargo build --release -p goleash`)", *bin)
	}
	goroot, err := goEnv()
	if err != nil {
		return err
	}
	truth, err := readTruth(*truthFile)
	if err != nil {
		return err
	}
	for _, s := range sets {
		d, err := digest(filepath.Join(goroot, s.Rel))
		if err != nil {
			return err
		}
		if truth.Digests[s.Name] != d {
			return fmt.Errorf("%s was made from other %s sources (digest %q, $GOROOT/%s has %s): regenerate it with scripts/goker-recall.sh --regen-truth",
				*truthFile, s.Name, truth.Digests[s.Name], s.Rel, d)
		}
	}
	diags, err := runLint(*bin, filepath.Join(goroot, leakDir), *sel)
	if err != nil {
		return err
	}
	version := "?"
	if v, err := exec.Command(*bin, "--version").Output(); err == nil {
		version = strings.TrimSpace(string(v))
	}
	if *label != "" {
		version += ", " + *label
	}
	var b bytes.Buffer
	summary := writeScore(&b, truth, diags, *sel, version)
	os.Stdout.Write(b.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, summary)
	return nil
}

func pct(n, d int) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%d%%", (100*n+d/2)/d)
}

// writeScore prints the Markdown report and returns a one-line summary.
func writeScore(w io.Writer, truth *Truth, diags []Diag, sel, version string) string {
	selName, selFlag := "default rule set", ""
	if sel != "" {
		selName, selFlag = "--select "+sel, " --select "+sel
	}
	fmt.Fprintf(w, "## goleash lint, %s\n\n", selName)
	fmt.Fprintf(w, "`%s`; `goleash lint . --format json --fail-on never --no-config%s` in `$GOROOT/%s`; truth: %s.\n\n",
		version, selFlag, leakDir, truth.Meta)
	fmt.Fprintln(w, "| set | kernels with an observed leak | found: a finding inside a blocking function | looser: a finding anywhere in the kernel's file | kernels with no observed leak |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	var sections bytes.Buffer
	var summary []string
	for _, s := range sets {
		scores := scoreSet(s, truth.Rows, diags)
		leaked, found, inFile := 0, 0, 0
		var quiet []string
		for _, k := range scores {
			if !k.Leaked {
				quiet = append(quiet, k.Kernel)
				continue
			}
			leaked++
			if k.Found {
				found++
			}
			if k.InFile {
				inFile++
			}
		}
		fmt.Fprintf(w, "| %s | %d | **%d / %d (%s)** | %d / %d (%s) | %d%s |\n", s.Name, leaked, found, leaked, pct(found, leaked),
			inFile, leaked, pct(inFile, leaked), len(quiet), parenList(quiet))
		summary = append(summary, fmt.Sprintf("%s %d/%d found (%d/%d in file)", s.Name, found, leaked, inFile, leaked))
		fmt.Fprintf(&sections, "\n### %s\n\n", s.Name)
		fmt.Fprintln(&sections, "| kernel | blocking function(s) | wait reasons | found? | in file? | rule codes | finding lines |")
		fmt.Fprintln(&sections, "|---|---|---|---|---|---|---|")
		for _, k := range scores {
			if !k.Leaked {
				fmt.Fprintf(&sections, "| %s | no leak observed (%s) | | n/a | %s | | %s |\n", k.Kernel, strings.Join(k.Files, ", "), yes(k.InFile, false), diagList(nil, k.Outside))
				continue
			}
			var fns []string
			for _, f := range k.Funcs {
				fns = append(fns, fmt.Sprintf("`%s` %s:%d–%d", f.Func, f.File, f.FuncStart, f.FuncEnd))
			}
			fmt.Fprintf(&sections, "| %s | %s | %s | %s | %s | %s | %s |\n", k.Kernel, strings.Join(fns, "<br>"), strings.Join(k.Reasons, ", "),
				yes(k.Found, true), yes(k.InFile, false), strings.Join(k.Codes, " "), diagList(k.Inside, k.Outside))
		}
	}
	fmt.Fprintln(w, `
Per kernel: *blocking function(s)* are the functions holding the blocking operation of the goroutines
the runtime marked "(leaked)" (scripts/goker/truth.tsv, with their line ranges); *found?* = a finding's
primary line lies inside one of them; *in file?* = a finding anywhere in the kernel's file (for the
patterns set several kernels share a file); *rule codes* = the codes of the findings inside;
*finding lines* = line and code of the findings inside, then those elsewhere in the file.`)
	w.Write(sections.Bytes())
	return "goker score (" + selName + "): " + strings.Join(summary, "; ")
}

func yes(b, bold bool) string {
	switch {
	case b && bold:
		return "**yes**"
	case b:
		return "yes"
	}
	return "no"
}

func parenList(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return " (" + strings.Join(xs, ", ") + ")"
}

func diagList(inside, outside []Diag) string {
	f := func(ds []Diag) string {
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Span.Line < ds[j].Span.Line })
		var s []string
		for _, d := range ds {
			s = append(s, fmt.Sprintf("%d %s", d.Span.Line, d.Code))
		}
		return strings.Join(s, ", ")
	}
	switch {
	case len(inside) > 0 && len(outside) > 0:
		return f(inside) + "; elsewhere: " + f(outside)
	case len(inside) > 0:
		return f(inside)
	case len(outside) > 0:
		return "elsewhere: " + f(outside)
	}
	return ""
}
