// Package redistest starts a real redis-server (Debian's package, which
// scripts/install-test-tools.sh installs) on 127.0.0.1 for a test, and
// stops it by its PID when the test ends. Without redis-server the test
// is skipped, and under CI=true it fails.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start starts redis-server ($REDIS_SERVER, else redis-server on PATH)
// without persistence on a free loopback port and returns its URL
// (redis://127.0.0.1:PORT/0).
func Start(tb testing.TB) string {
	tb.Helper()
	return StartServer(tb).URL
}

// Server is a running redis-server.
type Server struct {
	URL  string
	bin  string
	port int
	stop func()
}

// Stop stops the server (by its PID) and waits for it to exit: from then
// on its port refuses connections. Stopping twice is harmless.
func (s *Server) Stop() { s.stop() }

// Restart stops the server and starts a new, empty one on the same port,
// as a Redis without persistence comes back after a crash.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.stop()
	next, err := start(tb, s.bin, s.port)
	if err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
	*s = *next
}

// StartServer is Start for a test that stops Redis itself.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			msg := "redistest: redis-server not installed; scripts/install-test-tools.sh installs it (Debian's redis-server)"
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				tb.Fatalf("%s [CI: a missing test dependency is a failure]", msg)
			}
			tb.Skip(msg)
		}
		bin = p
	}
	for attempt := 1; ; attempt++ {
		srv, err := start(tb, bin, 0)
		if err == nil {
			return srv
		}
		if attempt == 3 {
			tb.Fatalf("redistest: %v", err)
		}
	}
}

// start starts redis-server on port (0: a free one).
func start(tb testing.TB, bin string, port int) (*Server, error) {
	if port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	dir := tb.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	// Ready when it says so; a port taken since is a failed start.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var log []string
		for sc.Scan() {
			line := sc.Text()
			log = append(log, line)
			if strings.Contains(line, "Ready to accept connections") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", strings.Join(log, "\n"))
	}()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			return nil, err
		}
	case <-time.After(30 * time.Second):
		stop()
		return nil, fmt.Errorf("redis-server not ready after 30 s")
	}
	tb.Cleanup(stop)
	return &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), bin: bin, port: port, stop: stop}, nil
}
