package main

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"presign.dev/azuresas"
)

// Benchmarks of azuresas against the SDK's SAS builder for the values of a
// typical download grant: one blob, read, a disposition and a type. Run them
// in one go: go test -run '^$' -bench . -benchmem (in this directory).

var (
	t0         = time.Date(2026, 11, 22, 10, 30, 15, 0, time.UTC)
	benchValue = azuresas.Values{Container: "downloads", Blob: "r é.txt", Permissions: azuresas.Read, Expiry: t0.Add(time.Hour),
		ContentDisposition: `attachment; filename="r _.txt"; filename*=UTF-8''r%20%C3%A9.txt`, ContentType: "text/plain; charset=utf-8",
		CacheControl: "no-store", ContentEncoding: "gzip", ContentLanguage: "de-CH"}
)

func benchKey() string {
	sum := sha256.Sum256([]byte{1})
	return base64.StdEncoding.EncodeToString(append(sum[:], sum[:]...))
}

func sdkValues(v azuresas.Values) sas.BlobSignatureValues {
	return sas.BlobSignatureValues{
		Version: azuresas.Version, ExpiryTime: v.Expiry, Permissions: v.Permissions.String(),
		ContainerName: v.Container, BlobName: v.Blob, CacheControl: v.CacheControl,
		ContentDisposition: v.ContentDisposition, ContentEncoding: v.ContentEncoding,
		ContentLanguage: v.ContentLanguage, ContentType: v.ContentType,
	}
}

func BenchmarkSign(b *testing.B) {
	a, err := azuresas.ParseAccountKey("presigntest", benchKey())
	if err != nil {
		b.Fatal(err)
	}
	s := azuresas.NewSigner(a)
	b.Run("azuresas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("azuresas/append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			if _, err := s.AppendSign(buf[:0], benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	cred, err := azblob.NewSharedKeyCredential("presigntest", benchKey())
	if err != nil {
		b.Fatal(err)
	}
	sv := sdkValues(benchValue)
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			qp, err := sv.SignWithSharedKey(cred)
			if err != nil {
				b.Fatal(err)
			}
			_ = qp.Encode()
		}
	})
}

// udkBody is a Get User Delegation Key answer.
const udkBody = `<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>` +
	`<SignedOid>6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01</SignedOid><SignedTid>72f988bf-86f1-41af-91ab-2d7cd011db47</SignedTid>` +
	`<SignedStart>2026-11-22T09:30:15Z</SignedStart><SignedExpiry>2026-11-30T10:30:15Z</SignedExpiry>` +
	`<SignedService>b</SignedService><SignedVersion>2026-06-06</SignedVersion>` +
	`<Value>BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=</Value></UserDelegationKey>`

func BenchmarkSignUserDelegation(b *testing.B) {
	cred, err := userDelegation("presigntest", []byte(udkBody))
	if err != nil {
		b.Fatal(err)
	}
	start, _ := time.Parse(azuresas.TimeFormat, "2026-11-22T09:30:15Z")
	expiry, _ := time.Parse(azuresas.TimeFormat, "2026-11-30T10:30:15Z")
	value, _ := base64.StdEncoding.DecodeString("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")
	signer, err := azuresas.NewUserDelegationSigner("presigntest", azuresas.UserDelegationKey{
		ObjectID: "6b2b5c1e-9d1e-4f0e-8c55-5d6f8c1f0a01", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Start: start, Expiry: expiry, Service: "b", Version: "2026-06-06", Value: value,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("azuresas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signer.Sign(benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	sv := sdkValues(benchValue)
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			qp, err := sv.SignWithUserDelegation(cred)
			if err != nil {
				b.Fatal(err)
			}
			_ = qp.Encode()
		}
	})
}
