package presign

import (
	"mime"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"presign.dev/sigv4"
)

// FuzzValidateKey: an accepted key obeys every key rule, and its S3 path
// encoding decodes back to exactly the key.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"a", "a b/c+d", "../x", "a/./b", "a//b", "ü\u0301", "\x00", "%2e%2e/x", strings.Repeat("x", 1024)} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		if key == "" || len(key) > MaxKeyLength || !utf8.ValidString(key) {
			t.Fatalf("accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("accepted dot segment in %q", key)
			}
		}
		for _, r := range key {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted control character in %q", key)
			}
		}
		enc := sigv4.EscapePath(key)
		if dec, err := url.PathUnescape(enc); err != nil || dec != key {
			t.Fatalf("path encoding %q does not round-trip to %q", enc, key)
		}
		if strings.ContainsAny(enc, "?#+ ") {
			t.Fatalf("path encoding %q leaves a character a URL parser would split on", enc)
		}
	})
}

// FuzzContentDisposition: the header is ASCII, parses as a media type, and
// carries the exact file name.
func FuzzContentDisposition(f *testing.F) {
	for _, n := range []string{"a.txt", "naïve.pdf", `a"b\c`, "日本.txt", "x; filename=evil.exe", ""} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || validateFilename(name) != nil {
			return
		}
		cd := ContentDisposition(name)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] >= 0x7f {
				t.Fatalf("non-ASCII or control byte in %q", cd)
			}
		}
		typ, params, err := mime.ParseMediaType(cd)
		if err != nil || typ != "attachment" {
			t.Fatalf("%q does not parse: %v", cd, err)
		}
		if params["filename"] != name {
			t.Fatalf("%q parses to filename %q, want %q", cd, params["filename"], name)
		}
	})
}
