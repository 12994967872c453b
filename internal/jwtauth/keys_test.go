package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseJWK(t *testing.T) {
	k := keys(t)
	rsaJWK := jwkOf(k.rsa, "r", nil)
	ecJWK := jwkOf(k.ec, "e", nil)
	edJWK := jwkOf(k.ed, "d", nil)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(base map[string]any, kv ...any) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return jsonOf(t, m)
	}
	ecPub, _ := k.ec.PublicKey.Bytes()
	offCurve := append([]byte{}, ecPub[33:]...)
	offCurve[31] ^= 1

	const (
		ok      = "ok"
		ignored = "ignored"
		invalid = "invalid"
	)
	for _, tt := range []struct {
		name, jwk, want, alg string
	}{
		{"RSA", mod(rsaJWK), ok, algRS256},
		{"RSA without alg and use", mod(rsaJWK, "alg", nil, "use", nil), ok, algRS256},
		{"RSA with key_ops verify", mod(rsaJWK, "key_ops", []string{"verify"}), ok, algRS256},
		{"RSA with x5c (ignored member)", mod(rsaJWK, "x5c", []string{"MIIB"}), ok, algRS256},
		{"EC P-256", mod(ecJWK), ok, algES256},
		{"EC with alg ES256", mod(ecJWK, "alg", "ES256"), ok, algES256},
		{"Ed25519", mod(edJWK), ok, algEdDSA},
		{"Ed25519 with alg EdDSA", mod(edJWK, "alg", "EdDSA"), ok, algEdDSA},
		{"Ed25519 with alg Ed25519 (RFC 9864)", mod(edJWK, "alg", "Ed25519"), ok, algEdDSA},

		{"use enc", mod(rsaJWK, "use", "enc"), ignored, ""},
		{"use other", mod(rsaJWK, "use", "tls"), ignored, ""},
		{"key_ops without verify", mod(rsaJWK, "key_ops", []string{"encrypt"}), ignored, ""},
		{"RSA for RS512", mod(rsaJWK, "alg", "RS512"), ignored, ""},
		{"RSA for RSA-OAEP", mod(rsaJWK, "alg", "RSA-OAEP"), ignored, ""},
		{"RSA for HS256", mod(rsaJWK, "alg", "HS256"), ignored, ""},
		{"RSA 1024 bits", mod(jwkOf(small, "s", nil)), ignored, ""},
		{"RSA private", mod(rsaJWK, "d", "AQAB"), ignored, ""},
		{"RSA exponent 1", mod(rsaJWK, "e", "AQ"), ignored, ""},
		{"RSA even exponent", mod(rsaJWK, "e", "AQAA"), ignored, ""},
		{"EC P-384", mod(ecJWK, "crv", "P-384"), ignored, ""},
		{"EC for ES384", mod(ecJWK, "alg", "ES384"), ignored, ""},
		{"EC private", mod(ecJWK, "d", "AQAB"), ignored, ""},
		{"OKP X25519", mod(edJWK, "crv", "X25519"), ignored, ""},
		{"OKP private", mod(edJWK, "d", "AQAB"), ignored, ""},
		{"oct", `{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}`, ignored, ""},
		{"unknown kty", `{"kty":"AKP","pub":"AAAA"}`, ignored, ""},

		{"not an object", `["kty"]`, invalid, ""},
		{"null", `null`, invalid, ""},
		{"not JSON", `{"kty":`, invalid, ""},
		{"no kty", mod(rsaJWK, "kty", nil), invalid, ""},
		{"member names are case-sensitive", strings.Replace(mod(rsaJWK), `"kty"`, `"KTY"`, 1), invalid, ""},
		{"kty not a string", mod(rsaJWK, "kty", 1), invalid, ""},
		{"kid not a string", mod(rsaJWK, "kid", 1), invalid, ""},
		{"no n", mod(rsaJWK, "n", nil), invalid, ""},
		{"empty n", mod(rsaJWK, "n", ""), invalid, ""},
		{"n not base64url", mod(rsaJWK, "n", "a+b/"), invalid, ""},
		{"n padded", mod(rsaJWK, "e", "AQAB="), invalid, ""},
		{"no e", mod(rsaJWK, "e", nil), invalid, ""},
		{"e too large", mod(rsaJWK, "e", "AQAAAAAB"), invalid, ""},
		{"key_ops not an array", mod(rsaJWK, "key_ops", "verify"), invalid, ""},
		{"EC x short", mod(ecJWK, "x", enc.EncodeToString(ecPub[2:33])), invalid, ""},
		{"EC no y", mod(ecJWK, "y", nil), invalid, ""},
		{"EC off the curve", mod(ecJWK, "y", enc.EncodeToString(offCurve)), invalid, ""},
		{"EC no crv", mod(ecJWK, "crv", nil), ignored, ""},
		{"Ed25519 x short", mod(edJWK, "x", "AAAA"), invalid, ""},
		{"Ed25519 no x", mod(edJWK, "x", nil), invalid, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJWK([]byte(tt.jwk))
			switch tt.want {
			case ok:
				if err != nil {
					t.Fatalf("parseJWK: %v", err)
				}
				if got.alg != tt.alg {
					t.Fatalf("alg %s, want %s", got.alg, tt.alg)
				}
			case ignored:
				if !errors.Is(err, errIgnored) {
					t.Fatalf("err %v, want errIgnored", err)
				}
			case invalid:
				if err == nil || errors.Is(err, errIgnored) {
					t.Fatalf("err %v, want a malformed-key error", err)
				}
			}
			if err != nil {
				for _, m := range []string{"n", "x", "y", "d", "k"} {
					for _, base := range []map[string]any{rsaJWK, ecJWK, edJWK} {
						if v, _ := base[m].(string); len(v) > 8 && strings.Contains(err.Error(), v) {
							t.Errorf("error %q shows key material", err)
						}
					}
				}
			}
		})
	}

	got, err := parseJWK([]byte(mod(rsaJWK)))
	if err != nil || got.kid != "r" || got.verify.(*rsa.PublicKey).N.Cmp(k.rsa.N) != 0 {
		t.Errorf("RSA JWK: %+v, %v", got, err)
	}
	got, err = parseJWK([]byte(mod(ecJWK)))
	if err != nil || !got.verify.(*ecdsa.PublicKey).Equal(&k.ec.PublicKey) {
		t.Errorf("EC JWK: %+v, %v", got, err)
	}
	got, err = parseJWK([]byte(mod(edJWK)))
	if err != nil || !got.verify.(ed25519.PublicKey).Equal(k.ed.Public()) {
		t.Errorf("Ed25519 JWK: %+v, %v", got, err)
	}
}

func TestParseStaticKey(t *testing.T) {
	k := keys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1, 0)} // expired: only its key matters
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.ec.PublicKey, k.ec)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}))

	for _, tt := range []struct {
		name, in, alg, errSub string
	}{
		{"RSA PKIX", pemOf(t, k.rsa), algRS256, ""},
		{"EC PKIX", pemOf(t, k.ec), algES256, ""},
		{"Ed25519 PKIX", pemOf(t, k.ed), algEdDSA, ""},
		{"surrounding space", "\n  " + pemOf(t, k.rsa) + "\n\n", algRS256, ""},
		{"certificate", certPEM, algES256, ""},
		{"JWK", jsonOf(t, jwkOf(k.ed, "x", nil)), algEdDSA, ""},
		{"private PEM", privPEM, "", "private key"},
		{"PKCS1", pkcs1, algRS256, ""},
		{"two blocks", pemOf(t, k.rsa) + pemOf(t, k.ec), "", "more than one PEM block"},
		{"RSA 1024", pemOf(t, small), "", "RSA key of 1024 bits"},
		{"P-384", pemOf(t, p384), "", "P-384"},
		{"bad PEM body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "", "PUBLIC KEY that does not parse"},
		{"broken PEM", "-----BEGIN PUBLIC KEY-----\nAAAA", "", "not a valid PEM block"},
		{"JWK enc", jsonOf(t, jwkOf(k.rsa, "x", map[string]any{"use": "enc"})), "", `"use" is not "sig"`},
		{"JWK set", jsonOf(t, map[string]any{"keys": []any{jwkOf(k.rsa, "x", nil)}}), algRS256, ""},
		{"JWK set with an unusable key", jsonOf(t, map[string]any{"keys": []any{jwkOf(k.rsa, "x", nil), jwkOf(k.rsa, "y", map[string]any{"use": "enc"})}}), "", `keys[1] cannot verify tokens: "use" is not "sig"`},
		{"empty JWK set", `{"keys": []}`, "", "not a non-empty array"},
		{"symmetric JWK", `{"kty":"oct","k":"c2VjcmV0"}`, "", "hs256_secret"},
		{"JWK without kty", `{"n":"x"}`, "", `"kty" is required`},
		{"garbage", "c2VjcmV0", "", "must be a PEM public key"},
		{"empty", "", "", "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStaticKey(tt.in)
			if tt.errSub == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].alg != tt.alg {
					t.Fatalf("keys %v, want one %s key", got, tt.alg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("err %v, want %q", err, tt.errSub)
			}
			for _, line := range strings.Split(tt.in, "\n") {
				if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
					t.Errorf("error %q shows the key", err)
				}
			}
		})
	}
}
