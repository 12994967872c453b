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
		k, err := generateKey("users/{sub}/{uuid}{ext}", p, SanitizeFilename(filename), Ext(filename), "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a", time.Unix(0, 0))
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

// naiveMatch is the definition of a pattern match, by backtracking:
// exponential in the number of wildcards, so only for short inputs.
func naiveMatch(segs []segment, keySegs []string) bool {
	if len(segs) == 0 {
		return len(keySegs) == 0
	}
	if segs[0].doubleStar {
		for i := 1; i <= len(keySegs); i++ {
			if naiveMatch(segs[1:], keySegs[i:]) {
				return true
			}
		}
		return false
	}
	return len(keySegs) > 0 && naiveParts(segs[0].parts, keySegs[0]) && naiveMatch(segs[1:], keySegs[1:])
}

func naiveParts(parts []part, s string) bool {
	if len(parts) == 0 {
		return s == ""
	}
	if !parts[0].wildcard {
		return strings.HasPrefix(s, parts[0].literal) && naiveParts(parts[1:], s[len(parts[0].literal):])
	}
	for i := 0; i <= len(s); i++ {
		if naiveParts(parts[1:], s[i:]) {
			return true
		}
	}
	return false
}

// FuzzMatchKeyMatchesNaive: the linear matcher agrees with the definition
// on every valid pattern and key short enough for the definition.
func FuzzMatchKeyMatchesNaive(f *testing.F) {
	for _, s := range [][2]string{{"public/*-*-*.jpg", "public/a-b-c.jpg"}, {"a/**/b/*", "a/x/y/b/z"}, {"**/*.png", "x/y.png"},
		{"*ab*ba*", "abba"}, {"ab*ba", "aba"}, {"{sub}-*", "alice-"}, {"**/**", "a"}, {"*a*", "bbb"}, {"x*", "x"}} {
		f.Add(s[0], s[1])
	}
	p := presign.Principal{Kind: presign.KindJWT, Name: "alice"}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if len(pattern) > 24 || len(key) > 24 || strings.Count(pattern, "*") > 6 || ValidatePattern(pattern) != nil {
			return
		}
		segs, ok := compilePattern(pattern, p)
		if !ok {
			return
		}
		if got, want := matchKey(segs, key), naiveMatch(segs, strings.Split(key, "/")); got != want {
			t.Fatalf("matchKey(%q, %q) = %v, the definition says %v", pattern, key, got, want)
		}
	})
}

// TestMatchKeyAdversarial: patterns with many wildcards against long keys
// that almost match (minutes each for a backtracking matcher) are decided,
// and decided right.
func TestMatchKeyAdversarial(t *testing.T) {
	p := presign.Principal{Kind: presign.KindJWT, Name: "alice"}
	long := strings.Repeat("-", 1000)
	deep := strings.Repeat("a/", 500)
	for _, tt := range []struct {
		pattern, key string
		want         bool
	}{
		{"public/*-*-*-*.jpg", "public/" + long + "x", false},
		{"public/*-*-*-*.jpg", "public/" + long + ".jpg", true},
		{"public/*a*a*a*a*a*a*b", "public/" + strings.Repeat("a", 1000), false},
		{"**/**/**/**/**/x.jpg", deep + "y.jpg", false},
		{"**/**/**/**/**/x.jpg", deep + "x.jpg", true},
		{"**/*-*-*x/**", deep + long + "/z", false},
		{"**/*-*-*/**", deep + long + "/z", true},
	} {
		segs, ok := compilePattern(tt.pattern, p)
		if !ok {
			t.Fatalf("%s does not compile", tt.pattern)
		}
		if got := matchKey(segs, tt.key); got != tt.want {
			t.Errorf("matchKey(%q, %.40q…) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}
