package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"presign.dev/presign"
)

// signedByTestKey verifies token independently of the package, with the
// standard library and the test keys only: true when its signature is a
// valid one by a test key, for the alg its header names.
func signedByTestKey(k testKeys, token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &h) != nil {
		return false
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return false
	}
	signed := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(signed)
	switch h.Alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(&k.rsa.PublicKey, crypto.SHA256, sum[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(&k.ec.PublicKey, sum[:], r, s)
	case "EdDSA":
		return ed25519.Verify(k.ed.Public().(ed25519.PublicKey), signed, sig)
	case "HS256":
		m := hmac.New(sha256.New, k.secret)
		m.Write(signed)
		return hmac.Equal(m.Sum(nil), sig)
	}
	return false
}

// FuzzVerify feeds arbitrary tokens to a Verifier with a static-key
// issuer, an HS256 issuer and a JWKS issuer (on 127.0.0.1): Verify never
// panics, succeeds only for tokens signed by a test key (checked
// independently), and otherwise fails with a CodeUnauthenticated error
// that does not repeat the token.
func FuzzVerify(f *testing.F) {
	k := keys(f)
	idp := newFakeIssuer(f, jwkOf(k.rsa, "rsa1", nil), jwkOf(k.ec, "ec1", nil), jwkOf(k.ed, "ed1", nil))
	clk := newClock()
	panics := &panicRecorder{}
	v, err := New([]IssuerConfig{
		{Issuer: issJWKS, Audience: []string{"presign"}, JWKSURL: idp.url()},
		{Issuer: issStatic, Audience: []string{"presign"}, Keys: []string{pemOf(f, k.rsa), pemOf(f, k.ec), jsonOf(f, jwkOf(k.ed, "ed", nil))}},
		{Issuer: issHS, Audience: []string{"presign"}, HS256Secret: k.secret},
	}, Options{Now: clk.Now, Logger: slog.New(panics), MinRefresh: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	for _, iss := range []string{issJWKS, issStatic} {
		c := claims(iss)
		f.Add(mint(f, jwt.SigningMethodRS256, k.rsa, "rsa1", c))
		f.Add(mint(f, jwt.SigningMethodES256, k.ec, "ec1", c))
		f.Add(mint(f, jwt.SigningMethodEdDSA, k.ed, "ed1", c))
		f.Add(mint(f, jwt.SigningMethodEdDSA, k.ed, "ed", with(c, "groups", "a b", "n", 1.5)))
		f.Add(mint(f, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", nil)))
		f.Add(mint(f, jwt.SigningMethodRS256, k.rsa2, "rsa1", c))
		f.Add(raw(`{"alg":"HS256","kid":"rsa1"}`, jsonOf(f, c), hs256([]byte(pemOf(f, k.rsa)))))
		f.Add(raw(`{"alg":"none"}`, jsonOf(f, c), nil))
	}
	f.Add(mint(f, jwt.SigningMethodHS256, k.secret, "", claims(issHS)))
	f.Add(mint(f, jwt.SigningMethodHS256, k.secret, "", with(claims(issHS), "aud", []string{"x", "presign"}, "groups", []string{"g"})))
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJ.eyJ.", "e30.e30.e30", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", strings.Repeat("A", 100)} {
		f.Add(s)
	}

	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(ctx, token)
		if panics.seen.Swap(false) {
			t.Fatalf("Verify panicked (recovered) on %q", token)
		}
		if err == nil {
			if !signedByTestKey(k, token) {
				t.Fatalf("Verify accepted a token that no test key signed: %q", token)
			}
			if !LooksLikeJWT(token) {
				t.Fatalf("Verify accepted a token that LooksLikeJWT refuses: %q", token)
			}
			if p.Kind != presign.KindJWT || p.Name == "" || p.Issuer == "" {
				t.Fatalf("principal %+v", p)
			}
			return
		}
		var e *presign.Error
		if !errors.As(err, &e) || e.Code != presign.CodeUnauthenticated || e.Message == "" {
			t.Fatalf("error %T %v is not an unauthenticated *presign.Error", err, err)
		}
		if len(token) >= 16 && strings.Contains(err.Error(), token) {
			t.Fatalf("error %q repeats the token", err)
		}
		if p.Kind != "" || p.Name != "" || p.Claims != nil {
			t.Fatalf("a refused token gave principal %+v", p)
		}
	})
}

// panicRecorder is a slog.Handler that notes Verify's recovered panics.
type panicRecorder struct{ seen atomic.Bool }

func (h *panicRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && strings.Contains(r.Message, "panicked") {
		h.seen.Store(true)
	}
	return nil
}
func (h *panicRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicRecorder) WithGroup(string) slog.Handler      { return h }

// FuzzParseJWK: parsing never panics, and a parsed key is consistent: its
// alg is the one of its key type, and an RSA key is within the bounds.
func FuzzParseJWK(f *testing.F) {
	k := keys(f)
	for _, m := range []map[string]any{jwkOf(k.rsa, "r", nil), jwkOf(k.ec, "e", nil), jwkOf(k.ed, "d", nil)} {
		f.Add([]byte(jsonOf(f, m)))
	}
	f.Add([]byte(`{"kty":"oct","k":"AAAA"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"","y":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseJWK(data)
		if err != nil {
			if got != nil {
				t.Fatal("a key and an error")
			}
			return
		}
		switch pub := got.verify.(type) {
		case *rsa.PublicKey:
			if got.alg != algRS256 || pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits || pub.E < 3 {
				t.Fatalf("RSA key %d bits e=%d alg %s", pub.N.BitLen(), pub.E, got.alg)
			}
		case *ecdsa.PublicKey:
			if got.alg != algES256 || pub.Curve.Params().Name != "P-256" {
				t.Fatalf("EC key %s alg %s", pub.Curve.Params().Name, got.alg)
			}
		case ed25519.PublicKey:
			if got.alg != algEdDSA || len(pub) != ed25519.PublicKeySize {
				t.Fatalf("Ed25519 key alg %s", got.alg)
			}
		default:
			t.Fatalf("key of type %T", got.verify)
		}
	})
}

// FuzzParseJWKS: parsing a JWK Set never panics and keeps at most
// MaxJWKSKeys keys.
func FuzzParseJWKS(f *testing.F) {
	k := keys(f)
	f.Add([]byte(jsonOf(f, map[string]any{"keys": []any{jwkOf(k.rsa, "r", nil), jwkOf(k.ec, "e", nil), "x", 1}})))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _, err := parseJWKS(data)
		if err != nil && keys != nil {
			t.Fatal("keys and an error")
		}
		if len(keys) > MaxJWKSKeys {
			t.Fatalf("%d keys", len(keys))
		}
	})
}
