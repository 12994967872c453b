package presign

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"presign.dev/sigv4"
)

func TestListRefusesBadInput(t *testing.T) {
	iss := testIssuer(t, nil)
	for _, tt := range []struct {
		name string
		req  Request
	}{
		{"key", Request{Op: OpList, Key: "a/b"}},
		{"filename", Request{Op: OpList, Prefix: "a/", Filename: "x.txt"}},
		{"content type", Request{Op: OpList, Prefix: "a/", ContentType: "text/plain"}},
		{"content length", Request{Op: OpList, ContentLength: ptr(int64(1))}},
		{"metadata", Request{Op: OpList, Metadata: map[string]string{"a": "b"}}},
		{"prefix too long", Request{Op: OpList, Prefix: strings.Repeat("p", 1025)}},
		{"prefix invalid utf-8", Request{Op: OpList, Prefix: "a\xff/"}},
		{"prefix with NUL", Request{Op: OpList, Prefix: "a\x00"}},
		{"prefix with C1 control", Request{Op: OpList, Prefix: "a\u0085/"}},
		{"prefix dot segment", Request{Op: OpList, Prefix: "users/./alice/"}},
		{"prefix dot-dot segment", Request{Op: OpList, Prefix: "users/alice/../bob/"}},
		{"prefix starting with dot-dot", Request{Op: OpList, Prefix: "../"}},
		{"delimiter too long", Request{Op: OpList, Delimiter: strings.Repeat("/", 17)}},
		{"delimiter space", Request{Op: OpList, Delimiter: " "}},
		{"delimiter non-ASCII", Request{Op: OpList, Delimiter: "é"}},
		{"delimiter newline", Request{Op: OpList, Delimiter: "\n"}},
		{"max_keys negative", Request{Op: OpList, MaxKeys: -1}},
		{"max_keys over 1000", Request{Op: OpList, MaxKeys: 1001}},
		{"token with a newline", Request{Op: OpList, ContinuationToken: "a\nb"}},
		{"token too long", Request{Op: OpList, ContinuationToken: strings.Repeat("t", 1025)}},
		{"token invalid UTF-8", Request{Op: OpList, ContinuationToken: "t\xffk"}},
		{"prefix on get", Request{Op: OpGet, Key: "k", Prefix: "a/"}},
		{"delimiter on put", Request{Op: OpPut, Key: "k", Delimiter: "/"}},
		{"max_keys on head", Request{Op: OpHead, Key: "k", MaxKeys: 10}},
		{"token on delete", Request{Op: OpDelete, Key: "k", ContinuationToken: "t"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := iss.Issue(context.Background(), Principal{Kind: KindAPIKey, Name: "k"}, tt.req)
			if ErrorCode(err) != CodeInvalidArgument || g.URL != "" {
				t.Fatalf("got %v and URL %q, want invalid_argument", err, g.URL)
			}
			if ErrorMessage(err) == "" {
				t.Error("the refusal says nothing")
			}
		})
	}
}

// TestListGrant: a list grant is a GET of the bucket whose query is the
// ListObjectsV2 request, every parameter signed.
func TestListGrant(t *testing.T) {
	iss := testIssuer(t, nil)
	for _, tt := range []struct {
		name string
		req  Request
		want url.Values // the query but the X-Amz-* parameters
	}{
		{"prefix", Request{Op: OpList, Prefix: "users/alice/"}, url.Values{"list-type": {"2"}, "prefix": {"users/alice/"}}},
		{"whole bucket: the empty prefix is signed too", Request{Op: OpList}, url.Values{"list-type": {"2"}, "prefix": {""}}},
		{"every parameter", Request{Op: OpList, Prefix: "a b+c/ü&=?#%/", Delimiter: "/", MaxKeys: 1, ContinuationToken: "1/abc+def=="},
			url.Values{"list-type": {"2"}, "prefix": {"a b+c/ü&=?#%/"}, "delimiter": {"/"}, "max-keys": {"1"}, "continuation-token": {"1/abc+def=="}}},
		{"max keys 1000", Request{Op: OpList, Prefix: "x", MaxKeys: 1000}, url.Values{"list-type": {"2"}, "prefix": {"x"}, "max-keys": {"1000"}}},
		// Versity Gateway's tokens are keys.
		{"a key as the token", Request{Op: OpList, Prefix: "a/", ContinuationToken: "a/my photo ü+1.jpg"},
			url.Values{"list-type": {"2"}, "prefix": {"a/"}, "continuation-token": {"a/my photo ü+1.jpg"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := iss.Issue(context.Background(), Principal{Kind: KindAPIKey, Name: "k"}, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(g.URL)
			if err != nil {
				t.Fatal(err)
			}
			if g.Method != "GET" || u.Scheme+"://"+u.Host+u.EscapedPath() != "http://127.0.0.1:9000/bucket/" || g.Key != "" || g.Bucket != "bucket" {
				t.Errorf("grant %s %s, key %q, bucket %q", g.Method, g.URL, g.Key, g.Bucket)
			}
			if len(g.Headers) != 0 || len(g.Fields) != 0 {
				t.Errorf("a list needs no headers or fields: %v %v", g.Headers, g.Fields)
			}
			q := u.Query()
			if q.Get("X-Amz-SignedHeaders") != "host" || q.Get("X-Amz-Signature") == "" {
				t.Errorf("not presigned: %s", g.URL)
			}
			for name := range q {
				if strings.HasPrefix(name, "X-Amz-") {
					delete(q, name)
				}
			}
			if diff := cmp.Diff(tt.want, q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListSignsTheWholeQuery: the canonical request holds every listing
// parameter, so that a store computing the signature over the query it
// receives refuses any change (the e2e suite shows the stores do).
func TestListSignsTheWholeQuery(t *testing.T) {
	iss := testIssuer(t, nil)
	be := iss.defaultBackend
	s := be.signer.(*s3Signer)
	r := Request{Op: OpList, Bucket: "bucket", Prefix: "users/alice/", Delimiter: "/", MaxKeys: 2, ContinuationToken: "tok"}
	host, path := s.target(r.Bucket, "")
	creq := s.keys.static.CanonicalRequest(&sigv4.Request{Method: "GET", Scheme: "http", Host: host, Path: path, Query: listQuery(r),
		Time: testTime, Expires: time.Minute})
	_, rest, _ := strings.Cut(creq, "\n")
	_, rest, _ = strings.Cut(rest, "\n")
	query, _, _ := strings.Cut(rest, "\n")
	var names []string
	for _, kv := range strings.Split(query, "&") {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "X-Amz-") {
			names = append(names, kv)
		}
	}
	want := []string{"continuation-token=tok", "delimiter=%2F", "list-type=2", "max-keys=2", "prefix=users%2Falice%2F"}
	if !slices.Equal(names, want) {
		t.Errorf("canonical query %q, want the listing parameters %q", query, want)
	}
	// A grant for another prefix has another signature.
	sig := func(prefix string) string {
		g, err := iss.Issue(context.Background(), Principal{Kind: KindAPIKey, Name: "k"}, Request{Op: OpList, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(g.URL)
		return u.Query().Get("X-Amz-Signature")
	}
	if sig("a/") == sig("b/") || sig("") == sig("a/") {
		t.Error("prefixes share a signature")
	}
}

// TestListExpiry: a list grant's lifetime is clamped like any other's.
func TestListExpiry(t *testing.T) {
	iss := testIssuer(t, func(c *Config) {
		c.Authorizer = authorizerFunc(func(context.Context, Principal, *Request) (Decision, error) {
			return Decision{Rule: "r", MaxExpires: time.Minute}, nil
		})
	})
	g, err := iss.Issue(context.Background(), Principal{}, Request{Op: OpList, Prefix: "a/", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(g.URL)
	if u.Query().Get("X-Amz-Expires") != "60" || !g.ExpiresAt.Equal(testTime.Add(time.Minute)) || g.Rule != "r" {
		t.Errorf("grant %+v", g)
	}
}

// FuzzListGrant: whatever list request Issue accepts, the store reads back
// from the URL exactly the prefix, delimiter, max-keys and token that
// were asked for (net/url decodes the query as stores do), and nothing
// more than the ListObjectsV2 parameters and the signature's.
func FuzzListGrant(f *testing.F) {
	f.Add("users/alice/", "/", 0, "")
	f.Add("a b+c/ü&=?#%/x", "|", 1, "1/ab+c==")
	f.Add("", "", 1000, "")
	f.Add("../x", "  ", -1, "a b")
	iss := testIssuer(f, nil)
	f.Fuzz(func(t *testing.T, prefix, delimiter string, maxKeys int, token string) {
		req := Request{Op: OpList, Prefix: prefix, Delimiter: delimiter, MaxKeys: maxKeys, ContinuationToken: token}
		g, err := iss.Issue(context.Background(), Principal{Kind: KindAPIKey, Name: "k"}, req)
		if err != nil {
			if ErrorCode(err) != CodeInvalidArgument {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		u, err := url.Parse(g.URL)
		if err != nil {
			t.Fatalf("URL %q: %v", g.URL, err)
		}
		q := u.Query()
		want := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if delimiter != "" {
			want["delimiter"] = []string{delimiter}
		}
		if maxKeys != 0 {
			want["max-keys"] = []string{strconv.Itoa(maxKeys)}
		}
		if token != "" {
			want["continuation-token"] = []string{token}
		}
		for name := range q {
			if strings.HasPrefix(name, "X-Amz-") {
				delete(q, name)
			}
		}
		if diff := cmp.Diff(want, q); diff != "" {
			t.Fatalf("the URL %s carries (-want +got):\n%s", g.URL, diff)
		}
		if u.EscapedPath() != "/bucket/" || u.Fragment != "" {
			t.Fatalf("URL %s is not the bucket's", g.URL)
		}
	})
}
