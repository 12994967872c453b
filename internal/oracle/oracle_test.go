package oracle

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// module writes a module of one main.go into a temporary directory named
// name and returns the directory.
func module(t *testing.T, name, main string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, text := range map[string]string{"go.mod": "module example.test/" + name + "\n\ngo 1.26\n", "main.go": main} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// twice answers {"n":N} with {"twice":2N}, one line each, until its input ends.
const twice = `package main

import (
	"bufio"
	"encoding/json"
	"os"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r struct{ N int }
		json.Unmarshal(in.Bytes(), &r)
		out.Encode(map[string]int{"twice": 2 * r.N})
	}
}
`

// Concurrent questions each get their own answer.
func TestAsk(t *testing.T) {
	p := Start(t, module(t, "twice", twice))
	var wg sync.WaitGroup
	for n := range 20 {
		wg.Go(func() {
			var a struct{ Twice int }
			p.Ask(t, map[string]int{"n": n}, &a)
			if a.Twice != 2*n {
				t.Errorf("asked %d, answered %d", n, a.Twice)
			}
		})
	}
	wg.Wait()
}

// A module that does not build is an error that names it, with the go
// command's output (Start makes it a skip, or a failure under CI=true).
func TestCompileFails(t *testing.T) {
	dir := module(t, "broken", "package main\n\nfunc main() { undefined() }\n")
	if path, err := compile(dir); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("compile of a broken module = %q, %v; want an error naming %s with the compiler's message", path, err, dir)
	}
}
