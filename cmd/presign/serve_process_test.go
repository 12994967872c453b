package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildPresign builds cmd/presign into a temporary directory of t and
// returns the binary's path.
func buildPresign(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "presign")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/presign: %v\n%s", err, out)
	}
	return bin
}

// logWatch collects JSON log lines written to it (by a child's stdout or
// an in-process cli) and lets a test wait for one.
type logWatch struct {
	t       *testing.T
	mu      sync.Mutex
	partial []byte
	lines   []logLine
	changed chan struct{} // closed and replaced at every new line
	ended   chan struct{} // closed when the writer is done (end)
}

// logLine is one JSON log line: its msg and all its fields.
type logLine struct {
	Msg    string
	Fields map[string]any
	Raw    string
}

func newLogWatch(t *testing.T) *logWatch {
	return &logWatch{t: t, changed: make(chan struct{}), ended: make(chan struct{})}
}

func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		l := logLine{Raw: string(w.partial[:i])}
		if json.Unmarshal(w.partial[:i], &l.Fields) == nil {
			l.Msg, _ = l.Fields["msg"].(string)
		}
		w.partial = w.partial[i+1:]
		w.lines = append(w.lines, l)
		close(w.changed)
		w.changed = make(chan struct{})
	}
}

// end says that nothing more will be written.
func (w *logWatch) end() { close(w.ended) }

// wait returns the first line from index from on that match accepts,
// and its index; it fails the test after timeout, or once the writer has
// ended without such a line.
func (w *logWatch) wait(from int, timeout time.Duration, match func(logLine) bool) (logLine, int) {
	w.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		for i := from; i < len(w.lines); i++ {
			if match(w.lines[i]) {
				l := w.lines[i]
				w.mu.Unlock()
				return l, i
			}
		}
		from = len(w.lines)
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-w.ended:
			w.mu.Lock()
			n := len(w.lines)
			w.mu.Unlock()
			if n == from {
				w.t.Fatal("the log ended without the line awaited")
			}
		case <-deadline.C:
			w.t.Fatalf("no such line logged within %s", timeout)
		}
	}
}

// waitMsg waits for a line from index from on whose msg starts with
// prefix and whose fields include those of want.
func (w *logWatch) waitMsg(from int, timeout time.Duration, prefix string, want map[string]any) (logLine, int) {
	w.t.Helper()
	return w.wait(from, timeout, func(l logLine) bool {
		if !strings.HasPrefix(l.Msg, prefix) {
			return false
		}
		for k, v := range want {
			if l.Fields[k] != v {
				return false
			}
		}
		return true
	})
}

// count is the number of lines logged so far (an index for wait).
func (w *logWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lines)
}

// all returns the lines logged so far.
func (w *logWatch) all() []logLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]logLine(nil), w.lines...)
}

// dump logs every line through t (for a failed test).
func (w *logWatch) dump() {
	for _, l := range w.all() {
		w.t.Logf("log: %s", l.Raw)
	}
}

// serveProcess is `presign serve` running as a child process, with its
// log lines (stdout, JSON) collected as they come.
type serveProcess struct {
	*logWatch
	t      *testing.T
	cmd    *exec.Cmd
	api    string // http://127.0.0.1:PORT
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

// startServe starts bin serve with env (and nothing of the test's own
// environment but PATH) and returns once it logs "presign serving". The
// process is killed when the test ends, if it still runs.
func startServe(t *testing.T, bin string, env map[string]string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{logWatch: newLogWatch(t), t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &testWriter{t: t, prefix: "presign serve stderr: "}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(p.logWatch, stdout) // Wait closes the pipe: read it all first
		p.err = p.cmd.Wait()
		p.end()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			p.dump()
		}
	})
	l, _ := p.waitMsg(0, 60*time.Second, "presign serving", nil)
	p.api = "http://" + l.Fields["addr"].(string)
	return p
}

// signal sends sig to the process.
func (p *serveProcess) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, sig); err != nil {
		p.t.Fatal(err)
	}
}

// waitExit waits for the process to exit and returns its exit status.
func (p *serveProcess) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("presign serve still runs %s later", timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// goroutines is the process's go_goroutines from GET /metrics.
func (p *serveProcess) goroutines(client *http.Client) int {
	p.t.Helper()
	resp, err := client.Get(p.api + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				p.t.Fatalf("go_goroutines %q", v)
			}
			return n
		}
	}
	p.t.Fatalf("no go_goroutines in /metrics:\n%.1000s", body)
	return 0
}

// settledGoroutines is goroutines once it reads the same three times in a
// row, 20ms apart (connections just closed take a moment to end their
// goroutines), or its last reading after 5s.
func (p *serveProcess) settledGoroutines(client *http.Client) int {
	p.t.Helper()
	n, same := p.goroutines(client), 1
	for deadline := time.Now().Add(5 * time.Second); same < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
		m := p.goroutines(client)
		if m == n {
			same++
		} else {
			n, same = m, 1
		}
	}
	return n
}

// testWriter logs what is written to it through t.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s%s", w.prefix, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
