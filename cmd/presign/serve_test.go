package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
)

func serveEnv(srv *s3test.Server) map[string]string {
	return map[string]string{
		"PRESIGN_ADDR": "127.0.0.1:0", "PRESIGN_S3_ENDPOINT": srv.Endpoint, "PRESIGN_S3_BUCKET": srv.Bucket,
		"AWS_ACCESS_KEY_ID": srv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": srv.SecretAccessKey,
		"PRESIGN_API_KEYS": "serve-test-key-0123456789", "PRESIGN_CORS_ORIGINS": "http://localhost:5173",
	}
}

// TestServe runs the whole integration suite through `presign serve`'s own
// wiring (env config, auth, metrics) in front of a real Versity Gateway.
func TestServe(t *testing.T) {
	srv := s3test.StartVersity(t)
	c, _, _ := testCLI(serveEnv(srv))
	var logs bytes.Buffer
	c.stdout = &logs
	api, stop := start(t, c, "serve")
	e2e.Run(t, e2e.Target{Flavor: "versitygw", API: api, APIKey: "serve-test-key-0123456789", Store: srv})

	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `presign_http_requests_total{route="v1-presign",status="200"}`) {
		t.Errorf("metrics lack the presign requests:\n%.2000s", body)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, secret := range []string{srv.SecretAccessKey, "serve-test-key-0123456789", "X-Amz-Signature"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"presign serving"`) {
		t.Errorf("no start-up line in the logs:\n%.1000s", logs.String())
	}
}

func TestServeRefusesWithoutAuth(t *testing.T) {
	env := serveEnv(&s3test.Server{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "SK"})
	delete(env, "PRESIGN_API_KEYS")
	c, _, _ := testCLI(env)
	err := c.run(t.Context(), []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "PRESIGN_AUTH=none") {
		t.Fatalf("serve without auth: %v", err)
	}
}

func TestServeOpenModeWarns(t *testing.T) {
	env := serveEnv(&s3test.Server{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "SK"})
	delete(env, "PRESIGN_API_KEYS")
	env["PRESIGN_AUTH"] = "none"
	c, out, _ := testCLI(env)
	api, stop := start(t, c, "serve")
	resp, err := http.Get(api + "/?key=k&method=GET")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("open mode: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"level":"WARN","msg":"PRESIGN_AUTH=none`) {
		t.Errorf("no warning logged:\n%s", out)
	}
}

// TestServeGracefulShutdown: after SIGTERM (here: the context ends) the
// listener closes at once, and a request already in flight still completes.
func TestServeGracefulShutdown(t *testing.T) {
	env := serveEnv(&s3test.Server{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "SK"})
	c, _, _ := testCLI(env)
	entered, release := make(chan struct{}), make(chan struct{})
	c.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("key") == "slow" {
				close(entered)
				<-release
			}
			h.ServeHTTP(w, r)
		})
	}
	api, stop := start(t, c, "serve")
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", api+"/?key=slow&method=GET", nil)
		req.Header.Set("Authorization", "Bearer serve-test-key-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The listener closes while the request is in flight.
	addr := strings.TrimPrefix(api, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts 10s after shutdown began")
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
	select {
	case err := <-stopped:
		t.Fatalf("serve returned (%v) before the in-flight request finished", err)
	default:
	}
	close(release)
	if r := <-got; r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: %d, %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
