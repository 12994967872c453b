//go:build linux

package soak

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"presign.dev/internal/s3test"
	"presign.dev/internal/testdep"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "run TestSoak for this long (scripts/soak.sh sets it; 0 skips the soak)")
	soakWorkers  = flag.Int("soak.workers", 8, "concurrent requests at most")
	soakRate     = flag.Float64("soak.rate", 40, "requests per second at most")
)

// soakConfig is presign's configuration for the soak: one Versity Gateway
// backend, one API key, uploads, the Companion routes, and rules for the
// key under soak/.
const soakConfig = `backends:
  - name: store
    provider: versity
    endpoint: ${env:S3_ENDPOINT}
    region: us-east-1
    bucket: ${env:S3_BUCKET}
    access_key_id: ${env:S3_ACCESS_KEY_ID}
    secret_access_key: ${env:S3_SECRET_ACCESS_KEY}

auth:
  api_keys:
    - {name: soak, sha256: %s}

uploads:
  secrets:
    - {id: s1, secret: "${env:UPLOAD_SECRET}"}

companion: {path: /companion}

log: {level: info, format: json}

rules:
  - name: soak-uploads
    who: {api_keys: [soak]}
    ops: [multipart]
    keys: ["soak/**"]
    max_size: 64MiB
  # Without max_size: the tutorial's PUT declares no length.
  - name: soak
    who: {api_keys: [soak]}
    ops: [get, head, put, delete]
    keys: ["soak/**"]
`

// TestSoak runs `presign serve` (built from this tree) against Versity
// Gateway under Run's traffic for -soak.duration, then stops it with
// SIGTERM, and fails unless every check holds: Run's, no ERROR line in
// the server's log, and exit status 0. It prints the checks as a table,
// the steps' statuses and the samples. Without -soak.duration it is
// skipped: scripts/soak.sh [DURATION] runs it.
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("the soak runs when asked: scripts/soak.sh [DURATION] (go test -run TestSoak ./internal/soak -args -soak.duration=60s)")
	}
	root, err := testdep.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	store := s3test.StartVersity(t)

	dir := t.TempDir()
	bin := filepath.Join(dir, "presign")
	build := exec.Command("go", "build", "-o", bin, "./cmd/presign")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/presign: %v\n%s", err, out)
	}

	apiKey := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(apiKey))
	cfgPath := filepath.Join(dir, "presign.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, soakConfig, hex.EncodeToString(sum[:])), 0o600); err != nil {
		t.Fatal(err)
	}

	srv := startServer(t, bin, cfgPath, []string{
		"S3_ENDPOINT=" + store.Endpoint, "S3_BUCKET=" + store.Bucket,
		"S3_ACCESS_KEY_ID=" + store.AccessKeyID, "S3_SECRET_ACCESS_KEY=" + store.SecretAccessKey,
		"UPLOAD_SECRET=" + rand.Text() + rand.Text(),
	}, filepath.Join(dir, "presign.log"))

	// The run ends early, failing, if the server exits under it.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-srv.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	t.Logf("soak: %v against %s (pid %d), %d workers, at most %.0f requests/s", *soakDuration, srv.url, srv.pid, *soakWorkers, *soakRate)
	rep, err := Run(ctx, Config{
		BaseURL: srv.url, APIKey: apiKey, CompanionPath: "/companion", PID: srv.pid,
		Duration: *soakDuration, Workers: *soakWorkers, Rate: *soakRate, Seed: uint64(time.Now().UnixNano()),
		Progress: func(s Sample) {
			t.Logf("sample %6.1fs: RSS %.1f MiB, %d goroutines, %d fds", s.At.Seconds(), float64(s.RSS)/(1<<20), s.Goroutines, s.FDs)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	exited := srv.done
	select {
	case <-exited:
		t.Errorf("presign serve exited during the soak: %v", srv.waitErr)
	default:
	}
	exit := srv.stop(t)
	checks := append(rep.Checks,
		Zero("ERROR lines in presign's log", srv.errorLines()),
		Check{Name: "exit after SIGTERM", Got: exit, Limit: "status 0", OK: exit == "status 0"})

	t.Logf("soak: %d requests in %v (%.1f/s), %d samples; by step and status:\n%s",
		rep.Requests, rep.Duration.Round(time.Second), float64(rep.Requests)/rep.Duration.Seconds(), len(rep.Samples), rep.Steps())
	for _, e := range rep.Examples {
		t.Logf("soak: %s", e)
	}
	t.Logf("soak: warm-up %v; growth compares the medians of the first and last thirds after it\n%s", Warmup(*soakDuration), Table(checks))
	if !Passed(checks) {
		t.Errorf("soak failed (server log: %s)", srv.logPath)
	}
}

// server is `presign serve` running as a child process.
type server struct {
	url     string
	pid     int
	cmd     *exec.Cmd
	done    chan struct{} // closed once it has exited
	waitErr error
	logPath string

	mu        sync.Mutex
	errorLogs int64
	scanned   chan struct{} // closed when its output has been read to the end
}

// startServer starts bin serve on a free loopback port and waits until
// /healthz answers. The test's cleanup stops it by its PID.
func startServer(t *testing.T, bin, cfgPath string, env []string, logPath string) *server {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir(),
		"PRESIGN_ADDR=127.0.0.1:0"}, env...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its own process group (a terminal's Ctrl-C reaches the test, which
	// stops it), and SIGKILL should the test die without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{pid: cmd.Process.Pid, cmd: cmd, done: make(chan struct{}), logPath: logPath, scanned: make(chan struct{})}
	t.Cleanup(func() { s.stop(t) })

	addr := make(chan string, 1)
	go s.scan(out, logf, addr)
	go func() {
		<-s.scanned // Wait closes the pipe: read it all first
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		t.Fatalf("presign serve exited before it listened: %v (log: %s)", s.waitErr, logPath)
	case <-deadline.C:
		t.Fatalf("presign serve did not log its address within 60s (log: %s)", logPath)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 5 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("presign serve exited before it was ready: %v (log: %s)", s.waitErr, logPath)
		case <-deadline.C:
			t.Fatalf("presign serve was not ready within 60s (log: %s)", logPath)
		case <-tick.C:
		}
	}
}

// scan copies the server's JSON log lines to logf, sends the address of
// its "presign serving" line to addr and counts ERROR lines.
func (s *server) scan(out io.Reader, logf io.Writer, addr chan<- string) {
	defer close(s.scanned)
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		logf.Write(append(line, '\n'))
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Addr  string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if rec.Level == "ERROR" {
			s.mu.Lock()
			s.errorLogs++
			s.mu.Unlock()
		}
		if !sent && rec.Msg == "presign serving" && rec.Addr != "" {
			addr <- rec.Addr
			sent = true
		}
	}
	_, _ = io.Copy(io.Discard, out)
}

func (s *server) errorLines() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errorLogs
}

// stop sends SIGTERM to the server's PID, SIGKILL after 20 s, and returns
// how it ended: "status N", or what killed it. Safe to call again.
func (s *server) stop(t *testing.T) string {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(20 * time.Second)
		defer timer.Stop()
		select {
		case <-s.done:
		case <-timer.C:
			t.Errorf("presign serve (pid %d) ignored SIGTERM for 20s; killing it", s.pid)
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	var exit *exec.ExitError
	switch {
	case s.waitErr == nil:
		return "status 0"
	case errors.As(s.waitErr, &exit) && exit.ExitCode() >= 0:
		return fmt.Sprintf("status %d", exit.ExitCode())
	default:
		return strings.TrimPrefix(s.waitErr.Error(), "exit ")
	}
}
