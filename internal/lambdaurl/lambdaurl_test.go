package lambdaurl

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Fixtures in the shapes the platforms send (trimmed to what matters).
const (
	// A Function URL event: cookie header AND cookies array, as real
	// Function URLs send them; stage "$default".
	fnURLEvent = `{
	  "version": "2.0", "routeKey": "$default",
	  "rawPath": "/v1/presign", "rawQueryString": "key=a%20b%2Bc.txt&x=1&x=2&q=a+b",
	  "cookies": ["session=abc", "theme=dark"],
	  "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "cookie": "session=abc; theme=dark",
	              "accept": "text/html, application/json", "x-multi": "v1,v2", "content-type": "application/octet-stream",
	              "x-forwarded-proto": "https"},
	  "queryStringParameters": {"key": "a b+c.txt", "x": "1,2", "q": "a b"},
	  "requestContext": {"accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
	    "domainPrefix": "abc", "requestId": "req-fn-1", "routeKey": "$default", "stage": "$default",
	    "http": {"method": "POST", "path": "/v1/presign", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8"},
	    "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 1795341600000},
	  "body": "/wABAg==", "isBase64Encoded": true}`

	// An HTTP API v2 event on a named stage: rawPath carries "/prod", the
	// Cookie header is removed and only the cookies array remains.
	httpAPIEvent = `{
	  "version": "2.0", "routeKey": "ANY /{proxy+}",
	  "rawPath": "/prod/get-upload-url", "rawQueryString": "",
	  "cookies": ["session=abc", "theme=dark"],
	  "headers": {"host": "api.example.com", "content-type": "application/json", "content-length": "20"},
	  "pathParameters": {"proxy": "get-upload-url"},
	  "requestContext": {"accountId": "123456789012", "apiId": "api1", "domainName": "api.example.com",
	    "requestId": "req-api-1", "routeKey": "ANY /{proxy+}", "stage": "prod",
	    "http": {"method": "POST", "path": "/prod/get-upload-url", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.2", "userAgent": "ua"}},
	  "body": "{\"filename\":\"r.pdf\"}", "isBase64Encoded": false}`
)

func decode(t *testing.T, s string) *Event {
	t.Helper()
	var ev Event
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// edit returns fixture s decoded and changed by f.
func edit(t *testing.T, s string, f func(ev *Event)) *Event {
	ev := decode(t, s)
	f(ev)
	return ev
}

type seen struct {
	Method, Path, EscapedPath, RawQuery, RequestURI, Host, RemoteAddr, Proto string
	Query                                                                    map[string][]string
	Header                                                                   http.Header
	Cookies                                                                  []string
	Body                                                                     []byte
	ContentLength                                                            int64
	RequestID                                                                string
}

func capture(t *testing.T, ev *Event) seen {
	t.Helper()
	r, err := NewRequest(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	id, _ := RequestIDFrom(r.Context())
	return seen{
		Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		RequestURI: r.RequestURI, Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto,
		Query: r.URL.Query(), Header: r.Header, Cookies: cookies, Body: b, ContentLength: r.ContentLength,
		RequestID: id,
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name  string
		ev    *Event
		check func(t *testing.T, s seen)
	}{
		{"function URL", decode(t, fnURLEvent), func(t *testing.T, s seen) {
			want := seen{
				Method: "POST", Path: "/v1/presign", EscapedPath: "/v1/presign",
				RawQuery:   "key=a%20b%2Bc.txt&x=1&x=2&q=a+b",
				RequestURI: "/v1/presign?key=a%20b%2Bc.txt&x=1&x=2&q=a+b",
				Host:       "abc.lambda-url.us-east-1.on.aws", RemoteAddr: "203.0.113.7", Proto: "HTTP/1.1",
				Query: map[string][]string{"key": {"a b+c.txt"}, "x": {"1", "2"}, "q": {"a b"}},
				Header: http.Header{
					"Cookie": {"session=abc; theme=dark"}, "Accept": {"text/html, application/json"},
					"X-Multi": {"v1,v2"}, "Content-Type": {"application/octet-stream"}, "X-Forwarded-Proto": {"https"},
				},
				Cookies: []string{"session=abc", "theme=dark"}, // once each: header and array are the same cookies
				Body:    []byte{0xff, 0, 1, 2}, ContentLength: 4, RequestID: "req-fn-1",
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		}},
		{"HTTP API named stage, cookies array only", decode(t, httpAPIEvent), func(t *testing.T, s seen) {
			want := seen{
				Method: "POST", Path: "/get-upload-url", EscapedPath: "/get-upload-url", RawQuery: "",
				RequestURI: "/get-upload-url",
				Host:       "api.example.com", RemoteAddr: "198.51.100.2", Proto: "HTTP/1.1",
				Query: map[string][]string{},
				Header: http.Header{
					"Content-Type": {"application/json"}, "Content-Length": {"20"},
					"Cookie": {"session=abc; theme=dark"}, // rebuilt from the cookies array
				},
				Cookies: []string{"session=abc", "theme=dark"},
				Body:    []byte(`{"filename":"r.pdf"}`), ContentLength: 20, RequestID: "req-api-1",
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		}},
		{"stage root", edit(t, httpAPIEvent, func(ev *Event) { ev.RawPath = "/prod" }), func(t *testing.T, s seen) {
			if s.Path != "/" || s.RequestURI != "/" {
				t.Errorf("path %q uri %q", s.Path, s.RequestURI)
			}
		}},
		{"stage with query", edit(t, httpAPIEvent, func(ev *Event) { ev.RawPath, ev.RawQueryString = "/prod/", "key=k%2B1&method=GET" }),
			func(t *testing.T, s seen) {
				if s.Path != "/" || s.RequestURI != "/?key=k%2B1&method=GET" || s.Query["key"][0] != "k+1" {
					t.Errorf("%+v", s)
				}
			}},
		{"stage is a whole segment", edit(t, httpAPIEvent, func(ev *Event) { ev.RawPath = "/production/x" }), func(t *testing.T, s seen) {
			if s.Path != "/production/x" {
				t.Errorf("path %q", s.Path)
			}
		}},
		{"$default stage keeps the path", edit(t, fnURLEvent, func(ev *Event) { ev.RawPath = "/prod/x" }), func(t *testing.T, s seen) {
			if s.Path != "/prod/x" {
				t.Errorf("path %q", s.Path)
			}
		}},
		{"escaped path kept", edit(t, fnURLEvent, func(ev *Event) { ev.RawPath = "/a%2Fb%20c" }), func(t *testing.T, s seen) {
			if s.Path != "/a/b c" || s.EscapedPath != "/a%2Fb%20c" || !strings.HasPrefix(s.RequestURI, "/a%2Fb%20c?") {
				t.Errorf("path %q escaped %q uri %q", s.Path, s.EscapedPath, s.RequestURI)
			}
		}},
		{"query with spaces and plus, not re-encoded", edit(t, fnURLEvent, func(ev *Event) {
			ev.RawPath, ev.RawQueryString = "/", "key=a+b%2Bc%20d&empty=&flag"
		}), func(t *testing.T, s seen) {
			if s.RawQuery != "key=a+b%2Bc%20d&empty=&flag" {
				t.Errorf("raw query %q", s.RawQuery)
			}
			want := map[string][]string{"key": {"a b+c d"}, "empty": {""}, "flag": {""}}
			if diff := cmp.Diff(want, s.Query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		}},
		{"empty rawPath", edit(t, fnURLEvent, func(ev *Event) { ev.RawPath, ev.RawQueryString = "", "" }), func(t *testing.T, s seen) {
			if s.Path != "/" || s.RequestURI != "/" {
				t.Errorf("%+v", s)
			}
		}},
		{"HEAD without body", edit(t, fnURLEvent, func(ev *Event) {
			ev.RequestContext.HTTP.Method, ev.Body, ev.IsBase64Encoded = "HEAD", "", false
		}), func(t *testing.T, s seen) {
			if s.Method != "HEAD" || len(s.Body) != 0 || s.ContentLength != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{"plain body", edit(t, fnURLEvent, func(ev *Event) { ev.Body, ev.IsBase64Encoded = "héllo", false }), func(t *testing.T, s seen) {
			if string(s.Body) != "héllo" || s.ContentLength != 6 {
				t.Errorf("%q %d", s.Body, s.ContentLength)
			}
		}},
		{"no host header: domain name", edit(t, fnURLEvent, func(ev *Event) { delete(ev.Headers, "host") }), func(t *testing.T, s seen) {
			if s.Host != "abc.lambda-url.us-east-1.on.aws" || s.Header.Get("Host") != "" {
				t.Errorf("host %q header %v", s.Host, s.Header)
			}
		}},
		{"cookie header alone", edit(t, fnURLEvent, func(ev *Event) { ev.Cookies = nil }), func(t *testing.T, s seen) {
			if diff := cmp.Diff([]string{"session=abc", "theme=dark"}, s.Cookies); diff != "" {
				t.Errorf("cookies (-want +got):\n%s", diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, capture(t, tt.ev)) })
	}
}

func TestNewRequestErrors(t *testing.T) {
	for name, ev := range map[string]*Event{
		"bad base64": edit(t, fnURLEvent, func(ev *Event) { ev.Body = "***" }),
		"no method":  edit(t, fnURLEvent, func(ev *Event) { ev.RequestContext.HTTP.Method = "" }),
	} {
		if _, err := NewRequest(context.Background(), ev); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestResponse(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    Response
	}{
		{"text", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "https://bucket/k?X-Amz-Signature=ab")
		}, Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "https://bucket/k?X-Amz-Signature=ab"}},
		{"json with status", "POST", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			io.WriteString(w, `{"ok":"grüße"}`)
		}, Response{StatusCode: 201, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":"grüße"}`}},
		{"binary is base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		}, Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/png"}, Body: base64.StdEncoding.EncodeToString(png), IsBase64Encoded: true}},
		{"text type with invalid UTF-8 is base64", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte{0xff, 0xfe})
		}, Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "//4=", IsBase64Encoded: true}},
		{"no content type: sniffed", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte{0, 1, 2, 3})
		}, Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"}, Body: "AAECAw==", IsBase64Encoded: true}},
		{"cookies and multi-valued headers", "GET", func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Set-Cookie", "a=1; Path=/; HttpOnly")
			h.Add("Set-Cookie", "b=2, with comma; Secure")
			h.Add("X-Multi", "one")
			h.Add("X-Multi", "two")
			h.Set("Vary", "Origin")
			w.WriteHeader(204)
		}, Response{StatusCode: 204, Headers: map[string]string{"X-Multi": "one, two", "Vary": "Origin"},
			Cookies: []string{"a=1; Path=/; HttpOnly", "b=2, with comma; Secure"}}},
		{"nothing written", "GET", func(w http.ResponseWriter, r *http.Request) {},
			Response{StatusCode: 200, Headers: map[string]string{}}},
		{"HEAD drops the body", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}, Response{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain", "Content-Length": "5"}}},
		{"second WriteHeader ignored", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(400)
			w.WriteHeader(500)
			io.WriteString(w, "bad")
		}, Response{StatusCode: 400, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := edit(t, fnURLEvent, func(ev *Event) { ev.RequestContext.HTTP.Method = tt.method })
			got, err := Handler(tt.handler)(context.Background(), *ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResponseJSON: the wire shape of payload 2.0.
func TestResponseJSON(t *testing.T) {
	resp, err := Serve(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF\xff"))
	}), decode(t, httpAPIEvent))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	const want = `{"statusCode":200,"headers":{"Content-Type":"application/pdf"},"body":"JVBERv8=","isBase64Encoded":true,"cookies":["s=1"]}`
	if string(b) != want {
		t.Errorf("%s\nwant %s", b, want)
	}
}

// TestHandlerSeesContext: the invocation's context reaches the handler.
func TestHandlerSeesContext(t *testing.T) {
	type k struct{}
	ctx := context.WithValue(context.Background(), k{}, "lambda")
	var got any
	Serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Context().Value(k{}) }), decode(t, fnURLEvent))
	if got != "lambda" {
		t.Errorf("context value %v", got)
	}
}

func TestIsText(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/plain; charset=utf-8": true, "text/html": true, "application/json": true, "application/problem+json": true,
		"image/svg+xml": true, "application/xml": true, "application/javascript": true, "application/x-www-form-urlencoded": true,
		"image/png": false, "application/octet-stream": false, "application/pdf": false, "": false, "garbage;;": false,
	} {
		if IsText(ct) != want {
			t.Errorf("IsText(%q) = %v", ct, !want)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
