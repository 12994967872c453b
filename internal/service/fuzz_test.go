package service

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"presign.dev/internal/config"
)

// The policy under attack: the README's web app, with API keys for two
// users in place of JWTs, and a scratch area without limits for one of them.
const (
	aliceKey = "psk_alice_0123456789abcdef0123456789abcdef"
	bobKey   = "psk_bob_0123456789abcdef0123456789abcdef00"
	maxImage = 10 << 20
	// maxUploadSeconds is upload-images' max_expires.
	maxUploadSeconds = 600
)

func policyYAML() string {
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	return fmt.Sprintf(`
backends:
  - name: photos
    endpoint: http://127.0.0.1:9000
    bucket: photos
    access_key_id: ${env:S3_ACCESS_KEY_ID}
    secret_access_key: ${env:S3_SECRET_ACCESS_KEY}
auth:
  api_keys:
    - {name: alice, sha256: %s}
    - {name: bob, sha256: %s}
rules:
  - name: upload-images
    who: {authenticated: true}
    ops: [put, post]
    generate_key: "users/{sub}/{uuid}{ext}"
    keys: ["users/{sub}/**"]
    max_size: 10MiB
    content_types: [image/png, image/jpeg, image/gif, image/webp]
    max_expires: 10m
    overwrite: false
  - name: own-files
    who: {authenticated: true}
    ops: [get, head, delete]
    keys: ["users/{sub}/**"]
  - name: public-reads
    who: {anonymous: true, authenticated: true}
    ops: [get, head]
    keys: ["public/**"]
  - name: alice-scratch
    who: {api_keys: [alice]}
    ops: [get, head, put, post, delete]
    keys: ["scratch/alice/**"]
`, hash(aliceKey), hash(bobKey))
}

var fuzzHandler = sync.OnceValues(func() (http.Handler, error) {
	env := map[string]string{"S3_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "fuzz.yaml", []byte(policyYAML()))
	if err != nil {
		return nil, err
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(cfg, Options{Now: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	return s.Handler, nil
})

var fuzzRoutes = []string{"/", "/v1/presign", "/get-upload-url", "/get-download-url", "/healthz", "/openapi.json"}

// callers: who sends the request. A bad credential must never be treated
// as anonymous.
var callers = []struct{ name, header string }{
	{"", ""}, {"alice", "Bearer " + aliceKey}, {"bob", "Bearer " + bobKey}, {"bad", "Bearer " + aliceKey + "x"},
}

// grant is a URL a response handed out, with what the caller must send.
type grant struct {
	method  string
	url     *url.URL
	key     string
	headers map[string]string
	fields  map[string]string
}

// attack sends one request and checks the answer against the policy by
// its own reading of the rules: never a 5xx, and every URL in a 200 one
// that the caller was allowed, with the limits signed. It returns the
// status.
func attack(t *testing.T, route uint8, method, query string, who uint8, contentType string, body []byte) int {
	h, err := fuzzHandler()
	if err != nil {
		t.Fatal(err)
	}
	path := fuzzRoutes[int(route)%len(fuzzRoutes)]
	caller := callers[int(who)%len(callers)]
	if method == "" {
		method = "GET"
	}
	u, err := url.ParseRequestURI(path + "?" + query)
	if err != nil {
		return 0 // net/http refuses the request line before any handler
	}
	req, err := http.NewRequest(method, u.String(), strings.NewReader(string(body)))
	if err != nil {
		return 0
	}
	if caller.header != "" {
		req.Header.Set("Authorization", caller.header)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	status, out := rec.Code, rec.Body.String()
	if status >= 500 {
		t.Fatalf("%s %s: %d %s", method, u, status, out)
	}
	if status >= 400 && strings.TrimSpace(out) == "" {
		t.Fatalf("%s %s: %d without a message", method, u, status)
	}
	signed := strings.Contains(out, "X-Amz-Signature") || strings.Contains(out, "x-amz-signature")
	if status != http.StatusOK || method == http.MethodOptions {
		if signed {
			t.Fatalf("%s %s: %d with a signature in %s", method, u, status, out)
		}
		return status
	}
	var grants []grant
	switch path {
	case "/":
		if !signed {
			break
		}
		gu := mustURL(t, out)
		op := strings.ToUpper(u.Query().Get("method"))
		if op == "POST" {
			op = "PUT" // the Storj tutorial's POST is a presigned PUT
		}
		grants = append(grants, grant{method: op, url: gu, key: objectKey(t, gu)})
	case "/get-download-url":
		var s string
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		gu := mustURL(t, s)
		grants = append(grants, grant{method: "GET", url: gu, key: objectKey(t, gu)})
	case "/get-upload-url", "/v1/presign":
		var g struct {
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Fields  map[string]string `json:"fields"`
		}
		if err := json.Unmarshal([]byte(out), &g); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if path == "/get-upload-url" {
			g.Method = "POST"
		}
		gu := mustURL(t, g.URL)
		gr := grant{method: g.Method, url: gu, headers: g.Headers, fields: g.Fields}
		if g.Method == "POST" {
			gr.key = g.Fields["key"]
		} else {
			gr.key = objectKey(t, gu)
		}
		grants = append(grants, gr)
	default:
		if signed {
			t.Fatalf("%s: a signature from %s", out, path)
		}
	}
	for _, g := range grants {
		if why := forbidden(caller.name, g); why != "" {
			t.Fatalf("%s %s as %q granted %s %s: %s", method, u, caller.name, g.method, g.url, why)
		}
	}
	return status
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host != "127.0.0.1:9000" {
		t.Fatalf("not a URL of the backend: %q (%v)", s, err)
	}
	return u
}

// objectKey is the key of a path-style URL of the bucket photos.
func objectKey(t *testing.T, u *url.URL) string {
	key, ok := strings.CutPrefix(u.Path, "/photos/")
	if !ok {
		t.Fatalf("%s is not in the bucket", u)
	}
	return key
}

// forbidden returns why the policy does not allow g to caller, or "".
func forbidden(caller string, g grant) string {
	if caller == "bad" {
		return "the credential was invalid"
	}
	for _, seg := range strings.Split(g.key, "/") {
		if seg == "." || seg == ".." {
			return "a dot segment in the key"
		}
	}
	if strings.ContainsFunc(g.key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "a control character in the key"
	}
	expires := g.url.Query().Get("X-Amz-Expires")
	if g.method == "POST" {
		expires = "" // a form's lifetime is in its policy
	}
	if n, err := strconv.Atoi(expires); expires != "" && (err != nil || n < 1 || n > 3600) {
		return "X-Amz-Expires " + expires
	}
	// No rule of this policy lists metadata, so no grant may sign any.
	if strings.Contains(g.url.Query().Get("X-Amz-SignedHeaders"), "x-amz-meta-") {
		return "metadata is signed"
	}
	for name := range g.fields {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-meta-") {
			return "a metadata field " + name
		}
	}
	upload := g.method == "PUT" || g.method == "POST"
	switch {
	case strings.HasPrefix(g.key, "public/") && (g.method == "GET" || g.method == "HEAD"):
		return ""
	case caller == "alice" && strings.HasPrefix(g.key, "scratch/alice/"):
		return ""
	case caller != "" && strings.HasPrefix(g.key, "users/"+caller+"/") && !upload:
		return ""
	case caller != "" && strings.HasPrefix(g.key, "users/"+caller+"/"):
		return imageUploadLimits(g)
	}
	return "no rule allows it"
}

// imageUploadLimits checks what upload-images must sign.
func imageUploadLimits(g grant) string {
	isImage := func(ct string) bool { // a raster type, as the rule lists: never SVG
		mt, _, err := mime.ParseMediaType(ct)
		return err == nil && (mt == "image/png" || mt == "image/jpeg" || mt == "image/gif" || mt == "image/webp")
	}
	if g.method == "PUT" {
		if n, err := strconv.Atoi(g.url.Query().Get("X-Amz-Expires")); err != nil || n > maxUploadSeconds {
			return "an upload URL outlives max_expires"
		}
		signedHeaders := ";" + g.url.Query().Get("X-Amz-SignedHeaders") + ";"
		for _, h := range []string{"content-length", "content-type", "if-none-match"} {
			if !strings.Contains(signedHeaders, ";"+h+";") {
				return h + " is not signed"
			}
		}
		if n, err := strconv.ParseInt(g.headers["Content-Length"], 10, 64); err != nil || n > maxImage || n < 0 {
			return "Content-Length " + g.headers["Content-Length"]
		}
		if !isImage(g.headers["Content-Type"]) || g.headers["If-None-Match"] != "*" {
			return fmt.Sprintf("headers %v", g.headers)
		}
		return ""
	}
	// POST: what the store enforces is the signed policy.
	raw, err := base64.StdEncoding.DecodeString(g.fields["policy"])
	var doc struct {
		Expiration time.Time `json:"expiration"`
		Conditions []any     `json:"conditions"`
	}
	if err != nil || json.Unmarshal(raw, &doc) != nil {
		return "an unreadable policy"
	}
	if doc.Expiration.After(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).Add(maxUploadSeconds * time.Second)) {
		return "a form that outlives max_expires"
	}
	var sizeOK, keyOK, typeOK bool
	for _, c := range doc.Conditions {
		switch c := c.(type) {
		case map[string]any:
			for k, v := range c {
				s, _ := v.(string)
				switch strings.ToLower(k) {
				case "key":
					keyOK = s == g.key
				case "content-type":
					typeOK = isImage(s)
				}
			}
		case []any:
			if len(c) == 3 && c[0] == "content-length-range" {
				hi, ok := c[2].(float64)
				sizeOK = ok && hi <= maxImage
			}
			if len(c) == 3 && c[0] == "starts-with" {
				return fmt.Sprintf("a starts-with condition %v", c)
			}
		}
	}
	if !sizeOK || !keyOK || !typeOK {
		return fmt.Sprintf("policy conditions %v (size %v, key %v, type %v)", doc.Conditions, sizeOK, keyOK, typeOK)
	}
	return ""
}

// FuzzHandlerGrantsOnlyThePolicy sends arbitrary requests (route, method,
// query, caller, content type, body) to the whole service under the web
// app's policy: no 5xx, a message with every 4xx, no signature outside a
// 200, and every URL handed out is one the policy allows, with its limits
// signed.
func FuzzHandlerGrantsOnlyThePolicy(f *testing.F) {
	for _, s := range grantedSeeds {
		f.Add(s.route, s.method, s.query, s.who, s.contentType, []byte(s.body))
	}
	for _, s := range []struct {
		route         uint8
		method, query string
		who           uint8
		ct, body      string
	}{
		{0, "GET", "key=users/bob/x&method=GET", 1, "", ""},
		{0, "GET", "key=users/alice/../bob/x&method=GET", 1, "", ""},
		{0, "GET", "key=public/%2e%2e/users/bob/x&method=GET", 0, "", ""},
		{0, "GET", "key=scratch/alice/x&method=PUT", 2, "", ""},
		{0, "GET", "key=public/x&method=DELETE", 0, "", ""},
		{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"image/png","content_length":10485761}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"text/html","content_length":1}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"image/svg+xml","content_length":1}`},
		{1, "POST", "", 2, "application/json", `{"op":"post","content_type":"image/svg+xml","content_length":1}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","key":"users/alice/x.png","content_type":"image/png","content_length":1}`},
		{1, "POST", "", 3, "application/json", `{"op":"get","key":"public/x"}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"image/png","content_length":1,"expires_in":604800}`},
		{2, "POST", "", 2, "application/json", `{"filename":"scratch/alice/x"}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"image/png","content_length":1,"metadata":{"snowball-auto-extract":"true"}}`},
		{1, "POST", "", 1, "application/json", `{"op":"put","key":"scratch/alice/a.tar","metadata":{"author":"alice"}}`},
		{3, "POST", "", 0, "application/json", `{"filename":"users/alice/x"}`},
	} {
		f.Add(s.route, s.method, s.query, s.who, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route uint8, method, query string, who uint8, contentType string, body []byte) {
		attack(t, route, method, query, who, contentType, body)
	})
}

// grantedSeeds are requests the policy allows; TestGrantedSeeds proves they
// get URLs, so the fuzz target's checks of granted URLs run from its first
// input.
var grantedSeeds = []struct {
	route         uint8
	method, query string
	who           uint8
	contentType   string
	body          string
}{
	{0, "GET", "key=public/cat.png&method=GET", 0, "", ""},
	{0, "GET", "key=users/alice/cat.png&method=GET", 1, "", ""},
	{0, "GET", "key=users/bob/cat.png&method=DELETE", 2, "", ""},
	{0, "GET", "key=scratch/alice/notes.txt&method=PUT", 1, "", ""},
	{0, "GET", "key=scratch/alice/notes.txt&method=POST", 1, "", ""},
	{1, "POST", "", 1, "application/json", `{"op":"put","content_type":"image/png","content_length":1234,"filename":"cat.png"}`},
	{1, "POST", "", 2, "application/json", `{"op":"post","content_type":"image/jpeg","content_length":10485760}`},
	{1, "POST", "", 1, "application/json", `{"op":"head","key":"public/a b+c.png"}`},
	{2, "POST", "", 1, "application/json", `{"filename":"scratch/alice/upload.bin"}`},
	{3, "POST", "", 0, "application/json", `{"filename":"public/cat.png"}`},
}

func TestGrantedSeeds(t *testing.T) {
	for _, s := range grantedSeeds {
		if got := attack(t, s.route, s.method, s.query, s.who, s.contentType, []byte(s.body)); got != http.StatusOK {
			t.Errorf("%+v: status %d, want 200", s, got)
		}
	}
}
