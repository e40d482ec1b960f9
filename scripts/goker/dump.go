package main

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// Frame is one function frame of a goroutine's stack in a debug=2 dump.
type Frame struct {
	Func string // runtime function name without arguments, e.g. "main.(*T).Run.func1"
	Raw  string // the frame line as printed, arguments included
	File string // as printed (with -trimpath: "<module>/<file>.go" or "sync/mutex.go")
	Line int
}

// Goroutine is one goroutine of a debug=2 dump (runtime.Stack / pprof debug=2 format).
type Goroutine struct {
	ID         int
	Status     string // the bracketed header text before the first ", " (e.g. "chan send (leaked)")
	Leaked     bool   // the header carries " (leaked)"
	WaitReason string // Status without the " (leaked)", " (scan)" and " (durable)" markers
	Frames     []Frame
	CreatedBy  string // function named on the "created by" line ("" for goroutine 1)
	Elided     bool   // "...additional frames elided..." was printed: Frames is not the whole stack
}

var headerRE = regexp.MustCompile(`^goroutine (\d+)\b[^\[]*\[(.*)\]:?\s*$`)

// ParseDump splits a debug=2 goroutine dump into goroutines. Lines that belong to no goroutine
// (anything a kernel printed around the profile) are ignored.
func ParseDump(text string) []Goroutine {
	var out []Goroutine
	var cur *Goroutine
	var pending *Frame // frame line seen, waiting for its "\tfile:line" line
	inCreatedBy := false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
		}
		cur, pending, inCreatedBy = nil, nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		if m := headerRE.FindStringSubmatch(line); m != nil {
			flush()
			id, _ := strconv.Atoi(m[1])
			status, _, _ := strings.Cut(m[2], ", ")
			reason := status
			for _, marker := range []string{" (leaked)", " (scan)", " (durable)"} {
				reason = strings.ReplaceAll(reason, marker, "")
			}
			cur = &Goroutine{ID: id, Status: status, Leaked: strings.Contains(status, " (leaked)"), WaitReason: reason}
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "\t"):
			file, ln := parseFileLine(line)
			if pending != nil {
				pending.File, pending.Line = file, ln
				cur.Frames = append(cur.Frames, *pending)
				pending = nil
			}
			inCreatedBy = false
		case strings.HasPrefix(line, "created by "):
			name := strings.TrimPrefix(line, "created by ")
			if i := strings.Index(name, " in goroutine "); i >= 0 {
				name = name[:i]
			}
			cur.CreatedBy = name
			inCreatedBy = true
			pending = nil
		case strings.HasPrefix(line, "...") && strings.Contains(line, "elided"):
			cur.Elided = true
		default:
			if inCreatedBy {
				continue
			}
			pending = &Frame{Func: stripArgs(line), Raw: line}
		}
	}
	flush()
	return out
}

// stripArgs turns "main.(*T).M(0xc000, ...)" into "main.(*T).M". Argument lists never contain
// parentheses, so the last "(" opens them.
func stripArgs(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasSuffix(line, ")") {
		if i := strings.LastIndex(line, "("); i > 0 {
			return line[:i]
		}
	}
	return line
}

// parseFileLine parses "\tgoker/x.go:36 +0x38" into ("goker/x.go", 36).
func parseFileLine(line string) (string, int) {
	line = strings.TrimSpace(line)
	if i := strings.LastIndex(line, " +0x"); i >= 0 {
		line = line[:i]
	}
	i := strings.LastIndex(line, ":")
	if i < 0 {
		return line, 0
	}
	n, err := strconv.Atoi(line[i+1:])
	if err != nil {
		return line, 0
	}
	return line[:i], n
}

// Leak is what the truth keeps of one leaked goroutine.
type Leak struct {
	WaitReason string
	Block      Frame  // topmost frame whose file is one of the kernel sources
	Entry      Frame  // the goroutine's entry function: the frame just above "created by"
	EntryKnown bool   // false when the stack was elided
	TestKey    string // "Entry(args) [wait reason]" without "main.", as the runtime test matches it
}

// Leaks extracts the leaked goroutines of a dump. srcPrefix is the path prefix of the kernel
// sources in frames ("goker/" when the kernels were built as module goker with -trimpath);
// a leaked goroutine with no frame in the kernel sources is returned with an empty Block.Func.
func Leaks(gs []Goroutine, srcPrefix string) []Leak {
	var out []Leak
	for _, g := range gs {
		if !g.Leaked || len(g.Frames) == 0 {
			continue
		}
		l := Leak{WaitReason: g.WaitReason}
		for _, f := range g.Frames {
			rest, ok := strings.CutPrefix(f.File, srcPrefix)
			if ok && !strings.Contains(rest, "/") {
				l.Block = f
				break
			}
		}
		if !g.Elided {
			l.Entry = g.Frames[len(g.Frames)-1]
			l.EntryKnown = true
			l.TestKey = strings.TrimPrefix(l.Entry.Raw, "main.") + " [" + g.WaitReason + "]"
		}
		out = append(out, l)
	}
	return out
}

// shortName drops the "main." package qualifier of a runtime function name.
func shortName(fn string) string { return strings.TrimPrefix(fn, "main.") }
