// Package e2e is the integration suite: one table of cases that drives a
// running presign API in front of a real S3 server and *uses* every URL it
// returns with a plain net/http client. Uploads must land, downloads must
// match, and what must be refused must be refused by the store itself.
//
// The same suite runs against Versity Gateway and MinIO (e2e_test.go) and
// against `presign dev`'s embedded store (cmd/presign).
package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"presign.dev/httpapi"
	"presign.dev/internal/s3test"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// Target is a presign API in front of a real store.
type Target struct {
	// Flavor names the store's behaviour at the edges: "versitygw" (also the
	// embedded dev store) or "minio".
	Flavor string
	API    string // base URL of the presign API
	APIKey string
	// Store reaches the same bucket with an S3 SDK client: the independent
	// check that an upload landed. It never presigns.
	Store *s3test.Server
}

// backend is the presign backend for the target's store, for cases that
// need to sign locally (expired URLs, no-overwrite).
func (tg Target) backend() presign.Backend {
	return presign.Backend{Name: "e2e", Endpoint: tg.Store.Endpoint, Region: tg.Store.Region, Bucket: tg.Store.Bucket,
		PathStyle:   presign.PathStyleAlways,
		Credentials: sigv4.Credentials{AccessKeyID: tg.Store.AccessKeyID, SecretAccessKey: tg.Store.SecretAccessKey}}
}

var client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Run runs every case against tg.
func Run(t *testing.T, tg Target) {
	t.Run("object lifecycle through the JSON API", func(t *testing.T) { testLifecycle(t, tg) })
	t.Run("tutorial routes", func(t *testing.T) { testTutorialRoutes(t, tg) })
	t.Run("post form pins type and metadata", func(t *testing.T) { testPostForm(t, tg) })
	t.Run("download disposition", func(t *testing.T) { testDisposition(t, tg) })
	t.Run("store refuses", func(t *testing.T) { testRefusals(t, tg) })
	t.Run("no overwrite", func(t *testing.T) { testNoOverwrite(t, tg) })
	t.Run("keys round-trip", func(t *testing.T) { testKeys(t, tg) })
	t.Run("list a prefix", func(t *testing.T) { testList(t, tg) })
}

// presignJSON calls POST /v1/presign and returns the grant.
func presignJSON(t *testing.T, tg Target, req map[string]any) httpapi.PresignResponse {
	t.Helper()
	status, body := callAPI(t, tg, "POST", "/v1/presign", req)
	if status != http.StatusOK {
		t.Fatalf("presign %v: status %d: %s", req, status, body)
	}
	var g httpapi.PresignResponse
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("presign response: %v: %s", err, body)
	}
	return g
}

func callAPI(t *testing.T, tg Target, method, path string, body any) (int, []byte) {
	t.Helper()
	return callAs(t, tg, tg.APIKey, method, path, body)
}

// callAs calls the API with token as the bearer credential ("" sends none).
func callAs(t *testing.T, tg Target, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, tg.API+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

// do sends req and returns the status and body.
func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// use sends the presigned request with the given headers and body, as a
// browser or curl would, and returns the store's status and body. A
// Content-Length header becomes the request's length; the body is sent as
// it is (so a wrong length can be tested by sending another body).
func use(t *testing.T, method, rawURL string, headers map[string]string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Length") {
			continue // net/http sends the body's real length
		}
		req.Header.Set(k, v)
	}
	return do(t, req)
}

// postForm sends a multipart/form-data upload: fields, then the file last.
func postForm(t *testing.T, rawURL string, fields map[string]string, fileType string, data []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="file"; filename="upload.bin"`}
	h["Content-Type"] = []string{fileType}
	fw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest("POST", rawURL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(t, req)
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func expectStatus(t *testing.T, what string, got int, body []byte, want ...int) {
	t.Helper()
	for _, w := range want {
		if got == w {
			return
		}
	}
	t.Fatalf("%s: status %d, want %v; body %.300s", what, got, want, body)
}

// expectRefused asserts the store answered with a 4xx.
func expectRefused(t *testing.T, what string, got int, body []byte) {
	t.Helper()
	if got < 400 || got > 499 {
		t.Fatalf("%s: store answered %d, want a 4xx refusal; body %.300s", what, got, body)
	}
}

func expectObject(t *testing.T, tg Target, key string, want []byte) {
	t.Helper()
	got, ok := tg.Store.GetObject(t, key)
	if !ok {
		t.Fatalf("object %q did not land", key)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("object %q holds %d bytes, want the %d uploaded", key, len(got), len(want))
	}
}

func expectNoObject(t *testing.T, tg Target, key string) {
	t.Helper()
	if _, ok := tg.Store.GetObject(t, key); ok {
		t.Fatalf("object %q exists; the refused request must not have stored it", key)
	}
}

func testLifecycle(t *testing.T, tg Target) {
	key := "e2e/lifecycle/data.bin"
	data := randomBytes(t, 4096)
	g := presignJSON(t, tg, map[string]any{"op": "put", "key": key, "content_type": "application/x-e2e", "content_length": len(data)})
	if g.Method != "PUT" || g.Headers["Content-Type"] != "application/x-e2e" || g.Headers["Content-Length"] != "4096" {
		t.Fatalf("put grant %+v", g)
	}
	status, body := use(t, g.Method, g.URL, g.Headers, data)
	expectStatus(t, "PUT", status, body, 200)
	expectObject(t, tg, key, data)
	if ct, size, _ := tg.Store.HeadObject(t, key); ct != "application/x-e2e" || size != 4096 {
		t.Fatalf("stored as %q, %d bytes", ct, size)
	}

	g = presignJSON(t, tg, map[string]any{"op": "get", "key": key})
	status, body = use(t, g.Method, g.URL, g.Headers, nil)
	expectStatus(t, "GET", status, body, 200)
	if !bytes.Equal(body, data) {
		t.Fatalf("GET returned %d bytes that differ from the upload", len(body))
	}

	g = presignJSON(t, tg, map[string]any{"op": "head", "key": key})
	req, _ := http.NewRequest(g.Method, g.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 4096 {
		t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}

	g = presignJSON(t, tg, map[string]any{"op": "delete", "key": key})
	status, body = use(t, g.Method, g.URL, g.Headers, nil)
	expectStatus(t, "DELETE", status, body, 204, 200)
	expectNoObject(t, tg, key)
}

func testTutorialRoutes(t *testing.T, tg Target) {
	key := "e2e/tutorial/hello world+1.txt"
	data := []byte("hello from the storj tutorial")
	status, urlBody := callAPI(t, tg, "GET", "/?key="+url.QueryEscape(key)+"&method=POST", nil)
	expectStatus(t, "GET /?method=POST", status, urlBody, 200)
	status, body := use(t, "PUT", string(urlBody), nil, data)
	expectStatus(t, "PUT to the tutorial's POST URL", status, body, 200)
	expectObject(t, tg, key, data)

	status, urlBody = callAPI(t, tg, "GET", "/presign?key="+url.QueryEscape(key)+"&method=GET", nil)
	expectStatus(t, "GET /presign?method=GET", status, urlBody, 200)
	status, body = use(t, "GET", string(urlBody), nil, nil)
	expectStatus(t, "GET", status, body, 200)
	if !bytes.Equal(body, data) {
		t.Fatalf("download differs: %q", body)
	}

	// The Chalice tutorial: a POST form, then a JSON-string download URL.
	formKey := "e2e/tutorial/chalice report.pdf"
	status, b := callAPI(t, tg, "POST", "/get-upload-url", map[string]string{"filename": formKey})
	expectStatus(t, "POST /get-upload-url", status, b, 200)
	var form struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(b, &form); err != nil {
		t.Fatal(err)
	}
	pdf := randomBytes(t, 1500)
	status, body = postForm(t, form.URL, form.Fields, "application/pdf", pdf)
	expectStatus(t, "POST form upload", status, body, 204, 200, 201)
	expectObject(t, tg, formKey, pdf)

	status, b = callAPI(t, tg, "POST", "/get-download-url", map[string]string{"filename": formKey})
	expectStatus(t, "POST /get-download-url", status, b, 200)
	var dl string
	if err := json.Unmarshal(b, &dl); err != nil {
		t.Fatalf("download URL is not a JSON string: %s", b)
	}
	status, body = use(t, "GET", dl, nil, nil)
	expectStatus(t, "GET download URL", status, body, 200)
	if !bytes.Equal(body, pdf) {
		t.Fatal("download differs from the form upload")
	}
}

func testPostForm(t *testing.T, tg Target) {
	key := "e2e/post/cat.png"
	data := randomBytes(t, 2048)
	g := presignJSON(t, tg, map[string]any{"op": "post", "key": key, "content_type": "image/png", "content_length": len(data), "metadata": map[string]string{"owner": "u1"}})
	if g.Method != "POST" || g.Fields["key"] != key || g.Fields["Content-Type"] != "image/png" || g.Fields["x-amz-meta-owner"] != "u1" {
		t.Fatalf("post grant %+v", g)
	}
	status, body := postForm(t, g.URL, g.Fields, "image/png", data)
	expectStatus(t, "POST", status, body, 204, 200, 201)
	expectObject(t, tg, key, data)
	out, err := tg.Store.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(tg.Store.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ContentType) != "image/png" || out.Metadata["owner"] != "u1" {
		t.Fatalf("stored with type %q, metadata %v", aws.ToString(out.ContentType), out.Metadata)
	}
}

func testDisposition(t *testing.T, tg Target) {
	key := "e2e/disposition/blob"
	tg.Store.PutObject(t, key, []byte("x"))
	g := presignJSON(t, tg, map[string]any{"op": "get", "key": key, "filename": "naïve résumé.pdf"})
	req, _ := http.NewRequest("GET", g.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `attachment; filename="na_ve r_sum_.pdf"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf`
	if resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") != want {
		t.Fatalf("GET: %d, Content-Disposition %q, want %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), want)
	}
}

func testRefusals(t *testing.T, tg Target) {
	data := randomBytes(t, 100)
	putGrant := func(key string) httpapi.PresignResponse {
		return presignJSON(t, tg, map[string]any{"op": "put", "key": key, "content_type": "image/png", "content_length": len(data)})
	}
	t.Run("wrong content type", func(t *testing.T) {
		g := putGrant("e2e/refuse/type")
		h := map[string]string{"Content-Type": "text/html"}
		status, body := use(t, "PUT", g.URL, h, data)
		expectRefused(t, "PUT with another Content-Type", status, body)
		expectNoObject(t, tg, "e2e/refuse/type")
	})
	t.Run("content type left out", func(t *testing.T) {
		g := putGrant("e2e/refuse/notype")
		status, body := use(t, "PUT", g.URL, nil, data)
		expectRefused(t, "PUT without the signed Content-Type", status, body)
		expectNoObject(t, tg, "e2e/refuse/notype")
	})
	t.Run("wrong content length", func(t *testing.T) {
		g := putGrant("e2e/refuse/length")
		status, body := use(t, "PUT", g.URL, g.Headers, append(data, 'x'))
		expectRefused(t, "PUT of 101 bytes on a 100-byte grant", status, body)
		expectNoObject(t, tg, "e2e/refuse/length")
	})
	t.Run("tampered signature", func(t *testing.T) {
		g := putGrant("e2e/refuse/sig")
		u := g.URL[:len(g.URL)-1] + flipHex(g.URL[len(g.URL)-1])
		status, body := use(t, "PUT", u, g.Headers, data)
		expectRefused(t, "PUT with a tampered signature", status, body)
		expectNoObject(t, tg, "e2e/refuse/sig")
	})
	t.Run("tampered query", func(t *testing.T) {
		g := putGrant("e2e/refuse/query")
		u := strings.Replace(g.URL, "X-Amz-Expires=900", "X-Amz-Expires=3600", 1)
		if u == g.URL {
			t.Fatal("URL has no X-Amz-Expires=900")
		}
		status, body := use(t, "PUT", u, g.Headers, data)
		expectRefused(t, "PUT with a longer X-Amz-Expires", status, body)
		expectNoObject(t, tg, "e2e/refuse/query")
	})
	t.Run("tampered key", func(t *testing.T) {
		g := putGrant("e2e/refuse/key-a")
		u := strings.Replace(g.URL, "key-a", "key-b", 1)
		status, body := use(t, "PUT", u, g.Headers, data)
		expectRefused(t, "PUT to another key", status, body)
		expectNoObject(t, tg, "e2e/refuse/key-b")
	})
	t.Run("wrong method", func(t *testing.T) {
		tg.Store.PutObject(t, "e2e/refuse/method", []byte("keep"))
		g := presignJSON(t, tg, map[string]any{"op": "get", "key": "e2e/refuse/method"})
		status, body := use(t, "PUT", g.URL, nil, data)
		expectRefused(t, "PUT with a GET URL", status, body)
		status, body = use(t, "DELETE", g.URL, nil, nil)
		expectRefused(t, "DELETE with a GET URL", status, body)
		expectObject(t, tg, "e2e/refuse/method", []byte("keep"))
		g = putGrant("e2e/refuse/method")
		status, body = use(t, "GET", g.URL, nil, nil)
		expectRefused(t, "GET with a PUT URL", status, body)
	})
	t.Run("expired URL", func(t *testing.T) {
		tg.Store.PutObject(t, "e2e/refuse/expired", []byte("old"))
		iss, err := presign.New(presign.Config{Backends: []presign.Backend{tg.backend()},
			Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		g, err := iss.Issue(context.Background(), presign.Principal{}, presign.Request{Op: presign.OpGet, Key: "e2e/refuse/expired", ExpiresIn: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		status, body := use(t, "GET", g.URL, nil, nil)
		expectRefused(t, "GET with a URL that expired", status, body)
	})
	for _, digest := range []struct {
		field string
		sum   func([]byte) []byte
	}{
		{"content_md5", func(b []byte) []byte { s := md5.Sum(b); return s[:] }},
		{"checksum_sha256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
	} {
		t.Run("body that does not match the signed "+digest.field, func(t *testing.T) {
			key := "e2e/refuse/" + digest.field
			grant := func(sum []byte) httpapi.PresignResponse {
				return presignJSON(t, tg, map[string]any{"op": "put", "key": key, "content_length": len(data), digest.field: base64.StdEncoding.EncodeToString(sum)})
			}
			g := grant(digest.sum([]byte("other data")))
			status, body := use(t, "PUT", g.URL, g.Headers, data)
			expectRefused(t, "PUT whose body does not match its signed digest", status, body)
			expectNoObject(t, tg, key)
			g = grant(digest.sum(data))
			status, body = use(t, "PUT", g.URL, g.Headers, data)
			expectStatus(t, "PUT with the right digest", status, body, 200)
		})
	}
	t.Run("post over the size range", func(t *testing.T) {
		g := presignJSON(t, tg, map[string]any{"op": "post", "key": "e2e/refuse/post-size", "content_length": 10})
		status, body := postForm(t, g.URL, g.Fields, "application/octet-stream", randomBytes(t, 11))
		expectRefused(t, "POST of 11 bytes with a 10-byte policy", status, body)
		expectNoObject(t, tg, "e2e/refuse/post-size")
	})
	t.Run("post with another key", func(t *testing.T) {
		g := presignJSON(t, tg, map[string]any{"op": "post", "key": "e2e/refuse/post-a"})
		g.Fields["key"] = "e2e/refuse/post-b"
		status, body := postForm(t, g.URL, g.Fields, "application/octet-stream", data)
		expectRefused(t, "POST with a key outside the policy", status, body)
		expectNoObject(t, tg, "e2e/refuse/post-b")
	})
	t.Run("post with another content type", func(t *testing.T) {
		g := presignJSON(t, tg, map[string]any{"op": "post", "key": "e2e/refuse/post-type", "content_type": "image/png"})
		g.Fields["Content-Type"] = "text/html"
		status, body := postForm(t, g.URL, g.Fields, "text/html", data)
		expectRefused(t, "POST with a Content-Type outside the policy", status, body)
		expectNoObject(t, tg, "e2e/refuse/post-type")
	})
	t.Run("post with a tampered policy", func(t *testing.T) {
		g := presignJSON(t, tg, map[string]any{"op": "post", "key": "e2e/refuse/post-policy", "content_length": 10})
		g.Fields["policy"] = g.Fields["policy"][:len(g.Fields["policy"])-4] + "AAA="
		status, body := postForm(t, g.URL, g.Fields, "application/octet-stream", data)
		expectRefused(t, "POST with a tampered policy", status, body)
		expectNoObject(t, tg, "e2e/refuse/post-policy")
	})
}

// testNoOverwrite: with NoOverwrite the grant signs If-None-Match: *, and
// the store refuses to replace an existing object.
func testNoOverwrite(t *testing.T, tg Target) {
	iss, err := presign.New(presign.Config{Backends: []presign.Backend{tg.backend()}, Authorizer: noOverwrite{}})
	if err != nil {
		t.Fatal(err)
	}
	key := "e2e/no-overwrite/once.txt"
	for i, want := range []int{200, 412} {
		data := []byte("version " + strconv.Itoa(i))
		n := int64(len(data))
		g, err := iss.Issue(context.Background(), presign.Principal{}, presign.Request{Op: presign.OpPut, Key: key, ContentLength: &n})
		if err != nil {
			t.Fatal(err)
		}
		if g.Headers["If-None-Match"] != "*" {
			t.Fatalf("headers %v", g.Headers)
		}
		status, body := use(t, "PUT", g.URL, g.Headers, data)
		expectStatus(t, fmt.Sprintf("PUT %d", i+1), status, body, want)
	}
	expectObject(t, tg, key, []byte("version 0"))
}

type noOverwrite struct{}

func (noOverwrite) Authorize(context.Context, presign.Principal, *presign.Request) (presign.Decision, error) {
	return presign.Decision{Rule: "no-overwrite", NoOverwrite: true}, nil
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
