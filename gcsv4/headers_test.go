package gcsv4

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Canonicalization beyond the vectors: repeated headers, the signed payload
// hash, query order and encoding, hosts with ports, styles with no object.
func TestCanonicalRequest(t *testing.T) {
	s, _ := NewSigner(Credentials{HMAC: &HMACKey{AccessID: "GOOG1ID", Secret: "s"}})
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	const q = "X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=GOOG1ID%2F20261206%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20261206T120000Z&X-Goog-Expires=900"
	tests := []struct {
		name     string
		req      Request
		wantCreq string
		wantURL  string // up to the signature
	}{
		{
			name: "put with the headers presign signs",
			req: Request{Method: "PUT", Bucket: "b", Object: "users/u1/a b+c.jpg", Headers: []Header{
				{"Content-Type", "image/jpeg"}, {"Content-Length", "5"}, {"x-goog-if-generation-match", "0"},
				{"X-Goog-Content-Length-Range", "0,1024"}, {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="}, {"x-goog-meta-owner", "  u  1 "},
			}},
			wantCreq: "PUT\n/b/users/u1/a%20b%2Bc.jpg\n" + q +
				"&X-Goog-SignedHeaders=content-length%3Bcontent-md5%3Bcontent-type%3Bhost%3Bx-goog-content-length-range%3Bx-goog-if-generation-match%3Bx-goog-meta-owner\n" +
				"content-length:5\ncontent-md5:1B2M2Y8AsgTpgAmY7PhCfg==\ncontent-type:image/jpeg\nhost:storage.googleapis.com\n" +
				"x-goog-content-length-range:0,1024\nx-goog-if-generation-match:0\nx-goog-meta-owner:u 1\n\n" +
				"content-length;content-md5;content-type;host;x-goog-content-length-range;x-goog-if-generation-match;x-goog-meta-owner\nUNSIGNED-PAYLOAD",
			wantURL: "https://storage.googleapis.com/b/users/u1/a%20b%2Bc.jpg?",
		},
		{
			name: "repeated header joined in order, each value canonical",
			req:  Request{Method: "GET", Bucket: "b", Object: "k", Headers: []Header{{"X-B", " 2 \t 2"}, {"x-a", "a"}, {"x-b", "1"}, {"X-B", "\t3"}}},
			wantCreq: "GET\n/b/k\n" + q + "&X-Goog-SignedHeaders=host%3Bx-a%3Bx-b\n" +
				"host:storage.googleapis.com\nx-a:a\nx-b:2 2,1,3\n\nhost;x-a;x-b\nUNSIGNED-PAYLOAD",
		},
		{
			name: "signed payload hash",
			req:  Request{Method: "PUT", Bucket: "b", Object: "k", Headers: []Header{{"X-Goog-Content-SHA256", " abc "}, {"x-z", "z"}}},
			wantCreq: "PUT\n/b/k\n" + q + "&X-Goog-SignedHeaders=host%3Bx-goog-content-sha256%3Bx-z\n" +
				"host:storage.googleapis.com\nx-goog-content-sha256:abc\nx-z:z\n\nhost;x-goog-content-sha256;x-z\nabc",
		},
		{
			name: "query sorted by raw name, repeated names in the order given",
			req: Request{Method: "GET", Bucket: "b", Object: "k", Query: []Param{
				{"response-content-disposition", `attachment; filename="a b.pdf"`}, {"a/", "2"}, {"a-", "1"}, {"Z", "z"}, {"Z", "a"}, {"X-Goog-Meta-X", ""}}},
			wantCreq: "GET\n/b/k\n" +
				"X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=GOOG1ID%2F20261206%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20261206T120000Z&X-Goog-Expires=900" +
				"&X-Goog-Meta-X=&X-Goog-SignedHeaders=host&Z=z&Z=a&a-=1&a%2F=2&response-content-disposition=attachment%3B%20filename%3D%22a%20b.pdf%22\n" +
				"host:storage.googleapis.com\n\nhost\nUNSIGNED-PAYLOAD",
		},
		{
			name:     "port in the URL, not in the signed host",
			req:      Request{Method: "GET", Scheme: "http", Host: "127.0.0.1:4443", Bucket: "b"},
			wantCreq: "GET\n/b\n" + q + "&X-Goog-SignedHeaders=host\nhost:127.0.0.1\n\nhost\nUNSIGNED-PAYLOAD",
			wantURL:  "http://127.0.0.1:4443/b?",
		},
		{
			name:     "ipv6 host",
			req:      Request{Method: "GET", Scheme: "http", Host: "[::1]:4443", Bucket: "b", Object: "k"},
			wantCreq: "GET\n/b/k\n" + q + "&X-Goog-SignedHeaders=host\nhost:::1\n\nhost\nUNSIGNED-PAYLOAD",
			wantURL:  "http://[::1]:4443/b/k?",
		},
		{
			name:     "virtual-hosted bucket",
			req:      Request{Method: "GET", Style: VirtualHostedStyle, Bucket: "b"},
			wantCreq: "GET\n/\n" + q + "&X-Goog-SignedHeaders=host\nhost:b.storage.googleapis.com\n\nhost\nUNSIGNED-PAYLOAD",
			wantURL:  "https://b.storage.googleapis.com/?",
		},
		{
			name:     "bucket-bound host, object with slashes kept",
			req:      Request{Method: "DELETE", Style: BucketBoundHostname, Host: "cdn.example", Bucket: "b", Object: "/a//b/../c"},
			wantCreq: "DELETE\n//a//b/../c\n" + q + "&X-Goog-SignedHeaders=host\nhost:cdn.example\n\nhost\nUNSIGNED-PAYLOAD",
			wantURL:  "https://cdn.example//a//b/../c?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			r.Time, r.Expires = at, 15*time.Minute
			if diff := cmp.Diff(tt.wantCreq, s.CanonicalRequest(&r)); diff != "" {
				t.Errorf("canonical request (-want +got):\n%s", diff)
			}
			u := s.Presign(&r)
			query := strings.Split(tt.wantCreq, "\n")[2]
			if !strings.HasSuffix(strings.TrimSuffix(u, u[len(u)-64:]), "?"+query+"&X-Goog-Signature=") {
				t.Errorf("URL %s does not carry the canonical query %s", u, query)
			}
			if tt.wantURL != "" && !strings.HasPrefix(u, tt.wantURL) {
				t.Errorf("URL %s, want it to start with %s", u, tt.wantURL)
			}
		})
	}
}

// A URL signed at a time in another zone is the same as at that instant in
// UTC; the expiry is in whole seconds.
func TestTimeInUTC(t *testing.T) {
	s, _ := NewSigner(Credentials{HMAC: &hmacKey})
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r := Request{Method: "GET", Bucket: "b", Object: "k", Time: at, Expires: time.Hour}
	want := s.Presign(&r)
	r.Time = at.In(time.FixedZone("x", -7*3600))
	if got := s.Presign(&r); got != want {
		t.Errorf("zone changes the URL:\n%s\n%s", got, want)
	}
	if !strings.Contains(want, "X-Goog-Date=20261206T120000Z&X-Goog-Expires=3600&") {
		t.Errorf("URL %s", want)
	}
}
