package azuresas_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"presign.dev/azuresas"
)

// The values of a typical download grant: one blob, read, a disposition.
var benchValues = diffCases[4]

func BenchmarkSign(b *testing.B) {
	a, err := azuresas.ParseAccountKey("presigntest", testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	s := azuresas.NewSigner(a)
	b.Run("azuresas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign(benchValues); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("azuresas/append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			if _, err := s.AppendSign(buf[:0], benchValues); err != nil {
				b.Fatal(err)
			}
		}
	})
	cred, err := azblob.NewSharedKeyCredential("presigntest", testKey(1))
	if err != nil {
		b.Fatal(err)
	}
	sv := sdkValues(benchValues)
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

func BenchmarkSignUserDelegation(b *testing.B) {
	signer, cred := bothUserDelegation(b, "presigntest", udkXML(testUDK(7)))
	b.Run("azuresas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signer.Sign(benchValues); err != nil {
				b.Fatal(err)
			}
		}
	})
	sv := sdkValues(benchValues)
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
