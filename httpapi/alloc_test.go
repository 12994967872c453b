//go:build !race

package httpapi

import (
	"crypto/sha256"
	"net/http/httptest"
	"strings"
	"testing"
)

// Allocation counts are not meaningful under -race, so this file is built
// without it only (the test command also runs go test without -race).

// TestAPIKeyAllocations: checking an API key of up to 256 bytes allocates
// nothing (issue 12: the bench harness's key is 42 bytes, past the
// compiler's 32-byte stack buffer for []byte(string)).
func TestAPIKeyAllocations(t *testing.T) {
	key := "bench-key-0123456789abcdef0123456789abcdef"
	keys := APIKeys{{Name: "other", Hash: sha256.Sum256([]byte(strings.ToUpper(key)))}, {Name: "web", Hash: sha256.Sum256([]byte(key))}}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	if p, err := keys.Authenticate(r); err != nil || p.Name != "web" {
		t.Fatalf("Authenticate = %+v, %v; want web", p, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = keys.Authenticate(r) }); n != 0 {
		t.Errorf("Authenticate: %v allocations, want 0", n)
	}
}
