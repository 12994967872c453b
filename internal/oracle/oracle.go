// Package oracle runs the reference programs of the differential tests
// (gcsv4/internal/gcsref, Google's Go library; azuresas/internal/azref, the
// Azure SDK for Go). Each is a main package in a module of its own, so that
// the library it wraps and the modules that library requires stay out of
// presign's go.mod. It is built with the go command (the module cache or
// the module proxy must have its requirements) and spoken to in JSON lines:
// one request a line on its standard input, one answer a line on its
// standard output; it exits at the end of its input.
//
// Only tests import this package.
package oracle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"presign.dev/internal/testdep"
)

// Process is a running reference program. Its methods are safe for
// concurrent use.
type Process struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Scanner
}

// build is the program of one module directory, built once per test
// process.
type build struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // absolute module directory → *build

// Start builds the program of the module in dir (once per test process) and
// starts it for the rest of tb. When it cannot be built (no go command, or
// the module's requirements in neither the module cache nor the module
// proxy), tb is skipped, or failed under CI=true.
func Start(tb testing.TB, dir string) *Process {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	v, _ := builds.LoadOrStore(abs, new(build))
	b := v.(*build)
	b.once.Do(func() { b.path, b.err = compile(abs) })
	if b.err != nil {
		testdep.Missing(tb, b.err.Error())
	}
	cmd := exec.Command(b.path)
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		in.Close() // the program exits at the end of its input
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	return &Process{in: in, out: sc}
}

// compile builds the module in dir into a temporary directory, outside any
// go.work, and returns the program's path.
func compile(dir string) (string, error) {
	tmp, err := os.MkdirTemp("", filepath.Base(dir))
	if err != nil {
		return "", err
	}
	path := filepath.Join(tmp, filepath.Base(dir))
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("oracle: building %s failed: %v\n%s", dir, err, out)
	}
	return path, nil
}

// Ask sends request, as one JSON line, and decodes the answer's line into
// answer (a pointer). Whatever goes wrong on the way fails tb; what the
// answer says is the caller's to check.
func (p *Process) Ask(tb testing.TB, request, answer any) {
	tb.Helper()
	b, err := json.Marshal(request)
	if err != nil {
		tb.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		tb.Fatalf("oracle: writing to the program: %v", err)
	}
	if !p.out.Scan() {
		tb.Fatalf("oracle: the program answered nothing: %v", p.out.Err())
	}
	if err := json.Unmarshal(p.out.Bytes(), answer); err != nil {
		tb.Fatalf("oracle: the program's answer %q: %v", p.out.Bytes(), err)
	}
}
