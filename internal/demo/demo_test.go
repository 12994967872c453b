package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler("http://127.0.0.1:9000")
	wantCSP := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http://127.0.0.1:9000; " +
		"object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	for path, ctype := range map[string]string{
		"/demo/":         "text/html; charset=utf-8",
		"/demo/demo.js":  "text/javascript; charset=utf-8",
		"/demo/demo.css": "text/css; charset=utf-8",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != ctype || res.Header.Get("Cache-Control") != "no-cache" ||
				res.Header.Get("Content-Security-Policy") != wantCSP || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: %d %v", method, path, res.StatusCode, res.Header)
			}
			if (method == "GET") != (len(body) > 0) {
				t.Errorf("%s %s: %d bytes of body", method, path, len(body))
			}
			// Revalidation: the ETag answers 304.
			req := httptest.NewRequest(method, path, nil)
			req.Header.Set("If-None-Match", res.Header.Get("ETag"))
			w = httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if res.Header.Get("ETag") == "" || w.Code != http.StatusNotModified {
				t.Errorf("%s %s with If-None-Match %q: %d, want 304", method, path, res.Header.Get("ETag"), w.Code)
			}
		}
	}
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/demo/index.html", 404, ""},
		{"GET", "/demo/nothing.js", 404, ""},
		{"GET", "/demo/../go.mod", 404, ""},
		{"POST", "/demo/", 405, "GET, HEAD"},
		{"PUT", "/demo/demo.js", 405, "GET, HEAD"},
		{"DELETE", "/demo/demo.css", 405, "GET, HEAD"},
		{"GET", "/demo", 301, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, w.Code, w.Header().Get("Allow"), c.status, c.allow)
		}
		if c.status == 301 && w.Header().Get("Location") != "/demo/" {
			t.Errorf("%s %s: Location %q", c.method, c.path, w.Header().Get("Location"))
		}
	}
}

func TestContentSecurityPolicyOrigin(t *testing.T) {
	for endpoint, want := range map[string]string{
		"http://127.0.0.1:9000":           "'self' http://127.0.0.1:9000",
		"http://127.0.0.1:9000/":          "'self' http://127.0.0.1:9000",
		"https://S3.example.com/a/b?x=1":  "'self' https://s3.example.com",
		"http://[::1]:9000":               "'self' http://[::1]:9000",
		"":                                "'self'",
		"ftp://127.0.0.1":                 "'self'",
		"127.0.0.1:9000":                  "'self'",
		"http://user:pw@127.0.0.1:9000":   "'self'",
		"http://a;script-src *@127.0.0.1": "'self'",
		"http://a%3Bb:9000":               "'self'",
	} {
		csp := contentSecurityPolicy(endpoint)
		if !strings.Contains(csp, "; connect-src "+want+"; ") {
			t.Errorf("%q: %s; want connect-src %s", endpoint, csp, want)
		}
	}
}

// TestPageIsSelfContained: no inline script, style or event handler (the
// policy would block them), and nothing from another origin.
func TestPageIsSelfContained(t *testing.T) {
	for _, name := range []string{"index.html", "demo.js", "demo.css"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, re := range []string{`(?i)\bhttps?://`, `(?i)\b(src|href)\s*=\s*["']?//`, `(?i)url\(\s*["']?//`, `(?i)@import`} {
			if m := regexp.MustCompile(re).FindString(s); m != "" {
				t.Errorf("%s refers to another origin: %s", name, m)
			}
		}
	}
	html, _ := files.ReadFile("index.html")
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(string(html), -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("index.html has an inline script: %s", tag)
		}
	}
	for _, re := range []string{`(?i)\son[a-z]+\s*=`, `(?i)\sstyle\s*=`, `(?i)<style`} {
		if m := regexp.MustCompile(re).FindString(string(html)); m != "" {
			t.Errorf("index.html has an inline event handler or style: %s", m)
		}
	}
}

func TestMount(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Next", "yes")
		w.WriteHeader(http.StatusTeapot)
	})
	h := Mount(next, "http://127.0.0.1:9000")
	for path, wantNext := range map[string]bool{
		"/demo/": false, "/demo/demo.js": false, "/demo": false, "/demo/x": false,
		"/": true, "/v1/presign": true, "/demonstration": true, "//v1/presign": true, "/a/../demo/": true, "/companion/s3/params": true,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1"+path, nil))
		if got := w.Header().Get("X-Next") == "yes"; got != wantNext || got && w.Code != http.StatusTeapot {
			t.Errorf("GET %s: %d, served by the service: %v, want %v", path, w.Code, got, wantNext)
		}
	}
}
