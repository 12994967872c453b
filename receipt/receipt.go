// Package receipt signs upload receipts: after presign has checked an
// upload against the store (a verified complete), it returns a compact JWS
// that names the object — who uploaded what, where, how large, with which
// ETag and checksum — so that an application's back end can trust the
// upload offline with any JWT library and the public keys at
// GET /.well-known/jwks.json.
//
// Keys are Ed25519 (alg EdDSA) or ECDSA P-256 (alg ES256), each with an ID
// (the JWS "kid"). The first key signs; every key is published, so keys
// rotate without invalidating receipts already given.
package receipt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"presign.dev/presign"
)

// Key is one receipt key.
type Key struct {
	ID string // the JWS kid: a-z, 0-9 and '-', at most 32 characters
	// Private is an ed25519.PrivateKey or a P-256 *ecdsa.PrivateKey.
	Private crypto.Signer
}

// ParseKey reads a private key: PEM ("PRIVATE KEY", PKCS #8; or "EC
// PRIVATE KEY", SEC 1), or the base64 of PKCS #8 DER on one line (for an
// environment variable). Its errors never quote the key.
func ParseKey(text string) (crypto.Signer, error) {
	var der []byte
	if block, _ := pem.Decode([]byte(strings.TrimSpace(text))); block != nil {
		if block.Type == "EC PRIVATE KEY" {
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("not a valid EC PRIVATE KEY")
			}
			return k, checkKey(k)
		}
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("a PEM %q block; want PRIVATE KEY (PKCS #8) or EC PRIVATE KEY", block.Type)
		}
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
		if err != nil {
			return nil, errors.New("neither PEM nor the base64 of a PKCS #8 key")
		}
		der = b
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("not a PKCS #8 private key")
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, checkKey(signer)
}

// checkKey accepts Ed25519 and P-256 keys.
func checkKey(k crypto.Signer) error {
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("an ECDSA key on %s; receipts take P-256 (ES256) or Ed25519 (EdDSA)", k.Curve.Params().Name)
	default:
		return fmt.Errorf("a %T; receipts take Ed25519 (EdDSA) or ECDSA P-256 (ES256)", k)
	}
}

// ValidateKeys reports the problems of a key list, fields "[i].id" and
// "[i].private_key"; never quoting a key.
func ValidateKeys(keys []Key) presign.Problems {
	var ps presign.Problems
	seen := map[string]int{}
	for i, k := range keys {
		at := presign.Index("", i)
		switch j, dup := seen[k.ID]; {
		case k.ID == "":
			ps.Addf(presign.Join(at, "id"), "required: the kid receipts name their key by")
		case len(k.ID) > 32 || presign.ValidateName(k.ID) != nil:
			ps.Addf(presign.Join(at, "id"), "%q may hold only a-z, 0-9 and '-' (1 to 32 characters)", k.ID)
		case dup:
			ps.Addf(presign.Join(at, "id"), "%q is already the ID of entry [%d] of this list", k.ID, j)
		}
		seen[k.ID] = i
		if k.Private == nil {
			ps.Addf(presign.Join(at, "private_key"), "required")
		} else if err := checkKey(k.Private); err != nil {
			ps.Addf(presign.Join(at, "private_key"), "%v", err)
		}
	}
	return ps
}

// Claims are a receipt's claims.
type Claims struct {
	Issuer  string `json:"iss"` // presign's URL
	Subject string `json:"sub"` // the caller (API key name, JWT subject, IAM ARN)
	// SubjectKind says what Subject names: api_key, jwt, iam, anonymous or
	// open; SubjectIssuer is a JWT caller's issuer. Together with sub
	// they tell apart an API key and a JWT subject of the same name.
	SubjectKind   string `json:"sub_kind"`
	SubjectIssuer string `json:"sub_iss,omitempty"`
	Backend       string `json:"backend"`
	Bucket        string `json:"bucket"`
	Key           string `json:"key"`
	Size          int64  `json:"size"`
	ETag          string `json:"etag"`
	ContentType   string `json:"content_type"`
	Checksum      string `json:"checksum,omitempty"` // "<algorithm>:<base64>", when known
	IssuedAt      int64  `json:"iat"`
	// ID is the jti: the upload's (presign.CompletedUpload.ID), the same in
	// every receipt of one upload; "" makes Sign draw a random one.
	ID string `json:"jti"`
}

// Options are a Signer's inputs besides its keys.
type Options struct {
	Now    func() time.Time // nil means time.Now
	Random io.Reader        // for jti; nil means crypto/rand
}

// Signer signs receipts with the first of its keys. It is safe for
// concurrent use.
type Signer struct {
	keys   []Key
	jwks   []byte
	now    func() time.Time
	random io.Reader
}

// New returns the Signer of keys (at least one).
func New(keys []Key, o Options) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("receipt: no keys")
	}
	if ps := ValidateKeys(keys); len(ps) > 0 {
		return nil, ps
	}
	s := &Signer{keys: keys, now: o.Now, random: o.Random}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	jwks, err := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{publicKeys(keys)})
	if err != nil {
		return nil, err
	}
	s.jwks = jwks
	return s, nil
}

// jwk is a public key as RFC 7517 (and RFC 8037 for OKP) write it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func publicKeys(keys []Key) []jwk {
	b64 := base64.RawURLEncoding.EncodeToString
	out := make([]jwk, len(keys))
	for i, k := range keys {
		switch priv := k.Private.(type) {
		case ed25519.PrivateKey:
			out[i] = jwk{Kty: "OKP", Crv: "Ed25519", X: b64(priv.Public().(ed25519.PublicKey)), Kid: k.ID, Alg: "EdDSA", Use: "sig"}
		case *ecdsa.PrivateKey:
			pub, _ := priv.PublicKey.Bytes() // 0x04 ‖ X ‖ Y, 32 bytes each on P-256
			out[i] = jwk{Kty: "EC", Crv: "P-256", X: b64(pub[1:33]), Y: b64(pub[33:]), Kid: k.ID, Alg: "ES256", Use: "sig"}
		}
	}
	return out
}

// JWKS returns the public keys as a JWK Set document.
func (s *Signer) JWKS() []byte { return s.jwks }

// Sign returns the receipt of c, with iat now (and a random jti when c
// has none).
func (s *Signer) Sign(c Claims) (string, error) {
	if c.ID == "" {
		var id [16]byte
		if _, err := io.ReadFull(s.random, id[:]); err != nil {
			return "", err
		}
		c.ID = hex.EncodeToString(id[:])
	}
	c.IssuedAt = s.now().Unix()
	k := s.keys[0]
	method := jwt.SigningMethod(jwt.SigningMethodEdDSA)
	if _, ok := k.Private.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	t := jwt.NewWithClaims(method, jwtClaims{c})
	t.Header["kid"] = k.ID
	return t.SignedString(k.Private)
}

// SignUpload returns the receipt of the verified upload done, by the
// caller p, stated by issuer (presign's URL); its jti is the upload's ID.
func (s *Signer) SignUpload(issuer string, p presign.Principal, done presign.CompletedUpload) (string, error) {
	return s.Sign(Claims{Issuer: issuer, Subject: p.Name, SubjectKind: p.Kind, SubjectIssuer: p.Issuer, Backend: done.Backend, Bucket: done.Bucket, Key: done.Key,
		Size: done.Size, ETag: done.ETag, ContentType: done.ContentType, Checksum: done.Checksum, ID: done.ID()})
}

// jwtClaims gives Claims the methods golang-jwt asks of claims; a receipt
// does not expire (it states a fact), and names no audience.
type jwtClaims struct{ Claims }

func (c jwtClaims) MarshalJSON() ([]byte, error) { return json.Marshal(c.Claims) }

func (jwtClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (jwtClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c jwtClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.IssuedAt, 0)), nil
}
func (c jwtClaims) GetIssuer() (string, error)           { return c.Issuer, nil }
func (c jwtClaims) GetSubject() (string, error)          { return c.Subject, nil }
func (jwtClaims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }
