package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TokenIssuer is a local OpenID-style token issuer for tests: it serves its
// signing key as a JWKS document (RFC 7517) on 127.0.0.1 and mints RS256
// JWTs (RFC 7519) by hand, independently of the verifier under test.
type TokenIssuer struct {
	Issuer   string // the "iss" of its tokens (its base URL)
	JWKSURL  string
	Audience string
	key      *rsa.PrivateKey
	kid      string
	Fetches  atomic.Int64 // JWKS requests served
}

// NewTokenIssuer starts an issuer for audience; it stops with the test.
func NewTokenIssuer(t testing.TB, audience string) *TokenIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ti := &TokenIssuer{Audience: audience, key: key, kid: "test-key-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		ti.Fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": ti.kid,
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ti.Issuer = srv.URL + "/"
	ti.JWKSURL = srv.URL + "/.well-known/jwks.json"
	return ti
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Token returns a signed JWT for sub, valid for an hour, with extra claims
// merged in (a claim set to nil is removed, to build broken tokens).
func (ti *TokenIssuer) Token(t testing.TB, sub string, extra map[string]any) string {
	now := time.Now()
	claims := map[string]any{"iss": ti.Issuer, "aud": ti.Audience, "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": ti.kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signing := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, ti.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}
