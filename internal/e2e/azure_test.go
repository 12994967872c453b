package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/azuritetest"
	"presign.dev/policy"
	"presign.dev/presign"
	"presign.dev/sigv4"
)

// TestAzure runs presign with a backend of kind azure in front of Azurite
// (which checks every SAS the way Azure does): the JSON API on a loopback
// HTTP server, each URL it returns used with a plain net/http client (no
// x-ms-version: a browser sends none), and what landed read back with the
// harness's own account SAS.
func TestAzure(t *testing.T) {
	s := azuritetest.Start(t)
	env := newAzureEnv(t, s)
	t.Run("put, then get with a download name", env.testPutGet)
	t.Run("head and delete", env.testHeadDelete)
	t.Run("the store refuses", env.testRefusals)
	t.Run("no overwrite: a put over an existing blob", env.testNoOverwritePut)
	t.Run("multipart upload: parts, list to resume, complete", env.testMultipart)
	t.Run("multipart under limits: refused, as a part URL writes the blob whole", env.testMultipartUnderLimits)
	t.Run("verified completion of a put", env.testVerifiedPut)
	t.Run("what a SAS cannot enforce: 422", env.testUnsupported)
}

// azureEnv is the presign API in front of one Azurite and its rules: the
// caller may do everything under files/, upload under fixed/ without
// overwriting, upload under capped/ at most 12 MiB, upload images only
// under typed/, and post and list under forms/.
type azureEnv struct {
	s       *azuritetest.Server
	tg      Target
	backend presign.Backend
}

const (
	azureAPIKey   = "e2e-azure-key-0123456789"
	azureCapBytes = 12 << 20
)

func newAzureEnv(t *testing.T, s *azuritetest.Server) *azureEnv {
	who := policy.Who{APIKeys: []string{"e2e"}}
	no := false
	p, err := policy.New([]policy.Rule{
		{Name: "files", Who: who, Ops: []presign.Op{presign.OpGet, presign.OpHead, presign.OpPut, presign.OpDelete, presign.OpMultipart},
			Keys: []string{"files/**"}, Metadata: []string{"owner"}},
		{Name: "fixed", Who: who, Ops: []presign.Op{presign.OpPut, presign.OpMultipart}, Keys: []string{"fixed/**"}, Overwrite: &no},
		{Name: "capped", Who: who, Ops: []presign.Op{presign.OpPut, presign.OpMultipart}, Keys: []string{"capped/**"}, MaxSize: azureCapBytes},
		{Name: "typed", Who: who, Ops: []presign.Op{presign.OpPut, presign.OpMultipart}, Keys: []string{"typed/**"}, ContentTypes: []string{"image/*"}},
		{Name: "forms", Who: who, Ops: []presign.Op{presign.OpPost, presign.OpList}, Keys: []string{"forms/**"}},
	}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := presign.Backend{Name: "azure", Kind: presign.KindAzure, Endpoint: s.Endpoint, Bucket: s.Container,
		Credentials: sigv4.Credentials{AccessKeyID: s.AccountName, SecretAccessKey: s.AccountKey}}
	iss, err := presign.New(presign.Config{
		Backends: []presign.Backend{b}, Authorizer: p,
		Uploads: presign.UploadsConfig{Secrets: []presign.TokenSecret{{ID: "e2e", Secret: []byte("e2e-uploads-secret-0123456789abcdef")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(httpapi.New(httpapi.Options{
		Issuer: iss, Auth: httpapi.APIKeys{{Name: "e2e", Hash: sha256.Sum256([]byte(azureAPIKey))}},
	}))
	t.Cleanup(api.Close)
	return &azureEnv{s: s, tg: Target{Flavor: "azurite", API: api.URL, APIKey: azureAPIKey}, backend: b}
}

// blob reads a blob with the harness's account SAS: its status, body and
// headers.
func (e *azureEnv) blob(t *testing.T, key string) (int, []byte, http.Header) {
	t.Helper()
	resp, body := e.s.Get(t, key)
	return resp.StatusCode, body, resp.Header
}

func (e *azureEnv) expectBlob(t *testing.T, key string, want []byte) http.Header {
	t.Helper()
	status, got, h := e.blob(t, key)
	if status != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("blob %q: %d, %d bytes; want the %d uploaded", key, status, len(got), len(want))
	}
	return h
}

func (e *azureEnv) expectNoBlob(t *testing.T, key string) {
	t.Helper()
	if status, _, _ := e.blob(t, key); status != http.StatusNotFound {
		t.Fatalf("blob %q: %d; the refused upload must not have made it", key, status)
	}
}

// send uses a grant as a client would and returns the status, the error
// code Azure answered (x-ms-error-code) and the response's headers.
func send(t *testing.T, method, rawURL string, headers map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if method == http.MethodGet && resp.StatusCode == http.StatusOK {
		resp.Header.Set("X-Test-Body", b.String())
	}
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), resp.Header
}

func (e *azureEnv) testPutGet(t *testing.T) {
	data := randomBytes(t, 5000)
	key := "files/reports/Q3 ü+&=.bin"
	g := presignJSON(t, e.tg, map[string]any{"op": "put", "key": key, "content_type": "application/x-report", "metadata": map[string]string{"owner": "ann"}})
	if g.Method != "PUT" || g.Headers["x-ms-blob-type"] != "BlockBlob" || g.Headers["Content-Type"] != "application/x-report" || g.Headers["x-ms-meta-owner"] != "ann" {
		t.Fatalf("put grant %+v", g)
	}
	if status, code, _ := send(t, g.Method, g.URL, g.Headers, data); status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", status, code)
	}
	h := e.expectBlob(t, key, data)
	if h.Get("Content-Type") != "application/x-report" || h.Get("x-ms-meta-owner") != "ann" {
		t.Errorf("the blob's headers: %v", h)
	}
	name := "Rapport final é.bin"
	get := presignJSON(t, e.tg, map[string]any{"op": "get", "key": key, "filename": name})
	status, code, rh := send(t, get.Method, get.URL, get.Headers, nil)
	if status != http.StatusOK || rh.Get("X-Test-Body") != string(data) {
		t.Fatalf("GET: %d %s", status, code)
	}
	if got, want := rh.Get("Content-Disposition"), presign.ContentDisposition(name); got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	if rh.Get("Content-Type") != "application/x-report" {
		t.Errorf("Content-Type %q, want the blob's own", rh.Get("Content-Type"))
	}
}

func (e *azureEnv) testHeadDelete(t *testing.T) {
	key := "files/gone.txt"
	g := presignJSON(t, e.tg, map[string]any{"op": "put", "key": key})
	if status, code, _ := send(t, g.Method, g.URL, g.Headers, []byte("bye")); status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", status, code)
	}
	// A SAS does not bind the method: a read SAS made for HEAD downloads
	// the blob too, so presign signs no head URLs here (422; ask for get).
	status, body := callAPI(t, e.tg, "POST", "/v1/presign", map[string]any{"op": "head", "key": key})
	expectStatus(t, "head", status, body, 422)
	get := presignJSON(t, e.tg, map[string]any{"op": "get", "key": key})
	if status, code, h := send(t, "HEAD", get.URL, nil, nil); status != http.StatusOK || h.Get("Content-Length") != "3" {
		t.Fatalf("HEAD with the get URL: %d %s %v", status, code, h)
	}
	// A read URL does not delete.
	if status, code, _ := send(t, "DELETE", get.URL, nil, nil); status != http.StatusForbidden || code != "AuthorizationPermissionMismatch" {
		t.Errorf("DELETE with the get URL: %d %s, want 403 AuthorizationPermissionMismatch", status, code)
	}
	del := presignJSON(t, e.tg, map[string]any{"op": "delete", "key": key})
	if status, code, _ := send(t, del.Method, del.URL, del.Headers, nil); status != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", status, code)
	}
	e.expectNoBlob(t, key)
}

// withQuery returns u with its query parameter name set to value.
func withQuery(t *testing.T, u, name, value string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set(name, value)
	pu.RawQuery = q.Encode()
	return pu.String()
}

func (e *azureEnv) testRefusals(t *testing.T) {
	put := presignJSON(t, e.tg, map[string]any{"op": "put", "key": "files/refused.bin"})
	get := presignJSON(t, e.tg, map[string]any{"op": "get", "key": "files/refused.bin"})
	// A URL signed two hours ago for a minute: expired.
	past, err := presign.New(presign.Config{Backends: []presign.Backend{e.backend}, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := past.Issue(context.Background(), presign.Principal{Kind: presign.KindAPIKey, Name: "e2e"},
		presign.Request{Op: presign.OpPut, Key: "files/refused.bin", ExpiresIn: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	sig := put.URL[strings.Index(put.URL, "sig=")+4:]
	sig = sig[:strings.IndexByte(sig+"&", '&')]
	flipped := "A"
	if strings.HasPrefix(sig, "A") {
		flipped = "B"
	}
	for _, tc := range []struct {
		name, method, url string
		headers           map[string]string
		want              int
		code              string
	}{
		{"tampered signature", "PUT", strings.Replace(put.URL, "sig="+sig, "sig="+flipped+sig[1:], 1), put.Headers, 403, "AuthorizationFailure"},
		{"permissions widened", "PUT", withQuery(t, get.URL, "sp", "rw"), put.Headers, 403, "AuthorizationFailure"},
		{"expiry extended", "PUT", withQuery(t, put.URL, "se", time.Now().Add(48*time.Hour).UTC().Format("2006-01-02T15:04:05Z")), put.Headers, 403, "AuthorizationFailure"},
		{"another blob", "PUT", strings.Replace(put.URL, "/files/refused.bin?", "/files/other.bin?", 1), put.Headers, 403, "AuthorizationFailure"},
		{"expired", "PUT", expired.URL, expired.Headers, 403, "AuthorizationFailure"},
		{"a get URL used to put", "PUT", get.URL, put.Headers, 403, "AuthorizationPermissionMismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, _ := send(t, tc.method, tc.url, tc.headers, []byte("x"))
			if status != tc.want || code != tc.code {
				t.Errorf("%d %s, want %d %s", status, code, tc.want, tc.code)
			}
		})
	}
	e.expectNoBlob(t, "files/refused.bin")
	e.expectNoBlob(t, "files/other.bin")
	// The untampered URL works.
	if status, code, _ := send(t, put.Method, put.URL, put.Headers, []byte("x")); status != http.StatusCreated {
		t.Fatalf("the untampered PUT: %d %s", status, code)
	}
}

func (e *azureEnv) testNoOverwritePut(t *testing.T) {
	key := "fixed/once.txt"
	first := presignJSON(t, e.tg, map[string]any{"op": "put", "key": key, "content_type": "text/plain"})
	u, _ := url.Parse(first.URL)
	if u.Query().Get("sp") != "c" || first.Headers["If-None-Match"] != "*" {
		t.Fatalf("a no-overwrite put: sp=%s, headers %v; want sp=c and If-None-Match: *", u.Query().Get("sp"), first.Headers)
	}
	if status, code, _ := send(t, first.Method, first.URL, first.Headers, []byte("first")); status != http.StatusCreated {
		t.Fatalf("the first PUT: %d %s", status, code)
	}
	second := presignJSON(t, e.tg, map[string]any{"op": "put", "key": key, "content_type": "text/plain"})
	withoutCondition := map[string]string{}
	for k, v := range second.Headers {
		if k != "If-None-Match" {
			withoutCondition[k] = v
		}
	}
	// Refused by the SAS's permission, whether or not the client sends
	// If-None-Match (Azure checks the permission first).
	for _, h := range []map[string]string{second.Headers, withoutCondition} {
		if status, code, _ := send(t, second.Method, second.URL, h, []byte("second")); status != http.StatusForbidden || code != "AuthorizationPermissionMismatch" {
			t.Errorf("a PUT over the blob (If-None-Match sent: %v): %d %s, want 403 AuthorizationPermissionMismatch", h["If-None-Match"] != "", status, code)
		}
	}
	e.expectBlob(t, key, []byte("first"))
}

// putParts puts each part of data (in parts of size) with its URL.
func putParts(t *testing.T, parts []httpapi.PartURL, data []byte, size int64) {
	t.Helper()
	for _, p := range parts {
		if status, _, body := putPart(t, p, partBytes(data, size, p.PartNumber)); status != http.StatusCreated {
			t.Fatalf("part %d: %d %s", p.PartNumber, status, body)
		}
	}
}

func (e *azureEnv) testMultipart(t *testing.T) {
	key := "files/big video.mp4"
	data := randomBytes(t, 11<<20+3)
	up := startUpload(t, e.tg, map[string]any{"key": key, "size": len(data), "content_type": "video/mp4", "metadata": map[string]string{"owner": "bob"}})
	if up.PartCount != 3 || up.PartSize != 5<<20 {
		t.Fatalf("upload %+v", up)
	}
	// Parts 1 and 3, then a reload: the list says what to send.
	putParts(t, signParts(t, e.tg, up.Upload, 3, 1), data, up.PartSize)
	listed := listParts(t, e.tg, up.Upload)
	want := []httpapi.ListedPart{{PartNumber: 1, Size: 5 << 20}, {PartNumber: 3, Size: 1<<20 + 3}}
	if !equalJSON(t, want, listed) {
		t.Fatalf("listed %+v, want %+v", listed, want)
	}
	status, body := completeUpload(t, e.tg, up.Upload, nil)
	expectStatus(t, "complete with part 2 missing", status, body, 400)
	e.expectNoBlob(t, key)
	putParts(t, signParts(t, e.tg, up.Upload, 2), data, up.PartSize)
	status, body = completeUpload(t, e.tg, up.Upload, nil)
	expectStatus(t, "complete", status, body, 200)
	var done httpapi.CompleteResponse
	if err := json.Unmarshal(body, &done); err != nil {
		t.Fatal(err)
	}
	h := e.expectBlob(t, key, data)
	if done.Size != int64(len(data)) || done.ContentType != "video/mp4" || done.ETag != h.Get("ETag") || done.Key != key {
		t.Errorf("complete answered %s; the blob: %v", body, h)
	}
	if h.Get("Content-Type") != "video/mp4" || h.Get("x-ms-meta-owner") != "bob" || len(h.Get("x-ms-meta-presign_upload")) != 16 {
		t.Errorf("the blob's headers: %v", h)
	}
	// Complete again: the same answer, nothing written.
	status, again := completeUpload(t, e.tg, up.Upload, nil)
	expectStatus(t, "complete again", status, again, 200)
	if !sameCompletion(t, body, again) {
		t.Errorf("complete again answered %s, first %s", again, body)
	}
	if _, _, h2 := e.blob(t, key); h2.Get("ETag") != h.Get("ETag") || h2.Get("Last-Modified") != h.Get("Last-Modified") {
		t.Errorf("the second complete rewrote the blob")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// testMultipartUnderLimits: a part URL is a write SAS on the blob (Put
// Block needs write; the block id and comp are not signed), so whoever
// holds one can write the blob whole with a plain Put Blob — past any
// limit presign would check at complete. Multipart uploads are therefore
// refused under a size limit (and under type, overwrite limits and
// quotas, TestAzureRefusals); this shows what a part URL can do under a
// rule without limits.
func (e *azureEnv) testMultipartUnderLimits(t *testing.T) {
	status, body := callAPI(t, e.tg, "POST", "/v1/uploads", map[string]any{"key": "capped/a.bin", "size": 1 << 20})
	expectStatus(t, "multipart under a size limit", status, body, 422)
	if !strings.Contains(string(body), "a part URL could write the object whole") {
		t.Errorf("the reason: %s", body)
	}
	key := "files/part-as-blob.bin"
	up := startUpload(t, e.tg, map[string]any{"key": key, "size": 1000})
	parts := signParts(t, e.tg, up.Upload, 1)
	u, err := url.Parse(parts[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("comp")
	q.Del("blockid")
	u.RawQuery = q.Encode()
	whole := []byte("written whole through a part URL")
	if status, code, _ := send(t, "PUT", u.String(), map[string]string{"x-ms-blob-type": "BlockBlob"}, whole); status != http.StatusCreated {
		t.Fatalf("Put Blob with a part URL: %d %s — if Azure refused it, multipart could be allowed under limits", status, code)
	}
	e.expectBlob(t, key, whole)
}

func (e *azureEnv) testVerifiedPut(t *testing.T) {
	key := "files/verified.csv"
	data := []byte("a,b\n1,2\n")
	g := presignJSON(t, e.tg, map[string]any{"op": "put", "key": key, "content_type": "text/csv", "content_length": len(data)})
	if g.Upload == "" || len(g.Headers["x-ms-meta-presign_upload"]) != 16 {
		t.Fatalf("grant %+v: no upload token or stamp", g)
	}
	status, body := completeUpload(t, e.tg, g.Upload, nil)
	expectStatus(t, "complete before the upload", status, body, 404)
	if status, code, _ := send(t, g.Method, g.URL, g.Headers, data); status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", status, code)
	}
	status, body = completeUpload(t, e.tg, g.Upload, nil)
	expectStatus(t, "complete", status, body, 200)
	var done httpapi.CompleteResponse
	if err := json.Unmarshal(body, &done); err != nil {
		t.Fatal(err)
	}
	_, _, h := e.blob(t, key)
	if done.Size != int64(len(data)) || done.ContentType != "text/csv" || done.ETag != h.Get("ETag") {
		t.Errorf("complete answered %s", body)
	}
	status, again := completeUpload(t, e.tg, g.Upload, nil)
	expectStatus(t, "complete again", status, again, 200)
	if !sameCompletion(t, body, again) {
		t.Errorf("complete again answered %s, first %s", again, body)
	}
	// What the SAS cannot bind, the completion checks: the same grant used
	// with another type, or without the stamp.
	other := map[string]string{}
	for k, v := range g.Headers {
		other[k] = v
	}
	other["Content-Type"] = "text/html"
	if status, code, _ := send(t, g.Method, g.URL, other, data); status != http.StatusCreated {
		t.Fatalf("PUT with another type: %d %s (a SAS binds no header)", status, code)
	}
	status, body = completeUpload(t, e.tg, g.Upload, nil)
	expectStatus(t, "complete of a blob of another type", status, body, 400)
	delete(other, "x-ms-meta-presign_upload")
	other["Content-Type"] = "text/csv"
	if status, code, _ := send(t, g.Method, g.URL, other, data); status != http.StatusCreated {
		t.Fatalf("PUT without the stamp: %d %s", status, code)
	}
	status, body = completeUpload(t, e.tg, g.Upload, nil)
	expectStatus(t, "complete of a blob without the stamp", status, body, 404)
}

func (e *azureEnv) testUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		req  map[string]any
		want string
	}{
		{"post", "/v1/presign", map[string]any{"op": "post", "key": "forms/a.txt"}, "cannot sign browser POST uploads: its store (azure) does not enforce it"},
		{"list", "/v1/presign", map[string]any{"op": "list", "prefix": "forms/"}, "cannot sign listings: its store (azure) does not enforce it"},
		{"put under a size limit", "/v1/presign", map[string]any{"op": "put", "key": "capped/a.bin", "content_length": 10},
			"cannot sign a single upload of a limited size: its store (azure) does not enforce it; allow uploads to it only in a rule without that limit"},
		{"put of a limited type", "/v1/presign", map[string]any{"op": "put", "key": "typed/a.png", "content_type": "image/png"},
			"cannot sign a single upload of a limited content type: its store (azure) does not enforce it; allow uploads to it only in a rule without that limit"},
		{"multipart of a limited type", "/v1/uploads", map[string]any{"key": "typed/a.png", "size": 10, "content_type": "image/png"},
			"cannot sign a multipart upload under a limit of size, type or overwriting, or a quota"},
		{"multipart without overwrite", "/v1/uploads", map[string]any{"key": "fixed/a.bin", "size": 10},
			"cannot sign a multipart upload under a limit of size, type or overwriting, or a quota"},
		{"content_md5", "/v1/presign", map[string]any{"op": "put", "key": "files/a.bin", "content_md5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
			"cannot sign content_md5: its store (azure) does not enforce it"},
		{"a whole-object checksum", "/v1/uploads", map[string]any{"key": "files/a.bin", "size": 1, "checksum_crc64nvme": "AAAAAAAAAAA="},
			"cannot sign a whole-object CRC64NVME checksum: its store (azure) does not enforce it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := callAPI(t, e.tg, "POST", tc.path, tc.req)
			expectStatus(t, tc.name, status, body, 422)
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("the reason: %s\nwant it to say %q", body, tc.want)
			}
		})
	}
}
