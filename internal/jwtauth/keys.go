package jwtauth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// The algorithms, each bound to one kind of key.
const (
	algRS256 = "RS256" // RSA keys
	algES256 = "ES256" // EC P-256 keys
	algEdDSA = "EdDSA" // Ed25519 keys
	algHS256 = "HS256" // an explicitly configured secret
)

// RSA modulus sizes accepted: RFC 7518 §3.3 requires 2048 bits at least;
// the upper bound keeps verification cheap.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// b64 decodes JWK members and JWT parts: unpadded base64url, with no
// stray bits, so that each value has one encoding.
var b64 = base64.RawURLEncoding.Strict()

// key is one verification key and the one alg it verifies.
type key struct {
	kid    string // "" verifies tokens with any kid
	alg    string
	verify any // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte (HS256)
}

// errIgnored marks a JWK that a JWK Set may hold but that is not for us:
// another key type, curve or algorithm, an encryption key, a private key.
// RFC 7517 §5 says to ignore those.
var errIgnored = errors.New("unusable")

// parseStaticKey parses one configured key entry: PEM (a PKIX or PKCS #1
// public key, or a certificate), one JWK JSON object, or a JWK Set
// ({"keys": [...]}) whose every key must be usable (configuration is
// explicit: a key listed there that cannot verify tokens is a mistake).
// Errors never quote the input.
func parseStaticKey(s string) ([]*key, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("is empty")
	case strings.HasPrefix(s, "-----BEGIN"):
		k, err := parsePEM(s)
		if err != nil {
			return nil, err
		}
		return []*key{k}, nil
	case strings.HasPrefix(s, "{"):
		var probe map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &probe); err != nil {
			return nil, errors.New("is not valid JSON (a JWK or a JWK Set)")
		}
		if raw, ok := probe["keys"]; ok {
			var set []json.RawMessage
			if err := json.Unmarshal(raw, &set); err != nil || len(set) == 0 {
				return nil, errors.New(`is a JWK Set whose "keys" is not a non-empty array of keys`)
			}
			if len(set) > MaxJWKSKeys {
				return nil, fmt.Errorf("is a JWK Set of %d keys; at most %d are accepted", len(set), MaxJWKSKeys)
			}
			keys := make([]*key, 0, len(set))
			for i, raw := range set {
				k, err := parseJWK(raw)
				if err != nil {
					return nil, fmt.Errorf("is a JWK Set whose keys[%d] %v", i, jwkProblem(err))
				}
				keys = append(keys, k)
			}
			return keys, nil
		}
		k, err := parseJWK([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("is a JWK that %v", jwkProblem(err))
		}
		return []*key{k}, nil
	default:
		return nil, errors.New("must be a PEM public key (-----BEGIN PUBLIC KEY-----) or a JWK in JSON")
	}
}

// jwkProblem phrases a parseJWK error after "is a JWK that ...".
func jwkProblem(err error) string {
	return "cannot verify tokens: " + strings.TrimPrefix(err.Error(), errIgnored.Error()+": ")
}

func parsePEM(s string) (*key, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("is not a valid PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("holds more than one PEM block, or trailing data; list each key on its own")
	}
	var pub crypto.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		p, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("is a PEM PUBLIC KEY that does not parse")
		}
		pub = p
	case "RSA PUBLIC KEY":
		p, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("is a PEM RSA PUBLIC KEY that does not parse")
		}
		pub = p
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("is a PEM CERTIFICATE that does not parse")
		}
		pub = c.PublicKey
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("is a private key: give the issuer's public key, and keep the private key out of the configuration")
		}
		return nil, fmt.Errorf("is a PEM %q; want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	alg, verify, err := fromPublic(pub)
	if err != nil {
		return nil, fmt.Errorf("is %w", err)
	}
	return &key{alg: alg, verify: verify}, nil
}

// fromPublic returns the one alg of pub and its verification form, after
// checking that the key is one presign accepts.
func fromPublic(pub crypto.PublicKey) (string, any, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if err := checkRSA(p); err != nil {
			return "", nil, err
		}
		return algRS256, p, nil
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return "", nil, fmt.Errorf("an EC key on %s; only P-256 (ES256) is supported", p.Curve.Params().Name)
		}
		return algES256, p, nil
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return "", nil, errors.New("an Ed25519 key of the wrong size")
		}
		return algEdDSA, p, nil
	default:
		return "", nil, fmt.Errorf("a %T key; only RSA, EC P-256 and Ed25519 are supported", pub)
	}
}

func checkRSA(p *rsa.PublicKey) error {
	if n := p.N.BitLen(); n < minRSABits || n > maxRSABits {
		return fmt.Errorf("an RSA key of %d bits; %d to %d are supported", n, minRSABits, maxRSABits)
	}
	if p.E < 3 || p.E%2 == 0 {
		return errors.New("an RSA key with an invalid public exponent")
	}
	return nil
}

// privateMembers are the JWK members of private and symmetric keys
// (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseJWK parses one JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) into a
// verification key. An error wrapping errIgnored means a well-formed key
// that is not for verifying presign's tokens; other errors mean a
// malformed key. Member names are case-sensitive, as the RFC says.
func parseJWK(raw []byte) (*key, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	str := func(name string) (string, error) {
		v, ok := m[name]
		if !ok {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%q is not a string", name)
		}
		return s, nil
	}
	var errs []error
	get := func(name string) string {
		s, err := str(name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	kty, kid, use, alg, crv := get("kty"), get("kid"), get("use"), get("alg"), get("crv")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if kty == "" {
		return nil, errors.New(`"kty" is required`)
	}
	if kty == "oct" {
		return nil, fmt.Errorf("%w: a symmetric key (kty oct); an HS256 secret is configured as hs256_secret: ${env:NAME}", errIgnored)
	}
	for _, name := range privateMembers {
		if _, ok := m[name]; ok {
			return nil, fmt.Errorf("%w: holds private or secret key material (%q); only public keys are used", errIgnored, name)
		}
	}
	if use != "" && use != "sig" {
		return nil, fmt.Errorf("%w: \"use\" is not \"sig\"", errIgnored)
	}
	if v, ok := m["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(v, &ops); err != nil {
			return nil, errors.New(`"key_ops" is not an array of strings`)
		}
		if !slices.Contains(ops, "verify") {
			return nil, fmt.Errorf("%w: \"key_ops\" lacks \"verify\"", errIgnored)
		}
	}
	// bin decodes a base64url member, which must be present and non-empty.
	bin := func(name string) ([]byte, error) {
		s, err := str(name)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, fmt.Errorf("%q is required", name)
		}
		b, err := b64.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not unpadded base64url", name)
		}
		return b, nil
	}

	var want string // the alg of this kind of key
	var verify any
	switch kty {
	case "RSA":
		want = algRS256
		if alg != "" && alg != want {
			return nil, fmt.Errorf("%w: an RSA key for another algorithm; only RS256 is accepted", errIgnored)
		}
		n, err := bin("n")
		if err != nil {
			return nil, err
		}
		e, err := bin("e")
		if err != nil {
			return nil, err
		}
		E := new(big.Int).SetBytes(e)
		if E.BitLen() > 31 {
			return nil, errors.New("the RSA public exponent is too large")
		}
		p := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(E.Int64())}
		if err := checkRSA(p); err != nil {
			return nil, fmt.Errorf("%w: %w", errIgnored, err)
		}
		verify = p
	case "EC":
		want = algES256
		if crv != "P-256" {
			return nil, fmt.Errorf("%w: an EC key on another curve; only P-256 is supported", errIgnored)
		}
		if alg != "" && alg != want {
			return nil, fmt.Errorf("%w: an EC key for another algorithm; only ES256 is accepted", errIgnored)
		}
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		y, err := bin("y")
		if err != nil {
			return nil, err
		}
		// RFC 7518 §6.2.1.2: the full size of the field, leading zeros kept.
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("P-256 coordinates must be 32 bytes each")
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil {
			return nil, errors.New("the point is not on P-256")
		}
		verify = p
	case "OKP":
		want = algEdDSA
		if crv != "Ed25519" {
			return nil, fmt.Errorf("%w: an OKP key on another curve; only Ed25519 is supported", errIgnored)
		}
		if alg != "" && alg != want && alg != "Ed25519" {
			return nil, fmt.Errorf("%w: an Ed25519 key for another algorithm; only EdDSA is accepted", errIgnored)
		}
		x, err := bin("x")
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("an Ed25519 key must be 32 bytes")
		}
		verify = ed25519.PublicKey(x)
	default:
		return nil, fmt.Errorf("%w: key type %q is not supported; RSA, EC and OKP are", errIgnored, truncate(kty, 16))
	}
	return &key{kid: kid, alg: want, verify: verify}, nil
}

// parseJWKS parses a JWK Set (RFC 7517 §5). Keys that are malformed or not
// for us are skipped and counted, as §5 asks; at most MaxJWKSKeys are kept.
func parseJWKS(body []byte) (keys []*key, skipped int, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil || probe == nil {
		return nil, 0, errors.New("the JWKS is not a JSON object")
	}
	raw, ok := probe["keys"]
	if !ok {
		return nil, 0, errors.New(`the JWKS has no "keys" member`)
	}
	if json.Unmarshal(raw, &set.Keys) != nil || set.Keys == nil {
		return nil, 0, errors.New(`the JWKS "keys" member is not an array`)
	}
	for _, r := range set.Keys {
		if len(keys) == MaxJWKSKeys {
			skipped++
			continue
		}
		k, err := parseJWK(r)
		if err != nil {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
