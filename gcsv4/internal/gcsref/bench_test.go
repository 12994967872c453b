package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"presign.dev/gcsv4"
)

// Benchmarks of gcsv4 against Google's library for the same request: a PUT
// presign signs (create-only, typed, size-bounded, one metadata header) and
// a GET with a Content-Disposition override, with a 2048-bit RSA key as
// Google issues, and for the POST policy of an upload form. Run them in one
// go: go test -run '^$' -bench . -benchmem (in this directory).

const email = "signer@project-1.iam.gserviceaccount.com"

func benchKey(b *testing.B) (*rsa.PrivateKey, []byte) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var putHeaders = []gcsv4.Header{
	{Name: "Content-Type", Value: "image/jpeg"},
	{Name: "x-goog-if-generation-match", Value: "0"},
	{Name: "x-goog-content-length-range", Value: "0,10485760"},
	{Name: "x-goog-meta-owner", Value: "u1"},
}

func BenchmarkPresignPUT(b *testing.B) {
	key, keyPEM := benchKey(b)
	var libHeaders []string
	for _, h := range putHeaders {
		libHeaders = append(libHeaders, h.Name+":"+h.Value)
	}
	b.Run("gcsv4-rsa", func(b *testing.B) {
		s, _ := gcsv4.NewSigner(gcsv4.Credentials{ServiceAccount: &gcsv4.ServiceAccount{ClientEmail: email, PrivateKey: key}})
		b.ReportAllocs()
		for b.Loop() {
			s.Presign(&gcsv4.Request{Method: "PUT", Bucket: "uploads", Object: "users/u1/photo 1.jpg", Headers: putHeaders,
				Time: time.Now(), Expires: 15 * time.Minute})
		}
	})
	b.Run("gcsv4-hmac", func(b *testing.B) {
		s, _ := gcsv4.NewSigner(gcsv4.Credentials{HMAC: &gcsv4.HMACKey{AccessID: "GOOG1EXAMPLE", Secret: "secret"}})
		b.ReportAllocs()
		for b.Loop() {
			s.Presign(&gcsv4.Request{Method: "PUT", Bucket: "uploads", Object: "users/u1/photo 1.jpg", Headers: putHeaders,
				Time: time.Now(), Expires: 15 * time.Minute})
		}
	})
	b.Run("storage.SignedURL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := storage.SignedURL("uploads", "users/u1/photo 1.jpg", &storage.SignedURLOptions{
				GoogleAccessID: email, PrivateKey: keyPEM, Method: "PUT", Expires: time.Now().Add(15 * time.Minute),
				Headers: libHeaders, Scheme: storage.SigningSchemeV4,
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The library parses the PEM key at every call; with SignBytes and a
	// parsed key, what remains is its canonicalization and the RSA signature.
	b.Run("storage.SignedURL-SignBytes", func(b *testing.B) {
		sign := func(p []byte) ([]byte, error) {
			sum := sha256.Sum256(p)
			return rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := storage.SignedURL("uploads", "users/u1/photo 1.jpg", &storage.SignedURLOptions{
				GoogleAccessID: email, SignBytes: sign, Method: "PUT", Expires: time.Now().Add(15 * time.Minute),
				Headers: libHeaders, Scheme: storage.SigningSchemeV4,
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPresignGET(b *testing.B) {
	key, keyPEM := benchKey(b)
	const disposition = `attachment; filename="photo 1.jpg"`
	b.Run("gcsv4-rsa", func(b *testing.B) {
		s, _ := gcsv4.NewSigner(gcsv4.Credentials{ServiceAccount: &gcsv4.ServiceAccount{ClientEmail: email, PrivateKey: key}})
		b.ReportAllocs()
		for b.Loop() {
			s.Presign(&gcsv4.Request{Method: "GET", Bucket: "uploads", Object: "users/u1/photo 1.jpg",
				Query: []gcsv4.Param{{Name: "response-content-disposition", Value: disposition}},
				Time:  time.Now(), Expires: 15 * time.Minute})
		}
	})
	b.Run("storage.SignedURL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := storage.SignedURL("uploads", "users/u1/photo 1.jpg", &storage.SignedURLOptions{
				GoogleAccessID: email, PrivateKey: keyPEM, Method: "GET", Expires: time.Now().Add(15 * time.Minute),
				QueryParameters: url.Values{"response-content-disposition": {disposition}}, Scheme: storage.SigningSchemeV4,
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPresignPost(b *testing.B) {
	key, keyPEM := benchKey(b)
	b.Run("gcsv4-rsa", func(b *testing.B) {
		s, _ := gcsv4.NewSigner(gcsv4.Credentials{ServiceAccount: &gcsv4.ServiceAccount{ClientEmail: email, PrivateKey: key}})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.PresignPost(&gcsv4.PostRequest{Bucket: "uploads", Object: "users/u1/photo.jpg",
				Fields:     []gcsv4.Param{{Name: "content-type", Value: "image/jpeg"}, {Name: "success_action_status", Value: "201"}, {Name: "x-goog-meta-owner", Value: "u1"}},
				Conditions: []gcsv4.Condition{gcsv4.ContentLengthRange(0, 10<<20)},
				Time:       time.Now(), Expires: 15 * time.Minute}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("storage.GenerateSignedPostPolicyV4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := storage.GenerateSignedPostPolicyV4("uploads", "users/u1/photo.jpg", &storage.PostPolicyV4Options{
				GoogleAccessID: email, PrivateKey: keyPEM, Expires: time.Now().Add(15 * time.Minute),
				Fields:     &storage.PolicyV4Fields{ContentType: "image/jpeg", StatusCodeOnSuccess: 201, Metadata: map[string]string{"x-goog-meta-owner": "u1"}},
				Conditions: []storage.PostPolicyV4Condition{storage.ConditionContentLengthRange(0, 10<<20)},
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
