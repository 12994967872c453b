package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reloadSecret is the signing secret the reload tests' configurations
// reference as ${env:TEST_SECRET_ACCESS_KEY}.
const reloadSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// reloadKey is the API key of the name.
func reloadKey(name string) string { return "reload-test-" + name + "-0123456789abcdef" }

// reloadConfig is a configuration file whose API keys are names, each
// with a rule that lets it get and put anything. Signing is local: the
// store at its endpoint is never called. invalid adds a problem.
func reloadConfig(listen string, names []string, invalid bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nbackends:\n  - name: main\n    provider: aws\n    endpoint: http://127.0.0.1:9\n    region: us-east-1\n    bucket: bucket\n    path_style: true\n"+
		"    access_key_id: AKIAIOSFODNN7EXAMPLE\n    secret_access_key: ${env:TEST_SECRET_ACCESS_KEY}\nauth:\n  api_keys:\n", listen)
	for _, n := range names {
		sum := sha256.Sum256([]byte(reloadKey(n)))
		fmt.Fprintf(&b, "    - name: %s\n      sha256: %s\n", n, hex.EncodeToString(sum[:]))
	}
	b.WriteString("rules:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: rule-%s\n    who: {api_keys: [%s]}\n    ops: [get, put]\n    keys: [\"**\"]\n", n, n)
	}
	if invalid {
		b.WriteString("  - name: broken\n    who: {authenticated: true}\n    ops: [fly]\n    keys: [\"**\"]\n")
	}
	return b.String()
}

// isReloadOutcome matches the line a reload ends with.
func isReloadOutcome(l logLine) bool {
	return l.Msg == "config reloaded" || strings.HasPrefix(l.Msg, "config reload refused")
}

// writeFile replaces path's content in one step (rename), as an editor or
// a ConfigMap update does, so a reload never reads half a file.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// presignStatus is the status of GET /?key=...&method=GET with key (or
// without authentication when key is "").
func presignStatus(t *testing.T, client *http.Client, api, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", api+"/?key=reload/check.txt&method=GET", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeReload drives serve's reload trigger in-process: each step
// rewrites the file and reloads; a valid file is served right after its
// "config reloaded" line (keys added work, keys removed stop working), an
// invalid one is refused with its problem logged and the configuration
// before it keeps serving, a changed listen address is warned about, and
// every replaced configuration is released.
func TestServeReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "presign.yaml")
	writeFile(t, path, reloadConfig("127.0.0.1:0", []string{"alice", "bob"}, false))
	c, _, _ := testCLI(map[string]string{"TEST_SECRET_ACCESS_KEY": reloadSecret})
	logs := newLogWatch(t)
	c.stdout = logs
	reload := make(chan os.Signal, 1)
	c.reload = reload
	api, stop := start(t, c, "serve", "--config", path)
	defer func() {
		if t.Failed() {
			logs.dump()
		}
	}()
	keys := []string{"alice", "bob", "carol"}
	statuses := func() map[string]int {
		got := map[string]int{}
		for _, k := range keys {
			got[k] = presignStatus(t, http.DefaultClient, api, reloadKey(k))
		}
		return got
	}
	if diff := cmp.Diff(map[string]int{"alice": 200, "bob": 200, "carol": 401}, statuses()); diff != "" {
		t.Fatalf("before any reload (-want +got):\n%s", diff)
	}
	gen := 1
	for _, step := range []struct {
		name    string
		file    string
		wantMsg string // the line the reload ends with
		want    map[string]int
	}{
		{name: "add carol", file: reloadConfig("127.0.0.1:0", []string{"alice", "bob", "carol"}, false),
			wantMsg: "config reloaded", want: map[string]int{"alice": 200, "bob": 200, "carol": 200}},
		{name: "invalid", file: reloadConfig("127.0.0.1:0", []string{"alice"}, true),
			wantMsg: "config reload refused", want: map[string]int{"alice": 200, "bob": 200, "carol": 200}},
		{name: "missing file", file: "",
			wantMsg: "config reload refused", want: map[string]int{"alice": 200, "bob": 200, "carol": 200}},
		{name: "remove bob", file: reloadConfig("127.0.0.1:0", []string{"alice", "carol"}, false),
			wantMsg: "config reloaded", want: map[string]int{"alice": 200, "bob": 401, "carol": 200}},
		{name: "listen address changed", file: reloadConfig("127.0.0.1:1", []string{"alice"}, false),
			wantMsg: "config reloaded", want: map[string]int{"alice": 200, "bob": 401, "carol": 401}},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.file == "" {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, path, step.file)
			}
			from := logs.count()
			reload <- syscall.SIGHUP
			l, _ := logs.wait(from, 10*time.Second, isReloadOutcome)
			if !strings.HasPrefix(l.Msg, step.wantMsg) {
				t.Fatalf("logged %q, want %q", l.Msg, step.wantMsg)
			}
			if step.wantMsg == "config reloaded" {
				gen++
				if l.Fields["generation"] != float64(gen) {
					t.Errorf("reloaded generation %v, want %d", l.Fields["generation"], gen)
				}
				logs.waitMsg(0, 10*time.Second, "configuration released", map[string]any{"generation": float64(gen - 1)})
			} else {
				problems := fmt.Sprint(l.Fields["problems"])
				if !strings.Contains(problems, "presign.yaml") || strings.Contains(problems, reloadSecret) {
					t.Errorf("problems %s: want the file's, without secrets", problems)
				}
			}
			if diff := cmp.Diff(step.want, statuses()); diff != "" {
				t.Errorf("after the reload (-want +got):\n%s", diff)
			}
		})
	}
	logs.waitMsg(0, time.Second, "config reload: the listen address cannot change", map[string]any{"new_addr": "127.0.0.1:1"})
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	logs.waitMsg(0, 10*time.Second, "configuration released", map[string]any{"generation": float64(gen)})
	if strings.Contains(fmt.Sprint(logs.all()), reloadSecret) {
		t.Error("the logs hold the secret")
	}
}

// TestServeReloadEnvironment: with no configuration file, a reload reads
// the environment again through the same loader and says that this
// changes nothing.
func TestServeReloadEnvironment(t *testing.T) {
	env := map[string]string{"PRESIGN_ADDR": "127.0.0.1:0", "PRESIGN_S3_ENDPOINT": "http://127.0.0.1:9", "PRESIGN_S3_BUCKET": "bucket",
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": reloadSecret, "PRESIGN_API_KEYS": reloadKey("env")}
	c, _, _ := testCLI(env)
	logs := newLogWatch(t)
	c.stdout = logs
	reload := make(chan os.Signal, 1)
	c.reload = reload
	api, stop := start(t, c, "serve")
	reload <- syscall.SIGHUP
	l, _ := logs.waitMsg(0, 10*time.Second, "config reloaded", nil)
	if note, _ := l.Fields["note"].(string); l.Fields["config"] != "environment" || !strings.Contains(note, "environment does not change") {
		t.Errorf("reload line %s: want the environment, and a note that it does not change", l.Raw)
	}
	if got := presignStatus(t, http.DefaultClient, api, reloadKey("env")); got != 200 {
		t.Errorf("after the reload: %d", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeReloadUnderLoad: `presign serve` as a process, 16 clients with
// keep-alive hammering the tutorial route and POST /v1/presign, while the
// test rewrites the configuration file and sends SIGHUP again and again
// (once with an invalid file): no request fails, a key added works from
// its "config reloaded" line on, a key removed stops working, and the
// process's goroutines do not grow with reloads.
func TestServeReloadUnderLoad(t *testing.T) {
	bin := buildPresign(t)
	path := filepath.Join(t.TempDir(), "presign.yaml")
	writeFile(t, path, reloadConfig("127.0.0.1:0", []string{"load", "bob"}, false))
	p := startServe(t, bin, map[string]string{"TEST_SECRET_ACCESS_KEY": reloadSecret}, "--config", path)

	const workers = 16
	transport := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers + 4}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var (
		served, failed atomic.Int64
		mu             sync.Mutex
		failures       []string
		stopLoad       = make(chan struct{})
		wg             sync.WaitGroup
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
			for i := 0; i < 1_000_000; i++ { // bounded; stopLoad ends it long before
				select {
				case <-stopLoad:
					return
				default:
				}
				req := loadRequest(p.api, "load", w, i)
				resp, err := client.Do(req)
				if err != nil {
					fail(fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err))
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fail(fmt.Sprintf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body))
					continue
				}
				served.Add(1)
			}
		}()
	}
	stopped := false
	stopWorkers := func() {
		if !stopped {
			stopped = true
			close(stopLoad)
			wg.Wait()
		}
	}
	defer stopWorkers()
	// waitLoad waits until the clients have had n more responses: every
	// reload happens in the middle of the load.
	waitLoad := func(n int64) {
		t.Helper()
		target, deadline := served.Load()+n, time.Now().Add(10*time.Second)
		for served.Load() < target && failed.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the clients got %d responses in 10s, want %d", served.Load(), target)
			}
			time.Sleep(5 * time.Millisecond) // poll interval, bounded by the deadline
		}
	}
	gen := 1
	reload := func(content, want string) logLine {
		t.Helper()
		writeFile(t, path, content)
		waitLoad(200)
		from := p.count()
		begin := time.Now()
		p.signal(syscall.SIGHUP)
		l, _ := p.wait(from, 10*time.Second, isReloadOutcome)
		if !strings.HasPrefix(l.Msg, want) {
			t.Fatalf("logged %s, want %q", l.Raw, want)
		}
		if want == "config reloaded" {
			gen++
			if l.Fields["generation"] != float64(gen) {
				t.Fatalf("generation %v, want %d", l.Fields["generation"], gen)
			}
			t.Logf("reload %d: %s from SIGHUP to the line", gen, time.Since(begin).Round(time.Microsecond))
		}
		waitLoad(200)
		return l
	}
	probe := &http.Client{Timeout: 10 * time.Second}

	reload(reloadConfig("127.0.0.1:0", []string{"load", "bob", "carol"}, false), "config reloaded")
	if got := presignStatus(t, probe, p.api, reloadKey("carol")); got != 200 {
		t.Errorf("carol, added: %d right after the reload, want 200", got)
	}
	l := reload(reloadConfig("127.0.0.1:0", []string{"load"}, true), "config reload refused")
	if problems := fmt.Sprint(l.Fields["problems"]); !strings.Contains(problems, `"fly" is not an operation`) {
		t.Errorf("refused without the problem: %s", l.Raw)
	}
	if got := presignStatus(t, probe, p.api, reloadKey("carol")); got != 200 {
		t.Errorf("carol after the invalid file: %d, want 200 (the previous configuration)", got)
	}
	reload(reloadConfig("127.0.0.1:0", []string{"load", "carol"}, false), "config reloaded")
	if got := presignStatus(t, probe, p.api, reloadKey("bob")); got != 401 {
		t.Errorf("bob, removed: %d, want 401", got)
	}
	for i := range 5 {
		reload(reloadConfig("127.0.0.1:0", []string{"load", "carol", fmt.Sprintf("extra%d", i)}, false), "config reloaded")
	}
	stopWorkers()
	mu.Lock()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the reloads, the first: %s", failed.Load(), served.Load()+failed.Load(), strings.Join(failures, "; "))
	}
	mu.Unlock()
	t.Logf("%d requests served across %d reloads and a refused one, 0 failed", served.Load(), gen-1)

	// Goroutines: 20 reloads more, with no load, each waited for until its
	// predecessor is released. One leaked goroutine a reload would show 20.
	transport.CloseIdleConnections()
	metrics := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	p.waitMsg(0, 10*time.Second, "configuration released", map[string]any{"generation": float64(gen - 1)})
	before := p.settledGoroutines(metrics)
	const more = 20
	for i := range more {
		writeFile(t, path, reloadConfig("127.0.0.1:0", []string{"load", fmt.Sprintf("more%d", i%2)}, false))
		from := p.count()
		p.signal(syscall.SIGHUP)
		p.waitMsg(from, 10*time.Second, "config reloaded", map[string]any{"generation": float64(gen + 1)})
		gen++
		p.waitMsg(from, 10*time.Second, "configuration released", map[string]any{"generation": float64(gen - 1)})
	}
	after := p.settledGoroutines(metrics)
	t.Logf("goroutines: %d before %d reloads, %d after", before, more, after)
	if after > before+3 {
		t.Errorf("goroutines grew from %d to %d over %d reloads", before, after, more)
	}
	p.signal(syscall.SIGTERM)
	if code := p.waitExit(20 * time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
}

// TestServeReloadKeepsRateLimits: the counts of a rate limit held in
// memory outlive a reload (serve passes the same stores to every service
// it builds, as the README says): a caller at its limit is still at it
// after a reload, and a reload is no way around the limit.
func TestServeReloadKeepsRateLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "presign.yaml")
	writeFile(t, path, reloadConfig("127.0.0.1:0", []string{"alice"}, false)+"limits:\n  rate: 1/h\n  burst: 1\n  store: memory\n")
	c, _, _ := testCLI(map[string]string{"TEST_SECRET_ACCESS_KEY": reloadSecret})
	logs := newLogWatch(t)
	c.stdout = logs
	reload := make(chan os.Signal, 1)
	c.reload = reload
	api, stop := start(t, c, "serve", "--config", path)
	twice := func() []int {
		return []int{presignStatus(t, http.DefaultClient, api, reloadKey("alice")), presignStatus(t, http.DefaultClient, api, reloadKey("alice"))}
	}
	if diff := cmp.Diff([]int{200, 429}, twice()); diff != "" {
		t.Fatalf("before the reload (-want +got):\n%s", diff)
	}
	reload <- syscall.SIGHUP
	logs.waitMsg(0, 10*time.Second, "config reloaded", nil)
	if diff := cmp.Diff([]int{429, 429}, twice()); diff != "" {
		t.Errorf("after the reload (-want +got):\n%s", diff)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// loadRequest is request i of load worker w, as the load of the reload
// and drain tests sends them: alternately a tutorial GET and a POST
// /v1/presign for a put, by the API key named name (reloadKey), under the
// key prefix name.
func loadRequest(api, name string, w, i int) *http.Request {
	var req *http.Request
	if (w+i)%2 == 0 {
		req, _ = http.NewRequest("GET", fmt.Sprintf("%s/?key=%s/%d-%d.txt&method=GET", api, name, w, i), nil)
	} else {
		req, _ = http.NewRequest("POST", api+"/v1/presign", strings.NewReader(fmt.Sprintf(`{"op":"put","key":"%s/%d-%d.txt"}`, name, w, i)))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+reloadKey(name))
	return req
}
