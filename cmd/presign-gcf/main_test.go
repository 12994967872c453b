package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"presign.dev/internal/conformance"
	"presign.dev/internal/s3test"
)

const (
	readyTimeout = 30 * time.Second // start → first 200 from /healthz
	stopTimeout  = 5 * time.Second  // SIGTERM → exit, then SIGKILL
	startTries   = 3                // a free port may be taken meanwhile
)

// runnerBin is the presign-gcf binary TestMain builds.
var runnerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "presign-gcf-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runnerBin = filepath.Join(dir, "presign-gcf")
	build := exec.Command("go", "build", "-o", runnerBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building presign-gcf:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestConformance: the shared HTTP table against the function behind the
// Functions Framework, in its own process, as Cloud Functions runs it.
func TestConformance(t *testing.T) {
	t.Parallel()
	base := startRunner(t, conformance.Env)
	conformance.Run(t, base, http.DefaultClient.Do)
}

// TestURLsWorkAgainstS3: a PUT URL that the function hands out uploads to a
// real S3 server, and its GET URL downloads the same bytes.
func TestURLsWorkAgainstS3(t *testing.T) {
	t.Parallel()
	srv := s3test.StartVersity(t)
	base := startRunner(t, map[string]string{
		"PRESIGN_S3_ENDPOINT":   srv.Endpoint,
		"PRESIGN_S3_REGION":     srv.Region,
		"PRESIGN_S3_BUCKET":     srv.Bucket,
		"AWS_ACCESS_KEY_ID":     srv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": srv.SecretAccessKey,
		"PRESIGN_API_KEYS":      conformance.APIKey,
		"PRESIGN_LOG_LEVEL":     "warn",
	})
	const key = "gcf/hello world.txt"
	data := []byte("uploaded through a URL from the Cloud Function\n")

	put := grant(t, base, map[string]any{"op": "put", "key": key, "content_type": "text/plain", "content_length": len(data)})
	if put.Method != "PUT" || !strings.HasPrefix(put.URL, srv.Endpoint+"/"+srv.Bucket+"/") {
		t.Fatalf("grant %+v", put)
	}
	req, err := http.NewRequest(put.Method, put.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range put.Headers {
		if k != "Content-Length" { // net/http sends it from the body's length
			req.Header.Set(k, v)
		}
	}
	if put.Headers["Content-Length"] != strconv.Itoa(len(data)) {
		t.Errorf("signed Content-Length %q", put.Headers["Content-Length"])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT through the presigned URL: %d %s", resp.StatusCode, body)
	}
	if got, ok := srv.GetObject(t, key); !ok || !bytes.Equal(got, data) {
		t.Fatalf("stored object %q (found %v), want %q", got, ok, data)
	}

	get := grant(t, base, map[string]any{"op": "get", "key": key})
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET through the presigned URL: %d %q", resp.StatusCode, body)
	}
}

type grantResponse struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// grant asks the function for a grant through POST /v1/presign.
func grant(t *testing.T, base string, body map[string]any) grantResponse {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/v1/presign", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+conformance.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/presign %s: %d %s", b, resp.StatusCode, out)
	}
	var g grantResponse
	if err := json.Unmarshal(out, &g); err != nil {
		t.Fatalf("grant %s: %v", out, err)
	}
	return g
}

// childEnv is the parent's environment without anything that configures
// presign, the framework or the AWS SDK, plus env.
func childEnv(env map[string]string, port int) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PRESIGN_") || strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "K_") ||
			name == "PORT" || name == "FUNCTION_TARGET" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return append(out, "PORT="+strconv.Itoa(port), "FUNCTION_TARGET=Presign")
}

// startRunner starts presign-gcf on a free 127.0.0.1 port with env and
// returns its base URL once /healthz answers 200. The process is stopped
// (by its PID) when the test ends; its output is shown if the test failed.
func startRunner(t *testing.T, env map[string]string) string {
	t.Helper()
	var lastErr error
	for try := 1; try <= startTries; try++ {
		base, err := launch(t, env)
		if err == nil {
			return base
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
		t.Logf("presign-gcf try %d: %v; retrying on another port", try, err)
	}
	t.Fatalf("starting presign-gcf: %v", lastErr)
	return ""
}

var errExited = errors.New("exited before it was ready")

func launch(t *testing.T, env map[string]string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	out := &conformance.Buffer{}
	cmd := exec.Command(runnerBin)
	cmd.Env = childEnv(env, port)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		select {
		case <-done:
			return
		default:
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-done
		}
	}

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return "", fmt.Errorf("pid %d %w:\n%s", pid, errExited, out)
		default:
		}
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("pid %d not ready after %v:\n%s", pid, readyTimeout, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("presign-gcf pid %d output:\n%s", pid, out)
		}
	})
	return base, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
