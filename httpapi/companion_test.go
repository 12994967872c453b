package httpapi

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

// TestCompanionPath: the Companion routes' path is a clean absolute path
// of URL-safe characters, clear of presign's own routes.
func TestCompanionPath(t *testing.T) {
	for _, p := range []string{"/companion", "/uppy/companion", "/a.b~c_d-E9", "/v1x", "/healthz2", "/presigned"} {
		if msg := companionPathProblem(p); msg != "" {
			t.Errorf("%q refused: %s", p, msg)
		}
	}
	for _, p := range []string{"", "/", "companion", "/companion/", "//companion", "/a//b", "/a/./b", "/a/../b", "/a/..",
		"/comp anion", "/{id}", "/a%2Fb", "/a?b", "/a#b", "/ü", "/v1", "/v1/companion", "/healthz", "/livez/x", "/openapi.json",
		"/metrics", "/presign", "/get-upload-url", "/get-download-url", "/.well-known", "/.well-known/companion", "/demo",
		"/" + strings.Repeat("a", 200)} {
		if companionPathProblem(p) == "" {
			t.Errorf("%q accepted", p)
		}
	}
}

// TestCompanionPathAvoidsEveryRoute: no path accepted for the Companion
// routes is one of httpapi's routes or lies under one (the reserved list
// follows the route table).
func TestCompanionPathAvoidsEveryRoute(t *testing.T) {
	h := New(Options{Issuer: testIssuer(t), Auth: Open{}, Metrics: http.NotFoundHandler()})
	for _, rt := range h.Routes() {
		_, p, _ := strings.Cut(rt, " ")
		if p == "/" {
			if companionPathProblem(p) == "" {
				t.Errorf("route %s: %q is accepted as the Companion path", rt, p)
			}
			continue // GET / is that path alone
		}
		first := "/" + strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0]
		for _, q := range []string{p, first, strings.TrimSuffix(p, "/") + "/companion"} {
			if companionPathProblem(q) == "" {
				t.Errorf("route %s: %q is accepted as the Companion path", rt, q)
			}
		}
	}
}

// A path token is a bearer credential: no log line holds it.
func TestPathTokenNotLogged(t *testing.T) {
	var logs bytes.Buffer
	h := New(Options{Issuer: testIssuer(t), CompanionPath: "/companion", Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	rec := run(t, h, httpCase{method: "POST", target: "/v1/tokens", wantStatus: 200})
	tok := decode[PathTokenResponse](t, rec).Token
	for _, target := range []string{"/companion/t/" + tok + "/s3/params?filename=a.txt", "/companion/t/" + tok + "/nowhere", "/companion/t/" + tok,
		"/companion//t/" + tok + "/s3/params?filename=a.txt", "/x/../companion/t/" + tok + "/s3/params"} {
		status := map[bool]int{true: 200, false: 404}[strings.HasPrefix(target, "/companion/t/") && strings.Contains(target, "params")]
		run(t, h, httpCase{method: "GET", target: target, noAuth: true, wantStatus: status})
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), tok[len(tok)-20:]) {
		t.Errorf("the logs hold the path token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"path":"/companion/t/…/s3/params"`) {
		t.Errorf("no access line with the masked path:\n%s", logs.String())
	}
}

// A store without POST forms (R2, B2): /s3/params says what to do instead.
func TestCompanionParamsWithoutPost(t *testing.T) {
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{Name: "r2", Endpoint: "https://acct.r2.cloudflarestorage.com", Bucket: "bucket", Region: "auto", NoPost: true,
			Credentials: sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
		Uploads: presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "t1", Secret: []byte("httpapi-test-secret-0123456789abcdef")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Issuer: iss, CompanionPath: "/companion", Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	rec := run(t, h, httpCase{method: "GET", target: "/companion/s3/params?filename=a.txt&type=text%2Fplain", wantStatus: 422})
	if e := decode[map[string]string](t, rec); !strings.Contains(e["message"], "shouldUseMultipart: true") {
		t.Errorf("the refusal does not say how to upload here: %s", rec.Body)
	}
}

// Companion's metadata: Uppy's own entries dropped, the application's
// kept with RFC 2047 words for what is not ASCII; names once only.
func TestCompanionMetadata(t *testing.T) {
	st := &fakeStore{}
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{{Name: "default", Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
			Credentials: sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}}},
		Uploads:  presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "t1", Secret: []byte("httpapi-test-secret-0123456789abcdef")}}},
		NewStore: func(presign.Backend) (presign.Store, error) { return st, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Issuer: iss, CompanionPath: "/companion", Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	run(t, h, httpCase{method: "POST", target: "/companion/s3/multipart", wantStatus: 200,
		body: `{"filename":"a.bin","type":"video/mp4","metadata":{"name":"a.bin","type":"video/mp4","relativePath":null,"Caption":"Grüße","n":3}}`})
	md := st.last.Metadata
	if len(md) != 2 || md["caption"] != "=?UTF-8?b?R3LDvMOfZQ==?=" || len(md["presign-upload"]) != 16 {
		t.Errorf("the store was asked for metadata %v; want caption (RFC 2047) and presign's stamp only", md)
	}
	run(t, h, httpCase{method: "POST", target: "/companion/s3/multipart", wantStatus: 400,
		body: `{"filename":"a.bin","type":"video/mp4","metadata":{"Caption":"a","caption":"b"}}`})
}
