package azuresas

import (
	"strings"
	"unsafe"

	"presign.dev/sigv4"
)

// appendQueryEscape appends s as url.QueryEscape encodes it, which is how
// the Azure SDK's QueryParameters.Encode writes a SAS (and [Signer.Sign]
// promises the same bytes): SigV4's query encoding
// ([sigv4.AppendEscapeQuery]) but for a space, which is "+" here, not "%20".
// Azure reads either as a space; "+" keeps the SAS equal to the SDK's.
func appendQueryEscape(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return sigv4.AppendEscapeQuery(dst, s)
		}
		dst = sigv4.AppendEscapeQuery(dst, s[:i])
		dst = append(dst, '+')
		s = s[i+1:]
	}
}

// appendQueryEscapeBytes is appendQueryEscape of b, without copying it.
func appendQueryEscapeBytes(dst, b []byte) []byte {
	return appendQueryEscape(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}
