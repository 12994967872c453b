package policy

import (
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
)

// FuzzOwnPrefix: whatever the caller's identity and the key, the pattern
// users/{sub}/** matches only keys under users/<sub>/, for a sub that is
// one segment; and a generated key always lands there and is a
// valid key.
func FuzzOwnPrefix(f *testing.F) {
	for _, s := range [][2]string{{"alice", "users/alice/x"}, {"../bob", "users/../bob/x"}, {"a/b", "users/a/b/c"}, {"*", "users/bob/x"},
		{"alice", "users/alice"}, {"", "users//x"}, {"al\x00ice", "users/al\x00ice/x"}, {"..", "users/../x"}} {
		f.Add(s[0], s[1], "photo.png")
	}
	f.Fuzz(func(t *testing.T, sub, key, filename string) {
		p := presign.Principal{Kind: presign.KindJWT, Name: sub}
		segs, ok := compilePattern("users/{sub}/**", p)
		if ok && matchKey(segs, key) {
			if strings.ContainsAny(sub, "/") || sub == "" || sub == "." || sub == ".." {
				t.Fatalf("sub %q is usable", sub)
			}
			// Every key under "users/<sub>/" is the caller's (the directory
			// marker "users/<sub>/" included); "users/<sub>" itself is not.
			if !strings.HasPrefix(key, "users/"+sub+"/") {
				t.Fatalf("key %q matched outside users/%s/", key, sub)
			}
		}
		k, err := generateKey("users/{sub}/{uuid}{ext}", p, filename, "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a", time.Unix(0, 0))
		if err != nil {
			return
		}
		if ok && !matchKey(segs, k) {
			t.Fatalf("generated key %q is outside the caller's prefix", k)
		}
		if len(k) <= presign.MaxKeyLength {
			if err := presign.ValidateKey(k); err != nil {
				t.Fatalf("generated key %q is invalid: %v", k, err)
			}
		}
	})
}

// FuzzValidatePattern: a pattern that validates compiles for a caller with
// every identity, and matching never panics.
func FuzzValidatePattern(f *testing.F) {
	for _, s := range []string{"users/{sub}/**", "public/*.html", "a/**/b/*", "{claim.tenant}/x", "{", "a/**b", "../x"} {
		f.Add(s, "users/alice/x.html")
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if ValidatePattern(pattern) != nil {
			return
		}
		p := presign.Principal{Kind: presign.KindJWT, Name: "alice", Claims: map[string]string{"tenant": "t1"}}
		if segs, ok := compilePattern(pattern, p); ok {
			matchKey(segs, key)
		}
	})
}
