package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
	"presign.dev/sigv4"
)

func TestCoversPrefix(t *testing.T) {
	tests := []struct {
		pattern string
		yes     []string // prefixes the pattern covers for alice
		no      []string
	}{
		{"users/{sub}/**",
			[]string{"users/alice/", "users/alice/photos/2026", "users/alice/photos/", "users/alice/a", "users/alice//", "users/alice/.", "users/alice/.."},
			// users/alice would also list users/alice2/…; users/ every user's.
			[]string{"", "users", "users/", "users/al", "users/alice", "users/bob/", "users/alice2/", "Users/alice/", "users//alice/", "x/users/alice/"}},
		{"users/*/public/**",
			[]string{"users/bob/public/", "users/bob/public/x", "users//public/", "users/alice/public/a/b/"},
			[]string{"users/", "users/bob/", "users/bob/pub", "users/bob/public", "users/bob/private/", "users/*/", ""}},
		{"**", []string{"", "a", "a/", "a/b/c", "/"}, nil},
		{"users/**", []string{"users/", "users/alice/", "users/a"}, []string{"", "users", "user/", "usersx/"}},
		{"img/*.png/**", []string{"img/a.png/", "img/.png/x"}, []string{"img/", "img/a.jpg/", "img/a.png"}},
		{"t-{claim.tenant}-*/**", []string{"t-t1-x/", "t-t1-/y"}, []string{"t-t1-x", "t-t2-x/", "t-/"}},
		// Only patterns that end in ** and have no other cover anything.
		{"users/{sub}/*", nil, []string{"users/alice/", "users/alice/x", ""}},
		{"users/{sub}/**/x", nil, []string{"users/alice/", "users/alice/a/"}},
		{"**/x/**", nil, []string{"", "a/x/", "x/"}},
		{"public/*.html", nil, []string{"public/", "public/a.html"}},
		{"a/**/b/**", nil, []string{"a/x/b/", "a/"}},
	}
	alice := presign.Principal{Kind: presign.KindJWT, Name: "alice", Claims: map[string]string{"tenant": "t1"}}
	for _, tt := range tests {
		segs, ok := compilePattern(tt.pattern, alice)
		if !ok {
			t.Fatalf("%s does not compile", tt.pattern)
		}
		var got, want []string
		for _, prefix := range append(tt.yes, tt.no...) {
			if coversPrefix(segs, prefix) {
				got = append(got, prefix)
			}
		}
		want = tt.yes
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("prefixes %s covers (-want +got):\n%s", tt.pattern, diff)
		}
	}
	// A pattern whose {sub} the caller cannot fill covers nothing.
	if _, ok := compilePattern("users/{sub}/**", presign.Principal{Kind: presign.KindAPIKey, Name: "a/b"}); ok {
		t.Error("users/{sub}/** compiles for sub a/b")
	}
}

// FuzzCoversPrefix: coversPrefix is sound. When a valid pattern covers a
// prefix, every key that starts with it — the prefix followed by any
// text, a segment, or more segments — matches the pattern, so a listing
// of that prefix shows only keys the pattern allows.
func FuzzCoversPrefix(f *testing.F) {
	for _, s := range [][3]string{
		{"users/{sub}/**", "users/alice/", "x"}, {"users/{sub}/**", "users/alice", "2/x"}, {"users/*/public/**", "users/b/public/", "a/b"},
		{"**", "", ""}, {"**", "a", "/b"}, {"a*b/**", "ab/", ""}, {"a/**/b/**", "a/b/", "c"}, {"{claim.tenant}/**", "t1/", "/"},
		{"*x*/**", "axb/", "q"}, {"users/{sub}/*", "users/alice/", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	p := presign.Principal{Kind: presign.KindJWT, Name: "alice", Claims: map[string]string{"tenant": "t1"}}
	f.Fuzz(func(t *testing.T, pattern, prefix, suffix string) {
		if ValidatePattern(pattern) != nil {
			return
		}
		segs, ok := compilePattern(pattern, p)
		if !ok || !coversPrefix(segs, prefix) {
			return
		}
		for _, s := range []string{suffix, "x", "/", "/" + suffix, suffix + "/", suffix + "/x/y", "a/" + suffix} {
			key := prefix + s
			if key == "" {
				continue
			}
			if !matchKey(segs, key) {
				t.Fatalf("%s covers the prefix %q, but the key %q under it does not match", pattern, prefix, key)
			}
			if len(key) <= 24 && strings.Count(pattern, "*") <= 6 && !naiveMatch(segs, strings.Split(key, "/")) {
				t.Fatalf("%s covers the prefix %q, but by definition the key %q under it does not match", pattern, prefix, key)
			}
		}
	})
}

var listRules = []Rule{
	{Name: "own", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpList, presign.OpGet}, Keys: []string{"users/{sub}/**"}},
	{Name: "shared", Who: Who{Authenticated: true}, Ops: []presign.Op{presign.OpList}, Keys: []string{"teams/*/shared/**"}},
	{Name: "public", Who: Who{Anonymous: true}, Ops: []presign.Op{presign.OpList}, Keys: []string{"public/**"}},
	{Name: "admin", Who: Who{APIKeys: []string{"admin"}}, Ops: []presign.Op{presign.OpList}, Keys: []string{"**"}},
}

func TestAuthorizeList(t *testing.T) {
	p, err := New(listRules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := presign.Principal{Kind: presign.KindAPIKey, Name: "admin"}
	tests := []struct {
		who      presign.Principal
		prefix   string
		wantRule string
		wantCode presign.Code
		wantMsg  string
	}{
		{who: alice, prefix: "users/alice/", wantRule: "own"},
		{who: alice, prefix: "users/alice/photos/2026", wantRule: "own"},
		{who: alice, prefix: "teams/red/shared/", wantRule: "shared"},
		{who: alice, prefix: "public/", wantCode: presign.CodePermissionDenied}, // anonymous callers only
		{who: alice, prefix: "users/", wantCode: presign.CodePermissionDenied,
			wantMsg: `denied: prefix "users/" is outside what rule "own" allows (users/{sub}/**)`},
		{who: alice, prefix: "users/alice", wantCode: presign.CodePermissionDenied},
		{who: alice, prefix: "users/al", wantCode: presign.CodePermissionDenied},
		{who: alice, prefix: "users/bob/", wantCode: presign.CodePermissionDenied},
		{who: alice, prefix: "", wantCode: presign.CodePermissionDenied},
		{who: alice, prefix: "teams/red/", wantCode: presign.CodePermissionDenied},
		{who: anon, prefix: "public/", wantRule: "public"},
		{who: anon, prefix: "public/a/b", wantRule: "public"},
		{who: anon, prefix: "", wantCode: presign.CodeUnauthenticated},
		{who: anon, prefix: "users/alice/", wantCode: presign.CodeUnauthenticated},
		{who: admin, prefix: "", wantRule: "admin"},
		{who: admin, prefix: "users/", wantRule: "admin"},
	}
	for _, tt := range tests {
		dec, err := p.Authorize(context.Background(), tt.who, &presign.Request{Op: presign.OpList, Prefix: tt.prefix})
		if tt.wantCode != "" {
			if presign.ErrorCode(err) != tt.wantCode {
				t.Errorf("%s lists %q: %v, want %s", tt.who.Name, tt.prefix, err, tt.wantCode)
			} else if tt.wantMsg != "" && !strings.HasPrefix(presign.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("%s lists %q: message %q, want %q…", tt.who.Name, tt.prefix, presign.ErrorMessage(err), tt.wantMsg)
			}
			continue
		}
		if err != nil || dec.Rule != tt.wantRule || dec.Key != "" {
			t.Errorf("%s lists %q: %+v, %v; want rule %s", tt.who.Name, tt.prefix, dec, err, tt.wantRule)
		}
	}
}

// TestListThroughIssuer: the issuer asks the rules about the prefix,
// and signs it.
func TestListThroughIssuer(t *testing.T) {
	p, err := New(listRules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := presign.New(presign.Config{Backends: []presign.Backend{{Endpoint: "http://127.0.0.1:9000", Bucket: "bucket",
		Credentials: sigv4.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}}}, Authorizer: p})
	if err != nil {
		t.Fatal(err)
	}
	g, err := iss.Issue(context.Background(), alice, presign.Request{Op: presign.OpList, Prefix: "users/alice/", Delimiter: "/"})
	if err != nil || g.Rule != "own" || !strings.Contains(g.URL, "prefix=users%2Falice%2F") {
		t.Errorf("alice lists her prefix: %+v, %v", g, err)
	}
	if _, err := iss.Issue(context.Background(), alice, presign.Request{Op: presign.OpList, Prefix: "users/"}); presign.ErrorCode(err) != presign.CodePermissionDenied {
		t.Errorf("alice lists users/: %v", err)
	}
}

func TestExplainList(t *testing.T) {
	p, err := New(listRules, Options{})
	if err != nil {
		t.Fatal(err)
	}
	trace := p.Explain(alice, &presign.Request{Op: presign.OpList, Prefix: "teams/red/shared/2026/"})
	want := []Trace{
		{Rule: "own", Reason: `prefix "teams/red/shared/2026/" is outside what rule "own" allows (users/{sub}/**): a list needs a pattern ending in ** whose segments before it the prefix holds whole, each followed by a /`},
		{Rule: "shared", Matched: true},
		{Rule: "public", Reason: "rule does not apply to this caller"},
		{Rule: "admin", Reason: "rule does not apply to this caller"},
	}
	if diff := cmp.Diff(want, trace); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

func TestListRuleValidation(t *testing.T) {
	who := Who{Authenticated: true}
	for _, tt := range []struct {
		name string
		rule Rule
		want []string
	}{
		{"keys covering prefixes", Rule{Name: "r", Who: who, Ops: []presign.Op{presign.OpList}, Keys: []string{"users/{sub}/*.png", "users/{sub}/**"}}, nil},
		{"every key", Rule{Name: "r", Who: who, Ops: []presign.Op{presign.OpList}, Keys: []string{"**"}}, nil},
		{"no keys", Rule{Name: "r", Who: who, Ops: []presign.Op{presign.OpList}},
			[]string{`keys: required: the key patterns allowed, e.g. ["users/{sub}/**"] (write ["**"] for every key)`}},
		{"generated keys do not cover a list", Rule{Name: "r", Who: who, Ops: []presign.Op{presign.OpPut, presign.OpList}, GenerateKey: "u/{uuid}"},
			[]string{`keys: required for get, head, delete and list, which generate_key does not cover (write ["**"] for every key)`}},
		{"no pattern ends in **", Rule{Name: "r", Who: who, Ops: []presign.Op{presign.OpList}, Keys: []string{"users/{sub}/*", "a/**/b/**"}},
			[]string{"keys: list needs a pattern that ends in ** with no other **, such as users/{sub}/**, which covers whole prefixes; none of these does"}},
	} {
		var got []string
		for _, pr := range tt.rule.Validate(nil) {
			got = append(got, pr.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: problems (-want +got):\n%s", tt.name, diff)
		}
	}
}
