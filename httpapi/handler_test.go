package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

const testKey = "test-api-key-0123456789"

var testTime = time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)

func testIssuer(t testing.TB) *presign.Issuer {
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{
			Name: "default", Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
			Credentials: sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		}},
		Now:      func() time.Time { return testTime },
		Uploads:  presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "t1", Secret: []byte("httpapi-test-secret-0123456789abcdef")}}},
		NewStore: func(presign.Backend) (presign.Store, error) { return &fakeStore{}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func testHandler(t testing.TB, logs *bytes.Buffer) *Handler {
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	return New(Options{
		Issuer:       testIssuer(t),
		Auth:         APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}},
		CORSOrigins:  []string{"https://app.example.com"},
		Logger:       logger,
		NewRequestID: func() string { return "req-1" },
	})
}

// issued returns the URL the issuer signs for r, to compare with what the
// routes answer.
func issued(t *testing.T, r presign.Request) presign.Grant {
	g, err := testIssuer(t).Issue(context.Background(), presign.Principal{}, r)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type httpCase struct {
	name       string
	method     string
	target     string
	body       string
	header     map[string]string
	noAuth     bool
	wantStatus int
	wantType   string // Content-Type prefix
	wantBody   string // exact body, "" skips
	wantCode   presign.Code
	check      func(t *testing.T, rec *httptest.ResponseRecorder)
}

func run(t *testing.T, h http.Handler, tc httpCase) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
	if !tc.noAuth {
		req.Header.Set("Authorization", "Bearer "+testKey)
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != tc.wantStatus {
		t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
	}
	if tc.wantType != "" && !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) {
		t.Errorf("Content-Type %q, want %s", rec.Header().Get("Content-Type"), tc.wantType)
	}
	if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
		t.Errorf("body %q, want %q", rec.Body.String(), tc.wantBody)
	}
	if tc.wantCode != "" {
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != tc.wantCode || e.Error.Message == "" {
			t.Errorf("error body %s, want code %s with a message", rec.Body, tc.wantCode)
		}
	}
	if tc.check != nil {
		tc.check(t, rec)
	}
	return rec
}

func TestRoutes(t *testing.T) {
	getURL := issued(t, presign.Request{Op: presign.OpGet, Key: "a b+c.txt"}).URL
	putURL := issued(t, presign.Request{Op: presign.OpPut, Key: "a b+c.txt"}).URL
	h := testHandler(t, nil)
	tests := []httpCase{
		{name: "tutorial GET", method: "GET", target: "/?key=a%20b%2Bc.txt&method=GET", wantStatus: 200, wantType: "text/plain", wantBody: getURL},
		{name: "tutorial POST is a presigned PUT", method: "GET", target: "/?key=a%20b%2Bc.txt&method=POST", wantStatus: 200, wantBody: putURL},
		{name: "tutorial PUT", method: "GET", target: "/presign?key=a%20b%2Bc.txt&method=PUT", wantStatus: 200, wantBody: putURL},
		{name: "tutorial lower-case method", method: "GET", target: "/?key=a%20b%2Bc.txt&method=get", wantStatus: 200, wantBody: getURL},
		{name: "tutorial HEAD", method: "GET", target: "/?key=k&method=HEAD", wantStatus: 200, wantBody: issued(t, presign.Request{Op: presign.OpHead, Key: "k"}).URL},
		{name: "tutorial DELETE", method: "GET", target: "/?key=k&method=DELETE", wantStatus: 200, wantBody: issued(t, presign.Request{Op: presign.OpDelete, Key: "k"}).URL},
		{name: "tutorial missing key", method: "GET", target: "/?method=GET", wantStatus: 400, wantType: "text/plain", wantBody: "Request is missing 'key' query parameter"},
		{name: "tutorial missing method", method: "GET", target: "/?key=k", wantStatus: 400, wantBody: "Request is missing 'method' query parameter"},
		{name: "tutorial invalid method", method: "GET", target: "/?key=k&method=PATCH", wantStatus: 400, wantBody: "The request 'method' query parameter is invalid"},
		{name: "tutorial bad key", method: "GET", target: "/?key=a/../b&method=GET", wantStatus: 400, wantType: "text/plain", wantBody: `key has a ".." path segment`},
		{name: "tutorial invalid UTF-8 key", method: "GET", target: "/?key=%FF&method=GET", wantStatus: 400, wantBody: "key is not valid UTF-8"},
		{name: "tutorial without credential", method: "GET", target: "/?key=k&method=GET", noAuth: true, wantStatus: 401, wantType: "text/plain"},
		{name: "wrong API key", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, noAuth: true,
			header: map[string]string{"Authorization": "Bearer wrong-key-0123456789"}, wantStatus: 401, wantCode: presign.CodeUnauthenticated},
		{name: "basic auth is not bearer", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, noAuth: true,
			header: map[string]string{"Authorization": "Basic " + testKey}, wantStatus: 401, wantCode: presign.CodeUnauthenticated},

		{name: "upload form", method: "POST", target: "/get-upload-url", body: `{"filename":"report.pdf"}`, wantStatus: 200, wantType: "application/json",
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var got struct {
					URL    string            `json:"url"`
					Fields map[string]string `json:"fields"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.URL != "http://127.0.0.1:9000/bucket/" || got.Fields["key"] != "report.pdf" || got.Fields["policy"] == "" || got.Fields["x-amz-signature"] == "" {
					t.Errorf("form %+v", got)
				}
			}},
		{name: "download URL as JSON string", method: "POST", target: "/get-download-url", body: `{"filename":"a b+c.txt"}`, wantStatus: 200,
			wantBody: stdEncode(t, getURL)},
		{name: "download without filename", method: "POST", target: "/get-download-url", body: `{}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},

		{name: "v1 get", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"a b+c.txt"}`, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var got PresignResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.URL != getURL || got.Method != "GET" || got.Bucket != "bucket" || !got.ExpiresAt.Equal(testTime.Add(15*time.Minute)) {
					t.Errorf("response %+v", got)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Error("grant is cacheable")
				}
			}},
		{name: "v1 put signs size and type", method: "POST", target: "/v1/presign",
			body: `{"op":"put","key":"k","content_type":"image/png","content_length":42,"expires_in":60}`, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var got PresignResponse
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				u, _ := url.Parse(got.URL)
				// Uploads are configured: the grant carries the token of its
				// completion and signs the stamp the object will carry.
				if u.Query().Get("X-Amz-SignedHeaders") != "content-length;content-type;host;x-amz-meta-presign-upload" || u.Query().Get("X-Amz-Expires") != "60" ||
					got.Headers["Content-Type"] != "image/png" || got.Headers["Content-Length"] != "42" ||
					len(got.Headers["x-amz-meta-presign-upload"]) != 16 || !strings.HasPrefix(got.Upload, "u1.t1.") {
					t.Errorf("response %+v", got)
				}
			}},
		{name: "v1 download filename", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","filename":"résumé.pdf"}`, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var got PresignResponse
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				u, _ := url.Parse(got.URL)
				if cd := u.Query().Get("response-content-disposition"); cd != `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf` {
					t.Errorf("disposition %q", cd)
				}
			}},
		{name: "v1 unknown field", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","acl":"public-read"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: bodyContains(`unknown field \"acl\"`)},
		{name: "v1 wrong type", method: "POST", target: "/v1/presign", body: `{"op":"put","key":"k","content_length":"42"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: bodyContains(`content_length`)},
		{name: "v1 not an object", method: "POST", target: "/v1/presign", body: `["get"]`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 trailing data", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"} {"op":"delete","key":"k"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 syntax error", method: "POST", target: "/v1/presign", body: `{"op":`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 empty body", method: "POST", target: "/v1/presign", wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 invalid UTF-8", method: "POST", target: "/v1/presign", body: "{\"op\":\"get\",\"key\":\"a\xffb\"}", wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 oversized body", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"` + strings.Repeat("k", MaxBodyBytes) + `"}`, wantStatus: 413, wantCode: presign.CodeTooLarge},
		{name: "v1 body of over 5,000 bytes", method: "POST", target: "/v1/presign", body: `{"op":"get",` + strings.Repeat(" ", 5000) + `"key":"k"}`, wantStatus: 200, wantType: "application/json",
			check: bodyContains(`"key":"k"`)},
		{name: "v1 absurd expiry", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","expires_in":99999999999999}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 zero expiry", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","expires_in":0}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 expiry overflow", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","expires_in":1e400}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 key too long", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"` + strings.Repeat("k", 1025) + `"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 header injection", method: "POST", target: "/v1/presign", body: `{"op":"put","key":"k","content_type":"text/plain\r\nx-amz-acl: public-read"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 unknown op", method: "POST", target: "/v1/presign", body: `{"op":"copy","key":"k"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "v1 other bucket", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","bucket":"other"}`, wantStatus: 403, wantCode: presign.CodePermissionDenied},
		{name: "v1 unknown backend", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k","backend":"r2"}`, wantStatus: 404, wantCode: presign.CodeNotFound},
		{name: "v1 over 5 GiB", method: "POST", target: "/v1/presign", body: `{"op":"put","key":"k","content_length":5368709121}`, wantStatus: 413, wantCode: presign.CodeTooLarge},
		{name: "v1 without credential", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, noAuth: true, wantStatus: 401, wantCode: presign.CodeUnauthenticated},
		{name: "v1 GET not allowed", method: "GET", target: "/v1/presign", wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("Allow") != "POST" {
					t.Errorf("Allow %q", rec.Header().Get("Allow"))
				}
			}},
		{name: "unknown route", method: "GET", target: "/nope", wantStatus: 404, wantCode: presign.CodeNotFound},
		{name: "healthz without credential", method: "GET", target: "/healthz", noAuth: true, wantStatus: 200, wantBody: "ok"},
		{name: "openapi without credential", method: "GET", target: "/openapi.json", noAuth: true, wantStatus: 200, wantType: "application/json"},

		{name: "CORS preflight from an allowed origin", method: "OPTIONS", target: "/v1/presign", noAuth: true,
			header:     map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
			wantStatus: 204, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				h := rec.Header()
				if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
					h.Get("Vary") != "Origin" || h.Get("Access-Control-Allow-Credentials") != "" {
					t.Errorf("preflight headers %v", h)
				}
			}},
		{name: "CORS from another origin gets no grant", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`,
			header: map[string]string{"Origin": "https://evil.example"}, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
					t.Errorf("headers %v", rec.Header())
				}
			}},
		{name: "CORS actual request", method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`,
			header: map[string]string{"Origin": "https://app.example.com"}, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
					t.Errorf("headers %v", rec.Header())
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, h, tc) })
	}
}

func bodyContains(s string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		if !strings.Contains(rec.Body.String(), s) {
			t.Errorf("body %s does not contain %s", rec.Body, s)
		}
	}
}

type failingIssuer struct{ *presign.Issuer } // Issue fails; nothing else is called

func (failingIssuer) Issue(context.Context, presign.Principal, presign.Request) (presign.Grant, error) {
	return presign.Grant{}, errors.New("dial tcp 10.0.0.1:443: secret-internal-detail")
}

type panickingIssuer struct{ *presign.Issuer }

func (panickingIssuer) Issue(context.Context, presign.Principal, presign.Request) (presign.Grant, error) {
	panic("boom")
}

func TestInternalErrorsStayInternal(t *testing.T) {
	for _, iss := range []Issuer{failingIssuer{}, panickingIssuer{}} {
		var logs bytes.Buffer
		h := New(Options{Issuer: iss, Auth: Open{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), NewRequestID: func() string { return "req-9" }})
		rec := run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"get","key":"k"}`, wantStatus: 500, wantCode: presign.CodeInternal})
		if strings.Contains(rec.Body.String(), "secret-internal-detail") || strings.Contains(rec.Body.String(), "boom") || !strings.Contains(rec.Body.String(), "req-9") {
			t.Errorf("500 body %s", rec.Body)
		}
		if !strings.Contains(logs.String(), "req-9") {
			t.Errorf("cause not logged with the request ID: %s", logs.String())
		}
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	h := testHandler(t, &logs)
	run(t, h, httpCase{method: "GET", target: "/?key=k&method=GET", wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"put","key":"k"}`, wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{}`, noAuth: true,
		header: map[string]string{"Authorization": "Bearer wrong-key-0123456789"}, wantStatus: 401})
	for _, secret := range []string{testKey, "wrong-key-0123456789", "wJalrXUtnFEMI", "X-Amz-Signature", "X-Amz-Credential"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"principal":"web"`) {
		t.Errorf("logs do not name the principal:\n%s", logs.String())
	}
}

func TestStatusTableCoversEveryCode(t *testing.T) {
	for _, c := range presign.Codes {
		if _, ok := statusOf[c]; !ok {
			t.Errorf("code %s has no status", c)
		}
	}
	if len(statusOf) != len(presign.Codes) {
		t.Errorf("status table has %d entries for %d codes", len(statusOf), len(presign.Codes))
	}
}

// FuzzQueryGet2: queryGet2 answers what url.ParseQuery and Values.Get do,
// for any query and names.
func FuzzQueryGet2(f *testing.F) {
	for _, q := range []string{
		"key=photos/2026/cat.jpg&method=GET", "method=put&key=a+b%20c", "key=&key=x&method=GET", "key;x=1&key=2&method=GET", "key=a;b&key=c&method=GET",
		"k%65y=1&method=%zz&method=POST", "&&key=1&&", "key", "=GET&key==x", "method=GET&" + strings.Repeat("a&", 70) + "key=late",
		"key=%E2%82%AC&method=%47ET", "key=a%2", "",
	} {
		f.Add(q, "key", "method")
	}
	f.Add("a=1&b=2&a=3", "a", "a")
	f.Add("+=x& =y", " ", "")
	f.Fuzz(func(t *testing.T, raw, name1, name2 string) {
		q, _ := url.ParseQuery(raw)
		want := [2]string{q.Get(name1), q.Get(name2)}
		v1, v2 := queryGet2(raw, name1, name2)
		if got := [2]string{v1, v2}; got != want {
			t.Errorf("queryGet2(%q, %q, %q) = %q, want %q", raw, name1, name2, got, want)
		}
	})
}
