package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const issIdP = "https://idp.example"

// longClaims are valid claims for issIdP that outlive the clock's advances.
func longClaims() jwt.MapClaims {
	return with(claims(issIdP), "exp", t0.Add(24*time.Hour).Unix())
}

func jwksVerifier(t *testing.T, url string, o Options) (*Verifier, *clock) {
	t.Helper()
	clk := newClock()
	if o.Now == nil {
		o.Now = clk.Now
	}
	v, err := New([]IssuerConfig{{Issuer: issIdP, Audience: []string{"presign"}, JWKSURL: url}}, o)
	if err != nil {
		t.Fatal(err)
	}
	return v, clk
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// idle waits until no JWKS fetch of v is in flight.
func idle(t *testing.T, v *Verifier) {
	t.Helper()
	eventually(t, "no fetch is in flight", func() bool {
		for _, is := range v.issuers {
			if c := is.jwks; c != nil {
				c.mu.Lock()
				busy := c.inflight != nil
				c.mu.Unlock()
				if busy {
					return false
				}
			}
		}
		return true
	})
}

func TestJWKSUnknownKidRefreshesOnceAfterRotation(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "old", nil))
	v, clk := jwksVerifier(t, idp.url(), Options{})
	ctx := context.Background()
	oldTok := mint(t, jwt.SigningMethodRS256, k.rsa, "old", longClaims())
	newTok := mint(t, jwt.SigningMethodRS256, k.rsa2, "new", longClaims())

	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatal(err)
	}
	if n := idp.requests.Load(); n != 1 {
		t.Fatalf("%d fetches after the first token, want 1", n)
	}

	// The issuer rotates. Within MinRefresh an unknown kid does not refetch.
	idp.setKeys(jwkOf(k.rsa2, "new", nil))
	clk.Advance(30 * time.Second)
	for range 3 {
		_, err := v.Verify(ctx, newTok)
		wantUnauth(t, err, "signing key is not known", newTok)
	}
	if n := idp.requests.Load(); n != 1 {
		t.Fatalf("%d fetches for unknown kids within MinRefresh, want 1", n)
	}
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("the cached key stopped working: %v", err)
	}

	// Past MinRefresh the unknown kid triggers exactly one refresh, and verifies.
	clk.Advance(31 * time.Second)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatal(err)
	}
	if n := idp.requests.Load(); n != 2 {
		t.Fatalf("%d fetches after the rotation, want 2", n)
	}
	// The old key is gone from the issuer's set, and another unknown kid
	// right away does not refetch.
	_, err := v.Verify(ctx, oldTok)
	wantUnauth(t, err, "signing key is not known", oldTok)
	_, err = v.Verify(ctx, mint(t, jwt.SigningMethodRS256, k.rsa, "other", longClaims()))
	wantUnauth(t, err, "signing key is not known", "")
	if n := idp.requests.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestJWKSRefreshAfterTTL(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.ec, "ec", nil))
	v, clk := jwksVerifier(t, idp.url(), Options{TTL: 10 * time.Minute, MinRefresh: time.Minute})
	tok := mint(t, jwt.SigningMethodES256, k.ec, "ec", longClaims())
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := idp.requests.Load(); n != 1 {
		t.Fatalf("%d fetches within the TTL, want 1", n)
	}
	// Past the TTL the token verifies with the cached keys at once, and a
	// refresh runs in the background.
	clk.Advance(2 * time.Minute)
	idp.setDelay(200 * time.Millisecond)
	start := time.Now()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("a stale cache made the token wait %v for the refresh", d)
	}
	eventually(t, "the TTL refresh ran", func() bool { return idp.requests.Load() == 2 })
	idle(t, v)
	// The refresh replaced the keys: after it, the issuer's new set counts.
	idp.setDelay(0)
	idp.setKeys(jwkOf(k.ec2, "ec", nil))
	clk.Advance(11 * time.Minute)
	v.Verify(ctx, tok) // starts the refresh
	eventually(t, "the second TTL refresh ran", func() bool { return idp.requests.Load() == 3 })
	eventually(t, "the new keys are in use", func() bool {
		_, err := v.Verify(ctx, tok)
		return err != nil && strings.Contains(err.Error(), "signature is not valid")
	})
	if n := idp.requests.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestJWKSDownKeepsCachedKeys(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.ed, "ed", nil))
	v, clk := jwksVerifier(t, idp.url(), Options{TTL: 10 * time.Minute, MinRefresh: time.Minute,
		HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
	tok := mint(t, jwt.SigningMethodEdDSA, k.ed, "ed", longClaims())
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}

	// The endpoint fails: refreshes after the TTL fail, the cached keys verify.
	idp.setStatus(http.StatusInternalServerError)
	clk.Advance(11 * time.Minute)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed refresh ran", func() bool { return idp.requests.Load() == 2 })
	idle(t, v)
	for range 3 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("cached key after a failed refresh: %v", err)
		}
	}
	// A failed refresh is retried no sooner than MinRefresh.
	time.Sleep(20 * time.Millisecond)
	if n := idp.requests.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// The endpoint hangs: an unknown kid waits at most the client timeout,
	// then fails; known kids never wait.
	idp.setHang()
	clk.Advance(2 * time.Minute)
	start := time.Now()
	_, err := v.Verify(ctx, mint(t, jwt.SigningMethodEdDSA, k.ed2, "ed-next", longClaims()))
	wantUnauth(t, err, "signing key is not known", "")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("an unknown kid waited %v on a hanging JWKS", d)
	}
	clk.Advance(11 * time.Minute)
	start = time.Now()
	for range 5 {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("cached key while the JWKS hangs: %v", err)
		}
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("known kids waited %v on a hanging JWKS", d)
	}
}

func TestJWKSDownWithoutCache(t *testing.T) {
	k := keys(t)
	tok := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", longClaims())
	ctx := context.Background()

	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/jwks"
		srv.Close()
		v, _ := jwksVerifier(t, url, Options{})
		_, err := v.Verify(ctx, tok)
		wantUnauth(t, err, "issuer keys are unavailable", tok)
	})

	t.Run("hangs: bounded by the client timeout, then fails fast", func(t *testing.T) {
		idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil))
		idp.setHang()
		v, clk := jwksVerifier(t, idp.url(), Options{HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		start := time.Now()
		_, err := v.Verify(ctx, tok)
		wantUnauth(t, err, "issuer keys are unavailable", tok)
		if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
			t.Errorf("the failed fetch took %v; want about the 300ms timeout", d)
		}
		// Right after a failure, tokens fail at once without another fetch.
		start = time.Now()
		_, err = v.Verify(ctx, tok)
		wantUnauth(t, err, "issuer keys are unavailable", tok)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("the second token waited %v", d)
		}
		if n := idp.requests.Load(); n != 1 {
			t.Errorf("%d fetches, want 1", n)
		}
		// Some seconds later it tries again, and recovers.
		idp.unhang()
		clk.Advance(6 * time.Second)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if n := idp.requests.Load(); n != 2 {
			t.Errorf("%d fetches, want 2", n)
		}
	})

	t.Run("hangs: bounded by the request context", func(t *testing.T) {
		idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil))
		idp.setHang()
		v, _ := jwksVerifier(t, idp.url(), Options{HTTPClient: &http.Client{Timeout: time.Minute}})
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := v.Verify(rctx, tok)
		wantUnauth(t, err, "issuer keys are unavailable", tok)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Verify waited %v past its context", d)
		}
	})

	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"500", http.StatusInternalServerError, ""},
		{"404", http.StatusNotFound, ""},
		{"not JSON", 0, "<html>login</html>"},
		{"no keys member", 0, `{"kys":[]}`},
		{"keys not an array", 0, `{"keys":{}}`},
		{"keys null", 0, `{"keys":null}`},
		{"too large", 0, `{"keys":[` + strings.Repeat(" ", MaxJWKSSize) + `]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idp := newFakeIssuer(t)
			if tt.body != "" {
				idp.setBody([]byte(tt.body))
			}
			idp.setStatus(tt.status)
			v, _ := jwksVerifier(t, idp.url(), Options{})
			_, err := v.Verify(ctx, tok)
			wantUnauth(t, err, "issuer keys are unavailable", tok)
		})
	}
}

func TestJWKSConcurrentFirstRequestsShareOneFetch(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil), jwkOf(k.ec, "ec", nil))
	idp.setDelay(200 * time.Millisecond)
	v, _ := jwksVerifier(t, idp.url(), Options{})
	toks := []string{
		mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", longClaims()),
		mint(t, jwt.SigningMethodES256, k.ec, "ec", longClaims()),
		mint(t, jwt.SigningMethodRS256, k.rsa, "", longClaims()),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), toks[i%len(toks)])
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := idp.requests.Load(); n != 1 {
		t.Errorf("%d fetches for concurrent first requests, want 1", n)
	}
}

func TestJWKSIgnoresUnusableKeys(t *testing.T) {
	k := keys(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384JWK := jwkOf(k.ec, "p384", nil)
	b, _ := p384.PublicKey.Bytes()
	p384JWK["crv"], p384JWK["x"], p384JWK["y"] = "P-384", enc.EncodeToString(b[1:49]), enc.EncodeToString(b[49:])
	idp := newFakeIssuer(t,
		jwkOf(k.rsa, "enc", map[string]any{"use": "enc"}),
		jwkOf(k.rsa, "rs384", map[string]any{"alg": "RS384"}),
		jwkOf(k.rsa, "wrapkey", map[string]any{"use": nil, "key_ops": []string{"wrapKey"}}),
		map[string]any{"kty": "oct", "kid": "oct", "k": enc.EncodeToString(k.secret), "alg": "HS256"},
		jwkOf(k.ed, "private", map[string]any{"d": enc.EncodeToString(k.ed.Seed())}),
		p384JWK,
		map[string]any{"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
		"not an object",
		jwkOf(k.ec, "good", map[string]any{"use": nil, "key_ops": []string{"verify"}, "alg": "ES256"}),
	)
	v, _ := jwksVerifier(t, idp.url(), Options{})
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, jwt.SigningMethodES256, k.ec, "good", longClaims())); err != nil {
		t.Fatalf("the usable key: %v", err)
	}
	for _, tt := range []struct{ name, token string }{
		{"use enc", mint(t, jwt.SigningMethodRS256, k.rsa, "enc", longClaims())},
		{"alg RS384 key", mint(t, jwt.SigningMethodRS256, k.rsa, "rs384", longClaims())},
		{"key_ops without verify", mint(t, jwt.SigningMethodRS256, k.rsa, "wrapkey", longClaims())},
		{"oct key published in the JWKS", mint(t, jwt.SigningMethodHS256, k.secret, "oct", longClaims())},
		{"private key published in the JWKS", mint(t, jwt.SigningMethodEdDSA, k.ed, "private", longClaims())},
		{"P-384", mint(t, jwt.SigningMethodES384, p384, "p384", longClaims())},
	} {
		_, err := v.Verify(ctx, tt.token)
		if err == nil {
			t.Errorf("%s: verified", tt.name)
			continue
		}
		wantUnauth(t, err, "", tt.token)
	}
}

func TestJWKSEmptySetReplacesKeys(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil))
	v, clk := jwksVerifier(t, idp.url(), Options{TTL: time.Hour})
	tok := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", longClaims())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	idp.setKeys() // the issuer withdraws every key
	clk.Advance(2 * time.Hour)
	v.Verify(context.Background(), tok)
	eventually(t, "the withdrawal is seen", func() bool {
		_, err := v.Verify(context.Background(), tok)
		return err != nil && strings.Contains(err.Error(), "signing key is not known")
	})
}

func TestJWKSRedirects(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil))
	good := httptest.NewServer(http.RedirectHandler(idp.url(), http.StatusFound))
	t.Cleanup(good.Close)
	// CheckRedirect refuses before any request is sent to the target.
	bad := httptest.NewServer(http.RedirectHandler("http://jwks.invalid/keys", http.StatusFound))
	t.Cleanup(bad.Close)
	tok := mint(t, jwt.SigningMethodRS256, k.rsa, "rsa", longClaims())

	callerClient := &http.Client{Timeout: 2 * time.Second}
	v, _ := jwksVerifier(t, good.URL, Options{HTTPClient: callerClient})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("redirect to loopback http: %v", err)
	}
	if callerClient.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
	v, _ = jwksVerifier(t, bad.URL, Options{})
	_, err := v.Verify(context.Background(), tok)
	wantUnauth(t, err, "issuer keys are unavailable", tok)
}

func TestCheckJWKSURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://idp.example/.well-known/jwks.json", true},
		{"https://idp.example:8443/jwks?tenant=a", true},
		{"http://127.0.0.1:8080/jwks", true},
		{"http://localhost/jwks", true},
		{"http://idp.example/jwks", false},
		{"http://127.0.0.2/jwks", true}, // all of 127.0.0.0/8 is loopback
		{"http://[::1]:8080/jwks", true},
		{"http://0.0.0.0/jwks", false},
		{"http://[::ffff:10.0.0.1]/jwks", false},
		{"https://idp.example/jwks#keys", false},
		{"http://localhost.idp.example/jwks", false},
		{"https://u:p@idp.example/jwks", false},
		{"https:///jwks", false},
		{"file:///etc/jwks.json", false},
		{"idp.example/jwks", false},
		{"", false},
		{"https://idp.example/%zz", false},
	} {
		_, err := checkJWKSURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkJWKSURL(%q): %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestJWKSNotFetchedForHS256(t *testing.T) {
	k := keys(t)
	idp := newFakeIssuer(t, jwkOf(k.rsa, "rsa", nil))
	v, _ := jwksVerifier(t, idp.url(), Options{})
	tok := raw(`{"alg":"HS256","kid":"rsa"}`, jsonOf(t, longClaims()), hs256([]byte(pemOf(t, k.rsa))))
	_, err := v.Verify(context.Background(), tok)
	wantUnauth(t, err, "does not match the issuer's key", tok)
	if n := idp.requests.Load(); n != 0 {
		t.Errorf("an HS256 token made %d JWKS fetches", n)
	}
}
