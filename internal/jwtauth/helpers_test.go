package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"presign.dev/presign"
)

// t0 is the tests' "now".
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testKeys are generated once per test binary.
type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec, ec2   *ecdsa.PrivateKey
	ed, ed2   ed25519.PrivateKey
	secret    []byte
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keysVal.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keysVal.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		keysVal.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		_, keysVal.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		_, keysVal.ed2, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		keysVal.secret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	})
	return keysVal
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// claims returns valid claims for iss, for the tests' now.
func claims(iss string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": iss, "sub": "alice", "aud": "presign",
		"exp": t0.Add(10 * time.Minute).Unix(), "iat": t0.Add(-time.Minute).Unix(), "nbf": t0.Add(-time.Minute).Unix(),
	}
}

// mint signs c with k (private key or secret), alg from method, and kid
// when non-empty.
func mint(t testing.TB, method jwt.SigningMethod, k any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return s
}

var enc = base64.RawURLEncoding

// raw builds a token from JSON header and claims and a signature function
// over "header.claims" (nil: empty signature).
func raw(header, payload string, sign func(string) []byte) string {
	s := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign(s)
	}
	return s + "." + enc.EncodeToString(sig)
}

func hs256(secret []byte) func(string) []byte {
	return func(s string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwkOf returns the public JWK of a private key, as an RFC 7517 object.
func jwkOf(priv any, kid string, extra map[string]any) map[string]any {
	m := map[string]any{}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		m["kty"] = "RSA"
		m["n"] = enc.EncodeToString(k.N.Bytes())
		m["e"] = enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())
		m["alg"] = "RS256"
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.Bytes() // 0x04 || X || Y, full size
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"] = "EC", "P-256"
		m["x"], m["y"] = enc.EncodeToString(pub[1:33]), enc.EncodeToString(pub[33:])
	case ed25519.PrivateKey:
		m["kty"], m["crv"] = "OKP", "Ed25519"
		m["x"] = enc.EncodeToString(k.Public().(ed25519.PublicKey))
	default:
		panic("jwkOf: unknown key")
	}
	if kid != "" {
		m["kid"] = kid
	}
	m["use"] = "sig"
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// pemOf returns the PKIX PEM of signer's public key.
func pemOf(t testing.TB, signer crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// fakeIssuer is a JWKS endpoint on 127.0.0.1 that counts its requests.
type fakeIssuer struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu     sync.Mutex
	jwks   []byte        // the body served
	status int           // 0: 200
	delay  time.Duration // before answering
	hang   chan struct{} // when non-nil, block until closed
}

func newFakeIssuer(t testing.TB, jwks ...any) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{}
	f.setKeys(jwks...)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.unhang()
		f.srv.Close()
	})
	return f
}

func (f *fakeIssuer) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	body, status, delay, hang := f.jwks, f.status, f.delay, f.hang
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if status != 0 {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(body)
}

func (f *fakeIssuer) url() string { return f.srv.URL + "/.well-known/jwks.json" }

func (f *fakeIssuer) setKeys(jwks ...any) {
	if jwks == nil {
		jwks = []any{}
	}
	b, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		panic(err)
	}
	f.setBody(b)
}

func (f *fakeIssuer) setBody(b []byte) {
	f.mu.Lock()
	f.jwks = b
	f.mu.Unlock()
}

func (f *fakeIssuer) setStatus(s int) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
}

func (f *fakeIssuer) setDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
	f.mu.Unlock()
}

func (f *fakeIssuer) setHang() {
	f.mu.Lock()
	if f.hang == nil {
		f.hang = make(chan struct{})
	}
	f.mu.Unlock()
}

func (f *fakeIssuer) unhang() {
	f.mu.Lock()
	if f.hang != nil {
		close(f.hang)
		f.hang = nil
	}
	f.mu.Unlock()
}

// wantUnauth checks that err is a CodeUnauthenticated *presign.Error whose
// message contains msg and whose text (message and cause) leaks no part of
// the token.
func wantUnauth(t testing.TB, err error, msg, token string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", msg)
	}
	var e *presign.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *presign.Error", err, err)
	}
	if e.Code != presign.CodeUnauthenticated {
		t.Fatalf("code %s, want unauthenticated (%v)", e.Code, err)
	}
	if !strings.Contains(e.Message, msg) {
		t.Fatalf("message %q, want it to contain %q", e.Message, msg)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(err.Error(), part) {
			t.Fatalf("error %q leaks the token", err)
		}
	}
}
