package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"presign.dev/httpapi"
)

// testCLI returns a cli with the given environment and captured output.
func testCLI(env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{
		stdout: &out, stderr: &errOut, random: rand.Reader,
		lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}, &out, &errOut
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
		wantOut   string
	}{
		{args: nil, wantUsage: true},
		{args: []string{"bogus"}, wantUsage: true},
		{args: []string{"help"}, wantOut: "presign serve"},
		{args: []string{"version"}, wantOut: "presign dev (commit"},
		{args: []string{"url"}, wantUsage: true},
		{args: []string{"url", "a", "b"}, wantUsage: true},
		{args: []string{"serve", "--nope"}, wantUsage: true},
	} {
		c, out, _ := testCLI(nil)
		err := c.run(context.Background(), tt.args)
		if isUsage := errors.As(err, new(usageError)); isUsage != tt.wantUsage {
			t.Errorf("%v: error %v, usage error %v", tt.args, err, tt.wantUsage)
		}
		if !strings.Contains(out.String(), tt.wantOut) {
			t.Errorf("%v: output %q lacks %q", tt.args, out.String(), tt.wantOut)
		}
	}
	c, _, errOut := testCLI(nil)
	if err := c.run(context.Background(), []string{"url", "--help"}); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "-content-type") {
		t.Errorf("url --help: %v\n%s", err, errOut)
	}
}

var urlEnv = map[string]string{
	"PRESIGN_S3_ENDPOINT": "http://127.0.0.1:9000", "PRESIGN_S3_BUCKET": "bucket",
	"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}

func TestURL(t *testing.T) {
	c, out, _ := testCLI(urlEnv)
	if err := c.run(context.Background(), []string{"url", "photos/cat 1.jpg"}); err != nil {
		t.Fatal(err)
	}
	if u := strings.TrimSpace(out.String()); !strings.HasPrefix(u, "http://127.0.0.1:9000/bucket/photos/cat%201.jpg?X-Amz-Algorithm=") || !strings.Contains(u, "X-Amz-Expires=900&") {
		t.Errorf("url: %s", u)
	}

	c, out, _ = testCLI(urlEnv)
	// Flags after the key, as people type them.
	if err := c.run(context.Background(), []string{"url", "k.png", "-op", "put", "--content-type", "image/png", "--content-length", "42", "-expires", "5m", "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	var g httpapi.PresignResponse
	if err := json.Unmarshal(out.Bytes(), &g); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if g.Method != "PUT" || g.Headers["Content-Type"] != "image/png" || g.Headers["Content-Length"] != "42" || !strings.Contains(g.URL, "X-Amz-Expires=300&") || g.Key != "k.png" {
		t.Errorf("grant %+v", g)
	}

	c, _, _ = testCLI(urlEnv)
	if err := c.run(context.Background(), []string{"url", "../etc/passwd"}); err == nil || !strings.Contains(err.Error(), "path segment") {
		t.Errorf("bad key: %v", err)
	}
	c, _, _ = testCLI(map[string]string{"AWS_SECRET_ACCESS_KEY": "do-not-print-me"})
	err := c.run(context.Background(), []string{"url", "k"})
	if err == nil || !strings.Contains(err.Error(), "PRESIGN_S3_BUCKET") || strings.Contains(err.Error(), "do-not-print-me") {
		t.Errorf("config error: %v", err)
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs c with args in the background and returns the API URL once it
// serves, and a function that stops it and returns run's error.
func start(t *testing.T, c *cli, args ...string) (string, func() error) {
	t.Helper()
	ready := make(chan string, 1)
	c.ready = func(u string) { ready <- u }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.run(ctx, args) }()
	select {
	case u := <-ready:
		stop := func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				t.Fatal("did not stop within 30s")
				return nil
			}
		}
		t.Cleanup(func() { cancel() })
		return u, stop
	case err := <-done:
		cancel()
		t.Fatalf("%v: %v", args, err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("%v: not serving after 60s", args)
	}
	return "", nil
}
