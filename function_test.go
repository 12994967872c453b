// The root package's tests are package presignfn, never presignfn_test: the
// Go buildpack parses the root directory with its _test.go files and fails
// when it holds more than one package (internal/gcfbuild checks this).
package presignfn

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"presign.dev/internal/config/configtest"
	"presign.dev/internal/conformance"
)

// mapLookup reads the environment from env.
func mapLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// useFunction makes Presign serve h for the rest of the test. Tests that
// call it must not be parallel: it replaces a package variable.
func useFunction(t *testing.T, h http.Handler) {
	t.Helper()
	old := function
	function = h
	t.Cleanup(func() { function = old })
}

// TestPresignConformance: the shared HTTP table against the function itself,
// Presign behind net/http.
func TestPresignConformance(t *testing.T) {
	logs := &conformance.Buffer{}
	useFunction(t, newLazyHandler(mapLookup(conformance.Env), logs))
	srv := httptest.NewServer(http.HandlerFunc(Presign))
	defer srv.Close()
	conformance.Run(t, srv.URL, srv.Client().Do)
	if s := logs.String(); strings.Contains(s, conformance.Env["AWS_SECRET_ACCESS_KEY"]) || strings.Contains(s, conformance.APIKey) {
		t.Errorf("a secret reached the logs:\n%s", s)
	}
}

// The environment is read on the first request, once, however many requests
// arrive together; creating the handler reads nothing.
func TestBuiltOnceLazily(t *testing.T) {
	t.Parallel()
	var reads atomic.Int64
	lookup := mapLookup(conformance.Env)
	l := newLazyHandler(func(k string) (string, bool) {
		if k == "PRESIGN_S3_BUCKET" {
			reads.Add(1)
		}
		return lookup(k)
	}, io.Discard)
	if n := reads.Load(); n != 0 {
		t.Fatalf("the environment was read %d times before the first request", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			l.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != 200 {
				t.Errorf("healthz %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("PRESIGN_S3_BUCKET was read %d times, want once", n)
	}
}

// An invalid configuration is not a crash: every request gets 503
// unavailable in httpapi's error shape, and the log lists each problem by
// variable, without secrets.
func TestInvalidConfigurationIsUnavailable(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI-never-log-me"
	cases := []struct {
		name     string
		env      map[string]string
		problems []string // each must appear in the log
	}{
		{"missing bucket and bad path style", map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
			"PRESIGN_API_KEYS": "some-api-key-0123456789", "PRESIGN_S3_PATH_STYLE": "sideways",
		}, []string{"PRESIGN_S3_BUCKET", "PRESIGN_S3_PATH_STYLE"}},
		{"no authentication", map[string]string{
			"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
		}, []string{"PRESIGN_API_KEYS", "PRESIGN_AUTH=none"}},
		{"short API key", map[string]string{
			"PRESIGN_S3_BUCKET": "bucket", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret,
			"PRESIGN_API_KEYS": "short-" + secret[:4],
		}, []string{"PRESIGN_API_KEYS (entry 1)"}},
		{"unreadable config file", map[string]string{
			"PRESIGN_CONFIG": "/nonexistent/presign.yaml", "AWS_SECRET_ACCESS_KEY": secret,
		}, []string{"PRESIGN_CONFIG: /nonexistent/presign.yaml"}},
		{"empty environment", map[string]string{}, []string{"PRESIGN_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logs := &conformance.Buffer{}
			l := newLazyHandler(mapLookup(c.env), logs)
			for _, target := range []string{"/healthz", "/v1/presign", "/?key=k&method=GET"} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", target, strings.NewReader(`{"op":"get","key":"k"}`))
				req.Header.Set("Authorization", "Bearer some-api-key-0123456789")
				l.ServeHTTP(rec, req)
				if rec.Code != http.StatusServiceUnavailable {
					t.Fatalf("%s: status %d, want 503; body %s", target, rec.Code, rec.Body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				dec := json.NewDecoder(rec.Body)
				dec.DisallowUnknownFields()
				if err := dec.Decode(&e); err != nil || e.Error.Code != "unavailable" || e.Error.Message == "" {
					t.Errorf("body: %v %+v", err, e)
				}
				for _, p := range c.problems {
					if strings.Contains(e.Error.Message, p) {
						t.Errorf("the client was told the problem %q: %s", p, e.Error.Message)
					}
				}
			}
			s := logs.String()
			for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "PRESIGN_API_KEYS"} {
				if v := c.env[name]; v != "" && strings.Contains(s, v) {
					t.Errorf("the log holds %s:\n%s", name, s)
				}
			}
			var first struct {
				Severity string   `json:"severity"`
				Message  string   `json:"message"`
				Problems []string `json:"problems"`
			}
			line, _, _ := strings.Cut(s, "\n")
			if err := json.Unmarshal([]byte(line), &first); err != nil || first.Severity != "ERROR" || len(first.Problems) == 0 {
				t.Fatalf("first log line %q: %v", line, err)
			}
			all := strings.Join(first.Problems, "\n")
			for _, p := range c.problems {
				if !strings.Contains(all, p) {
					t.Errorf("the log does not name %q:\n%s", p, all)
				}
			}
			if n := strings.Count(s, `"invalid configuration`); n != 1 {
				t.Errorf("the problems were logged %d times, want once:\n%s", n, s)
			}
		})
	}
}

// The function logs in Cloud Logging's structured format: severity and
// message, WARNING for slog's WARN.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	env := maps.Clone(conformance.Env)
	env["PRESIGN_LOG_LEVEL"] = "info"
	env["PRESIGN_CORS_ORIGINS"] = ""
	env["PRESIGN_API_KEYS"] = ""
	env["PRESIGN_AUTH"] = "none"
	logs := &conformance.Buffer{}
	l := newLazyHandler(mapLookup(env), logs)
	rec := httptest.NewRecorder()
	l.ServeHTTP(rec, httptest.NewRequest("GET", "/?key=k&method=GET", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var sawWarning, sawReady bool
	for line := range strings.Lines(logs.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if _, ok := m["level"]; ok {
			t.Errorf("line has level, not severity: %s", line)
		}
		switch m["message"] {
		case "PRESIGN_AUTH=none: anyone who can reach this service gets presigned GET and PUT URLs":
			sawWarning = m["severity"] == "WARNING"
		case "presign function ready":
			sawReady = m["severity"] == "INFO"
		}
	}
	if !sawWarning || !sawReady {
		t.Errorf("warning %v, ready %v in\n%s", sawWarning, sawReady, logs)
	}
}

// TestFunctionAgreesWithConfigCheck: the Cloud Function serves exactly the
// configurations that `presign config check` accepts (config's test
// cases), and answers 503 for the rest, the Lambda-only platform identity
// included.
func TestFunctionAgreesWithConfigCheck(t *testing.T) {
	cases, err := configtest.Cases("internal/config/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cases {
		if cs.File != "" {
			cs.Env["PRESIGN_CONFIG"] = cs.File
		}
		l := newLazyHandler(cs.Lookup, io.Discard)
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		want := http.StatusOK
		if cs.Group == "problems" || cs.Env["PRESIGN_PLATFORM_AUTH"] != "" {
			want = http.StatusServiceUnavailable
		}
		if rec.Code != want {
			t.Errorf("%s/%s: /healthz %d, want %d", cs.Group, cs.Name, rec.Code, want)
		}
	}
}
