package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// TestServeOpenMode: PRESIGN_AUTH=none grants what the tutorials did and
// no more, against both real stores: anyone gets GET and PUT URLs and the
// Chalice POST form, and they work; DELETE and HEAD (tutorial route),
// delete, head and metadata (JSON API) are refused with 403 and a message
// that says what open mode allows, so no object can be deleted (before,
// anonymous callers got DELETE URLs and deleted objects on both stores).
func TestServeOpenMode(t *testing.T) {
	for _, store := range []string{"versitygw", "minio"} {
		t.Run(store, func(t *testing.T) {
			srv := s3test.Start(t, store)
			env := serveEnv(srv)
			delete(env, "PRESIGN_API_KEYS")
			env["PRESIGN_AUTH"] = "none"
			c, out, _ := testCLI(env)
			api, stop := start(t, c, "serve")
			defer func() {
				if err := stop(); err != nil {
					t.Error(err)
				}
				if !strings.Contains(out.String(), `"level":"WARN","msg":"PRESIGN_AUTH=none`) {
					t.Errorf("no warning logged:\n%s", out)
				}
			}()
			get := func(target string) (int, string) {
				t.Helper()
				resp, err := http.Get(api + target)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			post := func(path, body string) (int, string) {
				t.Helper()
				resp, err := http.Post(api+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			use := func(method, url, body string) int {
				t.Helper()
				req, _ := http.NewRequest(method, url, strings.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}

			// What the tutorials granted works.
			status, putURL := get("/?key=open/hello.txt&method=PUT")
			if status != 200 || use("PUT", putURL, "hello, open mode") != 200 {
				t.Fatalf("PUT URL: %d %s", status, putURL)
			}
			status, getURL := get("/?key=open/hello.txt&method=GET")
			if status != 200 || use("GET", getURL, "") != 200 {
				t.Fatalf("GET URL: %d %s", status, getURL)
			}
			if status, body := post("/get-upload-url", `{"filename":"open/form.txt"}`); status != 200 || !strings.Contains(body, `"policy"`) {
				t.Errorf("the Chalice form: %d %s", status, body)
			}

			// Nothing else is granted.
			for _, tt := range []struct{ route, target, body string }{
				{"tutorial", "/?key=open/hello.txt&method=DELETE", ""},
				{"tutorial", "/?key=open/hello.txt&method=HEAD", ""},
				{"json", "/v1/presign", `{"op":"delete","key":"open/hello.txt"}`},
				{"json", "/v1/presign", `{"op":"head","key":"open/hello.txt"}`},
				{"json", "/v1/presign", `{"op":"put","key":"open/x.txt","metadata":{"a":"b"}}`},
			} {
				var status int
				var body string
				if tt.route == "tutorial" {
					status, body = get(tt.target)
				} else {
					status, body = post(tt.target, tt.body)
				}
				if status != 403 || !strings.Contains(body, "open mode allows only get and put") || strings.Contains(body, "X-Amz-Signature") {
					t.Errorf("%s %s: %d %s; want 403 saying what open mode allows", tt.target, tt.body, status, body)
				}
			}
			if use("GET", getURL, "") != 200 {
				t.Error("the object is gone")
			}
		})
	}
}

// TestServeGracefulShutdown: after SIGTERM (here: the context ends) serve
// drains for its delay: /healthz answers 503 while /livez answers 200,
// requests are still served, each with Connection: close; a second signal
// (cli.hurry) skips the rest of the delay; then the listener closes, and
// a request already in flight still completes.
func TestServeGracefulShutdown(t *testing.T) {
	env := serveEnv(&s3test.Server{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "AK", SecretAccessKey: "SK"})
	env["PRESIGN_SHUTDOWN_DELAY"] = "1h"
	c, _, _ := testCLI(env)
	logs := newLogWatch(t)
	c.stdout = logs
	hurry := make(chan os.Signal, 1)
	c.hurry = hurry
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

	// Draining: the listener still serves for the delay.
	logs.waitMsg(0, 10*time.Second, "draining:", map[string]any{"delay": "1h0m0s"})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	type answer struct {
		Status int
		Body   string
		Close  bool
	}
	ask := func(target, key string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", api+target, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s while draining: %v", target, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := answer{Status: resp.StatusCode, Close: resp.Close}
		if !strings.HasPrefix(target, "/?") {
			a.Body = string(b)
		}
		return a
	}
	want := []answer{
		{Status: 503, Body: "draining: shutting down, send new requests elsewhere", Close: true},
		{Status: 200, Body: "ok", Close: true},
		{Status: 200, Close: true},
	}
	gotAnswers := []answer{ask("/healthz", ""), ask("/livez", ""), ask("/?key=k&method=GET", "serve-test-key-0123456789")}
	if diff := cmp.Diff(want, gotAnswers); diff != "" {
		t.Errorf("while draining: /healthz, /livez, a presign (-want +got):\n%s", diff)
	}

	// A second signal skips the rest of the delay: the listener closes
	// while the request is in flight.
	hurry <- syscall.SIGTERM
	addr := strings.TrimPrefix(api, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepts 10s after the second signal")
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
	logs.waitMsg(0, time.Second, "draining: signalled again", nil)
	if diff := cmp.Diff(drainSteps, stepsLogged(logs.all(), 0)); diff != "" {
		t.Errorf("the steps logged (-want +got):\n%s", diff)
	}
}
