package httpapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"presign.dev/receipt"
)

// A verified complete answers a receipt that verifies with the keys
// GET /.well-known/jwks.json serves, and names the object.
func TestReceipts(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := receipt.New([]receipt.Key{{ID: "r1", Private: key}}, receipt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Issuer: testIssuer(t), Receipts: signer, PublicURL: "https://presign.example.com",
		Auth: APIKeys{{Name: "web", Hash: sha256.Sum256([]byte(testKey))}}})
	tok := decode[UploadStartResponse](t, run(t, h, httpCase{method: "POST", target: "/v1/uploads", body: `{"key":"a.bin","size":10}`, wantStatus: 200})).Upload
	done := decode[CompleteResponse](t, run(t, h, httpCase{method: "POST", target: "/v1/uploads/complete", body: `{"upload":"` + tok + `"}`, wantStatus: 200}))
	if done.Receipt == "" {
		t.Fatal("no receipt")
	}
	jwks := decode[struct {
		Keys []map[string]string `json:"keys"`
	}](t, run(t, h, httpCase{method: "GET", target: "/.well-known/jwks.json", noAuth: true, wantStatus: 200}))
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("https://presign.example.com")).ParseWithClaims(done.Receipt, claims,
		func(tok *jwt.Token) (any, error) {
			for _, k := range jwks.Keys {
				if k["kid"] == tok.Header["kid"] && k["crv"] == "Ed25519" {
					x, err := base64.RawURLEncoding.DecodeString(k["x"])
					return ed25519.PublicKey(x), err
				}
			}
			return nil, errors.New("unknown kid")
		})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(map[string]any{"sub": claims["sub"], "bucket": claims["bucket"], "key": claims["key"], "size": claims["size"], "etag": claims["etag"]})
	if want := `{"bucket":"bucket","etag":"\"obj-1\"","key":"a.bin","size":10,"sub":"web"}`; string(got) != want {
		t.Errorf("claims %s, want %s", got, want)
	}
	// Without receipt keys: no receipt, and an empty key set.
	plain := uploadsHandler(t)
	run(t, plain, httpCase{method: "GET", target: "/.well-known/jwks.json", noAuth: true, wantStatus: 200, wantBody: `{"keys":[]}`})
}
