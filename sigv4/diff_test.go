package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// Differential test: for arbitrary keys, query parameters, headers and
// session tokens, our URL equals aws-sdk-go-v2's v4.Signer.PresignHTTP
// output byte for byte, configured as the S3 client configures it
// (DisableURIPathEscaping, UNSIGNED-PAYLOAD, path escaped by smithy's
// httpbinding.EscapePath as the S3 serializer does).

// signedHeaderNames are headers the SDK keeps as signed headers when
// presigning (its RequiredSignedHeaders class), the ones presign signs.
var signedHeaderNames = []string{
	"Content-Type", "Content-Md5", "Content-Disposition", "Cache-Control", "If-None-Match",
	"X-Amz-Meta-Owner", "x-amz-meta-a", "X-Amz-Checksum-Sha256", "X-Amz-Acl", "X-Amz-Tagging",
}

var diffHosts = []struct{ scheme, host string }{
	{"http", "127.0.0.1:9000"}, {"https", "bucket.s3.eu-west-1.amazonaws.com"}, {"https", "gateway.storjshare.io"},
}

var diffMethods = []string{"GET", "PUT", "HEAD", "DELETE", "POST"}

// sdkRequest is r as the S3 client hands it to aws-sdk-go-v2's signer:
// path escaped once (RawPath), query encoded, Content-Length as the
// request's length, the other headers as they are; extra query parameters
// (X-Amz-Expires when presigning) added.
func sdkRequest(t testing.TB, r *Request, extra url.Values) *http.Request {
	t.Helper()
	path := r.Path + r.PathSuffix
	u := &url.URL{Scheme: r.Scheme, Host: r.Host, Path: path, RawPath: httpbinding.EscapePath(path, false)}
	q := url.Values{}
	for _, p := range r.Query {
		q.Add(p.Name, p.Value)
	}
	for k, vs := range extra {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		t.Fatalf("building SDK request: %v", err)
	}
	req.URL = u // keep RawPath exactly as built
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "content-length") {
			n, _ := strconv.ParseInt(h.Value, 10, 64)
			req.ContentLength = n
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	return req
}

// sdkPresign presigns r with aws-sdk-go-v2's signer.
func sdkPresign(t testing.TB, creds Credentials, region string, r *Request) (string, http.Header) {
	t.Helper()
	req := sdkRequest(t, r, url.Values{"X-Amz-Expires": {strconv.FormatInt(int64(r.Expires/time.Second), 10)}})
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	signed, hdr, err := s.PresignHTTP(context.Background(), aws.Credentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
	}, req, UnsignedPayload, "s3", region, r.Time)
	if err != nil {
		t.Fatalf("SDK presign: %v", err)
	}
	return signed, hdr
}

func diffCase(t *testing.T, creds Credentials, r *Request) {
	t.Helper()
	s := NewSigner(creds, "us-east-1", "s3")
	got := s.Presign(r)
	want, _ := sdkPresign(t, creds, "us-east-1", r)
	if got != want {
		t.Fatalf("URLs differ for %+v\n ours %s\n  sdk %s\ncanonical request:\n%s", *r, got, want, s.CanonicalRequest(r))
	}
	for _, split := range splitPaths(r) {
		if got := s.Presign(&split); got != want {
			t.Fatalf("URLs differ for %+v (path split)\n ours %s\n  sdk %s", split, got, want)
		}
	}
}

// splitPaths returns r with its path split into Path and PathSuffix at a
// few points (after the first "/", in the middle, after the last "/"): each
// must sign as r does.
func splitPaths(r *Request) []Request {
	path := r.Path + r.PathSuffix
	var out []Request
	for _, i := range []int{1, len(path) / 2, strings.LastIndexByte(path, '/') + 1} {
		if i < 1 || i > len(path) {
			continue
		}
		split := *r
		split.Path, split.PathSuffix = path[:i], path[i:]
		out = append(out, split)
	}
	return out
}

func TestPresignMatchesSDK(t *testing.T) {
	base := time.Date(2026, 5, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		creds Credentials
		req   Request
	}{
		{"plain get", docsCreds, Request{Method: "GET", Path: "/bucket/a.txt"}},
		{"naive-encoder breakers", docsCreds, Request{Method: "GET", Path: "/bucket/a b/c+d/ü$&=?#.txt;:@,%"}},
		{"no normalization", docsCreds, Request{Method: "GET", Path: "/bucket/a//b/../c/./d"}},
		{"nfd unicode", docsCreds, Request{Method: "GET", Path: "/bucket/cafe\u0301/日本.txt"}},
		{"multipart part", docsCreds, Request{Method: "PUT", Path: "/bucket/big.bin",
			Query: []Param{{"uploadId", "2~abc/+=="}, {"partNumber", "10"}}}},
		{"response overrides", docsCreds, Request{Method: "GET", Path: "/bucket/x.pdf",
			Query: []Param{{"response-content-disposition", `attachment; filename="x y.pdf"; filename*=UTF-8''x%20y.pdf`}, {"response-content-type", "application/pdf"}}}},
		{"put headers both sides of host", docsCreds, Request{Method: "PUT", Path: "/bucket/k",
			Headers: []Header{{"Content-Type", "image/jpeg"}, {"Content-Length", "5"}, {"If-None-Match", "*"}, {"X-Amz-Meta-Owner", "  a   b "}, {"Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg=="}}}},
		{"session token", Credentials{AccessKeyID: "ASIA+/AK", SecretAccessKey: "s", SessionToken: "FwoGZXIvYXdzE+/=token"},
			Request{Method: "GET", Path: "/bucket/k"}},
		{"query sorting before and after X-Amz", docsCreds, Request{Method: "GET", Path: "/b/k",
			Query: []Param{{"A", "1"}, {"a-b", "2"}, {"a/b", "3"}, {"Y", ""}, {"x-id", "GetObject"}, {"A", "0"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.Scheme, r.Host, r.Time, r.Expires = "http", "127.0.0.1:9000", base, 15*time.Minute
			diffCase(t, tt.creds, &r)
		})
	}
}

func FuzzPresignMatchesSDK(f *testing.F) {
	f.Add("a b/c+d.txt", "uploadId", "x y+z", "image/jpeg", "meta value", "", uint8(0), uint8(0), int64(5), uint32(900))
	f.Add("ü/../%2F//x", "response-content-disposition", "attachment; filename*=UTF-8''%C3%BC", "", "", "tok+/=", uint8(1), uint8(1), int64(0), uint32(1))
	f.Add("", "", "", "text/plain; charset=utf-8", "  a  b  ", "", uint8(2), uint8(3), int64(1<<40), uint32(604800))
	f.Fuzz(func(t *testing.T, key, qname, qvalue, ctype, meta, token string, hostIdx, methodIdx uint8, length int64, expires uint32) {
		if !printable(token) {
			t.Skip()
		}
		r := fuzzRequest(t, key, qname, qvalue, ctype, meta, hostIdx, methodIdx, length, time.Unix(1e9+int64(expires)*1000, 0).UTC())
		r.Expires = time.Duration(1+expires%604800) * time.Second
		if strings.HasPrefix(strings.ToLower(qname), "x-amz-") {
			r.Query = nil // presigning adds the X-Amz-* parameters itself
		}
		diffCase(t, Credentials{AccessKeyID: "AKIA" + strconv.Itoa(int(hostIdx)), SecretAccessKey: key, SessionToken: token}, r)
	})
}

// fuzzRequest is the request of a differential fuzz case: a key under
// /bucket/, one query parameter, Content-Type, one more signed header and
// Content-Length when given; it skips inputs no caller of the signer sends
// (invalid UTF-8, which the SDK's url.Values round trip replaces and
// presign refuses earlier; header values that are not printable).
func fuzzRequest(t *testing.T, key, qname, qvalue, ctype, meta string, hostIdx, methodIdx uint8, length int64, when time.Time) *Request {
	if !utf8.ValidString(key) || !utf8.ValidString(qname) || !utf8.ValidString(qvalue) {
		t.Skip()
	}
	if !printable(ctype) || !printable(meta) {
		t.Skip()
	}
	h := diffHosts[int(hostIdx)%len(diffHosts)]
	r := &Request{
		Method: diffMethods[int(methodIdx)%len(diffMethods)], Scheme: h.scheme, Host: h.host,
		Path: "/bucket/" + key,
		Time: when,
	}
	if qname != "" {
		r.Query = append(r.Query, Param{qname, qvalue})
	}
	if ctype != "" {
		r.Headers = append(r.Headers, Header{"Content-Type", ctype})
	}
	if strings.TrimSpace(meta) != "" {
		r.Headers = append(r.Headers, Header{signedHeaderNames[int(hostIdx)%len(signedHeaderNames)], meta})
	}
	if length > 0 {
		r.Headers = append(r.Headers, Header{"Content-Length", strconv.FormatInt(length, 10)})
	}
	return r
}

// printable reports whether s holds only printable ASCII, spaces and tabs:
// what presign allows in a signed header value.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}
