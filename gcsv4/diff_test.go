package gcsv4

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"presign.dev/internal/oracle/gcsref"
)

// Differential tests against Google's Go library, cloud.google.com/go/storage
// v1.71.0: storage.SignedURL and storage.GenerateSignedPostPolicyV4, with the
// same key, inputs and time, must give the same URL and form fields.
//
// The library runs in a helper program, internal/gcsref, its own module, so
// that it and the modules it requires stay out of presign's go.mod; the test
// builds it with the go command (the module cache or the module proxy must
// have it: without them the test is skipped, and fails under CI=true), and
// speaks to it through package presign.dev/internal/oracle/gcsref.
//
// The library reads the clock itself, with no seam, so the helper signs "now"
// and ours signs at the X-Goog-Date and X-Goog-Expires (x-goog-date for a
// form) the library's answer shows.
//
// Where the library's output differs from the wire format without being
// wrong, ours is compared after the library's own normalization:
//   - its URL encodes the query with url.Values.Encode: sorted, X-Goog-Signature
//     among the others, space as +. Ours keeps the canonical query (space as
//     %20, the signature last, as Google's conformance vectors want), so our
//     query is compared after the same encoding; everything before "?" is
//     compared byte for byte. (The library's conformance test compares the
//     vectors' URLs the same way.)
//   - its policy JSON leaves non-ASCII characters as UTF-8, while ours writes
//     them as \uXXXX as the conformance vectors do; for such inputs the
//     policies must decode to the same document and our signature must verify,
//     and every other field must be identical. ASCII inputs give identical
//     fields, policy and signature included.
//
// Inputs outside what the library handles right, or outside the signer's
// preconditions, are not generated (each is said where it is skipped).

var (
	diffKeyOnce sync.Once
	diffKey     *rsa.PrivateKey
	diffKeyPEM  string
)

// diffSigner signs with an RSA key generated once per test process. It is
// 1024 bits, not 2048, to make the fuzzing cheaper: the key's size changes
// the signature's length, not what is signed (the vectors sign with 2048).
func diffSigner(tb testing.TB) (*Signer, string) {
	diffKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		diffKey, diffKeyPEM = k, pemOf("PRIVATE KEY", der)
	})
	s, err := NewSigner(Credentials{ServiceAccount: &ServiceAccount{ClientEmail: diffEmail, PrivateKey: diffKey}})
	if err != nil {
		tb.Fatal(err)
	}
	return s, diffKeyPEM
}

const diffEmail = "signer@project-1.iam.gserviceaccount.com"

func styleName(s Style) string {
	return [...]string{"path", "virtual", "bound"}[s]
}

// urlCase is one signed URL to compare.
type urlCase struct {
	method, scheme, host string
	style                Style
	bucket, object       string
	query                []Param
	headers              []Header
	expires              time.Duration
}

// diffURL signs c with the library and with ours, and compares.
func diffURL(t *testing.T, ref *gcsref.Library, c urlCase) {
	t.Helper()
	s, keyPEM := diffSigner(t)
	req := &gcsref.Request{Op: "url", Email: diffEmail, Key: keyPEM, Bucket: c.bucket, Object: c.object,
		Style: styleName(c.style), Hostname: c.host, Insecure: c.scheme == "http", Method: c.method,
		Expires: time.Now().Add(c.expires).Unix()}
	for _, h := range c.headers {
		req.Headers = append(req.Headers, h.Name+":"+h.Value)
	}
	for _, p := range c.query {
		req.Query = append(req.Query, [2]string{p.Name, p.Value})
	}
	lib := ref.Sign(t, req).URL

	libQuery := lib[strings.IndexByte(lib, '?')+1:]
	q, err := url.ParseQuery(libQuery)
	if err != nil {
		t.Fatalf("the library's URL %s: %v", lib, err)
	}
	at, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	if err != nil {
		t.Fatalf("the library's X-Goog-Date: %v", err)
	}
	exp, err := strconv.Atoi(q.Get("X-Goog-Expires"))
	if err != nil {
		t.Fatalf("the library's X-Goog-Expires: %v", err)
	}
	r := &Request{Method: c.method, Scheme: c.scheme, Host: c.host, Style: c.style, Bucket: c.bucket, Object: c.object,
		Query: c.query, Headers: c.headers, Time: at, Expires: time.Duration(exp) * time.Second}
	ours := s.Presign(r)

	before, ourQuery, _ := strings.Cut(ours, "?")
	oq, err := url.ParseQuery(ourQuery)
	if err != nil {
		t.Fatalf("our URL %s: %v", ours, err)
	}
	got := before + "?" + oq.Encode()
	if got != lib {
		t.Fatalf("URLs differ for %+v\n ours %s\n  lib %s\n(ours as the library encodes a query: %s)\ncanonical request:\n%s", c, ours, lib, got, s.CanonicalRequest(r))
	}
}

// postCase is one POST policy to compare. Fields are in the library's fixed
// order: acl, cache-control, content-disposition, content-encoding,
// content-type, success_action_redirect, success_action_status, then one
// x-goog-meta-* field.
type postCase struct {
	scheme, host string
	style        Style
	bucket, key  string
	fields       gcsref.Fields
	startsWith   [][2]string // field without "$", prefix
	length       []int64
	expires      time.Duration
}

func diffPost(t *testing.T, ref *gcsref.Library, c postCase) {
	t.Helper()
	s, keyPEM := diffSigner(t)
	expires := time.Now().Add(c.expires).Truncate(time.Second)
	req := &gcsref.Request{Op: "post", Email: diffEmail, Key: keyPEM, Bucket: c.bucket, Object: c.key,
		Style: styleName(c.style), Hostname: c.host, Insecure: c.scheme == "http", Expires: expires.Unix(), Fields: c.fields}
	r := &PostRequest{Scheme: c.scheme, Host: c.host, Style: c.style, Bucket: c.bucket, Object: c.key}
	for _, sw := range c.startsWith {
		req.StartsWith = append(req.StartsWith, [2]string{"$" + sw[0], sw[1]})
		r.Conditions = append(r.Conditions, StartsWith(sw[0], sw[1]))
	}
	if c.length != nil {
		req.Length = []uint64{uint64(c.length[0]), uint64(c.length[1])}
		r.Conditions = append(r.Conditions, ContentLengthRange(c.length[0], c.length[1]))
	}
	f := c.fields
	for _, p := range []Param{{"acl", f.ACL}, {"cache-control", f.CacheControl}, {"content-disposition", f.ContentDisposition},
		{"content-encoding", f.ContentEncoding}, {"content-type", f.ContentType}, {"success_action_redirect", f.RedirectToURLOnSuccess}} {
		if p.Value != "" {
			r.Fields = append(r.Fields, p)
		}
	}
	if f.StatusCodeOnSuccess > 0 {
		r.Fields = append(r.Fields, Param{"success_action_status", strconv.Itoa(f.StatusCodeOnSuccess)})
	}
	for name, value := range f.Metadata { // at most one
		r.Fields = append(r.Fields, Param{name, value})
	}
	lib := ref.Sign(t, req)

	at, err := time.Parse("20060102T150405Z", lib.Fields["x-goog-date"])
	if err != nil {
		t.Fatalf("the library's x-goog-date: %v", err)
	}
	r.Time, r.Expires = at, expires.Sub(at)
	form, err := s.PresignPost(r)
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != lib.URL {
		t.Errorf("URL %s, library %s", form.URL, lib.URL)
	}
	ours := map[string]string{}
	for _, p := range form.Fields {
		ours[p.Name] = p.Value
	}
	if !asciiPost(c) {
		// Non-ASCII text: the policies differ in their escaping only.
		var a, b any
		libPolicy, _ := base64Decode(lib.Fields["policy"])
		if err := json.Unmarshal(libPolicy, &a); err != nil {
			t.Fatalf("the library's policy: %v", err)
		}
		if err := json.Unmarshal(form.Policy, &b); err != nil {
			t.Fatalf("our policy: %v", err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("decoded policies differ (-library +ours):\n%s", diff)
		}
		sig, _ := hex.DecodeString(ours["x-goog-signature"])
		sum := sha256.Sum256([]byte(ours["policy"]))
		if err := rsa.VerifyPKCS1v15(&diffKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("our signature does not verify: %v", err)
		}
		for _, m := range []map[string]string{ours, lib.Fields} {
			delete(m, "policy")
			delete(m, "x-goog-signature")
		}
	}
	if diff := cmp.Diff(lib.Fields, ours); diff != "" {
		t.Errorf("form fields differ for %+v (-library +ours):\n%s\nour policy: %s", c, diff, form.Policy)
	}
}

func asciiPost(c postCase) bool {
	all := []string{c.key, c.fields.ACL, c.fields.CacheControl, c.fields.ContentType, c.fields.ContentDisposition,
		c.fields.ContentEncoding, c.fields.RedirectToURLOnSuccess}
	for k, v := range c.fields.Metadata {
		all = append(all, k, v)
	}
	for _, sw := range c.startsWith {
		all = append(all, sw[0], sw[1])
	}
	for _, s := range all {
		if !isASCII(s) {
			return false
		}
	}
	return true
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// The requests presign makes, with the headers it signs.
func TestPresignMatchesLibrary(t *testing.T) {
	ref := gcsref.Start(t)
	tests := []struct {
		name string
		c    urlCase
	}{
		{"get with disposition", urlCase{method: "GET", bucket: "b", object: "users/u1/report final.pdf",
			query: []Param{{"response-content-disposition", `attachment; filename="report final.pdf"; filename*=UTF-8''report%20final.pdf`}}}},
		{"put create-only with size range, type, md5 and metadata", urlCase{method: "PUT", bucket: "b", object: "users/u1/ü+1.jpg",
			headers: []Header{{"Content-Type", "image/jpeg"}, {"x-goog-if-generation-match", "0"}, {"x-goog-content-length-range", "0,10485760"},
				{"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="}, {"x-goog-meta-owner", "u1"}, {"x-goog-meta-note", "a \t b"}}}},
		{"put exact length", urlCase{method: "PUT", bucket: "b", object: "k", headers: []Header{{"Content-Length", "1234"}}}},
		{"resumable start", urlCase{method: "POST", bucket: "b", object: "big.bin", headers: []Header{{"x-goog-resumable", "start"}, {"x-goog-if-generation-match", "0"}}}},
		{"head", urlCase{method: "HEAD", bucket: "b", object: "k"}},
		{"delete", urlCase{method: "DELETE", bucket: "b", object: "tmp/keep"}},
		{"list", urlCase{method: "GET", bucket: "b", query: []Param{{"prefix", "users/u1/"}, {"delimiter", "/"}, {"max-keys", "100"}}}},
		{"virtual hosted", urlCase{method: "GET", style: VirtualHostedStyle, bucket: "b", object: "a/b"}},
		{"bucket-bound over http", urlCase{method: "GET", scheme: "http", style: BucketBoundHostname, host: "cdn.example.com", bucket: "b", object: "a"}},
		{"emulator on a port", urlCase{method: "PUT", scheme: "http", host: "127.0.0.1:4443", bucket: "b", object: "k", headers: []Header{{"content-type", "text/plain"}}}},
		{"signed payload", urlCase{method: "PUT", bucket: "b", object: "k", headers: []Header{{"X-Goog-Content-SHA256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}}},
		{"repeated header", urlCase{method: "GET", bucket: "b", object: "k", headers: []Header{{"x-goog-meta-a", "1"}, {"X-Goog-Meta-A", "2"}}}},
		{"seven days", urlCase{method: "GET", bucket: "b", object: "k", expires: MaxExpires}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c.expires == 0 {
				c.expires = 15 * time.Minute
			}
			diffURL(t, ref, c)
		})
	}
}

func TestPresignPostMatchesLibrary(t *testing.T) {
	ref := gcsref.Start(t)
	tests := []struct {
		name string
		c    postCase
	}{
		{"presign's form", postCase{bucket: "b", key: "users/u1/a b.jpg",
			fields:     gcsref.Fields{ContentType: "image/jpeg", StatusCodeOnSuccess: 201, Metadata: map[string]string{"x-goog-meta-owner": "u1"}},
			startsWith: nil, length: []int64{0, 10 << 20}}},
		{"every field", postCase{bucket: "b", key: "k", fields: gcsref.Fields{ACL: "private", CacheControl: "no-store",
			ContentDisposition: `attachment; filename="a.txt"`, ContentEncoding: "gzip", ContentType: "text/plain",
			RedirectToURLOnSuccess: "https://app.example/done?x=1&y=<2>", StatusCodeOnSuccess: 200}}},
		{"starts-with", postCase{bucket: "b", key: "k", startsWith: [][2]string{{"x-goog-meta-tag", "pre"}, {"Content-Type", "image/"}}}},
		{"non-ascii key", postCase{bucket: "b", key: "$test-object-é", fields: gcsref.Fields{Metadata: map[string]string{"x-goog-meta-custom-1": "$test-object-é-metadata"}}}},
		{"virtual hosted", postCase{style: VirtualHostedStyle, bucket: "b", key: "k"}},
		{"bucket-bound", postCase{scheme: "http", style: BucketBoundHostname, host: "cdn.example.com", bucket: "b", key: "k"}},
		{"emulator", postCase{scheme: "http", host: "127.0.0.1:4443", bucket: "b", key: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.expires = 15 * time.Minute
			diffPost(t, ref, c)
		})
	}
}

var (
	diffMethods = []string{"GET", "PUT", "HEAD", "DELETE", "POST"}
	// diffHeaders are the headers presign signs, and a few more.
	diffHeaders = []string{"Content-Type", "content-length", "Content-MD5", "x-goog-if-generation-match",
		"X-Goog-Content-Length-Range", "x-goog-meta-", "X-Goog-Resumable", "Cache-Control", "Content-Disposition", "x-goog-content-sha256"}
	diffHosts = []struct {
		scheme, host string
	}{{"", ""}, {"https", "storage.googleapis.com"}, {"http", "127.0.0.1:4443"}, {"http", "localhost:8080"}, {"https", "storage.example.com"}, {"http", "[::1]:9000"}}
)

// FuzzPresignMatchesLibrary: for the same request, key and time, our URL is
// the library's.
func FuzzPresignMatchesLibrary(f *testing.F) {
	f.Add("a b/c+d.txt", "response-content-disposition", `attachment; filename="a b.txt"`, "image/jpeg", "meta  value", uint8(0), uint8(0), uint8(0), false, uint32(900))
	f.Add("ü/../%2F//x", "prefix", "a/b", "", "\tv\t", uint8(1), uint8(3), uint8(5), true, uint32(1))
	f.Add("/leading", "", "", "text/plain; charset=utf-8", "0", uint8(2), uint8(4), uint8(3), true, uint32(604800))
	f.Add("", "Z", "~ ._-%=/é0Aa", "", "", uint8(3), uint8(1), uint8(9), false, uint32(60))
	f.Add("日本/😀", "a/", "=&?#", "x", "y", uint8(4), uint8(2), uint8(1), false, uint32(3600))
	ref := gcsref.Start(f)
	f.Fuzz(func(t *testing.T, object, qname, qvalue, ctype, hvalue string, hostIdx, methodIdx, headerIdx uint8, dup bool, expires uint32) {
		// The helper reads JSON, which cannot carry invalid UTF-8 (presign
		// refuses it earlier anyway).
		for _, s := range []string{object, qname, qvalue, ctype, hvalue} {
			if !utf8.ValidString(s) {
				t.Skip()
			}
		}
		h := diffHosts[int(hostIdx)%len(diffHosts)]
		c := urlCase{method: diffMethods[int(methodIdx)%len(diffMethods)], scheme: h.scheme, host: h.host,
			bucket: "bucket", object: object, expires: time.Duration(2+expires%604799) * time.Second}
		// Virtual-hosted and bucket-bound URLs of no object, or of one that
		// starts with "/", are where the library goes wrong: its URL then
		// lacks the "/" it signs (scheme://host?...) or drops one of the two
		// it signs (//name becomes /name). Such requests are compared path
		// style only. So are the hosts that are not DNS names.
		if hostIdx/16%3 != 0 && object != "" && !strings.HasPrefix(object, "/") && !strings.ContainsAny(h.host, ":") {
			c.style = Style(hostIdx / 16 % 3)
			if c.style == BucketBoundHostname && c.host == "" {
				c.host = "cdn.example.com"
			}
		}
		// The signer's preconditions: no authentication parameter in the
		// query, header values printable with something besides blanks.
		if qname != "" && !isAuthParam(qname) {
			c.query = append(c.query, Param{qname, qvalue})
		}
		if printable(ctype) && strings.Trim(ctype, " \t") != "" {
			c.headers = append(c.headers, Header{"Content-Type", ctype})
		}
		if printable(hvalue) && strings.Trim(hvalue, " \t") != "" {
			name := diffHeaders[int(headerIdx)%len(diffHeaders)]
			if strings.HasSuffix(name, "-") {
				name += strconv.Itoa(int(headerIdx))
			}
			c.headers = append(c.headers, Header{name, hvalue})
			if dup {
				c.headers = append(c.headers, Header{strings.ToUpper(name), hvalue + " 2"})
			}
		}
		diffURL(t, ref, c)
	})
}

// FuzzPresignPostMatchesLibrary: for the same form, key and time, our URL and
// fields are the library's (for non-ASCII text, up to the policy's
// escaping: see above).
func FuzzPresignPostMatchesLibrary(f *testing.F) {
	f.Add("users/u1/a b.jpg", "image/jpeg", "u1", "pre", `attachment; filename="x"`, uint8(0), uint16(201), int64(0), int64(1024))
	f.Add(`x"],["starts-with","$key","`, `"]`, `v"},{"acl":"public-read`, "", "", uint8(1), uint16(0), int64(5), int64(5))
	f.Add("$test-object-é", "text/plain", "é-metadata", "日本", "<&>", uint8(2), uint16(200), int64(0), int64(0))
	f.Add("k", "", "", "", "", uint8(3), uint16(0), int64(-1), int64(10))
	ref := gcsref.Start(f)
	f.Fuzz(func(t *testing.T, key, ctype, meta, prefix, disposition string, hostIdx uint8, status uint16, lo, hi int64) {
		for _, s := range []string{key, ctype, meta, prefix, disposition} {
			if !utf8.ValidString(s) {
				t.Skip() // JSON to the helper cannot carry it
			}
		}
		if key == "" {
			// An object needs a name. (The library would leave the key out
			// of the policy, as it leaves out every empty value.)
			t.Skip()
		}
		h := diffHosts[int(hostIdx)%len(diffHosts)]
		c := postCase{scheme: h.scheme, host: h.host, style: Style(hostIdx / 16 % 3), bucket: "bucket", key: key,
			expires: 15 * time.Minute}
		if c.style != PathStyle && strings.ContainsAny(h.host, ":") {
			c.style = PathStyle
		}
		if c.style == BucketBoundHostname && c.host == "" {
			c.host = "cdn.example.com"
		}
		// The library leaves out a condition whose value is empty (and the
		// range 0-0); the other fields are given only when not empty. Only
		// one x-goog-meta-* field: the library writes its metadata in map
		// order, which varies.
		c.fields = gcsref.Fields{ContentType: ctype, ContentDisposition: disposition, StatusCodeOnSuccess: int(status)}
		if meta != "" {
			c.fields.Metadata = map[string]string{"x-goog-meta-m": meta}
		}
		if prefix != "" {
			c.startsWith = [][2]string{{"x-goog-meta-tag", prefix}}
		}
		if lo >= 0 && hi >= 0 && (lo != 0 || hi != 0) {
			c.length = []int64{lo, hi}
		}
		diffPost(t, ref, c)
	})
}

func isAuthParam(name string) bool {
	for _, a := range append(authParams[:], "X-Goog-Signature") {
		if strings.EqualFold(name, a) {
			return true
		}
	}
	return false
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
