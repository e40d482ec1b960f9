package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Func is a function of the kernel sources: a declaration or a function literal, with the name the
// Go compiler gives it in stack traces (without the "main." qualifier) and its line range.
type Func struct {
	Name       string // "Kernel", "(*T).M", "T.M", "Kernel.func2", "Kernel.func2.1", "init.0.func1"
	File       string // base name
	Start, End int    // first and last line ("func" keyword to closing brace)
}

// Source is the parsed package of one kernel set.
type Source struct {
	Dir   string
	Files map[string]*ast.File // by base name
	Fset  *token.FileSet
	Funcs []Func
}

// LoadSource parses every non-test .go file of dir (not recursive) and names its functions.
func LoadSource(dir string) (*Source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Source{Dir: dir, Files: map[string]*ast.File{}, Fset: token.NewFileSet()}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	sort.Strings(names) // the order the go command hands files to the compiler
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no .go files", dir)
	}
	for _, n := range names {
		f, err := parser.ParseFile(s.Fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		s.Files[n] = f
	}
	s.Funcs = nameFuncs(s.Fset, names, s.Files)
	return s, nil
}

// nameFuncs gives every function the name the compiler uses in tracebacks:
//
//   - func F / func (r *T) M / func (r T) M: "F", "(*T).M", "T.M" (generic receivers "T[...]");
//   - init functions: "init.0", "init.1", … in file order across the package;
//   - function literals, numbered in source order per enclosing function: directly inside a
//     declared function F they are "F.func1", "F.func2", …; inside a literal L they are "L.1",
//     "L.2", …; literals in package-level initialisers are "init.func1", ….
//
// The numbering is a cross-check only: the truth takes the innermost function that contains the
// traceback line (see Innermost), which does not depend on the compiler's naming scheme.
func nameFuncs(fset *token.FileSet, order []string, files map[string]*ast.File) []Func {
	var out []Func
	inits, globalLits := 0, 0
	for _, base := range order {
		f := files[base]
		add := func(name string, n ast.Node) {
			out = append(out, Func{Name: name, File: base,
				Start: fset.Position(n.Pos()).Line, End: fset.Position(n.End()).Line})
		}
		var lits func(n ast.Node, outer string, inDecl bool)
		lits = func(n ast.Node, outer string, inDecl bool) {
			count := 0
			ast.Inspect(n, func(c ast.Node) bool {
				lit, ok := c.(*ast.FuncLit)
				if !ok {
					return true
				}
				count++
				name := fmt.Sprintf("%s.%d", outer, count)
				if inDecl {
					name = fmt.Sprintf("%s.func%d", outer, count)
				}
				add(name, lit)
				lits(lit.Body, name, false)
				return false
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				name := d.Name.Name
				if d.Recv != nil && len(d.Recv.List) == 1 {
					name = recvName(d.Recv.List[0].Type) + "." + name
				} else if name == "init" {
					name = fmt.Sprintf("init.%d", inits)
					inits++
				}
				add(name, d)
				if d.Body != nil {
					lits(d.Body, name, true)
				}
			case *ast.GenDecl:
				ast.Inspect(d, func(c ast.Node) bool {
					lit, ok := c.(*ast.FuncLit)
					if !ok {
						return true
					}
					globalLits++
					name := fmt.Sprintf("init.func%d", globalLits)
					add(name, lit)
					lits(lit.Body, name, false)
					return false
				})
			}
		}
	}
	return out
}

func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "(*" + recvName(t.X) + ")"
	case *ast.ParenExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X) + "[...]"
	case *ast.IndexListExpr:
		return recvName(t.X) + "[...]"
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// Innermost returns the innermost function of file (base name) whose range contains line.
func (s *Source) Innermost(file string, line int) (Func, bool) {
	var best Func
	found := false
	for _, f := range s.Funcs {
		if f.File != file || line < f.Start || line > f.End {
			continue
		}
		if !found || f.Start > best.Start || (f.Start == best.Start && f.End <= best.End) {
			best, found = f, true
		}
	}
	return best, found
}

// ByName returns the function the compiler calls name (without "main.").
func (s *Source) ByName(name string) (Func, bool) {
	for _, f := range s.Funcs {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// Registered returns the kernels the sources register: register("Name", fn) calls, with the
// file holding each call.
func (s *Source) Registered() map[string]string {
	out := map[string]string{}
	for base, f := range s.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || (id.Name != "register" && id.Name != "registerInit") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				out[strings.Trim(lit.Value, "\"`")] = base
			}
			return true
		})
	}
	return out
}

// resolve finds the source function of a stack frame: the function the compiler calls name if it
// is in file and contains line (checked, so a naming mismatch cannot go unnoticed), else the
// innermost function containing line. Name first matters when a function literal starts on the
// frame's line: `once.Do(func() {` blocks in the enclosing function, not in the literal.
func resolve(s *Source, name, file string, line int) (Func, bool) {
	if f, ok := s.ByName(name); ok && f.File == file && f.Start <= line && line <= f.End {
		return f, true
	}
	return s.Innermost(file, line)
}
