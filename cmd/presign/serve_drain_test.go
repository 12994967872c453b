package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// drainEnv is an env-only configuration that signs locally (the store at
// its endpoint is never called) with the given shutdown settings.
func drainEnv(delay, timeout string) map[string]string {
	env := map[string]string{
		"PRESIGN_ADDR": "127.0.0.1:0", "PRESIGN_S3_ENDPOINT": "http://127.0.0.1:9", "PRESIGN_S3_BUCKET": "bucket",
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": reloadSecret, "PRESIGN_API_KEYS": reloadKey("drain"),
	}
	if delay != "" {
		env["PRESIGN_SHUTDOWN_DELAY"] = delay
	}
	if timeout != "" {
		env["PRESIGN_SHUTDOWN_TIMEOUT"] = timeout
	}
	return env
}

// drainSteps are the messages serve logs while it stops, in order (their
// beginnings).
var drainSteps = []string{"draining:", "shutting down:", "shut down: every request finished"}

// stepsLogged lists which of drainSteps were logged from index from on, in
// their order.
func stepsLogged(lines []logLine, from int) []string {
	var got []string
	next := 0
	for _, l := range lines[from:] {
		if next < len(drainSteps) && strings.HasPrefix(l.Msg, drainSteps[next]) {
			got = append(got, drainSteps[next])
			next++
		}
	}
	return got
}

// TestServeDrainUnderLoad: `presign serve` as a process with a 1s
// shutdown delay, 16 keep-alive clients in a loop, and a readiness prober
// that, once /healthz answers 503, takes the instance out of the "load
// balancer": the clients then open no new connections to it. After
// SIGTERM: /livez answers 200 while /healthz answers 503, requests are
// still served while draining, every response is a 200, no request fails
// once written on an accepted connection, the process exits 0 and logs
// each step.
func TestServeDrainUnderLoad(t *testing.T) {
	bin := buildPresign(t)
	p := startServe(t, bin, drainEnv("1s", ""))

	const workers = 16
	errRemoved := errors.New("the load balancer sends no new connections to this instance")
	var removed atomic.Bool
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if removed.Load() {
				return nil, errRemoved
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	var (
		served, servedDraining, failed, refused atomic.Int64
		mu                                      sync.Mutex
		failures                                []string
		wg                                      sync.WaitGroup
		stopLoad                                = make(chan struct{})
	)
	fail := func(what string) {
		if failed.Add(1) <= 5 {
			mu.Lock()
			failures = append(failures, what)
			mu.Unlock()
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1_000_000; i++ { // bounded; the drain ends it long before
				select {
				case <-stopLoad:
					return
				default:
				}
				req := loadRequest(p.api, "drain", w, i)
				var wrote atomic.Bool
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
				}))
				resp, err := client.Do(req)
				if err != nil {
					if wrote.Load() {
						fail(fmt.Sprintf("%s %s, written: %v", req.Method, req.URL.Path, err))
					} else if !errors.Is(err, errRemoved) {
						refused.Add(1) // not accepted: the client would go elsewhere
					}
					return // this instance is gone for this client
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail(fmt.Sprintf("%s %s, reading the response: %v", req.Method, req.URL.Path, err))
					return
				case resp.StatusCode != 200:
					fail(fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body))
					continue
				}
				served.Add(1)
				if resp.Close { // Connection: close, which serve sends while draining
					servedDraining.Add(1)
				}
			}
		}()
	}
	defer func() {
		close(stopLoad)
		wg.Wait()
	}()

	// The readiness prober: what a load balancer or Kubernetes does.
	type probed struct {
		healthz, livez int
		body           string
		err            error
	}
	probedCh := make(chan probed, 1)
	go func() {
		probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		get := func(path string) (int, string, error) {
			resp, err := probe.Get(p.api + path)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), err
		}
		for range 3000 { // bounded: 30s at most
			status, body, err := get("/healthz")
			if err != nil || status != 200 {
				r := probed{healthz: status, body: body, err: err}
				if err == nil {
					r.livez, _, r.err = get("/livez")
				}
				removed.Store(true)
				probedCh <- r
				return
			}
			time.Sleep(10 * time.Millisecond) // the probe period
		}
		probedCh <- probed{err: errors.New("/healthz still 200 after 3000 probes")}
	}()

	waitServed := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for served.Load() < n && failed.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d responses in 10s, want %d", served.Load(), n)
			}
			time.Sleep(5 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
	waitServed(1000)
	from := p.count()
	servedBefore := served.Load()
	begin := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.waitExit(20 * time.Second)
	took := time.Since(begin)
	wg.Wait() // every client has stopped: the instance is gone

	pr := <-probedCh
	if pr.err != nil || pr.healthz != 503 || !strings.Contains(pr.body, "draining") || pr.livez != 200 {
		t.Errorf("the prober saw /healthz %d %q, then /livez %d (%v); want 503 draining, and 200", pr.healthz, pr.body, pr.livez, pr.err)
	}
	mu.Lock()
	if failed.Load() != 0 {
		t.Errorf("%d requests failed, the first: %s", failed.Load(), strings.Join(failures, "; "))
	}
	mu.Unlock()
	if servedDraining.Load() == 0 {
		t.Error("no request was served while draining")
	}
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if diff := cmp.Diff(drainSteps, stepsLogged(p.all(), from)); diff != "" {
		t.Errorf("the steps logged (-want +got):\n%s", diff)
	}
	t.Logf("%d responses (all 200), %d after SIGTERM of which %d while draining with Connection: close; %d not accepted; exit %d %s after SIGTERM",
		served.Load(), served.Load()-servedBefore, servedDraining.Load(), refused.Load(), code, took.Round(time.Millisecond))
}

// TestServeShutdownTimeout: a request still in flight when the shutdown
// timeout ends is cut off, and serve says so and fails (exit status 1).
func TestServeShutdownTimeout(t *testing.T) {
	c, _, _ := testCLI(drainEnv("", "300ms"))
	logs := newLogWatch(t)
	c.stdout = logs
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	c.wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("key") == "stuck" {
				close(entered)
				<-release
			}
			h.ServeHTTP(w, r)
		})
	}
	api, stop := start(t, c, "serve")
	got := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", api+"/?key=stuck&method=GET", nil)
		req.Header.Set("Authorization", "Bearer "+reloadKey("drain"))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		got <- err
	}()
	<-entered
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "the 300ms timeout cut off 1 request(s) still in flight") {
		t.Errorf("serve: %v, want the request cut off", err)
	}
	if err := <-got; err == nil || strings.HasPrefix(err.Error(), "status") {
		t.Errorf("the stuck request: %v, want its connection closed", err)
	}
	l, _ := logs.waitMsg(0, time.Second, "shut down: the timeout cut requests off", nil)
	if l.Fields["cut_off"] != float64(1) {
		t.Errorf("logged %s", l.Raw)
	}
}
