package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"presign.dev/presign"
)

// fakeJWT accepts the token "good.jwt.token" as subject alice.
type fakeJWT struct{}

func (fakeJWT) Authenticate(r *http.Request) (presign.Principal, error) {
	if r.Header.Get("Authorization") == "Bearer good.jwt.token" {
		return presign.Principal{Kind: presign.KindJWT, Name: "alice"}, nil
	}
	return presign.Principal{}, presign.Errorf(presign.CodeUnauthenticated, "the token is not valid")
}

func TestChain(t *testing.T) {
	keys := APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}
	isJWT := func(tok string) bool { return strings.Count(tok, ".") == 2 }
	for _, tt := range []struct {
		name      string
		chain     Chain
		auth      string
		wantKind  string
		wantName  string
		wantError bool
	}{
		{"api key", Chain{APIKeys: keys, JWT: fakeJWT{}, IsJWT: isJWT}, "Bearer " + testKey, presign.KindAPIKey, "web", false},
		{"jwt", Chain{APIKeys: keys, JWT: fakeJWT{}, IsJWT: isJWT}, "Bearer good.jwt.token", presign.KindJWT, "alice", false},
		{"bad jwt", Chain{APIKeys: keys, JWT: fakeJWT{}, IsJWT: isJWT, Anonymous: true}, "Bearer bad.jwt.token", "", "", true},
		{"jwt without a verifier is tried as an API key", Chain{APIKeys: keys}, "Bearer good.jwt.token", "", "", true},
		{"no credential, anonymous allowed", Chain{APIKeys: keys, Anonymous: true}, "", presign.KindAnonymous, "", false},
		{"no credential, anonymous not allowed", Chain{APIKeys: keys}, "", "", "", true},
		{"bad key never falls back to anonymous", Chain{APIKeys: keys, Anonymous: true}, "Bearer wrong-key-0123456789", "", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			p, err := tt.chain.Authenticate(r)
			if tt.wantError {
				if presign.ErrorCode(err) != presign.CodeUnauthenticated {
					t.Fatalf("got %+v, %v; want unauthenticated", p, err)
				}
				return
			}
			if err != nil || p.Kind != tt.wantKind || p.Name != tt.wantName {
				t.Fatalf("got %+v, %v", p, err)
			}
		})
	}
}

// TestAuditLog: one decision line per issue call, allowed or denied, with
// the rule, and never the URL.
func TestAuditLog(t *testing.T) {
	var logs bytes.Buffer
	h := testHandler(t, &logs)
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"get","key":"a/b.txt"}`, wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"get","key":"a/../b"}`, wantStatus: 400})
	var decisions []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if m["msg"] == "decision" {
			decisions = append(decisions, m)
		}
	}
	// Validation is part of Issue, so the malformed request is audited too.
	if len(decisions) != 2 {
		t.Fatalf("%d decision lines, want 2:\n%s", len(decisions), logs.String())
	}
	ok, denied := decisions[0], decisions[1]
	if ok["allowed"] != true || ok["rule"] != "allow-all" || ok["key"] != "a/b.txt" || ok["principal"] != "web" || ok["request_id"] != "req-1" || ok["expires_at"] == nil ||
		ok["backend"] != "default" {
		t.Errorf("allowed line %v", ok)
	}
	if denied["allowed"] != false || denied["code"] != "invalid_argument" || denied["reason"] == "" {
		t.Errorf("denied line %v", denied)
	}
	if strings.Contains(logs.String(), "X-Amz-Signature") || strings.Contains(logs.String(), "http://127.0.0.1:9000") {
		t.Errorf("logs hold a URL:\n%s", logs.String())
	}
}

// TestSumToken: the stack copy hashes what sha256.Sum256 hashes, on both
// sides of its 256-byte bound.
func TestSumToken(t *testing.T) {
	for _, n := range []int{0, 1, 16, 32, 33, 64, 255, 256, 257, 1000} {
		tok := strings.Repeat("k", n)
		if got, want := sumToken(tok), sha256.Sum256([]byte(tok)); got != want {
			t.Errorf("sumToken of %d bytes = %x, want %x", n, got, want)
		}
	}
}
