package presign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"presign.dev/gcsv4"
	"presign.dev/internal/oracle/gcsref"
	"presign.dev/sigv4"
)

// Kind gcs is tested without Google: no local emulator checks V4
// signatures (fake-gcs-server and storage-testbench accept any). The
// signatures are gcsv4's, which passes Google's conformance vectors; here
// every grant is compared with what Google's Go library
// (cloud.google.com/go/storage, run by gcsv4/internal/gcsref) signs for the
// same request, key and time, and the store's HEAD and a verified put run
// against a fake of the XML API that checks each request's signature by
// Google's rules (gcsv4's canonical request) and answers as Cloud Storage
// documents.

const gcsEmail = "signer@project-1.iam.gserviceaccount.com"

var (
	gcsKeyOnce sync.Once
	gcsRSA     *rsa.PrivateKey
	gcsPEM     string
	gcsJSON    string
)

// gcsServiceAccount returns a service account key generated once per test
// process (2048 bits: gcsv4.MinRSABits): the RSA key, its PEM and the JSON
// key file.
func gcsServiceAccount(t testing.TB) (*rsa.PrivateKey, string, string) {
	t.Helper()
	gcsKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		gcsRSA, gcsPEM = k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		j, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "project-1",
			"client_email": gcsEmail, "private_key": gcsPEM})
		gcsJSON = string(j)
	})
	return gcsRSA, gcsPEM, gcsJSON
}

// gcsHMAC is an HMAC key in Cloud Storage's format (made up).
var gcsHMAC = sigv4.Credentials{AccessKeyID: "GOOG1EXAMPLEACCESSIDEXAMPLEACCESSIDEXAMPLEACCE", SecretAccessKey: "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"}

// gcsBackend is a valid gcs backend signing with the service account key.
func gcsBackend(t testing.TB) Backend {
	_, _, key := gcsServiceAccount(t)
	return Backend{Name: "default", Kind: KindGCS, Bucket: "bucket", ServiceAccountKey: key}
}

// zeroReader makes stamps predictable: 0000000000000000.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// isGoogAuthParam reports whether a query parameter is one of V4's own.
func isGoogAuthParam(name string) bool {
	switch name {
	case "X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires", "X-Goog-SignedHeaders", "X-Goog-Signature":
		return true
	}
	return false
}

// compareWithLibrary asks the library for the grant g of r, signed at
// testTime for expires with the same key, and compares: a URL byte for byte
// up to the library's encoding of the query (url.Values.Encode: sorted,
// space as +; ours is Google's canonical query, the signature last); a form's
// URL and fields exactly — but for a policy with several x-goog-meta-*
// fields, which the library writes in map order: then the policies must
// hold the same conditions and our signature must verify. maxSize is the
// upload limit that applies.
//
// The library's URL of a request on the bucket (a list) in virtual-hosted
// style lacks the "/" path that it signs (scheme://bucket.host?...), a
// known fault of the library (see gcsv4's differential tests): there the
// "/" is put back before comparing; the signatures must be the same.
func compareWithLibrary(t *testing.T, ref *gcsref.Library, b Backend, r Request, g Grant, expires time.Duration, maxSize int64) {
	t.Helper()
	_, keyPEM, _ := gcsServiceAccount(t)
	b = b.WithDefaults()
	e := newEndpoint(b)
	req := &gcsref.Request{Email: gcsEmail, Key: keyPEM, Bucket: b.Bucket, Object: r.Key, Style: "path",
		Insecure: e.scheme == "http", Now: testTime.Unix(), Expires: testTime.Add(expires).Unix()}
	if e.host != gcsv4.DefaultHost {
		req.Hostname = e.host
	}
	if gcsStyle(b.PathStyle, e.scheme, e.host, b.Bucket) == gcsv4.VirtualHostedStyle {
		req.Style = "virtual"
	}
	if r.Op == OpPost {
		req.Op = "post"
		req.Fields.ContentType = r.ContentType
		req.Fields.StatusCodeOnSuccess = 201
		meta := 0
		for name, v := range g.Fields {
			if strings.HasPrefix(name, "x-goog-meta-") {
				if req.Fields.Metadata == nil {
					req.Fields.Metadata = map[string]string{}
				}
				req.Fields.Metadata[name] = v
				meta++
			}
		}
		lo, hi := uint64(0), uint64(maxSize)
		if r.ContentLength != nil {
			lo, hi = uint64(*r.ContentLength), uint64(*r.ContentLength)
		}
		req.Length = []uint64{lo, hi}
		lib := ref.Sign(t, req)
		if g.URL != lib.URL {
			t.Errorf("form URL %s, library %s", g.URL, lib.URL)
		}
		ours := maps.Clone(g.Fields)
		if meta > 1 {
			conditions := func(policy string) []string {
				raw, err := base64.StdEncoding.DecodeString(policy)
				if err != nil {
					t.Fatalf("policy %q: %v", policy, err)
				}
				var doc struct {
					Conditions []json.RawMessage `json:"conditions"`
					Expiration string            `json:"expiration"`
				}
				if err := json.Unmarshal(raw, &doc); err != nil {
					t.Fatalf("policy %s: %v", raw, err)
				}
				out := []string{"expiration " + doc.Expiration}
				for _, c := range doc.Conditions {
					var v any
					json.Unmarshal(c, &v)
					norm, _ := json.Marshal(v)
					out = append(out, string(norm))
				}
				slices.Sort(out)
				return out
			}
			if diff := cmp.Diff(conditions(lib.Fields["policy"]), conditions(ours["policy"])); diff != "" {
				t.Errorf("policies differ (-library +ours):\n%s", diff)
			}
			sig, _ := hex.DecodeString(ours["x-goog-signature"])
			sum := sha256.Sum256([]byte(ours["policy"]))
			if err := rsa.VerifyPKCS1v15(&gcsRSA.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
				t.Errorf("our form's signature does not verify: %v", err)
			}
			for _, m := range []map[string]string{ours, lib.Fields} {
				delete(m, "policy")
				delete(m, "x-goog-signature")
			}
		}
		if diff := cmp.Diff(lib.Fields, ours); diff != "" {
			t.Errorf("form fields (-library +ours):\n%s", diff)
		}
		return
	}
	req.Op, req.Method = "url", g.Method
	before, query, _ := strings.Cut(g.URL, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("our URL %s: %v", g.URL, err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !isGoogAuthParam(name) {
			for _, v := range q[name] {
				req.Query = append(req.Query, [2]string{name, v})
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(g.Headers)) {
		req.Headers = append(req.Headers, name+":"+g.Headers[name])
	}
	lib := ref.Sign(t, req).URL
	if host, _, _ := strings.Cut(strings.TrimPrefix(lib, "https://"), "?"); r.Op == OpList && req.Style == "virtual" && !strings.Contains(host, "/") {
		lib = strings.Replace(lib, "?", "/?", 1)
	}
	if got := before + "?" + q.Encode(); got != lib {
		t.Errorf("URL differs from the library's\n ours %s\n  lib %s\n(ours as the library encodes a query: %s)", g.URL, lib, got)
	}
}

// signedHeaders returns a URL's X-Goog-SignedHeaders and its other
// parameters than V4's own.
func signedHeaders(t *testing.T, u string) (string, url.Values) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	sh := q.Get("X-Goog-SignedHeaders")
	for name := range q {
		if isGoogAuthParam(name) {
			q.Del(name)
		}
	}
	return sh, q
}

// TestGCSGrants: each op's grant carries exactly the headers or fields
// that Cloud Storage checks, signed — and is the URL or form Google's
// library signs for the same request, with the backend's path style.
func TestGCSGrants(t *testing.T) {
	ctx := context.Background()
	ref := gcsref.Start(t)
	n := int64(11)
	md5sum := "XUFAKrxLKna5cZ2REBfFkg==" // of "hello"
	stamp := "0000000000000000"
	const expires = 10 * time.Minute
	tests := []struct {
		name    string
		req     Request
		dec     Decision
		method  string
		headers map[string]string
		signed  string     // X-Goog-SignedHeaders
		query   url.Values // parameters besides V4's
		fields  []string   // a form's field names
		policy  []string   // a form's policy conditions, as JSON, in order (besides bucket, key and V4's)
	}{
		{name: "get", req: Request{Op: OpGet, Key: "dir/a b+ü.txt"}, method: "GET", signed: "host", query: url.Values{}},
		{name: "get with a file name", req: Request{Op: OpGet, Key: "k", Filename: "résumé.pdf"}, method: "GET", signed: "host",
			query: url.Values{"response-content-disposition": {ContentDisposition("résumé.pdf")}}},
		{name: "head", req: Request{Op: OpHead, Key: "k"}, method: "HEAD", signed: "host", query: url.Values{}},
		{name: "delete", req: Request{Op: OpDelete, Key: "tmp/keep"}, method: "DELETE", signed: "host", query: url.Values{}},
		{name: "put", req: Request{Op: OpPut, Key: "k"}, method: "PUT", headers: map[string]string{}, signed: "host", query: url.Values{}},
		{name: "put with every limit", req: Request{Op: OpPut, Key: "users/alice/a.txt", ContentType: "text/plain", ContentLength: &n,
			ContentMD5: md5sum, Metadata: map[string]string{"owner": "alice", "tag": "a b"}}, dec: Decision{NoOverwrite: true, MaxSize: 100},
			method: "PUT", headers: map[string]string{"Content-Type": "text/plain", "Content-Length": "11", "Content-MD5": md5sum,
				"x-goog-if-generation-match": "0", "x-goog-meta-owner": "alice", "x-goog-meta-tag": "a b"},
			signed: "content-length;content-md5;content-type;host;x-goog-if-generation-match;x-goog-meta-owner;x-goog-meta-tag", query: url.Values{}},
		{name: "put verified", req: Request{Op: OpPut, Key: "k", ContentLength: &n, Verify: true}, method: "PUT",
			headers: map[string]string{"Content-Length": "11", "x-goog-meta-presign-upload": stamp},
			signed:  "content-length;host;x-goog-meta-presign-upload", query: url.Values{}},
		{name: "list", req: Request{Op: OpList, Prefix: "users/alice/", Delimiter: "/", MaxKeys: 10, ContinuationToken: "CgJrMQ=="},
			method: "GET", signed: "host",
			query: url.Values{"list-type": {"2"}, "prefix": {"users/alice/"}, "delimiter": {"/"}, "max-keys": {"10"}, "continuation-token": {"CgJrMQ=="}}},
		{name: "list the bucket", req: Request{Op: OpList}, method: "GET", signed: "host", query: url.Values{"list-type": {"2"}, "prefix": {""}}},
		{name: "post", req: Request{Op: OpPost, Key: "k"}, method: "POST",
			fields: []string{"key", "policy", "success_action_status", "x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-signature"},
			policy: []string{`["content-length-range",0,5368709120]`, `{"success_action_status":"201"}`}},
		{name: "post with every limit", req: Request{Op: OpPost, Key: "users/alice/ü.png", ContentType: "image/png", ContentLength: &n,
			Metadata: map[string]string{"owner": "alice"}, Verify: true}, dec: Decision{MaxSize: 100}, method: "POST",
			fields: []string{"content-type", "key", "policy", "success_action_status", "x-goog-algorithm", "x-goog-credential", "x-goog-date",
				"x-goog-meta-owner", "x-goog-meta-presign-upload", "x-goog-signature"},
			policy: []string{`["content-length-range",11,11]`, `{"content-type":"image/png"}`, `{"success_action_status":"201"}`,
				`{"x-goog-meta-owner":"alice"}`, `{"x-goog-meta-presign-upload":"0000000000000000"}`}},
		{name: "post with a type", req: Request{Op: OpPost, Key: "k", ContentType: "image/png"}, method: "POST",
			fields: []string{"content-type", "key", "policy", "success_action_status", "x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-signature"},
			policy: []string{`["content-length-range",0,5368709120]`, `{"content-type":"image/png"}`, `{"success_action_status":"201"}`}},
		{name: "post up to the rule's size", req: Request{Op: OpPost, Key: "k"}, dec: Decision{MaxSize: 100}, method: "POST",
			fields: []string{"key", "policy", "success_action_status", "x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-signature"},
			policy: []string{`["content-length-range",0,100]`, `{"success_action_status":"201"}`}},
	}
	for _, style := range []struct {
		name      string
		pathStyle PathStyle
		host      func(bucket string) string
	}{
		{"virtual-hosted", PathStyleAuto, func(b string) string { return b + ".storage.googleapis.com" }},
		{"path style", PathStyleAlways, func(string) string { return "storage.googleapis.com" }},
	} {
		for _, tt := range tests {
			t.Run(style.name+"/"+tt.name, func(t *testing.T) {
				b := gcsBackend(t)
				b.PathStyle = style.pathStyle
				iss := kindIssuer(t, b, &tt.dec, nil)
				r := tt.req
				r.ExpiresIn = expires
				g, err := iss.Issue(ctx, alice, r)
				if err != nil {
					t.Fatal(err)
				}
				if g.Method != tt.method || !g.ExpiresAt.Equal(testTime.Add(expires)) {
					t.Errorf("method %s, expires at %s; want %s, %s", g.Method, g.ExpiresAt, tt.method, testTime.Add(expires))
				}
				if (tt.req.Verify) != (g.Upload != "") {
					t.Errorf("upload token %q; want one only when verified", g.Upload)
				}
				u, err := url.Parse(g.URL)
				if err != nil {
					t.Fatal(err)
				}
				if u.Scheme != "https" || u.Host != style.host(b.Bucket) {
					t.Errorf("URL %s: want https://%s", g.URL, style.host(b.Bucket))
				}
				if tt.method == "POST" {
					if g.Headers != nil {
						t.Errorf("a form with headers %v", g.Headers)
					}
					if diff := cmp.Diff(tt.fields, slices.Sorted(maps.Keys(g.Fields))); diff != "" {
						t.Errorf("form fields (-want +got):\n%s", diff)
					}
					if g.Fields["key"] != g.Key || g.Fields["x-goog-algorithm"] != gcsv4.AlgorithmRSA ||
						g.Fields["x-goog-credential"] != gcsEmail+"/20260524/auto/storage/goog4_request" || g.Fields["x-goog-date"] != "20260524T120000Z" {
						t.Errorf("form fields %v", g.Fields)
					}
					raw, _ := base64.StdEncoding.DecodeString(g.Fields["policy"])
					var doc struct {
						Conditions []json.RawMessage `json:"conditions"`
						Expiration string            `json:"expiration"`
					}
					if err := json.Unmarshal(raw, &doc); err != nil {
						t.Fatalf("policy %s: %v", raw, err)
					}
					var got []string
					for _, c := range doc.Conditions[:len(doc.Conditions)-5] { // then bucket, key and V4's own
						got = append(got, string(c))
					}
					if diff := cmp.Diff(tt.policy, got); diff != "" || doc.Expiration != "2026-05-24T12:10:00Z" {
						t.Errorf("policy %s (-want +got):\n%s", raw, diff)
					}
				} else {
					if diff := cmp.Diff(tt.headers, g.Headers); diff != "" {
						t.Errorf("headers (-want +got):\n%s", diff)
					}
					sh, q := signedHeaders(t, g.URL)
					if sh != tt.signed {
						t.Errorf("X-Goog-SignedHeaders %q; want %q", sh, tt.signed)
					}
					if diff := cmp.Diff(tt.query, q); diff != "" {
						t.Errorf("query (-want +got):\n%s", diff)
					}
				}
				maxSize := int64(MaxObjectSize)
				if tt.dec.MaxSize > 0 {
					maxSize = tt.dec.MaxSize
				}
				compareWithLibrary(t, ref, b, r, g, expires, maxSize)
			})
		}
	}
}

// TestGCSGrantsHMAC: an HMAC key signs GOOG4-HMAC-SHA256 (Google's library
// has no HMAC signing; gcsv4's is checked against known answers computed
// with openssl, and the fake below verifies it).
func TestGCSGrantsHMAC(t *testing.T) {
	b := Backend{Kind: KindGCS, Bucket: "bucket", Credentials: gcsHMAC, Region: "us-east1"}
	iss := kindIssuer(t, b, &Decision{}, nil)
	g, err := iss.Issue(context.Background(), alice, Request{Op: OpGet, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(g.URL)
	q := u.Query()
	if q.Get("X-Goog-Algorithm") != gcsv4.AlgorithmHMAC || q.Get("X-Goog-Credential") != gcsHMAC.AccessKeyID+"/20260524/us-east1/storage/goog4_request" ||
		len(q.Get("X-Goog-Signature")) != 64 {
		t.Errorf("URL %s: want an HMAC signature for location us-east1", g.URL)
	}
}

// TestGCSRefusals: what Cloud Storage would not enforce is refused with
// the reason (422 unsupported), and what it does is signed.
func TestGCSRefusals(t *testing.T) {
	ctx := context.Background()
	sha := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	n := int64(5)
	tests := []struct {
		name string
		dec  Decision
		mod  func(*Backend)
		do   func(*Issuer) error
		want Code
		says []string // in the message
	}{
		{name: "multipart", do: func(iss *Issuer) error {
			_, err := iss.CreateUpload(ctx, alice, UploadRequest{Key: "k", Size: 10 << 20})
			return err
		}, want: CodeUnsupported, says: []string{`backend "default"`, "multipart uploads", "gcs"}},
		{name: "put with SHA-256", do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ChecksumSHA256: sha})
			return err
		}, want: CodeUnsupported, says: []string{"x-amz-checksum-sha256", "gcs", "content_md5"}},
		{name: "post that must not overwrite", dec: Decision{Rule: "r", NoOverwrite: true}, do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k"})
			return err
		}, want: CodeUnsupported, says: []string{"must not overwrite", "put", "POST form"}},
		{name: "post key with ${filename}", do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "up/${filename}"})
			return err
		}, want: CodeInvalidArgument, says: []string{"${filename}"}},
		{name: "post: false", mod: func(b *Backend) { b.NoPost = true }, do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k"})
			return err
		}, want: CodeUnsupported, says: []string{"post: false"}},
		{name: "a put of limited size without its size", dec: Decision{MaxSize: 10}, do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k"})
			return err
		}, want: CodeInvalidArgument, says: []string{"content_length is required"}},
		{name: "a put that must not overwrite", dec: Decision{NoOverwrite: true}, do: func(iss *Issuer) error {
			g, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k"})
			if err == nil && g.Headers["x-goog-if-generation-match"] != "0" {
				return fmt.Errorf("grant %+v signs no precondition", g)
			}
			return err
		}},
		{name: "a put of limited size and type", dec: Decision{MaxSize: 10, TypeLimited: true}, do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentLength: &n, ContentType: "image/png"})
			return err
		}},
		{name: "a post of limited size and type", dec: Decision{MaxSize: 10, TypeLimited: true}, do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPost, Key: "k", ContentType: "image/png"})
			return err
		}},
		{name: "a put with MD5", do: func(iss *Issuer) error {
			_, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "k", ContentMD5: "XUFAKrxLKna5cZ2REBfFkg=="})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := gcsBackend(t)
			if tt.mod != nil {
				tt.mod(&b)
			}
			err := tt.do(kindIssuer(t, b, &tt.dec, nil))
			if got := ErrorCode(err); err != nil && got != tt.want || err == nil && tt.want != "" {
				t.Fatalf("%v; want code %q", err, tt.want)
			}
			if err != nil && !containsAll(ErrorMessage(err), tt.says...) {
				t.Errorf("message %q; want it to say %q", ErrorMessage(err), tt.says)
			}
		})
	}
}

func TestGCSBackendValidation(t *testing.T) {
	_, _, key := gcsServiceAccount(t)
	badPEM := `{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"}`
	tests := []struct {
		name string
		mod  func(*Backend)
		want Problems
	}{
		{name: "service account", mod: func(*Backend) {}},
		{name: "HMAC key", mod: func(b *Backend) { b.ServiceAccountKey, b.Credentials = "", gcsHMAC }},
		{name: "bucket with underscores and dots", mod: func(b *Backend) { b.Bucket = "my_bucket.example.com" }},
		{name: "no credentials", mod: func(b *Backend) { b.ServiceAccountKey = "" },
			want: Problems{{"service_account_key", "required: a service account's JSON key, or an HMAC key (access_key_id and secret_access_key)"}}},
		{name: "both credentials", mod: func(b *Backend) { b.Credentials = gcsHMAC },
			want: Problems{{"service_account_key", "give a service account key or an HMAC key (access_key_id, secret_access_key), not both"}}},
		{name: "not a key", mod: func(b *Backend) { b.ServiceAccountKey = "secret-text-not-json" },
			want: Problems{{"service_account_key", "the service account key is not a JSON object"}}},
		{name: "a key that does not parse", mod: func(b *Backend) { b.ServiceAccountKey = badPEM },
			want: Problems{{"service_account_key", "the private key does not parse as PKCS #8 or PKCS #1"}}},
		{name: "access ID alone", mod: func(b *Backend) {
			b.ServiceAccountKey, b.Credentials = "", sigv4.Credentials{AccessKeyID: "GOOG1X"}
		}, want: Problems{{"secret_access_key", "required with access_key_id: the HMAC key's secret"}}},
		{name: "secret alone", mod: func(b *Backend) {
			b.ServiceAccountKey, b.Credentials = "", sigv4.Credentials{SecretAccessKey: "s"}
		}, want: Problems{{"access_key_id", "required with secret_access_key: the HMAC key's access ID (GOOG1…)"}}},
		{name: "session token", mod: func(b *Backend) { b.ServiceAccountKey, b.Credentials = "", gcsHMAC; b.Credentials.SessionToken = "t" },
			want: Problems{{"session_token", "Cloud Storage's keys have no session token; remove it"}}},
		{name: "credential source", mod: func(b *Backend) { b.ServiceAccountKey, b.CredentialSource = "", &fakeSource{} },
			want: Problems{{"credentials.source", "kind gcs signs with a service account key or an HMAC key; credential sources are AWS's"}}},
		{name: "provider", mod: func(b *Backend) { b.Provider = ProviderGCS },
			want: Problems{{"provider", "applies to kind s3 only (kind gcs is Google's own API); remove it"}}},
		{name: "endpoint with a path", mod: func(b *Backend) { b.Endpoint = "https://storage.googleapis.com/storage/v1" },
			want: Problems{{"endpoint", `"https://storage.googleapis.com/storage/v1" has a path: Cloud Storage's XML API is at the root of its host, as in https://storage.googleapis.com`}}},
		{name: "endpoint not a URL", mod: func(b *Backend) { b.Endpoint = "gs://bucket" },
			want: Problems{{"endpoint", `"gs://bucket" is not an http(s) URL like https://storage.googleapis.com (no query, fragment or user info)`}}},
		{name: "location", mod: func(b *Backend) { b.Region = "us east1" },
			want: Problems{{"region", `"us east1" is not a location like auto or us-east1`}}},
		{name: "path style", mod: func(b *Backend) { b.PathStyle = "sometimes" },
			want: Problems{{"path_style", `"sometimes" must be true, false or auto`}}},
		{name: "max expires", mod: func(b *Backend) { b.MaxExpires = 8 * 24 * time.Hour },
			want: Problems{{"max_expires", "192h must be between 1s and 168h"}}},
		{name: "no bucket", mod: func(b *Backend) { b.Bucket = "" }, want: Problems{{"bucket", "required: the bucket to presign for"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Backend{Kind: KindGCS, Bucket: "bucket", ServiceAccountKey: key}
			tt.mod(&b)
			got := b.Validate()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, secret := range []string{"secret-text", "c2VjcmV0", gcsHMAC.SecretAccessKey, "BEGIN PRIVATE"} {
				if strings.Contains(got.Error(), secret) {
					t.Errorf("a problem quotes a secret: %s", got)
				}
			}
		})
	}
}

func TestValidateGCSBucket(t *testing.T) {
	long := strings.Repeat("a", 63)
	for name, ok := range map[string]bool{
		"bucket": true, "my_bucket-1": true, "a.b.c": true, long: true, long + "." + long + "." + long: true,
		"ab": false, long + "a": false, long + "a.b": false, "Bucket": false, "_bucket": false, "bucket-": false,
		"a..b": false, "192.168.5.4": false, "goog-bucket": false, "my-google-bucket": false, "a b": false,
		strings.Repeat(long+".", 4) + "a": false, // 257 characters
	} {
		if err := validateGCSBucket(name); (err == nil) != ok {
			t.Errorf("validateGCSBucket(%q) = %v; want ok %v", name, err, ok)
		}
	}
}

// TestGCSDefaults: the endpoint, location, path style and lifetime cap of
// a gcs backend that names none, and the addressing each style gives.
func TestGCSDefaults(t *testing.T) {
	got := gcsBackend(t).WithDefaults()
	want := Backend{Name: "default", Kind: KindGCS, Endpoint: "https://storage.googleapis.com", Region: "auto", Bucket: "bucket",
		PathStyle: PathStyleAuto, MaxExpires: 7 * 24 * time.Hour}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Backend{}, "ServiceAccountKey")); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		endpoint, bucket string
		style            PathStyle
		want             string // object URL of "a b"
	}{
		{"", "bucket", PathStyleAuto, "https://bucket.storage.googleapis.com/a%20b"},
		{"", "my.bucket", PathStyleAuto, "https://storage.googleapis.com/my.bucket/a%20b"},
		{"", "my_bucket", PathStyleAuto, "https://storage.googleapis.com/my_bucket/a%20b"},
		{"", "bucket", PathStyleAlways, "https://storage.googleapis.com/bucket/a%20b"},
		{"", "my.bucket", PathStyleVirtual, "https://my.bucket.storage.googleapis.com/a%20b"},
		{"http://127.0.0.1:4443", "bucket", PathStyleAuto, "http://127.0.0.1:4443/bucket/a%20b"},
		{"https://10.0.0.1", "bucket", PathStyleAuto, "https://10.0.0.1/bucket/a%20b"},
		{"https://storage.googleapis.com:443/", "bucket", PathStyleAuto, "https://bucket.storage.googleapis.com/a%20b"},
		{"https://Private.GoogleAPIs.com", "bucket", PathStyleAuto, "https://bucket.private.googleapis.com/a%20b"},
	} {
		b := gcsBackend(t)
		b.Endpoint, b.Bucket, b.PathStyle = tc.endpoint, tc.bucket, tc.style
		if ps := b.Validate(); len(ps) > 0 {
			t.Fatalf("%+v: %v", tc, ps)
		}
		s, err := newGCSSigner(b.WithDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if got := s.objectURL(tc.bucket, "a b"); got != tc.want {
			t.Errorf("%+v: object URL %s; want %s", tc, got, tc.want)
		}
	}
}

// fakeGCS is Cloud Storage's XML API for objects, as far as presign's
// URLs and store use it: PUT, GET, HEAD and DELETE through V4 signed URLs
// (path style). It checks each request as Google documents — the
// algorithm, the credential scope, the lifetime, and the signature over
// the canonical request rebuilt from the request as received (its method,
// path, query and the headers X-Goog-SignedHeaders names), with gcsv4 —
// and refuses besides any x-goog-* header that is not signed. It answers
// with Cloud Storage's headers: ETag (the MD5 in hex), x-goog-hash
// (crc32c and md5, one header each), x-goog-generation,
// x-goog-stored-content-length, x-goog-meta-*; x-goog-if-generation-match
// is honoured (0: only if no object is there), Content-MD5 checked.
type fakeGCS struct {
	signer *gcsv4.Signer
	now    time.Time

	mu         sync.Mutex
	objects    map[string]*gcsObject // by bucket/object
	generation int64
	seen       []*http.Request
}

type gcsObject struct {
	body        []byte
	contentType string
	meta        map[string]string // without the prefix
	generation  int64
	updated     time.Time
}

func newFakeGCS(t *testing.T, b Backend, now time.Time) (*fakeGCS, *httptest.Server) {
	t.Helper()
	s, err := newGCSSigner(b.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeGCS{signer: s.signer, now: now, objects: map[string]*gcsObject{}, generation: 1718658440946869}
	srv := httptest.NewServer(f) // on 127.0.0.1
	t.Cleanup(srv.Close)
	return f, srv
}

func gcsErrorAnswer(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status) // no body
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message></Error>", code, message)
}

func (f *fakeGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, r)
	bucket, object, err := f.verify(r)
	if err != nil {
		gcsErrorAnswer(w, r, http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
		return
	}
	name := bucket + "/" + object
	obj := f.objects[name]
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if obj == nil {
			gcsErrorAnswer(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		h := w.Header()
		md5sum := md5.Sum(obj.body)
		crc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(obj.body, crc32.MakeTable(crc32.Castagnoli)))
		h.Set("Content-Type", obj.contentType)
		h.Set("Content-Length", strconv.Itoa(len(obj.body)))
		h.Set("ETag", `"`+hex.EncodeToString(md5sum[:])+`"`)
		h.Set("Last-Modified", obj.updated.UTC().Format(http.TimeFormat))
		h.Set("x-goog-generation", strconv.FormatInt(obj.generation, 10))
		h.Set("x-goog-metageneration", "1")
		h.Set("x-goog-stored-content-encoding", "identity")
		h.Set("x-goog-stored-content-length", strconv.Itoa(len(obj.body)))
		h.Add("x-goog-hash", "crc32c="+base64.StdEncoding.EncodeToString(crc))
		h.Add("x-goog-hash", "md5="+base64.StdEncoding.EncodeToString(md5sum[:]))
		h.Set("x-goog-storage-class", "STANDARD")
		for k, v := range obj.meta {
			h.Set("x-goog-meta-"+k, v)
		}
		if d := r.URL.Query().Get("response-content-disposition"); d != "" {
			h.Set("Content-Disposition", d)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(obj.body)
		}
	case http.MethodPut:
		if v := r.Header.Get("x-goog-if-generation-match"); v != "" {
			if want, _ := strconv.ParseInt(v, 10, 64); (obj == nil) != (want == 0) || obj != nil && obj.generation != want {
				gcsErrorAnswer(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
				return
			}
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			gcsErrorAnswer(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		if v := r.Header.Get("Content-MD5"); v != "" {
			if sum := md5.Sum(body); v != base64.StdEncoding.EncodeToString(sum[:]) {
				gcsErrorAnswer(w, r, http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
				return
			}
		}
		f.generation++
		obj = &gcsObject{body: body, contentType: r.Header.Get("Content-Type"), meta: map[string]string{}, generation: f.generation, updated: f.now}
		if obj.contentType == "" {
			obj.contentType = "application/octet-stream"
		}
		for k, v := range r.Header {
			if m, ok := strings.CutPrefix(strings.ToLower(k), "x-goog-meta-"); ok {
				obj.meta[m] = strings.Join(v, ",")
			}
		}
		f.objects[name] = obj
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("x-goog-generation", strconv.FormatInt(obj.generation, 10))
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if obj == nil {
			gcsErrorAnswer(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		delete(f.objects, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		gcsErrorAnswer(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// verify checks r's V4 signature and returns its bucket and object.
func (f *fakeGCS) verify(r *http.Request) (bucket, object string, err error) {
	var params []gcsv4.Param
	auth := map[string]string{}
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err1 := url.PathUnescape(rawName)
		value, err2 := url.PathUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return "", "", fmt.Errorf("query %q does not decode", pair)
		}
		if isGoogAuthParam(name) {
			auth[name] = value
		} else {
			params = append(params, gcsv4.Param{Name: name, Value: value})
		}
	}
	if auth["X-Goog-Algorithm"] != f.signer.Algorithm() {
		return "", "", fmt.Errorf("X-Goog-Algorithm %q", auth["X-Goog-Algorithm"])
	}
	at, err := time.Parse("20060102T150405Z", auth["X-Goog-Date"])
	if err != nil {
		return "", "", fmt.Errorf("X-Goog-Date %q", auth["X-Goog-Date"])
	}
	if want := f.signer.ID() + "/" + at.Format("20060102") + "/auto/storage/goog4_request"; auth["X-Goog-Credential"] != want {
		return "", "", fmt.Errorf("X-Goog-Credential %q, not %q", auth["X-Goog-Credential"], want)
	}
	secs, err := strconv.Atoi(auth["X-Goog-Expires"])
	if err != nil || secs < 1 || secs > 604800 {
		return "", "", fmt.Errorf("X-Goog-Expires %q", auth["X-Goog-Expires"])
	}
	if f.now.Before(at.Add(-time.Minute)) || f.now.After(at.Add(time.Duration(secs)*time.Second)) {
		return "", "", errors.New("the URL has expired")
	}
	signed := strings.Split(auth["X-Goog-SignedHeaders"], ";")
	if !slices.Contains(signed, "host") {
		return "", "", errors.New("host is not signed")
	}
	for name := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-goog-") && !slices.Contains(signed, lower) {
			return "", "", fmt.Errorf("header %s is not signed", lower)
		}
	}
	if got, want := r.URL.EscapedPath(), sigv4.EscapePath(r.URL.Path); got != want {
		return "", "", fmt.Errorf("path %s is not encoded as V4 signs it (%s)", got, want)
	}
	bucket, object, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	req := gcsv4.Request{Method: r.Method, Scheme: "http", Host: r.Host, Bucket: bucket, Object: object, Query: params,
		Time: at, Expires: time.Duration(secs) * time.Second}
	for _, name := range signed {
		values := r.Header.Values(name)
		if name == "host" {
			continue
		}
		if name == "content-length" && len(values) == 0 && r.ContentLength >= 0 {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		if len(values) == 0 {
			return "", "", fmt.Errorf("signed header %s is missing", name)
		}
		req.Headers = append(req.Headers, gcsv4.Header{Name: name, Value: strings.Join(values, ",")})
	}
	want := f.signer.Presign(&req)
	if _, sig, _ := strings.Cut(want, "&X-Goog-Signature="); sig != auth["X-Goog-Signature"] {
		return "", "", fmt.Errorf("the signature does not match; canonical request:\n%s", f.signer.CanonicalRequest(&req))
	}
	return bucket, object, nil
}

// put stores an object as an upload from elsewhere would.
func (f *fakeGCS) put(bucket, object string, body []byte, contentType string, meta map[string]string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.generation++
	f.objects[bucket+"/"+object] = &gcsObject{body: body, contentType: contentType, meta: meta, generation: f.generation, updated: at}
}

func (f *fakeGCS) takeSeen() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.seen
	f.seen = nil
	return s
}

// send makes the request of g with body, as a client would.
func send(t *testing.T, client *http.Client, g Grant, body []byte, mod func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(g.Method, g.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range g.Headers {
		req.Header.Set(k, v)
	}
	if mod != nil {
		mod(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// forEachGCSKey runs f as a subtest for each kind of key (a service
// account, an HMAC key), with a backend of that key whose endpoint is a fake
// of Cloud Storage (its clock 30s after testTime) that checks it.
func forEachGCSKey(t *testing.T, f func(t *testing.T, b Backend, fake *fakeGCS, srv *httptest.Server)) {
	for _, key := range []struct {
		name string
		mod  func(*Backend)
	}{
		{"service account", func(*Backend) {}},
		{"HMAC key", func(b *Backend) { b.ServiceAccountKey, b.Credentials = "", gcsHMAC }},
	} {
		t.Run(key.name, func(t *testing.T) {
			b := gcsBackend(t)
			key.mod(&b)
			fake, srv := newFakeGCS(t, b, testTime.Add(30*time.Second))
			b.Endpoint = srv.URL
			f(t, b, fake, srv)
		})
	}
}

// TestGCSStoreHeadObject: the store's HEAD is a V4 signed URL (valid one
// minute) that the fake accepts, for both kinds of key, and what Cloud
// Storage answers is read back as ObjectInfo.
func TestGCSStoreHeadObject(t *testing.T) {
	ctx := context.Background()
	forEachGCSKey(t, func(t *testing.T, b Backend, fake *fakeGCS, srv *httptest.Server) {
		store, err := newGCSStore(b.WithDefaults(), StoreOptions{HTTPClient: srv.Client(), Now: func() time.Time { return testTime }})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte("hello, gcs\n")
		key := "dir/a b+ü.txt"
		updated := testTime.Add(-time.Hour)
		fake.put("bucket", key, body, "text/plain", map[string]string{"presign-upload": "0123456789abcdef", "owner": "alice"}, updated)
		got, err := store.HeadObject(ctx, "bucket", key)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		want := ObjectInfo{Size: 11, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, ContentType: "text/plain", LastModified: updated,
			Metadata:  map[string]string{"presign-upload": "0123456789abcdef", "owner": "alice"},
			Checksums: map[string]string{"MD5": b64MD5(body), "CRC32C": b64CRC32C(body)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("HeadObject (-want +got):\n%s", diff)
		}
		seen := fake.takeSeen()
		if len(seen) != 1 || seen[0].Method != http.MethodHead || seen[0].URL.Query().Get("X-Goog-Expires") != "60" ||
			seen[0].URL.Query().Get("X-Goog-SignedHeaders") != "host" || seen[0].URL.EscapedPath() != "/bucket/dir/a%20b%2B%C3%BC.txt" {
			t.Errorf("requests %v: want one HEAD of /bucket/dir/a%%20b%%2B%%C3%%BC.txt, signed for 60s", seen)
		}

		_, err = store.HeadObject(ctx, "bucket", "missing")
		if se := (*StoreError)(nil); !errors.As(err, &se) || se.StatusCode != 404 || se.Code != "NotFound" || se.Op != "HeadObject" {
			t.Errorf("a missing object: %v; want a 404 StoreError", err)
		}
		// The store's URL lives a minute: a store clock two minutes
		// behind the fake's signs one that has expired.
		late, _ := newGCSStore(b.WithDefaults(), StoreOptions{HTTPClient: srv.Client(), Now: func() time.Time { return testTime.Add(-2 * time.Minute) }})
		if _, err := late.HeadObject(ctx, "bucket", key); !isStatus(err, http.StatusForbidden) {
			t.Errorf("an expired URL: %v; want 403", err)
		}
		// Another key is refused.
		other := b
		other.ServiceAccountKey, other.Credentials = "", sigv4.Credentials{AccessKeyID: fake.signer.ID(), SecretAccessKey: "another-secret"}
		wrong, _ := newGCSStore(other.WithDefaults(), StoreOptions{HTTPClient: srv.Client(), Now: func() time.Time { return testTime }})
		if _, err := wrong.HeadObject(ctx, "bucket", key); !isStatus(err, http.StatusForbidden) {
			t.Errorf("another key: %v; want 403", err)
		}
		for _, err := range []error{
			func() error {
				_, err := store.CreateMultipartUpload(ctx, CreateMultipartInput{Bucket: "bucket", Key: "k"})
				return err
			}(),
			func() error { _, err := store.ListParts(ctx, "bucket", "k", "u"); return err }(),
			func() error { _, err := store.CompleteMultipartUpload(ctx, CompleteMultipartInput{}); return err }(),
			store.AbortMultipartUpload(ctx, "bucket", "k", "u"),
		} {
			if err == nil || !strings.Contains(err.Error(), "multipart uploads are not supported for kind gcs") {
				t.Errorf("a multipart call: %v", err)
			}
		}
		if len(fake.takeSeen()) != 3 {
			t.Errorf("the multipart calls reached the store")
		}
	})
}

func isStatus(err error, status int) bool {
	var se *StoreError
	return errors.As(err, &se) && se.StatusCode == status
}

func b64MD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func b64CRC32C(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))))
}

// TestGCSVerifiedPut: a verified, create-only put, end to end against the
// fake: the grant's URL and headers upload the object, complete reads it
// back with the store's HEAD and finds what was signed; the store refuses
// another body, type or size, and a second upload to the key.
func TestGCSVerifiedPut(t *testing.T) {
	ctx := context.Background()
	forEachGCSKey(t, func(t *testing.T, b Backend, fake *fakeGCS, srv *httptest.Server) {
		dec := Decision{Rule: "uploads", MaxSize: 100, NoOverwrite: true, TypeLimited: true}
		iss := kindIssuer(t, b, &dec, func(c *Config) { c.StoreOptions = StoreOptions{HTTPClient: srv.Client()} })
		body := []byte("hello, gcs\n")
		n := int64(len(body))
		g, err := iss.Issue(ctx, alice, Request{Op: OpPut, Key: "users/alice/a.txt", ContentType: "text/plain", ContentLength: &n,
			ContentMD5: b64MD5(body), Metadata: map[string]string{"owner": "alice"}, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := iss.CompleteUpload(ctx, alice, g.Upload, nil); ErrorCode(err) != CodeNotFound {
			t.Errorf("complete before the upload: %v; want not found", err)
		}
		// What the store refuses: another body of the same size (its
		// MD5), another size or type (the signature).
		for name, tc := range map[string]struct {
			body   []byte
			mod    func(*http.Request)
			status int
		}{
			"another body":    {[]byte("HELLO, GCS\n"), nil, http.StatusBadRequest},
			"a longer body":   {append(body, '!'), func(r *http.Request) { r.Header.Del("Content-MD5") }, http.StatusForbidden},
			"another type":    {body, func(r *http.Request) { r.Header.Set("Content-Type", "text/html") }, http.StatusForbidden},
			"no stamp":        {body, func(r *http.Request) { r.Header.Del("x-goog-meta-presign-upload") }, http.StatusForbidden},
			"another precond": {body, func(r *http.Request) { r.Header.Set("x-goog-if-generation-match", "1") }, http.StatusForbidden},
		} {
			if got := send(t, srv.Client(), g, tc.body, tc.mod); got != tc.status {
				t.Errorf("%s: status %d; want %d", name, got, tc.status)
			}
		}
		if got := send(t, srv.Client(), g, body, nil); got != http.StatusOK {
			t.Fatalf("the upload: status %d", got)
		}
		if got := send(t, srv.Client(), g, body, nil); got != http.StatusPreconditionFailed {
			t.Errorf("a second upload with the create-only grant: status %d; want 412", got)
		}
		fake.takeSeen()
		done, err := iss.CompleteUpload(ctx, alice, g.Upload, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		want := CompletedUpload{Backend: "default", Bucket: "bucket", Key: "users/alice/a.txt", Size: n, ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
			ContentType: "text/plain", Location: srv.URL + "/bucket/users/alice/a.txt"}
		if diff := cmp.Diff(want, done, cmpopts.IgnoreUnexported(CompletedUpload{})); diff != "" {
			t.Errorf("complete (-want +got):\n%s", diff)
		}
		if seen := fake.takeSeen(); len(seen) != 1 || seen[0].Method != http.MethodHead {
			t.Errorf("complete made %d requests; want one HEAD", len(seen))
		}
		// The grant's GET works, and saves under the name asked.
		get, err := iss.Issue(ctx, alice, Request{Op: OpGet, Key: "users/alice/a.txt", Filename: "a.txt"})
		if err != nil {
			t.Fatal(err)
		}
		if got := send(t, srv.Client(), get, nil, nil); got != http.StatusOK {
			t.Errorf("the download: status %d", got)
		}
		// An object at the key without the grant's stamp is not its
		// upload; one with another MD5 than signed is refused.
		fake.put("bucket", "users/alice/a.txt", body, "text/plain", map[string]string{"owner": "alice"}, testTime)
		if _, err := iss.CompleteUpload(ctx, alice, g.Upload, nil); ErrorCode(err) != CodeNotFound {
			t.Errorf("an object without the stamp: %v; want not found", err)
		}
		other := []byte("HELLO, GCS\n")
		fake.put("bucket", "users/alice/a.txt", other, "text/plain", map[string]string{"presign-upload": "0000000000000000"}, testTime)
		if _, err := iss.CompleteUpload(ctx, alice, g.Upload, nil); ErrorCode(err) != CodeInvalidArgument || !strings.Contains(ErrorMessage(err), "MD5") {
			t.Errorf("an object with another MD5: %v; want it refused", err)
		}
	})
}

func TestParseGoogHash(t *testing.T) {
	md5v, crc := "ixqZU8RhEpaoJ6v4xHgE1w==", "n03x6A=="
	for _, tc := range []struct {
		name   string
		values []string
		want   map[string]string
	}{
		{"two headers", []string{"crc32c=" + crc, "md5=" + md5v}, map[string]string{"CRC32C": crc, "MD5": md5v}},
		{"one header", []string{"crc32c=" + crc + ", md5=" + md5v}, map[string]string{"CRC32C": crc, "MD5": md5v}},
		{"composite object: no md5", []string{"crc32c=" + crc}, map[string]string{"CRC32C": crc}},
		{"upper case", []string{"MD5=" + md5v}, map[string]string{"MD5": md5v}},
		{"none", nil, nil},
		{"other algorithms", []string{"sha256=" + md5v}, nil},
		{"wrong sizes", []string{"md5=" + crc + ",crc32c=" + md5v}, nil},
		{"not base64", []string{"md5=ixqZU8RhEpaoJ6v4xHgE1w", "crc32c=n03x6A=!"}, nil},
		{"first wins", []string{"md5=" + md5v, "md5=1B2M2Y8AsgTpgAmY7PhCfg=="}, map[string]string{"MD5": md5v}},
		{"no =", []string{"md5", ","}, nil},
	} {
		if diff := cmp.Diff(tc.want, parseGoogHash(tc.values)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// FuzzParseGoogHash: whatever the store sends, every checksum read is the
// standard base64 of a digest of its algorithm's size, and writing the
// result back as one header reads the same.
func FuzzParseGoogHash(f *testing.F) {
	f.Add("crc32c=n03x6A==", "md5=ixqZU8RhEpaoJ6v4xHgE1w==")
	f.Add("crc32c=n03x6A==,md5=ixqZU8RhEpaoJ6v4xHgE1w==", "")
	f.Add("MD5 = ixqZU8RhEpaoJ6v4xHgE1w== , x=y", "md5=")
	f.Add("=,==,md5==", "crc32c=AAAAAA==\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		got := parseGoogHash([]string{a, b})
		var parts []string
		for alg, v := range got {
			raw, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || (alg == "MD5") != (len(raw) == 16) || (alg == "CRC32C") != (len(raw) == 4) {
				t.Fatalf("%s=%q read from %q, %q", alg, v, a, b)
			}
			parts = append(parts, strings.ToLower(alg)+"="+v)
		}
		if again := parseGoogHash([]string{strings.Join(parts, ",")}); !maps.Equal(got, again) {
			t.Fatalf("%v written back reads %v", got, again)
		}
	})
}
