package presign

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

var testTime = time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)

func testIssuer(t testing.TB, mod func(*Config)) *Issuer {
	t.Helper()
	cfg := Config{
		Backends: []Backend{{
			Name: "default", Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
			Credentials: sigv4.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		}},
		Now: func() time.Time { return testTime },
	}
	if mod != nil {
		mod(&cfg)
	}
	iss, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func ptr[T any](v T) *T { return &v }

// kindIssuer is an issuer of backend b alone (of any kind), whose
// Authorizer answers *dec to every request, with uploads, a 7-day cap and
// the test's time and zero randomness; mod, if not nil, changes the
// configuration first.
func kindIssuer(t testing.TB, b Backend, dec *Decision, mod func(*Config)) *Issuer {
	t.Helper()
	cfg := Config{
		Backends:   []Backend{b},
		MaxExpires: 7 * 24 * time.Hour,
		Now:        func() time.Time { return testTime },
		Random:     zeroReader{},
		Uploads:    UploadsConfig{Secrets: testSecrets},
		Authorizer: decideFunc(func(Principal, *Request) (Decision, error) { return *dec, nil }),
	}
	if mod != nil {
		mod(&cfg)
	}
	iss, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestIssueRefusesBadInput(t *testing.T) {
	iss := testIssuer(t, nil)
	long := strings.Repeat("k", 1025)
	tests := []struct {
		name string
		req  Request
		want Code
	}{
		{"no op", Request{Key: "k"}, CodeInvalidArgument},
		{"unknown op", Request{Op: "copy", Key: "k"}, CodeInvalidArgument},
		{"no key", Request{Op: OpGet}, CodeInvalidArgument},
		{"key too long", Request{Op: OpGet, Key: long}, CodeInvalidArgument},
		{"key invalid utf-8", Request{Op: OpGet, Key: "a\xffb"}, CodeInvalidArgument},
		{"key with NUL", Request{Op: OpGet, Key: "a\x00b"}, CodeInvalidArgument},
		{"key with newline", Request{Op: OpGet, Key: "a\nb"}, CodeInvalidArgument},
		{"key with C1 control", Request{Op: OpGet, Key: "a\u0085b"}, CodeInvalidArgument},
		{"dot segment", Request{Op: OpGet, Key: "a/./b"}, CodeInvalidArgument},
		{"dot-dot segment", Request{Op: OpGet, Key: "../etc/passwd"}, CodeInvalidArgument},
		{"trailing dot-dot", Request{Op: OpGet, Key: "a/.."}, CodeInvalidArgument},
		{"unknown backend", Request{Op: OpGet, Key: "k", Backend: "nope"}, CodeNotFound},
		{"other bucket", Request{Op: OpGet, Key: "k", Bucket: "other"}, CodePermissionDenied},
		{"content type on get", Request{Op: OpGet, Key: "k", ContentType: "image/png"}, CodeInvalidArgument},
		{"bad content type", Request{Op: OpPut, Key: "k", ContentType: "png"}, CodeInvalidArgument},
		{"content type injection", Request{Op: OpPut, Key: "k", ContentType: "image/png\r\nx-amz-acl: public-read"}, CodeInvalidArgument},
		{"negative length", Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(-1))}, CodeInvalidArgument},
		{"length over 5 GiB", Request{Op: OpPut, Key: "k", ContentLength: ptr(int64(5<<30 + 1))}, CodeTooLarge},
		{"bad md5", Request{Op: OpPut, Key: "k", ContentMD5: "abc"}, CodeInvalidArgument},
		{"md5 of wrong size", Request{Op: OpPut, Key: "k", ContentMD5: "AAAA"}, CodeInvalidArgument},
		{"bad sha256", Request{Op: OpPut, Key: "k", ChecksumSHA256: "1B2M2Y8AsgTpgAmY7PhCfg=="}, CodeInvalidArgument},
		{"md5 with a newline the decoder skips", Request{Op: OpPut, Key: "k", ContentMD5: "1B2M2Y8A\nsgTpgAmY7PhCfg=="}, CodeInvalidArgument},
		{"metadata name", Request{Op: OpPut, Key: "k", Metadata: map[string]string{"A B": "v"}}, CodeInvalidArgument},
		// MinIO unpacks an archive uploaded with this, writing any keys in it.
		{"metadata snowball", Request{Op: OpPut, Key: "k", Metadata: map[string]string{"snowball-auto-extract": "true"}}, CodeInvalidArgument},
		{"metadata minio", Request{Op: OpPost, Key: "k", Metadata: map[string]string{"minio-snowball-prefix": "users/bob"}}, CodeInvalidArgument},
		{"post key with ${filename}", Request{Op: OpPost, Key: "users/alice/${filename}"}, CodeInvalidArgument},
		{"metadata value CRLF", Request{Op: OpPut, Key: "k", Metadata: map[string]string{"a": "v\r\nx: y"}}, CodeInvalidArgument},
		{"metadata too large", Request{Op: OpPut, Key: "k", Metadata: map[string]string{"a": strings.Repeat("v", 2100)}}, CodeTooLarge},
		{"negative expiry", Request{Op: OpGet, Key: "k", ExpiresIn: -time.Second}, CodeInvalidArgument},
		{"absurd expiry", Request{Op: OpGet, Key: "k", ExpiresIn: 8 * 24 * time.Hour}, CodeInvalidArgument},
		{"fractional expiry", Request{Op: OpGet, Key: "k", ExpiresIn: 1500 * time.Millisecond}, CodeInvalidArgument},
		{"filename control char", Request{Op: OpGet, Key: "k", Filename: "a\x01.txt"}, CodeInvalidArgument},
		{"post with md5", Request{Op: OpPost, Key: "k", ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg=="}, CodeUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := iss.Issue(context.Background(), Principal{Kind: "open"}, tt.req)
			if got := ErrorCode(err); got != tt.want {
				t.Fatalf("code %q (%v), want %q", got, err, tt.want)
			}
			if g.URL != "" {
				t.Errorf("refused request still got a URL")
			}
			if ErrorMessage(err) == "" || ErrorMessage(err) == "internal error" {
				t.Errorf("message %q does not say what is wrong", ErrorMessage(err))
			}
		})
	}
}

func TestIssueGrants(t *testing.T) {
	iss := testIssuer(t, nil)
	g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpGet, Key: "photos/2026/cat picture+1.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	// The benchmark vector of s3-presign.md §7.5.
	if !strings.HasSuffix(g.URL, "X-Amz-Signature=4559b1660311bc236f16d4c3b0e6f57386c17fa851ec8eecf250bf254b1f81b9") {
		t.Errorf("GET URL %s", g.URL)
	}
	if g.Method != "GET" || g.ExpiresAt != testTime.Add(15*time.Minute) || g.Bucket != "bucket" {
		t.Errorf("grant %+v", g)
	}

	g, err = iss.Issue(context.Background(), Principal{}, Request{Op: OpPut, Key: "photos/2026/cat picture+1.jpg",
		ContentType: "image/jpeg", ContentLength: ptr(int64(123456))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(g.URL, "X-Amz-Signature=7676b3ee6278f9fccafd7d5a2de2b67e45062cf76b8427f88b4b5536278efbdf") {
		t.Errorf("PUT URL %s", g.URL)
	}
	if g.Headers["Content-Type"] != "image/jpeg" || g.Headers["Content-Length"] != "123456" || len(g.Headers) != 2 {
		t.Errorf("PUT headers %v", g.Headers)
	}
}

func TestIssuePutSignsEveryLimit(t *testing.T) {
	iss := testIssuer(t, func(c *Config) {
		c.Authorizer = authorizerFunc(func(context.Context, Principal, *Request) (Decision, error) {
			return Decision{Rule: "r", MaxSize: 100, NoOverwrite: true, MaxExpires: time.Minute}, nil
		})
	})
	req := Request{Op: OpPut, Key: "k", ContentType: "text/plain", ContentLength: ptr(int64(100)),
		ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg==", ChecksumSHA256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		Metadata: map[string]string{"owner": "u1"}, ExpiresIn: time.Hour}
	g, err := iss.Issue(context.Background(), Principal{}, req)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(g.URL)
	if got := u.Query().Get("X-Amz-SignedHeaders"); got != "content-length;content-md5;content-type;host;if-none-match;x-amz-checksum-sha256;x-amz-meta-owner" {
		t.Errorf("signed headers %q", got)
	}
	if u.Query().Get("X-Amz-Expires") != "60" || !g.ExpiresAt.Equal(testTime.Add(time.Minute)) {
		t.Errorf("expiry not clamped to the rule: %s, %v", u.Query().Get("X-Amz-Expires"), g.ExpiresAt)
	}
	if g.Headers["If-None-Match"] != "*" || g.Headers["x-amz-meta-owner"] != "u1" {
		t.Errorf("headers %v", g.Headers)
	}

	req.ContentLength = ptr(int64(101))
	if _, err := iss.Issue(context.Background(), Principal{}, req); ErrorCode(err) != CodeTooLarge {
		t.Errorf("over the rule's size: %v", err)
	}
	req.ContentLength = nil
	if _, err := iss.Issue(context.Background(), Principal{}, req); ErrorCode(err) != CodeInvalidArgument {
		t.Errorf("size limit without declared length: %v", err)
	}
}

type authorizerFunc func(context.Context, Principal, *Request) (Decision, error)

func (f authorizerFunc) Authorize(ctx context.Context, p Principal, r *Request) (Decision, error) {
	return f(ctx, p, r)
}

func TestIssueRefusedByAuthorizer(t *testing.T) {
	iss := testIssuer(t, func(c *Config) {
		c.Authorizer = authorizerFunc(func(context.Context, Principal, *Request) (Decision, error) {
			return Decision{}, Errorf(CodePermissionDenied, "no")
		})
	})
	g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpGet, Key: "k"})
	if ErrorCode(err) != CodePermissionDenied || g.URL != "" {
		t.Fatalf("got %v, %q", err, g.URL)
	}
}

func TestExpiryClampedNeverExtended(t *testing.T) {
	iss := testIssuer(t, func(c *Config) { c.MaxExpires = 30 * time.Minute })
	for _, tt := range []struct{ asked, want time.Duration }{
		{0, 15 * time.Minute}, {time.Second, time.Second}, {29 * time.Minute, 29 * time.Minute},
		{time.Hour, 30 * time.Minute}, {7 * 24 * time.Hour, 30 * time.Minute},
	} {
		g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpGet, Key: "k", ExpiresIn: tt.asked})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(g.URL)
		if got := u.Query().Get("X-Amz-Expires"); got != itoa(tt.want) || !g.ExpiresAt.Equal(testTime.Add(tt.want)) {
			t.Errorf("asked %v: X-Amz-Expires=%s, expires_at %v; want %v", tt.asked, got, g.ExpiresAt, tt.want)
		}
	}
}

func itoa(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func TestAddressing(t *testing.T) {
	creds := sigv4.Credentials{AccessKeyID: "a", SecretAccessKey: "s"}
	tests := []struct {
		name    string
		backend Backend
		want    string // URL up to '?'
	}{
		{"aws auto is virtual-hosted", Backend{Bucket: "examplebucket", Region: "eu-west-1"}, "https://examplebucket.s3.eu-west-1.amazonaws.com/a%20b"},
		{"aws dotted bucket over https is path-style", Backend{Bucket: "my.dotted.bucket", Region: "eu-west-1"}, "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/a%20b"},
		{"storj auto is path-style", Backend{Bucket: "b1b", Endpoint: "https://gateway.storjshare.io"}, "https://gateway.storjshare.io/b1b/a%20b"},
		{"forced virtual", Backend{Bucket: "b1b", Endpoint: "https://s3.example.com", PathStyle: PathStyleVirtual}, "https://b1b.s3.example.com/a%20b"},
		{"forced path on aws", Backend{Bucket: "b1b", PathStyle: PathStyleAlways}, "https://s3.us-east-1.amazonaws.com/b1b/a%20b"},
		{"default port dropped, host lower-cased", Backend{Bucket: "b1b", Endpoint: "HTTPS://S3.Example.COM:443"}, "https://s3.example.com/b1b/a%20b"},
		{"endpoint path prefix kept", Backend{Bucket: "b1b", Endpoint: "http://localhost:8080/s3/"}, "http://localhost:8080/s3/b1b/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.backend.Credentials = creds
			iss, err := New(Config{Backends: []Backend{tt.backend}, Now: func() time.Time { return testTime }})
			if err != nil {
				t.Fatal(err)
			}
			g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpGet, Key: "a b"})
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := strings.Cut(g.URL, "?"); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestTarget: the backend's bucket, made once, and any other bucket,
// concatenated, are addressed alike.
func TestTarget(t *testing.T) {
	type target struct{ Host, Path string }
	for _, tt := range []struct {
		name    string
		backend Backend
		bucket  string
		want    target
	}{
		{"virtual, the backend's bucket", Backend{Bucket: "b1b", Endpoint: "https://s3.example.com/base/", PathStyle: PathStyleVirtual}, "b1b", target{"b1b.s3.example.com", "/base/a b"}},
		{"virtual, another bucket", Backend{Bucket: "b1b", Endpoint: "https://s3.example.com/base/", PathStyle: PathStyleVirtual}, "other", target{"other.s3.example.com", "/base/a b"}},
		{"path, the backend's bucket", Backend{Bucket: "b1b", Endpoint: "http://localhost:8080"}, "b1b", target{"localhost:8080", "/b1b/a b"}},
		{"path, another bucket", Backend{Bucket: "b1b", Endpoint: "http://localhost:8080/s3"}, "other", target{"localhost:8080", "/s3/other/a b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(tt.backend)
			host, path := e.target(tt.bucket, "a b")
			if diff := cmp.Diff(tt.want, target{host, path}); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
			host, prefix := e.bucketTarget(tt.bucket)
			if diff := cmp.Diff(tt.want, target{host, prefix + "a b"}); diff != "" {
				t.Errorf("bucketTarget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{MaxExpires: 30 * 24 * time.Hour, DefaultExpires: 1500 * time.Millisecond, Backends: []Backend{
		{Name: "a", Endpoint: "ftp://x", Bucket: "B!", Region: "us east", PathStyle: "sometimes"},
		{Name: "a", Endpoint: "https://u:p@s3.example.com", Bucket: "ok-bucket", Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, MaxExpires: 8 * 24 * time.Hour},
		{Name: "Bad_Name", Bucket: "ok-bucket", Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}},
	}})
	var got Problems
	if !errors.As(err, &got) {
		t.Fatalf("error %v is not Problems", err)
	}
	want := Problems{
		{"max_expires", "720h must be between 1s and 168h"},
		{"default_expires", "1.5s must be whole seconds"},
		{"backends[0].endpoint", `"ftp://x" is not an http(s) URL like https://gateway.storjshare.io (no query, fragment or user info)`},
		{"backends[0].region", `"us east" is not a region like us-east-1`},
		{"backends[0].bucket", `bucket "B!" must be 3 to 63 characters`},
		{"backends[0].path_style", `"sometimes" must be true, false or auto`},
		{"backends[0].access_key_id", "required: the access key that signs URLs"},
		{"backends[0].secret_access_key", "required: the secret key that signs URLs"},
		{"backends[1].endpoint", "the URL (with user info, a query or a fragment, not shown) is not an http(s) URL like https://gateway.storjshare.io (no query, fragment or user info)"},
		{"backends[1].max_expires", "192h must be between 1s and 168h"},
		{"backends[1].name", `"a" is already the name of entry [0] of this list`},
		{"backends[2].name", `"Bad_Name" may hold only a-z, 0-9 and '-' (1 to 63 characters)`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestPostGrant(t *testing.T) {
	iss := testIssuer(t, nil)
	g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpPost, Key: "up/a.txt", ContentType: "text/plain", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Method != "POST" || g.URL != "http://127.0.0.1:9000/bucket/" {
		t.Errorf("grant %s %s", g.Method, g.URL)
	}
	for _, f := range []string{"key", "Content-Type", "x-amz-meta-k", "policy", "x-amz-signature", "x-amz-credential", "x-amz-date", "x-amz-algorithm"} {
		if g.Fields[f] == "" {
			t.Errorf("field %s missing: %v", f, g.Fields)
		}
	}
	iss = testIssuer(t, func(c *Config) { c.Backends[0].NoPost = true })
	if _, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpPost, Key: "k"}); ErrorCode(err) != CodeUnsupported {
		t.Errorf("post on a NoPost backend: %v", err)
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"report.pdf", `attachment; filename="report.pdf"`},
		{"naïve résumé.pdf", `attachment; filename="na_ve r_sum_.pdf"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.pdf`},
		{`a"b\c.txt`, `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`},
		{"日本.txt", `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`},
	} {
		if got := ContentDisposition(tt.in); got != tt.want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestAnonymousRefusalsAfterTheRules: what the decision's limits refuse
// is told to a caller without a credential without the limits themselves.
func TestAnonymousRefusalsAfterTheRules(t *testing.T) {
	iss := testIssuer(t, func(c *Config) {
		c.Authorizer = authorizerFunc(func(context.Context, Principal, *Request) (Decision, error) {
			return Decision{Rule: "drop-box", MaxSize: 1024, NoOverwrite: true}, nil
		})
	})
	anon, user := Principal{Kind: KindAnonymous}, Principal{Kind: KindAPIKey, Name: "u"}
	for _, tt := range []struct {
		req  Request
		code Code
	}{
		{Request{Op: OpPut, Key: "drop/x"}, CodeInvalidArgument},                             // no content_length
		{Request{Op: OpPut, Key: "drop/x", ContentLength: ptr(int64(2048))}, CodeTooLarge},   // over the limit
		{Request{Op: OpPost, Key: "drop/x", ContentLength: ptr(int64(10))}, CodeUnsupported}, // POST cannot be conditional
	} {
		_, err := iss.Issue(context.Background(), anon, tt.req)
		if ErrorCode(err) != tt.code || strings.Contains(ErrorMessage(err), "1024") || strings.Contains(ErrorMessage(err), "overwrite") {
			t.Errorf("anonymous %s: %v", tt.req.Op, err)
		}
		_, err = iss.Issue(context.Background(), user, tt.req)
		if ErrorCode(err) != tt.code || ErrorMessage(err) == "" {
			t.Errorf("authenticated %s: %v", tt.req.Op, err)
		}
	}
}
