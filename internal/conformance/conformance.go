// Package conformance is the HTTP test table that every transport of
// presign must pass alike: the handler in-process, the Lambda bootstrap
// behind a Runtime API, the Cloud Function behind functions-framework. A
// transport test starts presign with Env and hands Run a Doer that carries
// requests to it; the same cases must get the same answers.
package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// APIKey is the key Env configures.
const APIKey = "conformance-key-0123456789"

// Env is the configuration every transport under test runs with.
var Env = map[string]string{
	"PRESIGN_S3_ENDPOINT":   "http://127.0.0.1:9000",
	"PRESIGN_S3_BUCKET":     "conformance",
	"AWS_ACCESS_KEY_ID":     "AKIACONFORMANCE",
	"AWS_SECRET_ACCESS_KEY": "conformance-secret-do-not-log",
	"PRESIGN_API_KEYS":      APIKey,
	"PRESIGN_CORS_ORIGINS":  "https://app.example.com",
	"PRESIGN_LOG_LEVEL":     "warn",
}

// Doer sends one request to the transport under test.
type Doer func(*http.Request) (*http.Response, error)

// Case is one request and what its answer must be.
type Case struct {
	Name       string
	Method     string
	Target     string // path and query
	Body       string
	Header     map[string]string
	NoAuth     bool
	WantStatus int
	WantType   string // Content-Type prefix; "" skips
	WantBody   string // exact body; "" skips
	WantCode   string // JSON error code; "" skips
	Check      func(t *testing.T, resp *http.Response, body []byte)
}

const urlPrefix = "http://127.0.0.1:9000/conformance/"

func hasURLPrefix(key string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		if !strings.HasPrefix(string(body), urlPrefix+key+"?X-Amz-Algorithm=AWS4-HMAC-SHA256&") {
			t.Errorf("body %q is not a presigned URL for %s", body, key)
		}
	}
}

func grant(method, key string, headers ...string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		var g struct {
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Fields  map[string]string `json:"fields"`
			Key     string            `json:"key"`
		}
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatalf("not a grant: %s", body)
		}
		if g.Method != method || g.Key != key || !strings.HasPrefix(g.URL, urlPrefix) || g.Fields == nil || g.Headers == nil {
			t.Errorf("grant %+v", g)
		}
		for _, h := range headers {
			if g.Headers[h] == "" {
				t.Errorf("grant lacks header %s: %v", h, g.Headers)
			}
		}
	}
}

// Cases is the table.
var Cases = []Case{
	{Name: "tutorial GET", Method: "GET", Target: "/?key=a%20b%2Bc.txt&method=GET", WantStatus: 200, WantType: "text/plain", Check: hasURLPrefix("a%20b%2Bc.txt")},
	{Name: "tutorial POST is a PUT", Method: "GET", Target: "/presign?key=k&method=POST", WantStatus: 200, Check: func(t *testing.T, r *http.Response, b []byte) {
		hasURLPrefix("k")(t, r, b)
		u, _ := url.Parse(string(b))
		if u == nil || u.Query().Get("X-Amz-SignedHeaders") != "host" {
			t.Errorf("URL %s", b)
		}
	}},
	{Name: "tutorial missing key", Method: "GET", Target: "/?method=GET", WantStatus: 400, WantType: "text/plain", WantBody: "Request is missing 'key' query parameter"},
	{Name: "tutorial missing method", Method: "GET", Target: "/?key=k", WantStatus: 400, WantBody: "Request is missing 'method' query parameter"},
	{Name: "tutorial invalid method", Method: "GET", Target: "/?key=k&method=PATCH", WantStatus: 400, WantBody: "The request 'method' query parameter is invalid"},
	{Name: "tutorial without credential", Method: "GET", Target: "/?key=k&method=GET", NoAuth: true, WantStatus: 401},
	{Name: "upload form", Method: "POST", Target: "/get-upload-url", Body: `{"filename":"r.pdf"}`, WantStatus: 200, WantType: "application/json",
		Check: func(t *testing.T, _ *http.Response, b []byte) {
			var f struct {
				URL    string            `json:"url"`
				Fields map[string]string `json:"fields"`
			}
			if json.Unmarshal(b, &f) != nil || f.URL != urlPrefix || f.Fields["key"] != "r.pdf" || f.Fields["policy"] == "" {
				t.Errorf("form %s", b)
			}
		}},
	{Name: "download URL", Method: "POST", Target: "/get-download-url", Body: `{"filename":"r.pdf"}`, WantStatus: 200,
		Check: func(t *testing.T, _ *http.Response, b []byte) {
			var s string
			if json.Unmarshal(b, &s) != nil || !strings.HasPrefix(s, urlPrefix+"r.pdf?") {
				t.Errorf("body %s", b)
			}
		}},
	{Name: "v1 get", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"k"}`, WantStatus: 200, WantType: "application/json", Check: grant("GET", "k")},
	{Name: "v1 put", Method: "POST", Target: "/v1/presign", Body: `{"op":"put","key":"k","content_type":"image/png","content_length":5}`, WantStatus: 200,
		Check: grant("PUT", "k", "Content-Type", "Content-Length")},
	{Name: "v1 unknown field", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"k","acl":"public-read"}`, WantStatus: 400, WantCode: "invalid_argument"},
	{Name: "v1 wrong type", Method: "POST", Target: "/v1/presign", Body: `{"op":"put","key":"k","content_length":"5"}`, WantStatus: 400, WantCode: "invalid_argument"},
	{Name: "v1 invalid UTF-8", Method: "POST", Target: "/v1/presign", Body: "{\"op\":\"get\",\"key\":\"\xff\"}", WantStatus: 400, WantCode: "invalid_argument"},
	{Name: "v1 oversized body", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"` + strings.Repeat("k", 70000) + `"}`, WantStatus: 413, WantCode: "too_large"},
	{Name: "v1 dot-dot key", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"a/../b"}`, WantStatus: 400, WantCode: "invalid_argument"},
	{Name: "v1 without credential", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"k"}`, NoAuth: true, WantStatus: 401, WantCode: "unauthenticated"},
	{Name: "v1 wrong key", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"k"}`, NoAuth: true,
		Header: map[string]string{"Authorization": "Bearer not-the-key-0123456789"}, WantStatus: 401, WantCode: "unauthenticated"},
	{Name: "v1 wrong method", Method: "GET", Target: "/v1/presign", WantStatus: 400, WantCode: "invalid_argument"},
	{Name: "unknown route", Method: "GET", Target: "/nope", WantStatus: 404, WantCode: "not_found"},
	{Name: "healthz", Method: "GET", Target: "/healthz", NoAuth: true, WantStatus: 200, WantBody: "ok"},
	{Name: "openapi", Method: "GET", Target: "/openapi.json", NoAuth: true, WantStatus: 200, WantType: "application/json"},
	{Name: "CORS preflight", Method: "OPTIONS", Target: "/v1/presign", NoAuth: true,
		Header:     map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
		WantStatus: 204, Check: func(t *testing.T, r *http.Response, _ []byte) {
			if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.Header.Get("Vary") != "Origin" {
				t.Errorf("preflight headers %v", r.Header)
			}
		}},
	{Name: "CORS other origin", Method: "POST", Target: "/v1/presign", Body: `{"op":"get","key":"k"}`, Header: map[string]string{"Origin": "https://evil.example"},
		WantStatus: 200, Check: func(t *testing.T, r *http.Response, _ []byte) {
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("headers %v", r.Header)
			}
		}},
}

// Run runs every case through do; base is prefixed to each target (a
// transport may route by host only, and then base is "http://presign").
func Run(t *testing.T, base string, do Doer) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			var body io.Reader
			if c.Body != "" {
				body = strings.NewReader(c.Body)
			}
			req, err := http.NewRequest(c.Method, base+c.Target, body)
			if err != nil {
				t.Fatal(err)
			}
			if !c.NoAuth {
				req.Header.Set("Authorization", "Bearer "+APIKey)
			}
			for k, v := range c.Header {
				req.Header.Set(k, v)
			}
			resp, err := do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.WantStatus {
				t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, c.WantStatus, b)
			}
			if c.WantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), c.WantType) {
				t.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), c.WantType)
			}
			if c.WantBody != "" && string(b) != c.WantBody {
				t.Errorf("body %q, want %q", b, c.WantBody)
			}
			if c.WantCode != "" {
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if json.Unmarshal(b, &e) != nil || e.Error.Code != c.WantCode || e.Error.Message == "" {
					t.Errorf("error body %s, want code %s", b, c.WantCode)
				}
			}
			if c.Check != nil {
				c.Check(t, resp, b)
			}
		})
	}
}
