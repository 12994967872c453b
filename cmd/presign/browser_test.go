package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"presign.dev/internal/devstore"
	"presign.dev/internal/e2e"
	"presign.dev/internal/s3test"
)

// browserDir holds the page, its driver and the driver's pinned npm
// dependency (playwright-core, installed by scripts/install-test-tools.sh).
const browserDir = "testdata/browser"

// chromium returns Debian's Chromium (or $CHROMIUM) and node, ready to run
// the driver; without them the test fails under CI=true and is skipped
// elsewhere.
func chromium(t *testing.T) (browser, node string) {
	browser = os.Getenv("CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	missing := ""
	if _, err := os.Stat(browser); err != nil {
		missing = browser
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = "node"
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = "playwright-core (npm ci in " + browserDir + ")"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; scripts/install-test-tools.sh installs it", missing)
		}
		t.Skipf("%s is not installed; scripts/install-test-tools.sh installs it", missing)
	}
	return browser, node
}

type browserStep struct {
	Status   int               `json:"status"`
	Error    string            `json:"error"`
	Code     string            `json:"code"`
	ETag     string            `json:"etag"`
	Key      string            `json:"key"`
	Location string            `json:"location"`
	Body     string            `json:"body"`
	Headers  map[string]string `json:"headers"`
}

type browserResult struct {
	Origin string                 `json:"origin"`
	Steps  map[string]browserStep `json:"steps"`
}

// TestBrowser runs the README's web-app example in a real browser:
// headless Chromium on a page served from its own origin calls `presign
// serve --config examples/webapp.yaml` (PRESIGN_CORS_ORIGINS names that
// origin) with a JWT, and uploads to and downloads from the embedded store,
// whose bucket CORS rule names the same origin. What the store must refuse
// (an overwrite, a body longer than signed, a form over its size) is
// refused to the browser, and a page from another origin can neither call
// the API nor send a preflighted PUT with a URL it was handed. (A form POST
// or a GET is a simple request, which CORS does not stop: a presigned URL
// is a bearer capability within its signed limits.)
func TestBrowser(t *testing.T) {
	browser, node := chromium(t)
	// Absolute paths: the embedded store changes the working directory.
	dir, err := filepath.Abs(browserDir)
	if err != nil {
		t.Fatal(err)
	}
	webapp, err := filepath.Abs("../../examples/webapp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	servePage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	app, foreign := httptest.NewServer(servePage), httptest.NewServer(servePage)
	defer app.Close()
	defer foreign.Close()

	store := startPageStore(t, "photos", app.URL)

	ti := e2e.NewTokenIssuer(t, "photos-app")
	c, _, _ := testCLI(map[string]string{
		"PRESIGN_ADDR": "127.0.0.1:0", "PRESIGN_CORS_ORIGINS": app.URL,
		"S3_ENDPOINT": store.Endpoint, "S3_BUCKET": store.Bucket,
		"S3_ACCESS_KEY_ID": store.AccessKeyID, "S3_SECRET_ACCESS_KEY": store.SecretAccessKey,
		"JWT_ISSUER": ti.Issuer, "JWT_JWKS_URL": ti.JWKSURL,
	})
	api, stop := start(t, c, "serve", "--config", webapp)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	token := ti.Token(t, "alice", nil)
	const data = "an image, uploaded by Chromium"

	// The grant the foreign page tries to use, obtained the way an attacker
	// with a leaked URL would have it.
	foreignGrant := presignOverHTTP(t, api, token, `{"op":"put","content_type":"image/png","content_length":`+strconv.Itoa(len(data))+`}`)
	pageURL := func(base, mode string, extra url.Values) string {
		v := url.Values{"api": {api}, "token": {token}, "data": {data}, "mode": {mode}}
		for k, vs := range extra {
			v[k] = vs
		}
		return base + "/?" + v.Encode()
	}
	var results []browserResult
	console, _ := runDriver(t, node, browser, dir, 90*time.Second, &results,
		pageURL(app.URL, "app", nil), pageURL(foreign.URL, "foreign", url.Values{"put": {foreignGrant}}))
	if len(results) != 2 {
		t.Fatalf("run.mjs printed %d results, want 2", len(results))
	}
	t.Logf("browser console:\n%s", console)

	s := results[0].Steps
	if results[0].Origin != app.URL {
		t.Errorf("page origin %q, want %q", results[0].Origin, app.URL)
	}
	put := s["put"]
	if put.Status != 200 || put.ETag == "" || !strings.HasPrefix(put.Key, "users/alice/") || !strings.HasSuffix(put.Key, ".png") ||
		put.Headers["If-None-Match"] != "*" {
		t.Errorf("PUT: %+v (want 200 with a readable ETag, a key in users/alice/, If-None-Match signed)", put)
	}
	if got, ok := store.GetObject(t, put.Key); !ok || string(got) != data {
		t.Errorf("object %s: %q %v", put.Key, got, ok)
	}
	if st := s["putAgain"]; st.Status != http.StatusPreconditionFailed {
		t.Errorf("second PUT of the same grant: %+v, want 412 from the store", st)
	}
	if st := s["putLonger"]; st.Status < 400 || st.Status >= 500 {
		t.Errorf("PUT of a longer body than signed: %+v, want a 4xx from the store", st)
	} else if _, ok := store.GetObject(t, st.Key); ok {
		t.Errorf("the longer body landed at %s", st.Key)
	}
	if st := s["get"]; st.Status != 200 || st.Body != data {
		t.Errorf("GET: %+v", st)
	}
	post := s["post"]
	if post.Status != http.StatusCreated || !strings.HasPrefix(post.Key, "users/alice/") || !strings.Contains(post.Body, "<Key>"+post.Key+"</Key>") {
		t.Errorf("POST form: %+v (want 201 naming the key)", post)
	}
	if got, ok := store.GetObject(t, post.Key); !ok || string(got) != data {
		t.Errorf("object %s: %q %v", post.Key, got, ok)
	}
	if st := s["postLonger"]; st.Status < 400 || st.Status >= 500 {
		t.Errorf("POST form over its size: %+v, want a 4xx from the store", st)
	} else if _, ok := store.GetObject(t, st.Key); ok {
		t.Errorf("the oversized form landed at %s", st.Key)
	}
	if st := s["otherUser"]; st.Status != http.StatusForbidden || st.Code != "permission_denied" {
		t.Errorf("another user's file: %+v, want a readable 403 permission_denied", st)
	}

	f := results[1].Steps
	if st := f["api"]; !strings.HasPrefix(st.Error, "TypeError") {
		t.Errorf("API call from %s: %+v, want a fetch refused by CORS", foreign.URL, st)
	}
	if st := f["store"]; !strings.HasPrefix(st.Error, "TypeError") {
		t.Errorf("store PUT from %s: %+v, want a fetch refused by CORS", foreign.URL, st)
	}
	var g struct{ Key string }
	if err := json.Unmarshal([]byte(foreignGrant), &g); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.GetObject(t, g.Key); ok {
		t.Errorf("the foreign page's PUT landed at %s", g.Key)
	}
}

// presignOverHTTP posts body to the API's /v1/presign as token's holder and
// returns the grant's JSON.
func presignOverHTTP(t *testing.T, api, token, body string) string {
	req, err := http.NewRequest("POST", api+"/v1/presign", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("presign %s: %d %s %v", body, resp.StatusCode, buf.String(), err)
	}
	return buf.String()
}

// startPageStore starts the embedded store (stopped with the test) with a
// bucket whose CORS rule admits the page's origin, and returns it as an
// s3test.Server, whose client checks what landed.
func startPageStore(t *testing.T, bucket, origin string) *s3test.Server {
	store := &s3test.Server{Name: "dev", Region: "us-east-1", Bucket: bucket,
		AccessKeyID: "PRESIGNPAGETEST", SecretAccessKey: "page-test-secret-0123456789abcdefghijklm"}
	ds, err := devstore.Start(t.Context(), devstore.Config{
		Addr: freeAddr(t), DataDir: t.TempDir(), Region: store.Region, Bucket: store.Bucket,
		AccessKeyID: store.AccessKeyID, SecretAccessKey: store.SecretAccessKey, CORSOrigins: []string{origin},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	store.Endpoint = ds.Endpoint()
	return store
}

// runDriver runs dir's run.mjs in node with args, Chromium at browser,
// within timeout, and decodes what it prints (JSON) into result. It
// returns what the driver wrote to stderr (the browser's console) and how
// long it took; a driver that fails fails the test.
func runDriver(t *testing.T, node, browser, dir string, timeout time.Duration, result any, args ...string) (string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"run.mjs"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+browser)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, result); err != nil {
		t.Fatalf("run.mjs printed %s (%v)\n%s", out, err, stderr.String())
	}
	return stderr.String(), time.Since(start).Round(time.Millisecond)
}
