package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
)

// fakeStore is the store of the handler tests: uploads are created, and
// every upload holds one 10-byte part; completing answers an ETag.
type fakeStore struct {
	created int
	last    presign.CreateMultipartInput
}

func (s *fakeStore) CreateMultipartUpload(_ context.Context, in presign.CreateMultipartInput) (string, error) {
	s.created++
	s.last = in
	return fmt.Sprintf("store-upload-%d", s.created), nil
}

func (s *fakeStore) ListParts(context.Context, string, string, string) ([]presign.Part, error) {
	return []presign.Part{{PartNumber: 1, Size: 10, ETag: `"p1"`}}, nil
}

func (s *fakeStore) CompleteMultipartUpload(context.Context, presign.CompleteMultipartInput) (presign.CompletedObject, error) {
	return presign.CompletedObject{ETag: `"obj-1"`}, nil
}

func (s *fakeStore) AbortMultipartUpload(context.Context, string, string, string) error { return nil }

func (s *fakeStore) HeadObject(context.Context, string, string) (presign.ObjectInfo, error) {
	return presign.ObjectInfo{}, &presign.StoreError{StatusCode: 404}
}

const otherKey = "other-api-key-0123456789"

func uploadsHandler(t testing.TB) *Handler {
	return New(Options{
		Issuer: testIssuer(t), CompanionPath: "/companion", CORSOrigins: []string{"https://app.example.com"},
		Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}, {Name: "other", Hash: sha256.Sum256([]byte(otherKey))}},
	})
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	return v
}

func TestUploadRoutes(t *testing.T) {
	h := uploadsHandler(t)
	rec := run(t, h, httpCase{method: "POST", target: "/v1/uploads", body: `{"key":"big.bin","size":10}`, wantStatus: 200})
	up := decode[UploadStartResponse](t, rec)
	if up.Key != "big.bin" || up.Bucket != "bucket" || up.PartSize != presign.MinPartSize || up.PartCount != 1 || !strings.HasPrefix(up.Upload, "u1.t1.") {
		t.Fatalf("start answered %+v", up)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("a token answer may be cached")
	}
	tok := up.Upload
	rec = run(t, h, httpCase{method: "POST", target: "/v1/uploads/parts", wantStatus: 200,
		body: `{"upload":"` + tok + `","part_numbers":[1],"checksums":[{"part_number":1,"checksum_sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]}`})
	parts := decode[PartsResponse](t, rec).Parts
	if len(parts) != 1 || parts[0].PartNumber != 1 || parts[0].Headers["Content-Length"] != "10" ||
		parts[0].Headers["x-amz-checksum-sha256"] == "" || !strings.Contains(parts[0].URL, "uploadId=store-upload-1") {
		t.Fatalf("parts answered %s", rec.Body)
	}
	rec = run(t, h, httpCase{method: "POST", target: "/v1/uploads/list", body: `{"upload":"` + tok + `"}`, wantStatus: 200})
	if diff := cmp.Diff(ListPartsResponse{Parts: []ListedPart{{PartNumber: 1, Size: 10, ETag: `"p1"`}}}, decode[ListPartsResponse](t, rec)); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	rec = run(t, h, httpCase{method: "POST", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `","parts":[{"part_number":1,"etag":"p1"}]}`, wantStatus: 200})
	want := CompleteResponse{Key: "big.bin", Bucket: "bucket", Size: 10, ETag: `"obj-1"`, ContentType: "application/octet-stream"}
	if diff := cmp.Diff(want, decode[CompleteResponse](t, rec)); diff != "" {
		t.Errorf("complete (-want +got):\n%s", diff)
	}
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/abort", body: `{"upload":"` + tok + `"}`, wantStatus: 200, wantBody: "{}\n"})

	tampered := tok[:len(tok)-4] + "AAAA"
	for _, tc := range []httpCase{
		{name: "size missing", target: "/v1/uploads", body: `{"key":"k"}`, wantStatus: 400},
		{name: "negative size", target: "/v1/uploads", body: `{"key":"k","size":-1}`, wantStatus: 400},
		{name: "unknown field", target: "/v1/uploads", body: `{"key":"k","size":1,"sise":2}`, wantStatus: 400},
		{name: "part size too small", target: "/v1/uploads", body: `{"key":"k","size":20000000,"part_size":1000}`, wantStatus: 400},
		{name: "no credential", target: "/v1/uploads", body: `{"key":"k","size":1}`, noAuth: true, wantStatus: 401},
		{name: "no upload", target: "/v1/uploads/parts", body: `{"part_numbers":[1]}`, wantStatus: 400},
		{name: "part twice", target: "/v1/uploads/parts", body: `{"upload":"` + tok + `","part_numbers":[1,1]}`, wantStatus: 400},
		{name: "checksum of a part not asked", target: "/v1/uploads/parts", body: `{"upload":"` + tok + `","part_numbers":[1],"checksums":[{"part_number":2}]}`, wantStatus: 400},
		{name: "part beyond the upload", target: "/v1/uploads/parts", body: `{"upload":"` + tok + `","part_numbers":[2]}`, wantStatus: 400},
		{name: "tampered token", target: "/v1/uploads/parts", body: `{"upload":"` + tampered + `","part_numbers":[1]}`, wantStatus: 401},
		{name: "another caller's token", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `"}`, noAuth: true,
			header: map[string]string{"Authorization": "Bearer " + otherKey}, wantStatus: 403},
		{name: "complete names a part twice", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `","parts":[{"part_number":1,"etag":"p1"},{"part_number":1,"etag":"p1"}]}`, wantStatus: 400},
		{name: "tokens: negative lifetime", target: "/v1/tokens", body: `{"expires_in":-1}`, wantStatus: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.method = "POST"
			tc.wantCode = map[int]presign.Code{400: presign.CodeInvalidArgument, 401: presign.CodeUnauthenticated, 403: presign.CodePermissionDenied}[tc.wantStatus]
			run(t, h, tc)
		})
	}
}

func TestPathTokenRoute(t *testing.T) {
	h := uploadsHandler(t)
	for _, tc := range []struct {
		name, body, proto, wantScheme string
	}{
		{"no body", "", "", "http"},
		{"behind a TLS proxy", `{"expires_in":600}`, "https", "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := map[string]string{}
			if tc.proto != "" {
				header["X-Forwarded-Proto"] = tc.proto
			}
			rec := run(t, h, httpCase{method: "POST", target: "/v1/tokens", body: tc.body, header: header, wantStatus: 200})
			got := decode[PathTokenResponse](t, rec)
			want := tc.wantScheme + "://example.com/companion/t/" + got.Token
			if got.CompanionEndpoint != want || got.ExpiresAt.IsZero() {
				t.Errorf("answered %+v, want companion_endpoint %s", got, want)
			}
			// The path token authenticates the Companion routes.
			rec = run(t, h, httpCase{method: "POST", target: "/companion/t/" + got.Token + "/s3/multipart", noAuth: true,
				body: `{"filename":"a.bin","type":"application/octet-stream"}`, wantStatus: 200})
			if up := decode[map[string]string](t, rec); up["key"] != "a.bin" || up["uploadId"] == "" || up["bucket"] != "bucket" {
				t.Errorf("create answered %s", rec.Body)
			}
		})
	}
	run(t, h, httpCase{method: "GET", target: "/companion/t/u1.t1.AAAA/s3/params?filename=a", noAuth: true, wantStatus: 401,
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if e := decode[map[string]string](t, rec); e["error"] == "" || e["message"] != e["error"] {
				t.Errorf("error body %s, want Companion's {error, message}", rec.Body)
			}
		}})
}

func TestCompanionRoutes(t *testing.T) {
	h := uploadsHandler(t)
	rec := run(t, h, httpCase{method: "GET", target: "/companion/s3/params?filename=hello+w%C3%B6rld.bin&type=application%2Fpdf" +
		"&metadata%5Bname%5D=hello&metadata%5Btype%5D=application%2Fpdf&metadata%5BrelativePath%5D=null", wantStatus: 200})
	params := decode[struct {
		Method  string
		URL     string
		Fields  map[string]string
		Expires *int64
	}](t, rec)
	if params.Method != "POST" || params.Fields["key"] != "hello wörld.bin" || params.Fields["Content-Type"] != "application/pdf" ||
		params.Expires == nil || strings.Contains(rec.Body.String(), "x-amz-meta") {
		t.Errorf("params answered %s", rec.Body)
	}
	rec = run(t, h, httpCase{method: "POST", target: "/companion/s3/multipart", wantStatus: 200,
		body: `{"filename":"a b+c.bin","type":"video/mp4","metadata":{"name":"a b+c.bin","caption":"x"},"extra":1}`})
	created := decode[map[string]string](t, rec)
	// caption is metadata no rule of the test's (allow-all) forbids.
	if created["key"] != "a b+c.bin" || created["uploadId"] == "" {
		t.Fatalf("create answered %s", rec.Body)
	}
	id, q := url.PathEscape(created["uploadId"]), "?key="+url.QueryEscape(created["key"])
	rec = run(t, h, httpCase{method: "GET", target: "/companion/s3/multipart/" + id + "/7" + q, wantStatus: 200})
	signed := decode[map[string]any](t, rec)
	if u, _ := signed["url"].(string); !strings.Contains(u, "partNumber=7") || strings.Contains(u, "content-length") {
		t.Errorf("sign answered %s; want part 7's URL without a signed size", rec.Body)
	}
	rec = run(t, h, httpCase{method: "GET", target: "/companion/s3/multipart/" + id + "/batch" + q + "&partNumbers=1,2", wantStatus: 200})
	if b := decode[map[string]map[string]string](t, rec)["presignedUrls"]; len(b) != 2 || b["2"] == "" {
		t.Errorf("batch answered %s", rec.Body)
	}
	run(t, h, httpCase{method: "GET", target: "/companion/s3/multipart/" + id + q, wantStatus: 200,
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			var parts []map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &parts); err != nil || len(parts) != 1 || parts[0]["PartNumber"] != float64(1) || parts[0]["ETag"] != `"p1"` {
				t.Errorf("list answered %s: a bare array of {PartNumber (a number), ETag, Size}", rec.Body)
			}
		}})
	rec = run(t, h, httpCase{method: "POST", target: "/companion/s3/multipart/" + id + "/complete" + q,
		body: `{"parts":[{"PartNumber":1,"ETag":"\"p1\""}]}`, wantStatus: 200})
	if done := decode[map[string]string](t, rec); done["location"] != "http://127.0.0.1:9000/bucket/a%20b+c.bin" || done["key"] != "a b+c.bin" || done["bucket"] != "bucket" {
		t.Errorf("complete answered %s", rec.Body)
	}
	run(t, h, httpCase{method: "DELETE", target: "/companion/s3/multipart/" + id + q, wantStatus: 200, wantBody: "{}\n"})

	for _, tc := range []httpCase{
		{name: "params without filename", method: "GET", target: "/companion/s3/params", wantStatus: 400},
		{name: "create without type", method: "POST", target: "/companion/s3/multipart", body: `{"filename":"a"}`, wantStatus: 400},
		{name: "sign without key", method: "GET", target: "/companion/s3/multipart/" + id + "/1", wantStatus: 400},
		{name: "part 0", method: "GET", target: "/companion/s3/multipart/" + id + "/0" + q, wantStatus: 400},
		{name: "part 10001", method: "GET", target: "/companion/s3/multipart/" + id + "/10001" + q, wantStatus: 400},
		{name: "batch without numbers", method: "GET", target: "/companion/s3/multipart/" + id + "/batch" + q, wantStatus: 400},
		{name: "complete with a string part number", method: "POST", target: "/companion/s3/multipart/" + id + "/complete" + q,
			body: `{"parts":[{"PartNumber":"1","ETag":"x"}]}`, wantStatus: 400},
		{name: "not a token", method: "DELETE", target: "/companion/s3/multipart/nope" + q, wantStatus: 401},
		{name: "no credential", method: "POST", target: "/companion/s3/multipart", body: `{"filename":"a","type":"b"}`, noAuth: true, wantStatus: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check = func(t *testing.T, rec *httptest.ResponseRecorder) {
				if e := decode[map[string]string](t, rec); e["error"] == "" || e["message"] != e["error"] {
					t.Errorf("error body %s, want Companion's {error, message}", rec.Body)
				}
			}
			run(t, h, tc)
		})
	}
	// A preflight for 5.x's DELETE with Authorization and Accept.
	rec = run(t, h, httpCase{method: "OPTIONS", target: "/companion/s3/multipart/" + id, noAuth: true, wantStatus: 204,
		header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE",
			"Access-Control-Request-Headers": "authorization,accept"}})
	if m := rec.Header().Get("Access-Control-Allow-Methods"); !strings.Contains(m, "DELETE") || !strings.Contains(m, "GET") {
		t.Errorf("preflight allows %q", m)
	}
	if hs := rec.Header().Get("Access-Control-Allow-Headers"); !strings.Contains(hs, "Authorization") || !strings.Contains(hs, "Accept") {
		t.Errorf("preflight allows headers %q", hs)
	}
}

// BenchmarkUploadParts signs batches of 100 part URLs: through the whole
// handler (POST /v1/uploads/parts: routing, auth, JSON, token, signing),
// the issuer's SignParts alone, and the signer alone; parts/s is the
// figure of docs/benchmarks.md.
func BenchmarkUploadParts(b *testing.B) {
	const batch = 100
	h := uploadsHandler(b)
	iss := testIssuer(b)
	p := presign.Principal{Kind: presign.KindAPIKey, Name: "web"}
	up, err := iss.CreateUpload(context.Background(), p, presign.UploadRequest{Key: "videos/2026/big movie.mp4", Size: 1000 * presign.MinPartSize})
	if err != nil {
		b.Fatal(err)
	}
	numbers := make([]string, batch)
	parts := make([]presign.PartRequest, batch)
	for i := range numbers {
		numbers[i] = strconv.Itoa(i + 1)
		parts[i].Number = i + 1
	}
	body := `{"upload":"` + up.Token + `","part_numbers":[` + strings.Join(numbers, ",") + `]}`
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "parts/s")
	}
	check := httptest.NewRecorder()
	checkReq := httptest.NewRequest("POST", "/v1/uploads/parts", strings.NewReader(body))
	checkReq.Header.Set("Authorization", "Bearer "+testKey)
	if h.ServeHTTP(check, checkReq); check.Code != 200 || strings.Count(check.Body.String(), `"url"`) != batch {
		b.Fatalf("status %d: %.300s", check.Code, check.Body)
	}
	b.Run("layer=handler", func(b *testing.B) {
		benchServe(b, h, "/v1/uploads/parts", body)
		report(b)
	})
	b.Run("layer=signparts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := iss.SignParts(context.Background(), p, up.Token, parts); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

type countingObserver struct{ uploads map[string]int64 }

func (o *countingObserver) ObserveRequest(string, int, time.Duration) {}
func (o *countingObserver) ObserveUpload(event string, n int64)       { o.uploads[event] += n }

// Every upload decision is audited, and the events counted once.
func TestUploadAuditAndMetrics(t *testing.T) {
	var logs bytes.Buffer
	obs := &countingObserver{uploads: map[string]int64{}}
	h := New(Options{Issuer: testIssuer(t), Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Observer: obs,
		Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	tok := decode[UploadStartResponse](t, run(t, h, httpCase{method: "POST", target: "/v1/uploads", body: `{"key":"a.bin","size":10}`, wantStatus: 200})).Upload
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/parts", body: `{"upload":"` + tok + `","part_numbers":[1]}`, wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/parts", body: `{"upload":"x","part_numbers":[1]}`, wantStatus: 401})
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `"}`, wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/uploads/abort", body: `{"upload":"` + tok + `"}`, wantStatus: 200})
	if diff := cmp.Diff(map[string]int64{UploadCreated: 1, PartURLsSigned: 1, UploadCompleted: 10, UploadAborted: 1}, obs.uploads); diff != "" {
		t.Errorf("upload events (-want +got):\n%s", diff)
	}
	var ops []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l struct {
			Msg, Op, Key, Rule string
			Allowed            bool
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.Msg == "decision" {
			ops = append(ops, fmt.Sprintf("%s %v %s", l.Op, l.Allowed, l.Key))
		}
	}
	want := []string{"multipart true a.bin", "multipart.parts false ", "complete true a.bin", "multipart.abort true "}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("audit lines (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), "X-Amz-Signature") {
		t.Error("the audit log holds a token or a signature")
	}
}
