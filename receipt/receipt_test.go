package receipt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
)

var testTime = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func newKeys(t *testing.T) (ed ed25519.PrivateKey, ec *ecdsa.PrivateKey) {
	t.Helper()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ed, ec
}

// keyfunc finds a receipt's key in a JWKS document, as an application
// would: by kid, decoding the JWK itself (not with this package).
func keyfunc(t *testing.T, jwks []byte) jwt.Keyfunc {
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	return func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k["kid"] != tok.Header["kid"] || k["alg"] != tok.Method.Alg() || k["use"] != "sig" {
				continue
			}
			x, _ := base64.RawURLEncoding.DecodeString(k["x"])
			switch k["kty"] + "/" + k["crv"] {
			case "OKP/Ed25519":
				return ed25519.PublicKey(x), nil
			case "EC/P-256":
				y, _ := base64.RawURLEncoding.DecodeString(k["y"])
				return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
			}
		}
		return nil, errors.New("no such key")
	}
}

func TestSignVerifies(t *testing.T) {
	ed, ec := newKeys(t)
	claims := Claims{Issuer: "https://presign.example.com", Subject: "alice", Backend: "s3", Bucket: "b", Key: "users/alice/a.bin",
		Size: 12345, ETag: `"abc-2"`, ContentType: "video/mp4", Checksum: "crc64nvme:AAAAAAAAAAA="}
	for _, order := range [][]Key{{{ID: "ed", Private: ed}, {ID: "ec", Private: ec}}, {{ID: "ec", Private: ec}, {ID: "ed", Private: ed}}} {
		s, err := New(order, Options{Now: func() time.Time { return testTime }})
		if err != nil {
			t.Fatal(err)
		}
		receipt, err := s.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		var got Claims
		tok, err := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA", "ES256"})).ParseWithClaims(receipt, &jwtClaims{}, keyfunc(t, s.JWKS()))
		if err != nil {
			t.Fatalf("kid %s: %v", order[0].ID, err)
		}
		got = tok.Claims.(*jwtClaims).Claims
		want := claims
		want.IssuedAt, want.ID = testTime.Unix(), got.ID
		if diff := cmp.Diff(want, got); diff != "" || len(got.ID) != 32 || tok.Header["kid"] != order[0].ID {
			t.Errorf("claims (-want +got):\n%s (kid %v)", diff, tok.Header["kid"])
		}
		// A receipt of one object is not another's: any change of the
		// payload breaks the signature.
		parts := strings.Split(receipt, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := bytes.Replace(payload, []byte(`users/alice/a.bin`), []byte(`users/alice/b.bin`), 1)
		parts[1] = base64.RawURLEncoding.EncodeToString(forged)
		if _, err := jwt.NewParser().ParseWithClaims(strings.Join(parts, "."), &jwtClaims{}, keyfunc(t, s.JWKS())); err == nil {
			t.Errorf("kid %s: a receipt with another key verifies", order[0].ID)
		}
		again, _ := s.Sign(claims)
		if again == receipt {
			t.Error("two receipts share a jti")
		}
	}
}

func TestParseKey(t *testing.T) {
	ed, ec := newKeys(t)
	pkcs8 := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := map[string]string{
		"Ed25519 PEM":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(ed)})),
		"P-256 PEM":      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(ec)})),
		"P-256 SEC 1":    string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"Ed25519 base64": base64.StdEncoding.EncodeToString(pkcs8(ed)),
	}
	for name, text := range good {
		if _, err := ParseKey(text); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	secret := "c2VjcmV0LWtleS1tYXRlcmlhbA"
	bad := map[string]string{
		"RSA":         string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(rsaKey)})),
		"P-384":       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(p384)})),
		"public key":  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte(secret)})),
		"garbage b64": secret + "==",
		"text":        "not a key " + secret,
		"empty":       "",
	}
	for name, text := range bad {
		_, err := ParseKey(text)
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ps := ValidateKeys([]Key{{ID: "a", Private: ed}, {ID: "a", Private: ec}, {ID: "B!", Private: ed}, {ID: "c"}, {ID: "d", Private: crypto.Signer(rsaKey)}})
	want := []string{"[1].id", "[2].id", "[3].private_key", "[4].private_key"}
	var got []string
	for _, p := range ps {
		got = append(got, p.Field)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// FuzzParseKey: any text is a key or an error that does not quote it.
func FuzzParseKey(f *testing.F) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ed)
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	f.Add(base64.StdEncoding.EncodeToString(der))
	f.Add("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKey(text)
		if err == nil {
			if checkKey(k) != nil {
				t.Fatalf("accepted a %T", k)
			}
			return
		}
		// The refusal's own words may contain a short text ("PKCS #8 "); it
		// may not hold the text more often than some refusal of another
		// input does.
		if len(text) >= 8 && strings.Count(err.Error(), text) > fixedParseKeyCount(text) {
			t.Fatalf("the error quotes the input: %v", err)
		}
	})
}

// fixedParseKeyCount is how often s occurs, at most, in ParseKey's
// refusals of inputs unlike s (one of each refusal).
func fixedParseKeyCount(s string) int {
	n := 0
	for _, text := range []string{"", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
		"-----BEGIN X-----\nAAAA\n-----END X-----\n", "AAAA"} {
		if _, err := ParseKey(text); err != nil {
			n = max(n, strings.Count(err.Error(), s))
		}
	}
	return n
}

// A repeated complete of one upload gets the same receipt: the jti is the
// upload's ID, and Ed25519 signs deterministically (ES256 does not, but
// its claims are the same).
func TestSignUploadRepeats(t *testing.T) {
	ed, _ := newKeys(t)
	s, err := New([]Key{{ID: "ed", Private: ed}}, Options{Now: func() time.Time { return testTime }})
	if err != nil {
		t.Fatal(err)
	}
	done := presign.CompletedUpload{Backend: "s3", Bucket: "b", Key: "k", Size: 1, ETag: `"e"`, ContentType: "text/plain"}
	a, _ := s.SignUpload("https://p", presign.Principal{Name: "alice"}, done)
	b, _ := s.SignUpload("https://p", presign.Principal{Name: "alice"}, done)
	if a != b || !strings.Contains(decodePayload(t, a), `"jti":"`+done.ID()+`"`) {
		t.Errorf("two receipts of one upload differ, or jti is not its ID:\n%s\n%s", a, b)
	}
	done.ETag = `"f"` // another upload at the key
	if c, _ := s.SignUpload("https://p", presign.Principal{Name: "alice"}, done); c == a {
		t.Error("another upload got the same receipt")
	}
}

func decodePayload(t *testing.T, jws string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
